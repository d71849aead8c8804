#include <gtest/gtest.h>

#include <type_traits>

#include "media/dsp/dtmf.h"
#include "media/dsp/test_signals.h"
#include "media/dsp/tone_analyser.h"

namespace linegate::media::dsp {
namespace {

using testing::Ms;

static_assert(std::is_trivially_copyable_v<DtmfGenerator>);

TEST(DtmfTest, DigitMatrix) {
  EXPECT_EQ(DtmfDigitFrequencies('1')->low_hz, 697.0f);
  EXPECT_EQ(DtmfDigitFrequencies('1')->high_hz, 1209.0f);
  EXPECT_EQ(DtmfDigitFrequencies('0')->low_hz, 941.0f);
  EXPECT_EQ(DtmfDigitFrequencies('0')->high_hz, 1336.0f);
  EXPECT_EQ(DtmfDigitFrequencies('#')->high_hz, 1477.0f);
  EXPECT_EQ(DtmfDigitFrequencies('d')->high_hz, 1633.0f);
  EXPECT_EQ(DtmfDigitFrequencies('9')->low_index, 2);
  EXPECT_FALSE(DtmfDigitFrequencies('E'));
  EXPECT_FALSE(DtmfDigitFrequencies(' '));
  EXPECT_EQ(kAllDtmfDigits.size(), 16u);
}

TEST(DtmfGeneratorTest, TimingLevelsAndTwist) {
  DtmfGenerator g(DtmfGeneratorConfig{.on_ms = 100, .off_ms = 60, .low_level_dbm0 = -10, .twist_db = 3});
  ASSERT_TRUE(g.Queue("5#"));
  testing::Signal s(Ms(400));
  for (size_t i = 0; i < s.size(); i += 80) g.Generate(std::span(s).subspan(i, 80));
  EXPECT_TRUE(g.idle());
  const std::span<const int16_t> five(s.data(), Ms(100));
  EXPECT_NEAR(MeasureToneLevel(five, 770), -10.0, 0.1);
  EXPECT_NEAR(MeasureToneLevel(five, 1336), -7.0, 0.1);
  EXPECT_EQ(MeasureLevel(std::span<const int16_t>(s.data() + Ms(100), Ms(60))), kSilenceDbm0);
  const std::span<const int16_t> hash(s.data() + Ms(160), Ms(100));
  EXPECT_NEAR(MeasureToneLevel(hash, 941), -10.0, 0.1);
  EXPECT_NEAR(MeasureToneLevel(hash, 1477), -7.0, 0.1);
  EXPECT_EQ(MeasureLevel(std::span<const int16_t>(s.data() + Ms(260), Ms(140))), kSilenceDbm0);
  // Exactly 100 ms (800 samples) of tone, then the pause.
  EXPECT_EQ(MeasureLevel(std::span<const int16_t>(s.data() + 800, 480)), kSilenceDbm0);
  EXPECT_GT(MeasureLevel(std::span<const int16_t>(s.data() + 780, 20)), -20.0);
}

TEST(DtmfGeneratorTest, FrequencyDeviation) {
  DtmfGenerator g(DtmfGeneratorConfig{
      .on_ms = 1000, .off_ms = 0, .low_level_dbm0 = -10, .twist_db = -6, .frequency_deviation = 0.02f});
  ASSERT_TRUE(g.Queue("1"));
  testing::Signal s(Ms(1000));
  g.Generate(s);
  // The low tone is the stronger one (reverse twist).
  EXPECT_NEAR(AnalyseTone(s).frequency_hz, 697 * 1.02, 0.3);
}

TEST(DtmfGeneratorTest, QueueIsAllOrNothing) {
  DtmfGenerator g;
  EXPECT_FALSE(g.Queue("12x"));
  EXPECT_TRUE(g.idle());
  EXPECT_TRUE(g.Queue(std::string(DtmfGenerator::kCapacity, '1')));
  EXPECT_FALSE(g.Queue("1"));
  g.Clear();
  EXPECT_TRUE(g.idle());
  testing::Signal s(80);
  g.Generate(s);
  EXPECT_EQ(MeasureLevel(s), kSilenceDbm0);
}

TEST(DtmfGeneratorTest, CommaIsAPause) {
  DtmfGenerator g(DtmfGeneratorConfig{.on_ms = 80, .off_ms = 80});
  ASSERT_TRUE(g.Queue("1,2"));
  testing::Signal s(Ms(80 + 80 + DtmfGenerator::kPauseMs + 80 + 80));
  for (size_t i = 0; i < s.size(); i += 80) g.Generate(std::span(s).subspan(i, 80));
  EXPECT_TRUE(g.idle());
  EXPECT_GT(MeasureToneLevel(std::span<const int16_t>(s.data(), Ms(80)), 697), -12.0);
  EXPECT_EQ(MeasureLevel(std::span<const int16_t>(s.data() + Ms(80), Ms(80 + DtmfGenerator::kPauseMs))),
            kSilenceDbm0);
  const std::span<const int16_t> two(s.data() + Ms(160 + DtmfGenerator::kPauseMs), Ms(80));
  EXPECT_GT(MeasureToneLevel(two, 1336), -12.0);
  EXPECT_TRUE(g.finished());
  EXPECT_FALSE(g.Queue("1;2"));
}

TEST(DtmfGeneratorTest, FinishedOnlyAfterTheLastOffPart) {
  DtmfGenerator g(DtmfGeneratorConfig{.on_ms = 80, .off_ms = 80});
  ASSERT_TRUE(g.Queue("1"));
  testing::Signal s(80);
  for (int i = 0; i < 8; ++i) g.Generate(s);
  EXPECT_TRUE(g.idle()) << "the tone ended on the block boundary";
  EXPECT_FALSE(g.finished());
  for (int i = 0; i < 8; ++i) g.Generate(s);
  EXPECT_TRUE(g.finished());
}

}  // namespace
}  // namespace linegate::media::dsp
