#pragma once
// A media process's engine for its shard of lines: attached to the shared-memory TDM
// bus for those lines, it runs to completion on each Poll():
//   1. receive bursts of RTP/RTCP from the packet I/O and hand each packet to its
//      session (flow id -> line, an array lookup);
//   2. for every TDM frame the tdm process clocked since the last poll, on every line
//      of the shard: take the from-line frame (FXO lines with a session: listen for
//      the exchange's busy tone), run the send path of the line's sessions
//      (legs), make the to-line frame (the legs' playout mixed, tones, caller ID, or
//      silence) and write it;
//   3. RTCP and timeouts; flush the transmit burst.
// Steps 1-3 allocate nothing and lock nothing; the system calls are the packet I/O's
// (see kernel_socket_io.h). The engine keeps no threads: the process calls Poll when
// its timer or the packet I/O's descriptor fires (kernel sockets), or in a busy loop
// on a dedicated core (DPDK). Control-plane calls (create, delete, tones) come between
// polls on the same thread.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "media/dsp/busy_tone_detector.h"
#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/oscillator.h"
#include "media/engine/rtp_session.h"
#include "media/packetio/packet_io.h"
#include "media/shard_map.h"
#include "media/tdmbus/region.h"

namespace linegate::media::engine {

// What the engine reports upwards: its sessions' events.
using EngineEvents = SessionEvents;

struct EngineCounters {
  uint64_t polls = 0;
  uint64_t frames = 0;  // TDM frames processed (all lines)
  uint64_t ticks = 0;   // TDM ticks processed
  uint64_t packets_in = 0;
  uint64_t packets_unknown_flow = 0;
  uint64_t attach_attempts = 0;
  uint64_t reattachments = 0;
};

class MediaEngine {
 public:
  static Result<std::unique_ptr<MediaEngine>> Create(const config::v1::Config& config, uint32_t shard,
                                                     std::unique_ptr<packetio::PacketIo> io,
                                                     EngineEvents& events,
                                                     const Clock& clock = SteadyClock::Instance());
  ~MediaEngine();

  // A line has up to kLegs sessions (params.leg). With two:
  //   the line hears the saturating sum of the playout of every leg that receives
  //   (sendrecv, recvonly); each leg that sends sends the line's audio, plus, when both
  //   legs have `conference`, what the other leg received (previous frame's playout):
  //   in a three-way call every party hears the other two and not itself.
  static constexpr uint32_t kLegs = 2;

  // Control plane.
  Result<v1::CreateSessionReply> CreateSession(const v1::SessionParams& params);
  Status ModifySession(const v1::SessionParams& params);
  // line 0: every session of every line; otherwise the line's `leg`, or both legs with
  // `all_legs`.
  Result<v1::DeleteSessionReply> DeleteSession(uint32_t line, uint32_t leg = 0, bool all_legs = false);
  void ListSessions(v1::ListSessionsReply& reply) const;
  Status PlayTone(const v1::PlayToneRequest& request);
  // on-hook (type 1) or, with off_hook, type 2 (call waiting): CAS alert tone, then (a
  // real phone must acknowledge with DTMF A or D first) FSK without channel seizure.
  Status SendCallerId(const v1::SendCallerIdRequest& request);
  // In-band DTMF detection on a line without a session (dialling after off-hook);
  // switched off by itself when a session is created on the line.
  Status SetDigitDetection(uint32_t line, bool enable);
  // DTMF to the line, with or without a session (an FXO line dialling the exchange):
  // the digits replace whatever the line would hear, a tone included, until the last
  // has ended; then EngineEvents::OnDigitsSent. Replaces digits still queued.
  Status SendDigits(const v1::SendDigitsRequest& request);

  // Data plane: one run-to-completion pass.
  void Poll();
  // Readable when packets wait; -1 for a polled backend.
  int wait_fd() const { return io_->wait_fd(); }
  bool attached() const { return attached_; }
  const LineRange& lines() const { return lines_; }
  const EngineCounters& counters() const { return counters_; }
  // TDM frames whose to-line frame the tdm process found missing, on lines with a
  // session, since the session began (from the rings' own underrun counters).
  uint64_t MissedDeadlines() const;
  size_t session_count() const;

 private:
  struct CardView {
    uint32_t card = 0;
    uint32_t first_channel = 0;  // card channel of the first shard line on this card
    uint32_t first_line = 0;
    uint32_t count = 0;
    std::string region_name;
    std::optional<tdmbus::ShardView> view;
    uint64_t processed_ticks = 0;
  };
  // Type 2 caller ID, after SendCallerId(off_hook).
  enum class Type2Phase : uint8_t {
    kIdle,
    kAlert,     // CAS alert tone (2130 + 2750 Hz) to the line
    kAwaitAck,  // a real phone answers the alert with DTMF A or D
    kData,      // FSK (caller_id): after the alert (sim) or after the acknowledgement ended
  };
  struct Channel {
    uint32_t line = 0;
    uint32_t view = 0;     // index in views_
    uint32_t channel = 0;  // card channel
    std::optional<tdmbus::FrameReader> from_line;
    std::optional<tdmbus::FrameWriter> to_line;
    std::array<std::unique_ptr<RtpSession>, kLegs> legs;
    uint32_t leg_count = 0;
    // Both legs have `conference`: each leg's playout of the last frame, sent to the
    // other leg. Allocated when a conference begins (control plane), so that lines
    // without one stay small; null otherwise.
    std::unique_ptr<std::array<std::array<int16_t, 80>, kLegs>> conference;
    uint64_t underruns_at_start = 0;
    // Dialled digits on a line without a session (SetDigitDetection), and the type 2
    // acknowledgement: allocated on first use.
    std::unique_ptr<dsp::DtmfDetector> digit_detector;
    bool digit_detection = false;
    uint64_t digit_start_sample = 0;  // of the digit being received
    Type2Phase type2 = Type2Phase::kIdle;
    uint32_t type2_remaining = 0;  // samples left in the phase
    dsp::ToneGenerator cas;
    // Towards the line, over or instead of the session's audio.
    dsp::CadencedToneGenerator tone;
    bool tone_active = false;
    dsp::CallerIdGenerator caller_id;
    // SendDigits: DTMF towards the line.
    dsp::DtmfGenerator digits;
    bool digits_active = false;
    // FXO lines: the exchange's caller ID, decoded from what the line sends on-hook.
    bool fxo = false;
    std::unique_ptr<dsp::CallerIdReceiver> fsk_receiver;
    std::unique_ptr<dsp::DtmfCallerIdReceiver> dtmf_receiver;
    // FXO lines with a session: the exchange's busy/reorder tone (far end gone),
    // calls.tone_country's cadences; reset when the line's first session is created.
    std::unique_ptr<dsp::BusyToneDetector> busy_detector;
    bool caller_id_pending = false;
    bool caller_id_active = false;
    TimePoint caller_id_due{};
  };

  MediaEngine(const config::v1::Config& config, uint32_t shard, std::unique_ptr<packetio::PacketIo> io,
              EngineEvents& events, const Clock& clock);
  Status BuildChannels();
  void TryAttach(TimePoint now);
  void ReceivePackets(TimePoint now);
  void ProcessFrames(TimePoint now);
  void ProcessChannelFrame(Channel& channel, uint64_t sample_clock, TimePoint now);
  void ProcessLegs(Channel& channel, uint64_t sample_clock, TimePoint now, bool from_valid,
                   std::span<int16_t> out);
  void DetectLineDigits(Channel& channel, bool type2_ack);
  void GenerateType2(Channel& channel, std::span<int16_t> out);
  void UpdateLegRoles(Channel& channel);
  void DeleteLeg(Channel& channel, uint32_t leg, v1::DeleteSessionReply& reply);
  Channel* FindChannel(uint32_t line);
  Result<std::pair<packetio::FlowId, packetio::FlowId>> OpenPorts(uint32_t requested_port);
  void ClosePorts(RtpSession& session);

  config::v1::Config config_;
  uint32_t shard_;
  std::unique_ptr<packetio::PacketIo> io_;
  EngineEvents* events_;
  const Clock* clock_;
  rtp::SystemRandomSource random_;
  LineRange lines_;
  PortRange ports_;
  uint32_t next_port_ = 0;
  uint32_t frame_samples_ = 80;
  std::vector<CardView> views_;
  std::vector<Channel> channels_;          // index: line - lines_.first
  std::vector<uint32_t> flow_to_channel_;  // FlowId -> channel index * kLegs + leg, or kNone
  bool attached_ = false;
  TimePoint next_attach_{};
  TimePoint last_housekeeping_{};
  std::vector<int16_t> from_frame_;
  std::vector<int16_t> to_frame_;
  std::vector<int16_t> leg_frame_;  // the second leg's playout, before it is mixed
  std::vector<packetio::Packet> burst_;
  EngineCounters counters_;
};

}  // namespace linegate::media::engine
