#pragma once
// The Goertzel algorithm: one DFT term at an arbitrary frequency by a second-order
// recursion, s[n] = x[n] + 2 cos(w) s[n-1] - s[n-2]. After N samples,
//   y = s[N-1] - e^{-jw} s[N-2] = e^{jw(N-1)} * X(w),
// so |y| = |X(w)| and, between two blocks of equal length, the phase of y advances
// exactly as the phase of X. Used by the DTMF detector, fax tone detector and analyser.

#include <cmath>
#include <complex>
#include <numbers>
#include <span>

#include "media/dsp/levels.h"

namespace linegate::media::dsp {

struct GoertzelFilter {
  float coeff = 0.0f;  // 2 cos(w)
  float cos_w = 0.0f;
  float sin_w = 0.0f;

  static GoertzelFilter ForFrequency(double frequency_hz) {
    const double w = 2.0 * std::numbers::pi * frequency_hz / kSampleRateHz;
    return GoertzelFilter{static_cast<float>(2.0 * std::cos(w)), static_cast<float>(std::cos(w)),
                          static_cast<float>(std::sin(w))};
  }
};

// Runs the recursion over `x` and returns y (see above).
inline std::complex<float> RunGoertzel(std::span<const float> x, const GoertzelFilter& f) {
  float s1 = 0.0f;
  float s2 = 0.0f;
  for (const float v : x) {
    const float s0 = v + f.coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return {s1 - f.cos_w * s2, f.sin_w * s2};
}

// |y|^2 from the final state, without forming y.
inline float GoertzelPower(float s1, float s2, float coeff) { return s1 * s1 + s2 * s2 - coeff * s1 * s2; }

}  // namespace linegate::media::dsp
