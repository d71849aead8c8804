#include "bench/rtp_load_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace linegate::bench {
namespace {

constexpr int64_t kPacketNs = 20'000'000;  // 20 ms
constexpr uint32_t kPacketUnits = 160;     // 20 ms at 8 kHz

// Packet n of a stream that starts at sequence `first_seq`, sent every 20 ms and
// arriving `delay_ns` after its send time.
struct Feeder {
  ReceiveStats stats;
  uint32_t ssrc = 0x1234;
  uint16_t first_seq = 0;
  uint32_t first_ts = 0;

  void Packet(int n, int64_t delay_ns = 0) {
    RtpHeader header;
    header.ssrc = ssrc;
    header.sequence = static_cast<uint16_t>(first_seq + n);
    header.timestamp = first_ts + static_cast<uint32_t>(n) * kPacketUnits;
    stats.OnPacket(header, 1'000'000'000 + int64_t{n} * kPacketNs + delay_ns);
  }
};

TEST(ReceiveStatsTest, InOrderStreamHasNoLossAndNoJitter) {
  Feeder feed;
  for (int n = 0; n < 100; ++n) feed.Packet(n);
  EXPECT_EQ(feed.stats.received(), 100u);
  EXPECT_EQ(feed.stats.expected(), 100u);
  EXPECT_EQ(feed.stats.lost(), 0);
  EXPECT_DOUBLE_EQ(feed.stats.jitter_ms(), 0.0);
  EXPECT_EQ(feed.stats.reordered(), 0u);
}

TEST(ReceiveStatsTest, GapIsCountedAsLoss) {
  Feeder feed;
  for (int n = 0; n < 50; ++n) {
    if (n >= 10 && n < 13) continue;
    feed.Packet(n);
  }
  EXPECT_EQ(feed.stats.received(), 47u);
  EXPECT_EQ(feed.stats.expected(), 50u);
  EXPECT_EQ(feed.stats.lost(), 3);
}

TEST(ReceiveStatsTest, SequenceWrapKeepsCounting) {
  Feeder feed;
  feed.first_seq = 65530;
  for (int n = 0; n < 20; ++n) {
    if (n == 8) continue;  // sequence 2, after the wrap
    feed.Packet(n);
  }
  EXPECT_EQ(feed.stats.expected(), 20u);
  EXPECT_EQ(feed.stats.lost(), 1);
  // Several wraps.
  Feeder longer;
  longer.first_seq = 100;
  for (int n = 0; n < 3 * 65536 + 10; ++n) longer.Packet(n);
  EXPECT_EQ(longer.stats.expected(), 3u * 65536 + 10);
  EXPECT_EQ(longer.stats.lost(), 0);
}

TEST(ReceiveStatsTest, ReorderedPacketIsNotLost) {
  Feeder feed;
  for (int n : {0, 1, 3, 2, 4, 5}) feed.Packet(n);
  EXPECT_EQ(feed.stats.received(), 6u);
  EXPECT_EQ(feed.stats.lost(), 0);
  EXPECT_EQ(feed.stats.reordered(), 1u);
}

TEST(ReceiveStatsTest, DuplicateMakesLossNegative) {
  Feeder feed;
  for (int n : {0, 1, 2, 2, 3}) feed.Packet(n);
  EXPECT_EQ(feed.stats.received(), 5u);
  EXPECT_EQ(feed.stats.expected(), 4u);
  EXPECT_EQ(feed.stats.lost(), -1);
  EXPECT_EQ(feed.stats.duplicates(), 1u);
}

TEST(ReceiveStatsTest, JitterFollowsRfc3550Estimator) {
  Feeder feed;
  // Transit 0, +10 ms, 0: |D| = 80 units twice.
  feed.Packet(0);
  feed.Packet(1, 10'000'000);
  EXPECT_DOUBLE_EQ(feed.stats.jitter_units(), 80.0 / 16);
  feed.Packet(2);
  const double expected = 5.0 + (80.0 - 5.0) / 16;
  EXPECT_DOUBLE_EQ(feed.stats.jitter_units(), expected);
  EXPECT_DOUBLE_EQ(feed.stats.jitter_ms(), expected / 8);
  // A long run of alternating delays converges on |D| = 80 units (10 ms).
  for (int n = 3; n < 400; ++n) feed.Packet(n, n % 2 ? 10'000'000 : 0);
  EXPECT_NEAR(feed.stats.jitter_ms(), 10.0, 0.01);
  EXPECT_NEAR(feed.stats.peak_jitter_ms(), 10.0, 0.01);
  // Steady arrivals bring it back down; the peak stays.
  for (int n = 400; n < 600; ++n) feed.Packet(n, 10'000'000);
  EXPECT_LT(feed.stats.jitter_ms(), 0.01);
  EXPECT_NEAR(feed.stats.peak_jitter_ms(), 10.0, 0.01);
}

TEST(ReceiveStatsTest, TimestampWrapDoesNotMakeJitter) {
  Feeder feed;
  feed.first_ts = 0xffffffffu - 3 * kPacketUnits;
  for (int n = 0; n < 10; ++n) feed.Packet(n);
  EXPECT_DOUBLE_EQ(feed.stats.jitter_ms(), 0.0);
}

TEST(ReceiveStatsTest, NewSsrcStartsANewSourceAndKeepsTotals) {
  Feeder feed;
  for (int n = 0; n < 10; ++n) {
    if (n == 4) continue;
    feed.Packet(n);
  }
  feed.ssrc = 0x9999;
  feed.first_seq = 40000;
  for (int n = 0; n < 10; ++n) feed.Packet(n);
  EXPECT_EQ(feed.stats.ssrc_changes(), 1u);
  EXPECT_EQ(feed.stats.received(), 19u);
  EXPECT_EQ(feed.stats.expected(), 20u);
  EXPECT_EQ(feed.stats.lost(), 1);
  EXPECT_EQ(feed.stats.ssrc(), 0x9999u);
}

TEST(ReceiveStatsTest, StrayPacketIsIgnoredAndTwoInARowResync) {
  Feeder feed;
  for (int n = 0; n < 10; ++n) feed.Packet(n);
  RtpHeader stray;
  stray.ssrc = feed.ssrc;
  stray.sequence = 30000;
  feed.stats.OnPacket(stray, 5'000'000'000);
  EXPECT_EQ(feed.stats.stray(), 1u);
  EXPECT_EQ(feed.stats.received(), 10u);
  EXPECT_EQ(feed.stats.lost(), 0);
  // The source restarted at 30000: the next one confirms it.
  stray.sequence = 30001;
  feed.stats.OnPacket(stray, 5'020'000'000);
  EXPECT_EQ(feed.stats.resyncs(), 1u);
  EXPECT_EQ(feed.stats.received(), 11u);
  EXPECT_EQ(feed.stats.expected(), 11u);
}

TEST(RtpHeaderTest, RoundTripAndClassification) {
  uint8_t packet[kRtpHeaderBytes + 4] = {};
  WriteRtpHeader(packet, RtpHeader{8, true, 0xabcd, 0x01020304, 0xdeadbeef});
  RtpHeader header;
  ASSERT_EQ(ParseRtpHeader(packet, sizeof(packet), header), PacketKind::kRtp);
  EXPECT_EQ(header.payload_type, 8);
  EXPECT_TRUE(header.marker);
  EXPECT_EQ(header.sequence, 0xabcd);
  EXPECT_EQ(header.timestamp, 0x01020304u);
  EXPECT_EQ(header.ssrc, 0xdeadbeefu);
  EXPECT_EQ(ParseRtpHeader(packet, 11, header), PacketKind::kInvalid);
  packet[0] = 0x40;  // version 1
  EXPECT_EQ(ParseRtpHeader(packet, sizeof(packet), header), PacketKind::kInvalid);
  packet[0] = 0x81;
  packet[1] = 200;  // RTCP sender report
  EXPECT_EQ(ParseRtpHeader(packet, sizeof(packet), header), PacketKind::kRtcp);
  packet[1] = 0;
  packet[0] = 0x82;  // two CSRCs do not fit in 16 bytes
  EXPECT_EQ(ParseRtpHeader(packet, sizeof(packet), header), PacketKind::kInvalid);
}

TEST(G711Test, SilenceCodes) {
  EXPECT_EQ(MulawEncode(0), 0xff);
  EXPECT_EQ(AlawEncode(0), 0xd5);
  EXPECT_EQ(MulawDecode(0xff), 0);
  // The extremes: the top of segment 7.
  EXPECT_EQ(MulawEncode(32767), 0x80);
  EXPECT_EQ(MulawEncode(-32768), 0x00);
  EXPECT_EQ(AlawEncode(32767), 0xaa);
  EXPECT_EQ(AlawEncode(-32768), 0x2a);
}

TEST(G711Test, RoundTripIsWithinHalfAStep) {
  for (int sample = -32768; sample <= 32767; sample += 7) {
    const auto s = static_cast<int16_t>(sample);
    const int mu = MulawDecode(MulawEncode(s));
    const int a = AlawDecode(AlawEncode(s));
    // Steps are at most 1/16 of the magnitude (plus the smallest step near zero).
    const int tolerance = std::abs(sample) / 16 + 16;
    ASSERT_LE(std::abs(mu - std::clamp(sample, -32635, 32635)), tolerance) << sample;
    ASSERT_LE(std::abs(a - sample), tolerance) << sample;
  }
  // Sign and ordering.
  EXPECT_GT(MulawDecode(MulawEncode(1000)), 0);
  EXPECT_LT(MulawDecode(MulawEncode(-1000)), 0);
  EXPECT_GT(AlawDecode(AlawEncode(1000)), 0);
  EXPECT_LT(AlawDecode(AlawEncode(-1000)), 0);
}

}  // namespace
}  // namespace linegate::bench
