#include "media/rtp/plc.h"

#include <algorithm>
#include <cstring>

namespace linegate::media::rtp {

namespace {

constexpr size_t kN = PacketLossConcealer::kHistorySamples;

int16_t Saturate(float v) {
  if (v > 32767.0f) return 32767;
  if (v < -32768.0f) return -32768;
  return static_cast<int16_t>(v < 0 ? v - 0.5f : v + 0.5f);
}

// G.711 Appendix I attenuation: none for 10 ms, then linearly to zero at 60 ms.
float Gain(size_t erased) {
  if (erased < PacketLossConcealer::kUnattenuatedSamples) return 1.0f;
  const size_t into_fade = erased - PacketLossConcealer::kUnattenuatedSamples + 1;
  if (into_fade >= PacketLossConcealer::kFadeSamples) return 0.0f;
  constexpr float kStep = 1.0f / static_cast<float>(PacketLossConcealer::kFadeSamples);
  return 1.0f - static_cast<float>(into_fade) * kStep;
}

}  // namespace

void PacketLossConcealer::Reset() { *this = PacketLossConcealer(); }

void PacketLossConcealer::Append(std::span<const int16_t> samples) {
  const size_t n = samples.size();
  if (n >= kN) {
    std::memcpy(history_.data(), samples.data() + (n - kN), kN * sizeof(int16_t));
  } else if (n > 0) {
    std::memmove(history_.data(), history_.data() + n, (kN - n) * sizeof(int16_t));
    std::memcpy(history_.data() + (kN - n), samples.data(), n * sizeof(int16_t));
  }
  history_valid_ = std::min(kN, history_valid_ + n);
}

// Normalised cross-correlation of the last 20 ms with the history `lag` samples
// earlier, maximised over 40..120: first every other lag on every other sample, then
// the neighbours of the best at full resolution (the search of G.711 Appendix I).
size_t PacketLossConcealer::EstimatePitch() const {
  const int16_t* x = history_.data() + kN - kCorrelationSamples;
  // Integer sums: exact, and unlike float reductions the compiler may vectorise them.
  auto score = [x](size_t lag, size_t step) {
    const int16_t* y = x - lag;
    int64_t cross = 0;
    int64_t energy = 0;
    for (size_t i = 0; i < kCorrelationSamples; i += step) {
      cross += static_cast<int32_t>(x[i]) * y[i];
      energy += static_cast<int32_t>(y[i]) * y[i];
    }
    return (cross > 0 && energy > 0)
               ? static_cast<double>(cross) * static_cast<double>(cross) / static_cast<double>(energy)
               : 0.0;
  };
  size_t best = kMaxPitch;
  double best_score = 0.0;
  for (size_t lag = kMinPitch; lag <= kMaxPitch; lag += 2) {
    const double s = score(lag, 2);
    if (s > best_score) {
      best_score = s;
      best = lag;
    }
  }
  if (best_score == 0.0) return kMaxPitch;  // no periodicity (noise, silence): longest period
  const size_t coarse = best;
  best_score = 0.0;
  for (size_t lag = std::max(kMinPitch, coarse - 1); lag <= std::min(kMaxPitch, coarse + 1); ++lag) {
    const double s = score(lag, 1);
    if (s > best_score) {
      best_score = s;
      best = lag;
    }
  }
  return best;
}

void PacketLossConcealer::StartErasure() {
  synthesising_ = history_valid_ >= kMinHistory;
  if (!synthesising_) return;
  pitch_ = EstimatePitch();
  for (size_t i = 0; i < kN; ++i) source_[i] = static_cast<float>(history_[i]);
  max_periods_ = std::min<size_t>(3, (history_valid_ - 1) / pitch_);
  periods_ = 1;
  position_ = 0;
  ramp_ = std::max<size_t>(1, pitch_ / 4);
  inverse_ramp_ = 1.0f / static_cast<float>(ramp_);
  switch_remaining_ = 0;
}

// Sample `index` of the buffer of the last `periods` pitch periods, with the start
// corrected so that it continues from the last real sample (see plc.h).
float PacketLossConcealer::PeriodSample(size_t periods, size_t index) const {
  const size_t span = periods * pitch_;
  float value = source_[kN - span + index];
  if (index < ramp_) {
    const float mismatch = source_[kN - 1] - source_[kN - span - 1];
    value += mismatch * static_cast<float>(ramp_ - index) * inverse_ramp_;
  }
  return value;
}

float PacketLossConcealer::NextSynthetic() {
  // Appendix I: one period for the first 10 ms, two for the next, then three.
  const size_t wanted = erased_samples_ < 80 ? 1 : (erased_samples_ < 160 ? 2 : 3);
  const size_t target = std::min(wanted, max_periods_);
  if (target != periods_) {
    old_periods_ = periods_;
    old_position_ = position_;
    periods_ = target;
    // The same index in a buffer one period longer is one period earlier: same phase.
    switch_remaining_ = ramp_;
  }
  float value = PeriodSample(periods_, position_);
  if (++position_ == periods_ * pitch_) position_ = 0;
  if (switch_remaining_ > 0) {
    const float old = PeriodSample(old_periods_, old_position_);
    if (++old_position_ == old_periods_ * pitch_) old_position_ = 0;
    const float w = static_cast<float>(switch_remaining_) / static_cast<float>(ramp_ + 1);
    value = w * old + (1.0f - w) * value;
    --switch_remaining_;
  }
  return value;
}

bool PacketLossConcealer::Conceal(std::span<int16_t> out) {
  // A loss during the blend after an erasure continues that erasure's synthesis.
  blending_ = false;
  ola_remaining_ = 0;
  if (erased_samples_ == 0) StartErasure();
  bool produced = false;
  for (int16_t& sample : out) {
    if (synthesising_ && erased_samples_ < kMaxConcealedSamples) {
      sample = Saturate(NextSynthetic() * Gain(erased_samples_));
      produced = true;
    } else {
      sample = 0;
    }
    ++erased_samples_;
  }
  Append(out);
  return produced;
}

void PacketLossConcealer::OnGoodFrame(std::span<int16_t> frame) {
  if (erased_samples_ > 0 && !blending_) {
    blending_ = true;
    if (synthesising_) {
      // Appendix I: a quarter period, plus 4 ms for each further 10 ms lost, at most 10 ms.
      const size_t tens = (erased_samples_ + 79) / 80;
      ola_length_ = std::min<size_t>(ramp_ + 32 * (tens - 1), 80);
      ola_remaining_ = ola_length_;
    }
    // erased_samples_ keeps counting through the blend so that the synthetic part keeps
    // its attenuation; it is cleared when the blend ends.
  }
  size_t i = 0;
  for (; i < frame.size() && ola_remaining_ > 0; ++i) {
    const size_t k = ola_length_ - ola_remaining_;
    const float w = static_cast<float>(k + 1) / static_cast<float>(ola_length_ + 1);
    const float synthetic =
        erased_samples_ < kMaxConcealedSamples ? NextSynthetic() * Gain(erased_samples_) : 0.0f;
    ++erased_samples_;
    frame[i] = Saturate((1.0f - w) * synthetic + w * static_cast<float>(frame[i]));
    --ola_remaining_;
  }
  if (ola_remaining_ == 0) {
    erased_samples_ = 0;
    synthesising_ = false;
    blending_ = false;
  }
  Append(frame);
}

}  // namespace linegate::media::rtp
