// SimPhone: hook events and their timing, flash, DTMF dialling heard by a gateway-side
// detector, the ringer's cadence log, caller ID received on-hook, tones out and audio
// in, commands, recording.

#include "media/tdm/sim/sim_phone.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/levels.h"
#include "media/dsp/tone_analyser.h"
#include "media/tdm/sim/pulse_dial_decoder.h"
#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

using testing::DrainEvents;
using testing::MsSince;
using testing::RunLine;
using testing::Signal;
using testing::ToneSource;

constexpr uint32_t kFrame = 80;

TEST(SimPhoneTest, ConfigValidation) {
  EXPECT_TRUE(ValidateSimPhoneConfig({}).ok());
  EXPECT_FALSE(ValidateSimPhoneConfig({.flash_ms = 99}).ok());
  EXPECT_FALSE(ValidateSimPhoneConfig({.flash_ms = 901}).ok());
  EXPECT_FALSE(ValidateSimPhoneConfig({.inter_digit_ms = 299}).ok());
  EXPECT_FALSE(ValidateSimPhoneConfig({.pulse_break_ms = 10}).ok());
}

TEST(SimPhoneTest, OffHookOnHookAndFlashRaiseTimedEvents) {
  ManualClock clock;
  const TimePoint t0 = clock.Now();
  SimPhone phone(clock, {.flash_ms = 300});
  PulseDialDecoder decoder;

  ASSERT_TRUE(phone.OffHook().ok());
  EXPECT_FALSE(phone.OffHook().ok());
  RunLine(phone, clock, 100, kFrame);  // 1 s
  ASSERT_TRUE(phone.Flash().ok());
  EXPECT_EQ(phone.hook_state(), SimPhone::HookState::kFlash);
  EXPECT_FALSE(phone.loop_closed());
  RunLine(phone, clock, 100, kFrame);
  EXPECT_EQ(phone.hook_state(), SimPhone::HookState::kOffHook);
  ASSERT_TRUE(phone.Flash(850).ok());
  RunLine(phone, clock, 100, kFrame);
  ASSERT_TRUE(phone.OnHook().ok());
  EXPECT_FALSE(phone.OnHook().ok());

  const std::vector<LineEvent> events = DrainEvents(phone);
  ASSERT_EQ(events.size(), 6u);
  const LineEventType expected[] = {LineEventType::kOffHook, LineEventType::kOnHook,  LineEventType::kOffHook,
                                    LineEventType::kOnHook,  LineEventType::kOffHook, LineEventType::kOnHook};
  const int64_t expected_ms[] = {0, 1000, 1300, 2000, 2850, 3000};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, expected[i]) << i;
    EXPECT_EQ(MsSince(t0, events[i].time), expected_ms[i]) << i;
  }
  // The gateway side tells the two flashes from the final hang-up.
  for (const LineEvent& e : events) {
    e.type == LineEventType::kOnHook ? decoder.OnHook(e.time) : decoder.OffHook(e.time);
  }
  decoder.Poll(clock.Now() + std::chrono::seconds(2));
  std::vector<HookEvent> decoded(8);
  decoded.resize(decoder.TakeEvents(decoded));
  ASSERT_EQ(decoded.size(), 4u);
  EXPECT_EQ(decoded[0].type, HookEventType::kOffHook);
  EXPECT_EQ(decoded[1].type, HookEventType::kFlash);
  EXPECT_EQ(decoded[2].type, HookEventType::kFlash);
  EXPECT_EQ(decoded[3].type, HookEventType::kOnHook);
}

TEST(SimPhoneTest, FlashIsRefusedOutOfRangeOrOnHook) {
  ManualClock clock;
  SimPhone phone(clock);
  EXPECT_FALSE(phone.Flash().ok());  // on-hook
  ASSERT_TRUE(phone.OffHook().ok());
  EXPECT_FALSE(phone.Flash(99).ok());
  EXPECT_FALSE(phone.Flash(901).ok());
  EXPECT_TRUE(phone.Flash(100).ok());
  EXPECT_FALSE(phone.Flash(100).ok());  // already flashing
}

TEST(SimPhoneTest, DtmfDialledDigitsAreDetectedOnTheGatewaySide) {
  ManualClock clock;
  SimPhone phone(clock);
  EXPECT_FALSE(phone.DialDtmf("123").ok());  // on-hook
  ASSERT_TRUE(phone.OffHook().ok());
  EXPECT_FALSE(phone.DialDtmf("12x").ok());
  EXPECT_FALSE(phone.DialDtmf("").ok());
  ASSERT_TRUE(phone.DialDtmf("123A456B789C*0#D").ok());
  EXPECT_FALSE(phone.DialPulse("1").ok());  // DTMF still playing
  Signal out;
  RunLine(phone, clock, 300, kFrame, nullptr, &out);  // 16 digits * 160 ms = 2.56 s
  EXPECT_FALSE(phone.dialling());
  dsp::DtmfDetector detector;
  std::vector<dsp::DtmfEvent> events(64);
  events.resize(detector.Process(out, events));
  std::string digits;
  for (const dsp::DtmfEvent& e : events) {
    if (e.type == dsp::DtmfEventType::kStart) digits += e.digit;
  }
  EXPECT_EQ(digits, "123A456B789C*0#D");
}

TEST(SimPhoneTest, RingerRecordsUsCadenceOverTwoCycles) {
  ManualClock clock;
  const TimePoint t0 = clock.Now();
  SimPhone phone(clock);
  ASSERT_EQ(phone.Apply(LineCommand::RingStart(kUsRingCadence)), CommandResult::kOk);
  EXPECT_EQ(phone.ring_state(), SimPhone::RingState::kRinging);
  RunLine(phone, clock, 1250, kFrame);  // 12.5 s: two full cycles and the third ring
  const std::span<const RingSegment> segments = phone.ringer().segments();
  ASSERT_EQ(segments.size(), 4u);
  const bool ringing[] = {true, false, true, false};
  const int64_t start_ms[] = {0, 2000, 6000, 8000};
  const int64_t length_ms[] = {2000, 4000, 2000, 4000};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(segments[i].ringing, ringing[i]) << i;
    EXPECT_EQ(MsSince(t0, segments[i].start), start_ms[i]) << i;
    EXPECT_EQ(ToMillis(segments[i].duration), length_ms[i]) << i;
  }
  EXPECT_EQ(phone.ringer().rings(), 3u);
  EXPECT_TRUE(phone.ringer().ringing());

  // Answering trips the ring: voltage goes away at once and stays away.
  ASSERT_TRUE(phone.OffHook().ok());
  EXPECT_EQ(phone.ring_state(), SimPhone::RingState::kIdle);
  RunLine(phone, clock, 1000, kFrame);
  EXPECT_FALSE(phone.ringer().ringing());
  ASSERT_EQ(phone.ringer().segments().size(), 5u);
  EXPECT_EQ(ToMillis(phone.ringer().segments()[4].duration), 500);
  EXPECT_EQ(phone.ringer().rings(), 3u);
  // Ringing an off-hook phone is refused.
  EXPECT_EQ(phone.Apply(LineCommand::RingStart(kUsRingCadence)), CommandResult::kInvalid);
  EXPECT_EQ(phone.commands_refused(), 1u);
}

TEST(SimPhoneTest, RingerRecordsUkDoubleRingWith4msFrames) {
  ManualClock clock;
  SimPhone phone(clock);
  const dsp::Cadence uk{{400, 200, 400, 2000}, 4, true};
  ASSERT_EQ(phone.Apply(LineCommand::RingStart(uk)), CommandResult::kOk);
  RunLine(phone, clock, 3100 / 4, 32);  // 3.1 s of 4 ms frames
  ASSERT_EQ(phone.Apply(LineCommand::RingStop()), CommandResult::kOk);
  RunLine(phone, clock, 10, 32);
  const std::span<const RingSegment> s = phone.ringer().segments();
  ASSERT_EQ(s.size(), 5u);  // on, off, on, off (2000), on; then the stop
  const int64_t length_ms[] = {400, 200, 400, 2000, 100};
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(ToMillis(s[i].duration), length_ms[i]) << i;
}

TEST(SimPhoneTest, ToneIntoTheLineMeasuresWithinOnePercentAndHalfADb) {
  struct Case {
    double hz;
    double dbm0;
  };
  for (const Case c : {Case{1000, -10}, Case{440, -20}, Case{2600, 0}, Case{300, -30}}) {
    ManualClock clock;
    SimPhone phone(clock);
    ASSERT_TRUE(phone.OffHook().ok());
    ASSERT_TRUE(phone.PlayTone(c.hz, c.dbm0).ok());
    Signal out;
    RunLine(phone, clock, 100, kFrame, nullptr, &out);
    const dsp::ToneAnalysis a = dsp::AnalyseTone(out);
    EXPECT_NEAR(a.frequency_hz, c.hz, c.hz * 0.01) << c.hz;
    EXPECT_NEAR(a.tone_level_dbm0, c.dbm0, 0.5) << c.hz;
  }
  ManualClock clock;
  SimPhone phone(clock);
  EXPECT_FALSE(phone.PlayTone(4000, -10).ok());
  EXPECT_FALSE(phone.PlayTone(1000, 4).ok());
  // On-hook, nothing reaches the line even while playing.
  ASSERT_TRUE(phone.PlayTone(1000, -10).ok());
  Signal out;
  RunLine(phone, clock, 10, kFrame, nullptr, &out);
  EXPECT_EQ(dsp::MeasureLevel(out), dsp::kSilenceDbm0);
}

TEST(SimPhoneTest, ListenReportsGatewayToneAndDigits) {
  ManualClock clock;
  SimPhone phone(clock);
  ASSERT_TRUE(phone.OffHook().ok());
  RunLine(phone, clock, 60, kFrame, ToneSource(dsp::ToneSpec::Single(1400, -18)));
  Result<ListenReport> report = phone.Listen(500);
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_EQ(report->window_ms, 500u);
  EXPECT_NEAR(report->tone.frequency_hz, 1400, 14);
  EXPECT_NEAR(report->tone.tone_level_dbm0, -18, 0.5);
  EXPECT_TRUE(report->digits.empty());

  // DTMF from the gateway, then silence: the digits are reported once.
  dsp::DtmfGenerator gateway_dtmf;
  ASSERT_TRUE(gateway_dtmf.Queue("59#"));
  RunLine(phone, clock, 60, kFrame, [&](uint64_t, std::span<int16_t> f) { gateway_dtmf.Generate(f); });
  report = phone.Listen(100);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->digits, "59#");
  EXPECT_EQ(report->tone.total_level_dbm0, dsp::kSilenceDbm0);  // the last 100 ms were the pause
  EXPECT_EQ(phone.Listen(100)->digits, "");
  EXPECT_NE(FormatListenReport(*report).find("DTMF 59#"), std::string::npos);

  // On-hook the phone hears nothing, whatever the gateway sends.
  ASSERT_TRUE(phone.OnHook().ok());
  RunLine(phone, clock, 60, kFrame, ToneSource(dsp::ToneSpec::Single(1400, -18)));
  EXPECT_EQ(phone.Listen(500)->tone.total_level_dbm0, dsp::kSilenceDbm0);
  EXPECT_FALSE(phone.Listen(0).ok());
  EXPECT_FALSE(phone.Listen(AudioMonitor::kMaxWindowMs + 1).ok());
}

TEST(SimPhoneTest, PolarityMessageWaitingAndFxoCommands) {
  ManualClock clock;
  SimPhone phone(clock);
  EXPECT_EQ(phone.Apply(LineCommand::MessageWaiting(true)), CommandResult::kOk);
  EXPECT_TRUE(phone.message_waiting());
  EXPECT_EQ(phone.Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kOk);
  EXPECT_EQ(phone.Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kOk);
  EXPECT_EQ(phone.Apply(LineCommand::SetPolarity(Polarity::kNormal)), CommandResult::kOk);
  EXPECT_EQ(phone.polarity_reversals(), 2u);
  EXPECT_EQ(phone.Apply(LineCommand::Seize()), CommandResult::kNotApplicable);
  EXPECT_EQ(phone.Apply(LineCommand::Release()), CommandResult::kNotApplicable);
  EXPECT_EQ(phone.Apply(LineCommand::RingStart(dsp::Cadence{{0, 100}, 2, true})), CommandResult::kInvalid);
  EXPECT_EQ(phone.commands_refused(), 3u);
  EXPECT_NE(phone.Describe().find("mwi on"), std::string::npos) << phone.Describe();
  EXPECT_EQ(phone.Apply(LineCommand::MessageWaiting(false)), CommandResult::kOk);
  EXPECT_FALSE(phone.message_waiting());
}

TEST(SimPhoneTest, RecordingIsBoundedAndFinishedByFlush) {
  ManualClock clock;
  SimPhone phone(clock, {.record_buffer_ms = 200});
  testing::FileCleanup file(testing::TempPath("bounded.wav"));
  ASSERT_TRUE(phone.OffHook().ok());
  ASSERT_TRUE(phone.StartRecording(file.path(), 1000).ok());
  EXPECT_FALSE(phone.StartRecording(file.path(), 1000).ok());  // already recording
  Signal heard;
  for (int i = 0; i < 15; ++i) {  // 1.5 s, flushed every 100 ms
    RunLine(phone, clock, 10, kFrame, ToneSource(dsp::ToneSpec::Single(500, -10)));
    ASSERT_TRUE(phone.Flush().ok());
  }
  EXPECT_EQ(phone.recorder().state(), AudioRecorder::State::kIdle);
  EXPECT_EQ(phone.recorder().samples_captured(), 8000u);
  EXPECT_EQ(phone.recorder().samples_dropped(), 0u);
  Result<std::vector<int16_t>> recorded = ReadWavFile(file.path());
  ASSERT_TRUE(recorded.ok()) << recorded.error();
  ASSERT_EQ(recorded->size(), 8000u);
  EXPECT_NEAR(dsp::AnalyseTone(*recorded).frequency_hz, 500, 5);
  EXPECT_NE(phone.recorder().last_result().find("recorded 8000 samples"), std::string::npos);
}

TEST(SimPhoneTest, RecordingWithoutFlushLosesAndCountsSamples) {
  ManualClock clock;
  SimPhone phone(clock, {.record_buffer_ms = 100});
  testing::FileCleanup file(testing::TempPath("overflow.wav"));
  ASSERT_TRUE(phone.OffHook().ok());
  ASSERT_TRUE(phone.StartRecording(file.path(), 5000).ok());
  RunLine(phone, clock, 30, kFrame);  // 300 ms into a 100 ms ring, no flush
  EXPECT_EQ(phone.recorder().samples_captured(), 800u);
  EXPECT_EQ(phone.recorder().samples_dropped(), 1600u);
  ASSERT_TRUE(phone.StopRecording().ok());
  EXPECT_NE(phone.recorder().last_result().find("1600 samples lost"), std::string::npos);
  EXPECT_EQ(ReadWavFile(file.path())->size(), 800u);
  EXPECT_FALSE(phone.StopRecording().ok());
  EXPECT_FALSE(phone.StartRecording("/nonexistent/dir/x.wav", 1000).ok());
}

TEST(SimPhoneTest, PlayWavFileRefusesBadFilesAndPlaysGoodOnesExactly) {
  ManualClock clock;
  SimPhone phone(clock);
  EXPECT_FALSE(phone.PlayWavFile("/nonexistent.wav").ok());
  testing::FileCleanup file(testing::TempPath("play.wav"));
  std::vector<int16_t> samples(1000);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(i * 37 - 20000);
  const std::vector<std::byte> bytes = EncodeWav(samples);
  std::FILE* f = std::fopen(file.path().c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  ASSERT_TRUE(phone.OffHook().ok());
  ASSERT_TRUE(phone.PlayWavFile(file.path()).ok());
  Signal out;
  RunLine(phone, clock, 15, kFrame, nullptr, &out);
  ASSERT_EQ(out.size(), 1200u);
  EXPECT_EQ(std::vector<int16_t>(out.begin(), out.begin() + 1000), samples);
  EXPECT_EQ(std::vector<int16_t>(out.begin() + 1000, out.end()), std::vector<int16_t>(200, 0));
  EXPECT_EQ(phone.player().mode(), AudioPlayer::Mode::kIdle);
}

// ---- Caller ID ------------------------------------------------------------------------

dsp::CallerIdInfo LinegateCaller() {
  dsp::CallerIdInfo info;
  info.date_time = dsp::CallerIdDateTime{3, 15, 14, 30};
  (void)info.number.Assign("5551234");
  (void)info.name.Assign("LINEGATE");
  return info;
}

// The gateway's side of a call with caller ID: ring commands at given times and a caller
// ID burst started at `cid_ms`, all in 10 ms ticks.
struct CallerIdScenario {
  dsp::CallerIdStandard standard = dsp::CallerIdStandard::kBell202;
  dsp::CallerIdFormat format = dsp::CallerIdFormat::kMdmf;
  dsp::Cadence ring = kUsRingCadence;
  uint64_t ring_ms = 0;
  uint64_t cid_ms = 2500;
  uint64_t run_ms = 6000;
  bool reverse_polarity_at_start = false;  // ETSI: line reversal before the FSK
};

std::optional<ReceivedCallerId> RunCallerIdScenario(SimPhone& phone, ManualClock& clock,
                                                    const CallerIdScenario& c) {
  dsp::CallerIdInfo info = LinegateCaller();
  if (c.format == dsp::CallerIdFormat::kSdmf) info.name = {};  // SDMF carries no name
  dsp::CallerIdGenerator generator;
  if (!generator.Start(info, c.format, c.standard)) {
    ADD_FAILURE() << "cannot start the generator";
    return std::nullopt;
  }
  if (c.reverse_polarity_at_start) {
    EXPECT_EQ(phone.Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kOk);
  }
  for (uint64_t tick = 0; tick * 10 < c.run_ms; ++tick) {
    if (tick * 10 == c.ring_ms) {
      EXPECT_EQ(phone.Apply(LineCommand::RingStart(c.ring)), CommandResult::kOk);
    }
    RunLine(phone, clock, 1, kFrame, [&](uint64_t, std::span<int16_t> frame) {
      if (tick * 10 >= c.cid_ms) generator.Generate(frame);
    });
  }
  EXPECT_TRUE(generator.done());
  return phone.caller_id();
}

TEST(SimPhoneTest, CallerIdBell202BetweenTheFirstAndSecondRing) {
  // The acceptance scenario: US ringing (2 s on, 4 s off), FSK 500 ms after the first
  // ring ends, finished well before the second ring at 6 s.
  for (const dsp::CallerIdFormat format : {dsp::CallerIdFormat::kMdmf, dsp::CallerIdFormat::kSdmf}) {
    ManualClock clock;
    const TimePoint t0 = clock.Now();
    SimPhone phone(clock);
    EXPECT_FALSE(phone.caller_id());
    const std::optional<ReceivedCallerId> cid = RunCallerIdScenario(phone, clock, {.format = format});
    ASSERT_TRUE(cid);
    EXPECT_EQ(cid->result.info.number.view(), "5551234");
    EXPECT_EQ(cid->result.info.name.view(), format == dsp::CallerIdFormat::kMdmf ? "LINEGATE" : "");
    EXPECT_EQ(cid->result.standard, dsp::CallerIdStandard::kBell202);
    EXPECT_EQ(cid->rings_before, 1u);
    EXPECT_GT(MsSince(t0, cid->time), 2500);
    EXPECT_LT(MsSince(t0, cid->time), 6000);
    EXPECT_EQ(phone.ringer().rings(), 1u);  // the second ring has not come yet
    EXPECT_EQ(phone.caller_ids_rejected(), 0u);
    const std::string status = phone.Describe();
    EXPECT_NE(
        status.find(format == dsp::CallerIdFormat::kMdmf
                        ? "caller-id: number=5551234 name=\"LINEGATE\" time=03-15T14:30 standard=bell202"
                        : "caller-id: number=5551234 time=03-15T14:30 standard=bell202"),
        std::string::npos)
        << status;
  }
}

TEST(SimPhoneTest, CallerIdEtsiV23BeforeAndAfterTheFirstRing) {
  const dsp::Cadence etsi_ring{{1000, 4000}, 2, true};
  {
    // Line reversal, FSK at 100 ms (about 0.5 s long), first ring at 1 s.
    ManualClock clock;
    SimPhone phone(clock);
    const std::optional<ReceivedCallerId> cid = RunCallerIdScenario(phone, clock,
                                                                    {.standard = dsp::CallerIdStandard::kV23,
                                                                     .ring = etsi_ring,
                                                                     .ring_ms = 1000,
                                                                     .cid_ms = 100,
                                                                     .run_ms = 2000,
                                                                     .reverse_polarity_at_start = true});
    ASSERT_TRUE(cid);
    EXPECT_EQ(cid->result.info, LinegateCaller());
    EXPECT_EQ(cid->result.standard, dsp::CallerIdStandard::kV23);
    EXPECT_EQ(cid->rings_before, 0u);
    EXPECT_EQ(phone.polarity_reversals(), 1u);
    EXPECT_NE(
        phone.Describe().find("caller-id: number=5551234 name=\"LINEGATE\" time=03-15T14:30 standard=v23"),
        std::string::npos)
        << phone.Describe();
  }
  {
    // After the first ring (1 s), in the 4 s silence.
    ManualClock clock;
    SimPhone phone(clock);
    const std::optional<ReceivedCallerId> cid = RunCallerIdScenario(
        phone, clock,
        {.standard = dsp::CallerIdStandard::kV23, .ring = etsi_ring, .cid_ms = 1500, .run_ms = 4500});
    ASSERT_TRUE(cid);
    EXPECT_EQ(cid->result.info, LinegateCaller());
    EXPECT_EQ(cid->result.standard, dsp::CallerIdStandard::kV23);
    EXPECT_EQ(cid->rings_before, 1u);
  }
}

TEST(SimPhoneTest, CallerIdDtmfBeforeTheFirstRing) {
  ManualClock clock;
  SimPhone phone(clock);
  // "A5551234C" takes 1.19 s; the ring comes at 1.5 s.
  const std::optional<ReceivedCallerId> cid = RunCallerIdScenario(phone, clock,
                                                                  {.standard = dsp::CallerIdStandard::kDtmf,
                                                                   .ring = {{1000, 4000}, 2, true},
                                                                   .ring_ms = 1500,
                                                                   .cid_ms = 100,
                                                                   .run_ms = 2500});
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->result.info.number.view(), "5551234");
  EXPECT_EQ(cid->result.standard, dsp::CallerIdStandard::kDtmf);
  EXPECT_EQ(cid->rings_before, 0u);
  EXPECT_NE(phone.Describe().find("caller-id: number=5551234 standard=dtmf"), std::string::npos)
      << phone.Describe();
  // The phone's listener did not hear the digits: on-hook audio goes to the caller-ID
  // unit only.
  Result<ListenReport> heard = phone.Listen(1000);
  ASSERT_TRUE(heard.ok());
  EXPECT_EQ(heard->digits, "");
  EXPECT_EQ(heard->tone.total_level_dbm0, dsp::kSilenceDbm0);
}

TEST(SimPhoneTest, CallerIdIsLostDuringRingVoltageOrOffHookAndRejectionsAreCounted) {
  {
    // FSK sent while the ring voltage is on (a gateway timing bug): not received.
    ManualClock clock;
    SimPhone phone(clock);
    EXPECT_FALSE(RunCallerIdScenario(phone, clock, {.cid_ms = 200, .run_ms = 3000}));
  }
  {
    // Off-hook: no caller ID without the CAS alert that announces type 2 (see
    // media_engine_test's Type2CallerIdIsDisplayedByAnOffHookPhone); what the phone hears
    // is the FSK itself.
    ManualClock clock;
    SimPhone phone(clock);
    ASSERT_TRUE(phone.OffHook().ok());
    EXPECT_FALSE(RunCallerIdScenario(phone, clock, {.ring_ms = 99999, .cid_ms = 0, .run_ms = 1000}));
    EXPECT_GT(phone.Listen(1000)->tone.total_level_dbm0, -17.0);  // 658 ms of -13.5 dBm0 in 1 s
  }
  {
    // A corrupted message is rejected and counted; the display keeps nothing.
    ManualClock clock;
    SimPhone phone(clock);
    dsp::CallerIdMessage m = *dsp::EncodeCallerIdFsk(LinegateCaller(), dsp::CallerIdFormat::kMdmf);
    m.bytes[20] ^= 0x10;
    dsp::CallerIdGenerator generator;
    ASSERT_TRUE(generator.Start(m, dsp::CallerIdStandard::kBell202));
    RunLine(phone, clock, 100, kFrame, [&](uint64_t, std::span<int16_t> f) { generator.Generate(f); });
    EXPECT_FALSE(phone.caller_id());
    EXPECT_EQ(phone.caller_ids_rejected(), 1u);
    EXPECT_EQ(phone.fsk_caller_id_stats().checksum_errors, 1u);
    EXPECT_NE(phone.Describe().find("caller-id rejected 1"), std::string::npos) << phone.Describe();
  }
}

TEST(SimPhoneTest, FormatCallerIdShowsAbsenceReasons) {
  dsp::CallerIdResult r;
  r.standard = dsp::CallerIdStandard::kV23;
  r.info.number_absence = dsp::CallerIdAbsence::kPrivate;
  r.info.name_absence = dsp::CallerIdAbsence::kUnavailable;
  EXPECT_EQ(FormatCallerId(r), "number=private name=unavailable standard=v23");
  r.info = LinegateCaller();
  r.standard = dsp::CallerIdStandard::kBell202;
  EXPECT_EQ(FormatCallerId(r), "number=5551234 name=\"LINEGATE\" time=03-15T14:30 standard=bell202");
}

}  // namespace
}  // namespace linegate::media::tdm::sim
