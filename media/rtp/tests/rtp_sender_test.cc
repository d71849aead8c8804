#include "media/rtp/rtp_sender.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/rtp/tests/test_support.h"

namespace linegate::media::rtp {
namespace {

using testing::ScriptedRandom;

struct Sent {
  RtpHeaderView view;
  std::vector<uint8_t> bytes;
};

Sent Send(RtpSender& sender, uint64_t clock, size_t samples, bool spurt = false) {
  Sent s;
  s.bytes.resize(12 + samples);
  const std::vector<uint8_t> payload(samples, 0xFF);
  const size_t n = sender.BuildPacket(clock, payload, spurt, s.bytes);
  EXPECT_EQ(n, 12 + samples);
  EXPECT_EQ(ParseRtpHeader(s.bytes, s.view), RtpParseStatus::kOk);
  return s;
}

TEST(RtpSender, RandomStartAndSampleClockTimestamps) {
  ScriptedRandom random({0x11223344, 0x0001FFFE, 0xFFFFFF00});
  RtpSender sender({.payload_type = 8}, random);
  EXPECT_EQ(sender.ssrc(), 0x11223344u);
  EXPECT_EQ(sender.next_sequence(), 0xFFFE);  // low 16 bits of the draw
  EXPECT_EQ(sender.timestamp_offset(), 0xFFFFFF00u);

  Sent a = Send(sender, 0, 160);
  EXPECT_EQ(a.view.ssrc, 0x11223344u);
  EXPECT_EQ(a.view.payload_type, 8);
  EXPECT_EQ(a.view.sequence, 0xFFFE);
  EXPECT_EQ(a.view.timestamp, 0xFFFFFF00u);
  EXPECT_TRUE(a.view.marker) << "first packet of the session starts a talk spurt";

  Sent b = Send(sender, 160, 160);
  EXPECT_EQ(b.view.sequence, 0xFFFF);
  EXPECT_EQ(b.view.timestamp, 0xFFFFFFA0u);
  EXPECT_FALSE(b.view.marker);

  Sent c = Send(sender, 320, 160);
  EXPECT_EQ(c.view.sequence, 0x0000) << "sequence wraps modulo 2^16";
  EXPECT_EQ(c.view.timestamp, 0x00000040u) << "timestamp wraps modulo 2^32";
  EXPECT_FALSE(c.view.marker);

  EXPECT_EQ(sender.packet_count(), 3u);
  EXPECT_EQ(sender.octet_count(), 480u);
  EXPECT_EQ(sender.RtpTimestamp(480), 0xFFFFFF00u + 480u);
}

TEST(RtpSender, MarkerOnTalkSpurtStart) {
  ScriptedRandom random({1, 100, 5000});
  RtpSender sender({}, random);
  EXPECT_TRUE(Send(sender, 0, 160).view.marker);
  EXPECT_FALSE(Send(sender, 160, 160).view.marker);
  // Silence suppressed for 1 s: the sample clock jumps, so the packet starts a spurt.
  Sent resumed = Send(sender, 8320, 160);
  EXPECT_TRUE(resumed.view.marker);
  EXPECT_EQ(resumed.view.timestamp, 5000u + 8320u);
  EXPECT_FALSE(Send(sender, 8480, 160).view.marker);
  // The caller's VAD says a spurt starts even without a gap.
  EXPECT_TRUE(Send(sender, 8640, 160, true).view.marker);
}

TEST(RtpSender, ShortBufferConsumesNothing) {
  ScriptedRandom random({1, 100, 5000});
  RtpSender sender({}, random);
  std::vector<uint8_t> small(12 + 159);
  const std::vector<uint8_t> payload(160, 0xFF);
  EXPECT_EQ(sender.BuildPacket(0, payload, false, small), 0u);
  EXPECT_EQ(sender.next_sequence(), 100);
  EXPECT_EQ(sender.packet_count(), 0u);
  EXPECT_FALSE(sender.has_sent());
}

TEST(RtpSender, NonAudioPacketSharesTheStreamAndTheNextAudioStartsASpurt) {
  ScriptedRandom random({0xAABBCCDD, 500, 7000});
  RtpSender sender({.payload_type = 0}, random);
  Send(sender, 0, 160);
  Send(sender, 160, 160);
  // A telephone-event (RFC 4733) whose timestamp is the event's start, not the send time.
  const std::vector<uint8_t> event = {5, 0x0A, 0x00, 0xA0};
  std::vector<uint8_t> bytes(12 + 4);
  ASSERT_EQ(sender.BuildNonAudioPacket(101, 200, true, event, bytes), 16u);
  RtpHeaderView view;
  ASSERT_EQ(ParseRtpHeader(bytes, view), RtpParseStatus::kOk);
  EXPECT_EQ(view.payload_type, 101);
  EXPECT_EQ(view.ssrc, 0xAABBCCDDu);
  EXPECT_EQ(view.sequence, 502);
  EXPECT_EQ(view.timestamp, 7200u);
  EXPECT_TRUE(view.marker);
  EXPECT_EQ(std::vector<uint8_t>(view.payload.begin(), view.payload.end()), event);
  ASSERT_EQ(sender.BuildNonAudioPacket(101, 200, false, event, bytes), 16u);
  EXPECT_EQ(sender.packet_count(), 4u);
  EXPECT_EQ(sender.octet_count(), 2u * 160u + 2u * 4u);

  std::vector<uint8_t> small(12 + 3);
  EXPECT_EQ(sender.BuildNonAudioPacket(101, 200, false, event, small), 0u);
  EXPECT_EQ(sender.next_sequence(), 504) << "a short buffer consumes nothing";

  // Audio that follows on from the last audio packet still starts a talk spurt: the
  // events replaced audio in between.
  Sent resumed = Send(sender, 320, 160);
  EXPECT_EQ(resumed.view.sequence, 504);
  EXPECT_TRUE(resumed.view.marker);
  EXPECT_FALSE(Send(sender, 480, 160).view.marker);
}

TEST(RtpSender, SsrcChangeDrawsADifferentSsrcAndResetsCounts) {
  ScriptedRandom random({7, 1, 2, 7, 9});  // the second 7 must be redrawn
  RtpSender sender({}, random);
  Send(sender, 0, 160);
  sender.ChangeSsrc();
  EXPECT_EQ(sender.ssrc(), 9u);
  EXPECT_EQ(sender.packet_count(), 0u);
  EXPECT_EQ(sender.octet_count(), 0u);
  EXPECT_EQ(Send(sender, 160, 160).view.ssrc, 9u);
}

}  // namespace
}  // namespace linegate::media::rtp
