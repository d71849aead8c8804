#include "media/dsp/tone_analyser.h"

#include <gtest/gtest.h>

#include <cmath>

#include "media/dsp/g711.h"
#include "media/dsp/test_signals.h"

namespace linegate::media::dsp {
namespace {

using testing::Signal;

TEST(ToneAnalyserTest, FrequencyLevelAndPurityOfPureTones) {
  for (const double hz : {200.0, 440.0, 1004.0, 1633.0, 2100.0, 3300.0}) {
    for (const double ms : {40.0, 250.0, 1000.0}) {
      const Signal s = testing::Tone(ToneSpec::Single(static_cast<float>(hz), -13), ms);
      const ToneAnalysis a = AnalyseTone(s);
      // Shorter spans resolve less; 40 ms still gives the frequency within 1 Hz.
      EXPECT_NEAR(a.frequency_hz, hz, ms < 100 ? 1.0 : 0.2) << hz << " " << ms;
      EXPECT_NEAR(a.tone_level_dbm0, -13.0, 0.1) << hz << " " << ms;
      EXPECT_NEAR(a.total_level_dbm0, -13.0, 0.05) << hz << " " << ms;
      EXPECT_GT(a.purity, 0.98) << hz << " " << ms;
    }
  }
}

TEST(ToneAnalyserTest, DominantComponentOfMixtures) {
  Signal s = testing::Tone(ToneSpec::Dual(350, -13, 440, -19), 500);
  ToneAnalysis a = AnalyseTone(s);
  EXPECT_NEAR(a.frequency_hz, 350.0, 0.5);
  EXPECT_NEAR(a.tone_level_dbm0, -13.0, 0.1);
  // Purity: the 350 Hz share of the total power, 1 / (1 + 10^-0.6) = 0.80.
  EXPECT_NEAR(a.purity, 1.0 / (1.0 + std::pow(10.0, -0.6)), 0.01);

  // A tone 15 dB above white noise: found, purity reflects the noise.
  s = testing::Tone(ToneSpec::Single(1100, -10), 1000);
  testing::MixInto(s, testing::WhiteNoise(1000, -25, 5));
  a = AnalyseTone(s);
  EXPECT_NEAR(a.frequency_hz, 1100.0, 0.5);
  EXPECT_NEAR(a.tone_level_dbm0, -10.0, 0.2);
  EXPECT_NEAR(a.purity, 1.0 / (1.0 + std::pow(10.0, -1.5)), 0.02);

  // Noise alone is impure.
  EXPECT_LT(AnalyseTone(testing::WhiteNoise(1000, -20, 6)).purity, 0.05);
}

TEST(ToneAnalyserTest, LevelsOfG711CodedTones) {
  Signal s = testing::Tone(ToneSpec::Single(1004, -20), 1000);
  for (int16_t& v : s) v = DecodeAlaw(EncodeAlaw(v));
  const ToneAnalysis a = AnalyseTone(s);
  EXPECT_NEAR(a.tone_level_dbm0, -20.0, 0.1);
  EXPECT_GT(a.purity, 0.999);  // ~38 dB SQNR
}

TEST(ToneAnalyserTest, MeasureToneLevelIsSelective) {
  const Signal s = testing::Tone(ToneSpec::Dual(697, -7, 1209, -5), 200);
  EXPECT_NEAR(MeasureToneLevel(s, 697), -7.0, 0.05);
  EXPECT_NEAR(MeasureToneLevel(s, 1209), -5.0, 0.05);
  EXPECT_LT(MeasureToneLevel(s, 770), -40.0);
  EXPECT_LT(MeasureToneLevel(s, 1336), -40.0);
}

TEST(ToneAnalyserTest, SilenceAndTinyInputs) {
  const Signal silence(800, 0);
  EXPECT_EQ(MeasureLevel(silence), kSilenceDbm0);
  EXPECT_EQ(AnalyseTone(silence).frequency_hz, 0.0);
  EXPECT_EQ(AnalyseTone(silence).purity, 0.0);
  EXPECT_EQ(AnalyseTone(Signal(3, 1000)).frequency_hz, 0.0);
  EXPECT_EQ(MeasureLevel(Signal()), kSilenceDbm0);
  EXPECT_EQ(MeasureToneLevel(Signal(), 1000), kSilenceDbm0);
}

}  // namespace
}  // namespace linegate::media::dsp
