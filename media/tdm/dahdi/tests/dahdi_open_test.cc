// Opening a card: one descriptor per port, DAHDI_SPECIFY, the signalling check with the
// naming inversion, block size, buffers, linear or law, MWI configuration; errors name
// the field and the channel and leave nothing open.

#include <fcntl.h>
#include <gtest/gtest.h>

#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace linegate::media::tdm::dahdi {
namespace {

using testing::CardFixture;
using testing::TypicalConfig;
using Call = FakeDahdiDevice::IoctlCall;

Result<std::unique_ptr<DahdiCard>> OpenOn(FakeDahdiDevice& fake, const DahdiCardConfig& config) {
  static ManualClock clock;
  return DahdiCard::Open(fake, clock, config);
}

TEST(DahdiOpenTest, SpecifiesAndSetsUpEveryChannelInPortOrder) {
  CardFixture f;
  ASSERT_NE(f.card, nullptr);
  DahdiCard& card = *f.card;
  ASSERT_EQ(card.channel_count(), 4u);
  EXPECT_EQ(f.fake.counts().opens, 4u);
  EXPECT_EQ(f.fake.open_descriptors(), 4u);

  const PortType types[] = {PortType::kFxs, PortType::kFxs, PortType::kFxo, PortType::kFxo};
  const int signalling[] = {DAHDI_SIG_FXOKS, DAHDI_SIG_FXOLS, DAHDI_SIG_FXSKS, DAHDI_SIG_FXSLS};
  for (uint32_t i = 0; i < 4; ++i) {
    const DahdiLine& line = card.line(i);
    const int number = static_cast<int>(i + 1);
    EXPECT_EQ(line.index(), i);
    EXPECT_EQ(line.type(), types[i]);
    EXPECT_EQ(line.dahdi_channel(), i + 1);
    EXPECT_EQ(line.signalling(), signalling[i]);
    EXPECT_EQ(line.law(), Law::kUlaw);
    EXPECT_EQ(line.kernel_name(), "FAKE/1/" + std::to_string(number));
    EXPECT_FALSE(line.failed());

    // The exact sequence, on the channel's own descriptor.
    const std::vector<Call> calls = f.fake.IoctlsFor(number);
    ASSERT_EQ(calls.size(), 5u) << "channel " << number;
    EXPECT_EQ(calls[0].request, static_cast<unsigned long>(DAHDI_SPECIFY));
    EXPECT_EQ(calls[0].IntArgument(), number);
    EXPECT_EQ(calls[1].request, static_cast<unsigned long>(DAHDI_GET_PARAMS));
    EXPECT_EQ(calls[2].request, static_cast<unsigned long>(DAHDI_SET_BLOCKSIZE));
    EXPECT_EQ(calls[2].IntArgument(), 80);
    EXPECT_EQ(calls[3].request, static_cast<unsigned long>(DAHDI_SET_BUFINFO));
    const auto buffers = calls[3].As<dahdi_bufferinfo>();
    EXPECT_EQ(buffers.txbufpolicy, DAHDI_POLICY_IMMEDIATE);
    EXPECT_EQ(buffers.rxbufpolicy, DAHDI_POLICY_IMMEDIATE);
    EXPECT_EQ(buffers.numbufs, 4);
    EXPECT_EQ(buffers.bufsize, 80);
    EXPECT_EQ(calls[4].request, static_cast<unsigned long>(DAHDI_SETLINEAR));
    EXPECT_EQ(calls[4].IntArgument(), 1);
    for (const Call& call : calls) {
      EXPECT_EQ(call.result, 0);
      EXPECT_EQ(call.fd, calls[0].fd);
    }
    EXPECT_EQ(f.fake.channel(number).block_size, 80);
    EXPECT_EQ(f.fake.channel(number).num_buffers, 4);
    EXPECT_TRUE(f.fake.channel(number).linear);
  }
  // The pacing channel is the highest DAHDI channel number.
  EXPECT_EQ(card.pacing_channel(), 3u);

  f.card.reset();
  EXPECT_EQ(f.fake.open_descriptors(), 0u);
  EXPECT_EQ(f.fake.counts().closes, 4u);
}

TEST(DahdiOpenTest, LawModeAndFrameSizeAndBuffers) {
  DahdiCardConfig config = TypicalConfig();
  config.audio = AudioMode::kLaw;
  config.frame_samples = 16;
  config.kernel_buffers = 8;
  CardFixture f(config, DAHDI_LAW_ALAW);
  ASSERT_NE(f.card, nullptr);
  for (int number = 1; number <= 4; ++number) {
    EXPECT_EQ(f.fake.IoctlsFor(number, DAHDI_SETLINEAR).at(0).IntArgument(), 0);
    EXPECT_EQ(f.fake.IoctlsFor(number, DAHDI_SET_BLOCKSIZE).at(0).IntArgument(), 16);
    EXPECT_EQ(f.fake.IoctlsFor(number, DAHDI_SET_BUFINFO).at(0).As<dahdi_bufferinfo>().numbufs, 8);
    EXPECT_FALSE(f.fake.channel(number).linear);
    EXPECT_EQ(f.card->line(static_cast<uint32_t>(number - 1)).law(), Law::kAlaw);
  }
}

TEST(DahdiOpenTest, ChannelOrderFollowsTheConfigurationNotTheNumbers) {
  FakeDahdiDevice fake;
  fake.AddChannel(9, DAHDI_SIG_FXSKS);
  fake.AddChannel(7, DAHDI_SIG_FXOKS);
  fake.AddChannel(5, DAHDI_SIG_FXOKS);
  DahdiCardConfig config = TypicalConfig();
  config.fxs_channels = {7, 5};
  config.fxo_channels = {9};
  auto card = OpenOn(fake, config);
  ASSERT_TRUE(card.ok()) << card.error();
  EXPECT_EQ((*card)->line(0).dahdi_channel(), 7u);
  EXPECT_EQ((*card)->line(1).dahdi_channel(), 5u);
  EXPECT_EQ((*card)->line(2).dahdi_channel(), 9u);
  EXPECT_EQ((*card)->line(2).type(), PortType::kFxo);
  EXPECT_EQ((*card)->pacing_channel(), 2u);  // DAHDI channel 9
}

TEST(DahdiOpenTest, MessageWaitingIndicationIsConfiguredOnFxsPortsOnly) {
  DahdiCardConfig config = TypicalConfig();
  config.mwi = MwiIndication::kNeon;
  CardFixture f(config);
  ASSERT_NE(f.card, nullptr);
  for (int number : {1, 2}) {
    const auto calls = f.fake.IoctlsFor(number, DAHDI_VMWI_CONFIG);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].As<dahdi_vmwi_info>().vmwi_type, static_cast<unsigned>(DAHDI_VMWI_HVAC));
  }
  for (int number : {3, 4}) EXPECT_TRUE(f.fake.IoctlsFor(number, DAHDI_VMWI_CONFIG).empty());

  for (auto [mwi, flag] : {std::pair{MwiIndication::kHvdc, DAHDI_VMWI_HVDC},
                           std::pair{MwiIndication::kLineReversal, DAHDI_VMWI_LREV}}) {
    config.mwi = mwi;
    CardFixture g(config);
    ASSERT_NE(g.card, nullptr);
    EXPECT_EQ(g.fake.channel(1).vmwi_type, static_cast<unsigned>(flag));
  }
}

void ExpectRefused(FakeDahdiDevice& fake, const DahdiCardConfig& config,
                   const std::vector<std::string>& parts) {
  auto card = OpenOn(fake, config);
  ASSERT_FALSE(card.ok());
  for (const std::string& part : parts) EXPECT_NE(card.error().find(part), std::string::npos) << card.error();
  EXPECT_EQ(fake.open_descriptors(), 0u) << "a refused card leaves nothing open";
}

TEST(DahdiOpenTest, AnFxsPortOnAnFxsSignalledChannelIsRefusedWithTheInversionExplained) {
  FakeDahdiDevice fake;
  testing::AddTypicalChannels(fake);
  DahdiCardConfig config = TypicalConfig();
  config.fxs_channels = {1, 3};  // 3 is signalled fxsks: an FXO port
  config.fxo_channels = {4};
  ExpectRefused(
      fake, config,
      {"dahdi card 'test': fxs_channels[1] (DAHDI channel 3): the channel is signalled fxsks, which DAHDI "
       "uses for an FXO port (one facing an exchange); DAHDI names signalling after the far end, so an FXS "
       "port (a phone) must be signalled fxoks, fxols or fxogs"});
}

TEST(DahdiOpenTest, AnFxoPortOnAnFxoSignalledChannelIsRefused) {
  FakeDahdiDevice fake;
  testing::AddTypicalChannels(fake);
  DahdiCardConfig config = TypicalConfig();
  config.fxs_channels = {};
  config.fxo_channels = {3, 4, 2};  // 2 is signalled fxols: an FXS port
  ExpectRefused(
      fake, config,
      {"fxo_channels[2] (DAHDI channel 2): the channel is signalled fxols, which DAHDI uses for an FXS port",
       "an FXO port (an exchange line) must be signalled fxsks, fxsls or fxsgs"});
}

TEST(DahdiOpenTest, OtherSignallingIsRefused) {
  FakeDahdiDevice fake;
  fake.AddChannel(1, DAHDI_SIG_EM);
  fake.AddChannel(2, DAHDI_SIG_NONE);
  fake.AddChannel(3, DAHDI_SIG_FXOKS | DAHDI_SIG_BROKEN);
  fake.AddChannel(4, DAHDI_SIG_CLEAR);
  DahdiCardConfig config = TypicalConfig();
  config.fxo_channels = {};
  config.fxs_channels = {1};
  ExpectRefused(fake, config,
                {"fxs_channels[0] (DAHDI channel 1): the channel is signalled e&m, not an analog FXS port"});
  config.fxs_channels = {2};
  ExpectRefused(fake, config, {"(DAHDI channel 2): the channel has no signalling configured", "dahdi_cfg"});
  config.fxs_channels = {3};
  ExpectRefused(fake, config, {"(DAHDI channel 3): DAHDI reports the channel broken"});
  config.fxs_channels = {};
  config.fxo_channels = {4};
  ExpectRefused(
      fake, config,
      {"fxo_channels[0] (DAHDI channel 4): the channel is signalled clear, not an analog FXO port"});
}

TEST(DahdiOpenTest, MissingDeviceMissingChannelAndBusyChannel) {
  FakeDahdiDevice fake;
  testing::AddTypicalChannels(fake);
  DahdiCardConfig config = TypicalConfig();
  config.device_path = "/dev/dahdi/nothere";
  ExpectRefused(
      fake, config,
      {"fxs_channels[0] (DAHDI channel 1): cannot open /dev/dahdi/nothere: No such file or directory (is the "
       "DAHDI kernel driver loaded?)"});

  config = TypicalConfig();
  config.fxo_channels = {3, 12};
  ExpectRefused(
      fake, config,
      {"fxo_channels[1] (DAHDI channel 12): DAHDI_SPECIFY failed: Invalid argument (no such channel"});

  // Channel 2 is held by another program (here: another card).
  DahdiCardConfig other = TypicalConfig();
  other.fxs_channels = {2};
  other.fxo_channels = {};
  auto holder = OpenOn(fake, other);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto card = OpenOn(fake, TypicalConfig());
  ASSERT_FALSE(card.ok());
  EXPECT_NE(
      card.error().find("fxs_channels[1] (DAHDI channel 2): DAHDI_SPECIFY failed: Device or resource busy "
                        "(another program has the channel open)"),
      std::string::npos)
      << card.error();
  EXPECT_EQ(fake.open_descriptors(), 1u);  // the holder's only
}

TEST(DahdiOpenTest, KernelRefusalsDuringSetUpAreReported) {
  const std::vector<std::pair<unsigned long, std::string>> cases = {
      {DAHDI_GET_PARAMS, "DAHDI_GET_PARAMS failed: Input/output error"},
      {DAHDI_SET_BLOCKSIZE, "DAHDI_SET_BLOCKSIZE 80 failed: Invalid argument"},
      {DAHDI_SET_BUFINFO, "DAHDI_SET_BUFINFO (4 buffers of 80) failed: Invalid argument"},
      {DAHDI_SETLINEAR, "DAHDI_SETLINEAR 1 failed: Invalid argument"},
      {DAHDI_VMWI_CONFIG,
       "DAHDI_VMWI_CONFIG 0x2 failed: Inappropriate ioctl for device (the card may not offer"},
  };
  for (const auto& [request, message] : cases) {
    FakeDahdiDevice fake;
    testing::AddTypicalChannels(fake);
    fake.ioctl_errors[request] = request == DAHDI_GET_PARAMS    ? EIO
                                 : request == DAHDI_VMWI_CONFIG ? ENOTTY
                                                                : EINVAL;
    DahdiCardConfig config = TypicalConfig();
    config.mwi = MwiIndication::kHvdc;
    ExpectRefused(fake, config, {"fxs_channels[0] (DAHDI channel 1): " + message});
  }
}

TEST(DahdiOpenTest, UnknownLawIsRefused) {
  FakeDahdiDevice fake;
  testing::AddTypicalChannels(fake);
  fake.channel(4).law = 7;
  ExpectRefused(fake, TypicalConfig(),
                {"fxo_channels[1] (DAHDI channel 4): DAHDI_GET_PARAMS reports an unknown law 7"});
}

TEST(DahdiOpenTest, APhoneOffHookAtOpenIsReported) {
  FakeDahdiDevice fake;
  testing::AddTypicalChannels(fake);
  fake.channel(2).rx_off_hook = true;
  fake.channel(3).rx_off_hook = true;  // an FXO port: not a phone, nothing to report
  ManualClock clock;
  auto card = DahdiCard::Open(fake, clock, TypicalConfig());
  ASSERT_TRUE(card.ok());
  EXPECT_TRUE(testing::Drain((*card)->line(0)).empty());
  const auto events = testing::Drain((*card)->line(1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, sim::LineEventType::kOffHook);
  EXPECT_EQ(events[0].time, clock.Now());
  EXPECT_TRUE((*card)->line(1).off_hook());
  EXPECT_TRUE(testing::Drain((*card)->line(2)).empty());
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
