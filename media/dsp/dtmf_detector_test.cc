#include "media/dsp/dtmf_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <type_traits>

#include "media/dsp/dtmf.h"
#include "media/dsp/g711.h"
#include "media/dsp/test_signals.h"

namespace linegate::media::dsp {
namespace {

using testing::Append;
using testing::DetectDtmf;
using testing::DualTone;
using testing::Ms;
using testing::Signal;
using testing::Silence;
using testing::StartedDigits;

static_assert(std::is_trivially_copyable_v<DtmfDetector>);

// A digit of `ms` at per-tone levels, with silence before and after.
Signal Digit(char digit, double ms, double low_dbm0, double high_dbm0, double deviation = 0.0,
             size_t lead_samples = 400) {
  const DtmfFrequencies f = *DtmfDigitFrequencies(digit);
  Signal s(lead_samples, 0);
  Append(s, DualTone(f.low_hz, low_dbm0, f.high_hz, high_dbm0, ms, deviation));
  Append(s, Silence(100));
  return s;
}

// Per-tone level for a pair of equal tones with this total power.
double PerTone(double total_dbm0) { return total_dbm0 - 10.0 * std::log10(2.0); }

// Exactly one digit: a start and an end event, in order.
::testing::AssertionResult DetectedOnce(const std::vector<DtmfEvent>& events, char digit) {
  if (events.size() != 2 || events[0].type != DtmfEventType::kStart ||
      events[1].type != DtmfEventType::kEnd || events[0].digit != digit || events[1].digit != digit) {
    std::string got;
    for (const DtmfEvent& e : events)
      got += std::string(e.type == DtmfEventType::kStart ? "+" : "-") + e.digit;
    return ::testing::AssertionFailure() << "expected +" << digit << "-" << digit << ", got '" << got << "'";
  }
  return ::testing::AssertionSuccess();
}

TEST(DtmfDetectorTest, AllDigitsAtLevelsFromMinus25To0Dbm0) {
  for (const char digit : kAllDtmfDigits) {
    for (const double total : {-25.0, -20.0, -10.0, -5.0, 0.0}) {
      const std::vector<DtmfEvent> events = DetectDtmf(Digit(digit, 100, PerTone(total), PerTone(total)));
      ASSERT_TRUE(DetectedOnce(events, digit)) << total;
      // Edges: the tone runs from sample 400 to 1200.
      EXPECT_NEAR(static_cast<double>(events[0].sample), 400.0, 60.0) << digit << " " << total;
      EXPECT_NEAR(static_cast<double>(events[1].sample), 1200.0, 60.0) << digit << " " << total;
    }
  }
}

TEST(DtmfDetectorTest, ThroughG711) {
  for (const bool ulaw : {true, false}) {
    for (const char digit : kAllDtmfDigits) {
      for (const double total : {-25.0, 0.0}) {
        Signal s = Digit(digit, 60, PerTone(total), PerTone(total));
        for (int16_t& v : s) v = ulaw ? DecodeUlaw(EncodeUlaw(v)) : DecodeAlaw(EncodeAlaw(v));
        EXPECT_TRUE(DetectedOnce(DetectDtmf(s), digit)) << (ulaw ? "mu-law " : "A-law ") << total;
      }
    }
  }
}

TEST(DtmfDetectorTest, TwistWithinLimitsAcceptedBeyondRejected) {
  // Twist = high - low. Limits: +8 dB normal, -4 dB reverse.
  for (const char digit : kAllDtmfDigits) {
    for (const double twist : {-3.5, -2.0, 0.0, 4.0, 7.5}) {
      EXPECT_TRUE(DetectedOnce(DetectDtmf(Digit(digit, 80, -12, -12 + twist)), digit)) << twist;
    }
    for (const double twist : {-6.0, -10.0, 10.0, 14.0}) {
      EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 80, -12, -12 + twist))), "") << digit << " " << twist;
    }
  }
}

TEST(DtmfDetectorTest, MinimumLevelPerTone) {
  for (const char digit : kAllDtmfDigits) {
    EXPECT_TRUE(DetectedOnce(DetectDtmf(Digit(digit, 80, -28, -28)), digit));
    EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 80, -33, -33))), "") << digit;
    EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 80, -20, -33))), "") << digit;  // one tone too weak
  }
}

TEST(DtmfDetectorTest, FrequencyDeviationAcceptedWithin1_5PercentRejectedBeyond3_5) {
  for (const char digit : kAllDtmfDigits) {
    for (const double level : {-25.0, -10.0}) {
      for (const double dev : {-0.015, 0.015}) {
        EXPECT_TRUE(DetectedOnce(DetectDtmf(Digit(digit, 80, level, level, dev)), digit))
            << dev << " " << level;
      }
      for (const double dev : {-0.035, 0.035, -0.05, 0.05}) {
        EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 80, level, level, dev))), "")
            << digit << " " << dev << " " << level;
      }
    }
  }
}

TEST(DtmfDetectorTest, OneToneOffFrequencyIsRejected) {
  for (const char digit : kAllDtmfDigits) {
    const DtmfFrequencies f = *DtmfDigitFrequencies(digit);
    for (const double dev : {-0.035, 0.035}) {
      Signal low_off = Silence(50);
      Append(low_off, DualTone(f.low_hz * (1 + dev), -10, f.high_hz, -10, 80));
      Append(low_off, Silence(100));
      EXPECT_EQ(StartedDigits(DetectDtmf(low_off)), "") << digit << " low " << dev;
      Signal high_off = Silence(50);
      Append(high_off, DualTone(f.low_hz, -10, f.high_hz * (1 + dev), -10, 80));
      Append(high_off, Silence(100));
      EXPECT_EQ(StartedDigits(DetectDtmf(high_off)), "") << digit << " high " << dev;
    }
  }
}

TEST(DtmfDetectorTest, DurationAccepted40MsRejected20Ms) {
  // Every alignment of the tone against the 53-sample hop.
  for (const char digit : {'1', '5', '9', '#', 'D'}) {
    for (size_t lead = 0; lead < static_cast<size_t>(DtmfDetector::kHop); lead += 4) {
      EXPECT_TRUE(DetectedOnce(DetectDtmf(Digit(digit, 40, -10, -10, 0.0, 200 + lead)), digit)) << lead;
      EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 20, -10, -10, 0.0, 200 + lead))), "") << digit << lead;
      EXPECT_EQ(StartedDigits(DetectDtmf(Digit(digit, 23, -10, -10, 0.0, 200 + lead))), "") << digit << lead;
    }
  }
}

TEST(DtmfDetectorTest, FortyMsPausesSeparateDigits) {
  for (size_t lead = 0; lead < static_cast<size_t>(DtmfDetector::kHop); lead += 5) {
    Signal s(lead, 0);
    for (const char digit : kAllDtmfDigits) {
      const DtmfFrequencies f = *DtmfDigitFrequencies(digit);
      Append(s, DualTone(f.low_hz, -10, f.high_hz, -10, 40));
      Append(s, Silence(40));
    }
    // The same digit twice: only the pause tells them apart.
    Append(s, DualTone(697, -10, 1209, -10, 40));
    Append(s, Silence(40));
    Append(s, DualTone(697, -10, 1209, -10, 40));
    Append(s, Silence(100));
    const std::vector<DtmfEvent> events = DetectDtmf(s);
    EXPECT_EQ(StartedDigits(events), std::string(kAllDtmfDigits) + "11") << lead;
    EXPECT_EQ(events.size(), 2 * (kAllDtmfDigits.size() + 2)) << lead;
  }
}

TEST(DtmfDetectorTest, ShortDropoutDoesNotSplitADigit) {
  Signal s = Silence(50);
  Append(s, DualTone(852, -10, 1477, -10, 100));
  Append(s, Silence(5));
  Append(s, DualTone(852, -10, 1477, -10, 100));
  Append(s, Silence(100));
  EXPECT_TRUE(DetectedOnce(DetectDtmf(s), '9'));
}

TEST(DtmfDetectorTest, DetectedInNoiseAt15DbSnr) {
  // Digit pair at -10 dBm0 total, white noise at -25 dBm0 over the whole band.
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Signal s = Silence(60);
    for (const char digit : kAllDtmfDigits) {
      const DtmfFrequencies f = *DtmfDigitFrequencies(digit);
      Append(s, DualTone(f.low_hz, PerTone(-10), f.high_hz, PerTone(-10), 50));
      Append(s, Silence(50));
    }
    testing::MixInto(s, testing::WhiteNoise(static_cast<double>(s.size()) / 8.0, -25, seed));
    EXPECT_EQ(StartedDigits(DetectDtmf(s)), kAllDtmfDigits) << seed;
  }
}

TEST(DtmfDetectorTest, GeneratorSequenceRoundTrips) {
  DtmfGenerator g;  // defaults: 80 ms on / 80 ms off, -9 dBm0 low, +2 dB twist
  const std::string digits = "0123456789*#ABCD5551234";
  ASSERT_TRUE(g.Queue(digits));
  Signal s(Ms(80 * 2 * digits.size() + 200));
  g.Generate(s);
  EXPECT_EQ(StartedDigits(DetectDtmf(s)), digits);
}

TEST(DtmfDetectorTest, FrameSizeDoesNotMatter) {
  DtmfGenerator g(DtmfGeneratorConfig{.on_ms = 45, .off_ms = 45});
  ASSERT_TRUE(g.Queue("147*2580369#"));
  Signal s(Ms(1200));
  g.Generate(s);
  DtmfDetector reference;
  const std::vector<DtmfEvent> expected = DetectDtmf(s, reference, 80);
  ASSERT_EQ(StartedDigits(expected), "147*2580369#");
  for (const size_t frame : {1u, 8u, 53u, 106u, 160u, 1000u}) {
    DtmfDetector d;
    const std::vector<DtmfEvent> got = DetectDtmf(s, d, frame);
    ASSERT_EQ(got.size(), expected.size()) << frame;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].digit, expected[i].digit);
      EXPECT_EQ(got[i].type, expected[i].type);
      EXPECT_EQ(got[i].sample, expected[i].sample);
    }
  }
}

TEST(DtmfDetectorTest, SecondHarmonicsRejectTheWindow) {
  // The pair plus both second harmonics at -12 dB: still 94% of the power in the pair
  // (the signal-ratio check passes), but not a pure DTMF pair.
  for (const char digit : {'1', '6', '#', 'D'}) {
    const DtmfFrequencies f = *DtmfDigitFrequencies(digit);
    Signal s = DualTone(f.low_hz, -10, f.high_hz, -10, 100);
    testing::MixInto(s, DualTone(2 * f.low_hz, -22, 2 * f.high_hz, -22, 100));
    Append(s, Silence(100));
    EXPECT_EQ(StartedDigits(DetectDtmf(s)), "") << digit;
  }
}

TEST(DtmfDetectorTest, TwoTonesInOneGroupAreRejected) {
  Signal s = DualTone(697, -12, 1336, -10, 100);
  testing::MixInto(s, testing::Tone(ToneSpec::Single(852, -13), 100));
  Append(s, Silence(100));
  EXPECT_EQ(StartedDigits(DetectDtmf(s)), "");
}

TEST(DtmfDetectorTest, NoTalkOffOnNoiseSpeechMusicAndSweeps) {
  DtmfDetector d;
  std::vector<DtmfEvent> events;
  auto run = [&](const Signal& s, const char* what) {
    events = DetectDtmf(s, d);
    EXPECT_EQ(StartedDigits(events), "") << what;
  };
  run(testing::WhiteNoise(20000, -10, 7), "noise -10 dBm0");
  run(testing::WhiteNoise(10000, -30, 8), "noise -30 dBm0");
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    run(testing::SpeechLike(10000, -12, seed), "speech-like");  // 60 s in all
  }
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    run(testing::MusicLike(10000, -10, seed), "music-like");  // 30 s
  }
  // Single sweeps through both groups.
  for (const double ms : {500.0, 2000.0, 5000.0}) {
    run(testing::Chirp(300, 3400, ms, -10), "chirp up");
    run(testing::Chirp(3400, 300, ms, -10), "chirp down");
  }
  // Pairs of sweeps, one through each group at the same time, so that they cross
  // digit pairs together: at >= 1.1 kHz/s no pair is steady long enough. (Slower than
  // ~0.7 kHz/s a swept pair stays within 2.5% of a digit for over 40 ms: a digit.)
  for (const double ms : {150.0, 300.0}) {
    for (const double shift : {0.0, 10.0, 20.0, 30.0, 40.0, 50.0}) {
      Signal up = testing::Chirp(650, 1000, ms, -13);
      testing::MixInto(up, testing::Chirp(1150 + shift, 1700 + shift, ms, -13));
      run(up, "chirp pair");
      Signal opposite = testing::Chirp(1000, 650, ms, -13);
      testing::MixInto(opposite, testing::Chirp(1150 + shift, 1700 + shift, ms, -13));
      run(opposite, "chirp pair, opposite directions");
    }
  }
  // Random three-tone chords anywhere in the voice band.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> hz(300.0, 3400.0);
  Signal chords;
  for (int i = 0; i < 200; ++i) {
    Signal c = testing::Tone(
        ToneSpec::Dual(static_cast<float>(hz(rng)), -14, static_cast<float>(hz(rng)), -14), 100);
    testing::MixInto(c, testing::Tone(ToneSpec::Single(static_cast<float>(hz(rng)), -14), 100));
    Append(chords, c);
  }
  run(chords, "three-tone chords");
  EXPECT_EQ(d.stats().digits, 0u);
}

TEST(DtmfDetectorTest, SpeechDoesNotMaskOrDelayDigitsAfterIt) {
  Signal s = testing::SpeechLike(3000, -15, 11);
  Append(s, Silence(50));
  Append(s, DualTone(770, -10, 1209, -10, 60));
  Append(s, Silence(100));
  EXPECT_EQ(StartedDigits(DetectDtmf(s)), "4");
}

TEST(DtmfDetectorTest, EventsBeyondTheSpanAreCounted) {
  DtmfDetector d;
  const Signal s = Digit('7', 60, -10, -10);
  std::array<DtmfEvent, 0> none;
  for (size_t i = 0; i < s.size(); i += 80) {
    EXPECT_EQ(d.Process(std::span(s).subspan(i, std::min<size_t>(80, s.size() - i)), none), 0u);
  }
  EXPECT_EQ(d.stats().digits, 1u);
  EXPECT_EQ(d.stats().events_dropped, 2u);
  EXPECT_EQ(d.digit(), 0);
}

TEST(DtmfDetectorTest, DigitIsVisibleWhilePresentAndResetClears) {
  DtmfDetector d;
  const Signal tone = DualTone(941, -10, 1633, -10, 200);
  std::array<DtmfEvent, 4> out;
  size_t starts = 0;
  for (size_t i = 0; i < tone.size(); i += 80) starts += d.Process(std::span(tone).subspan(i, 80), out);
  EXPECT_EQ(starts, 1u);
  EXPECT_EQ(d.digit(), 'D');
  EXPECT_EQ(d.last_window().digit, 'D');
  d.Reset();
  EXPECT_EQ(d.digit(), 0);
  EXPECT_EQ(d.stats().windows, 0u);
}

}  // namespace
}  // namespace linegate::media::dsp
