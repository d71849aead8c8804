#include "media/rtp/receive_stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <vector>

namespace linegate::media::rtp {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kSsrc = 0x1234;

// Feeds packets with timestamps 160 * seq and arrival == timestamp (no jitter).
SequenceVerdict Feed(ReceiveStatistics& stats, uint16_t seq, uint32_t ssrc = kSsrc) {
  return stats.OnPacketAt(ssrc, seq, 160u * seq, 160u * seq);
}

TEST(ReceiveStatistics, NewSourceNeedsTwoSequentialPackets) {
  ReceiveStatistics stats;
  EXPECT_EQ(Feed(stats, 100), SequenceVerdict::kProbation);
  EXPECT_FALSE(stats.valid());
  EXPECT_FALSE(stats.MakeReportBlock(TimePoint()).has_value());
  EXPECT_EQ(Feed(stats, 101), SequenceVerdict::kValid);
  EXPECT_TRUE(stats.valid());
  // A.1: the packet that ends probation re-initialises: it is the base and counts once.
  EXPECT_EQ(stats.base_sequence(), 101u);
  EXPECT_EQ(stats.received(), 1u);
  EXPECT_EQ(stats.expected(), 1u);
}

TEST(ReceiveStatistics, ProbationRestartsOnANonSequentialPacket) {
  ReceiveStatistics stats;
  EXPECT_EQ(Feed(stats, 100), SequenceVerdict::kProbation);
  EXPECT_EQ(Feed(stats, 300), SequenceVerdict::kProbation);  // probation = MIN_SEQUENTIAL - 1
  EXPECT_EQ(Feed(stats, 301), SequenceVerdict::kValid);
  EXPECT_EQ(stats.base_sequence(), 301u);
  EXPECT_EQ(stats.probation_packets(), 2u);
}

TEST(ReceiveStatistics, SequenceWrapCountsCycles) {
  ReceiveStatistics stats;
  Feed(stats, 65534);
  ASSERT_EQ(Feed(stats, 65535), SequenceVerdict::kValid);
  for (uint16_t s : {0, 1, 2}) EXPECT_EQ(Feed(stats, s), SequenceVerdict::kValid);
  EXPECT_EQ(stats.cycles(), 1u);
  EXPECT_EQ(stats.extended_highest_sequence(), 65536u + 2u);
  // A.3: expected = extended max - base + 1 = 65538 - 65535 + 1.
  EXPECT_EQ(stats.expected(), 4u);
  EXPECT_EQ(stats.received(), 4u);
  EXPECT_EQ(stats.cumulative_lost(), 0);
}

TEST(ReceiveStatistics, LostAndFractionLostPerInterval) {
  ReceiveStatistics stats;
  Feed(stats, 10);
  for (uint16_t s = 11; s <= 20; ++s) {
    if (s != 15 && s != 16) Feed(stats, s);
  }
  // expected = 20 - 11 + 1 = 10, received 8: lost 2, fraction 2 * 256 / 10 = 51.
  std::optional<ReportBlock> first = stats.MakeReportBlock(TimePoint());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->ssrc, kSsrc);
  EXPECT_EQ(first->extended_highest_sequence, 20u);
  EXPECT_EQ(first->cumulative_lost, 2);
  EXPECT_EQ(first->fraction_lost, 51);
  EXPECT_EQ(first->lsr, 0u);
  EXPECT_EQ(first->dlsr, 0u);

  // Next interval: 21..30 all arrive: fraction 0, cumulative still 2.
  for (uint16_t s = 21; s <= 30; ++s) Feed(stats, s);
  std::optional<ReportBlock> second = stats.MakeReportBlock(TimePoint());
  EXPECT_EQ(second->fraction_lost, 0);
  EXPECT_EQ(second->cumulative_lost, 2);

  // 31, a duplicate of 30, 32: expected 2, received 3. A.3: lost may go negative, the
  // fraction is then 0.
  EXPECT_EQ(Feed(stats, 31), SequenceVerdict::kValid);
  EXPECT_EQ(Feed(stats, 30), SequenceVerdict::kReordered);
  EXPECT_EQ(Feed(stats, 32), SequenceVerdict::kValid);
  std::optional<ReportBlock> third = stats.MakeReportBlock(TimePoint());
  EXPECT_EQ(third->fraction_lost, 0);
  EXPECT_EQ(third->cumulative_lost, 1);

  // 33..40 with 34..37 lost: expected 8, received 4 -> 128 (half).
  for (uint16_t s : {33, 38, 39, 40}) Feed(stats, s);
  EXPECT_EQ(stats.MakeReportBlock(TimePoint())->fraction_lost, 128);
  // No packets at all in an interval: expected_interval 0 -> fraction 0.
  EXPECT_EQ(stats.MakeReportBlock(TimePoint())->fraction_lost, 0);
}

TEST(ReceiveStatistics, ReorderedPacketsAreCountedWithoutMovingTheHighest) {
  ReceiveStatistics stats;
  Feed(stats, 199);
  for (uint16_t s = 200; s <= 210; ++s) Feed(stats, s);
  EXPECT_EQ(Feed(stats, 205), SequenceVerdict::kReordered);
  EXPECT_EQ(stats.extended_highest_sequence(), 210u);
  EXPECT_EQ(stats.reordered_packets(), 1u);
  // 213 after a gap (211 and 212 lost) is in order with a permissible gap.
  EXPECT_EQ(Feed(stats, 213), SequenceVerdict::kValid);
  EXPECT_EQ(stats.expected(), 14u);
  EXPECT_EQ(stats.received(), 13u);  // 11 + the duplicate 205 + 213
  EXPECT_EQ(stats.cumulative_lost(), 1);
}

TEST(ReceiveStatistics, LargeJumpNeedsConfirmationThenResyncs) {
  ReceiveStatistics stats;
  for (uint16_t s = 999; s <= 1010; ++s) Feed(stats, s);
  ASSERT_EQ(stats.received(), 11u);
  // A single stray far ahead is dropped; the stream carries on.
  EXPECT_EQ(Feed(stats, 5000), SequenceVerdict::kBadSequence);
  EXPECT_EQ(Feed(stats, 1011), SequenceVerdict::kValid);
  EXPECT_EQ(stats.received(), 12u);
  // More than MAX_MISORDER behind is treated like a jump too (A.1).
  EXPECT_EQ(Feed(stats, 800), SequenceVerdict::kBadSequence);
  // The sender restarted: two sequential packets at the new place resync.
  EXPECT_EQ(Feed(stats, 40000), SequenceVerdict::kBadSequence);
  EXPECT_EQ(Feed(stats, 40001), SequenceVerdict::kRestarted);
  EXPECT_EQ(stats.base_sequence(), 40001u);
  EXPECT_EQ(stats.received(), 1u);
  EXPECT_EQ(stats.expected(), 1u);
  EXPECT_EQ(stats.restarts(), 1u);
  EXPECT_EQ(stats.bad_sequence_packets(), 3u);
  // Up to MAX_DROPOUT - 1 ahead is a gap, not a jump.
  EXPECT_EQ(Feed(stats, static_cast<uint16_t>(40001 + 2999)), SequenceVerdict::kValid);
  EXPECT_EQ(stats.cumulative_lost(), 2998);
}

TEST(ReceiveStatistics, SsrcChangeRestartsOnProbation) {
  ReceiveStatistics stats;
  for (uint16_t s = 1; s <= 5; ++s) Feed(stats, s);
  EXPECT_EQ(Feed(stats, 9000, 0x9999), SequenceVerdict::kNewSource);
  EXPECT_EQ(stats.ssrc_changes(), 1u);
  EXPECT_EQ(stats.ssrc(), 0x9999u);
  EXPECT_FALSE(stats.valid());
  EXPECT_EQ(Feed(stats, 9001, 0x9999), SequenceVerdict::kValid);
  EXPECT_EQ(stats.received(), 1u);
  EXPECT_EQ(stats.base_sequence(), 9001u);
}

TEST(ReceiveStatistics, CumulativeLostIsClampedTo24BitsSigned) {
  ReceiveStatistics stats;
  uint16_t seq = 0;
  Feed(stats, seq);
  Feed(stats, ++seq);
  // Gaps of 2999 (the largest that is not a jump), 2800 times: 8.4 M lost.
  for (int i = 0; i < 2800; ++i) {
    seq = static_cast<uint16_t>(seq + 2999);
    ASSERT_EQ(Feed(stats, seq), SequenceVerdict::kValid);
  }
  EXPECT_EQ(stats.cumulative_lost(), 0x7FFFFF);

  ReceiveStatistics dup;
  Feed(dup, 0);
  Feed(dup, 1);
  for (int i = 0; i < 0x900000; ++i) dup.OnPacketAt(kSsrc, 1, 160, 160);  // duplicates
  EXPECT_EQ(dup.cumulative_lost(), -0x800000);
}

// RFC 3550 A.8 in floating point, as the reference for the integer version.
double ReferenceJitter(const std::vector<uint32_t>& timestamps, const std::vector<uint32_t>& arrivals) {
  double j = 0;
  for (size_t i = 1; i < timestamps.size(); ++i) {
    // Differences modulo 2^32, as the timestamps wrap.
    const double d = static_cast<double>(static_cast<int32_t>(arrivals[i] - arrivals[i - 1])) -
                     static_cast<double>(static_cast<int32_t>(timestamps[i] - timestamps[i - 1]));
    j += (std::abs(d) - j) / 16.0;
  }
  return j;
}

TEST(ReceiveStatistics, JitterHandComputed) {
  ReceiveStatistics stats;
  stats.OnPacketAt(kSsrc, 0, 0, 1000);    // probation: no jitter sample
  stats.OnPacketAt(kSsrc, 1, 160, 1160);  // transit 1000
  stats.OnPacketAt(kSsrc, 2, 320, 1320);  // D = 0
  EXPECT_EQ(stats.jitter(), 0u);
  stats.OnPacketAt(kSsrc, 3, 480, 1512);  // transit 1032: D = 32, J = 32/16 = 2
  EXPECT_EQ(stats.jitter(), 2u);
  stats.OnPacketAt(kSsrc, 4, 640, 1640);  // transit 1000: D = 32, J = 2 + (32 - 2)/16 = 3.875
  EXPECT_EQ(stats.jitter(), 3u);
}

TEST(ReceiveStatistics, JitterMatchesTheRfcFormulaOnASyntheticPattern) {
  // 20 ms packets; the network adds 0, 5, 12, 3, 30, 0, 8 ... ms in a repeating pattern.
  const uint32_t extra_ms[] = {0, 5, 12, 3, 30, 0, 8, 1, 16, 2};
  std::vector<uint32_t> ts;
  std::vector<uint32_t> arrival;
  ReceiveStatistics stats;
  for (uint32_t i = 0; i < 500; ++i) {
    ts.push_back(0xFFFF0000u + 160 * i);  // the timestamp wraps on the way
    arrival.push_back(7 + 160 * i + 8 * extra_ms[i % 10]);
    stats.OnPacketAt(kSsrc, static_cast<uint16_t>(i), ts.back(), arrival.back());
  }
  // The first packet is on probation, so the reference starts at the second.
  const double expected = ReferenceJitter(std::vector<uint32_t>(ts.begin() + 1, ts.end()),
                                          std::vector<uint32_t>(arrival.begin() + 1, arrival.end()));
  EXPECT_NEAR(static_cast<double>(stats.jitter()), expected, 1.0);
  EXPECT_GT(expected, 40.0);  // the pattern really is jittery
}

TEST(ReceiveStatistics, JitterFromTheInjectedClock) {
  ManualClock clock;
  ReceiveStatistics stats(8000);
  uint16_t seq = 0;
  uint32_t ts = 0;
  for (int i = 0; i < 3; ++i) {
    stats.OnPacket(kSsrc, seq++, ts, clock.Now());
    ts += 160;
    clock.Advance(milliseconds(20));
  }
  EXPECT_EQ(stats.jitter(), 0u);
  clock.Advance(milliseconds(5));  // one packet 5 ms late: D = 40 units
  stats.OnPacket(kSsrc, seq++, ts, clock.Now());
  EXPECT_EQ(stats.jitter(), 2u);  // 40 / 16
  ts += 160;
  clock.Advance(milliseconds(15));  // back on schedule: D = 40 again
  stats.OnPacket(kSsrc, seq++, ts, clock.Now());
  EXPECT_EQ(stats.jitter(), 4u);  // (40 + 40 - 3) / 16 = 77 / 16
}

TEST(ReceiveStatistics, LsrAndDlsrFromTheLastSenderReport) {
  ManualClock clock;
  ReceiveStatistics stats;
  Feed(stats, 1);
  Feed(stats, 2);
  stats.OnSenderReport({0x12345678, 0x9ABC0000}, clock.Now());
  clock.Advance(milliseconds(1500));
  std::optional<ReportBlock> block = stats.MakeReportBlock(clock.Now());
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->lsr, 0x56789ABCu);
  EXPECT_EQ(block->dlsr, 98304u);  // 1.5 * 65536
}

TEST(ReceiveStatistics, TimestampUnitsConversion) {
  EXPECT_EQ(ToTimestampUnits(milliseconds(20), 8000), 160u);
  EXPECT_EQ(ToTimestampUnits(std::chrono::hours(24 * 365), 8000),
            static_cast<uint32_t>(uint64_t{8000} * 3600 * 24 * 365));
  EXPECT_EQ(ToTimestampUnits(-milliseconds(20), 8000), 0u - 160u);
}

TEST(RoundTripTime, Rfc3550Example) {
  // RFC 3550 6.4.1: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s),
  // DLSR = 0x0005:4000 (5.250 s): RTT = 0x0006:2000 (6.125 s).
  std::optional<Duration> rtt = RoundTripTime(0xB7108000, 0xB7052000, 0x00054000);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_EQ(*rtt, milliseconds(6125));
  EXPECT_FALSE(RoundTripTime(0xB7108000, 0, 0x00054000).has_value()) << "no SR received yet";
  EXPECT_FALSE(RoundTripTime(0xB7052000, 0xB7108000, 0).has_value()) << "negative";
  // Across the 2^32 wrap of the compact NTP time.
  EXPECT_EQ(RoundTripTime(0x00010000, 0xFFFF0000, 0x00008000), milliseconds(1500));
}

TEST(NtpTime, CompactAndConversions) {
  EXPECT_EQ((NtpTimestamp{0x0000B710, 0x80000000}).Compact(), 0xB7108000u);
  EXPECT_EQ((NtpTimestamp{0x1234B710, 0x8000FFFF}).Compact(), 0xB7108000u);
  EXPECT_EQ(NtpTimestamp::FromUint64(0x0102030405060708ull).ToUint64(), 0x0102030405060708ull);
  const NtpTimestamp n = NtpFromDuration(std::chrono::seconds(10) + milliseconds(500));
  EXPECT_EQ(n.seconds, 10u);
  EXPECT_EQ(n.fraction, 0x80000000u);
  EXPECT_EQ(ToCompactUnits(milliseconds(250)), 16384u);
  EXPECT_EQ(ToCompactUnits(-milliseconds(1)), 0u);
  EXPECT_EQ(FromCompactUnits(65536), std::chrono::seconds(1));
  const auto unix_epoch = std::chrono::system_clock::time_point();
  EXPECT_EQ(NtpFromSystemClock(unix_epoch).seconds, 2208988800u);
}

}  // namespace
}  // namespace linegate::media::rtp
