// SimExchangeLine ringing the gateway's FXO port with caller ID: what reaches the
// gateway in the from-line audio, decoded as a gateway would (dsp::CallerIdReceiver,
// dsp::DtmfCallerIdReceiver), and when, measured from the ring events; dropped when the
// port answers first; refusals.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "media/dsp/caller_id.h"
#include "media/dsp/levels.h"
#include "media/tdm/sim/sim_exchange_line.h"
#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

using testing::DrainEvents;
using testing::MsSince;
using testing::RunLine;
using testing::Signal;

constexpr uint32_t kFrame = 80;
using Tx = CallerIdTransmission::State;

dsp::CallerIdInfo Caller(bool with_name = true) {
  dsp::CallerIdInfo info;
  (void)info.number.Assign("5551234");
  if (with_name) (void)info.name.Assign("LINEGATE");
  return info;
}

// Sample index (from t0, 8 kHz) of a clock time.
size_t SampleAt(TimePoint t0, TimePoint t) {
  return static_cast<size_t>(std::chrono::duration_cast<std::chrono::microseconds>(t - t0).count() / 125);
}

// Runs the line for `ms` (rounded up to whole frames), appending its from-line audio.
void RunMs(SimExchangeLine& line, ManualClock& clock, uint32_t ms, uint32_t frame, Signal* audio = nullptr) {
  RunLine(line, clock, (MsToSamples(ms) + frame - 1) / frame, frame, nullptr, audio);
}

// What the line must have sent: silence, a reference generator's burst from `start`,
// silence; `size` samples in all.
Signal Expected(const dsp::CallerIdInfo& info, dsp::CallerIdStandard standard, size_t start, size_t size) {
  Signal s(size, 0);
  dsp::CallerIdGenerator reference;
  EXPECT_TRUE(reference.Start(info, dsp::CallerIdFormat::kMdmf, standard));
  reference.Generate(std::span<int16_t>(s).subspan(start));
  EXPECT_TRUE(reference.done());
  return s;
}

// The first sample where two signals differ, or their size if none.
size_t FirstDifference(const Signal& a, const Signal& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// The gateway's receivers over the from-line audio, 10 ms at a time: the last message
// that completed (accepted or not).
template <typename Receiver>
std::optional<dsp::CallerIdResult> Decode(const Signal& s) {
  Receiver receiver;
  std::optional<dsp::CallerIdResult> last;
  for (size_t at = 0; at < s.size(); at += 80) {
    if (receiver.Process(std::span<const int16_t>(s).subspan(at, std::min<size_t>(80, s.size() - at)))) {
      last = receiver.result();
    }
  }
  return last;
}

// FSK after the first ring, with frames of `frame` samples: the burst starts exactly
// caller_id_after_ring_ms after the kRingOff of the first ring (mid-frame if need be),
// is sample for sample what a reference generator makes, decodes, and ends at least
// 200 ms before the second ring.
void CheckFskAfterFirstRing(dsp::CallerIdStandard standard, const dsp::Cadence& cadence, uint32_t frame) {
  SCOPED_TRACE(::testing::Message() << dsp::CallerIdStandardName(standard) << ", frame " << frame);
  ManualClock clock;
  const TimePoint t0 = clock.Now();
  SimExchangeLine line(clock);
  ASSERT_TRUE(line.Ring(cadence, ExchangeCallerId{Caller(), standard}).ok());
  ASSERT_TRUE(line.caller_id());
  EXPECT_EQ(line.caller_id()->state, Tx::kWaiting);
  const uint32_t cycle_ms = cadence.segments_ms[0] + cadence.segments_ms[1];
  Signal audio;
  RunMs(line, clock, cycle_ms + 500, frame, &audio);

  const std::vector<LineEvent> events = DrainEvents(line);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, LineEventType::kRingOn);
  EXPECT_EQ(events[1].type, LineEventType::kRingOff);
  EXPECT_EQ(events[2].type, LineEventType::kRingOn);
  EXPECT_EQ(MsSince(t0, events[0].time), 0);
  // A cadence step shows at the start of the frame it fell due in (exact at 10 ms).
  EXPECT_GE(MsSince(t0, events[1].time), cadence.segments_ms[0]);
  EXPECT_LT(MsSince(t0, events[1].time), cadence.segments_ms[0] + frame / 8);

  const size_t ring_off = SampleAt(t0, events[1].time);
  const size_t start = ring_off + MsToSamples(500);
  const size_t mismatch = FirstDifference(audio, Expected(Caller(), standard, start, audio.size()));
  EXPECT_EQ(mismatch, audio.size()) << "first difference at " << mismatch / 8.0 << " ms";

  const std::optional<dsp::CallerIdResult> got = Decode<dsp::CallerIdReceiver>(audio);
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->accepted()) << dsp::CallerIdParseStatusName(got->status);
  EXPECT_EQ(got->info.number.view(), "5551234");
  EXPECT_EQ(got->info.name.view(), "LINEGATE");
  EXPECT_EQ(got->standard, standard);
  EXPECT_EQ(got->format, dsp::CallerIdFormat::kMdmf);
  // Decoded in the silence, with the guard before the second ring.
  EXPECT_GT(got->end_sample, start);
  EXPECT_LE(got->end_sample + MsToSamples(kCallerIdGuardBeforeRingMs), SampleAt(t0, events[2].time));

  ASSERT_TRUE(line.caller_id());
  const CallerIdTransmission& sent = *line.caller_id();
  EXPECT_EQ(sent.state, Tx::kSent);
  EXPECT_EQ(SampleAt(t0, sent.started), start);
  dsp::CallerIdGenerator reference;
  ASSERT_TRUE(reference.Start(Caller(), dsp::CallerIdFormat::kMdmf, standard));
  EXPECT_EQ(SampleAt(t0, sent.finished), start + reference.total_samples());
  EXPECT_LE(SampleAt(t0, sent.finished) + MsToSamples(kCallerIdGuardBeforeRingMs),
            SampleAt(t0, events[2].time));
  EXPECT_EQ(line.caller_ids_sent(), 1u);
  EXPECT_EQ(line.caller_ids_dropped(), 0u);
  EXPECT_NE(line.Describe().find(fmt::format("caller-id sent: number=5551234 name=\"LINEGATE\" standard={}",
                                             dsp::CallerIdStandardName(standard))),
            std::string::npos)
      << line.Describe();
}

TEST(SimExchangeLineCallerIdTest, Bell202InTheFirstSilentInterval) {
  // US ringing 2 s / 4 s: the burst at 2.5 s, ~0.6 s long.
  for (const uint32_t frame : {80u, 24u, 8u})
    CheckFskAfterFirstRing(dsp::CallerIdStandard::kBell202, kUsRingCadence, frame);
}

TEST(SimExchangeLineCallerIdTest, EtsiV23AfterTheFirstRing) {
  // ETSI-style ringing 1 s / 4 s: the burst at 1.5 s.
  for (const uint32_t frame : {80u, 24u}) {
    CheckFskAfterFirstRing(dsp::CallerIdStandard::kV23, dsp::Cadence{{1000, 4000}, 2, true}, frame);
  }
}

TEST(SimExchangeLineCallerIdTest, DtmfBeforeTheFirstRing) {
  for (const uint32_t frame : {80u, 24u}) {
    SCOPED_TRACE(frame);
    ManualClock clock;
    const TimePoint t0 = clock.Now();
    SimExchangeLine line(clock);
    const dsp::CallerIdInfo caller = Caller(/*with_name=*/false);
    ASSERT_TRUE(line.Ring(std::nullopt, ExchangeCallerId{caller, dsp::CallerIdStandard::kDtmf}).ok());
    Signal audio;
    RunMs(line, clock, 4000, frame, &audio);

    // "A5551234C": 9 digits of 70 ms tone and 70 ms gap from the first tick; the last
    // tone ends at 1190 ms and the first ring comes 300 ms later.
    const std::vector<LineEvent> events = DrainEvents(line);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, LineEventType::kRingOn);
    EXPECT_EQ(events[1].type, LineEventType::kRingOff);
    EXPECT_GE(MsSince(t0, events[0].time), 1490);
    EXPECT_LT(MsSince(t0, events[0].time), 1490 + frame / 8);
    EXPECT_GE(MsSince(t0, events[1].time) - MsSince(t0, events[0].time), 2000);
    EXPECT_LT(MsSince(t0, events[1].time) - MsSince(t0, events[0].time), 2000 + frame / 8);

    const size_t mismatch =
        FirstDifference(audio, Expected(caller, dsp::CallerIdStandard::kDtmf, 0, audio.size()));
    EXPECT_EQ(mismatch, audio.size()) << "first difference at " << mismatch / 8.0 << " ms";
    // The last tone: on until 1190 ms, silence from then on, through the ring.
    EXPECT_GT(dsp::MeasureLevel(testing::Slice(audio, 1130, 1190)), -15.0);
    EXPECT_EQ(dsp::MeasureLevel(testing::Slice(audio, 1190, 4000)), dsp::kSilenceDbm0);

    const std::optional<dsp::CallerIdResult> got = Decode<dsp::DtmfCallerIdReceiver>(audio);
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->accepted());
    EXPECT_EQ(got->info.number.view(), "5551234");
    EXPECT_EQ(got->standard, dsp::CallerIdStandard::kDtmf);
    EXPECT_LT(got->end_sample, SampleAt(t0, events[0].time));

    ASSERT_TRUE(line.caller_id());
    EXPECT_EQ(line.caller_id()->state, Tx::kSent);
    EXPECT_EQ(line.caller_id()->started, t0);
    EXPECT_EQ(MsSince(t0, line.caller_id()->finished), 1260);
    EXPECT_NE(line.Describe().find("caller-id sent: number=5551234 standard=dtmf"), std::string::npos)
        << line.Describe();
  }
}

// The port answers before the caller ID has gone out: it is dropped (a burst is cut off)
// and nothing more of it reaches the gateway.
TEST(SimExchangeLineCallerIdTest, DroppedWhenThePortSeizesFirst) {
  struct Case {
    dsp::CallerIdStandard standard;
    uint32_t seize_ms;
    const char* what;
  };
  for (const Case& c : {Case{dsp::CallerIdStandard::kBell202, 1000, "during the first ring"},
                        Case{dsp::CallerIdStandard::kBell202, 2300, "in the pause before the burst"},
                        Case{dsp::CallerIdStandard::kBell202, 2800, "during the burst"},
                        Case{dsp::CallerIdStandard::kV23, 2100, "in the pause before the burst"},
                        Case{dsp::CallerIdStandard::kDtmf, 500, "during the digits"}}) {
    SCOPED_TRACE(::testing::Message() << dsp::CallerIdStandardName(c.standard) << " " << c.what);
    ManualClock clock;
    const TimePoint t0 = clock.Now();
    SimExchangeLine line(clock);
    const bool dtmf = c.standard == dsp::CallerIdStandard::kDtmf;
    ASSERT_TRUE(line.Ring(std::nullopt, ExchangeCallerId{Caller(!dtmf), c.standard}).ok());
    Signal before;
    RunMs(line, clock, c.seize_ms, kFrame, &before);
    ASSERT_EQ(line.Apply(LineCommand::Seize()), CommandResult::kOk);
    EXPECT_EQ(line.state(), SimExchangeLine::State::kConnected);
    Signal after;
    RunMs(line, clock, 7000 - c.seize_ms, kFrame, &after);

    EXPECT_EQ(dsp::MeasureLevel(after), dsp::kSilenceDbm0) << "nothing sent after the answer";
    Signal all = before;
    all.insert(all.end(), after.begin(), after.end());
    const std::optional<dsp::CallerIdResult> got =
        dtmf ? Decode<dsp::DtmfCallerIdReceiver>(all) : Decode<dsp::CallerIdReceiver>(all);
    EXPECT_FALSE(got && got->accepted());
    ASSERT_TRUE(line.caller_id());
    EXPECT_EQ(line.caller_id()->state, Tx::kDropped);
    EXPECT_EQ(line.caller_ids_dropped(), 1u);
    EXPECT_EQ(line.caller_ids_sent(), 0u);
    EXPECT_NE(line.Describe().find("caller-id dropped: number=5551234"), std::string::npos)
        << line.Describe();
    // The ring stopped for good at the answer (DTMF: it never started).
    const std::vector<LineEvent> events = DrainEvents(line);
    if (dtmf) {
      EXPECT_TRUE(events.empty());
    } else {
      ASSERT_EQ(events.size(), 2u);
      EXPECT_EQ(events[1].type, LineEventType::kRingOff);
      EXPECT_EQ(MsSince(t0, events[1].time), std::min<uint32_t>(c.seize_ms, 2000));
    }
  }
}

TEST(SimExchangeLineCallerIdTest, DroppedWhenTheCallerGivesUpAndReplacedByTheNextCall) {
  ManualClock clock;
  SimExchangeLine line(clock);
  ASSERT_TRUE(line.Ring(std::nullopt, ExchangeCallerId{Caller(), dsp::CallerIdStandard::kBell202}).ok());
  RunMs(line, clock, 2200, kFrame);
  ASSERT_TRUE(line.StopRinging().ok());
  ASSERT_TRUE(line.caller_id());
  EXPECT_EQ(line.caller_id()->state, Tx::kDropped);
  Signal audio;
  RunMs(line, clock, 2000, kFrame, &audio);
  EXPECT_EQ(dsp::MeasureLevel(audio), dsp::kSilenceDbm0);

  // A ring without caller ID leaves the last one as it was; the next one with caller ID
  // replaces it. A V.23 burst (500 ms) just fits a silence of 1200 ms (500 ms pause,
  // 200 ms guard) and is sent before a non-repeating cadence ends.
  ASSERT_TRUE(line.Ring().ok());
  EXPECT_EQ(line.caller_id()->state, Tx::kDropped);
  ASSERT_TRUE(line.StopRinging().ok());
  EXPECT_FALSE(
      line.Ring(dsp::Cadence{{1000, 1190}, 2, false}, ExchangeCallerId{Caller(), dsp::CallerIdStandard::kV23})
          .ok());
  ASSERT_TRUE(
      line.Ring(dsp::Cadence{{1000, 1200}, 2, false}, ExchangeCallerId{Caller(), dsp::CallerIdStandard::kV23})
          .ok());
  RunMs(line, clock, 1000, kFrame);
  EXPECT_EQ(line.caller_id()->state, Tx::kWaiting);
  RunMs(line, clock, 1000, kFrame);
  EXPECT_EQ(line.caller_id()->state, Tx::kSent);
  RunMs(line, clock, 210, kFrame);  // the cadence ends at 2.2 s
  EXPECT_EQ(line.state(), SimExchangeLine::State::kIdle);
  EXPECT_EQ(line.caller_id()->caller_id.standard, dsp::CallerIdStandard::kV23);
  EXPECT_EQ(line.caller_ids_dropped(), 1u);
  EXPECT_EQ(line.caller_ids_sent(), 1u);
}

TEST(SimExchangeLineCallerIdTest, RefusesCallerIdsItCannotSend) {
  ManualClock clock;
  SimExchangeLine line(clock);
  const auto ring = [&](const dsp::Cadence& cadence, const dsp::CallerIdInfo& info,
                        dsp::CallerIdStandard standard) -> std::string {
    const Status s = line.Ring(cadence, ExchangeCallerId{info, standard});
    return s.ok() ? "ok" : s.error();
  };
  // UK double ring: 200 ms of silence after the first ring is too short for FSK.
  const dsp::Cadence uk{{400, 200, 400, 2000}, 4, true};
  EXPECT_EQ(ring(uk, Caller(), dsp::CallerIdStandard::kBell202),
            "caller ID: bell202 needs a silence of at least 1284 ms after the first ring (500 ms pause, "
            "584 ms burst, 200 ms guard); the cadence has 200 ms");
  EXPECT_EQ(ring(dsp::Cadence::Continuous(), Caller(), dsp::CallerIdStandard::kV23),
            "caller ID: v23 is sent in the silence after the first ring; the cadence has no such silence");
  EXPECT_EQ(ring(kUsRingCadence, Caller(), dsp::CallerIdStandard::kDtmf),
            "caller ID: DTMF caller ID carries no name");
  dsp::CallerIdInfo star;
  (void)star.number.Assign("555*1");
  EXPECT_EQ(ring(kUsRingCadence, star, dsp::CallerIdStandard::kDtmf),
            "caller ID: a DTMF caller ID number may hold only 0-9");
  EXPECT_EQ(ring(kUsRingCadence, dsp::CallerIdInfo{}, dsp::CallerIdStandard::kBell202),
            "caller ID: nothing to send");
  EXPECT_EQ(line.state(), SimExchangeLine::State::kIdle);
  EXPECT_FALSE(line.caller_id());
  // UK ringing with DTMF caller ID (before the first ring) is fine.
  EXPECT_EQ(ring(uk, Caller(/*with_name=*/false), dsp::CallerIdStandard::kDtmf), "ok");
  ASSERT_TRUE(line.StopRinging().ok());

  // Nothing of a refused caller ID is left behind: a plain ring sends silence.
  ASSERT_TRUE(line.Ring().ok());
  Signal audio;
  RunMs(line, clock, 4000, kFrame, &audio);
  EXPECT_EQ(dsp::MeasureLevel(audio), dsp::kSilenceDbm0);

  EXPECT_FALSE(ValidateSimExchangeLineConfig({.caller_id_after_ring_ms = 50}).ok());
  EXPECT_FALSE(ValidateSimExchangeLineConfig({.dtmf_caller_id_ring_gap_ms = 5000}).ok());
}

}  // namespace
}  // namespace linegate::media::tdm::sim
