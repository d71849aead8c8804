#include "media/dsp/fax_tone_detector.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

#include "media/dsp/call_progress.h"
#include "media/dsp/test_signals.h"

namespace linegate::media::dsp {
namespace {

using testing::Append;
using testing::Ms;
using testing::Signal;
using testing::Silence;

static_assert(std::is_trivially_copyable_v<FaxToneDetector>);

std::vector<FaxToneEvent> Detect(const Signal& s, const FaxToneDetectorConfig& config = {}) {
  FaxToneDetector d(config);
  std::vector<FaxToneEvent> events;
  std::array<FaxToneEvent, 2> out;
  for (size_t i = 0; i < s.size(); i += 80) {
    const size_t n = d.Process(std::span(s).subspan(i, std::min<size_t>(80, s.size() - i)), out);
    events.insert(events.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return events;
}

// CNG as a fax machine sends it: 0.5 s of 1100 Hz, 3 s off, repeated.
Signal Cng(int bursts, double hz = 1100, double dbm0 = -15, double on_ms = 500, double off_ms = 3000) {
  Signal s = Silence(200);
  for (int i = 0; i < bursts; ++i) {
    Append(s, testing::Tone(ToneSpec::Single(static_cast<float>(hz), static_cast<float>(dbm0)), on_ms));
    Append(s, Silence(off_ms));
  }
  return s;
}

Signal Ced(double ms, double hz = 2100, double dbm0 = -15) {
  Signal s = Silence(200);
  Append(s, testing::Tone(ToneSpec::Single(static_cast<float>(hz), static_cast<float>(dbm0)), ms));
  Append(s, Silence(500));
  return s;
}

TEST(FaxToneDetectorTest, CngBurstDetected) {
  for (const double hz : {1100.0, 1062.0, 1138.0}) {  // +-38 Hz (T.30)
    for (const double level : {-40.0, -15.0, -3.0}) {
      const std::vector<FaxToneEvent> events = Detect(Cng(1, hz, level));
      ASSERT_EQ(events.size(), 1u) << hz << " " << level;
      EXPECT_EQ(events[0].tone, FaxTone::kCng);
      EXPECT_NEAR(static_cast<double>(events[0].tone_start_sample), Ms(200), 160);
      // Recognised 40 ms after the burst ends (two silent blocks).
      EXPECT_NEAR(static_cast<double>(events[0].sample), Ms(700 + 40), 160);
    }
  }
}

TEST(FaxToneDetectorTest, CngCadenceWithTwoBursts) {
  const FaxToneDetectorConfig two{.cng_bursts = 2};
  ASSERT_EQ(Detect(Cng(2), two).size(), 1u);
  EXPECT_EQ(Detect(Cng(2), two)[0].sample, Detect(Cng(2), two)[0].sample);
  EXPECT_GT(static_cast<double>(Detect(Cng(2), two)[0].sample), Ms(3700));  // after the second burst
  EXPECT_TRUE(Detect(Cng(1), two).empty());
  EXPECT_TRUE(Detect(Cng(3, 1100, -15, 500, 1000), two).empty());  // pauses too short
  EXPECT_TRUE(Detect(Cng(3, 1100, -15, 500, 5000), two).empty());  // pauses too long
}

TEST(FaxToneDetectorTest, NotCngWhenTheBurstIsWrong) {
  EXPECT_TRUE(Detect(Cng(1, 1100, -15, 200)).empty());   // too short
  EXPECT_TRUE(Detect(Cng(1, 1100, -15, 1000)).empty());  // too long
  EXPECT_TRUE(Detect(Ced(4000, 1100)).empty());          // continuous 1100 Hz
  EXPECT_TRUE(Detect(Cng(1, 1250)).empty());             // wrong frequency
  EXPECT_TRUE(Detect(Cng(1, 1100, -48)).empty());        // below -43 dBm0
}

TEST(FaxToneDetectorTest, CedDetectedAfterItsMinimumDuration) {
  for (const double hz : {2100.0, 2085.0, 2115.0}) {  // +-15 Hz (T.30)
    const std::vector<FaxToneEvent> events = Detect(Ced(3000, hz));
    ASSERT_EQ(events.size(), 1u) << hz;
    EXPECT_EQ(events[0].tone, FaxTone::kCed);
    EXPECT_NEAR(static_cast<double>(events[0].sample), Ms(200 + 2600), 160);
  }
  EXPECT_TRUE(Detect(Ced(2000)).empty());        // shorter than 2.6 s
  EXPECT_TRUE(Detect(Ced(3000, 2200)).empty());  // wrong frequency
  // A gateway that wants to switch early.
  const std::vector<FaxToneEvent> early = Detect(Ced(600), FaxToneDetectorConfig{.ced_min_ms = 400});
  ASSERT_EQ(early.size(), 1u);
  EXPECT_NEAR(static_cast<double>(early[0].sample), Ms(600), 160);
}

TEST(FaxToneDetectorTest, CedWithPhaseReversalsIsOneTone) {
  // V.25 ANS: 2100 Hz with a 180-degree phase reversal every 450 ms.
  Signal s = Silence(100);
  SineOscillator osc(2100, Dbm0ToPeak(-12));
  for (int n = 0; n < static_cast<int>(Ms(3300)); ++n) {
    if (n > 0 && n % static_cast<int>(Ms(450)) == 0) osc.SetPhase(osc.phase() + 0x80000000u);
    s.push_back(static_cast<int16_t>(std::lround(osc.Next())));
  }
  Append(s, Silence(200));
  const std::vector<FaxToneEvent> events = Detect(s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tone, FaxTone::kCed);
}

TEST(FaxToneDetectorTest, NoFalseDetections) {
  EXPECT_TRUE(Detect(testing::SpeechLike(20000, -12, 21)).empty());
  EXPECT_TRUE(Detect(testing::WhiteNoise(10000, -10, 22)).empty());
  EXPECT_TRUE(Detect(testing::MusicLike(10000, -10, 23)).empty());
  // Call-progress tones of every profile.
  for (const Country c : kAllCountries) {
    for (const CallProgressTone t : kAllCallProgressTones) {
      const CallProgressToneSpec spec = GetCallProgressTone(c, t);
      CadencedToneGenerator g(spec.tone, spec.cadence);
      Signal s(Ms(12000));
      g.Generate(s);
      EXPECT_TRUE(Detect(s).empty()) << CountryName(c) << " " << CallProgressToneName(t);
    }
  }
}

TEST(FaxToneDetectorTest, BothTonesOnceEachUntilReset) {
  Signal s = Cng(3);
  Append(s, Ced(3000));
  Append(s, Ced(3000));
  FaxToneDetector d;
  std::array<FaxToneEvent, 2> out;
  std::vector<FaxTone> seen;
  for (size_t i = 0; i + 80 <= s.size(); i += 80) {
    const size_t n = d.Process(std::span(s).subspan(i, 80), out);
    for (size_t k = 0; k < n; ++k) seen.push_back(out[k].tone);
  }
  EXPECT_EQ(seen, (std::vector<FaxTone>{FaxTone::kCng, FaxTone::kCed}));
  EXPECT_TRUE(d.cng_detected());
  EXPECT_TRUE(d.ced_detected());
  d.Reset();
  EXPECT_FALSE(d.cng_detected());
  EXPECT_FALSE(d.ced_detected());
}

}  // namespace
}  // namespace linegate::media::dsp
