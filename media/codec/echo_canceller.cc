#include "media/codec/echo_canceller.h"

#include <speex/speex_echo.h>

#include <algorithm>
#include <string>
#include <utility>

namespace linegate::media::codec {

void EchoCanceller::StateDeleter::operator()(SpeexEchoState_* state) const {
  speex_echo_state_destroy(state);
}

Result<EchoCanceller> EchoCanceller::Create(const EchoCancellerConfig& config) {
  if (config.tail_ms < kMinTailMs || config.tail_ms > kMaxTailMs) {
    return Error{"echo canceller: tail_ms " + std::to_string(config.tail_ms) + " outside " +
                 std::to_string(kMinTailMs) + ".." + std::to_string(kMaxTailMs)};
  }
  if (config.frame_samples < kMinFrameSamples || config.frame_samples > kMaxFrameSamples) {
    return Error{"echo canceller: frame_samples " + std::to_string(config.frame_samples) + " outside " +
                 std::to_string(kMinFrameSamples) + ".." + std::to_string(kMaxFrameSamples)};
  }
  const int filter_samples = config.tail_ms * 8;  // 8 samples per ms at 8 kHz
  std::unique_ptr<SpeexEchoState_, StateDeleter> state(
      speex_echo_state_init(static_cast<int>(config.frame_samples), filter_samples));
  if (!state) return Error{"echo canceller: speex_echo_state_init failed"};
  int rate = 8000;
  if (speex_echo_ctl(state.get(), SPEEX_ECHO_SET_SAMPLING_RATE, &rate) != 0) {
    return Error{"echo canceller: speexdsp refused the 8000 Hz sampling rate"};
  }
  return EchoCanceller(config, std::move(state));
}

EchoCanceller::EchoCanceller(const EchoCancellerConfig& config,
                             std::unique_ptr<SpeexEchoState_, StateDeleter> state)
    : config_(config), state_(std::move(state)) {}

EchoCanceller::EchoCanceller(EchoCanceller&&) noexcept = default;
EchoCanceller& EchoCanceller::operator=(EchoCanceller&&) noexcept = default;
EchoCanceller::~EchoCanceller() = default;

bool EchoCanceller::Process(std::span<const int16_t> far_end_ref, std::span<const int16_t> near_end,
                            std::span<int16_t> out) {
  const size_t n = config_.frame_samples;
  if (far_end_ref.size() != n || near_end.size() != n || out.size() != n) {
    ++stats_.frames_refused;
    return false;
  }
  if (!enabled_) {
    if (out.data() != near_end.data()) std::copy(near_end.begin(), near_end.end(), out.begin());
    ++stats_.frames_bypassed;
    return true;
  }
  if (reset_pending_) {
    speex_echo_state_reset(state_.get());
    reset_pending_ = false;
  }
  // speexdsp copies `near_end` into its own buffer (through its DC notch) before it
  // writes `out`, so the two may be the same memory (echo_canceller_test checks it).
  speex_echo_cancellation(state_.get(), near_end.data(), far_end_ref.data(), out.data());
  ++stats_.frames_cancelled;
  return true;
}

void EchoCanceller::Enable() {
  if (!enabled_) reset_pending_ = true;
  enabled_ = true;
}

void EchoCanceller::Disable() { enabled_ = false; }

void EchoCanceller::Reset() { reset_pending_ = true; }

}  // namespace linegate::media::codec
