#include "media/rtp/receive_stats.h"

namespace linegate::media::rtp {

namespace {
constexpr uint32_t kSeqMod = 1u << 16;
}  // namespace

uint32_t ToTimestampUnits(Duration elapsed, uint32_t rate_hz) {
  const int64_t ns = elapsed.count();
  const uint64_t magnitude = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  const uint64_t units =
      (magnitude / 1'000'000'000) * rate_hz + ((magnitude % 1'000'000'000) * rate_hz) / 1'000'000'000;
  const uint32_t wrapped = static_cast<uint32_t>(units);
  return ns < 0 ? 0u - wrapped : wrapped;
}

// RFC 3550 A.1 init_seq().
void ReceiveStatistics::InitSequence(uint16_t sequence) {
  base_seq_ = sequence;
  max_seq_ = sequence;
  bad_seq_ = kSeqMod + 1;  // matches no 16-bit sequence number
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  have_transit_ = false;
  jitter_q4_ = 0;
}

// RFC 3550 A.1 update_seq(), with the outcomes told apart for counting.
SequenceVerdict ReceiveStatistics::UpdateSequence(uint16_t sequence) {
  const uint16_t udelta = static_cast<uint16_t>(sequence - max_seq_);
  if (probation_ > 0) {
    if (sequence == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = sequence;
      if (probation_ == 0) {
        InitSequence(sequence);
        ++received_;
        return SequenceVerdict::kValid;
      }
    } else {
      probation_ = kMinSequential - 1;
      max_seq_ = sequence;
    }
    ++probation_packets_;
    return SequenceVerdict::kProbation;
  }
  SequenceVerdict verdict = SequenceVerdict::kValid;
  if (udelta < kMaxDropout) {
    if (sequence < max_seq_) cycles_ += kSeqMod;  // wrapped: another 64K cycle
    max_seq_ = sequence;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    if (sequence == bad_seq_) {
      // Two sequential packets after a jump: the sender restarted without telling.
      InitSequence(sequence);
      ++restarts_;
      verdict = SequenceVerdict::kRestarted;
    } else {
      bad_seq_ = (sequence + 1u) & (kSeqMod - 1);
      ++bad_sequence_packets_;
      return SequenceVerdict::kBadSequence;
    }
  } else {
    ++reordered_packets_;
    verdict = SequenceVerdict::kReordered;
  }
  ++received_;
  return verdict;
}

// RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16 so that the update is integer.
void ReceiveStatistics::UpdateJitter(uint32_t rtp_timestamp, uint32_t arrival_units) {
  const uint32_t transit = arrival_units - rtp_timestamp;
  if (have_transit_) {
    const int32_t d_signed = static_cast<int32_t>(transit - transit_);
    const uint32_t d = d_signed < 0 ? 0u - static_cast<uint32_t>(d_signed) : static_cast<uint32_t>(d_signed);
    jitter_q4_ = jitter_q4_ + d - ((jitter_q4_ + 8) >> 4);
  }
  transit_ = transit;
  have_transit_ = true;
}

SequenceVerdict ReceiveStatistics::OnPacket(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp,
                                            TimePoint arrival) {
  if (!have_origin_) {
    origin_ = arrival;
    have_origin_ = true;
  }
  return OnPacketAt(ssrc, sequence, rtp_timestamp, ToTimestampUnits(arrival - origin_, clock_rate_hz_));
}

SequenceVerdict ReceiveStatistics::OnPacketAt(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp,
                                              uint32_t arrival_units) {
  if (!has_source_ || ssrc != ssrc_) [[unlikely]] {
    // A new source (A.1: first heard, max_seq = seq - 1, on probation). An SSRC change
    // on an established session restarts everything about the old one.
    if (has_source_) ++ssrc_changes_;
    const bool was_source = has_source_;
    has_source_ = true;
    ssrc_ = ssrc;
    have_sr_ = false;
    InitSequence(sequence);
    max_seq_ = static_cast<uint16_t>(sequence - 1);
    probation_ = kMinSequential;
    const SequenceVerdict verdict = UpdateSequence(sequence);
    if (was_source && verdict == SequenceVerdict::kProbation) return SequenceVerdict::kNewSource;
    return verdict;
  }
  const SequenceVerdict verdict = UpdateSequence(sequence);
  if (verdict == SequenceVerdict::kValid || verdict == SequenceVerdict::kReordered ||
      verdict == SequenceVerdict::kRestarted) {
    UpdateJitter(rtp_timestamp, arrival_units);
  }
  return verdict;
}

void ReceiveStatistics::OnSenderReport(const NtpTimestamp& ntp, TimePoint arrival) {
  have_sr_ = true;
  last_sr_compact_ = ntp.Compact();
  last_sr_arrival_ = arrival;
}

int32_t ReceiveStatistics::cumulative_lost() const {
  const int64_t lost = static_cast<int64_t>(expected()) - static_cast<int64_t>(received_);
  if (lost > 0x7FFFFF) return 0x7FFFFF;
  if (lost < -0x800000) return -0x800000;
  return static_cast<int32_t>(lost);
}

std::optional<ReportBlock> ReceiveStatistics::MakeReportBlock(TimePoint now) {
  if (!valid()) return std::nullopt;
  ReportBlock block;
  block.ssrc = ssrc_;
  // RFC 3550 A.3: the fraction over the interval since the previous report.
  const uint32_t expected_now = expected();
  const uint32_t expected_interval = expected_now - expected_prior_;
  expected_prior_ = expected_now;
  const uint32_t received_interval = received_ - received_prior_;
  received_prior_ = received_;
  const int64_t lost_interval =
      static_cast<int64_t>(expected_interval) - static_cast<int64_t>(received_interval);
  if (expected_interval == 0 || lost_interval <= 0) {
    block.fraction_lost = 0;
  } else {
    // At most 255: a whole interval lost (possible after a restart) saturates.
    const int64_t fraction = (lost_interval << 8) / expected_interval;
    block.fraction_lost = static_cast<uint8_t>(fraction > 255 ? 255 : fraction);
  }
  block.cumulative_lost = cumulative_lost();
  block.extended_highest_sequence = extended_highest_sequence();
  block.jitter = jitter();
  if (have_sr_) {
    block.lsr = last_sr_compact_;
    block.dlsr = ToCompactUnits(now - last_sr_arrival_);
  }
  return block;
}

}  // namespace linegate::media::rtp
