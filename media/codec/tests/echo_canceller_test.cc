#include "media/codec/echo_canceller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "media/codec/tests/malloc_counter.h"
#include "media/dsp/g711.h"
#include "media/dsp/levels.h"
#include "media/dsp/test_signals.h"
#include "media/dsp/tone_analyser.h"

// The hybrid impulse responses of ITU-T G.168 Annex D (models D.2..D.9), as shipped
// with spandsp: used here only as test data for the echo path.
// spandsp's headers need <stdint.h> first, then telephony.h (SPAN_DECLARE), then the
// module header.
// clang-format off
#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g168models.h>
// clang-format on

namespace linegate::media::codec {
namespace {

using dsp::testing::Signal;

constexpr size_t kFrame = 80;
constexpr size_t kStep = 800;  // ERLE windows start every 100 ms

struct HybridModel {
  const char* name;
  std::span<const int32_t> taps;
};
const HybridModel kD2{"D.2", line_model_d2_coeffs};
const HybridModel kD4{"D.4", line_model_d4_coeffs};
const HybridModel kD5{"D.5", line_model_d5_coeffs};
const HybridModel kD8{"D.8", line_model_d8_coeffs};

struct EchoPath {
  double delay_ms;
  HybridModel model;
  double erl_db;  // echo return loss: far-end power over echo power
};

std::string Describe(const EchoPath& p) {
  char text[96];
  std::snprintf(text, sizeof(text), "%.0f ms + G.168 %s, ERL %.0f dB", p.delay_ms, p.model.name, p.erl_db);
  return text;
}

// The echo the line returns for `far`: bulk delay, then the hybrid's dispersive
// response, scaled so that the echo is exactly erl_db below the far end.
Signal Echo(const Signal& far, const EchoPath& path) {
  const size_t delay = static_cast<size_t>(path.delay_ms * 8.0);
  std::vector<double> echo(far.size(), 0.0);
  for (size_t i = delay; i < far.size(); ++i) {
    double acc = 0.0;
    for (size_t k = 0; k < path.model.taps.size() && k + delay <= i; ++k) {
      acc += path.model.taps[k] * static_cast<double>(far[i - delay - k]);
    }
    echo[i] = acc;
  }
  double far_power = 0, echo_power = 0;
  for (size_t i = 0; i < far.size(); ++i) {
    far_power += static_cast<double>(far[i]) * far[i];
    echo_power += echo[i] * echo[i];
  }
  const double scale = std::sqrt(far_power / echo_power * std::pow(10.0, -path.erl_db / 10.0));
  Signal out(far.size());
  for (size_t i = 0; i < far.size(); ++i) out[i] = dsp::testing::Clip(echo[i] * scale);
  return out;
}

Signal Ulaw(const Signal& s) {
  std::vector<uint8_t> coded(s.size());
  dsp::EncodeUlaw(s, coded);
  Signal out(s.size());
  dsp::DecodeUlaw(coded, out);
  return out;
}

EchoCanceller NewCanceller(int tail_ms = 64) {
  auto ec = EchoCanceller::Create({.tail_ms = tail_ms, .frame_samples = kFrame});
  EXPECT_TRUE(ec.ok()) << (ec.ok() ? "" : ec.error());
  return std::move(ec.value());
}

Signal Cancel(EchoCanceller& ec, const Signal& far, const Signal& near) {
  Signal out(near.size());
  for (size_t i = 0; i + kFrame <= near.size(); i += kFrame) {
    EXPECT_TRUE(ec.Process(std::span(far).subspan(i, kFrame), std::span(near).subspan(i, kFrame),
                           std::span(out).subspan(i, kFrame)));
  }
  return out;
}

double Power(std::span<const int16_t> s) {
  double sum = 0;
  for (const int16_t v : s) sum += static_cast<double>(v) * v;
  return sum / std::max<size_t>(s.size(), 1);
}

double RatioDb(double a, double b) { return 10.0 * std::log10(a / std::max(b, 1e-3)); }

// ERLE (echo power over residual power) of `window`-sample windows every 100 ms.
std::vector<double> ErlePerWindow(const Signal& echo, const Signal& out, size_t window) {
  std::vector<double> erle;
  for (size_t i = 0; i + window <= echo.size(); i += kStep) {
    erle.push_back(
        RatioDb(Power(std::span(echo).subspan(i, window)), Power(std::span(out).subspan(i, window))));
  }
  return erle;
}

struct Convergence {
  // End of the first 500 ms window at >= 20 dB ERLE after which every 500 ms window
  // (in 100 ms steps) is too; -1 if none.
  double seconds_to_20db = -1;
  double steady_erle_db = 0;  // over the last 2 s
  double worst_100ms_db = 0;  // worst 100 ms window after convergence
};

Convergence Measure(const Signal& echo, const Signal& out) {
  constexpr size_t kHalfSecond = 4000;
  const std::vector<double> erle = ErlePerWindow(echo, out, kHalfSecond);
  Convergence c;
  size_t first = erle.size();
  while (first > 0 && erle[first - 1] >= 20.0) --first;
  if (first < erle.size()) {
    c.seconds_to_20db = static_cast<double>(first * kStep + kHalfSecond) / 8000.0;
    const std::vector<double> short_erle = ErlePerWindow(echo, out, kStep);
    const size_t from = (first * kStep + kHalfSecond) / kStep;
    c.worst_100ms_db =
        *std::min_element(short_erle.begin() + static_cast<std::ptrdiff_t>(from), short_erle.end());
  }
  const size_t tail = 16000;
  c.steady_erle_db = RatioDb(Power(std::span(echo).last(tail)), Power(std::span(out).last(tail)));
  return c;
}

// --- Convergence and ERLE over a set of echo paths ----------------------------------------

struct EchoCase {
  EchoPath path;
  bool speech_far_end;
};

class EchoPathTest : public ::testing::TestWithParam<EchoCase> {};

const EchoCase kEchoCases[] = {
    {{8, kD2, 6}, false},   {{8, kD2, 6}, true},    {{20, kD4, 12}, false}, {{20, kD4, 12}, true},
    {{40, kD5, 20}, false}, {{40, kD5, 20}, true},  {{40, kD8, 6}, false},  {{40, kD8, 6}, true},
    {{30, kD2, 10}, true},  {{12, kD8, 15}, false},
};
INSTANTIATE_TEST_SUITE_P(Paths, EchoPathTest, ::testing::ValuesIn(kEchoCases), [](const auto& test_info) {
  return "case" + std::to_string(test_info.index) + (test_info.param.speech_far_end ? "_speech" : "_noise");
});

// A converged canceller removes at least 20 dB of echo, within 2 s.
TEST_P(EchoPathTest, ReachesTwentyDbErle) {
  const EchoCase& c = GetParam();
  const Signal far =
      c.speech_far_end ? dsp::testing::SpeechLike(8000, -16, 21) : dsp::testing::WhiteNoise(8000, -16, 21);
  const Signal echo = Echo(far, c.path);
  EchoCanceller ec = NewCanceller();
  const Signal out = Cancel(ec, far, echo);
  const Convergence m = Measure(echo, out);
  std::printf(
      "[ figures  ] %s, %s far end -16 dBm0: 20 dB after %.1f s, steady ERLE %.1f dB, worst 100 ms %.1f dB\n",
      Describe(c.path).c_str(), c.speech_far_end ? "speech-like" : "white-noise", m.seconds_to_20db,
      m.steady_erle_db, m.worst_100ms_db);
  EXPECT_GE(m.seconds_to_20db, 0.0);
  // White noise excites every frequency at once; the speech-like far end is a set of
  // harmonics that only gliding pitch spreads over the band, so it takes longer.
  EXPECT_LE(m.seconds_to_20db, c.speech_far_end ? 4.0 : 1.5);
  EXPECT_GE(m.steady_erle_db, 20.0);
}

// The line side is G.711 in practice: the reference is what we sent (mu-law) and the
// echo comes back through the card's mu-law coder, whose noise bounds the ERLE.
TEST(EchoCancellerTest, ReachesTwentyDbThroughMuLaw) {
  const EchoPath path{20, kD4, 12};
  const Signal far = Ulaw(dsp::testing::SpeechLike(8000, -16, 31));
  const Signal echo_linear = Echo(far, path);
  const Signal echo = Ulaw(echo_linear);
  EchoCanceller ec = NewCanceller();
  const Signal out = Cancel(ec, far, echo);
  const Convergence m = Measure(echo, out);
  std::printf("[ figures  ] %s through mu-law both ways: 20 dB after %.1f s, steady ERLE %.1f dB\n",
              Describe(path).c_str(), m.seconds_to_20db, m.steady_erle_db);
  EXPECT_GE(m.seconds_to_20db, 0.0);
  EXPECT_LE(m.seconds_to_20db, 4.0);
  EXPECT_GE(m.steady_erle_db, 20.0);
}

// The tail length matters: 100 ms of bulk delay is cancelled with a 128 ms tail and
// not with a 64 ms one.
TEST(EchoCancellerTest, LongTailCoversLongDelay) {
  const EchoPath path{100, kD2, 10};
  const Signal far = dsp::testing::WhiteNoise(8000, -16, 41);
  const Signal echo = Echo(far, path);
  EchoCanceller long_tail = NewCanceller(128);
  EchoCanceller short_tail = NewCanceller(64);
  const Convergence with_128 = Measure(echo, Cancel(long_tail, far, echo));
  const Convergence with_64 = Measure(echo, Cancel(short_tail, far, echo));
  std::printf("[ figures  ] %s: 128 ms tail steady ERLE %.1f dB (20 dB after %.1f s), 64 ms tail %.1f dB\n",
              Describe(path).c_str(), with_128.steady_erle_db, with_128.seconds_to_20db,
              with_64.steady_erle_db);
  EXPECT_GE(with_128.steady_erle_db, 20.0);
  EXPECT_LT(with_64.steady_erle_db, 3.0);
}

// --- Double talk ------------------------------------------------------------------------

// Converged on the far end alone (4 s), then both talk (3 s), then the far end alone
// again (3 s). The near-end talker must come through: compared with the talker alone
// through a canceller (which leaves it changed only by speexdsp's input notch, see
// NearEndResponse), what differs during double talk (residual echo plus any damage
// from adaptation) must be at least 20 dB below the talker and its level within
// 1 dB; and the filter must not have diverged, which the ERLE afterwards shows.
TEST(EchoCancellerTest, DoubleTalkKeepsTheNearEndTalker) {
  const EchoPath path{20, kD4, 6};  // loud echo: 6 dB ERL, the G.168 minimum
  const size_t alone = 32000, both = 24000, after = 24000;
  const size_t total = alone + both + after;
  const Signal far = dsp::testing::SpeechLike(static_cast<double>(total) / 8.0, -16, 51);
  const Signal echo = Echo(far, path);
  Signal talker(total, 0);
  const Signal near_speech = dsp::testing::SpeechLike(static_cast<double>(both) / 8.0, -16, 52);
  std::copy(near_speech.begin(), near_speech.end(), talker.begin() + static_cast<std::ptrdiff_t>(alone));
  Signal line = echo;
  dsp::testing::MixInto(line, talker);

  EchoCanceller ec = NewCanceller();
  const Signal out = Cancel(ec, far, line);
  EchoCanceller talker_only = NewCanceller();
  const Signal talker_through = Cancel(talker_only, Signal(total, 0), talker);

  const auto dt_out = std::span(out).subspan(alone, both);
  const auto dt_talker = std::span(talker_through).subspan(alone, both);
  const auto dt_echo = std::span(echo).subspan(alone, both);
  double difference = 0;
  for (size_t i = 0; i < both; ++i) difference += std::pow(static_cast<double>(dt_out[i]) - dt_talker[i], 2);
  difference /= both;
  const double talker_to_difference = RatioDb(Power(dt_talker), difference);
  const double talker_to_echo =
      RatioDb(Power(dt_talker), Power(dt_echo));  // what the far end hears without us
  const double level_change = dsp::MeasureLevel(dt_out) - dsp::MeasureLevel(dt_talker);
  const double erle_before = RatioDb(Power(std::span(echo).subspan(alone - 16000, 16000)),
                                     Power(std::span(out).subspan(alone - 16000, 16000)));
  const double erle_after = RatioDb(Power(std::span(echo).last(16000)), Power(std::span(out).last(16000)));
  std::printf(
      "[ figures  ] double talk (%s, both -16 dBm0): talker/(out-talker) %.1f dB (%.1f dB without the "
      "canceller), talker level %+.2f dB; ERLE %.1f dB before, %.1f dB in the last 2 s after\n",
      Describe(path).c_str(), talker_to_difference, talker_to_echo, level_change, erle_before, erle_after);
  EXPECT_GE(talker_to_difference, 20.0);
  EXPECT_NEAR(level_change, 0.0, 1.0);
  EXPECT_GE(erle_after, 20.0);
}

// With no far-end signal there is nothing to cancel, and the canceller is a fixed
// filter on the near end: speexdsp's DC notch on its input (pole radius 0.9 at
// 8 kHz), which also takes off low voice frequencies. Voice band (300-3400 Hz,
// G.712) within 0.75 dB; the figures below 300 Hz are printed.
TEST(EchoCancellerTest, NearEndResponse) {
  for (const float hz : {50.0f, 100.0f, 150.0f, 200.0f, 300.0f, 500.0f, 1000.0f, 2000.0f, 3000.0f, 3400.0f}) {
    const Signal tone = dsp::testing::Tone(dsp::ToneSpec::Single(hz, -10), 1000);
    EchoCanceller ec = NewCanceller();
    const Signal out = Cancel(ec, Signal(tone.size(), 0), tone);
    const double gain = dsp::MeasureLevel(std::span(out).subspan(4000)) + 10.0;
    std::printf("[ figures  ] near-end %.0f Hz tone through the canceller: %+.2f dB\n", hz, gain);
    if (hz >= 300.0f) {
      EXPECT_NEAR(gain, 0.0, 0.75) << hz;
    }
    if (hz >= 1000.0f) {
      EXPECT_NEAR(gain, 0.0, 0.1) << hz;
    }
  }
  // Speech-like near end (pitch 90-250 Hz, so partly below the voice band): level.
  const Signal near = dsp::testing::SpeechLike(4000, -16, 61);
  EchoCanceller ec = NewCanceller();
  const Signal out = Cancel(ec, Signal(near.size(), 0), near);
  const double change = dsp::MeasureLevel(out) - dsp::MeasureLevel(near);
  std::printf("[ figures  ] speech-like near end alone through the canceller: %+.2f dB\n", change);
  EXPECT_NEAR(change, 0.0, 1.5);
}

// --- Enable, disable, reset, sizes ------------------------------------------------------

TEST(EchoCancellerTest, DisabledPassesNearEndBitForBit) {
  const Signal far = dsp::testing::WhiteNoise(2000, -16, 71);
  Signal line = Echo(far, {20, kD2, 6});
  dsp::testing::MixInto(line, dsp::testing::Tone(dsp::ToneSpec::Single(2100, -12), 2000));  // CED
  EchoCanceller ec = NewCanceller();
  ec.Disable();
  EXPECT_FALSE(ec.enabled());
  const Signal out = Cancel(ec, far, line);
  EXPECT_EQ(out, line);
  EXPECT_EQ(ec.stats().frames_bypassed, line.size() / kFrame);
  EXPECT_EQ(ec.stats().frames_cancelled, 0u);

  // In place too.
  Signal in_place = line;
  for (size_t i = 0; i < in_place.size(); i += kFrame) {
    const auto frame = std::span(in_place).subspan(i, kFrame);
    ASSERT_TRUE(ec.Process(std::span(far).subspan(i, kFrame), frame, frame));
  }
  EXPECT_EQ(in_place, line);
}

TEST(EchoCancellerTest, ReenabledCancellerConvergesAgain) {
  const EchoPath path{20, kD4, 10};
  const Signal far = dsp::testing::WhiteNoise(6000, -16, 81);
  const Signal echo = Echo(far, path);
  EchoCanceller ec = NewCanceller();
  Signal out = Cancel(ec, far, echo);
  ec.Disable();
  out = Cancel(ec, far, echo);  // the fax call: echo passes
  EXPECT_EQ(out, echo);
  ec.Enable();
  EXPECT_TRUE(ec.enabled());
  out = Cancel(ec, far, echo);
  const Convergence m = Measure(echo, out);
  std::printf("[ figures  ] re-enabled after a disabled period: 20 dB after %.1f s, steady %.1f dB\n",
              m.seconds_to_20db, m.steady_erle_db);
  EXPECT_LE(m.seconds_to_20db, 2.0);
  EXPECT_GE(m.steady_erle_db, 20.0);
}

TEST(EchoCancellerTest, ResetForgetsTheEchoPath) {
  const Signal far = dsp::testing::WhiteNoise(4000, -16, 91);
  const Signal echo = Echo(far, {20, kD4, 10});
  EchoCanceller ec = NewCanceller();
  (void)Cancel(ec, far, echo);
  ec.Reset();
  // The first 100 ms after a reset cancel (almost) nothing.
  const Signal out = Cancel(ec, std::vector<int16_t>(far.begin(), far.begin() + 800),
                            std::vector<int16_t>(echo.begin(), echo.begin() + 800));
  EXPECT_LT(RatioDb(Power(std::span(echo).first(800)), Power(out)), 6.0);
}

TEST(EchoCancellerTest, InPlaceEqualsSeparateBuffers) {
  const Signal far = dsp::testing::SpeechLike(2000, -16, 101);
  Signal line = Echo(far, {8, kD8, 6});
  dsp::testing::MixInto(line, dsp::testing::SpeechLike(2000, -20, 102));
  EchoCanceller a = NewCanceller();
  EchoCanceller b = NewCanceller();
  const Signal separate = Cancel(a, far, line);
  Signal in_place = line;
  for (size_t i = 0; i < in_place.size(); i += kFrame) {
    const auto frame = std::span(in_place).subspan(i, kFrame);
    ASSERT_TRUE(b.Process(std::span(far).subspan(i, kFrame), frame, frame));
  }
  EXPECT_EQ(in_place, separate);
}

TEST(EchoCancellerTest, WrongSizesAreRefused) {
  EchoCanceller ec = NewCanceller();
  std::vector<int16_t> far(kFrame, 100), near(kFrame, 200), out(kFrame, 7);
  EXPECT_FALSE(ec.Process(std::span(far).first(79), near, out));
  EXPECT_FALSE(ec.Process(far, std::span(near).first(40), out));
  std::vector<int16_t> long_out(kFrame + 1, 7);
  EXPECT_FALSE(ec.Process(far, near, long_out));
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](int16_t v) { return v == 7; }));
  EXPECT_EQ(ec.stats().frames_refused, 3u);
  EXPECT_TRUE(ec.Process(far, near, out));
  EXPECT_EQ(ec.stats().frames_cancelled, 1u);
}

TEST(EchoCancellerTest, CreateRejectsBadConfiguration) {
  auto ec = EchoCanceller::Create({.tail_ms = 4});
  ASSERT_FALSE(ec.ok());
  EXPECT_EQ(ec.error(), "echo canceller: tail_ms 4 outside 8..128");
  ec = EchoCanceller::Create({.tail_ms = 129});
  ASSERT_FALSE(ec.ok());
  EXPECT_EQ(ec.error(), "echo canceller: tail_ms 129 outside 8..128");
  ec = EchoCanceller::Create({.tail_ms = 64, .frame_samples = 0});
  ASSERT_FALSE(ec.ok());
  EXPECT_EQ(ec.error(), "echo canceller: frame_samples 0 outside 8..320");
  ec = EchoCanceller::Create({.tail_ms = 64, .frame_samples = 400});
  ASSERT_FALSE(ec.ok());
  EXPECT_EQ(ec.error(), "echo canceller: frame_samples 400 outside 8..320");
  ec = EchoCanceller::Create({.tail_ms = 128, .frame_samples = 160});
  ASSERT_TRUE(ec.ok());
  EXPECT_EQ(ec->config().tail_ms, 128);
  EXPECT_EQ(ec->config().frame_samples, 160u);
  EXPECT_TRUE(ec->enabled());
}

TEST(EchoCancellerTest, ProcessDoesNotAllocate) {
  if (!testing::MallocCountingAvailable())
    GTEST_SKIP() << "malloc interposition unavailable (sanitizer build)";
  const Signal far = dsp::testing::SpeechLike(1000, -16, 111);
  const Signal echo = Echo(far, {20, kD4, 10});
  EchoCanceller ec = NewCanceller(128);
  Signal out(far.size());
  uint64_t allocations = 0;
  {
    testing::MallocCounter counter;
    for (size_t i = 0; i + kFrame <= far.size(); i += kFrame) {
      if (i == 4000) ec.Reset();
      if (i == 5600) ec.Disable();
      if (i == 6400) ec.Enable();
      ec.Process(std::span(far).subspan(i, kFrame), std::span(echo).subspan(i, kFrame),
                 std::span(out).subspan(i, kFrame));
    }
    allocations = counter.allocations();
  }
  EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace linegate::media::codec
