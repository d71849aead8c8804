#pragma once
// Line signaling between a simulated line and the gateway side of its port: the events
// a line raises (hook changes on an FXS port; ring voltage and polarity on an FXO port)
// and the commands the gateway gives it (ring, polarity, message waiting on FXS; seize
// and release on FXO).
//
// Events are raw line conditions with timestamps, as a card reports them: an FXS line
// reports every hook change, never "flash" or "digit 5"; telling a pulse from a flash
// from a hang-up is the gateway's job (PulseDialDecoder), by the length of each break.
// Events are queued in a fixed-capacity queue and polled, so that a line never calls
// back into the gateway from its tick (overflow is counted, not allocated).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "media/dsp/oscillator.h"

namespace linegate::media::tdm::sim {

inline constexpr uint32_t kSampleRateHz = 8000;
inline constexpr uint32_t kSamplesPerMs = kSampleRateHz / 1000;
inline constexpr uint32_t kMinFrameSamples = 8;   // 1 ms
inline constexpr uint32_t kMaxFrameSamples = 80;  // 10 ms

constexpr uint32_t MsToSamples(uint32_t ms) { return ms * kSamplesPerMs; }
constexpr Duration SamplesToDuration(uint64_t samples) {
  return std::chrono::microseconds(samples * 1000000 / kSampleRateHz);
}

// Loop polarity (battery feed direction). Reversal is used for answer supervision and
// far-end disconnect.
enum class Polarity : uint8_t { kNormal, kReversed };
std::string_view PolarityName(Polarity polarity);  // "normal", "reversed"

enum class LineEventType : uint8_t {
  kOffHook,           // FXS: the phone closed the loop
  kOnHook,            // FXS: the phone opened the loop (a pulse, a flash or a hang-up)
  kRingOn,            // FXO: ring voltage appeared on the line
  kRingOff,           // FXO: ring voltage went away
  kPolarityReversal,  // FXO: battery polarity changed; `polarity` is the new one
  // Raised only by drivers whose card (or kernel driver) classifies hook changes itself,
  // as DAHDI does (media/tdm/dahdi/README.md); the simulated lines never raise them. On
  // such a card a kOnHook is a hang-up: the driver already told pulses and flashes apart.
  kFlash,           // FXS: the driver saw a hook flash
  kPulseDigit,      // FXS: the driver decoded a pulse-dialled digit; `digit` is '0'-'9'
  kLoopDisconnect,  // FXO: loop current dropped while seized (far-end disconnect)
  kAlarm,           // both: the port's card or span is in alarm, or the port failed
  kAlarmCleared,    // both: the alarm went away
};
std::string_view LineEventTypeName(LineEventType type);  // "off-hook", ...

struct LineEvent {
  LineEventType type = LineEventType::kOnHook;
  Polarity polarity = Polarity::kNormal;  // kPolarityReversal only
  TimePoint time{};
  char digit = 0;  // kPulseDigit only
};

enum class LineCommandType : uint8_t {
  kRingStart,       // FXS: apply ring voltage with `cadence` (count 0: continuous)
  kRingStop,        // FXS
  kSetPolarity,     // FXS: `polarity`
  kMessageWaiting,  // FXS: `on` lights or darkens the message-waiting lamp
  kSeize,           // FXO: go off-hook towards the exchange
  kRelease,         // FXO: go on-hook
  kDisconnect,      // FXS: deny loop current for `duration_ms` (open-loop disconnect)
};
std::string_view LineCommandTypeName(LineCommandType type);  // "ring-start", ...

struct LineCommand {
  LineCommandType type = LineCommandType::kRingStop;
  dsp::Cadence cadence{};
  Polarity polarity = Polarity::kNormal;
  bool on = false;
  uint32_t duration_ms = 0;  // kDisconnect only

  static LineCommand RingStart(const dsp::Cadence& cadence) {
    return {LineCommandType::kRingStart, cadence, Polarity::kNormal, false};
  }
  static LineCommand RingStop() { return {LineCommandType::kRingStop, {}, Polarity::kNormal, false}; }
  static LineCommand SetPolarity(Polarity p) { return {LineCommandType::kSetPolarity, {}, p, false}; }
  static LineCommand MessageWaiting(bool on) {
    return {LineCommandType::kMessageWaiting, {}, Polarity::kNormal, on};
  }
  static LineCommand Seize() { return {LineCommandType::kSeize, {}, Polarity::kNormal, false}; }
  static LineCommand Release() { return {LineCommandType::kRelease, {}, Polarity::kNormal, false}; }
  static LineCommand Disconnect(uint32_t ms) {
    return {LineCommandType::kDisconnect, {}, Polarity::kNormal, false, ms};
  }
};

enum class CommandResult : uint8_t {
  kOk,
  kNotApplicable,  // an FXO command to an FXS line or the reverse, or a command the port
                   // was configured without (e.g. MWI on a DAHDI port); counted by the line
  kInvalid,        // e.g. a cadence of zero-length segments; counted by the line
  kFailed,         // the card's driver refused or failed it (a DAHDI ioctl error); counted
                   // and logged by the line. The simulated lines never return it.
};
std::string_view CommandResultName(CommandResult result);

// US ringing: 2 s on, 4 s off (GR-506).
inline constexpr dsp::Cadence kUsRingCadence{{2000, 4000}, 2, true};

// The gateway's view of one simulated line. Both calls are control-plane calls on the
// thread that ticks the line (the models are single-threaded).
class LineSignaling {
 public:
  virtual ~LineSignaling() = default;
  virtual CommandResult Apply(const LineCommand& command) = 0;
  // Moves up to out.size() queued events, oldest first, into `out`; returns how many.
  virtual size_t PollEvents(std::span<LineEvent> out) = 0;
};

// Fixed-capacity FIFO of line events; a full queue drops the new event and counts it.
class LineEventQueue {
 public:
  static constexpr size_t kCapacity = 64;

  void Push(const LineEvent& event) {
    if (count_ == kCapacity) [[unlikely]] {
      ++dropped_;
      return;
    }
    events_[(head_ + count_) % kCapacity] = event;
    ++count_;
  }
  size_t Pop(std::span<LineEvent> out) {
    size_t n = 0;
    while (n < out.size() && count_ > 0) {
      out[n++] = events_[head_];
      head_ = (head_ + 1) % kCapacity;
      --count_;
    }
    return n;
  }
  size_t size() const { return count_; }
  uint64_t dropped() const { return dropped_; }

 private:
  std::array<LineEvent, kCapacity> events_{};
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t dropped_ = 0;
};

// Walks an on/off cadence in samples: what a card's ring generator does. Segments
// alternate on, off, ... starting with on; count 0 is continuously on.
class CadenceTimer {
 public:
  // False (and stopped) if every segment has zero length: it would never advance.
  bool Start(const dsp::Cadence& cadence);
  void Stop() { active_ = false; }
  bool active() const { return active_; }
  // Whether the cadence is in an on segment now.
  bool on() const { return active_ && segment_ % 2 == 0; }
  void Advance(uint32_t samples);

 private:
  void SkipEmptySegments();

  dsp::Cadence cadence_{};
  uint32_t segment_ = 0;
  uint32_t remaining_ = 0;
  bool active_ = false;
};

// Validates a ring cadence given by an operator or the gateway.
bool IsValidCadence(const dsp::Cadence& cadence);

}  // namespace linegate::media::tdm::sim
