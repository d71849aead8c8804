#pragma once
// The `sim` interface card: N simulated phones on its FXS ports and M simulated
// exchange lines on its FXO ports, ticked frame by frame like a real card. Channels are
// numbered from 0, FXS ports first, then FXO ports (the order of EnumerateLines in
// ../tdm_service.h, where the gateway-wide line numbers start at 1).
//
// Each tick reads every channel's to-line frame from a FrameSource, runs the line, and
// writes its from-line frame to a FrameSink. The interfaces are small so that tests can
// use plain buffers; TdmBusCardAudio (tdmbus_card_audio.h) connects them to the
// shared-memory TDM bus.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "media/tdm/sim/sim_exchange_line.h"
#include "media/tdm/sim/sim_line.h"
#include "media/tdm/sim/sim_phone.h"

namespace linegate::media::tdm::sim {

// Where a card's to-line frames come from (the gateway's audio towards the lines).
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Fills `out` (one frame) for `channel`. Returns false when there was no frame (an
  // underrun); `out` then holds silence.
  virtual bool ReadToLine(uint32_t channel, std::span<int16_t> out) = 0;
};

// Where a card's from-line frames go (the lines' audio towards the gateway).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void WriteFromLine(uint32_t channel, std::span<const int16_t> frame) = 0;
  // After every channel's frame of the tick was written (the bus advances its clock).
  virtual void EndTick(TimePoint now) = 0;
};

struct SimCardConfig {
  uint32_t phones = 0;          // FXS ports
  uint32_t exchange_lines = 0;  // FXO ports
  uint32_t frame_samples = 80;  // 8..80 (1..10 ms)
  SimPhoneConfig phone{};
  SimExchangeLineConfig exchange_line{};
};

class SimCard {
 public:
  static constexpr uint32_t kMaxChannels = 8192;

  static Result<std::unique_ptr<SimCard>> Create(const Clock& clock, const SimCardConfig& config);

  uint32_t channel_count() const { return static_cast<uint32_t>(lines_.size()); }
  uint32_t frame_samples() const { return config_.frame_samples; }
  // nullptr when the channel does not exist or is not of that kind.
  SimPhone* phone(uint32_t channel);
  SimExchangeLine* exchange_line(uint32_t channel);
  // The channel must exist.
  SimLine& line(uint32_t channel) { return *lines_.at(channel); }

  // Per tick: reads, runs and writes every channel, then ends the tick on the sink.
  void Tick(FrameSource& source, FrameSink& sink);

  // Not per tick: writes buffered recordings to their files. Call a few times a second
  // from the control loop (the recorders buffer record_buffer_ms).
  Status Flush();

  // Runs an operator command (scripted_command.h) on a channel and returns the text
  // to show: "ok: ..." or "error: ...".
  std::string Execute(uint32_t channel, std::string_view command);

  uint64_t ticks() const { return ticks_; }
  uint64_t underruns() const { return underruns_; }

 private:
  SimCard(const Clock& clock, const SimCardConfig& config);

  const Clock* clock_;
  SimCardConfig config_;
  std::vector<std::unique_ptr<SimLine>> lines_;
  std::vector<SimPhone*> phones_;                 // indexed by channel
  std::vector<SimExchangeLine*> exchange_lines_;  // indexed by channel - phones
  std::array<int16_t, kMaxFrameSamples> to_line_{};
  std::array<int16_t, kMaxFrameSamples> from_line_{};
  uint64_t ticks_ = 0;
  uint64_t underruns_ = 0;
};

}  // namespace linegate::media::tdm::sim
