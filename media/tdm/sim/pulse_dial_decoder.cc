#include "media/tdm/sim/pulse_dial_decoder.h"

#include <string>

namespace linegate::media::tdm::sim {
namespace {

Duration Ms(uint32_t ms) { return std::chrono::milliseconds(ms); }

}  // namespace

Status ValidatePulseDialDecoderConfig(const PulseDialDecoderConfig& c) {
  if (c.min_break_ms == 0 || c.min_break_ms >= c.max_pulse_break_ms) {
    return Error{"pulse decoder: min_break_ms must be > 0 and < max_pulse_break_ms"};
  }
  if (c.max_pulse_break_ms >= c.max_flash_ms) {
    return Error{"pulse decoder: max_pulse_break_ms must be < max_flash_ms"};
  }
  if (c.digit_end_ms == 0) return Error{"pulse decoder: digit_end_ms must be > 0"};
  return Status::Ok();
}

std::string_view HookEventTypeName(HookEventType type) {
  switch (type) {
    case HookEventType::kOffHook:
      return "off-hook";
    case HookEventType::kOnHook:
      return "on-hook";
    case HookEventType::kFlash:
      return "flash";
    case HookEventType::kDigit:
      return "digit";
  }
  return "?";
}

std::string_view PulseDialDecoder::StateName(State state) {
  switch (state) {
    case State::kOnHook:
      return "on-hook";
    case State::kOffHook:
      return "off-hook";
    case State::kBreak:
      return "break";
    case State::kInterPulse:
      return "inter-pulse";
  }
  return "?";
}

PulseDialDecoder::PulseDialDecoder(const PulseDialDecoderConfig& config, State initial)
    : config_(config), state_(initial == State::kOffHook ? State::kOffHook : State::kOnHook) {}

void PulseDialDecoder::OnHook(TimePoint time) {
  switch (state_) {
    case State::kOffHook:
      break_start_ = time;
      state_ = State::kBreak;
      return;
    case State::kInterPulse:
      // A make this long already ended the digit, even if nobody polled in between.
      if (time - make_start_ >= Ms(config_.digit_end_ms)) FinishDigit();
      break_start_ = time;
      state_ = State::kBreak;
      return;
    case State::kOnHook:
    case State::kBreak:
      ++stats_.illegal_events;  // the loop was open already
      return;
  }
}

void PulseDialDecoder::OffHook(TimePoint time) {
  switch (state_) {
    case State::kOnHook:
      Emit(HookEventType::kOffHook, 0, time);
      state_ = State::kOffHook;
      return;
    case State::kBreak: {
      const Duration length = time - break_start_;
      if (length < Ms(config_.min_break_ms)) {
        // A bounce: as if the loop had stayed closed (the make carries on).
        ++stats_.bounces;
        state_ = pulses_ > 0 ? State::kInterPulse : State::kOffHook;
        return;
      }
      if (length <= Ms(config_.max_pulse_break_ms)) {
        if (pulses_ == 0) digit_start_ = break_start_;
        ++pulses_;
        make_start_ = time;
        state_ = State::kInterPulse;
        return;
      }
      if (pulses_ > 0) {
        ++stats_.abandoned_digits;
        pulses_ = 0;
      }
      if (length <= Ms(config_.max_flash_ms)) {
        ++stats_.flashes;
        Emit(HookEventType::kFlash, 0, break_start_);
      } else {
        // Nobody polled during the break: it was a hang-up, and this is a new off-hook.
        Emit(HookEventType::kOnHook, 0, break_start_);
        Emit(HookEventType::kOffHook, 0, time);
      }
      state_ = State::kOffHook;
      return;
    }
    case State::kOffHook:
    case State::kInterPulse:
      ++stats_.illegal_events;  // the loop was closed already
      return;
  }
}

void PulseDialDecoder::Poll(TimePoint now) {
  switch (state_) {
    case State::kInterPulse:
      if (now - make_start_ >= Ms(config_.digit_end_ms)) {
        FinishDigit();
        state_ = State::kOffHook;
      }
      return;
    case State::kBreak:
      if (now - break_start_ > Ms(config_.max_flash_ms)) {
        if (pulses_ > 0) {
          ++stats_.abandoned_digits;
          pulses_ = 0;
        }
        Emit(HookEventType::kOnHook, 0, break_start_);
        state_ = State::kOnHook;
      }
      return;
    case State::kOnHook:
    case State::kOffHook:
      return;
  }
}

void PulseDialDecoder::FinishDigit() {
  if (pulses_ >= 1 && pulses_ <= 10) {
    ++stats_.digits;
    Emit(HookEventType::kDigit, pulses_ == 10 ? '0' : static_cast<char>('0' + pulses_), digit_start_);
  } else {
    ++stats_.rejected_digits;
  }
  pulses_ = 0;
}

void PulseDialDecoder::Emit(HookEventType type, char digit, TimePoint time) {
  if (queue_count_ == kQueueCapacity) [[unlikely]] {
    ++stats_.events_dropped;
    return;
  }
  queue_[(queue_head_ + queue_count_) % kQueueCapacity] = HookEvent{type, digit, time};
  ++queue_count_;
}

size_t PulseDialDecoder::TakeEvents(std::span<HookEvent> out) {
  size_t n = 0;
  while (n < out.size() && queue_count_ > 0) {
    out[n++] = queue_[queue_head_];
    queue_head_ = (queue_head_ + 1) % kQueueCapacity;
    --queue_count_;
  }
  return n;
}

}  // namespace linegate::media::tdm::sim
