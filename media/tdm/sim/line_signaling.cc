#include "media/tdm/sim/line_signaling.h"

namespace linegate::media::tdm::sim {

std::string_view PolarityName(Polarity polarity) {
  switch (polarity) {
    case Polarity::kNormal:
      return "normal";
    case Polarity::kReversed:
      return "reversed";
  }
  return "?";
}

std::string_view LineEventTypeName(LineEventType type) {
  switch (type) {
    case LineEventType::kOffHook:
      return "off-hook";
    case LineEventType::kOnHook:
      return "on-hook";
    case LineEventType::kRingOn:
      return "ring-on";
    case LineEventType::kRingOff:
      return "ring-off";
    case LineEventType::kPolarityReversal:
      return "polarity-reversal";
    case LineEventType::kFlash:
      return "flash";
    case LineEventType::kPulseDigit:
      return "pulse-digit";
    case LineEventType::kLoopDisconnect:
      return "loop-disconnect";
    case LineEventType::kAlarm:
      return "alarm";
    case LineEventType::kAlarmCleared:
      return "alarm-cleared";
  }
  return "?";
}

std::string_view LineCommandTypeName(LineCommandType type) {
  switch (type) {
    case LineCommandType::kRingStart:
      return "ring-start";
    case LineCommandType::kRingStop:
      return "ring-stop";
    case LineCommandType::kSetPolarity:
      return "set-polarity";
    case LineCommandType::kMessageWaiting:
      return "message-waiting";
    case LineCommandType::kSeize:
      return "seize";
    case LineCommandType::kRelease:
      return "release";
    case LineCommandType::kDisconnect:
      return "disconnect";
  }
  return "?";
}

std::string_view CommandResultName(CommandResult result) {
  switch (result) {
    case CommandResult::kOk:
      return "ok";
    case CommandResult::kNotApplicable:
      return "not applicable";
    case CommandResult::kInvalid:
      return "invalid";
    case CommandResult::kFailed:
      return "failed";
  }
  return "?";
}

bool IsValidCadence(const dsp::Cadence& cadence) {
  if (cadence.count > cadence.segments_ms.size()) return false;
  if (cadence.count == 0) return true;  // continuous
  uint32_t on_ms = 0;
  for (uint8_t i = 0; i < cadence.count; i += 2) on_ms += cadence.segments_ms[i];
  return on_ms > 0;
}

bool CadenceTimer::Start(const dsp::Cadence& cadence) {
  if (!IsValidCadence(cadence)) {
    active_ = false;
    return false;
  }
  cadence_ = cadence;
  segment_ = 0;
  active_ = true;
  if (cadence_.count == 0) return true;
  remaining_ = MsToSamples(cadence_.segments_ms[0]);
  SkipEmptySegments();
  return true;
}

void CadenceTimer::Advance(uint32_t samples) {
  if (!active_ || cadence_.count == 0) return;
  while (samples > 0 && active_) {
    const uint32_t step = samples < remaining_ ? samples : remaining_;
    remaining_ -= step;
    samples -= step;
    SkipEmptySegments();
  }
}

void CadenceTimer::SkipEmptySegments() {
  // Moves on as soon as a segment is used up, so that on() describes the next sample.
  // Zero-length segments (an off of 0 ms, say) are passed over; Start made sure there
  // is some on time, so this ends.
  while (active_ && remaining_ == 0) {
    ++segment_;
    if (segment_ >= cadence_.count) {
      if (!cadence_.repeat) {
        active_ = false;
        return;
      }
      segment_ = 0;
    }
    remaining_ = MsToSamples(cadence_.segments_ms[segment_]);
  }
}

}  // namespace linegate::media::tdm::sim
