#include "media/tdm/sim/sim_exchange_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace linegate::media::tdm::sim {

Status ValidateSimExchangeLineConfig(const SimExchangeLineConfig& c) {
  if (!IsValidCadence(c.ring_cadence)) return Error{"exchange line: ring cadence has no ringing time"};
  if (c.digit_timeout_ms < 500 || c.digit_timeout_ms > 60000) {
    return Error{"exchange line: digit_timeout_ms must be 500..60000"};
  }
  if (c.max_digits == 0 || c.max_digits > SimExchangeLine::kMaxNumberDigits) {
    return Error{fmt::format("exchange line: max_digits must be 1..{}", SimExchangeLine::kMaxNumberDigits)};
  }
  if (c.auto_answer_ms > 600000) return Error{"exchange line: auto_answer_ms must be <= 600000"};
  return Status::Ok();
}

std::string_view SimExchangeLine::StateName(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kRinging:
      return "ringing";
    case State::kDialTone:
      return "dial-tone";
    case State::kCollecting:
      return "collecting";
    case State::kRingback:
      return "ringback";
    case State::kConnected:
      return "connected";
    case State::kBusy:
      return "busy";
  }
  return "?";
}

SimExchangeLine::SimExchangeLine(const Clock& clock, const SimExchangeLineConfig& config)
    : clock_(clock), config_(config) {
  const Status valid = ValidateSimExchangeLineConfig(config);
  if (!valid.ok()) {
    // An impossible state: SimCard::Create validates configurations first.
    std::fprintf(stderr, "SimExchangeLine: invalid configuration: %s\n", valid.error().c_str());
    std::abort();
  }
}

bool SimExchangeLine::seized() const { return state_ != State::kIdle && state_ != State::kRinging; }

void SimExchangeLine::Emit(LineEventType type) { events_.Push(LineEvent{type, polarity_, clock_.Now()}); }

void SimExchangeLine::SetPolarity(Polarity polarity) {
  if (polarity == polarity_) return;
  polarity_ = polarity;
  Emit(LineEventType::kPolarityReversal);
}

void SimExchangeLine::ReversePolarity() {
  SetPolarity(polarity_ == Polarity::kNormal ? Polarity::kReversed : Polarity::kNormal);
}

void SimExchangeLine::StartTone(dsp::CallProgressTone tone) {
  const dsp::CallProgressToneSpec spec = dsp::GetCallProgressTone(config_.country, tone);
  progress_tone_.Configure(spec.tone, spec.cadence);
}

void SimExchangeLine::SetState(State next) {
  state_ = next;
  switch (next) {
    case State::kIdle:
      ring_timer_.Stop();
      if (ring_voltage_) {
        ring_voltage_ = false;
        Emit(LineEventType::kRingOff);
      }
      SetPolarity(Polarity::kNormal);
      return;
    case State::kRinging:
      return;
    case State::kDialTone:
      number_length_ = 0;
      number_complete_ = false;
      samples_since_digit_ = 0;
      StartTone(dsp::CallProgressTone::kDial);
      return;
    case State::kCollecting:
      samples_since_digit_ = 0;
      return;
    case State::kRingback:
      number_complete_ = true;
      samples_in_ringback_ = 0;
      StartTone(dsp::CallProgressTone::kRingback);
      return;
    case State::kConnected:
      ++calls_completed_;
      return;
    case State::kBusy:
      StartTone(dsp::CallProgressTone::kBusy);
      return;
  }
}

Status SimExchangeLine::Ring(std::optional<dsp::Cadence> cadence) {
  if (state_ != State::kIdle) return Error{fmt::format("cannot ring: line is {}", StateName(state_))};
  if (!ring_timer_.Start(cadence.value_or(config_.ring_cadence)))
    return Error{"ring cadence has no ringing time"};
  SetState(State::kRinging);
  return Status::Ok();
}

Status SimExchangeLine::StopRinging() {
  if (state_ != State::kRinging) return Error{fmt::format("not ringing: line is {}", StateName(state_))};
  SetState(State::kIdle);
  return Status::Ok();
}

Status SimExchangeLine::FarEndAnswer() {
  if (state_ != State::kRingback) {
    return Error{fmt::format("far end cannot answer: line is {}, not ringback", StateName(state_))};
  }
  // Answer supervision.
  ReversePolarity();
  SetState(State::kConnected);
  return Status::Ok();
}

Status SimExchangeLine::FarEndHangUp() {
  if (state_ != State::kConnected && state_ != State::kRingback) {
    return Error{fmt::format("no call to hang up: line is {}", StateName(state_))};
  }
  // Disconnect supervision: reversal on an answered call. Before the answer there was
  // no reversal to undo, so the far end's giving up shows only as busy tone.
  if (state_ == State::kConnected) ReversePolarity();
  SetState(State::kBusy);
  return Status::Ok();
}

Status SimExchangeLine::PlayWavFile(const std::string& path) {
  Result<std::vector<int16_t>> samples = ReadWavFile(path);
  if (!samples.ok()) return Error{samples.error()};
  player_.PlayWav(std::move(samples).value(), path);
  return Status::Ok();
}

CommandResult SimExchangeLine::Apply(const LineCommand& command) {
  switch (command.type) {
    case LineCommandType::kSeize:
      if (state_ == State::kRinging) {
        // Answer an incoming call: ringing stops, audio is connected.
        ring_timer_.Stop();
        if (ring_voltage_) {
          ring_voltage_ = false;
          Emit(LineEventType::kRingOff);
        }
        SetState(State::kConnected);
        return CommandResult::kOk;
      }
      if (state_ == State::kIdle) {
        SetState(State::kDialTone);
        return CommandResult::kOk;
      }
      ++commands_refused_;  // seized already
      return CommandResult::kInvalid;
    case LineCommandType::kRelease:
      if (!seized()) {
        ++commands_refused_;
        return CommandResult::kInvalid;
      }
      SetState(State::kIdle);
      return CommandResult::kOk;
    case LineCommandType::kRingStart:
    case LineCommandType::kRingStop:
    case LineCommandType::kSetPolarity:
    case LineCommandType::kMessageWaiting:
      ++commands_refused_;
      return CommandResult::kNotApplicable;
  }
  ++commands_refused_;
  return CommandResult::kInvalid;
}

void SimExchangeLine::CompleteNumber() { SetState(State::kRingback); }

void SimExchangeLine::Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) {
  const auto samples = static_cast<uint32_t>(from_line.size());
  // Ring voltage changes that fell due during the previous frame show now.
  if (state_ == State::kRinging) {
    if (ring_timer_.on() != ring_voltage_) {
      ring_voltage_ = ring_timer_.on();
      Emit(ring_voltage_ ? LineEventType::kRingOn : LineEventType::kRingOff);
    }
    // A non-repeating cadence that has ended: the caller gave up.
    if (!ring_timer_.active()) SetState(State::kIdle);
  }
  if (state_ == State::kCollecting && samples_since_digit_ >= MsToSamples(config_.digit_timeout_ms)) {
    CompleteNumber();
  }
  if (state_ == State::kRingback && config_.auto_answer_ms > 0 &&
      samples_in_ringback_ >= MsToSamples(config_.auto_answer_ms)) {
    (void)FarEndAnswer();  // cannot fail in ringback
  }

  if (!seized()) {
    // On-hook at the port: no loop, no audio.
    std::fill(from_line.begin(), from_line.end(), int16_t{0});
    ring_timer_.Advance(samples);
    return;
  }

  std::array<char, 4> started;
  const size_t digits = monitor_.Process(to_line, started);
  for (size_t i = 0; i < digits; ++i) {
    if (state_ != State::kDialTone && state_ != State::kCollecting) break;
    if (state_ == State::kDialTone) SetState(State::kCollecting);
    if (started[i] == '#') {
      CompleteNumber();
      break;
    }
    number_[number_length_++] = started[i];
    samples_since_digit_ = 0;
    if (number_length_ >= config_.max_digits) CompleteNumber();
  }

  switch (state_) {
    case State::kDialTone:
    case State::kRingback:
    case State::kBusy:
      progress_tone_.Generate(from_line);
      break;
    case State::kConnected:
      if (loopback_) {
        std::copy(to_line.begin(), to_line.end(), from_line.begin());
      } else {
        std::fill(from_line.begin(), from_line.end(), int16_t{0});
      }
      player_.Mix(from_line);
      break;
    case State::kIdle:
    case State::kRinging:
    case State::kCollecting:
      std::fill(from_line.begin(), from_line.end(), int16_t{0});
      break;
  }
  samples_since_digit_ += samples;
  samples_in_ringback_ += samples;
}

std::string SimExchangeLine::Describe() const {
  std::string text = fmt::format("fxo exchange line: {}, polarity {}, ring voltage {}", StateName(state_),
                                 PolarityName(polarity_), ring_voltage_ ? "on" : "off");
  if (number_length_ > 0 || number_complete_) {
    text += fmt::format(", number {}{}", dialled_number(), number_complete_ ? "" : " (dialling)");
  }
  text += fmt::format(", far-end audio {}{}", player_.Describe(), loopback_ ? " + loopback" : "");
  return text;
}

}  // namespace linegate::media::tdm::sim
