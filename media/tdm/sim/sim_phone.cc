#include "media/tdm/sim/sim_phone.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "media/dsp/goertzel.h"
#include "media/dsp/levels.h"

namespace linegate::media::tdm::sim {
namespace {

// Type 2 alert detection (see sim_phone.h): blocks of 80 samples (100 Hz bins, so FSK's
// 2100/2200 Hz space tone does not pass for 2750 Hz), each tone carrying at least a fifth
// of the block's energy, the block above -40 dBm0.
constexpr uint32_t kCasBlock = 80;
constexpr uint32_t kMinCasSamples = MsToSamples(40);
constexpr uint32_t kType2WindowSamples = MsToSamples(1000);
const dsp::GoertzelFilter kCasLow = dsp::GoertzelFilter::ForFrequency(2130.0);
const dsp::GoertzelFilter kCasHigh = dsp::GoertzelFilter::ForFrequency(2750.0);
const float kMinCasEnergy = static_cast<float>(dsp::Dbm0ToMeanSquare(-40.0)) * kCasBlock;

}  // namespace

Status ValidateSimPhoneConfig(const SimPhoneConfig& c) {
  if (c.flash_ms < kMinFlashMs || c.flash_ms > kMaxFlashMs) {
    return Error{fmt::format("phone: flash_ms {} out of range {}..{}", c.flash_ms, kMinFlashMs, kMaxFlashMs)};
  }
  // At least 20 ms: with frames of up to 10 ms, at most one hook change per frame.
  if (c.pulse_break_ms < 20 || c.pulse_break_ms > 200 || c.pulse_make_ms < 20 || c.pulse_make_ms > 200) {
    return Error{"phone: pulse_break_ms and pulse_make_ms must be 20..200"};
  }
  if (c.inter_digit_ms < 300 || c.inter_digit_ms > 10000) {
    return Error{fmt::format("phone: inter_digit_ms {} out of range 300..10000", c.inter_digit_ms)};
  }
  if (c.record_buffer_ms < 100 || c.record_buffer_ms > 60000) {
    return Error{"phone: record_buffer_ms must be 100..60000"};
  }
  if (c.max_record_ms == 0 || c.max_record_ms > 3600000)
    return Error{"phone: max_record_ms must be 1..3600000"};
  if (c.auto_answer_ms > kMaxAutoAnswerMs) {
    return Error{
        fmt::format("phone: auto_answer_ms {} out of range 0..{}", c.auto_answer_ms, kMaxAutoAnswerMs)};
  }
  return Status::Ok();
}

// ---- Ringer -----------------------------------------------------------------------------

void Ringer::Observe(bool voltage, TimePoint now) {
  if (voltage == ringing_) return;
  if (started_) {
    if (count_ < kCapacity) {
      segments_[count_++] = RingSegment{ringing_, segment_start_, now - segment_start_};
    } else {
      ++dropped_;
    }
  }
  ringing_ = voltage;
  if (voltage) ++rings_;
  started_ = true;
  segment_start_ = now;
}

void Ringer::Clear() { *this = Ringer(); }

// ---- SimPhone ---------------------------------------------------------------------------

std::string_view SimPhone::HookStateName(HookState state) {
  switch (state) {
    case HookState::kOnHook:
      return "on-hook";
    case HookState::kOffHook:
      return "off-hook";
    case HookState::kFlash:
      return "flash";
    case HookState::kPulseBreak:
      return "pulse-break";
    case HookState::kPulseMake:
      return "pulse-make";
    case HookState::kInterDigit:
      return "inter-digit";
  }
  return "?";
}

std::string_view SimPhone::RingStateName(RingState state) {
  switch (state) {
    case RingState::kIdle:
      return "idle";
    case RingState::kRinging:
      return "ringing";
    case RingState::kSilentInterval:
      return "silent-interval";
  }
  return "?";
}

SimPhone::SimPhone(const Clock& clock, const SimPhoneConfig& config)
    : clock_(clock), config_(config), dtmf_(config.dtmf), recorder_(MsToSamples(config.record_buffer_ms)) {
  const Status valid = ValidateSimPhoneConfig(config);
  if (!valid.ok()) {
    // An impossible state: SimCard::Create validates configurations first.
    std::fprintf(stderr, "SimPhone: invalid configuration: %s\n", valid.error().c_str());
    std::abort();
  }
}

bool SimPhone::loop_closed() const {
  return hook_ == HookState::kOffHook || hook_ == HookState::kPulseMake || hook_ == HookState::kInterDigit;
}

bool SimPhone::dialling() const { return !dtmf_.idle() || pulse_count_ > 0 || pulses_left_ > 0; }

SimPhone::RingState SimPhone::ring_state() const {
  if (!ring_timer_.active()) return RingState::kIdle;
  return ring_timer_.on() ? RingState::kRinging : RingState::kSilentInterval;
}

void SimPhone::Emit(LineEventType type) { events_.Push(LineEvent{type, Polarity::kNormal, clock_.Now()}); }

void SimPhone::SetHook(HookState next, uint32_t duration_ms) {
  const bool was_closed = loop_closed();
  hook_ = next;
  hook_remaining_ = MsToSamples(duration_ms);
  const bool closed = loop_closed();
  if (closed != was_closed) Emit(closed ? LineEventType::kOffHook : LineEventType::kOnHook);
}

Status SimPhone::OffHook() {
  if (hook_ != HookState::kOnHook)
    return Error{fmt::format("phone is {}, not on-hook", HookStateName(hook_))};
  SetHook(HookState::kOffHook, 0);
  // A message being received is abandoned; the next one starts afresh on-hook.
  fsk_caller_id_.Reset();
  dtmf_caller_id_.Reset();
  // Ring trip: the port stops ringing as soon as the loop closes.
  ring_timer_.Stop();
  auto_answer_pending_ = false;
  return Status::Ok();
}

Status SimPhone::OnHook() {
  if (hook_ == HookState::kOnHook) return Error{"phone is on-hook already"};
  // Hanging up abandons whatever was being dialled.
  pulse_count_ = 0;
  pulses_left_ = 0;
  dtmf_.Clear();
  SetHook(HookState::kOnHook, 0);
  return Status::Ok();
}

Status SimPhone::Flash(std::optional<uint32_t> ms) {
  const uint32_t length = ms.value_or(config_.flash_ms);
  if (length < kMinFlashMs || length > kMaxFlashMs) {
    return Error{fmt::format("flash of {} ms out of range {}..{} ms", length, kMinFlashMs, kMaxFlashMs)};
  }
  if (hook_ != HookState::kOffHook)
    return Error{fmt::format("cannot flash: phone is {}", HookStateName(hook_))};
  if (!dtmf_.idle()) return Error{"cannot flash while DTMF digits are playing"};
  SetHook(HookState::kFlash, length);
  return Status::Ok();
}

Status SimPhone::DialDtmf(std::string_view digits) {
  if (digits.empty()) return Error{"no digits to dial"};
  if (hook_ != HookState::kOffHook)
    return Error{fmt::format("cannot dial: phone is {}", HookStateName(hook_))};
  for (const char c : digits) {
    if (!dsp::DtmfDigitFrequencies(c)) return Error{fmt::format("'{}' is not a DTMF digit (0-9 * # A-D)", c)};
  }
  if (!dtmf_.Queue(digits)) return Error{"too many DTMF digits queued"};
  return Status::Ok();
}

Status SimPhone::DialPulse(std::string_view digits) {
  if (digits.empty()) return Error{"no digits to dial"};
  if (hook_ != HookState::kOffHook) {
    return Error{fmt::format("cannot pulse dial: phone is {}", HookStateName(hook_))};
  }
  if (!dtmf_.idle()) return Error{"cannot pulse dial while DTMF digits are playing"};
  if (digits.size() > kPulseDigitCapacity) {
    return Error{fmt::format("at most {} pulse digits at a time", kPulseDigitCapacity)};
  }
  for (const char c : digits) {
    if (c < '0' || c > '9') return Error{fmt::format("'{}' cannot be pulse dialled (0-9 only)", c)};
  }
  pulse_head_ = 0;
  pulse_count_ = 0;
  for (const char c : digits) pulse_digits_[pulse_count_++] = static_cast<uint8_t>(c == '0' ? 10 : c - '0');
  StartNextPulseDigit();
  return Status::Ok();
}

bool SimPhone::StartNextPulseDigit() {
  if (pulse_count_ == 0) return false;
  pulses_left_ = pulse_digits_[pulse_head_];
  pulse_head_ = (pulse_head_ + 1) % kPulseDigitCapacity;
  --pulse_count_;
  SetHook(HookState::kPulseBreak, config_.pulse_break_ms);
  return true;
}

void SimPhone::AdvanceHook() {
  if (hook_remaining_ > 0) return;
  switch (hook_) {
    case HookState::kOnHook:
    case HookState::kOffHook:
      return;
    case HookState::kFlash:
      SetHook(HookState::kOffHook, 0);
      return;
    case HookState::kPulseBreak:
      --pulses_left_;
      if (pulses_left_ > 0) {
        SetHook(HookState::kPulseMake, config_.pulse_make_ms);
      } else if (pulse_count_ > 0) {
        SetHook(HookState::kInterDigit, config_.inter_digit_ms);
      } else {
        SetHook(HookState::kOffHook, 0);  // the last digit: nothing to pause for
      }
      return;
    case HookState::kPulseMake:
      SetHook(HookState::kPulseBreak, config_.pulse_break_ms);
      return;
    case HookState::kInterDigit:
      if (!StartNextPulseDigit()) SetHook(HookState::kOffHook, 0);
      return;
  }
}

Status SimPhone::PlayTone(double frequency_hz, double level_dbm0) {
  return player_.PlayTone(frequency_hz, level_dbm0);
}

Status SimPhone::PlayWavFile(const std::string& path) {
  Result<std::vector<int16_t>> samples = ReadWavFile(path);
  if (!samples.ok()) return Error{samples.error()};
  player_.PlayWav(std::move(samples).value(), path);
  return Status::Ok();
}

void SimPhone::PlayWav(std::vector<int16_t> samples, std::string name) {
  player_.PlayWav(std::move(samples), std::move(name));
}

Status SimPhone::StartRecording(const std::string& path, uint32_t max_ms) {
  if (max_ms == 0 || max_ms > config_.max_record_ms) {
    return Error{fmt::format("recording length {} ms out of range 1..{} ms", max_ms, config_.max_record_ms)};
  }
  return recorder_.Start(path, MsToSamples(max_ms));
}

Status SimPhone::StopRecording() { return recorder_.Stop(); }

Result<ListenReport> SimPhone::Listen(uint32_t window_ms) { return monitor_.Listen(window_ms); }

CommandResult SimPhone::Apply(const LineCommand& command) {
  switch (command.type) {
    case LineCommandType::kRingStart:
      // Ringing a phone that is off-hook would trip at once; the gateway should not.
      if (hook_ != HookState::kOnHook || !ring_timer_.Start(command.cadence)) {
        ++commands_refused_;
        return CommandResult::kInvalid;
      }
      if (config_.auto_answer_ms > 0 && !auto_answer_pending_) {
        // From the start of ringing; a new cadence while ringing does not restart it.
        auto_answer_pending_ = true;
        auto_answer_remaining_ = MsToSamples(config_.auto_answer_ms);
      }
      return CommandResult::kOk;
    case LineCommandType::kRingStop:
      ring_timer_.Stop();
      auto_answer_pending_ = false;  // the caller gave up before the phone answered
      return CommandResult::kOk;
    case LineCommandType::kDisconnect:
      if (command.duration_ms == 0 || command.duration_ms > kMaxDisconnectMs) {
        ++commands_refused_;
        return CommandResult::kInvalid;
      }
      disconnect_remaining_ = MsToSamples(command.duration_ms);
      // On-hook the phone draws no current: it cannot notice the denial.
      disconnect_noticed_ = loop_closed();
      if (disconnect_noticed_) {
        ++disconnects_seen_;
        last_disconnect_ms_ = command.duration_ms;
      }
      return CommandResult::kOk;
    case LineCommandType::kSetPolarity:
      if (command.polarity != polarity_) {
        polarity_ = command.polarity;
        ++polarity_reversals_;
      }
      return CommandResult::kOk;
    case LineCommandType::kMessageWaiting:
      message_waiting_ = command.on;
      return CommandResult::kOk;
    case LineCommandType::kSeize:
    case LineCommandType::kRelease:
      ++commands_refused_;
      return CommandResult::kNotApplicable;
  }
  ++commands_refused_;
  return CommandResult::kInvalid;
}

void SimPhone::Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) {
  const auto samples = static_cast<uint32_t>(from_line.size());
  // Changes that fell due during the previous frame take effect at this frame's start.
  AdvanceHook();
  AdvanceLoadMode(samples);
  if (loop_closed() && ring_timer_.active()) ring_timer_.Stop();  // ring trip
  const bool voltage = ring_timer_.on();
  if (voltage != ringer_.ringing()) ringer_.Observe(voltage, clock_.Now());

  std::array<char, 4> started;
  if (loop_closed() && disconnect_remaining_ == 0) {
    monitor_.Process(to_line, started);
    recorder_.Push(to_line);
    dtmf_.Generate(from_line);
    player_.Mix(from_line);
    ReceiveType2CallerId(to_line);
  } else if (loop_closed()) {
    // Loop current denied: the loop is closed but carries nothing either way.
    std::fill(from_line.begin(), from_line.end(), int16_t{0});
    monitor_.Process(from_line, started);
    recorder_.Push(from_line);
  } else {
    // An open loop carries no audio either way: the phone hears, and sends, silence.
    std::fill(from_line.begin(), from_line.end(), int16_t{0});
    monitor_.Process(from_line, started);
    recorder_.Push(from_line);
    // Except to the caller-ID unit: a real phone bridges it across tip and ring through
    // a capacitor while on-hook (its earpiece and recorder are not connected), and it is
    // blanked while ring voltage is on (the ring signal swamps it), so FSK sent during a
    // ring is lost, as on a real line. Not during flash or pulse breaks: off-hook calls.
    if (hook_ == HookState::kOnHook) ReceiveCallerId(voltage ? std::span<const int16_t>(from_line) : to_line);
  }

  hook_remaining_ -= std::min(hook_remaining_, samples);
  ring_timer_.Advance(samples);
}

void SimPhone::AdvanceLoadMode(uint32_t samples) {
  if (disconnect_remaining_ > 0) {
    disconnect_remaining_ -= std::min(disconnect_remaining_, samples);
    // Load mode: the far end hung up; the phone hangs up when current returns (while it
    // is denied the port could not see the loop open anyway).
    if (disconnect_remaining_ == 0 && disconnect_noticed_ && config_.auto_answer_ms > 0 &&
        hook_ == HookState::kOffHook) {
      (void)OnHook();
    }
  }
  if (auto_answer_pending_) {
    auto_answer_remaining_ -= std::min(auto_answer_remaining_, samples);
    if (auto_answer_remaining_ == 0) {
      auto_answer_pending_ = false;
      if (hook_ == HookState::kOnHook && OffHook().ok()) ++auto_answers_;
    }
  }
}

void SimPhone::ReceiveType2CallerId(std::span<const int16_t> audio) {
  // FSK only after an alert: off-hook the line carries the call's audio, and a type 2
  // display ignores data that no alert announced (DTMF caller ID is not used off-hook:
  // its digits would be the far end's in-band digits).
  if (type2_window_ > 0) {
    type2_window_ -= std::min<uint32_t>(type2_window_, static_cast<uint32_t>(audio.size()));
    if (fsk_caller_id_.Process(audio)) {
      OnCallerId(fsk_caller_id_.result(), true);
      type2_window_ = 0;
    }
  }
  for (const int16_t sample : audio) {
    const float x = sample;
    const float low = x + kCasLow.coeff * cas_low_s1_ - cas_low_s2_;
    cas_low_s2_ = cas_low_s1_;
    cas_low_s1_ = low;
    const float high = x + kCasHigh.coeff * cas_high_s1_ - cas_high_s2_;
    cas_high_s2_ = cas_high_s1_;
    cas_high_s1_ = high;
    cas_energy_ += x * x;
    if (++cas_block_ < kCasBlock) continue;
    // A tone of mean square P over N samples gives a Goertzel power of P N^2 / 2, and the
    // block energy P N.
    const float share = cas_energy_ * kCasBlock / 2.0f;
    const bool alert = cas_energy_ >= kMinCasEnergy &&
                       dsp::GoertzelPower(cas_low_s1_, cas_low_s2_, kCasLow.coeff) >= 0.2f * share &&
                       dsp::GoertzelPower(cas_high_s1_, cas_high_s2_, kCasHigh.coeff) >= 0.2f * share;
    if (alert) {
      cas_samples_ += kCasBlock;
    } else {
      if (cas_samples_ >= kMinCasSamples) {
        type2_window_ = kType2WindowSamples;
        fsk_caller_id_.Reset();
      }
      cas_samples_ = 0;
    }
    cas_low_s1_ = cas_low_s2_ = cas_high_s1_ = cas_high_s2_ = cas_energy_ = 0.0f;
    cas_block_ = 0;
  }
}

void SimPhone::ReceiveCallerId(std::span<const int16_t> audio) {
  if (fsk_caller_id_.Process(audio)) OnCallerId(fsk_caller_id_.result(), false);
  if (dtmf_caller_id_.Process(audio)) OnCallerId(dtmf_caller_id_.result(), false);
}

void SimPhone::OnCallerId(const dsp::CallerIdResult& result, bool off_hook) {
  if (!result.accepted()) {
    ++caller_ids_rejected_;
    return;
  }
  caller_id_ = ReceivedCallerId{result, clock_.Now(), ringer_.rings(), off_hook};
}

std::string FormatCallerId(const dsp::CallerIdResult& r) { return FormatCallerId(r.info, r.standard); }

std::string FormatCallerId(const dsp::CallerIdInfo& info, dsp::CallerIdStandard standard) {
  std::string text;
  if (!info.number.empty()) {
    text = fmt::format("number={}", info.number.view());
  } else if (info.number_absence != dsp::CallerIdAbsence::kNone) {
    text = fmt::format("number={}", dsp::CallerIdAbsenceName(info.number_absence));
  } else {
    text = "number=none";
  }
  if (!info.name.empty()) {
    text += fmt::format(" name=\"{}\"", info.name.view());
  } else if (info.name_absence != dsp::CallerIdAbsence::kNone) {
    text += fmt::format(" name={}", dsp::CallerIdAbsenceName(info.name_absence));
  }
  if (info.date_time) {
    const dsp::CallerIdDateTime& t = *info.date_time;
    text += fmt::format(" time={:02}-{:02}T{:02}:{:02}", t.month, t.day, t.hour, t.minute);
  }
  text += fmt::format(" standard={}", dsp::CallerIdStandardName(standard));
  return text;
}

std::string SimPhone::Describe() const {
  std::string text =
      fmt::format("fxs phone: hook {}, ring {} ({} rings seen), polarity {}, mwi {}, playing {}",
                  HookStateName(hook_), RingStateName(ring_state()), ringer_.rings(), PolarityName(polarity_),
                  message_waiting_ ? "on" : "off", player_.Describe());
  if (dialling()) text += ", dialling";
  if (recorder_.state() != AudioRecorder::State::kIdle) {
    text += fmt::format(", recording {} ({:.1f} s)", recorder_.path(), recorder_.samples_captured() / 8000.0);
  } else if (!recorder_.last_result().empty()) {
    text += ", last recording: " + recorder_.last_result();
  }
  const std::string_view digits = monitor_.pending_digits();
  if (!digits.empty()) text += fmt::format(", DTMF heard {}", digits);
  if (caller_id_) {
    text += ", caller-id" + std::string(caller_id_->off_hook ? " (call waiting)" : "") + ": " +
            FormatCallerId(caller_id_->result);
  }
  if (disconnect_remaining_ > 0) text += ", loop current denied";
  if (disconnects_seen_ > 0) {
    text += fmt::format(", disconnects seen {} (last {} ms)", disconnects_seen_, last_disconnect_ms_);
  }
  if (config_.auto_answer_ms > 0) {
    text += fmt::format(", auto-answer {} ms ({} answered)", config_.auto_answer_ms, auto_answers_);
  }
  if (caller_ids_rejected_ > 0) text += fmt::format(", caller-id rejected {}", caller_ids_rejected_);
  return text;
}

}  // namespace linegate::media::tdm::sim
