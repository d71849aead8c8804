// SimExchangeLine: incoming calls (ring, answer by seizing, ring stops), outgoing calls
// (dial tone, digits collected, ringback, answer supervision), far-end disconnect with
// polarity reversal and busy tone, loopback.

#include "media/tdm/sim/sim_exchange_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/dsp/dtmf.h"
#include "media/dsp/levels.h"
#include "media/dsp/tone_analyser.h"
#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

using testing::DrainEvents;
using testing::MsSince;
using testing::RunLine;
using testing::Signal;
using testing::Slice;
using testing::ToneSource;

constexpr uint32_t kFrame = 80;

// On/off periods of a signal, judged every 10 ms by its level.
std::vector<std::pair<bool, int>> Cadence(const Signal& s, double threshold_dbm0 = -40) {
  std::vector<std::pair<bool, int>> runs;
  for (size_t at = 0; at + 80 <= s.size(); at += 80) {
    const bool on = dsp::MeasureLevel(std::span<const int16_t>(s).subspan(at, 80)) > threshold_dbm0;
    if (runs.empty() || runs.back().first != on) runs.emplace_back(on, 0);
    runs.back().second += 10;
  }
  return runs;
}

TEST(SimExchangeLineTest, ConfigValidation) {
  EXPECT_TRUE(ValidateSimExchangeLineConfig({}).ok());
  EXPECT_FALSE(ValidateSimExchangeLineConfig({.ring_cadence = dsp::Cadence{{0, 4000}, 2, true}}).ok());
  EXPECT_FALSE(ValidateSimExchangeLineConfig({.max_digits = 0}).ok());
  EXPECT_FALSE(ValidateSimExchangeLineConfig({.digit_timeout_ms = 100}).ok());
}

TEST(SimExchangeLineTest, RingSeizeAnswersStopsRingingThenFarEndDisconnectReversesPolarity) {
  ManualClock clock;
  const TimePoint t0 = clock.Now();
  SimExchangeLine line(clock);
  ASSERT_TRUE(line.Ring().ok());
  EXPECT_FALSE(line.Ring().ok());
  RunLine(line, clock, 700, kFrame);  // 7 s: on 0-2 s, off 2-6 s, on from 6 s
  std::vector<LineEvent> events = DrainEvents(line);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, LineEventType::kRingOn);
  EXPECT_EQ(MsSince(t0, events[0].time), 0);
  EXPECT_EQ(events[1].type, LineEventType::kRingOff);
  EXPECT_EQ(MsSince(t0, events[1].time), 2000);
  EXPECT_EQ(events[2].type, LineEventType::kRingOn);
  EXPECT_EQ(MsSince(t0, events[2].time), 6000);
  // On-hook there is no audio, even with far-end audio set up.
  ASSERT_TRUE(line.PlayTone(700, -15).ok());
  Signal before;
  RunLine(line, clock, 10, kFrame, nullptr, &before);
  EXPECT_EQ(dsp::MeasureLevel(before), dsp::kSilenceDbm0);

  // The gateway answers during the ring.
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kConnected);
  events = DrainEvents(line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, LineEventType::kRingOff);
  EXPECT_EQ(MsSince(t0, events[0].time), 7100);
  // Ringing has stopped for good, and the far end's audio is connected.
  Signal heard;
  RunLine(line, clock, 1000, kFrame, nullptr, &heard);
  EXPECT_TRUE(DrainEvents(line).empty());
  const dsp::ToneAnalysis a = dsp::AnalyseTone(Slice(heard, 0, 1000));
  EXPECT_NEAR(a.frequency_hz, 700, 7);
  EXPECT_NEAR(a.tone_level_dbm0, -15, 0.5);

  // The far end hangs up: polarity reversal, then busy tone.
  ASSERT_TRUE(line.FarEndHangUp().ok());
  events = DrainEvents(line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, LineEventType::kPolarityReversal);
  EXPECT_EQ(events[0].polarity, Polarity::kReversed);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kBusy);
  // Releasing restores normal polarity.
  ASSERT_EQ(line.Apply(LineCommand::Release()), CommandResult::kOk);
  events = DrainEvents(line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].polarity, Polarity::kNormal);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kIdle);
  EXPECT_EQ(line.Apply(LineCommand::Release()), CommandResult::kInvalid);
}

TEST(SimExchangeLineTest, CallerGivingUpStopsTheRinging) {
  ManualClock clock;
  SimExchangeLine line(clock);
  ASSERT_TRUE(line.Ring(dsp::Cadence{{1000, 1000}, 2, true}).ok());
  RunLine(line, clock, 50, kFrame);
  ASSERT_TRUE(line.StopRinging().ok());
  const std::vector<LineEvent> events = DrainEvents(line);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, LineEventType::kRingOff);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kIdle);
  EXPECT_FALSE(line.StopRinging().ok());
}

TEST(SimExchangeLineTest, DialToneOnSeize) {
  ManualClock clock;
  SimExchangeLine line(clock);
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kDialTone);
  EXPECT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kInvalid);
  Signal heard;
  RunLine(line, clock, 300, kFrame, nullptr, &heard);
  // US dial tone: 350 + 440 Hz at -13 dBm0 each, continuous.
  for (double from = 0; from < 3000; from += 500) {
    const auto window = Slice(heard, from, from + 500);
    EXPECT_NEAR(dsp::MeasureToneLevel(window, 350), -13, 0.5) << from;
    EXPECT_NEAR(dsp::MeasureToneLevel(window, 440), -13, 0.5) << from;
    EXPECT_LT(dsp::MeasureToneLevel(window, 480), -40) << from;
    EXPECT_LT(dsp::MeasureToneLevel(window, 620), -40) << from;
  }
  const auto runs = Cadence(heard);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].first);
}

// An outgoing call, start to end: dial tone stops at the first digit, the number is
// collected up to '#', ringback, answer supervision, loopback, far-end hang-up, busy.
TEST(SimExchangeLineTest, OutgoingCallCollectsNumberAndSupervisesAnswerAndDisconnect) {
  ManualClock clock;
  SimExchangeLine line(clock);
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  RunLine(line, clock, 50, kFrame);
  dsp::DtmfGenerator gateway_dtmf;
  ASSERT_TRUE(gateway_dtmf.Queue("5551234#"));
  Signal heard;
  RunLine(
      line, clock, 200, kFrame, [&](uint64_t, std::span<int16_t> f) { gateway_dtmf.Generate(f); }, &heard);
  EXPECT_EQ(line.dialled_number(), "5551234");
  EXPECT_TRUE(line.number_complete());
  EXPECT_EQ(line.state(), SimExchangeLine::State::kRingback);
  // Dial tone until the first digit was recognised (~30 ms after it began), then silence.
  const auto runs = Cadence(heard, -60);
  ASSERT_GE(runs.size(), 2u);
  EXPECT_TRUE(runs[0].first);
  EXPECT_GE(runs[0].second, 20);
  EXPECT_LE(runs[0].second, 60);
  EXPECT_FALSE(runs[1].first);
  EXPECT_TRUE(DrainEvents(line).empty()) << "no supervision before the answer";

  // Ringback: 440 + 480 Hz.
  Signal ringback;
  RunLine(line, clock, 100, kFrame, nullptr, &ringback);
  EXPECT_NEAR(dsp::MeasureToneLevel(Slice(ringback, 200, 700), 440), -19, 0.5);
  EXPECT_NEAR(dsp::MeasureToneLevel(Slice(ringback, 200, 700), 480), -19, 0.5);

  const TimePoint answered = clock.Now();
  ASSERT_TRUE(line.FarEndAnswer().ok());
  std::vector<LineEvent> events = DrainEvents(line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, LineEventType::kPolarityReversal);
  EXPECT_EQ(events[0].polarity, Polarity::kReversed);
  EXPECT_EQ(events[0].time, answered);
  EXPECT_EQ(line.calls_completed(), 1u);

  // Loopback: the gateway's audio comes straight back, sample for sample.
  line.SetLoopback(true);
  Signal sent;
  Signal echoed;
  dsp::ToneGenerator voice(dsp::ToneSpec::Dual(300, -12, 1700, -20));
  RunLine(
      line, clock, 50, kFrame,
      [&](uint64_t, std::span<int16_t> f) {
        voice.Generate(f);
        sent.insert(sent.end(), f.begin(), f.end());
      },
      &echoed);
  EXPECT_EQ(echoed, sent);

  // Far-end hang-up: reversal back to normal, busy tone 480 + 620 Hz, 500 ms on / off.
  line.SetLoopback(false);
  ASSERT_TRUE(line.FarEndHangUp().ok());
  events = DrainEvents(line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, LineEventType::kPolarityReversal);
  EXPECT_EQ(events[0].polarity, Polarity::kNormal);
  Signal busy;
  RunLine(line, clock, 300, kFrame, nullptr, &busy);
  const auto busy_runs = Cadence(busy);
  ASSERT_EQ(busy_runs.size(), 6u);
  for (size_t i = 0; i < busy_runs.size(); ++i) {
    EXPECT_EQ(busy_runs[i].first, i % 2 == 0) << i;
    EXPECT_EQ(busy_runs[i].second, 500) << i;
  }
  for (double on_from : {0.0, 1000.0, 2000.0}) {
    const auto burst = Slice(busy, on_from + 50, on_from + 450);
    EXPECT_NEAR(dsp::MeasureToneLevel(burst, 480), -24, 0.5) << on_from;
    EXPECT_NEAR(dsp::MeasureToneLevel(burst, 620), -24, 0.5) << on_from;
    EXPECT_LT(dsp::MeasureToneLevel(burst, 350), -45) << on_from;
    EXPECT_LT(dsp::MeasureToneLevel(burst, 440), -45) << on_from;
  }
  ASSERT_EQ(line.Apply(LineCommand::Release()), CommandResult::kOk);
  EXPECT_TRUE(DrainEvents(line).empty()) << "polarity was already normal";
}

TEST(SimExchangeLineTest, NumberCompletesOnTimeoutOrMaxDigitsAndAutoAnswer) {
  ManualClock clock;
  SimExchangeLine line(clock, {.digit_timeout_ms = 1000, .max_digits = 4, .auto_answer_ms = 300});
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  dsp::DtmfGenerator dtmf;
  ASSERT_TRUE(dtmf.Queue("12"));
  const auto source = [&](uint64_t, std::span<int16_t> f) { dtmf.Generate(f); };
  RunLine(line, clock, 100, kFrame, source);  // 1 s: digits end at 320 ms
  EXPECT_EQ(line.state(), SimExchangeLine::State::kCollecting);
  RunLine(line, clock, 30, kFrame, source);  // "2" began at 160 ms: complete by 1.3 s
  EXPECT_EQ(line.dialled_number(), "12");
  EXPECT_EQ(line.state(), SimExchangeLine::State::kRingback);
  RunLine(line, clock, 40, kFrame);  // auto answer after 300 ms
  EXPECT_EQ(line.state(), SimExchangeLine::State::kConnected);
  ASSERT_EQ(line.Apply(LineCommand::Release()), CommandResult::kOk);

  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  ASSERT_TRUE(dtmf.Queue("987654"));
  RunLine(line, clock, 100, kFrame, source);
  EXPECT_EQ(line.dialled_number(), "9876");  // max_digits
  EXPECT_NE(line.Describe().find("number 9876"), std::string::npos) << line.Describe();
}

TEST(SimExchangeLineTest, RefusesFxsCommandsAndIllegalRequests) {
  ManualClock clock;
  SimExchangeLine line(clock);
  EXPECT_EQ(line.Apply(LineCommand::RingStart(kUsRingCadence)), CommandResult::kNotApplicable);
  EXPECT_EQ(line.Apply(LineCommand::MessageWaiting(true)), CommandResult::kNotApplicable);
  EXPECT_EQ(line.Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kNotApplicable);
  EXPECT_EQ(line.commands_refused(), 3u);
  EXPECT_FALSE(line.FarEndAnswer().ok());
  EXPECT_FALSE(line.FarEndHangUp().ok());
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  EXPECT_FALSE(line.Ring().ok());
  line.ReversePolarity();
  ASSERT_EQ(DrainEvents(line).size(), 1u);
}

TEST(SimExchangeLineTest, FarEndHangUpWithBusyToneOnlyKeepsThePolarity) {
  ManualClock clock;
  SimExchangeLine line(clock);
  ASSERT_TRUE(line.Ring().ok());
  RunLine(line, clock, 10, kFrame);
  ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
  DrainEvents(line);
  ASSERT_TRUE(line.FarEndHangUp(/*reverse_polarity=*/false).ok());
  EXPECT_TRUE(DrainEvents(line).empty());
  EXPECT_EQ(line.polarity(), Polarity::kNormal);
  EXPECT_EQ(line.state(), SimExchangeLine::State::kBusy);
  Signal busy;
  RunLine(line, clock, 200, kFrame, nullptr, &busy);
  const auto runs = Cadence(busy);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0], std::make_pair(true, 500));
  EXPECT_EQ(runs[1], std::make_pair(false, 500));
}

}  // namespace
}  // namespace linegate::media::tdm::sim
