#pragma once
// Reception statistics of one RTP source (RFC 3550 6.4.1, Appendix A.1, A.3, A.8):
// sequence validation with probation and resynchronisation, the extended highest
// sequence number, expected / lost / fraction lost, and interarrival jitter. They feed
// the report blocks of our RTCP RR/SR.
//
// Per packet this is a handful of integer operations: no allocation, lock or system
// call. Arrival times come from an injected clock (common/clock.h) read by the caller.

#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "media/rtp/ntp_time.h"
#include "media/rtp/rtcp.h"

namespace linegate::media::rtp {

// What OnPacket made of a packet (RFC 3550 A.1 update_seq()).
enum class SequenceVerdict : uint8_t {
  kValid = 0,    // in order (gaps up to kMaxDropout allowed); counted
  kReordered,    // up to kMaxMisorder behind the highest: late or duplicate; counted
  kProbation,    // new source not yet validated (kMinSequential in a row); not counted
  kBadSequence,  // a jump too large; one more in sequence after it restarts; not counted
  kRestarted,    // the second packet after a jump: the sender restarted; counted
  kNewSource,    // a different SSRC: statistics restart on probation; not counted
};

class ReceiveStatistics {
 public:
  // RFC 3550 A.1 constants.
  static constexpr uint32_t kMaxDropout = 3000;
  static constexpr uint32_t kMaxMisorder = 100;
  static constexpr uint32_t kMinSequential = 2;

  explicit ReceiveStatistics(uint32_t clock_rate_hz = 8000) : clock_rate_hz_(clock_rate_hz) {}

  // One received packet. `arrival` comes from the session's clock.
  SequenceVerdict OnPacket(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp, TimePoint arrival);
  // The same with the arrival time already in timestamp units (RFC 3550 A.8 "arrival").
  SequenceVerdict OnPacketAt(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp,
                             uint32_t arrival_units);

  // An SR from this source arrived: remembered for LSR/DLSR (6.4.1).
  void OnSenderReport(const NtpTimestamp& ntp, TimePoint arrival);

  // The report block about this source (6.4.1, A.3). Updates the interval counters, so
  // call it once per report sent. Empty until the source is validated.
  std::optional<ReportBlock> MakeReportBlock(TimePoint now);

  bool has_source() const { return has_source_; }
  bool valid() const { return has_source_ && probation_ == 0; }
  uint32_t ssrc() const { return ssrc_; }
  uint32_t extended_highest_sequence() const { return cycles_ + max_seq_; }
  uint32_t cycles() const { return cycles_ >> 16; }
  uint32_t base_sequence() const { return base_seq_; }
  uint32_t expected() const { return extended_highest_sequence() - base_seq_ + 1; }
  uint32_t received() const { return received_; }
  // expected - received, clamped to the 24-bit signed RTCP field (A.3).
  int32_t cumulative_lost() const;
  // Interarrival jitter in timestamp units (A.8).
  uint32_t jitter() const { return jitter_q4_ >> 4; }

  uint64_t ssrc_changes() const { return ssrc_changes_; }
  uint64_t bad_sequence_packets() const { return bad_sequence_packets_; }
  uint64_t restarts() const { return restarts_; }
  uint64_t reordered_packets() const { return reordered_packets_; }
  uint64_t probation_packets() const { return probation_packets_; }

 private:
  void InitSequence(uint16_t sequence);
  SequenceVerdict UpdateSequence(uint16_t sequence);
  void UpdateJitter(uint32_t rtp_timestamp, uint32_t arrival_units);

  uint32_t clock_rate_hz_;
  bool has_source_ = false;
  uint32_t ssrc_ = 0;
  // A.1 source state; cycles_ counts in units of 2^16 like the RFC's.
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = 0;
  uint32_t probation_ = 0;
  uint32_t received_ = 0;
  uint32_t expected_prior_ = 0;
  uint32_t received_prior_ = 0;
  // A.8 jitter, scaled by 16.
  bool have_transit_ = false;
  uint32_t transit_ = 0;
  uint32_t jitter_q4_ = 0;
  // Arrival times are converted relative to the first packet seen.
  bool have_origin_ = false;
  TimePoint origin_{};
  // Last SR (6.4.1 LSR/DLSR).
  bool have_sr_ = false;
  uint32_t last_sr_compact_ = 0;
  TimePoint last_sr_arrival_{};

  uint64_t ssrc_changes_ = 0;
  uint64_t bad_sequence_packets_ = 0;
  uint64_t restarts_ = 0;
  uint64_t reordered_packets_ = 0;
  uint64_t probation_packets_ = 0;
};

// Nanoseconds to units of a `rate_hz` clock, without overflow for any duration up to
// centuries; the result wraps modulo 2^32 like an RTP timestamp.
uint32_t ToTimestampUnits(Duration elapsed, uint32_t rate_hz);

}  // namespace linegate::media::rtp
