#pragma once
// The gateway side of an FXS port's hook: turns the raw, timestamped hook changes a line
// reports into what they mean, by the length of each break (loop open) and make (loop
// closed):
//
//   break < min_break_ms                 a bounce: ignored (counted)
//   break <= max_pulse_break_ms          one dial pulse (10 pps dialling: 60 ms break,
//                                        40 ms make)
//   break <= max_flash_ms                a hook flash
//   break >  max_flash_ms                a hang-up (reported once the break is that long)
//   make  >= digit_end_ms after pulses   the digit is complete: n pulses are digit n,
//                                        10 pulses are 0, more are rejected (counted)
//
// Defaults suit a phone that flashes for 100..900 ms and pulses at 10 pps 60/40 with
// at least 300 ms between digits: the make between pulses (~40 ms) and between digits
// (>= 300 ms) are told apart at 200 ms, a pulse break (~60 ms) from the shortest flash
// (100 ms) at 90 ms.
//
// Time comes only from the events and Poll(now), so the decoder runs on any clock. No
// allocation: decoded events go to a fixed queue (overflow counted).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace linegate::media::tdm::sim {

struct PulseDialDecoderConfig {
  uint32_t min_break_ms = 20;
  uint32_t max_pulse_break_ms = 90;
  uint32_t max_flash_ms = 1000;
  uint32_t digit_end_ms = 200;
};
Status ValidatePulseDialDecoderConfig(const PulseDialDecoderConfig& config);

enum class HookEventType : uint8_t { kOffHook, kOnHook, kFlash, kDigit };
std::string_view HookEventTypeName(HookEventType type);

struct HookEvent {
  HookEventType type = HookEventType::kOnHook;
  char digit = 0;  // kDigit: '0'..'9'
  // kOffHook: when the loop closed; kOnHook, kFlash: when the break began; kDigit: when
  // its first break began.
  TimePoint time{};
};

struct PulseDialDecoderStats {
  uint64_t digits = 0;
  uint64_t flashes = 0;
  uint64_t bounces = 0;
  uint64_t rejected_digits = 0;   // more than 10 pulses
  uint64_t abandoned_digits = 0;  // pulses cut short by a flash or a hang-up
  uint64_t illegal_events = 0;    // e.g. off-hook while already off-hook
  uint64_t events_dropped = 0;    // the output queue was full
};

class PulseDialDecoder {
 public:
  enum class State : uint8_t {
    kOnHook,      // idle, loop open for longer than a flash
    kOffHook,     // loop closed, no digit in progress
    kBreak,       // loop open, not yet known whether pulse, flash or hang-up
    kInterPulse,  // loop closed after one or more pulses of a digit
  };
  static std::string_view StateName(State state);
  static constexpr size_t kQueueCapacity = 32;

  explicit PulseDialDecoder(const PulseDialDecoderConfig& config = {}, State initial = State::kOnHook);

  void OnHook(TimePoint time);
  void OffHook(TimePoint time);
  // Decides what only time can tell: the end of a digit, a hang-up. Call at least every
  // few tens of milliseconds (the gateway calls it every tick).
  void Poll(TimePoint now);

  // Moves decoded events, oldest first, into `out`; returns how many.
  size_t TakeEvents(std::span<HookEvent> out);

  State state() const { return state_; }
  const PulseDialDecoderStats& stats() const { return stats_; }

 private:
  void Emit(HookEventType type, char digit, TimePoint time);
  // Ends the digit in progress (pulses_ > 0).
  void FinishDigit();

  PulseDialDecoderConfig config_;
  State state_;
  TimePoint break_start_{};
  TimePoint make_start_{};
  TimePoint digit_start_{};
  uint32_t pulses_ = 0;
  std::array<HookEvent, kQueueCapacity> queue_{};
  size_t queue_head_ = 0;
  size_t queue_count_ = 0;
  PulseDialDecoderStats stats_{};
};

}  // namespace linegate::media::tdm::sim
