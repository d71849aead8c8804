#include "media/rtp/plc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "media/rtp/tests/test_support.h"

namespace linegate::media::rtp {
namespace {

using testing::MeanSquare;
using testing::Voiced;

// Feeds `ms` of the voiced signal in 10 ms frames; returns the next sample index.
size_t FeedGood(PacketLossConcealer& plc, size_t start, size_t samples, double f0 = 125.0) {
  for (size_t at = start; at < start + samples; at += 80) {
    std::vector<int16_t> frame = Voiced(at, 80, f0);
    plc.OnGoodFrame(frame);
  }
  return start + samples;
}

TEST(PacketLossConcealer, NoHistoryGivesSilence) {
  PacketLossConcealer plc;
  std::vector<int16_t> out(80, 123);
  EXPECT_FALSE(plc.Conceal(out));
  EXPECT_EQ(out, std::vector<int16_t>(80, 0));
}

TEST(PacketLossConcealer, FindsThePitchPeriod) {
  for (double f0 : {100.0, 125.0, 160.0, 200.0}) {
    PacketLossConcealer plc;
    FeedGood(plc, 0, 400, f0);
    std::vector<int16_t> out(80);
    ASSERT_TRUE(plc.Conceal(out));
    EXPECT_NEAR(static_cast<double>(plc.pitch()), 8000.0 / f0, 1.0) << f0;
  }
}

TEST(PacketLossConcealer, FirstLostFrameContinuesTheSignal) {
  PacketLossConcealer plc;
  const size_t at = FeedGood(plc, 0, 400);
  const std::vector<int16_t> last_good = Voiced(at - 80, 80);
  std::vector<int16_t> out(80);
  ASSERT_TRUE(plc.Conceal(out));
  // Not zeros: about the level of the speech it replaces (within 2 dB).
  const double original = MeanSquare(Voiced(at, 80).data(), 80);
  const double concealed = MeanSquare(out.data(), 80);
  EXPECT_NEAR(10 * std::log10(concealed / original), 0.0, 2.0);
  // For a periodic signal the repetition is close to what was lost: correlation > 0.9.
  const std::vector<int16_t> truth = Voiced(at, 80);
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < 80; ++i) {
    xy += static_cast<double>(out[i]) * truth[i];
    xx += static_cast<double>(out[i]) * out[i];
    yy += static_cast<double>(truth[i]) * truth[i];
  }
  EXPECT_GT(xy / std::sqrt(xx * yy), 0.9);
  // No step at the join: the first synthetic sample is as close to the last real one
  // as consecutive real samples ever are.
  int max_step = 0;
  for (size_t i = 1; i < 80; ++i) max_step = std::max(max_step, std::abs(last_good[i] - last_good[i - 1]));
  EXPECT_LE(std::abs(out[0] - last_good[79]), max_step);
}

TEST(PacketLossConcealer, NonIntegerPeriodStillJoinsSmoothly) {
  // 130 Hz: 61.5 samples per period, so plain repetition would leave a step.
  PacketLossConcealer plc;
  const size_t at = FeedGood(plc, 0, 400, 130.0);
  const std::vector<int16_t> last_good = Voiced(at - 80, 80, 130.0);
  std::vector<int16_t> out(160);
  ASSERT_TRUE(plc.Conceal(out));
  int max_step = 0;
  for (size_t i = 1; i < 80; ++i) max_step = std::max(max_step, std::abs(last_good[i] - last_good[i - 1]));
  EXPECT_LE(std::abs(out[0] - last_good[79]), max_step);
  // And at every period wrap inside the synthetic signal.
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LE(std::abs(out[i] - out[i - 1]), 2 * max_step) << i;
}

TEST(PacketLossConcealer, EnergyDecaysOverConsecutiveLossesThenSilence) {
  PacketLossConcealer plc;
  FeedGood(plc, 0, 400);
  std::vector<double> energy;
  for (int frame = 0; frame < 8; ++frame) {
    std::vector<int16_t> out(80);
    const bool produced = plc.Conceal(out);
    EXPECT_EQ(produced, frame < 6) << frame;
    energy.push_back(MeanSquare(out.data(), 80));
  }
  EXPECT_GT(energy[0], 1e6);
  for (int frame = 1; frame < 6; ++frame) EXPECT_LT(energy[frame], energy[frame - 1]) << frame;
  // -20 % per 10 ms from the second 10 ms: the sixth frame is at most 20 % amplitude.
  EXPECT_LT(energy[5], energy[0] * 0.2 * 0.2);
  EXPECT_EQ(energy[6], 0.0);
  EXPECT_EQ(energy[7], 0.0);
  EXPECT_EQ(plc.erased_samples(), 640u);
}

TEST(PacketLossConcealer, GoodFrameAfterLossIsBlendedAndErasureEnds) {
  PacketLossConcealer plc;
  size_t at = FeedGood(plc, 0, 400);
  std::vector<int16_t> lost(160);
  ASSERT_TRUE(plc.Conceal(lost));
  at += 160;
  std::vector<int16_t> good = Voiced(at, 80);
  const std::vector<int16_t> original = good;
  plc.OnGoodFrame(good);
  EXPECT_FALSE(plc.in_erasure());
  // The start is a blend (different from the real samples), the end is untouched.
  EXPECT_NE(std::vector<int16_t>(good.begin(), good.begin() + 8),
            std::vector<int16_t>(original.begin(), original.begin() + 8));
  EXPECT_EQ(std::vector<int16_t>(good.begin() + 72, good.end()),
            std::vector<int16_t>(original.begin() + 72, original.end()));
  // The blend starts close to where the synthetic signal left off.
  EXPECT_LT(std::abs(good[0] - lost[159]), 3000);
}

TEST(PacketLossConcealer, BlendSpansShortFrames) {
  PacketLossConcealer plc;
  FeedGood(plc, 0, 400);
  std::vector<int16_t> lost(8);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(plc.Conceal(lost));  // 40 ms lost in 1 ms frames
  // Blend = a quarter period (16) + 4 ms per further 10 ms (3 * 32) = 112 -> capped at
  // 80 samples: ten 1 ms frames.
  for (int i = 0; i < 9; ++i) {
    std::vector<int16_t> good(8, 1000);
    plc.OnGoodFrame(good);
    EXPECT_TRUE(plc.in_erasure()) << i;
  }
  std::vector<int16_t> last_blended(8, 1000);
  plc.OnGoodFrame(last_blended);
  EXPECT_FALSE(plc.in_erasure());
  EXPECT_NE(last_blended, std::vector<int16_t>(8, 1000));
  std::vector<int16_t> clean(8, 1000);
  plc.OnGoodFrame(clean);
  EXPECT_EQ(clean, std::vector<int16_t>(8, 1000));
}

TEST(PacketLossConcealer, ResetForgetsHistory) {
  PacketLossConcealer plc;
  FeedGood(plc, 0, 400);
  plc.Reset();
  std::vector<int16_t> out(80);
  EXPECT_FALSE(plc.Conceal(out));
}

}  // namespace
}  // namespace linegate::media::rtp
