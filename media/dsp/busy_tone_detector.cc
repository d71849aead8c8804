#include "media/dsp/busy_tone_detector.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "media/dsp/goertzel.h"
#include "media/dsp/levels.h"

namespace linegate::media::dsp {
namespace {

constexpr int kBlockMs = 1000 * BusyToneDetector::kBlock / kSampleRateHz;
// An on period survives one absent block (a click, a frame lost on the way); two end it.
constexpr uint32_t kMaxGapBlocks = 1;

float Coeff(double hz) {
  return static_cast<float>(2.0 * std::cos(2.0 * std::numbers::pi * hz / kSampleRateHz));
}

}  // namespace

BusyToneDetector::BusyToneDetector(const BusyToneDetectorConfig& config) : config_(config) {
  config_.on_periods = std::clamp<uint8_t>(config_.on_periods, 2, kMaxOnPeriods);
  config_.tolerance = std::clamp(config_.tolerance, 0.0f, 0.9f);
  const CallProgressTone tones[kCandidates] = {CallProgressTone::kBusy, CallProgressTone::kCongestion};
  for (int i = 0; i < kCandidates; ++i) {
    const CallProgressToneSpec spec = GetCallProgressTone(config_.country, tones[i]);
    Candidate& c = candidates_[i];
    c.tone = tones[i];
    c.components = std::min<int>(spec.tone.count, 2);
    for (int k = 0; k < c.components; ++k) c.coeff[k] = Coeff(spec.tone.components[k].frequency_hz);
    c.cadence = spec.cadence;
  }
  min_power_ = static_cast<float>(Dbm0ToMeanSquare(config_.min_level_dbm0));
  min_twist_ratio_ = static_cast<float>(std::pow(10.0, -config_.max_twist_db / 10.0));
  Reset();
}

void BusyToneDetector::Reset() {
  for (Candidate& c : candidates_) {
    c.segment_count = 0;
    c.on = false;
    c.blocks = 0;
    c.missing = 0;
  }
  fill_ = 0;
  detected_.reset();
}

bool BusyToneDetector::Process(std::span<const int16_t> samples) {
  bool recognised = false;
  size_t i = 0;
  while (i < samples.size()) {
    const size_t n = std::min<size_t>(samples.size() - i, static_cast<size_t>(kBlock - fill_));
    for (size_t j = 0; j < n; ++j) block_[fill_ + j] = samples[i + j];
    fill_ += static_cast<int>(n);
    i += n;
    if (fill_ == kBlock) {
      fill_ = 0;
      recognised = AnalyseBlock() || recognised;
    }
  }
  return recognised;
}

bool BusyToneDetector::AnalyseBlock() {
  float energy = 0.0f;
  std::array<std::array<float, 2>, kCandidates> s1{}, s2{};
  for (int n = 0; n < kBlock; ++n) {
    const float x = block_[n];
    energy += x * x;
    for (int i = 0; i < kCandidates; ++i) {
      for (int k = 0; k < candidates_[i].components; ++k) {
        const float s0 = x + candidates_[i].coeff[k] * s1[i][k] - s2[i][k];
        s2[i][k] = s1[i][k];
        s1[i][k] = s0;
      }
    }
  }
  // Rectangular block: a sinusoid of amplitude A gives |X| = A N / 2, and A^2 / 2 is
  // its mean square, comparable with energy / N.
  const float tone_scale = 2.0f / (static_cast<float>(kBlock) * kBlock);
  const float total = energy / kBlock;
  bool recognised = false;
  for (int i = 0; i < kCandidates; ++i) {
    Candidate& c = candidates_[i];
    if (c.components == 0) continue;
    float sum = 0.0f;
    float weakest = 0.0f;
    float strongest = 0.0f;
    for (int k = 0; k < c.components; ++k) {
      const float power = GoertzelPower(s1[i][k], s2[i][k], c.coeff[k]) * tone_scale;
      sum += power;
      weakest = k == 0 ? power : std::min(weakest, power);
      strongest = std::max(strongest, power);
    }
    const bool present =
        weakest >= min_power_ && weakest >= min_twist_ratio_ * strongest && sum >= config_.min_purity * total;
    if (Update(c, present) && !detected_) {
      detected_ = c.tone;
      recognised = true;
    }
  }
  return recognised;
}

void BusyToneDetector::Push(Candidate& c, uint32_t blocks) {
  if (c.segment_count == kMaxSegments) {
    std::copy(c.segments.begin() + 1, c.segments.end(), c.segments.begin());
    --c.segment_count;
  }
  c.segments[c.segment_count++] = blocks;
}

bool BusyToneDetector::Update(Candidate& c, bool present) {
  if (c.on) {
    if (present) {
      c.blocks += c.missing + 1;  // a bridged gap counts as tone
      c.missing = 0;
      return false;
    }
    if (++c.missing <= kMaxGapBlocks) return false;
    // The on period ended `missing` blocks ago.
    Push(c, c.blocks);
    c.on = false;
    c.blocks = c.missing;
    c.missing = 0;
    return Matches(c);
  }
  if (!present) {
    ++c.blocks;
    return false;
  }
  // An off period ends. Before the first on period it is no period of the cadence.
  if (c.segment_count > 0) Push(c, c.blocks);
  c.on = true;
  c.blocks = 1;
  c.missing = 0;
  return false;
}

bool BusyToneDetector::Matches(const Candidate& c) const {
  // The last on period was just pushed: the window is the last 2N-1 periods.
  const int window = 2 * config_.on_periods - 1;
  const int count = c.cadence.count;
  if (c.segment_count < window || count < 2 || count % 2 != 0) return false;
  const int first = c.segment_count - window;
  for (int phase = 0; phase < count; phase += 2) {
    bool all = true;
    for (int j = 0; j < window && all; ++j) {
      const float expected = c.cadence.segments_ms[(phase + j) % count];
      const float measured = static_cast<float>(c.segments[first + j] * kBlockMs);
      all = std::fabs(measured - expected) <= config_.tolerance * expected;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace linegate::media::dsp
