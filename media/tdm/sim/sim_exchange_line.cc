#include "media/tdm/sim/sim_exchange_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "media/tdm/sim/sim_phone.h"  // FormatCallerId

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
  if (c.caller_id_after_ring_ms < 100 || c.caller_id_after_ring_ms > 2000) {
    return Error{"exchange line: caller_id_after_ring_ms must be 100..2000"};
  }
  if (c.dtmf_caller_id_ring_gap_ms < 100 || c.dtmf_caller_id_ring_gap_ms > 2000) {
    return Error{"exchange line: dtmf_caller_id_ring_gap_ms must be 100..2000"};
  }
  return Status::Ok();
}

std::string_view CallerIdTransmission::StateName(State state) {
  switch (state) {
    case State::kWaiting:
      return "waiting";
    case State::kSending:
      return "sending";
    case State::kSent:
      return "sent";
    case State::kDropped:
      return "dropped";
  }
  return "?";
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
      ring_deferred_ = false;
      DropCallerId();  // the caller gave up before it was sent
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
      ring_deferred_ = false;
      DropCallerId();  // answered before it was sent
      ++calls_completed_;
      return;
    case State::kBusy:
      StartTone(dsp::CallProgressTone::kBusy);
      return;
  }
}

Status SimExchangeLine::Ring(std::optional<dsp::Cadence> cadence,
                             const std::optional<ExchangeCallerId>& caller_id) {
  if (state_ != State::kIdle) return Error{fmt::format("cannot ring: line is {}", StateName(state_))};
  const dsp::Cadence ring = cadence.value_or(config_.ring_cadence);
  if (!IsValidCadence(ring)) return Error{"ring cadence has no ringing time"};
  const bool dtmf = caller_id && caller_id->standard == dsp::CallerIdStandard::kDtmf;
  if (caller_id) {
    // Encoded and checked here, on the control plane; Tick only plays it.
    const dsp::CallerIdInfo& info = caller_id->info;
    if (dtmf && (!info.name.empty() || info.name_absence != dsp::CallerIdAbsence::kNone)) {
      return Error{"caller ID: DTMF caller ID carries no name"};
    }
    std::string_view problem = "cannot be encoded";
    const std::optional<dsp::CallerIdMessage> message =
        dtmf ? dsp::EncodeCallerIdDtmf(info, &problem)
             : dsp::EncodeCallerIdFsk(info, dsp::CallerIdFormat::kMdmf, &problem);
    if (!message) return Error{fmt::format("caller ID: {}", problem)};
    if (!caller_id_generator_.Start(*message, caller_id->standard)) {
      return Error{"caller ID: the generator refused the message"};
    }
    if (dtmf) {
      const dsp::DtmfGeneratorConfig& digit = caller_id_generator_.config().dtmf;
      caller_id_length_samples_ = message->size * MsToSamples(digit.on_ms + digit.off_ms);
      // The ring waits for the digits, up to the end of the last tone, and the gap.
      samples_to_first_ring_ = caller_id_length_samples_ - MsToSamples(digit.off_ms) +
                               MsToSamples(config_.dtmf_caller_id_ring_gap_ms);
    } else {
      caller_id_length_samples_ = caller_id_generator_.total_samples();
      // The burst goes in the first silent interval: it must fit, with the delay after
      // the first ring and the guard before the next.
      const std::string_view standard = dsp::CallerIdStandardName(caller_id->standard);
      if (ring.count < 2 || ring.segments_ms[0] == 0 || ring.segments_ms[1] == 0) {
        caller_id_generator_.Stop();
        return Error{fmt::format(
            "caller ID: {} is sent in the silence after the first ring; the cadence has no such silence",
            standard)};
      }
      const uint32_t needed_ms = config_.caller_id_after_ring_ms +
                                 (caller_id_length_samples_ + kSamplesPerMs - 1) / kSamplesPerMs +
                                 kCallerIdGuardBeforeRingMs;
      if (ring.segments_ms[1] < needed_ms) {
        caller_id_generator_.Stop();
        return Error{fmt::format(
            "caller ID: {} needs a silence of at least {} ms after the first ring ({} ms pause, {} ms "
            "burst, {} ms guard); the cadence has {} ms",
            standard, needed_ms, config_.caller_id_after_ring_ms,
            (caller_id_length_samples_ + kSamplesPerMs - 1) / kSamplesPerMs, kCallerIdGuardBeforeRingMs,
            ring.segments_ms[1])};
      }
    }
    caller_id_ = CallerIdTransmission{*caller_id, CallerIdTransmission::State::kWaiting, {}, {}};
    // DTMF goes first, from the next tick; FSK counts down from the end of the first ring.
    caller_id_countdown_ = dtmf;
    caller_id_delay_samples_ = 0;
  }
  ring_cadence_ = ring;
  ring_deferred_ = dtmf;
  if (!dtmf) (void)ring_timer_.Start(ring);  // a valid cadence: cannot fail
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

Status SimExchangeLine::FarEndHangUp(bool reverse_polarity) {
  if (state_ != State::kConnected && state_ != State::kRingback) {
    return Error{fmt::format("no call to hang up: line is {}", StateName(state_))};
  }
  // Disconnect supervision: reversal on an answered call. Before the answer there was
  // no reversal to undo, so the far end's giving up shows only as busy tone.
  if (state_ == State::kConnected && reverse_polarity) ReversePolarity();
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
    case LineCommandType::kDisconnect:
      ++commands_refused_;
      return CommandResult::kNotApplicable;
  }
  ++commands_refused_;
  return CommandResult::kInvalid;
}

void SimExchangeLine::CompleteNumber() { SetState(State::kRingback); }

void SimExchangeLine::DropCallerId() {
  caller_id_countdown_ = false;
  if (!caller_id_) return;
  if (caller_id_->state != CallerIdTransmission::State::kWaiting &&
      caller_id_->state != CallerIdTransmission::State::kSending) {
    return;
  }
  caller_id_generator_.Stop();
  caller_id_->state = CallerIdTransmission::State::kDropped;
  ++caller_ids_dropped_;
}

void SimExchangeLine::SendCallerId(std::span<int16_t> frame) {
  if (!caller_id_) return;
  CallerIdTransmission& t = *caller_id_;
  if (t.state == CallerIdTransmission::State::kWaiting) {
    if (!caller_id_countdown_) return;
    if (caller_id_delay_samples_ >= frame.size()) {
      caller_id_delay_samples_ -= static_cast<uint32_t>(frame.size());
      return;
    }
    // Due inside this frame: it starts at its exact sample.
    const uint32_t offset = caller_id_delay_samples_;
    caller_id_delay_samples_ = 0;
    caller_id_countdown_ = false;
    t.state = CallerIdTransmission::State::kSending;
    t.started = clock_.Now() + SamplesToDuration(offset);
    frame = frame.subspan(offset);
  }
  if (t.state != CallerIdTransmission::State::kSending) return;
  caller_id_generator_.Generate(frame);
  if (caller_id_generator_.done()) {
    t.state = CallerIdTransmission::State::kSent;
    t.finished = t.started + SamplesToDuration(caller_id_length_samples_);
    ++caller_ids_sent_;
  }
}

void SimExchangeLine::Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) {
  const auto samples = static_cast<uint32_t>(from_line.size());
  if (state_ == State::kRinging) {
    // DTMF caller ID sent and the gap after it over: the first ring starts now.
    if (ring_deferred_ && samples_to_first_ring_ == 0) {
      ring_deferred_ = false;
      (void)ring_timer_.Start(ring_cadence_);  // checked by Ring
    }
    // Ring voltage changes that fell due during the previous frame show now.
    if (ring_timer_.on() != ring_voltage_) {
      ring_voltage_ = ring_timer_.on();
      Emit(ring_voltage_ ? LineEventType::kRingOn : LineEventType::kRingOff);
      // FSK caller ID: the pause before it starts when the first ring ends.
      if (!ring_voltage_ && caller_id_ && caller_id_->state == CallerIdTransmission::State::kWaiting &&
          !caller_id_countdown_) {
        caller_id_countdown_ = true;
        caller_id_delay_samples_ = MsToSamples(config_.caller_id_after_ring_ms);
      }
    }
    // A non-repeating cadence that has ended: the caller gave up.
    if (!ring_deferred_ && !ring_timer_.active()) SetState(State::kIdle);
  }
  if (state_ == State::kCollecting && samples_since_digit_ >= MsToSamples(config_.digit_timeout_ms)) {
    CompleteNumber();
  }
  if (state_ == State::kRingback && config_.auto_answer_ms > 0 &&
      samples_in_ringback_ >= MsToSamples(config_.auto_answer_ms)) {
    (void)FarEndAnswer();  // cannot fail in ringback
  }

  if (!seized()) {
    // On-hook at the port: no loop, no audio, except the caller ID of a ringing call
    // (on-hook data transmission: the port bridges its receiver across the line).
    std::fill(from_line.begin(), from_line.end(), int16_t{0});
    if (state_ == State::kRinging) SendCallerId(from_line);
    ring_timer_.Advance(samples);
    if (ring_deferred_) samples_to_first_ring_ -= std::min(samples_to_first_ring_, samples);
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
  if (caller_id_) {
    text += fmt::format(", caller-id {}: {}", CallerIdTransmission::StateName(caller_id_->state),
                        FormatCallerId(caller_id_->caller_id.info, caller_id_->caller_id.standard));
  }
  return text;
}

}  // namespace linegate::media::tdm::sim
