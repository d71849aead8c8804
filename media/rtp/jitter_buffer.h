#pragma once
// Adaptive jitter buffer for 8 kHz G.711 voice, with a fixed mode for fax and modem
// pass-through. Packets go in as they arrive (Insert), one frame of N samples comes
// out per TDM tick (Get), flagged real, concealed or silence. The policy (delay
// target, stretching, shrinking, resynchronisation) is described in README.md.
//
// Storage is a ring of sample slots keyed by RTP timestamp (slot = timestamp modulo
// the capacity, a power of two) holding the G.711 octets, with a presence bit per
// slot. Reordering, duplicates and packet sizes that are not multiples of the frame
// size therefore need no packet list. Everything is sized at creation; Insert and Get
// never allocate, lock or make a system call (the clock is read through the injected
// Clock, which is vDSO steady_clock in service, ManualClock in tests).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "media/rtp/plc.h"
#include "media/rtp/rtp_header.h"

namespace linegate::media::rtp {

inline constexpr uint32_t kSampleRateHz = 8000;
inline constexpr size_t kMaxFrameSamples = 160;

enum class G711Law : uint8_t { kUlaw, kAlaw };

enum class JitterBufferMode : uint8_t {
  kAdaptive,  // voice: delay follows the measured jitter; PLC fills losses
  kFixed,     // fax / modem pass-through: constant delay, no PLC, no time-scale changes
};

struct JitterBufferConfig {
  JitterBufferMode mode = JitterBufferMode::kAdaptive;
  G711Law law = G711Law::kUlaw;
  uint32_t frame_samples = 80;        // per Get(): 8..160 (1..20 ms)
  uint32_t capacity_samples = 8192;   // ring size, a power of two (1.02 s)
  uint32_t max_packet_samples = 480;  // longer payloads are refused (60 ms)
  // Adaptive mode. Delays are from a packet's arrival to the playout of its first sample.
  uint32_t min_delay_samples = 160;             // 20 ms
  uint32_t max_delay_samples = 1600;            // 200 ms
  uint32_t initial_delay_samples = 320;         // 40 ms, until jitter has been measured
  uint32_t jitter_factor_q4 = 3 * 16;           // target = factor * jitter + one frame (factor 3)
  uint32_t decrease_shift = 9;                  // target decays by 1/512 of the excess per packet
  uint32_t speech_adjust_interval_frames = 20;  // at most one stretch/shrink in speech per
  // Fixed mode.
  uint32_t fixed_delay_samples = 480;   // 60 ms
  uint32_t slip_threshold_samples = 0;  // 0 = max(frame, fixed delay / 2)
};

// What Insert made of a packet.
enum class InsertResult : uint8_t {
  kAccepted = 0,
  kDuplicate,  // every sample already buffered: dropped
  kLate,       // every sample already played: dropped
  kResynced,   // new SSRC or confirmed timestamp jump: buffer flushed, timing restarted
  kHeld,       // timestamp jump awaiting confirmation by the next packet
  kEmpty,      // no payload
  kOversized,  // payload longer than max_packet_samples
};

enum class FrameKind : uint8_t {
  kReal,       // every sample came from a packet
  kConcealed,  // some or all samples synthesised (PLC; zeros in fixed mode)
  kSilence,    // nothing to play: no packet yet, or a loss beyond what PLC covers
};

enum class PlayoutAdjustment : uint8_t {
  kNone,
  kStretched,  // this frame did not advance the playout point (delay + 1 frame)
  kShrunk,     // a frame's worth of samples was skipped (delay - 1 frame)
};

struct FrameInfo {
  FrameKind kind = FrameKind::kSilence;
  PlayoutAdjustment adjustment = PlayoutAdjustment::kNone;
  uint32_t timestamp = 0;  // RTP timestamp of the first sample played (meaningful once synced)
};

struct JitterBufferStats {
  uint64_t packets_accepted = 0;
  uint64_t duplicates = 0;
  uint64_t late = 0;
  uint64_t empty = 0;
  uint64_t oversized = 0;
  uint64_t ssrc_changes = 0;
  uint64_t timestamp_jumps = 0;  // confirmed, resynced
  uint64_t jumps_held = 0;       // packets held as a possible jump
  uint64_t jumps_discarded = 0;  // held packets that were never confirmed
  uint64_t talkspurt_realigns = 0;
  uint64_t frames_real = 0;
  uint64_t frames_concealed = 0;
  uint64_t frames_silence = 0;
  uint64_t frames_stretched = 0;
  uint64_t frames_shrunk = 0;
};

class JitterBuffer {
 public:
  // Validates the configuration and allocates the ring. `clock` must outlive the buffer.
  static Result<JitterBuffer> Create(const JitterBufferConfig& config, const Clock& clock);

  // A validated RTP packet of this session (payload: G.711 octets of config.law).
  InsertResult Insert(const RtpHeaderView& packet);
  InsertResult Insert(uint32_t ssrc, uint32_t timestamp, bool marker, std::span<const uint8_t> payload);

  // The next frame; `out.size()` must be config.frame_samples (else aborts: a
  // programming error). Call once per TDM tick.
  FrameInfo Get(std::span<int16_t> out);

  const JitterBufferStats& stats() const { return stats_; }
  const JitterBufferConfig& config() const { return config_; }
  // Current delay target and smoothed measured delay, in samples.
  uint32_t target_delay_samples() const { return static_cast<uint32_t>(target_q8_ >> 8); }
  int32_t average_delay_samples() const { return static_cast<int32_t>(delay_avg_q8_ >> 8); }
  // Interarrival jitter (RFC 3550 A.8) measured on the injected clock, in samples.
  uint32_t jitter_samples() const { return jitter_q4_ >> 4; }
  // Samples received beyond the playout point (0 when empty).
  uint32_t buffered_samples() const;
  bool synced() const { return synced_; }

 private:
  JitterBuffer(const JitterBufferConfig& config, const Clock& clock);

  InsertResult InsertInWindow(uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
                              TimePoint now, bool count);
  InsertResult HandleJump(uint32_t ssrc, uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
                          TimePoint now);
  void Resync(uint32_t ssrc, uint32_t timestamp, TimePoint now);
  // Returns true if at least one sample was new.
  bool Store(uint32_t timestamp, std::span<const uint8_t> payload);
  void UpdateDelay(int32_t offset, uint32_t timestamp, TimePoint now, bool late);
  int32_t SamplesSinceGet(TimePoint now) const;
  int32_t AnchorLead(TimePoint now) const;

  uint32_t CountPresent(uint32_t timestamp, uint32_t n) const;
  void ClearPresent(uint32_t timestamp, uint32_t n);
  void Decode(uint32_t timestamp, std::span<int16_t> out) const;
  bool IsQuiet(std::span<const int16_t> frame) const;
  void Advance(uint32_t samples);
  FrameInfo PlayFrame(std::span<int16_t> out, FrameInfo info);
  FrameInfo Finish(FrameInfo info, std::span<const int16_t> out);

  const Clock* clock_;
  JitterBufferConfig config_;
  uint32_t mask_;
  std::vector<uint8_t> octets_;
  std::vector<uint64_t> present_;
  PacketLossConcealer plc_;

  bool synced_ = false;
  uint32_t ssrc_ = 0;
  uint32_t play_ts_ = 0;         // timestamp of the next sample to play
  uint32_t highest_end_ts_ = 0;  // one past the newest sample received
  TimePoint origin_{};
  bool have_get_ = false;
  TimePoint last_get_{};

  // Delay control, in samples: Q8 fixed point.
  int64_t delay_avg_q8_ = 0;
  int64_t target_q8_ = 0;
  uint32_t jitter_q4_ = 0;
  uint32_t last_transit_ = 0;
  bool have_transit_ = false;
  uint32_t frames_since_adjust_ = 0;
  uint32_t slip_threshold_ = 0;

  // A packet that jumped out of the window, held until the next one confirms the jump.
  struct Held {
    bool valid = false;
    uint32_t ssrc = 0;
    uint32_t timestamp = 0;
    bool marker = false;
    uint32_t length = 0;
  } held_;
  std::vector<uint8_t> held_payload_;

  std::array<int16_t, kMaxFrameSamples> last_frame_{};  // fixed mode: repeated on a slip
  JitterBufferStats stats_;
};

const char* InsertResultName(InsertResult result);
const char* FrameKindName(FrameKind kind);

}  // namespace linegate::media::rtp
