#pragma once
// A media process's engine for its shard of lines: attached to the shared-memory TDM
// bus for those lines, it runs to completion on each Poll():
//   1. receive bursts of RTP/RTCP from the packet I/O and hand each packet to its
//      session (flow id -> line, an array lookup);
//   2. for every TDM frame the tdm process clocked since the last poll, on every line
//      of the shard: take the from-line frame, run the session's send path, make the
//      to-line frame (session playout, tones, caller ID, or silence) and write it;
//   3. RTCP and timeouts; flush the transmit burst.
// Steps 1-3 allocate nothing and lock nothing; the system calls are the packet I/O's
// (see kernel_socket_io.h). The engine keeps no threads: the process calls Poll when
// its timer or the packet I/O's descriptor fires (kernel sockets), or in a busy loop
// on a dedicated core (DPDK). Control-plane calls (create, delete, tones) come between
// polls on the same thread.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "media/dsp/caller_id.h"
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

  // Control plane.
  Result<v1::CreateSessionReply> CreateSession(const v1::SessionParams& params);
  Status ModifySession(const v1::SessionParams& params);
  // line 0: every session.
  Result<v1::DeleteSessionReply> DeleteSession(uint32_t line);
  void ListSessions(v1::ListSessionsReply& reply) const;
  Status PlayTone(const v1::PlayToneRequest& request);
  Status SendCallerId(const v1::SendCallerIdRequest& request);

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
  struct Channel {
    uint32_t line = 0;
    uint32_t view = 0;     // index in views_
    uint32_t channel = 0;  // card channel
    std::optional<tdmbus::FrameReader> from_line;
    std::optional<tdmbus::FrameWriter> to_line;
    std::unique_ptr<RtpSession> session;
    uint64_t underruns_at_start = 0;
    // Towards the line, over or instead of the session's audio.
    dsp::CadencedToneGenerator tone;
    bool tone_active = false;
    dsp::CallerIdGenerator caller_id;
    // FXO lines: the exchange's caller ID, decoded from what the line sends on-hook.
    bool fxo = false;
    std::unique_ptr<dsp::CallerIdReceiver> fsk_receiver;
    std::unique_ptr<dsp::DtmfCallerIdReceiver> dtmf_receiver;
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
  Channel* FindChannel(uint32_t line);
  Result<std::pair<packetio::FlowId, packetio::FlowId>> OpenPorts(uint32_t requested_port);
  void ClosePorts(Channel& channel);

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
  std::vector<uint32_t> flow_to_channel_;  // FlowId -> channel index, or kNone
  bool attached_ = false;
  TimePoint next_attach_{};
  TimePoint last_housekeeping_{};
  std::vector<int16_t> from_frame_;
  std::vector<int16_t> to_frame_;
  std::vector<packetio::Packet> burst_;
  EngineCounters counters_;
};

}  // namespace linegate::media::engine
