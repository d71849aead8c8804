#pragma once
// The interface-card driver process's service. It owns the cards named in the
// configuration, creates one shared-memory TDM bus region per card and clocks it: every
// frame_ms it moves one frame per channel between the cards and the bus. It turns what
// the lines do into line events for control (hook changes decoded into off-hook,
// on-hook, flash and pulse digits on FXS ports; ring and polarity on FXO ports) and
// applies control's port commands (ring, polarity, seize, ...).
//
// Drivers: `sim` (simulated phones and exchange lines, sim/), clocked by the process's
// timerfd (OnTimer ticks once per expiry); `dahdi` (DAHDI cards, dahdi/), clocked by the
// card: the timer only looks (twice a frame) whether the card has a block ready, so the
// bus follows the card's crystal, not the host's clock. No threads of its own.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"
#include "linegate/tdm/v1/line.pb.h"
#include "media/tdm/dahdi/dahdi_card.h"
#include "media/tdm/dahdi/dahdi_device.h"
#include "media/tdm/sim/pulse_dial_decoder.h"
#include "media/tdm/sim/sim_card.h"
#include "media/tdm/sim/tdmbus_card_audio.h"
#include "media/tdmbus/region.h"

namespace linegate::media::tdm {

namespace linev1 = ::linegate::tdm::v1;

// Gateway-wide line numbering: cards in configuration order, on each card its FXS
// ports then its FXO ports, numbered from 1. This is the number operators use in
// `linegatectl line N` and in the endpoint tables.
std::vector<process::v1::LineInfo> EnumerateLines(const config::v1::Tdm& tdm);

// The TDM bus region prefix of this gateway instance: derived from the runtime
// directory, so that two gateways on one host (or parallel tests) never share regions.
std::string TdmBusPrefix(const config::v1::Config& config);

// The geometry every card region of a configuration has: 16-bit linear samples (no
// second G.711 quantisation between line and codec), frame_ms frames, 32 frames deep.
tdmbus::Geometry CardGeometry(const config::v1::Tdm& tdm, uint32_t channel_count);

// Where a gateway line lives: its card (index in configuration order) and channel on
// that card (FXS ports first, from 0).
struct LineLocation {
  uint32_t card = 0;
  uint32_t channel = 0;
};
Result<LineLocation> LocateLine(const config::v1::Tdm& tdm, uint32_t line);

class TdmService {
 public:
  using EventSink = std::function<void(const linev1::LineEvent&)>;

  // `dahdi_device`: the DAHDI system calls (tests pass a fake); must outlive the service.
  explicit TdmService(const Clock& clock = SteadyClock::Instance(),
                      dahdi::DahdiDevice* dahdi_device = nullptr);
  ~TdmService();

  // Validates the configuration, creates the cards and their bus regions.
  Status Configure(const config::v1::Config& config);
  void SetEventSink(EventSink sink) { event_sink_ = std::move(sink); }

  // The process timer fired `expirations` times since the last call (period:
  // timer_period()). sim: one Tick per expiry; dahdi: every block the cards have ready.
  void OnTimer(uint64_t expirations);
  Duration timer_period() const;
  // One frame on every sim card, then line events.
  void Tick();
  // Writes buffered recordings of the simulated lines to their files (a few times a
  // second, not per frame).
  void Flush();

  linev1::LineScriptReply RunScript(const linev1::LineScriptRequest& request);
  Result<linev1::PortCommandReply> ApplyPortCommand(const linev1::PortCommandRequest& request);

  void FillDetail(process::v1::Heartbeat& heartbeat) const;
  const std::vector<process::v1::LineInfo>& lines() const { return lines_; }
  uint32_t frame_ms() const { return tdm_.frame_ms(); }
  uint64_t ticks() const { return ticks_; }

 private:
  struct Card {
    std::unique_ptr<tdmbus::CardRegion> region;
    std::unique_ptr<sim::SimCard> sim;
    std::unique_ptr<dahdi::DahdiCard> dahdi;
    std::unique_ptr<sim::TdmBusCardAudio> audio;
    uint32_t first_line = 1;
  };
  struct LineState {
    uint32_t card = 0;
    uint32_t channel = 0;
    bool fxs = true;
    sim::LineSignaling* signaling = nullptr;
    // sim FXS lines report raw hook changes; DAHDI classifies them itself.
    std::unique_ptr<sim::PulseDialDecoder> decoder;
  };
  Result<std::unique_ptr<dahdi::DahdiCard>> OpenDahdiCard(const config::v1::Card& card);
  void CollectEvents();
  void Emit(uint32_t line, linev1::LineEventType type, TimePoint time, std::string digit = {},
            std::string polarity = {});

  const Clock* clock_;
  std::unique_ptr<dahdi::DahdiDevice> own_dahdi_device_;
  dahdi::DahdiDevice* dahdi_device_;
  config::v1::Tdm tdm_;
  std::vector<process::v1::LineInfo> lines_;
  std::vector<Card> cards_;
  std::vector<LineState> line_states_;  // index: line - 1
  EventSink event_sink_;
  uint64_t ticks_ = 0;
  uint64_t dahdi_stalls_ = 0;
  TimePoint wall_anchor_steady_{};
  int64_t wall_anchor_unix_ms_ = 0;
};

}  // namespace linegate::media::tdm
