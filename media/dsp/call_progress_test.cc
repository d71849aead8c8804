#include "media/dsp/call_progress.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/dsp/test_signals.h"
#include "media/dsp/tone_analyser.h"

namespace linegate::media::dsp {
namespace {

using testing::Ms;

TEST(CallProgressTest, SpotValuesFromTheNationalPlans) {
  const auto us_busy = GetCallProgressTone(Country::kUs, CallProgressTone::kBusy);
  EXPECT_EQ(us_busy.tone.count, 2);
  EXPECT_EQ(us_busy.tone.components[0].frequency_hz, 480.0f);
  EXPECT_EQ(us_busy.tone.components[1].frequency_hz, 620.0f);
  EXPECT_EQ(us_busy.cadence.segments_ms[0], 500);
  EXPECT_EQ(us_busy.cadence.segments_ms[1], 500);
  const auto us_reorder = GetCallProgressTone(Country::kUs, CallProgressTone::kCongestion);
  EXPECT_EQ(us_reorder.cadence.segments_ms[0], 250);
  const auto uk_ring = GetCallProgressTone(Country::kUk, CallProgressTone::kRingback);
  EXPECT_EQ(uk_ring.tone.components[0].frequency_hz, 400.0f);
  EXPECT_EQ(uk_ring.tone.components[1].frequency_hz, 450.0f);
  EXPECT_EQ(uk_ring.cadence.count, 4);
  const auto de_dial = GetCallProgressTone(Country::kDe, CallProgressTone::kDial);
  EXPECT_EQ(de_dial.tone.count, 1);
  EXPECT_EQ(de_dial.tone.components[0].frequency_hz, 425.0f);
  EXPECT_EQ(de_dial.cadence.count, 0);
  const auto fr_ring = GetCallProgressTone(Country::kFr, CallProgressTone::kRingback);
  EXPECT_EQ(fr_ring.tone.components[0].frequency_hz, 440.0f);
  EXPECT_EQ(fr_ring.cadence.segments_ms[0], 1500);
  EXPECT_EQ(fr_ring.cadence.segments_ms[1], 3500);
}

// Every profile, generated in 10 ms frames, sounds at its frequencies and levels and
// follows its cadence over two cycles.
TEST(CallProgressTest, EveryProfileGeneratesItsSpec) {
  for (const Country country : kAllCountries) {
    for (const CallProgressTone which : kAllCallProgressTones) {
      SCOPED_TRACE(std::string(CountryName(country)) + " " + std::string(CallProgressToneName(which)));
      const CallProgressToneSpec spec = GetCallProgressTone(country, which);
      ASSERT_GE(spec.tone.count, 1);
      uint32_t cycle_ms = 0;
      for (int i = 0; i < spec.cadence.count; ++i) cycle_ms += spec.cadence.segments_ms[i];
      const uint32_t total_ms = spec.cadence.count == 0 ? 1000 : 2 * cycle_ms;
      CadencedToneGenerator g(spec.tone, spec.cadence);
      testing::Signal s(Ms(total_ms));
      for (size_t i = 0; i < s.size(); i += 80)
        g.Generate(std::span(s).subspan(i, std::min<size_t>(80, s.size() - i)));

      // Levels over the first on segment (at least 100 ms of it).
      const size_t first_on = spec.cadence.count == 0 ? s.size() : Ms(spec.cadence.segments_ms[0]);
      const std::span<const int16_t> burst(s.data(), first_on);
      for (int c = 0; c < spec.tone.count; ++c) {
        EXPECT_NEAR(MeasureToneLevel(burst, spec.tone.components[c].frequency_hz),
                    spec.tone.components[c].level_dbm0, 0.3);
      }
      // Cadence: on where the spec says on, silent where it says off (1 ms margin).
      if (spec.cadence.count != 0) {
        size_t t = 0;
        for (int cycle = 0; cycle < 2; ++cycle) {
          for (int seg = 0; seg < spec.cadence.count; ++seg) {
            const size_t len = Ms(spec.cadence.segments_ms[seg]);
            const std::span<const int16_t> part(s.data() + t + Ms(1), len - Ms(2));
            if (seg % 2 == 0) {
              EXPECT_GT(MeasureLevel(part), spec.tone.components[0].level_dbm0 - 1.0) << cycle << "/" << seg;
            } else {
              EXPECT_EQ(MeasureLevel(part), kSilenceDbm0) << cycle << "/" << seg;
            }
            t += len;
          }
        }
      }
    }
  }
}

TEST(CallProgressTest, Names) {
  EXPECT_EQ(ParseCountry("us"), Country::kUs);
  EXPECT_EQ(ParseCountry("GB"), Country::kUk);
  EXPECT_EQ(ParseCountry("uk"), Country::kUk);
  EXPECT_EQ(ParseCountry("De"), Country::kDe);
  EXPECT_EQ(ParseCountry("FR"), Country::kFr);
  EXPECT_EQ(ParseCountry("XX"), std::nullopt);
  EXPECT_EQ(ParseCountry("USA"), std::nullopt);
  EXPECT_EQ(CountryName(Country::kDe), "DE");
  EXPECT_EQ(CallProgressToneName(CallProgressTone::kCongestion), "congestion");
}

}  // namespace
}  // namespace linegate::media::dsp
