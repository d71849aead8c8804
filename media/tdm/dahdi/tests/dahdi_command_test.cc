// Each line command becomes the exact ioctl with the exact argument (or is refused
// without one).

#include <gtest/gtest.h>

#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace linegate::media::tdm::dahdi {
namespace {

using testing::CardFixture;
using Call = FakeDahdiDevice::IoctlCall;
using TxHook = FakeDahdiDevice::TxHook;

constexpr int kFxs = 1;  // DAHDI channel of card channel 0
constexpr int kFxo = 3;  // DAHDI channel of card channel 2

unsigned long Request(const Call& call) { return call.request; }

struct CommandFixture : CardFixture {
  CommandFixture() : CommandFixture(testing::TypicalConfig()) {}
  explicit CommandFixture(const DahdiCardConfig& config) : CardFixture(config) { fake.ClearIoctls(); }
  DahdiLine& fxs() { return card->line(0); }
  DahdiLine& fxo() { return card->line(2); }
};

TEST(DahdiCommandTest, RingStartSetsTheCadenceThenRings) {
  CommandFixture f;
  ASSERT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kOk);
  const auto calls = f.fake.IoctlsFor(kFxs);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_SETCADENCE));
  const auto cadence = calls[0].As<dahdi_ring_cadence>();
  EXPECT_EQ(cadence.ringcadence[0], 2000);
  EXPECT_EQ(cadence.ringcadence[1], 4000);
  for (int i = 2; i < DAHDI_MAX_CADENCE; ++i) EXPECT_EQ(cadence.ringcadence[i], 0) << i;
  EXPECT_EQ(Request(calls[1]), static_cast<unsigned long>(DAHDI_HOOK));
  EXPECT_EQ(calls[1].IntArgument(), DAHDI_RING);
  EXPECT_EQ(calls[1].result, -EINPROGRESS);  // the kernel's answer on a non-blocking descriptor: fine
  EXPECT_TRUE(f.fxs().ringing());
  EXPECT_EQ(f.fake.channel(kFxs).tx, TxHook::kRinging);
}

TEST(DahdiCommandTest, UkDoubleRingAndRestartWithANewCadence) {
  CommandFixture f;
  const dsp::Cadence uk{{400, 200, 400, 2000}, 4, true};
  ASSERT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kOk);
  f.fake.ClearIoctls();
  ASSERT_EQ(f.fxs().Apply(LineCommand::RingStart(uk)), CommandResult::kOk);
  const auto calls = f.fake.IoctlsFor(kFxs);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_HOOK));
  EXPECT_EQ(calls[0].IntArgument(), DAHDI_RINGOFF);  // the kernel would refuse DAHDI_RING while ringing
  const auto cadence = calls[1].As<dahdi_ring_cadence>();
  const int expected[DAHDI_MAX_CADENCE] = {400, 200, 400, 2000};
  for (int i = 0; i < DAHDI_MAX_CADENCE; ++i) EXPECT_EQ(cadence.ringcadence[i], expected[i]) << i;
  EXPECT_EQ(calls[2].IntArgument(), DAHDI_RING);
  EXPECT_EQ(f.fake.channel(kFxs).cadence.ringcadence[3], 2000);
}

TEST(DahdiCommandTest, CadencesDahdiCannotExpressAreInvalidWithoutAnIoctl) {
  CommandFixture f;
  const std::vector<dsp::Cadence> cadences = {
      dsp::Cadence::Continuous(),              // DAHDI always cycles
      dsp::Cadence{{2000, 4000}, 2, false},    // DAHDI always repeats
      dsp::Cadence{{400, 200, 400}, 3, true},  // pairs only
      dsp::Cadence{{2000, 0}, 2, true},        // a zero ends DAHDI's list
      dsp::Cadence{{0, 100}, 2, true},
  };
  for (const dsp::Cadence& cadence : cadences) {
    EXPECT_EQ(f.fxs().Apply(LineCommand::RingStart(cadence)), CommandResult::kInvalid);
  }
  EXPECT_TRUE(f.fake.ioctls().empty());
  EXPECT_EQ(f.fxs().stats().commands_refused, cadences.size());
  EXPECT_FALSE(f.fxs().ringing());
}

TEST(DahdiCommandTest, RingingAnOffHookPhoneIsRefused) {
  CommandFixture f;
  f.fake.QueueEvent(kFxs, DAHDI_EVENT_RINGOFFHOOK);
  EXPECT_EQ(f.card->WaitForTick(0), DahdiCard::Wait::kEventsPending);
  f.card->PumpEvents();
  ASSERT_TRUE(f.fxs().off_hook());
  f.fake.ClearIoctls();
  EXPECT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kInvalid);
  EXPECT_TRUE(f.fake.ioctls().empty());
}

TEST(DahdiCommandTest, RingStopTurnsTheRingerOffOnlyWhenRinging) {
  CommandFixture f;
  EXPECT_EQ(f.fxs().Apply(LineCommand::RingStop()), CommandResult::kOk);
  EXPECT_TRUE(f.fake.ioctls().empty()) << "nothing rings: no ioctl";
  ASSERT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kOk);
  f.fake.ClearIoctls();
  EXPECT_EQ(f.fxs().Apply(LineCommand::RingStop()), CommandResult::kOk);
  const auto calls = f.fake.IoctlsFor(kFxs);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_HOOK));
  EXPECT_EQ(calls[0].IntArgument(), DAHDI_RINGOFF);
  EXPECT_FALSE(f.fxs().ringing());
  EXPECT_EQ(f.fake.channel(kFxs).tx, TxHook::kOnHook);
}

TEST(DahdiCommandTest, SetPolarity) {
  CommandFixture f;
  EXPECT_EQ(f.fxs().Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kOk);
  EXPECT_EQ(f.fxs().polarity(), Polarity::kReversed);
  EXPECT_EQ(f.fake.channel(kFxs).polarity, 1);
  EXPECT_EQ(f.fxs().Apply(LineCommand::SetPolarity(Polarity::kNormal)), CommandResult::kOk);
  const auto calls = f.fake.IoctlsFor(kFxs);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_SETPOLARITY));
  EXPECT_EQ(calls[0].IntArgument(), 1);
  EXPECT_EQ(Request(calls[1]), static_cast<unsigned long>(DAHDI_SETPOLARITY));
  EXPECT_EQ(calls[1].IntArgument(), 0);
  EXPECT_EQ(f.fxs().polarity(), Polarity::kNormal);
}

TEST(DahdiCommandTest, MessageWaitingNeedsAnIndication) {
  CommandFixture without;
  EXPECT_EQ(without.fxs().Apply(LineCommand::MessageWaiting(true)), CommandResult::kNotApplicable);
  EXPECT_TRUE(without.fake.ioctls().empty());

  DahdiCardConfig config = testing::TypicalConfig();
  config.mwi = MwiIndication::kNeon;
  CommandFixture f(config);
  EXPECT_EQ(f.fxs().Apply(LineCommand::MessageWaiting(true)), CommandResult::kOk);
  EXPECT_EQ(f.fake.channel(kFxs).vmwi_messages, 1);
  EXPECT_EQ(f.fxs().Apply(LineCommand::MessageWaiting(false)), CommandResult::kOk);
  const auto calls = f.fake.IoctlsFor(kFxs);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_VMWI));
  EXPECT_EQ(calls[0].IntArgument(), 1);
  EXPECT_EQ(calls[1].IntArgument(), 0);
  EXPECT_EQ(f.fake.channel(kFxs).vmwi_messages, 0);
}

TEST(DahdiCommandTest, SeizeAndRelease) {
  CommandFixture f;
  EXPECT_EQ(f.fxo().Apply(LineCommand::Release()), CommandResult::kInvalid);  // not seized
  EXPECT_EQ(f.fxo().Apply(LineCommand::Seize()), CommandResult::kOk);
  EXPECT_TRUE(f.fxo().seized());
  EXPECT_EQ(f.fake.channel(kFxo).tx, TxHook::kOffHook);
  EXPECT_EQ(f.fxo().Apply(LineCommand::Seize()), CommandResult::kInvalid);  // seized already
  EXPECT_EQ(f.fxo().Apply(LineCommand::Release()), CommandResult::kOk);
  EXPECT_FALSE(f.fxo().seized());
  EXPECT_EQ(f.fake.channel(kFxo).tx, TxHook::kOnHook);
  const auto calls = f.fake.IoctlsFor(kFxo);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Request(calls[0]), static_cast<unsigned long>(DAHDI_HOOK));
  EXPECT_EQ(calls[0].IntArgument(), DAHDI_OFFHOOK);
  EXPECT_EQ(Request(calls[1]), static_cast<unsigned long>(DAHDI_HOOK));
  EXPECT_EQ(calls[1].IntArgument(), DAHDI_ONHOOK);
  EXPECT_EQ(f.fxo().stats().commands_refused, 2u);
}

TEST(DahdiCommandTest, CommandsForTheOtherKindOfPortAreNotApplicable) {
  DahdiCardConfig config = testing::TypicalConfig();
  config.mwi = MwiIndication::kNeon;
  CommandFixture f(config);
  for (const LineCommand& command :
       {LineCommand::RingStart(sim::kUsRingCadence), LineCommand::RingStop(),
        LineCommand::SetPolarity(Polarity::kReversed), LineCommand::MessageWaiting(true)}) {
    EXPECT_EQ(f.fxo().Apply(command), CommandResult::kNotApplicable)
        << sim::LineCommandTypeName(command.type);
  }
  for (const LineCommand& command : {LineCommand::Seize(), LineCommand::Release()}) {
    EXPECT_EQ(f.fxs().Apply(command), CommandResult::kNotApplicable)
        << sim::LineCommandTypeName(command.type);
  }
  EXPECT_TRUE(f.fake.ioctls().empty());
  EXPECT_EQ(f.fxo().stats().commands_refused, 4u);
  EXPECT_EQ(f.fxs().stats().commands_refused, 2u);
}

TEST(DahdiCommandTest, KernelRefusalsAreFailedOrInvalid) {
  CommandFixture f;
  f.fake.ioctl_errors[DAHDI_SETPOLARITY] = ENOTTY;  // a card without polarity reversal
  EXPECT_EQ(f.fxs().Apply(LineCommand::SetPolarity(Polarity::kReversed)), CommandResult::kFailed);
  EXPECT_EQ(f.fxs().polarity(), Polarity::kNormal);
  EXPECT_EQ(f.fxs().stats().commands_failed, 1u);
  EXPECT_FALSE(f.fxs().failed()) << "a refused command does not fail the channel";

  // No tone zone loaded: DAHDI_RING answers ENODATA.
  f.fake.ioctl_errors[DAHDI_HOOK] = ENODATA;
  EXPECT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kFailed);
  EXPECT_FALSE(f.fxs().ringing());
  f.fake.ioctl_errors.clear();

  // The kernel's hook state machine is busy (e.g. the kewlstart after a hang-up).
  f.fake.channel(kFxs).tx = TxHook::kOffHook;
  EXPECT_EQ(f.fxs().Apply(LineCommand::RingStart(sim::kUsRingCadence)), CommandResult::kInvalid);
  EXPECT_EQ(f.fake.ioctls().back().result, -EBUSY);
  EXPECT_FALSE(f.fxs().ringing());
}

TEST(DahdiCommandTest, AChannelThatIsGoneFailsAndRefusesLaterCommands) {
  CommandFixture f;
  f.fake.FailChannel(kFxo, ENODEV);
  EXPECT_EQ(f.fxo().Apply(LineCommand::Seize()), CommandResult::kFailed);
  EXPECT_TRUE(f.fxo().failed());
  EXPECT_EQ(f.fxo().failure(), "DAHDI_HOOK: No such device");
  const size_t calls = f.fake.ioctls().size();
  EXPECT_EQ(f.fxo().Apply(LineCommand::Seize()), CommandResult::kFailed);
  EXPECT_EQ(f.fake.ioctls().size(), calls) << "no ioctl on a failed channel";
  EXPECT_EQ(f.fxo().stats().commands_failed, 2u);
  const auto events = testing::Drain(f.fxo());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, sim::LineEventType::kAlarm);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
