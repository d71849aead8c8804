#pragma once
// NTP timestamps as RTCP carries them (RFC 3550 4): 32 bits of seconds since 1900 and
// 32 bits of fraction; the "compact" form is the middle 32 bits (16.16), used by LSR,
// DLSR and the round-trip time (6.4.1).

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/clock.h"

namespace linegate::media::rtp {

struct NtpTimestamp {
  uint32_t seconds = 0;
  uint32_t fraction = 0;

  uint64_t ToUint64() const { return (static_cast<uint64_t>(seconds) << 32) | fraction; }
  static NtpTimestamp FromUint64(uint64_t v) {
    return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)};
  }
  // Middle 32 bits (RFC 3550 6.4.1, LSR).
  uint32_t Compact() const { return (seconds << 16) | (fraction >> 16); }
  bool operator==(const NtpTimestamp&) const = default;
};

// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
inline constexpr uint64_t kNtpUnixEpochOffsetSeconds = 2208988800ull;

// An NTP timestamp from a duration since the NTP epoch.
inline NtpTimestamp NtpFromDuration(Duration since_ntp_epoch) {
  const int64_t ns = since_ntp_epoch.count();
  const uint64_t seconds = static_cast<uint64_t>(ns / 1'000'000'000);
  const uint64_t rem = static_cast<uint64_t>(ns % 1'000'000'000);
  return {static_cast<uint32_t>(seconds), static_cast<uint32_t>((rem << 32) / 1'000'000'000)};
}

// Wall-clock time as NTP (for the SR; the wall clock is read by the caller, never on the
// per-packet path).
inline NtpTimestamp NtpFromSystemClock(std::chrono::system_clock::time_point t) {
  return NtpFromDuration(std::chrono::duration_cast<Duration>(t.time_since_epoch()) +
                         std::chrono::seconds(kNtpUnixEpochOffsetSeconds));
}

// A duration in units of 1/65536 s (DLSR), saturating at 2^32 - 1; negative -> 0.
inline uint32_t ToCompactUnits(Duration d) {
  if (d.count() <= 0) return 0;
  const uint64_t ns = static_cast<uint64_t>(d.count());
  const uint64_t units = (ns / 1'000'000'000) * 65536 + ((ns % 1'000'000'000) * 65536) / 1'000'000'000;
  return units > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(units);
}

inline Duration FromCompactUnits(uint32_t units) {
  return Duration((static_cast<int64_t>(units) * 1'000'000'000) / 65536);
}

// RFC 3550 6.4.1: RTT = A - LSR - DLSR, A being the compact NTP arrival time of the
// report block. Empty when no SR has been received by the reporter (LSR == 0) or when
// the result is negative (clocks or a forged block), which callers must not average in.
inline std::optional<Duration> RoundTripTime(uint32_t arrival_compact, uint32_t lsr, uint32_t dlsr) {
  if (lsr == 0) return std::nullopt;
  const uint32_t rtt = arrival_compact - lsr - dlsr;  // modulo 2^32: wraps every 18 h
  if (static_cast<int32_t>(rtt) < 0) return std::nullopt;
  return FromCompactUnits(rtt);
}

}  // namespace linegate::media::rtp
