#include "media/rtp/telephone_event.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "media/rtp/tests/test_support.h"

namespace linegate::media::rtp {
namespace {

using std::chrono::milliseconds;
using testing::ScriptedRandom;

constexpr uint8_t kEventPt = 101;
constexpr uint32_t kSsrc = 0x0BADCAFE;
constexpr uint32_t kOffset = 0xFFFF0000;  // RTP timestamp offset: event timestamps wrap in some tests

TelephoneEventSender MakeSender(TelephoneEventSenderConfig config = {}) {
  Result<TelephoneEventSender> sender = TelephoneEventSender::Create(config);
  if (!sender.ok()) ADD_FAILURE() << sender.error();
  return std::move(sender).value();
}

// Everything NextPacket hands out at `now`, in order.
std::vector<TelephoneEventPacket> Drain(TelephoneEventSender& sender, uint64_t now) {
  std::vector<TelephoneEventPacket> out;
  while (auto packet = sender.NextPacket(now)) out.push_back(*packet);
  return out;
}

TelephoneEventPayload Block(const TelephoneEventPacket& packet) {
  TelephoneEventPayload block;
  EXPECT_TRUE(ParseTelephoneEventPayload(packet.payload, block));
  return block;
}

// --- Payload format ----------------------------------------------------------------

TEST(TelephoneEventPayload, WritesAndParsesTheRfc4733Layout) {
  std::array<uint8_t, 4> bytes{};
  ASSERT_EQ(WriteTelephoneEventPayload({.event = 11, .end = true, .volume = 10, .duration = 0x0320}, bytes),
            4u);
  EXPECT_EQ(bytes, (std::array<uint8_t, 4>{0x0B, 0x8A, 0x03, 0x20}));  // E=1, R=0, volume 10

  TelephoneEventPayload block;
  // The R bit (0x40) is ignored by receivers (RFC 4733 2.3.3).
  const std::array<uint8_t, 4> with_r{0x10, 0x7F, 0xFF, 0xFF};
  ASSERT_TRUE(ParseTelephoneEventPayload(with_r, block));
  EXPECT_EQ(block.event, 16);
  EXPECT_FALSE(block.end);
  EXPECT_EQ(block.volume, 63);
  EXPECT_EQ(block.duration, 0xFFFF);

  const std::array<uint8_t, 3> short_payload{};
  EXPECT_FALSE(ParseTelephoneEventPayload(short_payload, block));
  std::array<uint8_t, 3> short_out{};
  EXPECT_EQ(WriteTelephoneEventPayload({}, short_out), 0u);
  EXPECT_EQ(WriteTelephoneEventPayload({.volume = 64}, bytes), 0u) << "volume is 6 bits, 0..63";
}

TEST(TelephoneEventPayload, DigitsMapToRfc4734Codes) {
  const std::string digits = "0123456789*#ABCD!";
  for (size_t i = 0; i < digits.size(); ++i) {
    EXPECT_EQ(TelephoneEventForDigit(digits[i]), static_cast<uint8_t>(i)) << digits[i];
    EXPECT_EQ(DigitForTelephoneEvent(static_cast<uint8_t>(i)), digits[i]);
  }
  EXPECT_EQ(TelephoneEventForDigit('c'), 14);
  EXPECT_EQ(TelephoneEventForDigit('E'), std::nullopt);
  EXPECT_EQ(TelephoneEventForDigit(' '), std::nullopt);
  EXPECT_EQ(DigitForTelephoneEvent(32), '\0') << "fax events (RFC 4734 4) have no digit";
}

// --- Sender --------------------------------------------------------------------------

TEST(TelephoneEventSender, RejectsInvalidConfigurations) {
  EXPECT_FALSE(TelephoneEventSender::Create({.update_interval_samples = 0}).ok());
  EXPECT_FALSE(TelephoneEventSender::Create({.volume = 64}).ok());
  EXPECT_FALSE(TelephoneEventSender::Create({.final_packet_count = 0}).ok());
  EXPECT_FALSE(TelephoneEventSender::Create({.payload_type = 128}).ok());
  EXPECT_TRUE(TelephoneEventSender::Create({}).ok());
}

TEST(TelephoneEventSender, DigitIsMarkedUpdatedAndEndedThreeTimes) {
  TelephoneEventSender sender = MakeSender();
  EXPECT_FALSE(sender.sending());
  ASSERT_TRUE(sender.KeyDown(5, 1000));
  EXPECT_TRUE(sender.sending());

  // Polled every 20 ms at the end of the audio sent so far; key up after 100 ms.
  std::vector<TelephoneEventPacket> sent;
  for (uint64_t now = 1120; now <= 1120 + 160 * 8; now += 160) {
    if (now == 1920) {
      ASSERT_TRUE(sender.KeyUp(1800));
    }
    for (const auto& p : Drain(sender, now)) sent.push_back(p);
  }
  // Updates at 1120, 1280, 1440, 1600, 1760; the final at 1920 and two repeats.
  ASSERT_EQ(sent.size(), 8u);
  const std::vector<uint16_t> durations = {120, 280, 440, 600, 760, 800, 800, 800};
  for (size_t i = 0; i < sent.size(); ++i) {
    const TelephoneEventPayload block = Block(sent[i]);
    EXPECT_EQ(sent[i].marker, i == 0) << i;
    EXPECT_EQ(sent[i].timestamp_sample_clock, 1000u) << "one timestamp for the whole event";
    EXPECT_EQ(block.event, 5);
    EXPECT_EQ(block.volume, 10);
    EXPECT_EQ(block.duration, durations[i]) << i;
    EXPECT_EQ(block.end, i >= 5) << i;
  }
  EXPECT_FALSE(sender.sending());
  EXPECT_EQ(sender.stats().events, 1u);
  EXPECT_EQ(sender.stats().packets, 8u);
  EXPECT_EQ(sender.stats().final_packets, 3u);
  EXPECT_TRUE(Drain(sender, 5000).empty());
}

TEST(TelephoneEventSender, UpdateIntervalLongerThanThePollTick) {
  // 50 ms updates, polled every 10 ms.
  TelephoneEventSender sender = MakeSender({.update_interval_samples = 400});
  ASSERT_TRUE(sender.KeyDown(1, 0));
  std::vector<uint64_t> sent_at;
  for (uint64_t now = 80; now <= 2000; now += 80) {
    if (now == 960) {
      ASSERT_TRUE(sender.KeyUp(960));
    }
    for (size_t i = Drain(sender, now).size(); i > 0; --i) sent_at.push_back(now);
  }
  // Updates at 80 (due 0), 400, 800; the final at 960, repeats at 1360, 1760.
  EXPECT_EQ(sent_at, (std::vector<uint64_t>{80, 400, 800, 960, 1360, 1760}));
}

TEST(TelephoneEventSender, KeyUpBeforeAnythingWasSentSendsMarkedFinals) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(kTelephoneEventPound, 0));
  ASSERT_TRUE(sender.KeyUp(80));
  std::vector<TelephoneEventPacket> sent = Drain(sender, 160);
  ASSERT_EQ(sent.size(), 1u) << "repeats are spaced by the interval, not sent together";
  EXPECT_TRUE(sent[0].marker);
  EXPECT_TRUE(Block(sent[0]).end);
  EXPECT_EQ(Block(sent[0]).duration, 80);
  for (uint64_t now : {320u, 480u}) {
    sent = Drain(sender, now);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].marker) << "only the first transmission carries the marker";
    EXPECT_TRUE(Block(sent[0]).end);
  }
  EXPECT_FALSE(sender.sending());
}

TEST(TelephoneEventSender, FlashHasNoVolumeAndVolumeIsPerEvent) {
  TelephoneEventSender sender = MakeSender({.volume = 20});
  ASSERT_TRUE(sender.KeyDown(kTelephoneEventFlash, 0));
  EXPECT_EQ(Block(Drain(sender, 0).at(0)).volume, 0);
  ASSERT_TRUE(sender.KeyDown(3, 800, 7));  // ends the flash at 800
  const auto sent = Drain(sender, 800);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(Block(sent[0]).end);
  EXPECT_EQ(Block(sent[0]).event, kTelephoneEventFlash);
  EXPECT_EQ(Block(sent[1]).event, 3);
  EXPECT_EQ(Block(sent[1]).volume, 7);
  EXPECT_FALSE(sender.KeyDown(3, 900, 64)) << "volume is 0..63";
}

TEST(TelephoneEventSender, NextKeyDownEndsTheRunningEventAndFinalsInterleave) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(1, 0));
  Drain(sender, 160);
  ASSERT_TRUE(sender.KeyDown(2, 240));  // no key-up in between: 1 ends at 240
  EXPECT_EQ(sender.state(), TelephoneEventSender::State::kKeyDown);

  std::vector<std::pair<uint64_t, TelephoneEventPacket>> sent;
  for (uint64_t now = 320; now <= 800; now += 160) {
    for (const auto& p : Drain(sender, now)) sent.emplace_back(now, p);
  }
  // At 320: 1's final (due 240) before 2's first update (due 240); then per tick one
  // repeat of 1's final and one update of 2; at 800 an update alone.
  ASSERT_EQ(sent.size(), 7u);
  EXPECT_EQ(Block(sent[0].second).event, 1);
  EXPECT_TRUE(Block(sent[0].second).end);
  EXPECT_EQ(Block(sent[0].second).duration, 240);
  EXPECT_EQ(Block(sent[1].second).event, 2);
  EXPECT_TRUE(sent[1].second.marker);
  EXPECT_EQ(sent[1].second.timestamp_sample_clock, 240u);
  EXPECT_EQ(Block(sent[1].second).duration, 80);
  int finals_of_1 = 0;
  for (const auto& [now, p] : sent) finals_of_1 += Block(p).event == 1 ? 1 : 0;
  EXPECT_EQ(finals_of_1, 3);
  EXPECT_TRUE(sender.sending());
}

TEST(TelephoneEventSender, RejectsKeyEventsThatGoBackInTime) {
  TelephoneEventSender sender = MakeSender();
  EXPECT_FALSE(sender.KeyUp(100)) << "no key is down";
  ASSERT_TRUE(sender.KeyDown(1, 1000));
  EXPECT_FALSE(sender.KeyUp(999));
  EXPECT_FALSE(sender.KeyDown(2, 1000)) << "same start: same timestamp as the running event";
  ASSERT_TRUE(sender.KeyUp(1000)) << "a zero-length event is legal";
  EXPECT_FALSE(sender.KeyDown(2, 999)) << "before the previous event's end";
  EXPECT_FALSE(sender.KeyDown(2, 1000)) << "the previous event's timestamp";
  EXPECT_TRUE(sender.KeyDown(2, 1001));
  EXPECT_EQ(sender.stats().rejected_key_events, 5u);
}

TEST(TelephoneEventSender, PollBeforeTheKeyDownInstantSendsNothingYet) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(3, 1000));
  EXPECT_FALSE(sender.NextPacket(900).has_value());
  EXPECT_TRUE(sender.sending());
  const auto sent = Drain(sender, 1000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(Block(sent[0]).duration, 0);
  EXPECT_TRUE(sent[0].marker);
}

TEST(TelephoneEventSender, LatePollSkipsMissedUpdatesInsteadOfBursting) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(7, 0));
  ASSERT_EQ(Drain(sender, 160).size(), 1u);
  const auto late = Drain(sender, 1600);  // nine intervals without a poll
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(Block(late[0]).duration, 1600);
  EXPECT_TRUE(Drain(sender, 1700).empty());
  EXPECT_EQ(Drain(sender, 1760).size(), 1u);
}

// 0xFFFF samples is 8.19 s at 8 kHz; a 10 s key is two segments (RFC 4733 2.5.1.3).
TEST(TelephoneEventSender, LongEventIsSentAsSegments) {
  TelephoneEventSender sender = MakeSender();
  const uint64_t start = 500;
  ASSERT_TRUE(sender.KeyDown(0, start));
  std::vector<TelephoneEventPacket> sent;
  for (uint64_t now = 660; now <= start + 80000 + 800; now += 160) {
    if (now - 160 < start + 80000 && now >= start + 80000) {
      ASSERT_TRUE(sender.KeyUp(start + 80000));
    }
    for (const auto& p : Drain(sender, now)) sent.push_back(p);
  }
  std::vector<TelephoneEventPacket> first, second;
  for (const auto& p : sent) (p.timestamp_sample_clock == start ? first : second).push_back(p);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  for (const auto& p : second) EXPECT_EQ(p.timestamp_sample_clock, start + kMaxEventSegmentDuration);

  // First segment: marked, durations never above 0xFFFF, ends with three 0xFFFF finals
  // without E.
  EXPECT_TRUE(first.front().marker);
  uint16_t previous = 0;
  int max_duration_finals = 0;
  for (const auto& p : first) {
    const TelephoneEventPayload block = Block(p);
    EXPECT_FALSE(block.end);
    EXPECT_GE(block.duration, previous);
    previous = block.duration;
    max_duration_finals += block.duration == 0xFFFF ? 1 : 0;
  }
  EXPECT_EQ(max_duration_finals, 3);
  // Second segment: not marked (it is the same event), ends with E three times at the
  // remainder.
  for (const auto& p : second) EXPECT_FALSE(p.marker);
  int ends = 0;
  for (const auto& p : second) {
    if (Block(p).end) {
      ++ends;
      EXPECT_EQ(Block(p).duration, 80000 - kMaxEventSegmentDuration);
    }
  }
  EXPECT_EQ(ends, 3);
  EXPECT_EQ(sender.stats().segments, 1u);
}

TEST(TelephoneEventSender, KeyDownBeforeAnAnnouncedSegmentIsRefused) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(1, 0));
  ASSERT_FALSE(Drain(sender, 70000).empty());  // segment 2 starts at 0xFFFF
  EXPECT_FALSE(sender.KeyDown(2, 60000));
  EXPECT_FALSE(sender.KeyUp(60000));
  ASSERT_TRUE(sender.KeyDown(2, 70000));
  const auto sent = Drain(sender, 70000);
  ASSERT_GE(sent.size(), 2u);
  const TelephoneEventPayload final_block = Block(sent[sent.size() - 2]);
  EXPECT_TRUE(final_block.end);
  EXPECT_EQ(final_block.duration, 70000 - kMaxEventSegmentDuration);
}

TEST(TelephoneEventSender, EventOfExactlyTheMaximumDurationIsOneSegment) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_TRUE(sender.KeyDown(9, 0));
  for (uint64_t now = 160; now < kMaxEventSegmentDuration; now += 160) Drain(sender, now);
  ASSERT_TRUE(sender.KeyUp(kMaxEventSegmentDuration));
  const auto sent = Drain(sender, kMaxEventSegmentDuration + 100);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(Block(sent[0]).end);
  EXPECT_EQ(Block(sent[0]).duration, 0xFFFF);
  EXPECT_EQ(sent[0].timestamp_sample_clock, 0u);
  EXPECT_EQ(sender.stats().segments, 0u);
}

TEST(TelephoneEventSender, SharesSsrcAndSequenceWithAudioWhichIsMarkedAfterwards) {
  ScriptedRandom random({kSsrc, 0xFFFE, kOffset});
  RtpSender rtp({.payload_type = 0}, random);
  TelephoneEventSender sender = MakeSender();
  const std::vector<uint8_t> audio(160, 0xFF);
  std::vector<RtpHeaderView> views;
  std::vector<std::vector<uint8_t>> wire;

  for (uint64_t tick = 0; tick < 20; ++tick) {
    const uint64_t now = (tick + 1) * 160;  // audio [tick*160, now) is ready
    if (tick == 3) {
      ASSERT_TRUE(sender.KeyDown(4, tick * 160));
    }
    if (tick == 8) {
      ASSERT_TRUE(sender.KeyUp(tick * 160));
    }
    std::vector<uint8_t> buffer(200);
    if (sender.sending()) {
      size_t n;
      while ((n = sender.BuildNextPacket(now, rtp, buffer)) > 0)
        wire.emplace_back(buffer.begin(), buffer.begin() + n);
    } else {
      const size_t n = rtp.BuildPacket(tick * 160, audio, false, buffer);
      wire.emplace_back(buffer.begin(), buffer.begin() + n);
    }
  }
  for (const auto& bytes : wire) {
    RtpHeaderView view;
    ASSERT_EQ(ParseRtpHeader(bytes, view), RtpParseStatus::kOk);
    views.push_back(view);
  }
  ASSERT_EQ(views.size(), 3u + 5u + 3u + 9u);  // audio, updates, finals, audio
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].ssrc, kSsrc);
    EXPECT_EQ(views[i].sequence, static_cast<uint16_t>(0xFFFE + i)) << "one sequence space";
    EXPECT_EQ(views[i].payload_type, (i >= 3 && i < 11) ? kEventPt : 0) << i;
  }
  EXPECT_EQ(views[3].timestamp, kOffset + 480) << "the event's start on the audio's clock";
  EXPECT_TRUE(views[3].marker);
  EXPECT_EQ(views[10].timestamp, kOffset + 480);
  EXPECT_TRUE(views[11].marker) << "audio resuming after the event starts a talk spurt";
  EXPECT_FALSE(views[12].marker);
  EXPECT_EQ(rtp.packet_count(), 20u);
  EXPECT_EQ(rtp.octet_count(), 12u * 160u + 8u * 4u);

  std::vector<uint8_t> small(kRtpFixedHeaderSize + 3);
  ASSERT_TRUE(sender.KeyDown(4, 20 * 160));
  EXPECT_EQ(sender.BuildNextPacket(21 * 160, rtp, small), 0u);
  std::vector<uint8_t> enough(TelephoneEventSender::kPacketSize);
  EXPECT_EQ(sender.BuildNextPacket(21 * 160, rtp, enough), TelephoneEventSender::kPacketSize)
      << "the short buffer consumed nothing";
}

// --- Receiver ------------------------------------------------------------------------

// Feeds hand-made packets to a receiver on a manual time line.
class ReceiverHarness {
 public:
  explicit ReceiverHarness(TelephoneEventReceiverConfig config = {}) : receiver_(config) {}

  TelephoneEventVerdict Packet(uint32_t ts, uint8_t event, uint16_t duration, bool end = false,
                               bool marker = false, uint32_t ssrc = kSsrc) {
    std::array<uint8_t, 4> payload{};
    WriteTelephoneEventPayload({.event = event, .end = end, .volume = 10, .duration = duration}, payload);
    return receiver_.OnPacket(ssrc, ts, marker, payload, now_);
  }
  void Advance(milliseconds ms) {
    now_ += ms;
    receiver_.Poll(now_);
  }
  std::vector<TelephoneEventNotice> Notices() {
    std::vector<TelephoneEventNotice> out;
    while (auto notice = receiver_.PopNotice()) out.push_back(*notice);
    return out;
  }
  TelephoneEventReceiver& receiver() { return receiver_; }

 private:
  TelephoneEventReceiver receiver_;
  TimePoint now_{std::chrono::hours(1)};
};

using Verdict = TelephoneEventVerdict;
using Cause = TelephoneEventEndCause;

void ExpectBegin(const TelephoneEventNotice& n, char digit, uint32_t ts, bool marker_seen) {
  EXPECT_EQ(n.edge, TelephoneEventEdge::kBegin);
  EXPECT_EQ(n.digit, digit);
  EXPECT_EQ(n.timestamp, ts);
  EXPECT_EQ(n.marker_seen, marker_seen);
}
void ExpectEnd(const TelephoneEventNotice& n, char digit, uint32_t ts, uint32_t samples, Cause cause) {
  EXPECT_EQ(n.edge, TelephoneEventEdge::kEnd);
  EXPECT_EQ(n.digit, digit);
  EXPECT_EQ(n.timestamp, ts);
  EXPECT_EQ(n.duration_samples, samples);
  EXPECT_EQ(n.duration_ms, samples / 8);
  EXPECT_EQ(n.cause, cause) << TelephoneEventEndCauseName(n.cause);
}

TEST(TelephoneEventReceiver, EventBeginsAndEndsOnceDespiteRepeatedFinals) {
  ReceiverHarness h;
  EXPECT_EQ(h.Packet(8000, 5, 160, false, true), Verdict::kBegan);
  auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 1u);
  ExpectBegin(notices[0], '5', 8000, true);
  EXPECT_EQ(notices[0].duration_samples, 160u);
  EXPECT_EQ(notices[0].volume, 10);

  h.Advance(milliseconds(20));
  EXPECT_EQ(h.Packet(8000, 5, 320), Verdict::kUpdated);
  EXPECT_EQ(h.Packet(8000, 5, 320), Verdict::kDuplicate);
  EXPECT_EQ(h.receiver().state(), TelephoneEventReceiver::State::kActive);
  h.Advance(milliseconds(20));
  EXPECT_EQ(h.Packet(8000, 5, 400, true), Verdict::kEnded);
  EXPECT_EQ(h.Packet(8000, 5, 400, true), Verdict::kDuplicate);
  EXPECT_EQ(h.Packet(8000, 5, 400, true), Verdict::kDuplicate);
  notices = h.Notices();
  ASSERT_EQ(notices.size(), 1u);
  ExpectEnd(notices[0], '5', 8000, 400, Cause::kEndBit);
  h.Advance(milliseconds(1000));
  EXPECT_TRUE(h.Notices().empty()) << "an ended event does not time out again";
  EXPECT_EQ(h.receiver().verdict_count(Verdict::kDuplicate), 3u);
}

TEST(TelephoneEventReceiver, LostMarkerPacketStillBeginsTheEvent) {
  ReceiverHarness h;
  EXPECT_EQ(h.Packet(8000, 2, 320), Verdict::kBegan);  // the marked first packet was lost
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 1u);
  ExpectBegin(notices[0], '2', 8000, false);
  EXPECT_EQ(notices[0].duration_samples, 320u);
}

TEST(TelephoneEventReceiver, EventWhoseFinalsAreAllLostEndsAfterTheTimeout) {
  ReceiverHarness h({.end_timeout = milliseconds(200)});
  h.Packet(8000, 9, 160, false, true);
  h.Advance(milliseconds(20));
  h.Packet(8000, 9, 320);
  h.Advance(milliseconds(20));
  h.Packet(8000, 9, 480);
  h.Notices();
  h.Advance(milliseconds(199));
  EXPECT_EQ(h.receiver().state(), TelephoneEventReceiver::State::kActive);
  EXPECT_TRUE(h.Notices().empty());
  h.Advance(milliseconds(1));
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 1u);
  ExpectEnd(notices[0], '9', 8000, 480, Cause::kTimeout);  // the last duration known
  // A final that arrives after all is a duplicate, not a second event.
  EXPECT_EQ(h.Packet(8000, 9, 640, true), Verdict::kDuplicate);
  EXPECT_TRUE(h.Notices().empty());
}

TEST(TelephoneEventReceiver, OlderUpdatesWithinAnEventAreIgnored) {
  ReceiverHarness h;
  h.Packet(8000, 1, 160, false, true);
  EXPECT_EQ(h.Packet(8000, 1, 480), Verdict::kUpdated);
  EXPECT_EQ(h.Packet(8000, 1, 320), Verdict::kReordered);
  EXPECT_EQ(h.Packet(8000, 1, 640, true), Verdict::kEnded);
  EXPECT_EQ(h.Packet(8000, 1, 560), Verdict::kDuplicate) << "an update overtaken by the final";
  // A final shorter than an update: the sender's key-up came late from its detector.
  h.Packet(16000, 2, 480);
  EXPECT_EQ(h.Packet(16000, 2, 400, true), Verdict::kEnded);
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 4u);
  ExpectEnd(notices[1], '1', 8000, 640, Cause::kEndBit);
  ExpectEnd(notices[3], '2', 16000, 400, Cause::kEndBit);
  EXPECT_EQ(h.receiver().verdict_count(Verdict::kReordered), 1u);
}

TEST(TelephoneEventReceiver, NewTimestampEndsTheRunningEventAndOldPacketsAreStale) {
  ReceiverHarness h;
  h.Packet(8000, 3, 160, false, true);
  h.Packet(8000, 3, 320);
  // 3's finals are all lost (or late); 4 starts.
  EXPECT_EQ(h.Packet(9600, 4, 160, false, true), Verdict::kBegan);
  auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 3u);
  ExpectEnd(notices[1], '3', 8000, 320, Cause::kNextEvent);
  ExpectBegin(notices[2], '4', 9600, true);
  EXPECT_EQ(h.Packet(8000, 3, 640, true), Verdict::kStale) << "3's late final";
  EXPECT_EQ(h.Packet(8000, 3, 480), Verdict::kStale);
  EXPECT_TRUE(h.Notices().empty());
  EXPECT_EQ(h.receiver().state(), TelephoneEventReceiver::State::kActive);
}

TEST(TelephoneEventReceiver, OnlyTheFinalPacketArrivedBeginsAndEnds) {
  ReceiverHarness h;
  EXPECT_EQ(h.Packet(8000, 12, 800, true), Verdict::kBegan);
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 2u);
  ExpectBegin(notices[0], 'A', 8000, false);
  ExpectEnd(notices[1], 'A', 8000, 800, Cause::kEndBit);
}

TEST(TelephoneEventReceiver, BackToBackIdenticalDigitsAreToldApartByTimestamp) {
  ReceiverHarness h;
  // Two '7's: the first loses all its finals, the second its marked packet.
  h.Packet(8000, 7, 160, false, true);
  h.Packet(8000, 7, 320);
  h.Packet(8000 + 800, 7, 160);
  h.Packet(8000 + 800, 7, 400, true);
  h.Packet(8000 + 800, 7, 400, true);
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 4u);
  ExpectBegin(notices[0], '7', 8000, true);
  ExpectEnd(notices[1], '7', 8000, 320, Cause::kNextEvent);
  ExpectBegin(notices[2], '7', 8800, false);
  ExpectEnd(notices[3], '7', 8800, 400, Cause::kEndBit);
}

TEST(TelephoneEventReceiver, LongEventSegmentsAddUp) {
  ReceiverHarness h;
  const uint32_t ts = 0xFFFFF000;  // the second segment's timestamp wraps
  h.Packet(ts, 0, 160, false, true);
  h.Packet(ts, 0, 65000);
  h.Packet(ts, 0, 0xFFFF);
  EXPECT_EQ(h.Packet(ts + 0xFFFF, 0, 160), Verdict::kSegment);
  EXPECT_EQ(h.Packet(ts, 0, 0xFFFF), Verdict::kStale) << "a late repeat of segment 1's final";
  EXPECT_EQ(h.Packet(ts + 0xFFFF, 0, 14465, true), Verdict::kEnded);
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 2u) << "one event, not two";
  ExpectEnd(notices[1], '0', ts, 80000, Cause::kEndBit);
  EXPECT_EQ(notices[1].duration_ms, 10000u);
}

TEST(TelephoneEventReceiver, LongEventSegmentFoundWithoutItsMaximumDurationPackets) {
  ReceiverHarness h;
  h.Packet(1000, 0, 64000, false);
  // Segment 1's 0xFFFF finals all lost; segment 2's first update lost as well.
  EXPECT_EQ(h.Packet(1000 + 0xFFFF, 0, 480), Verdict::kSegment);
  h.Advance(milliseconds(300));
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 2u);
  ExpectEnd(notices[1], '0', 1000, 0xFFFF + 480, Cause::kTimeout);
}

TEST(TelephoneEventReceiver, SourceChangeEndsTheEventAndRestartsTheTimeline) {
  ReceiverHarness h;
  h.Packet(50000, 8, 160, false, true);
  EXPECT_EQ(h.Packet(100, 8, 160, false, true, kSsrc + 1), Verdict::kBegan) << "older timestamp, new source";
  const auto notices = h.Notices();
  ASSERT_EQ(notices.size(), 3u);
  ExpectEnd(notices[1], '8', 50000, 160, Cause::kSourceChanged);
  ExpectBegin(notices[2], '8', 100, true);
}

TEST(TelephoneEventReceiver, MalformedPacketsAreCountedAndChangeNothing) {
  ReceiverHarness h;
  const std::array<uint8_t, 3> short_payload{5, 0, 0};
  EXPECT_EQ(h.receiver().OnPacket(kSsrc, 8000, true, short_payload, TimePoint{}), Verdict::kMalformed);
  EXPECT_EQ(h.receiver().state(), TelephoneEventReceiver::State::kIdle);
  h.Packet(8000, 5, 160, false, true);
  EXPECT_EQ(h.Packet(8000, 6, 320), Verdict::kMalformed) << "another event under the same timestamp";
  EXPECT_EQ(h.receiver().verdict_count(Verdict::kMalformed), 2u);
  const std::array<uint8_t, 8> two_blocks{5, 0, 1, 0, 6, 0, 0, 0};
  EXPECT_EQ(h.receiver().OnPacket(kSsrc, 8000, false, two_blocks, TimePoint{}), Verdict::kUpdated);
  EXPECT_EQ(h.receiver().extra_blocks(), 1u);
}

TEST(TelephoneEventReceiver, NoticesBeyondCapacityAreCountedNotStored) {
  ReceiverHarness h;
  for (uint32_t i = 0; i < TelephoneEventReceiver::kNoticeCapacity; ++i) {
    h.Packet(1000 * (i + 1), 1, 100, true);  // begin + end each
  }
  EXPECT_EQ(h.receiver().pending_notices(), TelephoneEventReceiver::kNoticeCapacity);
  EXPECT_EQ(h.receiver().notices_dropped(), TelephoneEventReceiver::kNoticeCapacity);
}

// --- Sender to receiver through RTP, with losses ----------------------------------

struct Digit {
  char digit;
  TelephoneEventNotice end;
};

// Sends `digits` (on_ms each, off_ms between) as a media loop would every 20 ms,
// through RtpSender, the wire (where `lose(k)` drops the k-th packet) and the parser,
// to a receiver polled each tick. Returns the end notices.
std::vector<TelephoneEventNotice> SendDigits(const std::string& digits, uint32_t on_ms, uint32_t off_ms,
                                             const std::function<bool(size_t, const RtpHeaderView&)>& lose,
                                             size_t* begins = nullptr) {
  ScriptedRandom random({kSsrc, 0xFFF0, kOffset});
  RtpSender rtp({.payload_type = 8}, random);
  TelephoneEventSender sender = MakeSender();
  TelephoneEventReceiver receiver;
  const std::vector<uint8_t> audio(160, 0xD5);
  std::vector<TelephoneEventNotice> ends;
  size_t begin_count = 0;
  size_t k = 0;
  const uint64_t on = on_ms * 8;
  const uint64_t period = (on_ms + off_ms) * 8;
  const uint64_t total = period * digits.size() + 8000;  // plus 1 s to drain
  TimePoint arrival{std::chrono::hours(1)};

  auto deliver = [&](std::span<const uint8_t> bytes) {
    RtpHeaderView view;
    ASSERT_EQ(ParseRtpHeader(bytes, view), RtpParseStatus::kOk);
    if (lose(k++, view) || view.payload_type != kEventPt) return;
    receiver.OnPacket(view, arrival);
  };
  for (uint64_t tick_start = 0; tick_start < total; tick_start += 160) {
    const uint64_t now = tick_start + 160;
    // Key edges that fall in this tick, at their exact instants.
    for (size_t d = 0; d < digits.size(); ++d) {
      const uint64_t down = 1600 + d * period;
      if (down >= tick_start && down < now) {
        EXPECT_TRUE(sender.KeyDown(*TelephoneEventForDigit(digits[d]), down));
      }
      if (down + on >= tick_start && down + on < now) {
        EXPECT_TRUE(sender.KeyUp(down + on));
      }
    }
    std::array<uint8_t, 200> buffer{};
    if (sender.sending()) {
      size_t n;
      while ((n = sender.BuildNextPacket(now, rtp, buffer)) > 0) deliver(std::span(buffer).first(n));
    } else {
      deliver(std::span(buffer).first(rtp.BuildPacket(tick_start, audio, false, buffer)));
    }
    arrival += milliseconds(20);
    receiver.Poll(arrival);
    while (auto notice = receiver.PopNotice()) {
      if (notice->edge == TelephoneEventEdge::kEnd)
        ends.push_back(*notice);
      else
        ++begin_count;
    }
  }
  if (begins != nullptr) *begins = begin_count;
  return ends;
}

std::string DigitsOf(const std::vector<TelephoneEventNotice>& ends) {
  std::string out;
  for (const auto& e : ends) out += e.digit;
  return out;
}

const std::string kAllDigits = "0123456789*#ABCD";

TEST(TelephoneEventEndToEnd, AllDigitsWithoutLossArriveWithExactDurations) {
  size_t begins = 0;
  const auto ends = SendDigits(
      kAllDigits, 100, 60, [](size_t, const RtpHeaderView&) { return false; }, &begins);
  EXPECT_EQ(DigitsOf(ends), kAllDigits);
  EXPECT_EQ(begins, kAllDigits.size());
  for (const auto& e : ends) {
    EXPECT_EQ(e.duration_samples, 800u) << e.digit;
    EXPECT_EQ(e.duration_ms, 100u);
    EXPECT_EQ(e.cause, TelephoneEventEndCause::kEndBit);
  }
  for (size_t i = 1; i < ends.size(); ++i) EXPECT_EQ(ends[i].timestamp - ends[i - 1].timestamp, 160u * 8u);
}

struct LossPattern {
  const char* name;
  std::function<bool(size_t, const RtpHeaderView&)> lose;
  bool exact_durations;  // at least one final of every digit survives
};

TEST(TelephoneEventEndToEnd, AllDigitsSurviveLossPatterns) {
  auto is_event = [](const RtpHeaderView& v) { return v.payload_type == kEventPt; };
  auto is_final = [](const RtpHeaderView& v) { return v.payload.size() >= 4 && (v.payload[1] & 0x80) != 0; };
  std::mt19937 rng(4733);
  std::vector<bool> random_loss(4000);
  for (size_t i = 0; i < random_loss.size(); ++i) random_loss[i] = rng() % 100 < 20;

  // Counts finals per event so that patterns can drop some of them.
  uint32_t last_ts = 0;
  int finals_seen = 0;
  auto nth_final = [&](const RtpHeaderView& v) {
    if (!is_final(v)) return 0;
    if (v.timestamp != last_ts) {
      last_ts = v.timestamp;
      finals_seen = 0;
    }
    return ++finals_seen;
  };

  const std::vector<LossPattern> patterns = {
      {"every marked packet", [&](size_t, const RtpHeaderView& v) { return is_event(v) && v.marker; }, true},
      {"every other packet", [](size_t k, const RtpHeaderView&) { return k % 2 == 1; }, true},
      {"first two finals of each digit",
       [&](size_t, const RtpHeaderView& v) {
         const int n = nth_final(v);
         return n > 0 && n <= 2;
       },
       true},
      {"all finals", [&](size_t, const RtpHeaderView& v) { return is_final(v); }, false},
      {"all but the finals", [&](size_t, const RtpHeaderView& v) { return is_event(v) && !is_final(v); },
       true},
      {"bursts of 4 in 9", [](size_t k, const RtpHeaderView&) { return k % 9 < 4; }, false},
      {"20% random", [&](size_t k, const RtpHeaderView&) { return random_loss[k % random_loss.size()]; },
       false},
  };
  for (const auto& pattern : patterns) {
    SCOPED_TRACE(pattern.name);
    last_ts = 0;
    finals_seen = 0;
    size_t begins = 0;
    const auto ends = SendDigits(kAllDigits, 100, 60, pattern.lose, &begins);
    EXPECT_EQ(DigitsOf(ends), kAllDigits);
    EXPECT_EQ(begins, kAllDigits.size()) << "each digit begins once";
    for (const auto& e : ends) {
      EXPECT_LE(e.duration_samples, 800u) << e.digit;
      if (pattern.exact_durations) {
        EXPECT_EQ(e.duration_samples, 800u) << e.digit;
        EXPECT_EQ(e.cause, TelephoneEventEndCause::kEndBit) << e.digit;
      }
    }
  }
}

TEST(TelephoneEventEndToEnd, LongHeldKeyIsOneEventOverSegments) {
  size_t begins = 0;
  const auto ends = SendDigits(
      "#", 20000, 60, [](size_t k, const RtpHeaderView&) { return k % 7 == 3; }, &begins);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(begins, 1u);
  EXPECT_EQ(ends[0].digit, '#');
  EXPECT_EQ(ends[0].duration_ms, 20000u);
  EXPECT_EQ(ends[0].cause, TelephoneEventEndCause::kEndBit);
}

}  // namespace
}  // namespace linegate::media::rtp
