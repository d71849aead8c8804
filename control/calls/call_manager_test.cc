#include "control/calls/call_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/config/config_loader.h"

namespace linegate::calls {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Lines 1-4 FXS, 5-6 FXO. Lines 3 and 4 form a ring-all hunt group (busy: 503).
const char* kConfig = R"(
tdm:
  cards:
    - name: a
      fxs_ports: 4
      fxo_ports: 2
media:
  process_count: 1
  rtp_address: 127.0.0.1
  rtp_port_min: 20000
  rtp_port_max: 20099
signaling:
  proxy_sets:
    - name: pbx
      proxies:
        - address: 192.0.2.1
    - name: backup
      proxies:
        - address: 192.0.2.2
  endpoints:
    - line: 1
      phone_number: "201"
      display_name: Alice
    - line: 2
      phone_number: "202"
      call_waiting: true
    - line: 5
      phone_number: "301"
      fxo_destination: "201"
calls:
  no_answer_timeout_s: 30
  fxo_answer_rings: 2
  dial_plan:
    digit_map: "9xxx|2xx"
  tel_to_ip_routes:
    - destination: "9"
      proxy_set: pbx
    - destination: "9"
      proxy_set: backup
  hunt_groups:
    - name: sales
      lines: [3, 4]
      mode: ring_all
      busy_status: 503
  ip_to_tel_routes:
    - called: "500$"
      hunt_group: sales
    - called: "8"
      line: 6
)";

class FakeSignaling : public SignalingPort {
 public:
  explicit FakeSignaling(std::vector<std::string>& log) : log_(log) {}
  void PlaceCall(const signaling::v1::PlaceCallRequest& r, std::function<void(Status)> done) override {
    log_.push_back("place " + r.call_ref() + " line=" + std::to_string(r.line()) +
                   " from=" + r.calling_number() + " name=" + r.calling_name() + " to=" + r.called_number() +
                   " dest=" + r.destination() + " media=" + r.media().address() + ":" +
                   std::to_string(r.media().port()));
    places.push_back(r);
    if (refuse_place) return done(Error{"signaling down"});
    done(Status::Ok());
  }
  void AnswerCall(const signaling::v1::AnswerCallRequest& r) override {
    log_.push_back("answer " + r.call_ref() + " " + std::to_string(r.status()) +
                   (r.has_media() ? " media=" + std::to_string(r.media().port()) : ""));
  }
  void EndCall(const signaling::v1::EndCallRequest& r) override {
    log_.push_back("end " + r.call_ref() + " " + std::to_string(r.status()) +
                   (r.contact().empty() ? "" : " contact=" + r.contact()));
  }
  void UpdateMedia(const signaling::v1::UpdateMediaRequest& r) override {
    log_.push_back("update " + r.call_ref() + " " + media::v1::Direction_Name(r.media().direction()));
  }
  void TransferCall(const signaling::v1::TransferCallRequest& r) override {
    log_.push_back("transfer " + r.call_ref() + " to=" + r.target() +
                   (r.replaces_call_ref().empty() ? "" : " replaces=" + r.replaces_call_ref()));
  }
  std::vector<signaling::v1::PlaceCallRequest> places;
  bool refuse_place = false;

 private:
  std::vector<std::string>& log_;
};

class FakeLines : public LinePort {
 public:
  explicit FakeLines(std::vector<std::string>& log) : log_(log) {}
  static std::string Leg(uint32_t line, uint32_t leg) {
    return std::to_string(line) + "/" + std::to_string(leg);
  }
  void CreateSession(const media::v1::SessionParams& p,
                     std::function<void(Result<media::v1::CreateSessionReply>)> done) override {
    log_.push_back("create " + Leg(p.line(), p.leg()) + " remote=" + p.remote_address() + ":" +
                   std::to_string(p.remote_port()) + Flags(p));
    sessions.push_back(p);
    if (defer_create) {
      pending_create = std::move(done);
      return;
    }
    media::v1::CreateSessionReply reply;
    reply.set_local_address("127.0.0.1");
    reply.set_local_port(p.local_port());
    done(reply);
  }
  void ModifySession(const media::v1::SessionParams& p) override {
    log_.push_back("modify " + Leg(p.line(), p.leg()) + " remote=" + p.remote_address() + ":" +
                   std::to_string(p.remote_port()) + Flags(p));
    sessions.push_back(p);
  }
  void DeleteSession(uint32_t line, uint32_t leg,
                     std::function<void(Result<media::v1::DeleteSessionReply>)> done) override {
    log_.push_back("delete " + Leg(line, leg));
    media::v1::DeleteSessionReply reply;
    media::v1::SessionStats* stats = reply.add_final_stats();
    stats->set_line(line);
    stats->set_leg(leg);
    stats->set_packets_sent(500);
    stats->set_packets_received(490);
    stats->set_packets_lost(10);
    stats->set_jitter_ms(4);
    stats->set_rtt_ms(40);
    stats->set_codec("PCMU");
    done(reply);
  }
  void PlayTone(uint32_t line, media::v1::ToneKind tone) override {
    std::string name = media::v1::ToneKind_Name(tone);
    name = tone == media::v1::TONE_KIND_UNSPECIFIED ? "stop" : name.substr(10);
    log_.push_back("tone " + std::to_string(line) + " " + name);
  }
  void SendCallerId(const media::v1::SendCallerIdRequest& r) override {
    log_.push_back("cid " + std::to_string(r.line()) + " " + r.caller_id().number() +
                   (r.off_hook() ? " off_hook" : ""));
  }
  void PortCommand(const tdm::v1::PortCommandRequest& r) override {
    const std::string line = std::to_string(r.line());
    switch (r.command_case()) {
      case tdm::v1::PortCommandRequest::kRing:
        log_.push_back("ring " + line + " cid=" + r.caller_id().number() + "/" + r.caller_id().name());
        break;
      case tdm::v1::PortCommandRequest::kStopRing:
        log_.push_back("stop_ring " + line);
        break;
      case tdm::v1::PortCommandRequest::kSeize:
        log_.push_back("seize " + line);
        break;
      case tdm::v1::PortCommandRequest::kRelease:
        log_.push_back("release " + line);
        break;
      case tdm::v1::PortCommandRequest::kDisconnectMs:
        log_.push_back("disconnect " + line + " " + std::to_string(r.disconnect_ms()));
        break;
      default:
        log_.push_back("port " + line);
    }
  }
  void DigitDetection(uint32_t line, bool enable) override {
    log_.push_back("detect " + std::to_string(line) + (enable ? " on" : " off"));
  }
  void LineScript(uint32_t line, const std::string& text) override {
    log_.push_back("script " + std::to_string(line) + " " + text);
  }
  void SendDigits(uint32_t line, const std::string& digits) override {
    log_.push_back("digits " + std::to_string(line) + " " + digits);
  }
  std::vector<media::v1::SessionParams> sessions;
  bool defer_create = false;
  std::function<void(Result<media::v1::CreateSessionReply>)> pending_create;

 private:
  static std::string Flags(const media::v1::SessionParams& p) {
    std::string flags;
    if (p.direction() == media::v1::DIRECTION_INACTIVE) flags += " inactive";
    if (p.conference()) flags += " conference";
    return flags;
  }
  std::vector<std::string>& log_;
};

class FakeCdr : public CdrSink {
 public:
  void Write(const callcontrol::CdrRecord& record) override { records.push_back(record); }
  std::vector<callcontrol::CdrRecord> records;
};

class CallManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(kConfig); }

  void Start(const std::string& yaml, const std::function<void(config::v1::Config&)>& edit = {}) {
    auto loaded = config::LoadString(yaml, "calls.yaml");
    ASSERT_TRUE(loaded) << loaded.error();
    manager_.reset();
    config_ = *loaded;
    if (edit) edit(config_);
    CallManagerDeps deps;
    deps.signaling = &signaling_;
    deps.line = &lines_;
    deps.cdr = &cdr_;
    deps.clock = &clock_;
    deps.wall_clock = [this] { return wall_ms_; };
    auto manager = CallManager::Create(config_, deps);
    ASSERT_TRUE(manager) << manager.error();
    manager_ = std::move(*manager);
  }

  std::vector<std::string> Take() { return std::exchange(log_, {}); }

  void Line(uint32_t line, tdm::v1::LineEventType type, const std::string& digit = "") {
    tdm::v1::LineEvent event;
    event.set_line(line);
    event.set_type(type);
    event.set_digit(digit);
    manager_->OnLineEvent(event);
  }
  void Dial(uint32_t line, const std::string& digits) {
    for (char d : digits) {
      media::v1::DtmfDetected event;
      event.set_line(line);
      event.set_digit(std::string(1, d));
      manager_->OnDtmf(event);
      Advance(std::chrono::milliseconds(200));
    }
  }
  void Advance(Duration d) {
    clock_.Advance(d);
    wall_ms_ += ToMillis(d);
    manager_->Poll();
  }
  static media::v1::SessionParams Remote(const std::string& address, uint32_t port) {
    media::v1::SessionParams p;
    p.set_remote_address(address);
    p.set_remote_port(port);
    p.set_codec(media::v1::CODEC_PCMU);
    return p;
  }
  void Progress(const std::string& ref, uint32_t status, bool media = false) {
    signaling::v1::CallEvent e;
    e.set_call_ref(ref);
    e.mutable_progress()->set_status(status);
    if (media) *e.mutable_progress()->mutable_media() = Remote("198.51.100.7", 30000);
    manager_->OnCallEvent(e);
  }
  void Answered(const std::string& ref) {
    signaling::v1::CallEvent e;
    e.set_call_ref(ref);
    *e.mutable_answered()->mutable_media() = Remote("198.51.100.7", 30000);
    manager_->OnCallEvent(e);
  }
  void Released(const std::string& ref, uint32_t status) {
    signaling::v1::CallEvent e;
    e.set_call_ref(ref);
    e.mutable_released()->set_status(status);
    e.mutable_released()->set_by_remote(true);
    manager_->OnCallEvent(e);
  }
  void Incoming(const std::string& ref, const std::string& called, const std::string& calling = "5550001") {
    signaling::v1::CallEvent e;
    e.set_call_ref(ref);
    e.mutable_incoming()->set_called_number(called);
    e.mutable_incoming()->set_calling_number(calling);
    e.mutable_incoming()->set_calling_name("Bob");
    e.mutable_incoming()->set_source_ip("198.51.100.7");
    e.mutable_incoming()->set_sip_call_id("abc@host");
    *e.mutable_incoming()->mutable_media() = Remote("198.51.100.7", 40000);
    manager_->OnCallEvent(e);
  }
  // Line 1 off-hook, dials 9123, the far end answers: connected call c-1.
  void ConnectOutgoing() {
    Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
    Dial(1, "9123");
    Progress("c-1", 180);
    Answered("c-1");
    ASSERT_EQ(manager_->line_state(1), LineState::kConnected);
    Take();
  }
  uint32_t Port(uint32_t line, uint32_t leg) { return ReservedRtpPort(config_, line, leg); }

  std::vector<std::string> log_;
  config::v1::Config config_;
  FakeSignaling signaling_{log_};
  FakeLines lines_{log_};
  FakeCdr cdr_;
  ManualClock clock_;
  int64_t wall_ms_ = 1'700'000'000'000;
  std::unique_ptr<CallManager> manager_;
};

TEST_F(CallManagerTest, FxsOutgoingHappyPath) {
  const std::string port = std::to_string(Port(1, 0));
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("tone 1 DIAL", "detect 1 on"));
  EXPECT_EQ(manager_->line_state(1), LineState::kDialTone);
  Dial(1, "9123");
  EXPECT_THAT(Take(),
              ElementsAre("tone 1 stop", "detect 1 off",
                          "place c-1 line=1 from=201 name=Alice to=9123 dest=pbx media=127.0.0.1:" + port));
  EXPECT_EQ(manager_->line_state(1), LineState::kCalling);
  Progress("c-1", 180);
  EXPECT_THAT(Take(), ElementsAre("tone 1 RINGBACK"));
  EXPECT_EQ(manager_->line_state(1), LineState::kRingback);
  Answered("c-1");
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop", "create 1/0 remote=198.51.100.7:30000"));
  EXPECT_EQ(lines_.sessions.back().local_port(), Port(1, 0));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
  Advance(std::chrono::seconds(10));
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
  EXPECT_EQ(manager_->call_count(), 0u);
  ASSERT_EQ(cdr_.records.size(), 1u);
}

TEST_F(CallManagerTest, EarlyMediaCreatesTheSessionAndAnswerModifiesIt) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Dial(1, "9123");
  Take();
  Progress("c-1", 183, true);
  EXPECT_THAT(Take(), ElementsAre("create 1/0 remote=198.51.100.7:30000"));
  Answered("c-1");
  EXPECT_THAT(Take(), ElementsAre("modify 1/0 remote=198.51.100.7:30000"));
}

TEST_F(CallManagerTest, RemoteByeGivesCongestionAndDisconnectThenIdleOnHook) {
  ConnectOutgoing();
  Released("c-1", 0);
  EXPECT_THAT(Take(), ElementsAre("delete 1/0", "tone 1 CONGESTION", "disconnect 1 800"));
  EXPECT_EQ(manager_->line_state(1), LineState::kReleasing);
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, BusyHereGivesBusyTone) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Dial(1, "9123");
  Take();
  Released("c-1", 486);
  EXPECT_THAT(Take(), ElementsAre("tone 1 BUSY", "disconnect 1 800"));
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].ip_release.sip_code, 486);
  EXPECT_EQ(cdr_.records[0].tel_release.q850_cause, 17);
}

TEST_F(CallManagerTest, ServiceUnavailableTriesTheAlternativeRoute) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Dial(1, "9123");
  Take();
  Released("c-1", 503);
  const std::vector<std::string> log = Take();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0], HasSubstr("place c-2 line=1 from=201 name=Alice to=9123 dest=backup"));
  EXPECT_EQ(manager_->line_state(1), LineState::kCalling);
  Released("c-2", 503);  // the default destination (the first proxy set) is the last route
  EXPECT_THAT(Take(), ElementsAre(HasSubstr("place c-3 line=1 from=201 name=Alice to=9123 dest=pbx")));
  Released("c-3", 503);
  EXPECT_THAT(Take(), ElementsAre("tone 1 CONGESTION", "disconnect 1 800"));
}

TEST_F(CallManagerTest, SignalingRefusingThePlaceCallCountsAs503) {
  signaling_.refuse_place = true;
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Dial(1, "9123");
  const std::vector<std::string> log = Take();
  EXPECT_THAT(log.back(), "disconnect 1 800");
  EXPECT_EQ(signaling_.places.size(), 3u);  // both routes and the default destination tried
  EXPECT_EQ(manager_->line_state(1), LineState::kReleasing);
}

TEST_F(CallManagerTest, InvalidNumberGivesCongestion) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Take();
  Dial(1, "5");
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop", "detect 1 off", "tone 1 CONGESTION", "disconnect 1 800"));
}

TEST_F(CallManagerTest, NoDigitsGivesCongestionAfterTheFirstDigitTimeout) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Take();
  Advance(std::chrono::seconds(17));
  EXPECT_THAT(Take(), ElementsAre("detect 1 off", "tone 1 stop", "tone 1 CONGESTION", "disconnect 1 800"));
}

TEST_F(CallManagerTest, PulseDigitsDialToo) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  for (char d : std::string("9123")) Line(1, tdm::v1::LINE_EVENT_TYPE_PULSE_DIGIT, std::string(1, d));
  EXPECT_EQ(manager_->line_state(1), LineState::kCalling);
}

TEST_F(CallManagerTest, HotlineDialsAtOnce) {
  Start(kConfig, [](config::v1::Config& c) {
    config::v1::Endpoint* hotline = c.mutable_signaling()->add_endpoints();
    hotline->set_line(4);
    hotline->set_hotline_number("9999");
  });
  Line(4, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  const std::vector<std::string> log = Take();
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(log.back(), HasSubstr("place c-1 line=4 from=4 name= to=9999 dest=pbx"));
  EXPECT_EQ(manager_->line_state(4), LineState::kCalling);
}

TEST_F(CallManagerTest, IpToTelHappyPath) {
  const std::string port = std::to_string(Port(1, 0));
  Incoming("s-1", "201");
  EXPECT_THAT(Take(), ElementsAre("answer s-1 180", "ring 1 cid=5550001/Bob"));
  EXPECT_EQ(manager_->line_state(1), LineState::kRinging);
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("create 1/0 remote=198.51.100.7:40000", "answer s-1 200 media=" + port));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("end s-1 0", "delete 1/0"));
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].call_id, "abc@host");
  EXPECT_EQ(cdr_.records[0].direction, callcontrol::CdrDirection::kIpToTel);
  EXPECT_EQ(cdr_.records[0].caller, "5550001");
  EXPECT_EQ(cdr_.records[0].callee, "201");
  EXPECT_EQ(cdr_.records[0].released_by, "tel");
  EXPECT_GT(cdr_.records[0].alert_ms, 0);
  EXPECT_GE(cdr_.records[0].connect_ms, cdr_.records[0].alert_ms);
}

TEST_F(CallManagerTest, UnknownNumberIs404) {
  Incoming("s-1", "999");
  EXPECT_THAT(Take(), ElementsAre("end s-1 404"));
  EXPECT_EQ(manager_->call_count(), 0u);
  ASSERT_EQ(cdr_.records.size(), 1u);  // refused calls get a CDR too
  EXPECT_EQ(cdr_.records[0].ip_release.sip_code, 404);
  EXPECT_EQ(cdr_.records[0].line, 0);
  EXPECT_EQ(cdr_.records[0].released_by, "gateway");
}

TEST_F(CallManagerTest, BusyLineIs486AndBusyHuntGroupIs503) {
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);  // line 2 dialling: busy, no call to wait on
  Line(3, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Line(4, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Take();
  Incoming("s-1", "202");
  EXPECT_THAT(Take(), ElementsAre("end s-1 486"));
  Incoming("s-2", "500");
  EXPECT_THAT(Take(), ElementsAre("end s-2 503"));
}

TEST_F(CallManagerTest, MaxCallsIs503) {
  Start(std::string(kConfig) + "  max_calls: 1\n");
  Incoming("s-1", "201");
  Take();
  Incoming("s-2", "202");
  EXPECT_THAT(Take(), ElementsAre("end s-2 503"));
}

TEST_F(CallManagerTest, NoAnswerIs480) {
  Incoming("s-1", "201");
  Take();
  Advance(std::chrono::seconds(31));
  EXPECT_THAT(Take(), ElementsAre("end s-1 480", "stop_ring 1"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, CancelWhileRingingStopsTheRing) {
  Incoming("s-1", "201");
  Take();
  Released("s-1", 487);
  EXPECT_THAT(Take(), ElementsAre("stop_ring 1"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
  EXPECT_EQ(manager_->call_count(), 0u);
}

TEST_F(CallManagerTest, RingAllFirstOffHookWins) {
  Incoming("s-1", "500");
  EXPECT_THAT(Take(), ElementsAre("answer s-1 180", "ring 3 cid=5550001/Bob", "ring 4 cid=5550001/Bob"));
  Line(4, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("stop_ring 3", "create 4/0 remote=198.51.100.7:40000",
                                  "answer s-1 200 media=" + std::to_string(Port(4, 0))));
  EXPECT_EQ(manager_->line_state(3), LineState::kIdle);
  EXPECT_EQ(manager_->line_state(4), LineState::kConnected);
}

TEST_F(CallManagerTest, RemoteHoldChangesTheSession) {
  ConnectOutgoing();
  signaling::v1::CallEvent e;
  e.set_call_ref("c-1");
  *e.mutable_media_changed()->mutable_media() = Remote("198.51.100.9", 30002);
  manager_->OnCallEvent(e);
  EXPECT_THAT(Take(), ElementsAre("modify 1/0 remote=198.51.100.9:30002"));
}

TEST_F(CallManagerTest, RtpTimeoutReleases) {
  ConnectOutgoing();
  media::v1::RtpTimeout timeout;
  timeout.set_line(1);
  manager_->OnRtpTimeout(timeout);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0", "tone 1 CONGESTION", "disconnect 1 800"));
}

TEST_F(CallManagerTest, HoldAndRetrieveByFlash) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_THAT(Take(),
              ElementsAre("update c-1 DIRECTION_SENDONLY", "modify 1/0 remote=198.51.100.7:30000 inactive",
                          "tone 1 DIAL", "detect 1 on"));
  EXPECT_EQ(manager_->line_state(1), LineState::kHeld);
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_THAT(Take(), ElementsAre("detect 1 off", "tone 1 stop", "update c-1 DIRECTION_SENDRECV",
                                  "modify 1/0 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, OnHookWithAHeldCallRingsAgain) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  Take();
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop", "detect 1 off", "ring 1 cid=9123/"));  // the held party
  EXPECT_EQ(manager_->line_state(1), LineState::kRecall);
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("update c-1 DIRECTION_SENDRECV", "modify 1/0 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, CallWaitingSwap) {
  Incoming("s-1", "202");
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Take();
  Incoming("s-2", "202", "5550002");
  EXPECT_THAT(Take(), ElementsAre("answer s-2 180", "tone 2 CALL_WAITING", "cid 2 5550002 off_hook"));
  EXPECT_EQ(manager_->line_state(2), LineState::kCallWaiting);
  signaling::v1::CallEvent changed;  // the waiting caller is not heard before FLASH
  changed.set_call_ref("s-2");
  *changed.mutable_media_changed()->mutable_media() = Remote("198.51.100.7", 40000);
  manager_->OnCallEvent(changed);
  EXPECT_THAT(Take(), ElementsAre());
  Line(2, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_THAT(Take(), ElementsAre("tone 2 stop", "update s-1 DIRECTION_SENDONLY",
                                  "modify 2/0 remote=198.51.100.7:40000 inactive",
                                  "create 2/1 remote=198.51.100.7:40000",
                                  "answer s-2 200 media=" + std::to_string(Port(2, 1))));
  EXPECT_EQ(manager_->line_state(2), LineState::kTwoCalls);
  Line(2, tdm::v1::LINE_EVENT_TYPE_FLASH);  // swap back
  EXPECT_THAT(Take(),
              ElementsAre("update s-2 DIRECTION_SENDONLY", "modify 2/1 remote=198.51.100.7:40000 inactive",
                          "update s-1 DIRECTION_SENDRECV", "modify 2/0 remote=198.51.100.7:40000"));
  Line(2, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);  // ends s-1, s-2 (held) rings back
  EXPECT_THAT(Take(), ElementsAre("end s-1 0", "delete 2/0", "ring 2 cid=5550002/Bob"));
  EXPECT_EQ(manager_->line_state(2), LineState::kRecall);
}

TEST_F(CallManagerTest, ThreeWayConferenceFlagsBothLegs) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  Dial(1, "9456");
  EXPECT_EQ(manager_->line_state(1), LineState::kConsultCalling);
  Answered("c-2");
  EXPECT_EQ(manager_->line_state(1), LineState::kTwoCalls);
  Take();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_THAT(Take(),
              ElementsAre("modify 1/1 remote=198.51.100.7:30000 conference", "update c-1 DIRECTION_SENDRECV",
                          "modify 1/0 remote=198.51.100.7:30000 conference"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConference);
  Released("c-2", 0);
  EXPECT_THAT(Take(), ElementsAre("delete 1/1", "modify 1/0 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, BlindTransferByFlashDialHangUp) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  Dial(1, "9456");
  Progress("c-2", 180);
  Take();
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("transfer c-1 to=9456", "end c-2 0", "delete 1/0", "tone 1 stop"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, FarEndReferPlacesANewCallThatReplacesTheOldOne) {
  ConnectOutgoing();
  signaling::v1::CallEvent refer;
  refer.set_call_ref("c-1");
  refer.mutable_transfer_requested()->set_target_number("9777");
  manager_->OnCallEvent(refer);
  ASSERT_EQ(signaling_.places.size(), 2u);
  EXPECT_EQ(signaling_.places[1].transferred_from(), "c-1");
  EXPECT_EQ(signaling_.places[1].line(), 1u);
  Take();
  Answered("c-2");
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0", "create 1/1 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, ForwardingAnswers302WithTheTargetAsContact) {
  Start(kConfig, [](config::v1::Config& c) {
    c.mutable_signaling()->mutable_endpoints(0)->set_forward_unconditional("7001");  // line 1
    c.mutable_signaling()->mutable_endpoints(1)->set_forward_busy("7002");           // line 2
    c.mutable_signaling()->mutable_endpoints(1)->set_forward_no_answer("7003");
  });
  Incoming("s-1", "201");
  EXPECT_THAT(Take(), ElementsAre("end s-1 302 contact=7001"));
  Incoming("s-2", "202");
  Take();
  Advance(std::chrono::seconds(31));
  EXPECT_THAT(Take(), ElementsAre("end s-2 302 contact=7003", "stop_ring 2"));
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);  // dialling: busy
  Take();
  Incoming("s-3", "202");
  EXPECT_THAT(Take(), ElementsAre("end s-3 302 contact=7002"));
}

TEST_F(CallManagerTest, IncomingCallWithReplacesTakesOverTheLine) {
  ConnectOutgoing();
  signaling::v1::CallEvent e;
  e.set_call_ref("s-1");
  e.mutable_incoming()->set_called_number("201");
  e.mutable_incoming()->set_calling_number("5550003");
  e.mutable_incoming()->set_replaces_call_ref("c-1");
  *e.mutable_incoming()->mutable_media() = Remote("198.51.100.8", 40002);
  manager_->OnCallEvent(e);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0", "create 1/0 remote=198.51.100.8:40002",
                                  "answer s-1 200 media=" + std::to_string(Port(1, 0))));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("end s-1 0", "delete 1/0"));
}

TEST_F(CallManagerTest, ReferTransferorHangingUpFirstLeavesTheNewCallRinging) {
  ConnectOutgoing();
  signaling::v1::CallEvent refer;
  refer.set_call_ref("c-1");
  refer.mutable_transfer_requested()->set_target_number("9777");
  manager_->OnCallEvent(refer);
  Progress("c-2", 180);
  Take();
  Released("c-1", 0);
  EXPECT_THAT(Take(), ElementsAre("delete 1/0", "tone 1 RINGBACK"));
  EXPECT_EQ(manager_->line_state(1), LineState::kRingback);
  Answered("c-2");
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop", "create 1/1 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, OnHookEndsAReferCallBeingSetUpToo) {
  ConnectOutgoing();
  signaling::v1::CallEvent refer;
  refer.set_call_ref("c-1");
  refer.mutable_transfer_requested()->set_target_number("9777");
  manager_->OnCallEvent(refer);
  Progress("c-2", 183, true);  // its early media is not heard while c-1 talks
  Take();
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0", "end c-2 0"));
  EXPECT_EQ(manager_->call_count(), 0u);
}

TEST_F(CallManagerTest, HeldSessionHasNoRtpTimeout) {
  Start(std::string(kConfig) + "  rtp_timeout_s: 10\n");
  ConnectOutgoing();
  EXPECT_EQ(lines_.sessions.back().rtp_timeout_ms(), 10000u);
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_EQ(lines_.sessions.back().direction(), media::v1::DIRECTION_INACTIVE);
  EXPECT_EQ(lines_.sessions.back().rtp_timeout_ms(), 0u);
}

TEST_F(CallManagerTest, UnansweredOutgoingCallIsCancelledAfterTheSetupTimeout) {
  Start(std::string(kConfig) + "  outgoing_setup_timeout_s: 20\n");
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Dial(1, "9123");
  Progress("c-1", 180);
  Take();
  Advance(std::chrono::seconds(21));
  EXPECT_THAT(Take(), ElementsAre("end c-1 408", "tone 1 CONGESTION", "disconnect 1 800"));
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].ip_release.sip_code, 408);
}

TEST_F(CallManagerTest, RingAllCancelStopsEveryLine) {
  Incoming("s-1", "500");
  Take();
  Released("s-1", 487);
  EXPECT_THAT(Take(), ElementsAre("stop_ring 3", "stop_ring 4"));
  EXPECT_EQ(manager_->line_state(3), LineState::kIdle);
  EXPECT_EQ(manager_->line_state(4), LineState::kIdle);
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].ip_release.sip_code, 487);
}

TEST_F(CallManagerTest, WaitingCallerGivingUpEndsTheToneOnly) {
  Incoming("s-1", "202");
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Incoming("s-2", "202", "5550002");
  Take();
  Released("s-2", 487);
  EXPECT_THAT(Take(), ElementsAre("tone 2 stop"));
  EXPECT_EQ(manager_->line_state(2), LineState::kConnected);
}

TEST_F(CallManagerTest, TalkingPartyHangingUpWithACallWaitingRingsTheWaitingCall) {
  Incoming("s-1", "202");
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Incoming("s-2", "202", "5550002");
  Take();
  Released("s-1", 0);
  EXPECT_THAT(Take(), ElementsAre("delete 2/0", "tone 2 CONGESTION"));
  EXPECT_EQ(manager_->line_state(2), LineState::kReleasing);
  Line(2, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_THAT(Take(), ElementsAre("tone 2 stop", "ring 2 cid=5550002/Bob"));
  EXPECT_EQ(manager_->line_state(2), LineState::kRinging);
  Line(2, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("create 2/1 remote=198.51.100.7:40000",
                                  "answer s-2 200 media=" + std::to_string(Port(2, 1))));
  EXPECT_EQ(manager_->line_state(2), LineState::kConnected);
}

TEST_F(CallManagerTest, LineAlarmReleasesItsCalls) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_ALARM);
  EXPECT_THAT(Take(), ElementsAre("end c-1 503", "delete 1/0"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, SignalingLostReleasesEveryCall) {
  ConnectOutgoing();
  Incoming("s-1", "202");
  Take();
  manager_->OnSignalingLost();
  EXPECT_THAT(Take(), ElementsAre("delete 1/0", "tone 1 CONGESTION", "disconnect 1 800", "stop_ring 2"));
  EXPECT_EQ(manager_->call_count(), 0u);
  EXPECT_EQ(manager_->line_state(1), LineState::kReleasing);
  EXPECT_EQ(manager_->line_state(2), LineState::kIdle);
}

TEST_F(CallManagerTest, AnOperatorSessionTakesTheLineFromCallControl) {
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Take();
  manager_->OnOperatorLine(1, true);  // linegatectl media create 1 ...
  EXPECT_THAT(Take(), ElementsAre("tone 1 stop", "detect 1 off"));
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
  Dial(1, "9123");  // the phone's digits go to the operator's session only
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  Incoming("s-1", "201");
  EXPECT_THAT(Take(), ElementsAre("end s-1 486"));
  EXPECT_FALSE(manager_->MakeCall(1, "9123").ok());
  manager_->OnOperatorLine(1, false);
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_THAT(Take(), ElementsAre("tone 1 DIAL", "detect 1 on"));
}

TEST_F(CallManagerTest, FlashWhileTheConsultationRingsGoesBackToTheHeldCall) {
  ConnectOutgoing();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  Dial(1, "9456");
  Progress("c-2", 180);
  Take();
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  EXPECT_THAT(Take(), ElementsAre("end c-2 0", "tone 1 stop", "update c-1 DIRECTION_SENDRECV",
                                  "modify 1/0 remote=198.51.100.7:30000"));
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, FxoRingsThenSeizesAndCallsTheFxoDestination) {
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_STOPPED);
  EXPECT_THAT(Take(), ElementsAre());
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  const std::vector<std::string> log = Take();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "seize 5");
  EXPECT_THAT(log[1], HasSubstr("place c-1 line=5 from=301"));
  EXPECT_THAT(log[1], HasSubstr("to=201"));
  EXPECT_EQ(manager_->line_state(5), LineState::kCalling);
}

TEST_F(CallManagerTest, FxoPolarityReversalSendsBye) {
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Answered("c-1");
  Take();
  Line(5, tdm::v1::LINE_EVENT_TYPE_POLARITY_REVERSAL);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 5/0", "release 5"));
  EXPECT_EQ(manager_->line_state(5), LineState::kIdle);
}

TEST_F(CallManagerTest, FxoBusyToneFromTheExchangeSendsBye) {
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Line(5, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Answered("c-1");
  Take();
  media::v1::BusyToneDetected busy;
  busy.set_line(5);
  busy.set_tone("busy");
  manager_->OnBusyToneDetected(busy);
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 5/0", "release 5"));
  EXPECT_EQ(manager_->line_state(5), LineState::kIdle);
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].released_by, "tel");
  // Nothing more to release.
  manager_->OnBusyToneDetected(busy);
  EXPECT_THAT(Take(), ElementsAre());
}

TEST_F(CallManagerTest, FxoBusyToneOnlyEndsConnectedCalls) {
  media::v1::BusyToneDetected busy;
  busy.set_tone("congestion");
  // While dialling the exchange: its answer to the number, heard by the caller.
  Incoming("i-1", "8123");
  Advance(std::chrono::milliseconds(1010));
  Take();
  busy.set_line(6);
  manager_->OnBusyToneDetected(busy);
  EXPECT_THAT(Take(), ElementsAre());
  EXPECT_EQ(manager_->line_state(6), LineState::kFxoDialing);
  // An FXS line is no exchange line.
  ConnectOutgoing();
  busy.set_line(1);
  manager_->OnBusyToneDetected(busy);
  EXPECT_THAT(Take(), ElementsAre());
  EXPECT_EQ(manager_->line_state(1), LineState::kConnected);
}

TEST_F(CallManagerTest, FxoTwoStageCollectsDigits) {
  Line(6, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  Line(6, tdm::v1::LINE_EVENT_TYPE_RING_DETECTED);
  EXPECT_THAT(Take(), ElementsAre("seize 6", "tone 6 DIAL", "detect 6 on"));
  Dial(6, "9123");
  EXPECT_EQ(manager_->line_state(6), LineState::kCalling);
}

TEST_F(CallManagerTest, IpToTelFxoSeizesDialsTheCalledNumberThenConnects) {
  const std::string port = std::to_string(Port(6, 0));
  Incoming("i-1", "85551234");
  EXPECT_THAT(Take(), ElementsAre("create 6/0 remote=198.51.100.7:40000", "seize 6"));
  EXPECT_EQ(manager_->line_state(6), LineState::kFxoDialing);
  // calls.fxo_dial_delay_ms (1000 by default) for the exchange's dial tone.
  Advance(std::chrono::milliseconds(990));
  EXPECT_THAT(Take(), ElementsAre());
  Advance(std::chrono::milliseconds(20));
  EXPECT_THAT(Take(), ElementsAre("digits 6 85551234"));
  EXPECT_EQ(manager_->line_state(6), LineState::kFxoDialing);
  // Not connected until media says the number is out.
  Advance(std::chrono::seconds(1));
  EXPECT_THAT(Take(), ElementsAre());
  media::v1::DigitsSent sent;
  sent.set_line(6);
  manager_->OnDigitsSent(sent);
  EXPECT_THAT(Take(), ElementsAre("answer i-1 200 media=" + port));
  EXPECT_EQ(manager_->line_state(6), LineState::kConnected);
  // A late second report changes nothing.
  manager_->OnDigitsSent(sent);
  EXPECT_THAT(Take(), ElementsAre());
  Line(6, tdm::v1::LINE_EVENT_TYPE_POLARITY_REVERSAL);
  EXPECT_THAT(Take(), ElementsAre("end i-1 0", "delete 6/0", "release 6"));
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].callee, "85551234");
  EXPECT_EQ(cdr_.records[0].released_by, "tel");
}

TEST_F(CallManagerTest, IpToTelFxoDialDelayIsConfigurable) {
  Start(std::string(kConfig) + "  fxo_dial_delay_ms: 3000\n");
  Incoming("i-1", "8123");
  Take();
  Advance(std::chrono::milliseconds(2900));
  EXPECT_THAT(Take(), ElementsAre());
  Advance(std::chrono::milliseconds(200));
  EXPECT_THAT(Take(), ElementsAre("digits 6 8123"));
}

TEST_F(CallManagerTest, IpToTelFxoByTheLinesOwnNumberDialsNothing) {
  // Called 301 is line 5 itself: the caller dials the exchange in-band (two-stage).
  Incoming("i-1", "301");
  EXPECT_THAT(Take(), ElementsAre("create 5/0 remote=198.51.100.7:40000", "seize 5"));
  Advance(std::chrono::milliseconds(1010));
  const std::vector<std::string> log = Take();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0], HasSubstr("answer i-1 200"));
  EXPECT_EQ(manager_->line_state(5), LineState::kConnected);
}

TEST_F(CallManagerTest, IpToTelFxoConnectsWhenDigitsSentNeverComes) {
  Incoming("i-1", "8123");
  Advance(std::chrono::milliseconds(1010));
  EXPECT_THAT(Take(), ElementsAre("create 6/0 remote=198.51.100.7:40000", "seize 6", "digits 6 8123"));
  Advance(std::chrono::seconds(4));
  EXPECT_THAT(Take(), ElementsAre());
  Advance(std::chrono::seconds(2));
  const std::vector<std::string> log = Take();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0], HasSubstr("answer i-1 200"));
  EXPECT_EQ(manager_->line_state(6), LineState::kConnected);
}

TEST_F(CallManagerTest, IpToTelFxoCallerHangsUpWhileDialling) {
  Incoming("i-1", "8123");
  Advance(std::chrono::milliseconds(1010));
  Take();
  Released("i-1", 0);
  EXPECT_THAT(Take(), ElementsAre("delete 6/0", "release 6"));
  EXPECT_EQ(manager_->line_state(6), LineState::kIdle);
  media::v1::DigitsSent sent;
  sent.set_line(6);
  manager_->OnDigitsSent(sent);
  EXPECT_THAT(Take(), ElementsAre());
}

TEST_F(CallManagerTest, CdrRowContents) {
  ConnectOutgoing();
  Advance(std::chrono::seconds(60));
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  ASSERT_EQ(cdr_.records.size(), 1u);
  const callcontrol::CdrRecord& r = cdr_.records[0];
  EXPECT_EQ(r.call_id, "c-1");
  EXPECT_EQ(r.direction, callcontrol::CdrDirection::kTelToIp);
  EXPECT_EQ(r.caller, "201");
  EXPECT_EQ(r.callee, "9123");
  EXPECT_EQ(r.line, 1);
  EXPECT_GT(r.setup_ms, 0);
  EXPECT_GE(r.alert_ms, r.setup_ms);
  EXPECT_GE(r.connect_ms, r.alert_ms);
  EXPECT_EQ(r.release_ms - r.connect_ms, 60'000);
  EXPECT_EQ(r.released_by, "tel");
  EXPECT_EQ(r.codec, "PCMU");
  EXPECT_EQ(r.rtp_packets_sent, 500u);
  EXPECT_EQ(r.rtp_packets_received, 490u);
  EXPECT_EQ(r.rtp_packets_lost, 10u);
  EXPECT_DOUBLE_EQ(r.one_way_delay_ms, 20);
  ASSERT_TRUE(r.mos.has_value());
  EXPECT_GT(*r.mos, 3.0);
}

TEST_F(CallManagerTest, LateSessionReplyAfterTheCallEndedIsHarmless) {
  lines_.defer_create = true;
  Incoming("s-1", "201");
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);  // the session is being created
  Released("s-1", 0);                          // and the call ends before media replies
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  EXPECT_EQ(Take().back(), "tone 1 stop");
  media::v1::CreateSessionReply reply;
  reply.set_local_port(Port(1, 0));
  lines_.pending_create(reply);
  EXPECT_THAT(Take(), ElementsAre());
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, UnexpectedEventsDoNotCrash) {
  Released("nobody", 0);
  Answered("nobody");
  Line(1, tdm::v1::LINE_EVENT_TYPE_ON_HOOK);
  Line(1, tdm::v1::LINE_EVENT_TYPE_FLASH);
  Line(99, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_EQ(manager_->line_state(1), LineState::kIdle);
}

TEST_F(CallManagerTest, OperatorMakeCallListAndHangup) {
  auto ref = manager_->MakeCall(1, "9123");
  ASSERT_TRUE(ref) << ref.error();
  EXPECT_EQ(*ref, "c-1");
  EXPECT_THAT(Take(), ElementsAre("script 1 offhook"));
  Line(1, tdm::v1::LINE_EVENT_TYPE_OFF_HOOK);
  EXPECT_EQ(signaling_.places.size(), 1u);
  Answered("c-1");
  Advance(std::chrono::seconds(5));
  const signaling::v1::CallListReply list = manager_->ListCalls();
  ASSERT_EQ(list.calls_size(), 1);
  EXPECT_EQ(list.calls(0).call_ref(), "c-1");
  EXPECT_EQ(list.calls(0).state(), "connected");
  EXPECT_EQ(list.calls(0).direction(), "tel-to-ip");
  EXPECT_EQ(list.calls(0).codec(), "PCMU");
  EXPECT_EQ(list.calls(0).remote_media(), "198.51.100.7:30000");
  EXPECT_EQ(list.calls(0).duration_ms(), 5000);
  Take();
  ASSERT_TRUE(manager_->Hangup("", 1).ok());
  EXPECT_THAT(Take(), ElementsAre("end c-1 0", "delete 1/0", "tone 1 CONGESTION", "disconnect 1 800"));
  ASSERT_EQ(cdr_.records.size(), 1u);
  EXPECT_EQ(cdr_.records[0].released_by, "gateway");
  EXPECT_FALSE(manager_->MakeCall(5, "1").ok());  // FXO
  EXPECT_FALSE(manager_->Hangup("c-9", 0).ok());
}

}  // namespace
}  // namespace linegate::calls
