// DahdiCardConfig validation: every message names its field.

#include <gtest/gtest.h>

#include "media/tdm/dahdi/dahdi_card.h"
#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace linegate::media::tdm::dahdi {
namespace {

std::string ErrorOf(const DahdiCardConfig& config) {
  Status s = ValidateDahdiCardConfig(config);
  return s.ok() ? "ok" : s.error();
}

TEST(DahdiConfigTest, TypicalConfigIsValid) { EXPECT_EQ(ErrorOf(testing::TypicalConfig()), "ok"); }

TEST(DahdiConfigTest, EachProblemNamesItsField) {
  struct Case {
    std::function<void(DahdiCardConfig&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& c) { c.name = ""; }, "dahdi card: name is empty"},
      {[](auto& c) { c.device_path = ""; }, "dahdi card 'test': device_path is empty"},
      {[](auto& c) {
         c.fxs_channels.clear();
         c.fxo_channels.clear();
       },
       "dahdi card 'test': fxs_channels and fxo_channels are both empty: a card needs a port"},
      {[](auto& c) { c.fxs_channels[1] = 0; },
       "dahdi card 'test': fxs_channels[1] = 0: DAHDI channel numbers are 1..1024"},
      {[](auto& c) { c.fxo_channels[0] = 1025; },
       "dahdi card 'test': fxo_channels[0] = 1025: DAHDI channel numbers are 1..1024"},
      {[](auto& c) { c.fxo_channels[1] = 2; },
       "dahdi card 'test': fxo_channels[1]: channel 2 is also fxs_channels[1]"},
      {[](auto& c) {
         c.fxs_channels = {5, 6, 5};
       },
       "dahdi card 'test': fxs_channels[2]: channel 5 is also fxs_channels[0]"},
      {[](auto& c) { c.frame_samples = 8; },
       "dahdi card 'test': frame_samples 8 out of range 16..80 (2..10 ms; DAHDI_SET_BLOCKSIZE refuses blocks "
       "under "
       "16 samples, so tdm.frame_ms 1 cannot be used with dahdi)"},
      {[](auto& c) { c.frame_samples = 88; }, "dahdi card 'test': frame_samples 88 out of range 16..80"},
      {[](auto& c) { c.kernel_buffers = 1; }, "dahdi card 'test': kernel_buffers 1 out of range 2..32"},
      {[](auto& c) { c.kernel_buffers = 33; }, "dahdi card 'test': kernel_buffers 33 out of range 2..32"},
      {[](auto& c) { c.fxs_channels.assign(1030, 0); }, "dahdi card 'test': 1032 ports: at most 1024"},
  };
  for (const Case& c : cases) {
    DahdiCardConfig config = testing::TypicalConfig();
    c.change(config);
    EXPECT_EQ(ErrorOf(config).substr(0, c.message.size()), c.message);
  }
}

TEST(DahdiConfigTest, BoundariesAreAccepted) {
  DahdiCardConfig config = testing::TypicalConfig();
  config.frame_samples = 16;
  config.kernel_buffers = 2;
  config.fxs_channels = {1024};
  config.fxo_channels = {};
  EXPECT_EQ(ErrorOf(config), "ok");
  config.frame_samples = 80;
  config.kernel_buffers = 32;
  EXPECT_EQ(ErrorOf(config), "ok");
}

TEST(DahdiConfigTest, OpenValidatesBeforeTouchingTheDevice) {
  FakeDahdiDevice fake;
  ManualClock clock;
  DahdiCardConfig config = testing::TypicalConfig();
  config.frame_samples = 8;
  auto card = DahdiCard::Open(fake, clock, config);
  ASSERT_FALSE(card.ok());
  EXPECT_NE(card.error().find("frame_samples 8"), std::string::npos);
  EXPECT_EQ(fake.counts().opens, 0u);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
