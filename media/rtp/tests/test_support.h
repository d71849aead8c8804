#pragma once
// Shared helpers for the rtp tests: a scripted random source and G.711 test signals.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "media/dsp/g711.h"
#include "media/rtp/rtp_sender.h"

namespace linegate::media::rtp::testing {

// Returns the scripted values in order, then counts up from the last.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(std::vector<uint32_t> values) : values_(std::move(values)) {}
  uint32_t NextUint32() override {
    if (next_ < values_.size()) return values_[next_++];
    return ++last_;
  }

 private:
  std::vector<uint32_t> values_;
  size_t next_ = 0;
  uint32_t last_ = 1000;
};

// A voiced-speech-like signal: a fundamental and three harmonics with decaying
// amplitude, sampled at 8 kHz from sample `start` (so consecutive calls join up).
inline std::vector<int16_t> Voiced(size_t start, size_t n, double f0 = 125.0, double amplitude = 8000.0) {
  std::vector<int16_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(start + i) / 8000.0;
    double v = 0;
    for (int h = 1; h <= 4; ++h) v += amplitude / h * std::sin(2 * std::numbers::pi * f0 * h * t + 0.3 * h);
    out[i] = static_cast<int16_t>(std::lround(v / 2.1));
  }
  return out;
}

inline std::vector<uint8_t> EncodeUlaw(const std::vector<int16_t>& linear) {
  std::vector<uint8_t> out(linear.size());
  dsp::EncodeUlaw(linear, out);
  return out;
}

inline double MeanSquare(const int16_t* p, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * p[i];
  return n == 0 ? 0 : sum / static_cast<double>(n);
}

}  // namespace linegate::media::rtp::testing
