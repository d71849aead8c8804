#include "media/dsp/busy_tone_detector.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "media/dsp/dtmf.h"
#include "media/dsp/oscillator.h"
#include "media/dsp/test_signals.h"

namespace linegate::media::dsp {
namespace {

using testing::Ms;
using testing::Signal;

static_assert(std::is_trivially_copyable_v<BusyToneDetector>);

// The country's tone as the gateway generates it, both components at `dbm0`.
Signal Generated(Country country, CallProgressTone tone, double ms, float dbm0, double skip_ms = 0) {
  CallProgressToneSpec spec = GetCallProgressTone(country, tone);
  for (int k = 0; k < spec.tone.count; ++k) spec.tone.components[k].level_dbm0 = dbm0;
  CadencedToneGenerator generator(spec.tone, spec.cadence);
  Signal skipped(Ms(skip_ms));
  for (size_t at = 0; at < skipped.size(); at += 80) {
    generator.Generate(std::span<int16_t>(skipped).subspan(at, std::min<size_t>(80, skipped.size() - at)));
  }
  Signal s(Ms(ms));
  for (size_t at = 0; at < s.size(); at += 80) {
    generator.Generate(std::span<int16_t>(s).subspan(at, std::min<size_t>(80, s.size() - at)));
  }
  return s;
}

// Feeds `s` in 10 ms frames; the time of recognition in ms, or -1.
int RecognisedAtMs(BusyToneDetector& detector, const Signal& s) {
  for (size_t at = 0; at + 80 <= s.size(); at += 80) {
    if (detector.Process(std::span<const int16_t>(s).subspan(at, 80))) return static_cast<int>(at / 8 + 10);
  }
  return -1;
}

std::string Name(Country country, CallProgressTone tone, float dbm0) {
  return std::string(CountryName(country)) + " " + std::string(CallProgressToneName(tone)) + " at " +
         std::to_string(dbm0);
}

TEST(BusyToneDetectorTest, RecognisesEachCountrysBusyAndReorderAsGenerated) {
  for (Country country : kAllCountries) {
    for (CallProgressTone tone : {CallProgressTone::kBusy, CallProgressTone::kCongestion}) {
      for (float dbm0 : {-10.0f, -20.0f, -30.0f}) {
        BusyToneDetector detector(BusyToneDetectorConfig{.country = country});
        const Signal s = Generated(country, tone, 6000, dbm0);
        const int at = RecognisedAtMs(detector, s);
        ASSERT_GT(at, 0) << Name(country, tone, dbm0);
        ASSERT_TRUE(detector.tone().has_value());
        EXPECT_EQ(*detector.tone(), tone) << Name(country, tone, dbm0);
        // At the end of the third on period: two full cycles and an on period, at most
        // one cycle more for a four-period cadence, 20 ms for the gap bridging.
        const Cadence cadence = GetCallProgressTone(country, tone).cadence;
        int cycle = 0;
        for (int i = 0; i < cadence.count; ++i) cycle += cadence.segments_ms[i];
        EXPECT_LE(at, 2 * cycle + cadence.segments_ms[0] + 40) << Name(country, tone, dbm0);
      }
    }
  }
}

TEST(BusyToneDetectorTest, RecognisesATonePickedUpMidCadenceAndWithNoise) {
  BusyToneDetector detector;
  Signal s = Generated(Country::kUs, CallProgressTone::kBusy, 6000, -24, 1234);
  testing::MixInto(s, testing::WhiteNoise(6000, -50, 7));
  EXPECT_GT(RecognisedAtMs(detector, s), 0);
  EXPECT_EQ(detector.tone(), CallProgressTone::kBusy);
}

TEST(BusyToneDetectorTest, NumberOfOnPeriodsIsConfigurable) {
  BusyToneDetector two(BusyToneDetectorConfig{.on_periods = 2});
  BusyToneDetector five(BusyToneDetectorConfig{.on_periods = 5});
  const Signal s = Generated(Country::kUs, CallProgressTone::kBusy, 8000, -24);
  EXPECT_EQ(RecognisedAtMs(two, s), 1520);  // two absent blocks end the on period
  EXPECT_EQ(RecognisedAtMs(five, s), 4520);
}

TEST(BusyToneDetectorTest, CadenceOutsideTheToleranceIsNotBusy) {
  for (int on_ms : {350, 650}) {
    BusyToneDetector detector;
    const ToneSpec spec = ToneSpec::Dual(480, -20, 620, -20);
    CadencedToneGenerator generator(spec, Cadence{{static_cast<uint16_t>(on_ms), 500}, 2, true});
    Signal s(Ms(10000));
    for (size_t at = 0; at < s.size(); at += 80) generator.Generate(std::span<int16_t>(s).subspan(at, 80));
    EXPECT_EQ(RecognisedAtMs(detector, s), -1) << on_ms;
  }
  for (int on_ms : {420, 580}) {  // within 20 %
    BusyToneDetector detector;
    const ToneSpec spec = ToneSpec::Dual(480, -20, 620, -20);
    CadencedToneGenerator generator(spec, Cadence{{static_cast<uint16_t>(on_ms), 500}, 2, true});
    Signal s(Ms(10000));
    for (size_t at = 0; at < s.size(); at += 80) generator.Generate(std::span<int16_t>(s).subspan(at, 80));
    EXPECT_GT(RecognisedAtMs(detector, s), 0) << on_ms;
  }
}

TEST(BusyToneDetectorTest, RejectsDialToneRingbackContinuousToneSpeechNoiseAndDtmf) {
  for (Country country : kAllCountries) {
    for (CallProgressTone tone :
         {CallProgressTone::kDial, CallProgressTone::kRingback, CallProgressTone::kCallWaiting}) {
      BusyToneDetector detector(BusyToneDetectorConfig{.country = country});
      EXPECT_EQ(RecognisedAtMs(detector, Generated(country, tone, 30000, -13)), -1)
          << Name(country, tone, -13);
    }
  }
  {
    BusyToneDetector detector;
    EXPECT_EQ(RecognisedAtMs(detector, testing::DualTone(480, -20, 620, -20, 20000)), -1) << "continuous";
  }
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    BusyToneDetector detector;
    EXPECT_EQ(RecognisedAtMs(detector, testing::SpeechLike(30000, -20, seed)), -1) << "speech " << seed;
    BusyToneDetector noise;
    EXPECT_EQ(RecognisedAtMs(noise, testing::WhiteNoise(30000, -20, seed)), -1) << "noise " << seed;
  }
  for (Country country : kAllCountries) {
    // Digits keyed at a busy-like rhythm: 500 ms on, 500 ms off.
    BusyToneDetector detector(BusyToneDetectorConfig{.country = country});
    DtmfGenerator keypad(DtmfGeneratorConfig{.on_ms = 500, .off_ms = 500});
    ASSERT_TRUE(keypad.Queue("5555555555"));
    Signal s(Ms(10000));
    for (size_t at = 0; at < s.size(); at += 80) keypad.Generate(std::span<int16_t>(s).subspan(at, 80));
    EXPECT_EQ(RecognisedAtMs(detector, s), -1) << "DTMF " << CountryName(country);
  }
}

TEST(BusyToneDetectorTest, ReportsOnceUntilReset) {
  BusyToneDetector detector;
  const Signal s = Generated(Country::kUs, CallProgressTone::kCongestion, 4000, -24);
  EXPECT_GT(RecognisedAtMs(detector, s), 0);
  EXPECT_EQ(RecognisedAtMs(detector, s), -1);
  EXPECT_EQ(detector.tone(), CallProgressTone::kCongestion);
  detector.Reset();
  EXPECT_FALSE(detector.tone().has_value());
  EXPECT_GT(RecognisedAtMs(detector, s), 0);
}

}  // namespace
}  // namespace linegate::media::dsp
