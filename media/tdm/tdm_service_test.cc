#include "media/tdm/tdm_service.h"

#include <dahdi/user.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "media/tdm/dahdi/fake_dahdi_device.h"

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

// A runtime directory per test, so that TDM bus regions of parallel tests never meet.
std::string PrivateRuntimeDir() {
  char dir[] = "/tmp/lg-tdm-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return dir;
}

TEST(TdmService, ReportsItsLinesInTheHeartbeat) {
  config::v1::Config config;
  config.mutable_runtime()->set_runtime_dir(PrivateRuntimeDir());
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

config::v1::Config SimConfig(uint32_t fxs, uint32_t fxo) {
  config::v1::Config config;
  config.mutable_runtime()->set_runtime_dir(PrivateRuntimeDir());
  config.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_SIM);
  config.mutable_tdm()->set_frame_ms(10);
  auto* card = config.mutable_tdm()->add_cards();
  card->set_name("sim0");
  card->set_fxs_ports(fxs);
  card->set_fxo_ports(fxo);
  return config;
}

struct EventLog {
  std::vector<std::string> events;
  void Attach(TdmService& service) {
    service.SetEventSink([this](const linev1::LineEvent& event) {
      events.push_back(std::to_string(event.line()) + " " + linev1::LineEventType_Name(event.type()) +
                       (event.digit().empty() ? "" : " " + event.digit()));
    });
  }
};

TEST(TdmService, DecodesHookChangesOfSimulatedPhonesIntoLineEvents) {
  ManualClock clock;
  TdmService service(clock);
  ASSERT_TRUE(service.Configure(SimConfig(2, 0)).ok());
  EventLog log;
  log.Attach(service);
  auto run = [&](int ms) {
    for (int i = 0; i < ms / 10; ++i) {
      clock.Advance(std::chrono::milliseconds(10));
      service.OnTimer(1);
    }
  };
  linev1::LineScriptRequest script;
  script.set_line(2);
  script.set_text("offhook");
  EXPECT_EQ(service.RunScript(script).text(), "ok: off-hook");
  run(300);
  script.set_text("flash");
  service.RunScript(script);
  run(1500);
  script.set_text("pulse 2");
  service.RunScript(script);
  run(1500);
  script.set_text("onhook");
  service.RunScript(script);
  run(1500);
  EXPECT_EQ(log.events,
            (std::vector<std::string>{"2 LINE_EVENT_TYPE_OFF_HOOK", "2 LINE_EVENT_TYPE_FLASH",
                                      "2 LINE_EVENT_TYPE_PULSE_DIGIT 2", "2 LINE_EVENT_TYPE_ON_HOOK"}));
  EXPECT_EQ(service.ticks(), 480u);
}

TEST(TdmService, PortCommandsReachTheLineOrSayWhyNot) {
  ManualClock clock;
  TdmService service(clock);
  ASSERT_TRUE(service.Configure(SimConfig(1, 1)).ok());
  linev1::PortCommandRequest ring;
  ring.set_line(1);
  ring.mutable_ring()->add_segments_ms(500);
  ring.mutable_ring()->add_segments_ms(500);
  auto rung = service.ApplyPortCommand(ring);
  ASSERT_TRUE(rung) << rung.error();
  EXPECT_EQ(rung->result(), "ok");
  linev1::PortCommandRequest seize;
  seize.set_line(1);
  seize.set_seize(true);
  auto refused = service.ApplyPortCommand(seize);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "seize does not apply to line 1 (FXS)");
  seize.set_line(2);
  EXPECT_TRUE(service.ApplyPortCommand(seize));
  seize.set_line(3);
  auto missing = service.ApplyPortCommand(seize);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("does not exist"), std::string::npos);
  linev1::PortCommandRequest empty_cadence;
  empty_cadence.set_line(1);
  empty_cadence.mutable_ring()->add_segments_ms(0);
  EXPECT_FALSE(service.ApplyPortCommand(empty_cadence));
}

// Load mode (SimCard.auto_answer_ms): every phone answers by itself this long after
// ringing starts and hangs up at an open-loop disconnect.
class AutoAnswerTest : public ::testing::Test {
 protected:
  void Configure(uint32_t auto_answer_ms) {
    config::v1::Config config = SimConfig(2, 1);
    config.mutable_tdm()->mutable_cards(0)->mutable_sim()->set_auto_answer_ms(auto_answer_ms);
    ASSERT_TRUE(service_.Configure(config).ok());
    log_.Attach(service_);
  }
  void Run(int ms) {
    for (int i = 0; i < ms / 10; ++i) {
      clock_.Advance(std::chrono::milliseconds(10));
      service_.OnTimer(1);
    }
  }
  Result<linev1::PortCommandReply> Ring(uint32_t line) {
    linev1::PortCommandRequest ring;
    ring.set_line(line);
    ring.mutable_ring();
    return service_.ApplyPortCommand(ring);
  }
  Result<linev1::PortCommandReply> Disconnect(uint32_t line, uint32_t ms) {
    linev1::PortCommandRequest disconnect;
    disconnect.set_line(line);
    disconnect.set_disconnect_ms(ms);
    return service_.ApplyPortCommand(disconnect);
  }
  std::string Status(uint32_t line) {
    linev1::LineScriptRequest script;
    script.set_line(line);
    script.set_text("status");
    return service_.RunScript(script).text();
  }

  ManualClock clock_;
  TdmService service_{clock_};
  EventLog log_;
};

TEST_F(AutoAnswerTest, PhonesGoOffHookAfterTheDelayFromRingStart) {
  Configure(3000);
  ASSERT_TRUE(Ring(1));
  Run(2900);
  EXPECT_TRUE(log_.events.empty());
  // A second ring command while ringing does not restart the count.
  ASSERT_TRUE(Ring(2));
  Run(200);
  EXPECT_EQ(log_.events, std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK"});
  EXPECT_NE(Status(1).find("hook off-hook, ring idle"), std::string::npos) << Status(1);
  Run(3000);
  EXPECT_EQ(log_.events,
            (std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK", "2 LINE_EVENT_TYPE_OFF_HOOK"}));
  EXPECT_NE(Status(2).find("auto-answer 3000 ms (1 answered)"), std::string::npos) << Status(2);
}

TEST_F(AutoAnswerTest, RingingThatStopsFirstIsNotAnswered) {
  Configure(1000);
  ASSERT_TRUE(Ring(1));
  Run(500);
  linev1::PortCommandRequest stop;
  stop.set_line(1);
  stop.set_stop_ring(true);
  ASSERT_TRUE(service_.ApplyPortCommand(stop));
  Run(2000);
  EXPECT_TRUE(log_.events.empty());
}

TEST_F(AutoAnswerTest, ADisconnectMakesTheAutoAnswerPhoneHangUp) {
  Configure(500);
  ASSERT_TRUE(Ring(1));
  Run(600);
  ASSERT_EQ(log_.events, std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK"});
  auto disconnected = Disconnect(1, 800);
  ASSERT_TRUE(disconnected) << disconnected.error();
  EXPECT_EQ(disconnected->result(), "ok");
  Run(500);
  EXPECT_NE(Status(1).find("loop current denied"), std::string::npos) << Status(1);
  // The phone hangs up when current returns; on-hook is reported once the break is
  // long enough not to be a flash.
  Run(3000);
  EXPECT_EQ(log_.events,
            (std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK", "1 LINE_EVENT_TYPE_ON_HOOK"}));
  EXPECT_NE(Status(1).find("hook on-hook"), std::string::npos) << Status(1);
  // And answers the next call.
  ASSERT_TRUE(Ring(1));
  Run(600);
  EXPECT_EQ(log_.events.back(), "1 LINE_EVENT_TYPE_OFF_HOOK");
}

TEST_F(AutoAnswerTest, ADisconnectIsShownByAPhoneThatStaysOffHook) {
  Configure(0);
  linev1::LineScriptRequest script;
  script.set_line(1);
  script.set_text("offhook");
  ASSERT_EQ(service_.RunScript(script).text(), "ok: off-hook");
  Run(300);
  auto disconnected = Disconnect(1, 800);
  ASSERT_TRUE(disconnected) << disconnected.error();
  Run(100);
  EXPECT_NE(Status(1).find("loop current denied"), std::string::npos) << Status(1);
  Run(3000);
  // A person does not hang up by themselves: the loop stays closed, no on-hook.
  EXPECT_EQ(log_.events, std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK"});
  const std::string status = Status(1);
  EXPECT_NE(status.find("hook off-hook"), std::string::npos) << status;
  EXPECT_NE(status.find("disconnects seen 1 (last 800 ms)"), std::string::npos) << status;
  EXPECT_EQ(status.find("loop current denied"), std::string::npos) << status;
  // Not for exchange lines, and not of no length.
  EXPECT_FALSE(Disconnect(3, 800));
  EXPECT_FALSE(Disconnect(1, 0));
}

config::v1::Config DahdiConfig() {
  config::v1::Config config = SimConfig(2, 1);
  config.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_DAHDI);
  auto* dahdi = config.mutable_tdm()->mutable_cards(0)->mutable_dahdi();
  dahdi->set_first_channel(5);
  return config;
}

TEST(TdmService, DahdiCardsAreOpenedClockedAndCommandedThroughTheDriver) {
  ManualClock clock;
  dahdi::FakeDahdiDevice fake;
  fake.AddChannel(5, DAHDI_SIG_FXOKS);  // FXS ports: signalled after the far end
  fake.AddChannel(6, DAHDI_SIG_FXOKS);
  fake.AddChannel(7, DAHDI_SIG_FXSKS);  // the FXO port
  TdmService service(clock, &fake);
  Status configured = service.Configure(DahdiConfig());
  ASSERT_TRUE(configured.ok()) << configured.error();
  EXPECT_EQ(service.timer_period(), std::chrono::milliseconds(5));
  EventLog log;
  log.Attach(service);
  // The card's clock drives the bus: no block ready, no tick of the card.
  service.OnTimer(1);
  for (int i = 0; i < 10; ++i) {
    fake.CardInterrupt();
    service.OnTimer(1);
  }
  EXPECT_GE(fake.counts().writes, 30u);  // one block per channel per card interrupt
  // Off-hook on the first FXS port, as DAHDI reports it.
  fake.QueueEvent(5, DAHDI_EVENT_RINGOFFHOOK);
  fake.CardInterrupt();
  service.OnTimer(1);
  ASSERT_EQ(log.events, std::vector<std::string>{"1 LINE_EVENT_TYPE_OFF_HOOK"});
  // Ring the second FXS port: DAHDI_HOOK with DAHDI_RING on channel 6.
  fake.ClearIoctls();
  linev1::PortCommandRequest ring;
  ring.set_line(2);
  ring.mutable_ring();
  auto rung = service.ApplyPortCommand(ring);
  ASSERT_TRUE(rung) << rung.error();
  bool rang = false;
  for (const auto& call : fake.IoctlsFor(6, DAHDI_HOOK)) rang |= call.IntArgument() == DAHDI_RING;
  EXPECT_TRUE(rang);
  // Disconnect: DAHDI's kewlstart battery drop, of its own length, once the phone has
  // answered the ring (the kernel side of the port is then off-hook).
  fake.QueueEvent(6, DAHDI_EVENT_RINGOFFHOOK);
  fake.CardInterrupt();
  service.OnTimer(1);
  fake.ClearIoctls();
  linev1::PortCommandRequest disconnect;
  disconnect.set_line(2);
  disconnect.set_disconnect_ms(800);
  auto dropped = service.ApplyPortCommand(disconnect);
  ASSERT_TRUE(dropped) << dropped.error();
  EXPECT_EQ(dropped->result(), "ok: DAHDI kewlstart battery drop of 500 ms (asked 800 ms)");
  bool on_hook = false;
  for (const auto& call : fake.IoctlsFor(6, DAHDI_HOOK)) on_hook |= call.IntArgument() == DAHDI_ONHOOK;
  EXPECT_TRUE(on_hook);
  // The phone of line 1 went off-hook by itself (an outgoing call): the kernel side is
  // on-hook, there is no drop to make. Said in the reply, nothing sent.
  fake.ClearIoctls();
  disconnect.set_line(1);
  auto unsupported = service.ApplyPortCommand(disconnect);
  ASSERT_TRUE(unsupported) << unsupported.error();
  EXPECT_EQ(unsupported->result(), "not supported on dahdi");
  EXPECT_TRUE(fake.IoctlsFor(5, DAHDI_HOOK).empty());
  // A real line has no far end to script.
  linev1::LineScriptRequest script;
  script.set_line(1);
  script.set_text("offhook");
  EXPECT_NE(service.RunScript(script).text().find("DAHDI"), std::string::npos);
}

TEST(TdmService, AMissingDahdiDriverIsAClearError) {
  dahdi::FakeDahdiDevice fake;  // no channels: as if the module were not loaded
  TdmService service(SteadyClock::Instance(), &fake);
  const config::v1::Config config = DahdiConfig();
  Status configured = service.Configure(config);
  ASSERT_FALSE(configured.ok());
  EXPECT_NE(configured.error().find("card sim0"), std::string::npos) << configured.error();
}

TEST(TdmService, AFailedCardLeavesNoRegionBehind) {
  const config::v1::Config config = DahdiConfig();
  const std::string region = "/dev/shm" + *tdmbus::RegionName(TdmBusPrefix(config), 0);
  {
    dahdi::FakeDahdiDevice fake;  // no channels: the card fails after its region was made
    TdmService service(SteadyClock::Instance(), &fake);
    ASSERT_FALSE(service.Configure(config).ok());
  }
  EXPECT_NE(::access(region.c_str(), F_OK), 0) << region << " left behind";
}

}  // namespace
}  // namespace linegate::media::tdm
