#include "media/dsp/dtmf_detector.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "media/dsp/dtmf.h"
#include "media/dsp/goertzel.h"
#include "media/dsp/levels.h"

namespace linegate::media::dsp {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

double DbToPowerRatio(double db) { return std::pow(10.0, db / 10.0); }

// Per-window twist slack over the configured limits (see the header).
constexpr double kWindowTwistSlackDb = 2.0;

double ToneHz(int k) { return k < 4 ? kDtmfLowHz[k] : kDtmfHighHz[k - 4]; }

// Wraps an angle to (-pi, pi].
double WrapPhase(double a) {
  a = std::fmod(a, kTwoPi);
  if (a > std::numbers::pi) a -= kTwoPi;
  if (a <= -std::numbers::pi) a += kTwoPi;
  return a;
}

}  // namespace

DtmfDetector::DtmfDetector(const DtmfDetectorConfig& config) : config_(config) {
  config_.windows_to_start = std::max<uint8_t>(config_.windows_to_start, 2);
  config_.windows_to_end = std::max<uint8_t>(config_.windows_to_end, 1);

  // Hann window sampled at the middle of each sample: symmetric, no zero end points.
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int n = 0; n < kWindow; ++n) {
    const double w = 0.5 - 0.5 * std::cos(kTwoPi * (n + 0.5) / kWindow);
    tables_.window[n] = static_cast<float>(w);
    sum += w;
    sum_sq += w * w;
  }
  // A sinusoid of amplitude A gives |X| = A/2 * sum(w): mean square A^2/2 = 2|X|^2/sum^2.
  tables_.tone_power_scale = static_cast<float>(2.0 / (sum * sum));
  tables_.total_power_scale = static_cast<float>(1.0 / sum_sq);

  for (int k = 0; k < 8; ++k) {
    const double hz = ToneHz(k);
    const double w = kTwoPi * hz / kSampleRateHz;
    tables_.coeff[k] = static_cast<float>(2.0 * std::cos(w));
    tables_.cos_w[k] = static_cast<float>(std::cos(w));
    tables_.sin_w[k] = static_cast<float>(std::sin(w));
    tables_.harmonic_coeff[k] = static_cast<float>(2.0 * std::cos(2.0 * w));
    tables_.hop_phase[k] = static_cast<float>(WrapPhase(w * kHop));
  }
  // A low-group harmonic is measurable only outside the main lobe (+-2 bins for Hann)
  // of every high-group tone; otherwise the high tone itself would fail the check.
  const double main_lobe_hz = 2.0 * kSampleRateHz / kWindow;
  for (int r = 0; r < 4; ++r) {
    bool clear = true;
    for (int c = 0; c < 4; ++c) {
      clear = clear && std::abs(2.0 * kDtmfLowHz[r] - kDtmfHighHz[c]) > main_lobe_hz;
    }
    tables_.check_low_harmonic[r] = clear;
  }
  tables_.min_tone_power = static_cast<float>(Dbm0ToMeanSquare(config_.min_tone_level_dbm0));
  tables_.max_normal_twist = static_cast<float>(DbToPowerRatio(config_.max_normal_twist_db));
  tables_.max_reverse_twist = static_cast<float>(DbToPowerRatio(config_.max_reverse_twist_db));
  tables_.window_max_normal_twist =
      static_cast<float>(DbToPowerRatio(config_.max_normal_twist_db + kWindowTwistSlackDb));
  tables_.window_max_reverse_twist =
      static_cast<float>(DbToPowerRatio(config_.max_reverse_twist_db + kWindowTwistSlackDb));
  tables_.group_margin = static_cast<float>(DbToPowerRatio(config_.min_group_margin_db));
  tables_.max_harmonic_ratio = static_cast<float>(DbToPowerRatio(config_.max_second_harmonic_db));
  Reset();
}

void DtmfDetector::Reset() {
  buffer_.fill(0.0f);
  fill_ = 0;
  window_start_ = 0;
  run_digit_ = 0;
  run_length_ = 0;
  run_checked_ = false;
  digit_ = 0;
  misses_ = 0;
  stats_ = {};
  last_window_ = {};
}

size_t DtmfDetector::Process(std::span<const int16_t> samples, std::span<DtmfEvent> events) {
  out_ = events;
  out_count_ = 0;
  size_t i = 0;
  while (i < samples.size()) {
    const size_t n = std::min<size_t>(samples.size() - i, static_cast<size_t>(kWindow - fill_));
    for (size_t j = 0; j < n; ++j) {
      buffer_[fill_ + j] = samples[i + j];
    }
    fill_ += static_cast<int>(n);
    i += n;
    if (fill_ == kWindow) {
      AnalyseWindow();
      std::copy(buffer_.begin() + kHop, buffer_.end(), buffer_.begin());
      fill_ = kWindow - kHop;
      window_start_ += kHop;
    }
  }
  out_ = {};
  return out_count_;
}

void DtmfDetector::Emit(DtmfEventType type, char digit, uint64_t sample) {
  if (out_count_ < out_.size()) {
    out_[out_count_++] = DtmfEvent{type, digit, sample};
  } else {
    ++stats_.events_dropped;
  }
}

void DtmfDetector::AnalyseWindow() {
  ++stats_.windows;
  std::array<float, kWindow> xw;
  float energy = 0.0f;
  for (int n = 0; n < kWindow; ++n) {
    xw[n] = buffer_[n] * tables_.window[n];
    energy += xw[n] * xw[n];
  }
  // The eight filters side by side: the inner loop vectorises across them.
  std::array<float, 8> s1{};
  std::array<float, 8> s2{};
  for (int n = 0; n < kWindow; ++n) {
    const float x = xw[n];
    for (int k = 0; k < 8; ++k) {
      const float s0 = x + tables_.coeff[k] * s1[k] - s2[k];
      s2[k] = s1[k];
      s1[k] = s0;
    }
  }
  std::array<float, 8> power;
  for (int k = 0; k < 8; ++k) {
    power[k] = GoertzelPower(s1[k], s2[k], tables_.coeff[k]) * tables_.tone_power_scale;
  }
  const float total = energy * tables_.total_power_scale;

  const int low = static_cast<int>(std::max_element(power.begin(), power.begin() + 4) - power.begin());
  const int high = static_cast<int>(std::max_element(power.begin() + 4, power.end()) - power.begin());
  const float p_low = power[low];
  const float p_high = power[high];

  DtmfWindowAnalysis analysis;
  analysis.low_index = low;
  analysis.high_index = high - 4;
  analysis.low_dbm0 = static_cast<float>(MeanSquareToDbm0(p_low));
  analysis.high_dbm0 = static_cast<float>(MeanSquareToDbm0(p_high));
  analysis.signal_ratio = total > 0.0f ? (p_low + p_high) / total : 0.0f;

  bool valid = p_low >= tables_.min_tone_power && p_high >= tables_.min_tone_power &&
               p_high <= p_low * tables_.window_max_normal_twist &&
               p_low <= p_high * tables_.window_max_reverse_twist &&
               p_low + p_high >= config_.min_signal_ratio * total;
  for (int k = 0; valid && k < 8; ++k) {
    if (k != low && k != high) {
      valid = power[k] * tables_.group_margin <= (k < 4 ? p_low : p_high);
    }
  }
  // Second harmonics, only for a candidate; judged over the run (see AcceptRun).
  float harmonic_low = 0.0f;
  float harmonic_high = 0.0f;
  if (valid) {
    auto harmonic_power = [&](int k) {
      float a = 0.0f;
      float b = 0.0f;
      const float c = tables_.harmonic_coeff[k];
      for (int n = 0; n < kWindow; ++n) {
        const float s0 = xw[n] + c * a - b;
        b = a;
        a = s0;
      }
      return GoertzelPower(a, b, c) * tables_.tone_power_scale;
    };
    harmonic_high = harmonic_power(high);
    harmonic_low = tables_.check_low_harmonic[low] ? harmonic_power(low) : 0.0f;
  }
  const char digit = valid ? kDtmfDigits[low][high - 4] : 0;
  analysis.digit = digit;
  last_window_ = analysis;

  // Track the run of windows holding the same digit, and the phase advance of its two
  // tones from one window to the next (y differs from X by a factor that is the same
  // in every window, so y_k * conj(y_{k-1}) has the phase of X_k * conj(X_{k-1})).
  if (digit != 0) {
    const std::complex<float> y_low(s1[low] - tables_.cos_w[low] * s2[low], tables_.sin_w[low] * s2[low]);
    const std::complex<float> y_high(s1[high] - tables_.cos_w[high] * s2[high],
                                     tables_.sin_w[high] * s2[high]);
    if (digit == run_digit_) {
      const std::complex<float> step_low = y_low * std::conj(previous_low_);
      const std::complex<float> step_high = y_high * std::conj(previous_high_);
      advance_low_ += step_low;
      advance_high_ += step_high;
      const float dev_low = SignedDeviation(low, step_low);
      const float dev_high = SignedDeviation(high, step_high);
      if (run_length_ == 1) {
        run_deviation_min_ = {dev_low, dev_high};
        run_deviation_max_ = {dev_low, dev_high};
      } else {
        run_deviation_min_ = {std::min(run_deviation_min_[0], dev_low),
                              std::min(run_deviation_min_[1], dev_high)};
        run_deviation_max_ = {std::max(run_deviation_max_[0], dev_low),
                              std::max(run_deviation_max_[1], dev_high)};
      }
      run_power_low_ += p_low;
      run_power_high_ += p_high;
      run_harmonic_low_ += harmonic_low;
      run_harmonic_high_ += harmonic_high;
      ++run_length_;
    } else {
      run_digit_ = digit;
      run_length_ = 1;
      run_low_ = low;
      run_high_ = high;
      run_checked_ = false;
      run_start_ = window_start_;
      advance_low_ = {};
      advance_high_ = {};
      run_power_low_ = p_low;
      run_power_high_ = p_high;
      run_harmonic_low_ = harmonic_low;
      run_harmonic_high_ = harmonic_high;
    }
    previous_low_ = y_low;
    previous_high_ = y_high;
  } else {
    run_digit_ = 0;
    run_length_ = 0;
  }

  // A window turns valid at about 71% coverage by the tone: the edge is roughly a
  // quarter window inside the first and last valid windows.
  constexpr uint64_t kEdgeOffset = kWindow / 4;
  if (digit_ != 0) {
    if (digit == digit_) {
      misses_ = 0;
      last_valid_end_ = window_start_ + kWindow;
    } else if (++misses_ >= config_.windows_to_end) {
      Emit(DtmfEventType::kEnd, digit_, last_valid_end_ - kEdgeOffset);
      digit_ = 0;
    }
  }
  if (digit_ == 0 && run_digit_ != 0 && !run_checked_ && run_length_ >= config_.windows_to_start) {
    run_checked_ = true;
    if (AcceptRun()) {
      digit_ = run_digit_;
      misses_ = 0;
      last_valid_end_ = window_start_ + kWindow;
      ++stats_.digits;
      Emit(DtmfEventType::kStart, digit_, run_start_ + kEdgeOffset);
    }
  }
}

// Phase advance over one hop of a tone at f is 2 pi f hop / fs; the excess over the
// nominal advance gives the frequency error, unambiguous within +-fs / (2 hop) = +-75 Hz
// (4.6% of 1633 Hz; beyond that the window's selectivity fails the tone anyway).
double DtmfDetector::ErrorHz(int k, std::complex<float> advance) const {
  const double excess = WrapPhase(std::arg(advance) - tables_.hop_phase[k]);
  return excess * kSampleRateHz / (kTwoPi * kHop);
}

float DtmfDetector::SignedDeviation(int k, std::complex<float> advance) const {
  if (std::norm(advance) == 0.0f) return 1.0f;  // no phase: fails the check
  return static_cast<float>(ErrorHz(k, advance) / ToneHz(k));
}

bool DtmfDetector::AcceptRun() {
  // Every hop of the run, not just the average, and a steady frequency: a dual sweep
  // through a digit's pair averages out near nominal but is never steady.
  bool frequency_ok = true;
  for (int g = 0; g < 2; ++g) {
    frequency_ok = frequency_ok && run_deviation_max_[g] <= config_.max_frequency_deviation &&
                   run_deviation_min_[g] >= -config_.max_frequency_deviation &&
                   run_deviation_max_[g] - run_deviation_min_[g] <= config_.max_frequency_drift;
  }
  if (!frequency_ok) {
    ++stats_.rejected_frequency;
    return false;
  }
  const double low_error = ErrorHz(run_low_, advance_low_);
  const double high_error = ErrorHz(run_high_, advance_high_);
  // Second harmonics over the run: averaging keeps noise in the harmonic's bin from
  // failing a weak tone now and then (one window's noise power is exponentially
  // distributed; a sum over four is not heavy-tailed).
  if (run_harmonic_low_ > run_power_low_ * tables_.max_harmonic_ratio ||
      run_harmonic_high_ > run_power_high_ * tables_.max_harmonic_ratio) {
    ++stats_.rejected_harmonic;
    return false;
  }
  // Twist of the run-averaged powers, each corrected for the Hann window's response at
  // the tone's measured offset: sinc(d) / (1 - d^2) for an offset of d bins.
  auto response = [](double error) {
    const double d = error * kWindow / kSampleRateHz;
    if (std::abs(d) < 1e-6) return 1.0;
    const double pd = std::numbers::pi * d;
    const double r = std::sin(pd) / pd / (1.0 - d * d);
    return r * r;
  };
  const double low = run_power_low_ / response(low_error);
  const double high = run_power_high_ / response(high_error);
  if (high > low * tables_.max_normal_twist || low > high * tables_.max_reverse_twist) {
    ++stats_.rejected_twist;
    return false;
  }
  return true;
}

}  // namespace linegate::media::dsp
