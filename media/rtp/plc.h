#pragma once
// Packet loss concealment for 8 kHz narrow-band voice, after ITU-T G.711 Appendix I:
// the lost signal is synthesised by repeating the most recent pitch period(s) of the
// history, growing to two and three periods as the loss lasts (less buzz), attenuated
// by 20 % per 10 ms from the second 10 ms on (silent after 60 ms), and blended into
// the first good signal after the loss by an overlap-add whose length grows with the
// loss.
//
// One documented difference from Appendix I: the Appendix delays all output by
// 3.75 ms so that the start of an erasure can be overlap-added with the tail of the
// last good frame. linegate adds no delay. Instead the repeated period is corrected at
// its start by the mismatch between the last real sample and the sample one period
// before it, fading linearly over a quarter period, so that the synthetic signal
// continues the real one without a step (at the loss and at every period wrap).
//
// Operates on linear 16-bit samples, any frame size. No allocation, lock or system
// call; the state is about 3 KB.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace linegate::media::rtp {

class PacketLossConcealer {
 public:
  static constexpr size_t kHistorySamples = 390;      // 48.75 ms, 3 * kMaxPitch + kMaxPitch / 4
  static constexpr size_t kMinPitch = 40;             // 200 Hz
  static constexpr size_t kMaxPitch = 120;            // 66.7 Hz
  static constexpr size_t kCorrelationSamples = 160;  // 20 ms matched in the pitch search
  static constexpr size_t kMinHistory = kCorrelationSamples + kMaxPitch + 1;
  static constexpr size_t kUnattenuatedSamples = 80;  // first 10 ms at full level
  static constexpr size_t kFadeSamples = 400;         // then -20 % per 10 ms: 0 at 60 ms
  static constexpr size_t kMaxConcealedSamples = kUnattenuatedSamples + kFadeSamples;

  // A frame that arrived. Blends the end of an erasure into it in place (the blend may
  // span several short frames), then appends it to the history.
  void OnGoodFrame(std::span<int16_t> frame);

  // A frame that did not arrive: writes the synthetic signal into `out` and appends it
  // to the history. Returns false when there was nothing to synthesise from (too little
  // history) or the loss has lasted longer than 60 ms; `out` is then silence.
  bool Conceal(std::span<int16_t> out);

  // Forget the history (a new stream that must not be concealed from the old one).
  void Reset();

  bool in_erasure() const { return erased_samples_ > 0; }
  size_t erased_samples() const { return erased_samples_; }
  size_t pitch() const { return pitch_; }

 private:
  void Append(std::span<const int16_t> samples);
  size_t EstimatePitch() const;
  void StartErasure();
  // One synthetic sample at the current generator position; advances it.
  float NextSynthetic();
  float PeriodSample(size_t periods, size_t index) const;

  // The most recent kHistorySamples, oldest first.
  std::array<int16_t, kHistorySamples> history_{};
  size_t history_valid_ = 0;
  // Snapshot of the history when the erasure started; everything is synthesised from it.
  std::array<float, kHistorySamples> source_{};
  size_t erased_samples_ = 0;
  bool synthesising_ = false;
  size_t pitch_ = 0;
  size_t periods_ = 1;
  size_t max_periods_ = 1;
  size_t position_ = 0;
  size_t ramp_ = 0;  // a quarter pitch period
  float inverse_ramp_ = 0.0f;
  // Change of the number of periods: blend from the old buffer over `ramp_` samples.
  size_t switch_remaining_ = 0;
  size_t old_periods_ = 1;
  size_t old_position_ = 0;
  // The blend back into good signal after an erasure.
  bool blending_ = false;
  size_t ola_remaining_ = 0;
  size_t ola_length_ = 0;
};

}  // namespace linegate::media::rtp
