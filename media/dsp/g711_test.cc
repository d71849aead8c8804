#include "media/dsp/g711.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "media/dsp/levels.h"
#include "media/dsp/oscillator.h"
#include "media/dsp/tone_analyser.h"

namespace linegate::media::dsp {
namespace {

// Positive codes in increasing order of value: mu-law 0xFF (+0) .. 0x80 (max);
// A-law sign bit 1 with the even bits inverted.
uint8_t UlawPositive(int k) { return static_cast<uint8_t>(0xFF - k); }
uint8_t UlawNegative(int k) { return static_cast<uint8_t>(0x7F - k); }
uint8_t AlawPositive(int k) { return static_cast<uint8_t>((0x80 | k) ^ 0x55); }
uint8_t AlawNegative(int k) { return static_cast<uint8_t>(k ^ 0x55); }

// Half the width of the decision interval containing magnitude m (16-bit units).
int UlawHalfStep(int m) {
  const int biased = m / 4 + 33;  // 14-bit, biased
  int segment = 0;
  while (segment < 7 && biased >= (64 << segment)) ++segment;
  return 4 << segment;
}
int AlawHalfStep(int m) {
  const int m13 = m / 8;
  int segment = 0;
  while (segment < 7 && m13 >= (32 << segment)) ++segment;
  return segment <= 1 ? 8 : 8 << (segment - 1);
}

TEST(G711Test, KnownValuesFromTheRecommendation) {
  // Mu-law (Table 2a): 0xFF and 0x7F are the two zeros; 0x80 / 0x00 the extremes
  // (8031 in 14-bit units = 32124); segment 1 starts with 33 (= 132).
  EXPECT_EQ(DecodeUlaw(0xFF), 0);
  EXPECT_EQ(DecodeUlaw(0x7F), 0);
  EXPECT_EQ(DecodeUlaw(0x80), 32124);
  EXPECT_EQ(DecodeUlaw(0x00), -32124);
  EXPECT_EQ(DecodeUlaw(0xFE), 8);
  EXPECT_EQ(DecodeUlaw(0xEF), 132);
  EXPECT_EQ(DecodeUlaw(0x6F), -132);
  // A-law (Table 1a): 0xD5 / 0x55 are +-1 in 13-bit units (+-8); 0xAA / 0x2A the
  // extremes (4032 = 32256); segment 1 starts with 33 (= 264).
  EXPECT_EQ(DecodeAlaw(0xD5), 8);
  EXPECT_EQ(DecodeAlaw(0x55), -8);
  EXPECT_EQ(DecodeAlaw(0xAA), 32256);
  EXPECT_EQ(DecodeAlaw(0x2A), -32256);
  EXPECT_EQ(DecodeAlaw(0xC5), 264);
  EXPECT_EQ(EncodeUlaw(0), 0xFF);
  EXPECT_EQ(EncodeAlaw(0), 0xD5);
  EXPECT_EQ(EncodeAlaw(-1), 0x55);
  EXPECT_EQ(EncodeUlaw(32767), 0x80);
  EXPECT_EQ(EncodeUlaw(-32768), 0x00);
  EXPECT_EQ(EncodeAlaw(32767), 0xAA);
  EXPECT_EQ(EncodeAlaw(-32768), 0x2A);
}

TEST(G711Test, FastPathMatchesReferenceForEveryInput) {
  for (int c = 0; c < 256; ++c) {
    ASSERT_EQ(DecodeUlaw(static_cast<uint8_t>(c)), ReferenceDecodeUlaw(static_cast<uint8_t>(c))) << c;
    ASSERT_EQ(DecodeAlaw(static_cast<uint8_t>(c)), ReferenceDecodeAlaw(static_cast<uint8_t>(c))) << c;
  }
  for (int x = -32768; x <= 32767; ++x) {
    const auto s = static_cast<int16_t>(x);
    ASSERT_EQ(EncodeUlaw(s), ReferenceEncodeUlaw(s)) << x;
    ASSERT_EQ(EncodeAlaw(s), ReferenceEncodeAlaw(s)) << x;
  }
}

TEST(G711Test, EveryCodeReencodesToItself) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    // The one exception: mu-law negative zero re-encodes as positive zero.
    EXPECT_EQ(EncodeUlaw(DecodeUlaw(code)), code == 0x7F ? 0xFF : code) << c;
    EXPECT_EQ(EncodeAlaw(DecodeAlaw(code)), code) << c;
  }
}

TEST(G711Test, DecodingIsStrictlyMonotonic) {
  for (int k = 1; k < 128; ++k) {
    EXPECT_GT(DecodeUlaw(UlawPositive(k)), DecodeUlaw(UlawPositive(k - 1))) << k;
    EXPECT_LT(DecodeUlaw(UlawNegative(k)), DecodeUlaw(UlawNegative(k - 1))) << k;
    EXPECT_GT(DecodeAlaw(AlawPositive(k)), DecodeAlaw(AlawPositive(k - 1))) << k;
    EXPECT_LT(DecodeAlaw(AlawNegative(k)), DecodeAlaw(AlawNegative(k - 1))) << k;
  }
  for (int k = 0; k < 128; ++k) {  // symmetric laws
    EXPECT_EQ(DecodeUlaw(UlawNegative(k)), -DecodeUlaw(UlawPositive(k)));
    EXPECT_EQ(DecodeAlaw(AlawNegative(k)), -DecodeAlaw(AlawPositive(k)));
  }
}

TEST(G711Test, EncodingIsMonotonicAndWithinHalfAStep) {
  int previous_u = -40000;
  int previous_a = -40000;
  for (int x = -32768; x <= 32767; ++x) {
    const auto s = static_cast<int16_t>(x);
    const int u = DecodeUlaw(EncodeUlaw(s));
    const int a = DecodeAlaw(EncodeAlaw(s));
    ASSERT_GE(u, previous_u) << x;
    ASSERT_GE(a, previous_a) << x;
    previous_u = u;
    previous_a = a;
    const int m = std::min(std::abs(x), 32767);
    // Mu-law overloads above 32635 (8158 in 14-bit units): the error grows to at most
    // 32767 - 32124 (+1 for -32768). A-law's top interval reaches full scale.
    if (m <= 32635) {
      ASSERT_LE(std::abs(u - x), UlawHalfStep(m)) << x;
    } else {
      ASSERT_EQ(std::abs(u), 32124) << x;
    }
    ASSERT_LE(std::abs(a - x), AlawHalfStep(m) + (x == -32768 ? 1 : 0)) << x;
  }
}

TEST(G711Test, DigitalMilliwattIsZeroDbm0) {
  // G.711 Tables 5 and 6: the digital milliwatt, eight codes of a 1 kHz sine.
  const std::array<uint8_t, 8> ulaw = {0x1E, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E};
  const std::array<uint8_t, 8> alaw = {0x34, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4};
  std::vector<int16_t> u;
  std::vector<int16_t> a;
  for (int rep = 0; rep < 1000; ++rep) {
    for (int i = 0; i < 8; ++i) {
      u.push_back(DecodeUlaw(ulaw[i]));
      a.push_back(DecodeAlaw(alaw[i]));
    }
  }
  EXPECT_NEAR(MeasureLevel(a), 0.0, 0.01);
  EXPECT_NEAR(MeasureLevel(u), 0.0, 0.1);  // -0.07: mu-law's load capacity is 3.17 dB
  const ToneAnalysis tone = AnalyseTone(u);
  EXPECT_NEAR(tone.frequency_hz, 1000.0, 0.5);
  EXPECT_GT(tone.purity, 0.99);
}

TEST(G711Test, SineSnrMeetsCompandingExpectation) {
  // A -10 dBm0 1004 Hz sine through either law keeps a signal-to-quantisation-noise
  // ratio near the theoretical ~38 dB of 8-bit logarithmic PCM.
  std::vector<int16_t> x(8000);
  ToneGenerator(ToneSpec::Single(1004, -10)).Generate(x);
  for (const bool ulaw : {true, false}) {
    double signal = 0;
    double noise = 0;
    for (const int16_t s : x) {
      const int16_t y = ulaw ? DecodeUlaw(EncodeUlaw(s)) : DecodeAlaw(EncodeAlaw(s));
      signal += static_cast<double>(s) * s;
      noise += double(y - s) * (y - s);
    }
    EXPECT_GT(10 * std::log10(signal / noise), 36.0) << (ulaw ? "mu-law" : "A-law");
  }
}

TEST(G711Test, LawConversionStaysWithinHalfAStepOfTheTargetLaw) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    const int from_u = DecodeUlaw(code);
    const int to_a = DecodeAlaw(UlawToAlaw(code));
    EXPECT_LE(std::abs(to_a - from_u), AlawHalfStep(std::abs(from_u))) << c;
    const int from_a = DecodeAlaw(code);
    const int to_u = DecodeUlaw(AlawToUlaw(code));
    // Mu-law cannot represent A-law's top values (32124 < 32256).
    EXPECT_LE(std::abs(to_u - from_a), std::max(UlawHalfStep(std::abs(from_a)), std::abs(from_a) - 32124))
        << c;
  }
  EXPECT_EQ(UlawToAlaw(0x80), 0xAA);  // 32124 lies in A-law's top interval
  EXPECT_EQ(AlawToUlaw(0xD5), 0xFE);  // +8 exists in mu-law: exact
  EXPECT_EQ(UlawToAlaw(0xFF), 0xD5);  // 0 -> +8, A-law has no zero
}

TEST(G711Test, BufferFunctionsMatchScalarAndTranscodeInPlace) {
  std::array<int16_t, 160> linear;
  for (size_t i = 0; i < linear.size(); ++i) linear[i] = static_cast<int16_t>((i * 7919) % 65536 - 32768);
  std::array<uint8_t, 160> u;
  std::array<uint8_t, 160> a;
  EncodeUlaw(linear, u);
  EncodeAlaw(linear, a);
  std::array<int16_t, 160> du;
  std::array<int16_t, 160> da;
  DecodeUlaw(u, du);
  DecodeAlaw(a, da);
  for (size_t i = 0; i < linear.size(); ++i) {
    EXPECT_EQ(u[i], EncodeUlaw(linear[i]));
    EXPECT_EQ(a[i], EncodeAlaw(linear[i]));
    EXPECT_EQ(du[i], DecodeUlaw(u[i]));
    EXPECT_EQ(da[i], DecodeAlaw(a[i]));
  }
  std::array<uint8_t, 160> in_place = u;
  UlawToAlaw(in_place, in_place);
  for (size_t i = 0; i < u.size(); ++i) EXPECT_EQ(in_place[i], UlawToAlaw(u[i]));
  in_place = a;
  AlawToUlaw(in_place, in_place);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(in_place[i], AlawToUlaw(a[i]));
  // Empty frames are fine.
  EncodeUlaw(std::span<const int16_t>(), std::span<uint8_t>());
}

TEST(G711DeathTest, ShortOutputAborts) {
  std::array<uint8_t, 80> in{};
  std::array<int16_t, 79> out{};
  EXPECT_DEATH(DecodeUlaw(in, out), "");
}

}  // namespace
}  // namespace linegate::media::dsp
