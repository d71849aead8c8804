// Audio per tick through the fake kernel: the card's clock paces WaitForTick, one read
// and one write per channel, G.711 (converted here) and linear (converted by the
// kernel), and what goes wrong: EAGAIN, ELAST, EINTR, short reads and writes, underruns,
// poll errors, a channel failing mid-run.

#include <gtest/gtest.h>

#include <random>

#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace linegate::media::tdm::dahdi {
namespace {

using testing::BufferAudio;
using testing::CardFixture;
using testing::G711;
using Wait = DahdiCard::Wait;

std::vector<int16_t> RandomSamples(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-32768, 32767);
  std::vector<int16_t> samples(n);
  for (int16_t& s : samples) s = static_cast<int16_t>(dist(rng));
  samples[0] = -32768;
  samples[1] = 32767;
  samples[2] = 0;
  return samples;
}

size_t CountOf(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

struct RoundTrip {
  int law;
  AudioMode audio;
  uint32_t frame_samples;
};

class DahdiAudioRoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

// Random audio both ways on four channels for 25 ticks: what the gateway receives is the
// line's audio through the channel's law, and what the line receives is the gateway's
// through the law, sample for sample, in both audio modes.
TEST_P(DahdiAudioRoundTripTest, BothDirectionsThroughTheLaw) {
  const RoundTrip p = GetParam();
  DahdiCardConfig config = testing::TypicalConfig();
  config.audio = p.audio;
  config.frame_samples = p.frame_samples;
  CardFixture f(config, p.law);
  ASSERT_NE(f.card, nullptr);
  const uint32_t n = p.frame_samples;
  constexpr int kTicks = 25;
  BufferAudio audio(4, n);

  std::vector<std::vector<int16_t>> from_line(4), to_line(4), received(4);
  for (uint32_t ch = 0; ch < 4; ++ch) {
    from_line[ch] = RandomSamples(n * kTicks, 100 + ch);
    to_line[ch] = RandomSamples(n * kTicks, 200 + ch);
    f.fake.QueueLineSamples(static_cast<int>(ch + 1), from_line[ch]);
  }
  const auto before = f.fake.counts();
  for (int tick = 0; tick < kTicks; ++tick) {
    EXPECT_EQ(f.card->WaitForTick(20), Wait::kTimeout) << "the card's clock has not moved";
    f.fake.CardInterrupt();  // one block time: every channel receives a block, sends one
    ASSERT_EQ(f.card->WaitForTick(20), Wait::kTickDue);
    for (uint32_t ch = 0; ch < 4; ++ch) {
      std::copy_n(to_line[ch].begin() + tick * n, n, audio.to_line[ch].begin());
    }
    f.clock.Advance(std::chrono::milliseconds(n / 8));
    f.card->Tick(audio, audio);
    EXPECT_EQ(audio.last_tick, f.clock.Now());
    for (uint32_t ch = 0; ch < 4; ++ch) {
      received[ch].insert(received[ch].end(), audio.from_line[ch].begin(), audio.from_line[ch].end());
    }
  }
  f.fake.CardInterrupt();  // sends the last written blocks
  for (uint32_t ch = 0; ch < 4; ++ch) {
    const int number = static_cast<int>(ch + 1);
    EXPECT_EQ(received[ch], G711(p.law, from_line[ch])) << "channel " << ch;
    EXPECT_EQ(f.fake.TransmittedSamples(number), G711(p.law, to_line[ch])) << "channel " << ch;
    const DahdiLineStats& s = f.card->line(ch).stats();
    EXPECT_EQ(s.frames_read, static_cast<uint64_t>(kTicks));
    EXPECT_EQ(s.frames_written, static_cast<uint64_t>(kTicks));
    EXPECT_EQ(s.read_not_ready + s.short_reads + s.short_writes + s.write_full + s.underruns, 0u);
    EXPECT_EQ(f.fake.channel(number).rx_overruns, 0u);
  }
  // Per tick: one poll to wait, one read and one write per channel, nothing else.
  const auto after = f.fake.counts();
  EXPECT_EQ(after.polls - before.polls, 2u * kTicks);  // counting the "not yet" polls of this test
  EXPECT_EQ(after.reads - before.reads, 4u * kTicks);
  EXPECT_EQ(after.writes - before.writes, 4u * kTicks);
  EXPECT_EQ(after.ioctls - before.ioctls, 0u);
  EXPECT_EQ(f.card->ticks(), static_cast<uint64_t>(kTicks));
  EXPECT_EQ(audio.ticks, static_cast<uint64_t>(kTicks));
}

INSTANTIATE_TEST_SUITE_P(Modes, DahdiAudioRoundTripTest,
                         ::testing::Values(RoundTrip{DAHDI_LAW_MULAW, AudioMode::kLinear, 80},
                                           RoundTrip{DAHDI_LAW_ALAW, AudioMode::kLinear, 80},
                                           RoundTrip{DAHDI_LAW_MULAW, AudioMode::kLaw, 80},
                                           RoundTrip{DAHDI_LAW_ALAW, AudioMode::kLaw, 80},
                                           RoundTrip{DAHDI_LAW_MULAW, AudioMode::kLaw, 16},
                                           RoundTrip{DAHDI_LAW_ALAW, AudioMode::kLinear, 40}));

TEST(DahdiAudioTest, PacingIsOnTheHighestChannel) {
  CardFixture f;
  // Only a lower channel has its block: the tick is not due (the kernel fills a span's
  // channels in ascending order, so the highest is the last to be ready).
  f.fake.PushRxBlock(1, std::vector<uint8_t>(80, 0xFF));
  EXPECT_EQ(f.card->WaitForTick(5), Wait::kTimeout);
  f.fake.PushRxBlock(4, std::vector<uint8_t>(80, 0xFF));
  EXPECT_EQ(f.card->WaitForTick(5), Wait::kTickDue);
}

TEST(DahdiAudioTest, ABlockNotThereYetIsSilenceAndCounted) {
  CardFixture f;
  BufferAudio audio(4, 80);
  audio.from_line[1].assign(80, 1234);
  f.fake.PushRxBlock(4, std::vector<uint8_t>(80, 0x00));  // only the pacing channel has a block
  f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(1).stats().read_not_ready, 1u);
  EXPECT_EQ(audio.from_line[1], std::vector<int16_t>(80, 0));
  EXPECT_EQ(f.card->line(3).stats().frames_read, 1u);
  EXPECT_EQ(audio.from_line[3], std::vector<int16_t>(80, dsp::DecodeUlaw(0x00)));
  for (uint32_t ch = 0; ch < 4; ++ch) EXPECT_EQ(f.card->line(ch).stats().frames_written, 1u);
}

TEST(DahdiAudioTest, FullTransmitBuffersDropTheBlockAndCountIt) {
  CardFixture f;  // 4 kernel buffers; the card's clock does not move, so nothing is sent
  BufferAudio audio(4, 80);
  for (int i = 0; i < 6; ++i) f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(0).stats().frames_written, 4u);
  EXPECT_EQ(f.card->line(0).stats().write_full, 2u);
  EXPECT_FALSE(f.card->line(0).failed());
}

TEST(DahdiAudioTest, AnEventPendingOnReadIsFetchedAndTheReadRetried) {
  CardFixture f;
  BufferAudio audio(4, 80);
  const std::vector<int16_t> tone = RandomSamples(80, 7);
  f.fake.QueueLineSamples(1, tone);
  f.fake.CardInterrupt();
  f.fake.QueueEvent(1, DAHDI_EVENT_RINGOFFHOOK);  // arrives after the poll: read answers ELAST
  f.card->Tick(audio, audio);
  const DahdiLineStats& s = f.card->line(0).stats();
  EXPECT_EQ(s.event_interruptions, 1u);
  EXPECT_EQ(s.frames_read, 1u);
  EXPECT_EQ(audio.from_line[0], G711(DAHDI_LAW_MULAW, tone)) << "the block after the event is the line's";
  EXPECT_EQ(testing::Types(testing::Drain(f.card->line(0))),
            std::vector<sim::LineEventType>{sim::LineEventType::kOffHook});
}

TEST(DahdiAudioTest, EventsSeenByPollAreFetchedBeforeTheReads) {
  CardFixture f;
  BufferAudio audio(4, 80);
  f.fake.CardInterrupt();
  f.fake.QueueEvent(2, DAHDI_EVENT_ONHOOK);
  ASSERT_EQ(f.card->WaitForTick(0), Wait::kTickDue);
  const auto before = f.fake.counts();
  f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(1).stats().event_interruptions, 0u) << "no read wasted on ELAST";
  EXPECT_EQ(f.fake.counts().reads - before.reads, 4u);
  EXPECT_EQ(f.fake.counts().ioctls - before.ioctls, 2u);  // DAHDI_GETEVENT until DAHDI_EVENT_NONE
  EXPECT_EQ(testing::Drain(f.card->line(1)).size(), 1u);
}

TEST(DahdiAudioTest, AnEventPendingOnWriteIsFetchedAndTheWriteRetried) {
  CardFixture f;
  BufferAudio audio(4, 80);
  audio.to_line[2].assign(80, 1000);
  f.fake.CardInterrupt();
  // The event arrives between channel 2's read and its write.
  audio.on_read_to_line = [&](uint32_t channel) {
    if (channel == 2) f.fake.QueueEvent(3, DAHDI_EVENT_POLARITY);
  };
  f.card->Tick(audio, audio);
  const DahdiLineStats& s = f.card->line(2).stats();
  EXPECT_EQ(s.event_interruptions, 1u);
  EXPECT_EQ(s.frames_written, 1u);
  EXPECT_EQ(testing::Types(testing::Drain(f.card->line(2))),
            std::vector<sim::LineEventType>{sim::LineEventType::kPolarityReversal});
  f.fake.CardInterrupt();
  EXPECT_EQ(f.fake.TransmittedSamples(3), G711(DAHDI_LAW_MULAW, audio.to_line[2]));
}

TEST(DahdiAudioTest, AnInterruptedReadIsRetried) {
  CardFixture f;
  BufferAudio audio(4, 80);
  f.fake.CardInterrupt();
  f.fake.channel(2).eintr_reads = 1;
  f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(1).stats().frames_read, 1u);
  EXPECT_EQ(f.card->line(1).stats().read_not_ready, 0u);
  f.fake.CardInterrupt();
  f.fake.channel(2).eintr_reads = 5;  // more than the retries: counted as not ready
  f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(1).stats().read_not_ready, 1u);
  EXPECT_FALSE(f.card->line(1).failed());
}

TEST(DahdiAudioTest, ShortReadsKeepWhatCameAndFillSilence) {
  for (AudioMode mode : {AudioMode::kLaw, AudioMode::kLinear}) {
    DahdiCardConfig config = testing::TypicalConfig();
    config.audio = mode;
    CardFixture f(config, DAHDI_LAW_ALAW);
    BufferAudio audio(4, 80);
    const std::vector<int16_t> samples = RandomSamples(80, 9);
    std::vector<uint8_t> codes;
    for (int16_t s : samples) codes.push_back(dsp::EncodeAlaw(s));
    // A block of 30 samples where 80 were due.
    f.fake.PushRxBlock(1, std::vector<uint8_t>(codes.begin(), codes.begin() + 30));
    // A full block of which the read returns 61 bytes (30 whole samples in linear mode).
    f.fake.PushRxBlock(2, codes);
    f.fake.channel(2).short_read_bytes = mode == AudioMode::kLinear ? 61 : 30;
    f.card->Tick(audio, audio);
    for (uint32_t ch : {0u, 1u}) {
      std::vector<int16_t> expected = G711(DAHDI_LAW_ALAW, std::span(samples).first(30));
      expected.resize(80, 0);
      EXPECT_EQ(audio.from_line[ch], expected) << "channel " << ch;
      EXPECT_EQ(f.card->line(ch).stats().short_reads, 1u);
      EXPECT_EQ(f.card->line(ch).stats().frames_read, 0u);
      EXPECT_FALSE(f.card->line(ch).failed());
    }
  }
}

TEST(DahdiAudioTest, ShortWritesAreCounted) {
  CardFixture f;
  BufferAudio audio(4, 80);
  f.fake.channel(3).short_write_bytes = 100;  // of 160
  f.card->Tick(audio, audio);
  EXPECT_EQ(f.card->line(2).stats().short_writes, 1u);
  EXPECT_EQ(f.card->line(2).stats().frames_written, 0u);
  EXPECT_EQ(f.card->line(3).stats().frames_written, 1u);
}

TEST(DahdiAudioTest, UnderrunsWriteSilence) {
  CardFixture f;
  BufferAudio audio(4, 80);
  audio.to_line[0].assign(80, 5000);
  audio.to_line_present[0] = false;
  f.card->Tick(audio, audio);
  f.fake.CardInterrupt();
  EXPECT_EQ(f.card->line(0).stats().underruns, 1u);
  EXPECT_EQ(f.card->line(0).stats().frames_written, 1u);
  EXPECT_EQ(f.fake.TransmittedSamples(1), std::vector<int16_t>(80, 0));
}

TEST(DahdiAudioTest, AChannelFailingMidRunIsMarkedCountedAndSkipped) {
  CardFixture f;
  BufferAudio audio(4, 80);
  for (int i = 0; i < 5; ++i) {
    f.fake.CardInterrupt();
    ASSERT_EQ(f.card->WaitForTick(10), Wait::kTickDue);
    f.card->Tick(audio, audio);
  }
  f.fake.CardInterrupt();
  ASSERT_EQ(f.card->WaitForTick(10), Wait::kTickDue);
  f.fake.FailChannel(2, EIO);  // DAHDI channel 2, card channel 1: its next read fails
  audio.from_line[1].assign(80, 777);
  ::testing::internal::CaptureStderr();
  f.card->Tick(audio, audio);
  const DahdiLine& failed = f.card->line(1);
  EXPECT_TRUE(failed.failed());
  EXPECT_EQ(failed.failure(), "read: Input/output error");
  EXPECT_EQ(f.card->failed_channels(), 1u);
  EXPECT_EQ(audio.from_line[1], std::vector<int16_t>(80, 0));
  EXPECT_EQ(testing::Types(testing::Drain(f.card->line(1))),
            std::vector<sim::LineEventType>{sim::LineEventType::kAlarm});

  // Later ticks make no call on the failed descriptor; the others go on.
  const auto before = f.fake.counts();
  for (int i = 0; i < 10; ++i) {
    f.fake.CardInterrupt();
    ASSERT_EQ(f.card->WaitForTick(10), Wait::kTickDue);
    f.card->Tick(audio, audio);
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountOf(log, "msg=\"dahdi channel failed\""), 1u) << "logged once, not per frame:\n" << log;
  EXPECT_NE(log.find("dahdi_channel=2 port=fxs error=\"read: Input/output error\""), std::string::npos)
      << log;
  EXPECT_EQ(f.fake.counts().reads - before.reads, 30u);
  EXPECT_EQ(f.fake.counts().writes - before.writes, 30u);
  EXPECT_EQ(f.card->line(0).stats().frames_read, 16u);
  EXPECT_EQ(f.card->line(3).stats().frames_read, 16u);
  EXPECT_EQ(f.card->failed_channels(), 1u);
  EXPECT_EQ(audio.ticks, 16u) << "the sink still gets every tick";
}

TEST(DahdiAudioTest, AWriteErrorFailsTheChannel) {
  CardFixture f;
  BufferAudio audio(4, 80);
  f.fake.CardInterrupt();
  audio.on_read_to_line = [&](uint32_t channel) {
    if (channel == 3) f.fake.FailChannel(4, ENODEV);
  };
  f.card->Tick(audio, audio);
  EXPECT_TRUE(f.card->line(3).failed());
  EXPECT_EQ(f.card->line(3).failure(), "write: No such device");
  EXPECT_EQ(f.card->line(3).stats().frames_read, 1u);
}

TEST(DahdiAudioTest, PollErrorsFailTheChannelAndPacingMovesOn) {
  CardFixture f;
  ASSERT_EQ(f.card->pacing_channel(), 3u);
  f.fake.FailChannel(4, EIO);  // poll shows POLLERR on the pacing channel
  f.fake.CardInterrupt();
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kTimeout);
  EXPECT_TRUE(f.card->line(3).failed());
  EXPECT_EQ(f.card->line(3).failure(), "poll: POLLERR/POLLHUP");
  EXPECT_EQ(f.card->pacing_channel(), 2u);
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kTickDue);

  for (int number : {1, 2, 3}) f.fake.FailChannel(number, EIO);
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kNoChannels);
  EXPECT_EQ(f.card->failed_channels(), 4u);
  EXPECT_EQ(f.card->pacing_channel(), 4u);
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kNoChannels);
  BufferAudio audio(4, 80);
  const auto before = f.fake.counts();
  f.card->Tick(audio, audio);  // harmless: silence to the sink, nothing to the kernel
  EXPECT_EQ(f.fake.counts().reads, before.reads);
  EXPECT_EQ(audio.ticks, 1u);
}

TEST(DahdiAudioTest, InterruptedAndFailedPolls) {
  CardFixture f;
  f.fake.poll_error = EINTR;
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kTimeout);
  EXPECT_EQ(f.card->poll_errors(), 0u);
  f.fake.poll_error = EFAULT;
  EXPECT_EQ(f.card->WaitForTick(10), Wait::kTimeout);
  EXPECT_EQ(f.card->poll_errors(), 1u);
  EXPECT_EQ(f.card->failed_channels(), 0u);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
