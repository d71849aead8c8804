#include "media/dsp/oscillator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <type_traits>
#include <vector>

#include "media/dsp/levels.h"
#include "media/dsp/test_signals.h"
#include "media/dsp/tone_analyser.h"

namespace linegate::media::dsp {
namespace {

using testing::Ms;

static_assert(std::is_trivially_copyable_v<SineOscillator>);
static_assert(std::is_trivially_copyable_v<ToneGenerator>);
static_assert(std::is_trivially_copyable_v<CadencedToneGenerator>);

TEST(LevelsTest, ReferenceIs314DbBelowFullScale) {
  EXPECT_NEAR(kZeroDbm0Peak, kFullScale * std::pow(10.0, -kFullScaleAboveDbm0 / 20.0), 0.05);
  EXPECT_NEAR(Dbm0ToPeak(0.0), 22827.06, 0.01);
  EXPECT_NEAR(MeanSquareToDbm0(Dbm0ToMeanSquare(-17.5)), -17.5, 1e-9);
  EXPECT_EQ(MeanSquareToDbm0(0.0), kSilenceDbm0);
}

TEST(SineOscillatorTest, TableIsAccurate) {
  for (int i = 0; i <= kSineTableSize; ++i) {
    EXPECT_NEAR(oscillator_detail::kSineTable[i], std::sin(2.0 * std::numbers::pi * i / kSineTableSize),
                1e-7);
  }
}

TEST(SineOscillatorTest, MatchesSineWithinInterpolationError) {
  // 1 kHz over 10 s and an awkward frequency: error against libm stays below 1e-5 of
  // the peak, i.e. the phase does not drift.
  for (const double hz : {1000.0, 1234.567}) {
    SineOscillator osc(hz, 1.0);
    const double step = static_cast<double>(osc.increment()) / 4294967296.0;
    double max_error = 0.0;
    for (int n = 0; n < 80000; ++n) {
      const double expected = std::sin(2.0 * std::numbers::pi * std::fmod(step * n, 1.0));
      max_error = std::max(max_error, std::abs(osc.Next() - expected));
    }
    EXPECT_LT(max_error, 1e-5) << hz;
    EXPECT_NEAR(step * kSampleRateHz, hz, 1e-5);
  }
}

TEST(SineOscillatorTest, PhaseIncrementWraps) {
  EXPECT_EQ(PhaseIncrement(0.0), 0u);
  EXPECT_EQ(PhaseIncrement(2000.0), 1u << 30);
  EXPECT_EQ(PhaseIncrement(-2000.0), 3u << 30);
  EXPECT_EQ(PhaseIncrement(10000.0), PhaseIncrement(2000.0));
}

TEST(ToneGeneratorTest, SingleToneHasRequestedFrequencyAndLevel) {
  for (const double level : {0.0, -10.0, -30.0, -50.0}) {
    for (const double hz : {300.0, 425.0, 1004.0, 3400.0}) {
      const testing::Signal s =
          testing::Tone(ToneSpec::Single(static_cast<float>(hz), static_cast<float>(level)), 1000);
      const ToneAnalysis a = AnalyseTone(s);
      EXPECT_NEAR(a.frequency_hz, hz, 0.2) << hz << " " << level;
      EXPECT_NEAR(a.total_level_dbm0, level, 0.05) << hz << " " << level;
      EXPECT_NEAR(a.tone_level_dbm0, level, 0.05) << hz << " " << level;
      EXPECT_GT(a.purity, level > -45 ? 0.999 : 0.99);
    }
  }
}

TEST(ToneGeneratorTest, DualToneComponents) {
  const testing::Signal s = testing::Tone(ToneSpec::Dual(350, -13, 440, -16), 1000);
  EXPECT_NEAR(MeasureToneLevel(s, 350), -13.0, 0.05);
  EXPECT_NEAR(MeasureToneLevel(s, 440), -16.0, 0.05);
  EXPECT_LT(MeasureToneLevel(s, 1000), -90.0);
  // Total power is the sum of the two.
  EXPECT_NEAR(MeasureLevel(s), 10 * std::log10(std::pow(10, -1.3) + std::pow(10, -1.6)), 0.05);
  // Starts at phase 0 (no click) and is continuous across frames.
  EXPECT_EQ(s[0], 0);
  ToneGenerator g(ToneSpec::Dual(350, -13, 440, -16));
  testing::Signal framed(s.size());
  for (size_t i = 0; i < framed.size(); i += 80) g.Generate(std::span(framed).subspan(i, 80));
  EXPECT_EQ(framed, s);
}

TEST(ToneGeneratorTest, SaturatesInsteadOfWrapping) {
  const testing::Signal s = testing::Tone(ToneSpec::Dual(1000, 3, 1000, 3), 20);
  int16_t max = 0;
  for (const int16_t v : s) max = std::max(max, v);
  EXPECT_EQ(max, 32767);
  testing::Signal mixed(80, 30000);
  ToneGenerator(ToneSpec::Single(1000, 0)).Mix(mixed);
  EXPECT_EQ(*std::max_element(mixed.begin(), mixed.end()), 32767);
  EXPECT_EQ(SaturateToInt16(-40000.0f), -32768);
  EXPECT_EQ(SaturateToInt16(1.5f), 2);
}

// Measures the on/off pattern: lengths (ms) of alternating runs, starting with on,
// using 1 ms blocks.
std::vector<int> Runs(const testing::Signal& s) {
  std::vector<int> runs;
  bool on = true;
  int length = 0;
  for (size_t i = 0; i + 8 <= s.size(); i += 8) {
    bool block_on = false;
    for (size_t j = i; j < i + 8; ++j) block_on = block_on || s[j] != 0;
    if (block_on == on) {
      ++length;
    } else {
      runs.push_back(length);
      on = block_on;
      length = 1;
    }
  }
  runs.push_back(length);
  return runs;
}

TEST(CadencedToneGeneratorTest, FollowsCadenceAcrossFrames) {
  const Cadence cadence{{400, 200, 400, 2000}, 4, true};
  CadencedToneGenerator g(ToneSpec::Single(400, -10), cadence);
  testing::Signal s(Ms(6000));
  for (size_t i = 0; i < s.size(); i += 80) g.Generate(std::span(s).subspan(i, 80));
  // A 400 Hz sine crosses zero only at sample boundaries that are multiples of 20, so
  // a 1 ms block of the tone is never all zero.
  const std::vector<int> runs = Runs(s);
  const std::vector<int> expected = {400, 200, 400, 2000, 400, 200, 400, 2000, 0};
  ASSERT_GE(runs.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(runs[i], expected[i], 1) << i;
  EXPECT_FALSE(g.finished());
}

TEST(CadencedToneGeneratorTest, NonRepeatingStops) {
  CadencedToneGenerator g(ToneSpec::Single(1000, -10), Cadence{{100, 50, 100}, 3, false});
  testing::Signal s(Ms(500));
  g.Generate(s);
  const std::vector<int> runs = Runs(s);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_NEAR(runs[0], 100, 1);
  EXPECT_NEAR(runs[1], 50, 1);
  EXPECT_NEAR(runs[2], 100, 1);
  EXPECT_TRUE(g.finished());
  EXPECT_FALSE(g.on());
}

TEST(CadencedToneGeneratorTest, ContinuousAndDegenerateCadences) {
  CadencedToneGenerator continuous(ToneSpec::Single(425, -10), Cadence::Continuous());
  testing::Signal s(Ms(1000));
  continuous.Generate(s);
  EXPECT_EQ(Runs(s).size(), 1u);
  CadencedToneGenerator zero(ToneSpec::Single(425, -10), Cadence{{0, 0}, 2, true});
  zero.Generate(s);  // must terminate
  EXPECT_EQ(*std::max_element(s.begin(), s.end()), 0);
}

}  // namespace
}  // namespace linegate::media::dsp
