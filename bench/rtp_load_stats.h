#pragma once
// The logic of bench/rtp_load.cc that is worth testing on its own: RTP header
// building and parsing, receive accounting per RFC 3550 (extended highest sequence
// number, expected and lost packets, interarrival jitter), and a G.711 mu-law encoder
// for test payloads. Deliberately independent of media/rtp: a load tool that shares
// the code under test would share its mistakes.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace linegate::bench {

inline constexpr size_t kRtpHeaderBytes = 12;

struct RtpHeader {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

// Writes a 12-byte RTP header (version 2, no padding, extension or CSRC).
inline void WriteRtpHeader(uint8_t* out, const RtpHeader& header) {
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((header.marker ? 0x80 : 0) | (header.payload_type & 0x7f));
  out[2] = static_cast<uint8_t>(header.sequence >> 8);
  out[3] = static_cast<uint8_t>(header.sequence);
  for (int i = 0; i < 4; ++i) {
    out[4 + i] = static_cast<uint8_t>(header.timestamp >> (24 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(header.ssrc >> (24 - 8 * i));
  }
}

enum class PacketKind { kRtp, kRtcp, kInvalid };

// Classifies a datagram and, for RTP, reads its header. RTCP (packet types 200-204 in
// the second octet, RFC 5761 section 4) is told apart so that a peer's reports on the
// RTP port are not counted as media.
inline PacketKind ParseRtpHeader(const uint8_t* data, size_t length, RtpHeader& header) {
  if (length < kRtpHeaderBytes || (data[0] >> 6) != 2) return PacketKind::kInvalid;
  if (data[1] >= 200 && data[1] <= 204) return PacketKind::kRtcp;
  const size_t csrc_bytes = 4u * (data[0] & 0x0f);
  if (length < kRtpHeaderBytes + csrc_bytes) return PacketKind::kInvalid;
  header.marker = (data[1] & 0x80) != 0;
  header.payload_type = data[1] & 0x7f;
  header.sequence = static_cast<uint16_t>((data[2] << 8) | data[3]);
  header.timestamp =
      (uint32_t{data[4]} << 24) | (uint32_t{data[5]} << 16) | (uint32_t{data[6]} << 8) | data[7];
  header.ssrc = (uint32_t{data[8]} << 24) | (uint32_t{data[9]} << 16) | (uint32_t{data[10]} << 8) | data[11];
  return PacketKind::kRtp;
}

// Receive accounting of one RTP source, after RFC 3550 appendix A.1 (sequence numbers,
// without the probation of a new source) and A.8 (interarrival jitter). A change of
// SSRC starts a new source; the counts of the previous one are kept in the totals.
class ReceiveStats {
 public:
  static constexpr uint16_t kMaxDropout = 3000;
  static constexpr uint16_t kMaxMisorder = 100;

  explicit ReceiveStats(uint32_t clock_rate = 8000) : clock_rate_(clock_rate) {}

  // arrival_ns: arrival time on any clock that does not jump (nanoseconds).
  void OnPacket(const RtpHeader& header, int64_t arrival_ns) {
    if (!active_ || header.ssrc != ssrc_) {
      if (active_) {
        ++ssrc_changes_;
        FoldSource();
      }
      Start(header, arrival_ns);
      return;
    }
    const uint16_t seq = header.sequence;
    const uint16_t delta = static_cast<uint16_t>(seq - max_seq_);
    if (delta == 0) {
      ++duplicates_;
      ++received_;
    } else if (delta < kMaxDropout) {
      // In order, possibly with a gap.
      if (seq < max_seq_) cycles_ += 65536;
      max_seq_ = seq;
      ++received_;
      UpdateJitter(header, arrival_ns);
    } else if (delta <= 65536 - kMaxMisorder) {
      // A very large jump: either the source restarted its sequence (two packets in a
      // row confirm it) or a stray packet, which is not counted.
      if (seq == bad_seq_) {
        FoldSource();
        Start(header, arrival_ns);
        ++resyncs_;
      } else {
        bad_seq_ = static_cast<uint16_t>(seq + 1);
        ++stray_;
      }
    } else {
      // Late: reordered (or a duplicate of an earlier packet); counted as received,
      // as RFC 3550 does, so loss may go back down.
      ++reordered_;
      ++received_;
      UpdateJitter(header, arrival_ns);
    }
  }

  // Packets received, over every source so far (duplicates and late ones included).
  uint64_t received() const { return folded_received_ + received_; }
  // Packets expected from the sequence numbers: extended highest - base + 1, summed.
  uint64_t expected() const { return folded_expected_ + CurrentExpected(); }
  // Cumulative number lost (RFC 3550: expected - received; negative with duplicates).
  int64_t lost() const { return static_cast<int64_t>(expected()) - static_cast<int64_t>(received()); }
  uint64_t reordered() const { return reordered_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t stray() const { return stray_; }
  uint64_t ssrc_changes() const { return ssrc_changes_; }
  uint64_t resyncs() const { return resyncs_; }
  bool active() const { return active_; }
  uint32_t ssrc() const { return ssrc_; }
  // Interarrival jitter of the current source, in timestamp units and milliseconds,
  // and the highest value the estimate reached over the whole run.
  double jitter_units() const { return jitter_; }
  double jitter_ms() const { return jitter_ * 1000.0 / clock_rate_; }
  double peak_jitter_ms() const { return peak_jitter_ * 1000.0 / clock_rate_; }

 private:
  uint64_t CurrentExpected() const {
    if (!active_) return 0;
    return cycles_ + max_seq_ - base_seq_ + 1;
  }
  void FoldSource() {
    folded_received_ += received_;
    folded_expected_ += CurrentExpected();
  }
  void Start(const RtpHeader& header, int64_t arrival_ns) {
    active_ = true;
    ssrc_ = header.ssrc;
    base_seq_ = header.sequence;
    max_seq_ = header.sequence;
    bad_seq_ = -1;
    cycles_ = 0;
    received_ = 1;
    jitter_ = 0;
    have_last_ = false;
    UpdateJitter(header, arrival_ns);
  }
  void UpdateJitter(const RtpHeader& header, int64_t arrival_ns) {
    // D(i,j) = (Rj - Ri) - (Sj - Si) between successive arrivals, in timestamp units;
    // the RTP timestamp difference is taken modulo 2^32, so its wrap does not matter.
    if (have_last_) {
      const double arrival_delta = static_cast<double>(arrival_ns - last_arrival_ns_) * clock_rate_ / 1e9;
      const double timestamp_delta = static_cast<int32_t>(header.timestamp - last_timestamp_);
      const double d = arrival_delta - timestamp_delta;
      jitter_ += (std::fabs(d) - jitter_) / 16.0;
      if (jitter_ > peak_jitter_) peak_jitter_ = jitter_;
    }
    last_arrival_ns_ = arrival_ns;
    last_timestamp_ = header.timestamp;
    have_last_ = true;
  }

  uint32_t clock_rate_;
  bool active_ = false;
  uint32_t ssrc_ = 0;
  uint16_t base_seq_ = 0;
  uint16_t max_seq_ = 0;
  int32_t bad_seq_ = -1;  // the sequence number that would confirm a restart; -1: none
  uint64_t cycles_ = 0;
  uint64_t received_ = 0;
  uint64_t folded_received_ = 0;
  uint64_t folded_expected_ = 0;
  uint64_t reordered_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t stray_ = 0;
  uint64_t ssrc_changes_ = 0;
  uint64_t resyncs_ = 0;
  bool have_last_ = false;
  int64_t last_arrival_ns_ = 0;
  uint32_t last_timestamp_ = 0;
  double jitter_ = 0;
  double peak_jitter_ = 0;
};

// G.711 mu-law encoding of one 16-bit linear sample: the 14-bit magnitude plus a bias
// of 33, a 3-bit segment from its highest set bit, a 4-bit mantissa, all inverted.
inline uint8_t MulawEncode(int16_t sample) {
  int value = sample >> 2;  // 14-bit
  int sign = 0;
  if (value < 0) {
    value = -value;
    sign = 0x80;
  }
  if (value > 8158) value = 8158;  // the top of segment 7 after the bias
  value += 33;
  int segment = 7;
  for (int mask = 0x1000; (value & mask) == 0 && segment > 0; mask >>= 1) --segment;
  const int mantissa = (value >> (segment + 1)) & 0x0f;
  return static_cast<uint8_t>(~(sign | (segment << 4) | mantissa));
}

// G.711 A-law encoding of one 16-bit linear sample (13-bit magnitude, segments of
// 16 steps, even bits inverted).
inline uint8_t AlawEncode(int16_t sample) {
  int value = sample >> 3;  // 13-bit
  int sign = 0x80;
  if (value < 0) {
    sign = 0;
    value = -value - 1;
  }
  if (value > 0x0fff) value = 0x0fff;
  int segment = 0;
  for (int threshold = 0x1f; value > threshold && segment < 7; threshold = (threshold << 1) | 1) ++segment;
  const int mantissa = segment == 0 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return static_cast<uint8_t>((sign | (segment << 4) | mantissa) ^ 0x55);
}

inline int16_t AlawDecode(uint8_t code) {
  const int value = code ^ 0x55;
  const int segment = (value >> 4) & 0x07;
  const int mantissa = value & 0x0f;
  int magnitude = segment == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  return static_cast<int16_t>((value & 0x80) ? magnitude : -magnitude);
}

// Decoding, for the tests of the encoder.
inline int16_t MulawDecode(uint8_t code) {
  const int inverted = ~code & 0xff;
  const int segment = (inverted >> 4) & 0x07;
  const int mantissa = inverted & 0x0f;
  const int magnitude = (((mantissa << 3) + 0x84) << segment) - 0x84;
  return static_cast<int16_t>((inverted & 0x80) ? -magnitude : magnitude);
}

}  // namespace linegate::bench
