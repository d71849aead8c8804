#include "media/tdm/tdm_service.h"

#include <gtest/gtest.h>

namespace linegate::media::tdm {
namespace {

TEST(EnumerateLines, NumbersCardsInOrderFxsBeforeFxo) {
  config::v1::Tdm tdm;
  auto* a = tdm.add_cards();
  a->set_name("a");
  a->set_fxs_ports(2);
  a->set_fxo_ports(1);
  auto* b = tdm.add_cards();
  b->set_name("b");
  b->set_fxs_ports(1);
  auto lines = EnumerateLines(tdm);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].line(), 1u);
  EXPECT_EQ(lines[0].card(), "a");
  EXPECT_EQ(lines[0].port(), 1u);
  EXPECT_EQ(lines[0].type(), process::v1::LINE_TYPE_FXS);
  EXPECT_EQ(lines[2].type(), process::v1::LINE_TYPE_FXO);
  EXPECT_EQ(lines[2].port(), 1u);
  EXPECT_EQ(lines[3].line(), 4u);
  EXPECT_EQ(lines[3].card(), "b");
}

TEST(TdmService, ReportsItsLinesInTheHeartbeat) {
  config::v1::Config config;
  config.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_SIM);
  config.mutable_tdm()->set_frame_ms(10);
  auto* card = config.mutable_tdm()->add_cards();
  card->set_name("sim0");
  card->set_fxs_ports(8);
  TdmService service;
  ASSERT_TRUE(service.Configure(config).ok());
  process::v1::Heartbeat heartbeat;
  service.FillDetail(heartbeat);
  ASSERT_TRUE(heartbeat.has_tdm());
  EXPECT_EQ(heartbeat.tdm().lines_size(), 8);
  EXPECT_EQ(heartbeat.tdm().driver(), "TDM_DRIVER_SIM");
}

TEST(TdmService, RejectsAMissingDriver) {
  TdmService service;
  Status status = service.Configure(config::v1::Config());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "tdm.driver is not set");
}

}  // namespace
}  // namespace linegate::media::tdm
