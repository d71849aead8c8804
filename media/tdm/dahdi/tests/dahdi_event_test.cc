// Each DAHDI event becomes the gateway's LineEvent (the table in README.md), on the port
// type it concerns; the rest are counted and dropped. Ring trip and the hook state the
// kernel needs afterwards; removal of the card.

#include <gtest/gtest.h>

#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace linegate::media::tdm::dahdi {
namespace {

using sim::LineEventType;
using testing::CardFixture;
using testing::Drain;
using testing::Types;

constexpr int kFxs = 1;  // card channel 0
constexpr int kFxo = 3;  // card channel 2

struct Row {
  const char* name;
  int event;
  std::vector<LineEventType> fxs;  // what an FXS port reports
  std::vector<LineEventType> fxo;  // what an FXO port reports (fresh line each time)
};

const std::vector<Row>& Table() {
  static const std::vector<Row> rows = {
      {"RINGOFFHOOK",
       DAHDI_EVENT_RINGOFFHOOK,
       {LineEventType::kOffHook},
       {LineEventType::kRingOn, LineEventType::kRingOff}},
      {"ONHOOK", DAHDI_EVENT_ONHOOK, {LineEventType::kOnHook}, {LineEventType::kLoopDisconnect}},
      {"WINKFLASH", DAHDI_EVENT_WINKFLASH, {LineEventType::kFlash}, {}},
      {"RINGBEGIN", DAHDI_EVENT_RINGBEGIN, {}, {LineEventType::kRingOn}},
      {"POLARITY", DAHDI_EVENT_POLARITY, {}, {LineEventType::kPolarityReversal}},
      {"ALARM", DAHDI_EVENT_ALARM, {LineEventType::kAlarm}, {LineEventType::kAlarm}},
      {"NOALARM", DAHDI_EVENT_NOALARM, {LineEventType::kAlarmCleared}, {LineEventType::kAlarmCleared}},
      {"PULSEDIGIT 7", DAHDI_EVENT_PULSEDIGIT | '7', {LineEventType::kPulseDigit}, {}},
      {"RINGERON", DAHDI_EVENT_RINGERON, {}, {}},
      {"RINGEROFF", DAHDI_EVENT_RINGEROFF, {}, {}},
      {"HOOKCOMPLETE", DAHDI_EVENT_HOOKCOMPLETE, {}, {}},
      {"BITSCHANGED", DAHDI_EVENT_BITSCHANGED, {}, {}},
      {"PULSE_START", DAHDI_EVENT_PULSE_START, {}, {}},
      {"DIALCOMPLETE", DAHDI_EVENT_DIALCOMPLETE, {}, {}},
      {"NEONMWI_ACTIVE", DAHDI_EVENT_NEONMWI_ACTIVE, {}, {}},
      {"DTMFDOWN 5", DAHDI_EVENT_DTMFDOWN | '5', {}, {}},
      {"DTMFUP 5", DAHDI_EVENT_DTMFUP | '5', {}, {}},
      {"EC_DISABLED", DAHDI_EVENT_EC_DISABLED, {}, {}},
  };
  return rows;
}

TEST(DahdiEventTest, EveryEventOnEveryPortType) {
  for (const Row& row : Table()) {
    CardFixture f;
    f.fake.QueueEvent(kFxs, row.event);
    f.fake.QueueEvent(kFxo, row.event);
    f.clock.Advance(std::chrono::milliseconds(250));
    ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending) << row.name;
    EXPECT_EQ(f.card->PumpEvents(), 2u) << row.name;
    const auto fxs = Drain(f.card->line(0));
    const auto fxo = Drain(f.card->line(2));
    EXPECT_EQ(Types(fxs), row.fxs) << row.name;
    EXPECT_EQ(Types(fxo), row.fxo) << row.name;
    for (const LineEvent& e : fxs) EXPECT_EQ(e.time, f.clock.Now()) << "stamped when fetched";
    for (const LineEvent& e : fxo) EXPECT_EQ(e.time, f.clock.Now());
    EXPECT_EQ(f.card->line(0).stats().events, 1u);
    EXPECT_EQ(f.card->line(0).stats().events_ignored, row.fxs.empty() ? 1u : 0u) << row.name;
    EXPECT_EQ(f.card->line(2).stats().events_ignored, row.fxo.empty() ? 1u : 0u) << row.name;
    EXPECT_TRUE(Drain(f.card->line(1)).empty());
    EXPECT_TRUE(Drain(f.card->line(3)).empty());
  }
}

TEST(DahdiEventTest, PulseDigitsCarryTheDigit) {
  CardFixture f;
  for (char digit : std::string("1234567890")) f.fake.QueueEvent(kFxs, DAHDI_EVENT_PULSEDIGIT | digit);
  f.card->PumpEvents();  // nothing flagged yet: PumpEvents alone does not look
  EXPECT_TRUE(Drain(f.card->line(0)).empty());
  ASSERT_EQ(f.card->WaitForTick(10), DahdiCard::Wait::kEventsPending);
  EXPECT_EQ(f.fake.last_poll_timeout(), 10);
  EXPECT_EQ(f.card->PumpEvents(), 10u);
  std::string digits;
  for (const LineEvent& e : Drain(f.card->line(0))) {
    EXPECT_EQ(e.type, LineEventType::kPulseDigit);
    digits += e.digit;
  }
  EXPECT_EQ(digits, "1234567890");
}

TEST(DahdiEventTest, IncomingRingsOnAnFxoPort) {
  CardFixture f;
  DahdiLine& line = f.card->line(2);
  auto pump = [&] {
    EXPECT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
    f.card->PumpEvents();
    return Types(Drain(line));
  };
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_RINGBEGIN);
  EXPECT_EQ(pump(), std::vector<LineEventType>{LineEventType::kRingOn});
  EXPECT_TRUE(line.ring_on());
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_RINGBEGIN);  // a repeat is not a new ring
  EXPECT_TRUE(pump().empty());
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_RINGOFFHOOK);  // the burst ended
  EXPECT_EQ(pump(), std::vector<LineEventType>{LineEventType::kRingOff});
  EXPECT_FALSE(line.ring_on());
  // A burst whose beginning the kernel did not report (within 2 s of going on-hook).
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_RINGOFFHOOK);
  EXPECT_EQ(pump(), (std::vector<LineEventType>{LineEventType::kRingOn, LineEventType::kRingOff}));
}

TEST(DahdiEventTest, PolarityIsTrackedFromNormal) {
  CardFixture f;
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_POLARITY);
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_POLARITY);
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_POLARITY);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  const auto events = Drain(f.card->line(2));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].polarity, Polarity::kReversed);
  EXPECT_EQ(events[1].polarity, Polarity::kNormal);
  EXPECT_EQ(events[2].polarity, Polarity::kReversed);
  EXPECT_EQ(f.card->line(2).polarity(), Polarity::kReversed);
}

TEST(DahdiEventTest, RingTripTellsTheKernelTheCallWasAnsweredAndHangUpResetsIt) {
  CardFixture f;
  DahdiLine& phone = f.card->line(0);
  ASSERT_EQ(phone.Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kOk);
  f.fake.ClearIoctls();

  // The phone is picked up while ringing: the kernel must be told, or it keeps cycling
  // ring voltage onto an off-hook phone.
  f.fake.QueueEvent(kFxs, DAHDI_EVENT_RINGOFFHOOK);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  EXPECT_EQ(Types(Drain(phone)), std::vector<LineEventType>{LineEventType::kOffHook});
  EXPECT_FALSE(phone.ringing());
  EXPECT_TRUE(phone.off_hook());
  auto hooks = f.fake.IoctlsFor(kFxs, DAHDI_HOOK);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].IntArgument(), DAHDI_OFFHOOK);
  EXPECT_EQ(f.fake.channel(kFxs).tx, FakeDahdiDevice::TxHook::kOffHook);

  // Hang-up: the kernel's side goes back on-hook so that the next ring is accepted.
  f.fake.QueueEvent(kFxs, DAHDI_EVENT_ONHOOK);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  EXPECT_EQ(Types(Drain(phone)), std::vector<LineEventType>{LineEventType::kOnHook});
  hooks = f.fake.IoctlsFor(kFxs, DAHDI_HOOK);
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[1].IntArgument(), DAHDI_ONHOOK);
  EXPECT_EQ(phone.Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kOk);

  // An outgoing call (off-hook without a ring) changes nothing on the kernel's side.
  CardFixture g;
  g.fake.ClearIoctls();
  g.fake.QueueEvent(kFxs, DAHDI_EVENT_RINGOFFHOOK);
  g.fake.QueueEvent(kFxs, DAHDI_EVENT_WINKFLASH);
  g.fake.QueueEvent(kFxs, DAHDI_EVENT_ONHOOK);
  ASSERT_EQ(g.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  g.card->PumpEvents();
  EXPECT_EQ(
      Types(Drain(g.card->line(0))),
      (std::vector<LineEventType>{LineEventType::kOffHook, LineEventType::kFlash, LineEventType::kOnHook}));
  EXPECT_TRUE(g.fake.IoctlsFor(kFxs, DAHDI_HOOK).empty());
}

TEST(DahdiEventTest, AlarmsSetAndClearTheLinesAlarm) {
  CardFixture f;
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_ALARM);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  EXPECT_TRUE(f.card->line(2).alarm());
  f.fake.QueueEvent(kFxo, DAHDI_EVENT_NOALARM);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  EXPECT_FALSE(f.card->line(2).alarm());
  EXPECT_FALSE(f.card->line(2).failed());
}

TEST(DahdiEventTest, ARemovedCardFailsItsChannels) {
  CardFixture f;
  f.fake.RemoveChannel(kFxo);
  // poll shows POLLERR|POLLHUP|POLLPRI; DAHDI_GETEVENT says DAHDI_EVENT_REMOVED.
  EXPECT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kTimeout);
  DahdiLine& line = f.card->line(2);
  EXPECT_TRUE(line.failed());
  EXPECT_EQ(line.failure(), "the card was removed (DAHDI_EVENT_REMOVED)");
  EXPECT_TRUE(line.alarm());
  EXPECT_EQ(Types(Drain(line)), std::vector<LineEventType>{LineEventType::kAlarm});
  EXPECT_EQ(f.card->failed_channels(), 1u);
  EXPECT_FALSE(f.card->line(3).failed());
}

TEST(DahdiEventTest, ALineQueueOfSixtyFourCountsWhatDidNotFit) {
  CardFixture f;
  for (int i = 0; i < 70; ++i) f.fake.QueueEvent(kFxs, DAHDI_EVENT_WINKFLASH);
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  EXPECT_EQ(f.card->PumpEvents(), 65u);  // at most the kernel's queue size (+1) per channel and pump
  ASSERT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  EXPECT_EQ(f.card->PumpEvents(), 5u);
  EXPECT_EQ(Drain(f.card->line(0)).size(), sim::LineEventQueue::kCapacity);
  EXPECT_EQ(f.card->line(0).events_dropped(), 6u);
  EXPECT_EQ(f.card->line(0).stats().events, 70u);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
