#include "media/dsp/fax_tone_detector.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "media/dsp/goertzel.h"
#include "media/dsp/levels.h"

namespace linegate::media::dsp {
namespace {

constexpr double kCngHz = 1100.0;
constexpr double kCedHz = 2100.0;
constexpr double kCngProbeStepHz = 20.0;  // probes at 1100 +- 0, 20, 40 Hz
constexpr double kCedProbeStepHz = 15.0;  // probes at 2100 +- 0, 15 Hz
constexpr int kBlockMs = 1000 * FaxToneDetector::kBlock / kSampleRateHz;
// A run survives one missing block; two end it.
constexpr uint64_t kMaxGapBlocks = 1;

float Coeff(double hz) {
  return static_cast<float>(2.0 * std::cos(2.0 * std::numbers::pi * hz / kSampleRateHz));
}

}  // namespace

FaxToneDetector::FaxToneDetector(const FaxToneDetectorConfig& config) : config_(config) {
  for (int i = 0; i < kCngProbes; ++i) {
    cng_coeff_[i] = Coeff(kCngHz + (i - kCngProbes / 2) * kCngProbeStepHz);
  }
  for (int i = 0; i < kCedProbes; ++i) {
    ced_coeff_[i] = Coeff(kCedHz + (i - kCedProbes / 2) * kCedProbeStepHz);
  }
  min_power_ = static_cast<float>(Dbm0ToMeanSquare(config_.min_level_dbm0));
  config_.cng_bursts = std::max<uint8_t>(config_.cng_bursts, 1);
  Reset();
}

void FaxToneDetector::Reset() {
  fill_ = 0;
  block_index_ = 0;
  cng_ = {};
  ced_ = {};
  cng_valid_bursts_ = 0;
  cng_last_burst_end_ = 0;
  cng_reported_ = false;
  ced_reported_ = false;
  events_dropped_ = 0;
}

size_t FaxToneDetector::Process(std::span<const int16_t> samples, std::span<FaxToneEvent> events) {
  out_ = events;
  out_count_ = 0;
  size_t i = 0;
  while (i < samples.size()) {
    const size_t n = std::min<size_t>(samples.size() - i, static_cast<size_t>(kBlock - fill_));
    for (size_t j = 0; j < n; ++j) {
      block_[fill_ + j] = samples[i + j];
    }
    fill_ += static_cast<int>(n);
    i += n;
    if (fill_ == kBlock) {
      AnalyseBlock();
      fill_ = 0;
      ++block_index_;
    }
  }
  out_ = {};
  return out_count_;
}

void FaxToneDetector::Emit(FaxTone tone, uint64_t start_block) {
  if (out_count_ < out_.size()) {
    out_[out_count_++] = FaxToneEvent{tone, start_block * kBlock, (block_index_ + 1) * kBlock};
  } else {
    ++events_dropped_;
  }
}

void FaxToneDetector::AnalyseBlock() {
  float energy = 0.0f;
  std::array<float, kCngProbes> c1{}, c2{};
  std::array<float, kCedProbes> d1{}, d2{};
  for (int n = 0; n < kBlock; ++n) {
    const float x = block_[n];
    energy += x * x;
    for (int k = 0; k < kCngProbes; ++k) {
      const float s0 = x + cng_coeff_[k] * c1[k] - c2[k];
      c2[k] = c1[k];
      c1[k] = s0;
    }
    for (int k = 0; k < kCedProbes; ++k) {
      const float s0 = x + ced_coeff_[k] * d1[k] - d2[k];
      d2[k] = d1[k];
      d1[k] = s0;
    }
  }
  // Rectangular block: a sinusoid of amplitude A gives |X| = A N / 2.
  const float tone_scale = 2.0f / (static_cast<float>(kBlock) * kBlock);
  const float total = energy / kBlock;
  float cng_power = 0.0f;
  for (int k = 0; k < kCngProbes; ++k) {
    cng_power = std::max(cng_power, GoertzelPower(c1[k], c2[k], cng_coeff_[k]) * tone_scale);
  }
  float ced_power = 0.0f;
  for (int k = 0; k < kCedProbes; ++k) {
    ced_power = std::max(ced_power, GoertzelPower(d1[k], d2[k], ced_coeff_[k]) * tone_scale);
  }
  const bool cng_present = cng_power >= min_power_ && cng_power >= config_.min_purity * total;
  const bool ced_present = ced_power >= min_power_ && ced_power >= config_.min_purity * total;
  const uint64_t b = block_index_;

  // CED: one long run.
  if (ced_present) {
    if (!ced_.active || b - ced_.last > kMaxGapBlocks + 1) {
      ced_ = Run{true, b, b};
    }
    ced_.last = b;
    if (!ced_reported_ && (b - ced_.start + 1) * kBlockMs >= config_.ced_min_ms) {
      ced_reported_ = true;
      Emit(FaxTone::kCed, ced_.start);
    }
  } else if (ced_.active && b - ced_.last > kMaxGapBlocks) {
    ced_.active = false;
  }

  // CNG: bursts of the right length, optionally with the right pauses between them.
  if (cng_present) {
    if (!cng_.active) {
      cng_ = Run{true, b, b};
    }
    cng_.last = b;
  } else if (cng_.active && b - cng_.last > kMaxGapBlocks) {
    cng_.active = false;
    const uint64_t on_ms = (cng_.last - cng_.start + 1) * kBlockMs;
    const bool burst_ok = on_ms >= config_.cng_min_on_ms && on_ms <= config_.cng_max_on_ms;
    if (!burst_ok) {
      cng_valid_bursts_ = 0;
    } else {
      const uint64_t off_ms = (cng_.start - cng_last_burst_end_) * kBlockMs;
      const bool pause_ok = off_ms >= config_.cng_min_off_ms && off_ms <= config_.cng_max_off_ms;
      cng_valid_bursts_ = (cng_valid_bursts_ > 0 && pause_ok) ? cng_valid_bursts_ + 1 : 1;
      cng_last_burst_end_ = cng_.last + 1;
      if (!cng_reported_ && cng_valid_bursts_ >= config_.cng_bursts) {
        cng_reported_ = true;
        Emit(FaxTone::kCng, cng_.start);
      }
    }
  }
}

}  // namespace linegate::media::dsp
