#include "media/dsp/tone_analyser.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "media/dsp/levels.h"

namespace linegate::media::dsp {
namespace {

constexpr size_t kCoarseSamples = 1024;

// Not the per-frame path: the analysis buffers are ordinary vectors.
struct Windowed {
  std::vector<float> x;
  double sum_w = 0.0;
};

Windowed ApplyHann(std::span<const int16_t> samples) {
  Windowed out;
  const size_t n = std::min(samples.size(), kMaxAnalysisSamples);
  out.x.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * (i + 0.5) / n);
    out.x[i] = static_cast<float>(w * samples[i]);
    out.sum_w += w;
  }
  return out;
}

// Mean square of the sinusoid whose DFT term has magnitude^2 `power`.
double TonePower(double power, double sum_w) { return 2.0 * power / (sum_w * sum_w); }

// Goertzel in double: spans here are up to 8192 samples, long enough for float
// rounding in the recursion to show at low frequencies.
double MagnitudeAt(std::span<const float> x, double hz) {
  const double w = 2.0 * std::numbers::pi * hz / kSampleRateHz;
  const double coeff = 2.0 * std::cos(w);
  double s1 = 0.0;
  double s2 = 0.0;
  for (const float v : x) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return std::sqrt(std::max(0.0, s1 * s1 + s2 * s2 - coeff * s1 * s2));
}

// Hann window response at `delta` bins from its centre, relative to the centre.
double HannResponse(double delta) {
  if (std::abs(delta) < 1e-9) return 1.0;
  const double pd = std::numbers::pi * delta;
  return std::sin(pd) / pd / (1.0 - delta * delta);
}

}  // namespace

double MeasureLevel(std::span<const int16_t> samples) {
  if (samples.empty()) return kSilenceDbm0;
  double sum = 0.0;
  for (const int16_t s : samples) sum += static_cast<double>(s) * s;
  return MeanSquareToDbm0(sum / samples.size());
}

double MeasureToneLevel(std::span<const int16_t> samples, double frequency_hz) {
  const Windowed w = ApplyHann(samples);
  if (w.x.empty()) return kSilenceDbm0;
  const double m = MagnitudeAt(w.x, frequency_hz);
  return MeanSquareToDbm0(TonePower(m * m, w.sum_w));
}

ToneAnalysis AnalyseTone(std::span<const int16_t> samples) {
  ToneAnalysis result;
  const size_t n = std::min(samples.size(), kMaxAnalysisSamples);
  if (n < 16) return result;
  const std::span<const int16_t> used = samples.first(n);
  const double total = std::pow(10.0, MeasureLevel(used) / 10.0) * kZeroDbm0MeanSquare;
  result.total_level_dbm0 = MeanSquareToDbm0(total);
  if (result.total_level_dbm0 <= kSilenceDbm0) return result;

  // Coarse: bins of the first up to 1024 samples, DC and Nyquist excluded.
  const Windowed coarse = ApplyHann(used.first(std::min(n, kCoarseSamples)));
  const std::span<const float> cx(coarse.x);
  const double coarse_bin = static_cast<double>(kSampleRateHz) / coarse.x.size();
  double best_hz = coarse_bin;
  double best = -1.0;
  for (size_t k = 1; k < coarse.x.size() / 2; ++k) {
    const double m = MagnitudeAt(cx, k * coarse_bin);
    if (m > best) {
      best = m;
      best_hz = k * coarse_bin;
    }
  }

  // Fine: bins of the whole span within one coarse bin of the coarse peak.
  const Windowed fine = ApplyHann(used);
  const std::span<const float> fx(fine.x);
  const double bin = static_cast<double>(kSampleRateHz) / fine.x.size();
  const int reach = static_cast<int>(std::ceil(coarse_bin / bin)) + 1;
  double peak_hz = best_hz;
  double peak = -1.0;
  for (int k = -reach; k <= reach; ++k) {
    const double hz = best_hz + k * bin;
    if (hz <= 0.0 || hz >= kSampleRateHz / 2.0) continue;
    const double m = MagnitudeAt(fx, hz);
    if (m > peak) {
      peak = m;
      peak_hz = hz;
    }
  }
  const double below = MagnitudeAt(fx, peak_hz - bin);
  const double above = MagnitudeAt(fx, peak_hz + bin);
  double delta = 0.0;
  if (peak > 0.0) {
    if (above >= below) {
      const double r = above / peak;
      delta = (2.0 * r - 1.0) / (1.0 + r);
    } else {
      const double r = below / peak;
      delta = -(2.0 * r - 1.0) / (1.0 + r);
    }
    delta = std::clamp(delta, -0.5, 0.5);
  }
  result.frequency_hz = peak_hz + delta * bin;
  const double amplitude = peak / HannResponse(delta);
  const double tone = TonePower(amplitude * amplitude, fine.sum_w);
  result.tone_level_dbm0 = MeanSquareToDbm0(tone);
  result.purity = std::min(1.0, tone / total);
  return result;
}

}  // namespace linegate::media::dsp
