// PulseDialDecoder: break/make classification on synthetic hook events, and pulse
// dialling from a SimPhone decoded on the gateway side.

#include "media/tdm/sim/pulse_dial_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/tdm/sim/sim_phone.h"
#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

using testing::DrainEvents;
using testing::MsSince;
using testing::RunLine;

using std::chrono::milliseconds;

std::vector<HookEvent> Take(PulseDialDecoder& d) {
  std::vector<HookEvent> out(PulseDialDecoder::kQueueCapacity);
  out.resize(d.TakeEvents(out));
  return out;
}

std::string Digits(const std::vector<HookEvent>& events) {
  std::string digits;
  for (const HookEvent& e : events) {
    if (e.type == HookEventType::kDigit) digits += e.digit;
  }
  return digits;
}

// Feeds a pattern of (loop open ms, loop closed ms) pairs starting off-hook at t, polling
// every 10 ms, and returns the time after the pattern.
TimePoint Feed(PulseDialDecoder& d, TimePoint t, const std::vector<std::pair<int, int>>& breaks_makes) {
  const auto step = [&](int ms) {
    for (int i = 0; i < ms; i += 10) {
      t += milliseconds(10);
      d.Poll(t);
    }
  };
  for (const auto& [open_ms, closed_ms] : breaks_makes) {
    d.OnHook(t);
    step(open_ms);
    d.OffHook(t);
    step(closed_ms);
  }
  return t;
}

std::vector<std::pair<int, int>> PulseDigit(int pulses, int inter_digit_ms = 700) {
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < pulses; ++i) out.emplace_back(60, i + 1 == pulses ? inter_digit_ms : 40);
  return out;
}

TEST(PulseDialDecoderTest, DefaultConfigIsValidAndBadOnesAreRefused) {
  EXPECT_TRUE(ValidatePulseDialDecoderConfig({}).ok());
  EXPECT_FALSE(ValidatePulseDialDecoderConfig({.min_break_ms = 100, .max_pulse_break_ms = 90}).ok());
  EXPECT_FALSE(ValidatePulseDialDecoderConfig({.max_pulse_break_ms = 90, .max_flash_ms = 80}).ok());
  EXPECT_FALSE(ValidatePulseDialDecoderConfig({.digit_end_ms = 0}).ok());
}

TEST(PulseDialDecoderTest, EachPulseCountIsItsDigitAndTenIsZero) {
  for (int pulses = 1; pulses <= 10; ++pulses) {
    PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
    const TimePoint t0(std::chrono::hours(1));
    Feed(d, t0, PulseDigit(pulses));
    const std::vector<HookEvent> events = Take(d);
    ASSERT_EQ(events.size(), 1u) << pulses;
    EXPECT_EQ(events[0].type, HookEventType::kDigit);
    EXPECT_EQ(events[0].digit, pulses == 10 ? '0' : static_cast<char>('0' + pulses));
    EXPECT_EQ(events[0].time, t0);  // the digit's first break
    EXPECT_EQ(d.state(), PulseDialDecoder::State::kOffHook);
  }
}

TEST(PulseDialDecoderTest, ElevenPulsesAreRejected) {
  PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
  Feed(d, TimePoint(std::chrono::hours(1)), PulseDigit(11));
  EXPECT_TRUE(Take(d).empty());
  EXPECT_EQ(d.stats().rejected_digits, 1u);
}

TEST(PulseDialDecoderTest, BreakLengthSeparatesBounceFlashAndHangUp) {
  struct Case {
    int break_ms;
    std::vector<HookEventType> expected;
  };
  const std::vector<Case> cases = {
      {10, {}},                        // bounce
      {100, {HookEventType::kFlash}},  // shortest flash
      {500, {HookEventType::kFlash}},
      {900, {HookEventType::kFlash}},                             // longest phone flash
      {1000, {HookEventType::kFlash}},                            // the limit itself
      {1200, {HookEventType::kOnHook, HookEventType::kOffHook}},  // hang-up, then a new call
  };
  for (const Case& c : cases) {
    PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
    const TimePoint t0(std::chrono::hours(1));
    Feed(d, t0, {{c.break_ms, 500}});
    const std::vector<HookEvent> events = Take(d);
    ASSERT_EQ(events.size(), c.expected.size()) << c.break_ms;
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].type, c.expected[i]) << c.break_ms;
    if (!events.empty()) {
      EXPECT_EQ(events[0].time, t0) << "event time is the start of the break";
    }
  }
}

TEST(PulseDialDecoderTest, HangUpIsReportedByPollWithoutWaitingForOffHook) {
  PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
  const TimePoint t0(std::chrono::hours(1));
  d.OnHook(t0);
  d.Poll(t0 + milliseconds(1000));
  EXPECT_TRUE(Take(d).empty());
  d.Poll(t0 + milliseconds(1001));
  const std::vector<HookEvent> events = Take(d);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, HookEventType::kOnHook);
  EXPECT_EQ(d.state(), PulseDialDecoder::State::kOnHook);
}

TEST(PulseDialDecoderTest, FlashCutsADigitShortAndIllegalEventsAreCounted) {
  PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
  TimePoint t(std::chrono::hours(1));
  t = Feed(d, t, {{60, 40}, {60, 40}, {400, 500}});  // two pulses, then a flash
  const std::vector<HookEvent> events = Take(d);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, HookEventType::kFlash);
  EXPECT_EQ(d.stats().abandoned_digits, 1u);
  d.OffHook(t);  // already off-hook
  EXPECT_EQ(d.stats().illegal_events, 1u);
}

TEST(PulseDialDecoderTest, DigitEndsOnTheNextBreakEvenWithoutPolling) {
  PulseDialDecoder d({}, PulseDialDecoder::State::kOffHook);
  TimePoint t(std::chrono::hours(1));
  // Three pulses, 300 ms make, then one pulse: no Poll() at all.
  for (int i = 0; i < 3; ++i) {
    d.OnHook(t);
    t += milliseconds(60);
    d.OffHook(t);
    t += milliseconds(i == 2 ? 300 : 40);
  }
  d.OnHook(t);
  t += milliseconds(60);
  d.OffHook(t);
  d.Poll(t + milliseconds(300));
  EXPECT_EQ(Digits(Take(d)), "31");
}

// The whole path: a phone pulse-dials every digit; the gateway sees only timestamped hook
// changes and decodes them.
void PhonePulseDialsAllDigits(uint32_t frame_samples) {
  ManualClock clock;
  SimPhone phone(clock);
  PulseDialDecoder decoder;
  ASSERT_TRUE(phone.OffHook().ok());
  ASSERT_TRUE(phone.DialPulse("1234567890").ok());
  EXPECT_TRUE(phone.dialling());
  std::vector<LineEvent> raw;
  std::vector<HookEvent> decoded;
  const uint64_t ticks = 12000 * 8 / frame_samples;  // 12 s: 55 pulses and 10 pauses take 10.5 s
  for (uint64_t i = 0; i < ticks; ++i) {
    for (const LineEvent& e : DrainEvents(phone)) {
      raw.push_back(e);
      if (e.type == LineEventType::kOffHook) decoder.OffHook(e.time);
      if (e.type == LineEventType::kOnHook) decoder.OnHook(e.time);
    }
    decoder.Poll(clock.Now());
    std::vector<HookEvent> batch(8);
    batch.resize(decoder.TakeEvents(batch));
    decoded.insert(decoded.end(), batch.begin(), batch.end());
    RunLine(phone, clock, 1, frame_samples);
  }
  EXPECT_FALSE(phone.dialling());
  EXPECT_EQ(phone.hook_state(), SimPhone::HookState::kOffHook);
  ASSERT_FALSE(decoded.empty());
  EXPECT_EQ(decoded[0].type, HookEventType::kOffHook);
  EXPECT_EQ(Digits(decoded), "1234567890");
  EXPECT_EQ(decoder.stats().digits, 10u);
  EXPECT_EQ(decoder.stats().flashes, 0u);
  // 1 off-hook + 55 breaks and 55 makes.
  EXPECT_EQ(raw.size(), 111u);
  if (frame_samples == 80) {
    // 10 ms frames: every break is exactly 60 ms, every make 40 ms, the pause 700 ms.
    ASSERT_GE(raw.size(), 5u);
    EXPECT_EQ(MsSince(raw[1].time, raw[2].time), 60);   // break of digit 1
    EXPECT_EQ(MsSince(raw[2].time, raw[3].time), 700);  // pause after digit 1
    EXPECT_EQ(MsSince(raw[3].time, raw[4].time), 60);   // first break of digit 2
    EXPECT_EQ(MsSince(raw[4].time, raw[5].time), 40);   // make between its pulses
  }
}

TEST(PulseDialDecoderTest, PhonePulseDialsAllDigitsWith10msFrames) { PhonePulseDialsAllDigits(80); }
TEST(PulseDialDecoderTest, PhonePulseDialsAllDigitsWith3msFrames) { PhonePulseDialsAllDigits(24); }
TEST(PulseDialDecoderTest, PhonePulseDialsAllDigitsWith1msFrames) { PhonePulseDialsAllDigits(8); }

}  // namespace
}  // namespace linegate::media::tdm::sim
