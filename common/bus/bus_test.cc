// Bus tests on real ZeroMQ ipc sockets in a private temporary directory, with short
// heartbeat intervals (50 ms) so that liveness transitions take a fraction of a second.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "common/bus/client.h"
#include "common/bus/server.h"
#include "common/bus/utf8.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::bus {
namespace {

using namespace std::chrono_literals;
using process::v1::SetLogLevelReply;
using process::v1::SetLogLevelRequest;
using process::v1::StatusReply;
using process::v1::StatusRequest;

constexpr Duration kInterval = 50ms;

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/linegate-bus-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    control_endpoint_ = "ipc://" + dir_ + "/control.sock";
    events_endpoint_ = "ipc://" + dir_ + "/events.sock";
  }
  void TearDown() override {
    clients_.clear();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  Server& StartServer() {
    server_ = std::make_unique<Server>(
        context_, reactor_, ServerOptions{"control", control_endpoint_, events_endpoint_, kInterval, 3});
    Status bound = server_->Bind();
    EXPECT_TRUE(bound.ok()) << bound.error();
    server_->dispatcher().OnRequest<StatusRequest>(
        [](const StatusRequest&, const v1::Envelope&, const Replier& replier) {
          StatusReply reply;
          reply.set_gateway("test-gw");
          replier.Reply(reply);
        });
    return *server_;
  }

  Client& StartClient(const std::string& name, Duration heartbeat = kInterval) {
    clients_.push_back(std::make_unique<Client>(
        context_, reactor_, ClientOptions{name, control_endpoint_, events_endpoint_, heartbeat, 3}));
    return *clients_.back();
  }

  // Runs the reactor until pred holds or the bound passes; returns pred().
  template <typename Pred>
  bool RunUntil(Pred pred, Duration bound = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!pred() && std::chrono::steady_clock::now() < deadline) reactor_.RunOnce(5ms);
    return pred();
  }

  zmq::context_t context_;
  Reactor reactor_;
  std::string dir_;
  std::string control_endpoint_;
  std::string events_endpoint_;
  std::unique_ptr<Server> server_;
  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(BusTest, RequestReplyFromProcessToControl) {
  StartServer();
  Client& client = StartClient("media-0");
  auto reply = client.Call(StatusRequest(), 2s);
  ASSERT_TRUE(reply.ok()) << reply.error();
  auto status = Unpack<StatusReply>(*reply);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status->gateway(), "test-gw");
  EXPECT_EQ(reply->source(), "control");
}

TEST_F(BusTest, CorrelationIdsMatchRepliesToRequests) {
  Server& server = StartServer();
  // Reply to the second request first: callbacks must still get their own replies.
  std::vector<Replier> held;
  server.dispatcher().OnRequest<SetLogLevelRequest>(
      [&held](const SetLogLevelRequest&, const v1::Envelope&, const Replier& r) { held.push_back(r); });
  Client& client = StartClient("signaling");
  ASSERT_TRUE(RunUntil([&] { return client.control_up(); }));
  std::vector<std::string> got(2);
  for (int i = 0; i < 2; ++i) {
    SetLogLevelRequest req;
    req.set_target("r" + std::to_string(i));
    client.Request(req, 2s, [&got, i](const v1::Envelope& e) {
      auto r = Unpack<SetLogLevelReply>(e);
      got[i] = r.ok() ? r->applied(0) : r.error();
    });
  }
  ASSERT_TRUE(RunUntil([&] { return held.size() == 2; }));
  SetLogLevelReply second;
  second.add_applied("second");
  held[1].Reply(second);
  SetLogLevelReply first;
  first.add_applied("first");
  held[0].Reply(first);
  ASSERT_TRUE(RunUntil([&] { return !got[0].empty() && !got[1].empty(); }));
  EXPECT_EQ(got[0], "first");
  EXPECT_EQ(got[1], "second");
}

TEST_F(BusTest, RequestTimesOutWhenNoReplyComes) {
  Server& server = StartServer();
  server.dispatcher().OnRequest<SetLogLevelRequest>(
      [](const SetLogLevelRequest&, const v1::Envelope&, const Replier&) { /* never replies */ });
  Client& client = StartClient("tdm");
  const auto start = std::chrono::steady_clock::now();
  auto reply = client.Call(SetLogLevelRequest(), 200ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("timeout"), std::string::npos) << reply.error();
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1s);
}

TEST_F(BusTest, UnknownRequestTypeIsAnError) {
  StartServer();
  Client& client = StartClient("tdm");
  auto reply = client.Call(process::v1::HelloRequest(), 2s);
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("unknown-type"), std::string::npos) << reply.error();
}

TEST_F(BusTest, CallFailsCleanlyWhenControlIsAbsent) {
  Client& client = StartClient("linegatectl", Duration::zero());
  const auto start = std::chrono::steady_clock::now();
  auto reply = client.Call(StatusRequest(), 300ms);
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("not reachable"), std::string::npos) << reply.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // An async request does not wait for a timeout either.
  std::optional<v1::Envelope> failed;
  client.Request(StatusRequest(), 5s, [&](const v1::Envelope& e) { failed = e; });
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->error().code(), v1::ERROR_CODE_UNAVAILABLE);
}

TEST_F(BusTest, ControlRequestsAProcess) {
  Server& server = StartServer();
  Client& client = StartClient("media-1");
  client.dispatcher().OnRequest<SetLogLevelRequest>(
      [](const SetLogLevelRequest& req, const v1::Envelope&, const Replier& replier) {
        SetLogLevelReply reply;
        reply.add_applied("media-1:" + req.target());
        replier.Reply(reply);
      });
  ASSERT_TRUE(RunUntil([&] { return server.IsAlive("media-1"); }));
  std::optional<v1::Envelope> reply;
  SetLogLevelRequest req;
  req.set_target("all");
  server.Request("media-1", req, 1s, [&](const v1::Envelope& e) { reply = e; });
  ASSERT_TRUE(RunUntil([&] { return reply.has_value(); }));
  auto decoded = Unpack<SetLogLevelReply>(*reply);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->applied(0), "media-1:all");

  std::optional<v1::Envelope> unknown;
  server.Request("nobody", req, 1s, [&](const v1::Envelope& e) { unknown = e; });
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->error().code(), v1::ERROR_CODE_UNAVAILABLE);
}

TEST_F(BusTest, ProcessNoticesControlLossAndFailsRequestsInFlight) {
  Server& server = StartServer();
  server.dispatcher().OnRequest<SetLogLevelRequest>(
      [](const SetLogLevelRequest&, const v1::Envelope&, const Replier&) {});
  Client& client = StartClient("signaling");
  int downs = 0;
  client.OnControlDown([&] { ++downs; });
  ASSERT_TRUE(RunUntil([&] { return client.control_up(); }));
  std::optional<v1::Envelope> reply;
  client.Request(SetLogLevelRequest(), 30s, [&](const v1::Envelope& e) { reply = e; });
  RunUntil([] { return false; }, 50ms);  // let the request reach control
  server_.reset();                       // control vanishes
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return !client.control_up(); }));
  // Three missed 50 ms heartbeats, give or take a tick.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // not the 30 s timeout
  EXPECT_EQ(downs, 1);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error().code(), v1::ERROR_CODE_UNAVAILABLE);
}

TEST_F(BusTest, ProcessReconnectsWhenControlRestarts) {
  StartServer();
  Client& client = StartClient("media-0");
  int ups = 0;
  client.OnControlUp([&] { ++ups; });
  ASSERT_TRUE(RunUntil([&] { return client.control_up(); }));
  server_.reset();
  ASSERT_TRUE(RunUntil([&] { return !client.control_up(); }));
  StartServer();  // same endpoints, new process in real life
  ASSERT_TRUE(RunUntil([&] { return client.control_up(); }));
  EXPECT_EQ(ups, 2);
  auto reply = client.Call(StatusRequest(), 2s);
  EXPECT_TRUE(reply.ok()) << reply.error();
}

TEST_F(BusTest, ControlNoticesDeadProcessAndTakesBackARestartedOne) {
  Server& server = StartServer();
  std::vector<std::string> dead;
  server.OnPeerDead([&](const std::string& peer) { dead.push_back(peer); });
  StartClient("media-1");
  ASSERT_TRUE(RunUntil([&] { return server.IsAlive("media-1"); }));
  clients_.clear();  // the process dies without a word
  ASSERT_TRUE(RunUntil([&] { return !dead.empty(); }));
  EXPECT_EQ(dead, std::vector<std::string>{"media-1"});
  EXPECT_FALSE(server.IsAlive("media-1"));
  // Restarted under the same identity: handover makes it reachable again.
  Client& again = StartClient("media-1");
  again.dispatcher().OnRequest<StatusRequest>(
      [](const StatusRequest&, const v1::Envelope&, const Replier& r) { r.Reply(StatusReply()); });
  ASSERT_TRUE(RunUntil([&] { return server.IsAlive("media-1"); }));
  std::optional<v1::Envelope> reply;
  server.Request("media-1", StatusRequest(), 1s, [&](const v1::Envelope& e) { reply = e; });
  ASSERT_TRUE(RunUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->error().code(), v1::ERROR_CODE_UNSPECIFIED) << reply->error().message();
}

TEST_F(BusTest, EventsAreRepublishedToSubscribers) {
  Server& server = StartServer();
  int at_control = 0;
  server.dispatcher().OnEvent(process::v1::ProcessStateChanged::descriptor()->full_name(),
                              [&](const v1::Envelope&) { ++at_control; });
  Client& listener = StartClient("listener");
  int at_listener = 0;
  listener.dispatcher().OnEvent(process::v1::ProcessStateChanged::descriptor()->full_name(),
                                [&](const v1::Envelope& e) {
                                  EXPECT_EQ(e.source(), "tdm");
                                  ++at_listener;
                                });
  listener.Subscribe(process::v1::ProcessStateChanged::descriptor()->full_name());
  Client& sender = StartClient("tdm");
  ASSERT_TRUE(RunUntil([&] { return sender.control_up() && listener.control_up(); }));
  // PUB/SUB joins asynchronously: publish until the subscription has taken effect.
  ASSERT_TRUE(RunUntil([&] {
    sender.Publish(process::v1::ProcessStateChanged());
    reactor_.RunOnce(10ms);
    return at_listener > 0;
  }));
  EXPECT_GT(at_control, 0);
}

TEST_F(BusTest, GarbageIsCountedNotFatal) {
  Server& server = StartServer();
  zmq::socket_t raw(context_, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(control_endpoint_);
  raw.send(zmq::str_buffer("\xff\xff\xff garbage"), zmq::send_flags::none);
  ASSERT_TRUE(RunUntil([&] { return server.counters().undecodable > 0; }));
  Client& client = StartClient("media-0");
  EXPECT_TRUE(client.Call(StatusRequest(), 2s).ok());
}

}  // namespace
}  // namespace linegate::bus

namespace linegate::bus {
namespace {

using namespace std::chrono_literals;

TEST(ReactorTimers, FireInDueOrderAndCancel) {
  ManualClock clock;
  Reactor reactor(clock);
  std::vector<int> fired;
  reactor.AddTimer(30ms, [&] { fired.push_back(3); });
  reactor.AddTimer(10ms, [&] { fired.push_back(1); });
  const auto cancelled = reactor.AddTimer(20ms, [&] { fired.push_back(2); });
  reactor.CancelTimer(cancelled);
  reactor.CancelTimer(cancelled);  // harmless twice
  clock.Advance(30ms);
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST(ReactorTimers, PeriodicKeepsPhaseAndSkipsMissedBeatsAfterAStall) {
  ManualClock clock;
  Reactor reactor(clock);
  int beats = 0;
  reactor.AddPeriodic(10ms, [&] { ++beats; });
  clock.Advance(10ms);
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(beats, 1);
  clock.Advance(95ms);  // a stall of many intervals
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(beats, 2) << "missed beats are not fired back to back";
  clock.Advance(10ms);
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(beats, 3);
}

TEST(ReactorTimers, ZeroDelayTimerScheduledByACallbackWaitsForTheNextTurn) {
  ManualClock clock;
  Reactor reactor(clock);
  int chain = 0;
  std::function<void()> again = [&] {
    ++chain;
    reactor.AddTimer(Duration::zero(), again);
  };
  reactor.AddTimer(Duration::zero(), again);
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(chain, 1);
  reactor.RunOnce(Duration::zero());
  EXPECT_EQ(chain, 2);
}

TEST(ReactorTimers, ManyTimersOnlyDueOnesAreTouched) {
  ManualClock clock;
  Reactor reactor(clock);
  int fired = 0;
  for (int i = 0; i < 20000; ++i) reactor.AddTimer(std::chrono::seconds(60 + i % 600), [&] { ++fired; });
  reactor.AddTimer(1ms, [&] { ++fired; });
  clock.Advance(1ms);
  EXPECT_EQ(reactor.RunOnce(Duration::zero()), 1);
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace linegate::bus

TEST(Utf8Test, InvalidBytesBecomeReplacementCharactersAndValidTextStays) {
  std::string text = "Jos\xe9 \xc3\xa9t\xc3\xa9 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 ok";
  linegate::bus::MakeUtf8(text);
  EXPECT_EQ(text,
            "Jos\xEF\xBF\xBD \xc3\xa9t\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok");
}

TEST(Utf8Test, EveryStringFieldOfAMessageIsFixedNestedAndRepeatedToo) {
  linegate::process::v1::StatusReply reply;
  reply.set_gateway("gw\xff");
  linegate::process::v1::ProcessStatus* status = reply.add_processes();
  status->set_name("media\xfe");
  linegate::bus::MakeUtf8Fields(reply);
  EXPECT_EQ(reply.gateway(), "gw\xEF\xBF\xBD");
  EXPECT_EQ(reply.processes(0).name(), "media\xEF\xBF\xBD");
  std::string bytes;
  EXPECT_TRUE(reply.SerializeToString(&bytes));
  linegate::process::v1::StatusReply parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));
}
