#include "signaling/registration/registration_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "signaling/auth/digest_response.h"
#include "signaling/registration/tests/test_support.h"

namespace linegate::signaling::registration {

// Reaches the table directly, for events no real input can produce.
class RegistrationClientTestPeer {
 public:
  static void Inject(RegistrationClient& client, std::string_view id, RegistrationEvent event) {
    client.Dispatch(client.Find(id), event);
  }
};

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Address;
using testing::AuthParam;
using testing::FakeRequestChannel;
using testing::SeededRandom;
using testing::SentRequest;
using testing::Udp;

constexpr char kPassword[] = "s3cret-Pa55";
constexpr char kChallengeMd5[] =
    "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n1\", qop=\"auth\", "
    "algorithm=MD5, opaque=\"op1\"\r\n";

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Recomputes the response of an Authorization value with the auth library.
void ExpectValidAuthorization(const std::string& value, std::string_view password) {
  SCOPED_TRACE(value);
  const std::string username = AuthParam(value, "username");
  const std::string realm = AuthParam(value, "realm");
  const std::string nonce = AuthParam(value, "nonce");
  const std::string uri = AuthParam(value, "uri");
  const std::string cnonce = AuthParam(value, "cnonce");
  const std::string qop = AuthParam(value, "qop");
  const std::string nc = AuthParam(value, "nc");
  EXPECT_EQ(uri, "sip:gw.test") << "digest-uri is the Request-URI (RFC 3261 22.4)";
  std::optional<auth::DigestAlgorithm> algorithm = auth::ParseAlgorithm(AuthParam(value, "algorithm"));
  ASSERT_TRUE(algorithm.has_value());
  auth::DigestInputs inputs;
  inputs.algorithm = *algorithm;
  inputs.realm = realm;
  inputs.nonce = nonce;
  inputs.cnonce = cnonce;
  inputs.qop = qop == "auth" ? auth::Qop::kAuth : auth::Qop::kNone;
  inputs.nonce_count = qop == "auth" ? static_cast<uint32_t>(std::stoul(nc, nullptr, 16)) : 1;
  inputs.request = auth::DigestRequest{"REGISTER", uri, ""};
  Result<auth::DigestValues> expected =
      auth::ComputeDigest(auth::Credentials::FromPassword(username, password), inputs);
  ASSERT_TRUE(expected.ok()) << expected.error();
  EXPECT_EQ(AuthParam(value, "response"), expected->response);
}

class RegistrationClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.local_address = [](transport::Protocol protocol) {
      return std::optional(Address("192.0.2.10", protocol == transport::Protocol::kTls ? 5061 : 5060));
    };
  }

  void MakeClient(std::vector<transport::Destination> proxies = {Udp("198.51.100.1")},
                  Duration keepalive = Duration::zero(), int failures_to_down = 1) {
    client_ = std::make_unique<RegistrationClient>(scheduler_, channel_, random_, config_);
    ProxySetConfig set;
    set.id = "ps1";
    set.proxies = std::move(proxies);
    set.keepalive_interval = keepalive;
    set.keepalive_failures_to_down = failures_to_down;
    ASSERT_TRUE(client_->AddProxySet(set).ok());
    client_->set_listener([this](const RegistrationStatus& status) { events_.push_back(status); });
  }

  RegistrationEntity Entity(const std::string& id, const std::string& user, uint32_t expires = 3600) {
    RegistrationEntity entity;
    entity.kind = EntityKind::kEndpoint;
    entity.id = id;
    entity.aor_user = user;
    entity.aor_domain = "gw.test";
    entity.credentials = auth::Credentials::FromPassword(user, kPassword);
    entity.requested_expires = expires;
    entity.proxy_set_id = "ps1";
    return entity;
  }

  void AddAndRegister(const std::string& id, const std::string& user, uint32_t expires = 3600) {
    ASSERT_TRUE(client_->AddEntity(Entity(id, user, expires)).ok());
    ASSERT_TRUE(client_->Register(id).ok());
    // New REGISTERs are paced (200/s by default): let this one's slot come.
    scheduler_.Advance(milliseconds(10));
  }

  RegistrationState State(const std::string& id) { return client_->GetStatus(id)->state; }

  std::vector<std::string> StateNames() const {
    std::vector<std::string> out;
    for (const RegistrationStatus& s : events_) out.emplace_back(StateName(s.state));
    return out;
  }

  // Registers `id` (plain 200 with the contact's expires) and returns when registered.
  void RegisterPlain(const std::string& id, const std::string& user, uint32_t granted) {
    AddAndRegister(id, user);
    SentRequest& request = channel_.LastRegister();
    channel_.Answer(request, 200, "OK",
                    "Contact: <" + request.ContactUri() + ">;expires=" + std::to_string(granted) + "\r\n");
    ASSERT_EQ(State(id), RegistrationState::kRegistered);
  }

  ManualScheduler scheduler_;
  FakeRequestChannel channel_{scheduler_};
  SeededRandom random_{2024};
  RegistrationClientConfig config_;
  std::unique_ptr<RegistrationClient> client_;
  std::vector<RegistrationStatus> events_;
};

TEST_F(RegistrationClientTest, AnswersA401WithQopAuthAndRegisters) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  ASSERT_EQ(channel_.Count("REGISTER"), 1u);
  SentRequest& first = channel_.LastRegister();
  const sip::Message m1 = first.Parsed();
  EXPECT_EQ(m1.request_uri_text(), "sip:gw.test");
  EXPECT_EQ(m1.to()->uri.text, "sip:1001@gw.test");
  EXPECT_FALSE(m1.from()->tag.empty());
  EXPECT_TRUE(m1.top_via()->branch.starts_with("z9hG4bK"));
  EXPECT_EQ(m1.max_forwards(), 70);
  EXPECT_EQ(m1.expires(), 3600u);
  EXPECT_EQ(first.ContactUri(), "sip:1001@192.0.2.10:5060;transport=udp");
  EXPECT_EQ(first.Header("User-Agent"), "linegate");
  EXPECT_EQ(first.Header("Authorization"), "<absent>");
  EXPECT_TRUE(first.to.address == Address("198.51.100.1", 5060));
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);

  channel_.Answer(first, 401, "Unauthorized", kChallengeMd5);
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  SentRequest& second = channel_.LastRegister();
  const sip::Message m2 = second.Parsed();
  EXPECT_EQ(m2.call_id(), m1.call_id()) << "Call-ID constant per registration (RFC 3261 10.2)";
  EXPECT_EQ(m2.from()->tag, m1.from()->tag);
  EXPECT_EQ(m2.cseq()->number, m1.cseq()->number + 1);
  EXPECT_NE(m2.top_via()->branch, m1.top_via()->branch) << "a new transaction";
  const std::string authorization = second.Header("Authorization");
  EXPECT_EQ(AuthParam(authorization, "username"), "1001");
  EXPECT_EQ(AuthParam(authorization, "qop"), "auth");
  EXPECT_EQ(AuthParam(authorization, "nc"), "00000001");
  EXPECT_EQ(AuthParam(authorization, "opaque"), "op1");
  ExpectValidAuthorization(authorization, kPassword);

  channel_.Answer(second, 200, "OK", "Contact: <" + second.ContactUri() + ">;expires=600\r\n");
  const std::optional<RegistrationStatus> status = client_->GetStatus("line-1");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, RegistrationState::kRegistered);
  EXPECT_EQ(status->granted_expires, 600u);
  EXPECT_EQ(status->expires_at, scheduler_.clock().Now() + seconds(600));
  EXPECT_EQ(status->last_status_code, 200);
  EXPECT_EQ(status->proxy, "udp:198.51.100.1:5060");
  EXPECT_EQ(client_->counters().challenges_answered, 1u);
  EXPECT_EQ(StateNames(), (std::vector<std::string>{"registering", "registered"}));
}

TEST_F(RegistrationClientTest, StaleChallengeIsAnsweredAgainWithoutFailing) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized",
                  "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n2\", qop=\"auth\", stale=true\r\n");
  ASSERT_EQ(channel_.Count("REGISTER"), 3u);
  const std::string authorization = channel_.LastRegister().Header("Authorization");
  EXPECT_EQ(AuthParam(authorization, "nonce"), "n2");
  ExpectValidAuthorization(authorization, kPassword);
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 3600\r\n");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
  EXPECT_EQ(client_->counters().auth_failures, 0u);
  EXPECT_EQ(client_->counters().challenges_answered, 2u);
}

TEST_F(RegistrationClientTest, WrongPasswordFailsOnTheSecondChallengeWithoutLooping) {
  config_.failed_retry_interval = seconds(1800);
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized",
                  "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n3\", qop=\"auth\"\r\n");
  EXPECT_EQ(channel_.Count("REGISTER"), 2u);
  const std::optional<RegistrationStatus> status = client_->GetStatus("line-1");
  EXPECT_EQ(status->state, RegistrationState::kFailed);
  EXPECT_EQ(status->last_status_code, 401);
  EXPECT_NE(status->last_reason.find("authentication failed"), std::string::npos) << status->last_reason;
  EXPECT_EQ(client_->counters().auth_failures, 1u);

  // No loop: nothing for well over the backoff times; one fresh attempt after the long retry.
  scheduler_.Advance(seconds(1600));
  EXPECT_EQ(channel_.Count("REGISTER"), 2u);
  scheduler_.Advance(seconds(400));
  ASSERT_EQ(channel_.Count("REGISTER"), 3u);
  EXPECT_EQ(channel_.LastRegister().Header("Authorization"), "<absent>") << "starts afresh";
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);
}

TEST_F(RegistrationClientTest, Sha256Challenge) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(
      channel_.LastRegister(), 401, "Unauthorized",
      "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"md5n\", qop=\"auth\", algorithm=MD5\r\n"
      "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"shan\", qop=\"auth\", algorithm=SHA-256\r\n");
  const std::string authorization = channel_.LastRegister().Header("Authorization");
  EXPECT_EQ(AuthParam(authorization, "algorithm"), "SHA-256");
  EXPECT_EQ(AuthParam(authorization, "nonce"), "shan");
  EXPECT_EQ(AuthParam(authorization, "response").size(), 64u);
  ExpectValidAuthorization(authorization, kPassword);
  channel_.Answer(channel_.LastRegister(), 200, "OK");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
}

TEST_F(RegistrationClientTest, ProxyChallengeIsAnsweredWithProxyAuthorization) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 407, "Proxy Authentication Required",
                  "Proxy-Authenticate: Digest realm=\"gw.test\", nonce=\"p1\"\r\n");
  SentRequest& retry = channel_.LastRegister();
  EXPECT_EQ(retry.Header("Authorization"), "<absent>");
  ExpectValidAuthorization(retry.Header("Proxy-Authorization"), kPassword);
  channel_.Answer(retry, 200, "OK");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
}

TEST_F(RegistrationClientTest, RefreshWithCachedCredentialsAndAForgottenNonce) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 100\r\n");
  scheduler_.Advance(seconds(95));
  ASSERT_EQ(channel_.Count("REGISTER"), 3u);
  SentRequest& refresh = channel_.LastRegister();
  // RFC 3261 22.3: the refresh reuses the credentials, nc advanced.
  EXPECT_EQ(AuthParam(refresh.Header("Authorization"), "nc"), "00000002");
  ExpectValidAuthorization(refresh.Header("Authorization"), kPassword);
  // The registrar forgot the nonce and challenges without stale=true: answered afresh once.
  channel_.Answer(refresh, 401, "Unauthorized",
                  "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n9\", qop=\"auth\"\r\n");
  ASSERT_EQ(channel_.Count("REGISTER"), 4u);
  EXPECT_EQ(AuthParam(channel_.LastRegister().Header("Authorization"), "nonce"), "n9");
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 100\r\n");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
  EXPECT_EQ(client_->counters().auth_failures, 0u);
}

TEST_F(RegistrationClientTest, IntervalTooBriefRetriesWithMinExpires) {
  MakeClient();
  AddAndRegister("line-1", "1001", 60);
  EXPECT_EQ(channel_.LastRegister().Parsed().expires(), 60u);
  channel_.Answer(channel_.LastRegister(), 423, "Interval Too Brief", "Min-Expires: 1800\r\n");
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  SentRequest& retry = channel_.LastRegister();
  EXPECT_EQ(retry.Parsed().expires(), 1800u);
  EXPECT_NE(retry.Header("Contact").find(";expires=1800"), std::string::npos) << retry.Header("Contact");
  channel_.Answer(retry, 200, "OK", "Contact: <" + retry.ContactUri() + ">;expires=1800\r\n");
  EXPECT_EQ(client_->GetStatus("line-1")->granted_expires, 1800u);

  // A 423 whose Min-Expires is no higher than what was sent cannot be satisfied: failed.
  AddAndRegister("line-2", "1002", 60);
  channel_.Answer(channel_.LastRegister(), 423, "Interval Too Brief", "Min-Expires: 60\r\n");
  EXPECT_EQ(State("line-2"), RegistrationState::kFailed);
}

TEST_F(RegistrationClientTest, ServiceUnavailableHonoursRetryAfter) {
  MakeClient({Udp("198.51.100.1"), Udp("198.51.100.2")});
  AddAndRegister("line-1", "1001");
  const TimePoint answered_at = scheduler_.clock().Now();
  channel_.Answer(channel_.LastRegister(), 503, "Service Unavailable", "Retry-After: 30\r\n");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);
  scheduler_.Advance(milliseconds(29999));
  EXPECT_EQ(channel_.Count("REGISTER"), 1u) << "not before Retry-After";
  scheduler_.Advance(seconds(6));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  const SentRequest& retry = channel_.LastRegister();
  EXPECT_GE(Seconds(retry.at - answered_at), 30.0);
  EXPECT_LE(Seconds(retry.at - answered_at), 35.0) << "jitter at most retry_after_jitter";
  EXPECT_TRUE(retry.to.address == Address("198.51.100.1", 5060)) << "Retry-After: same proxy";
}

TEST_F(RegistrationClientTest, ServerErrorBacksOffExponentiallyWithJitter) {
  config_.retry_base = seconds(30);
  config_.retry_max = seconds(200);
  MakeClient();
  AddAndRegister("line-1", "1001");
  std::vector<double> waits;
  for (int i = 0; i < 5; ++i) {
    const TimePoint at = scheduler_.clock().Now();
    channel_.Answer(channel_.LastRegister(), 500, "Server Internal Error");
    const size_t before = channel_.Count("REGISTER");
    while (channel_.Count("REGISTER") == before) scheduler_.Advance(milliseconds(100));
    waits.push_back(Seconds(channel_.LastRegister().at - at));
  }
  // 50%..100% of 30, 60, 120, 200 (capped), 200.
  const double caps[] = {30, 60, 120, 200, 200};
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], caps[i] / 2 - 0.01) << i;
    EXPECT_LE(waits[i], caps[i] + 0.11) << i;
  }
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);
}

TEST_F(RegistrationClientTest, TimeoutFailsOverToTheSecondProxy) {
  MakeClient({Udp("198.51.100.1"), Udp("198.51.100.2")});
  AddAndRegister("line-1", "1001");
  EXPECT_TRUE(channel_.LastRegister().to.address == Address("198.51.100.1", 5060));
  channel_.TimeOut(channel_.LastRegister());
  scheduler_.Advance(seconds(1));  // the failover goes through the pacer
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  SentRequest& failover = channel_.LastRegister();
  EXPECT_TRUE(failover.to.address == Address("198.51.100.2", 5060));
  channel_.Answer(failover, 200, "OK", "Expires: 600\r\n");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
  EXPECT_EQ(client_->GetStatus("line-1")->proxy, "udp:198.51.100.2:5060");
  EXPECT_EQ(client_->counters().failovers, 1u);
  EXPECT_EQ(client_->FindProxySet("ps1")->ActiveIndex(), 1u);

  // Both proxies time out: back off instead of spinning between them.
  scheduler_.Advance(seconds(600));
  channel_.TimeOut(channel_.LastRegister());  // the refresh, to proxy 2
  scheduler_.Advance(seconds(1));
  const size_t after_second_failover = channel_.Count("REGISTER");
  EXPECT_TRUE(channel_.LastRegister().to.address == Address("198.51.100.1", 5060)) << "all down: primary";
  channel_.TimeOut(channel_.LastRegister());
  scheduler_.Advance(seconds(10));
  EXPECT_EQ(channel_.Count("REGISTER"), after_second_failover) << "backing off";
  EXPECT_GE(client_->counters().retries_scheduled, 1u);
}

TEST_F(RegistrationClientTest, ServiceUnavailableWithoutRetryAfterFailsOver) {
  MakeClient({Udp("198.51.100.1"), Udp("198.51.100.2")});
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 503, "Service Unavailable");
  scheduler_.Advance(seconds(1));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  EXPECT_TRUE(channel_.LastRegister().to.address == Address("198.51.100.2", 5060));
}

TEST_F(RegistrationClientTest, HomesBackToThePrimaryAtTheNextRefresh) {
  const transport::SocketAddress p1 = Address("198.51.100.1", 5060);
  const transport::SocketAddress p2 = Address("198.51.100.2", 5060);
  MakeClient({Udp("198.51.100.1"), Udp("198.51.100.2")}, seconds(30), 1);
  ASSERT_EQ(channel_.Count("OPTIONS"), 2u);
  channel_.AnswerKeepAlives(p1, false);
  channel_.AnswerKeepAlives(p2, true);
  ASSERT_EQ(client_->FindProxySet("ps1")->ActiveIndex(), 1u);

  AddAndRegister("line-1", "1001");
  EXPECT_TRUE(channel_.LastRegister().to.address == p2);
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 120\r\n");
  const TimePoint registered_at = scheduler_.clock().Now();

  // The primary answers its keep-alive again: the set homes at once ...
  scheduler_.Advance(seconds(30));
  channel_.AnswerKeepAlives(p1, true);
  channel_.AnswerKeepAlives(p2, true);
  EXPECT_EQ(client_->FindProxySet("ps1")->ActiveIndex(), 0u);
  EXPECT_EQ(client_->FindProxySet("ps1")->counters().homings, 1u);
  EXPECT_EQ(channel_.Count("REGISTER"), 1u) << "the registration is not torn down";

  // ... and the registration moves back at its next refresh.
  while (channel_.Count("REGISTER") == 1) {
    scheduler_.Advance(seconds(1));
    channel_.AnswerKeepAlives(p1, true);
    channel_.AnswerKeepAlives(p2, true);
  }
  SentRequest& refresh = channel_.LastRegister();
  EXPECT_TRUE(refresh.to.address == p1);
  EXPECT_LE(Seconds(refresh.at - registered_at), 102.0);
  channel_.Answer(refresh, 200, "OK", "Expires: 120\r\n");
  EXPECT_EQ(client_->GetStatus("line-1")->proxy, "udp:198.51.100.1:5060");
}

TEST_F(RegistrationClientTest, RefreshHonoursTheGrantedExpires) {
  MakeClient();
  // Contact param (120) preferred over the Expires header (3600).
  AddAndRegister("line-1", "1001");
  SentRequest& first = channel_.LastRegister();
  const TimePoint t1 = scheduler_.clock().Now();
  channel_.Answer(first, 200, "OK", "Contact: <" + first.ContactUri() + ">;expires=120\r\nExpires: 3600\r\n");
  EXPECT_EQ(client_->GetStatus("line-1")->granted_expires, 120u);
  EXPECT_EQ(client_->GetStatus("line-1")->expires_at, t1 + seconds(120));
  scheduler_.Advance(seconds(59));
  EXPECT_EQ(channel_.Count("REGISTER"), 1u);
  scheduler_.Advance(seconds(43));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u) << "refreshed between 50% and 85% of 120 s";
  EXPECT_GE(Seconds(channel_.LastRegister().at - t1), 60.0);
  EXPECT_EQ(channel_.LastRegister().Parsed().expires(), 3600u) << "still asks for what is configured";

  // Header only (300): refresh in [150, 255].
  AddAndRegister("line-2", "1002");
  SentRequest& second = channel_.LastRegister();
  const TimePoint t2 = scheduler_.clock().Now();
  channel_.Answer(second, 200, "OK", "Contact: <" + second.ContactUri() + ">\r\nExpires: 300\r\n");
  EXPECT_EQ(client_->GetStatus("line-2")->granted_expires, 300u);
  const size_t before = channel_.Count("REGISTER");
  scheduler_.Advance(seconds(149));
  for (SentRequest* r : channel_.Pending("REGISTER"))
    EXPECT_NE(r->Parsed().call_id(), second.Parsed().call_id());
  scheduler_.Advance(seconds(106));
  bool refreshed = false;
  for (size_t i = before; i < channel_.Count("REGISTER"); ++i) {
    const SentRequest& r = *channel_.All("REGISTER")[i];
    if (r.Parsed().call_id() != second.Parsed().call_id()) continue;
    refreshed = true;
    EXPECT_GE(Seconds(r.at - t2), 150.0);
    EXPECT_LE(Seconds(r.at - t2), 255.0);
  }
  EXPECT_TRUE(refreshed);
}

TEST_F(RegistrationClientTest, ShortIntervalRefreshesAtLeastFiveSecondsBeforeExpiry) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  const TimePoint t = scheduler_.clock().Now();
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 8\r\n");
  scheduler_.Advance(seconds(3));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  EXPECT_LE(Seconds(channel_.LastRegister().at - t), 3.0);
}

TEST_F(RegistrationClientTest, BindingExpiresWhenRefreshesKeepFailing) {
  config_.retry_base = seconds(60);
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 100\r\n");
  events_.clear();
  scheduler_.Advance(seconds(86));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  channel_.Answer(channel_.LastRegister(), 500, "Server Internal Error");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered) << "the binding is still valid";
  scheduler_.Advance(seconds(15));
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistering);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().state, RegistrationState::kRegistering);
  EXPECT_FALSE(events_.back().expires_at.has_value() &&
               *events_.back().expires_at > scheduler_.clock().Now());
}

TEST_F(RegistrationClientTest, RefreshTimesOfAThousandEntitiesAreSpread) {
  config_.max_new_registers_per_second = 200;
  MakeClient();
  constexpr int kEntities = 1000;
  constexpr uint32_t kGranted = 3600;
  channel_.set_auto_answer([this](SentRequest& request) {
    // Answered from inside SendRequest: the client must cope with that too.
    channel_.Answer(request, 200, "OK",
                    "Contact: <" + request.ContactUri() + ">;expires=" + std::to_string(kGranted) + "\r\n");
  });
  for (int i = 0; i < kEntities; ++i) {
    ASSERT_TRUE(client_->AddEntity(Entity("line-" + std::to_string(i), std::to_string(2000 + i))).ok());
  }
  client_->RegisterAll();
  scheduler_.Advance(seconds(10));
  const TimePoint start = scheduler_.clock().Now() - seconds(10);
  for (const RegistrationStatus& status : client_->StatusAll()) {
    ASSERT_EQ(status.state, RegistrationState::kRegistered) << status.id;
  }
  std::map<std::string, TimePoint> registered_at;
  for (SentRequest* r : channel_.All("REGISTER")) registered_at[std::string(r->Parsed().call_id())] = r->at;
  ASSERT_EQ(registered_at.size(), static_cast<size_t>(kEntities));

  scheduler_.Advance(seconds(kGranted));
  std::map<int64_t, int> per_second;
  int refreshes = 0;
  for (SentRequest* r : channel_.All("REGISTER")) {
    if (r->CSeq() != 2) continue;
    ++refreshes;
    const double after = Seconds(r->at - registered_at[std::string(r->Parsed().call_id())]);
    EXPECT_GE(after, kGranted * 0.5 - 0.001);
    EXPECT_LE(after, kGranted * 0.85 + 0.001);
    ++per_second[std::chrono::duration_cast<seconds>(r->at - start).count()];
  }
  EXPECT_EQ(refreshes, kEntities);
  int busiest = 0;
  for (const auto& [second, count] : per_second) busiest = std::max(busiest, count);
  // Uniform over 1260 s, about 0.8 per second: no second may hold 1% of them.
  EXPECT_LT(busiest, kEntities / 100) << "busiest second holds " << busiest;
  EXPECT_GT(per_second.size(), 500u);
  for (const RegistrationStatus& status : client_->StatusAll())
    EXPECT_EQ(status.state, RegistrationState::kRegistered);
}

// At most max_registers_in_flight REGISTERs await an answer; each final response lets
// the next one go, and re-sends after a challenge are never held back.
TEST_F(RegistrationClientTest, RegistersInFlightAreCapped) {
  config_.max_new_registers_per_second = 100000;
  config_.max_registers_in_flight = 10;
  MakeClient();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(client_->AddEntity(Entity("line-" + std::to_string(i), std::to_string(3000 + i))).ok());
  }
  client_->RegisterAll();
  scheduler_.Advance(seconds(1));
  ASSERT_EQ(channel_.Count("REGISTER"), 10u) << "the cap holds";
  // A challenge: the entity answers it at once (its slot is reused, not queued).
  channel_.Answer(*channel_.All("REGISTER")[0], 401, "Unauthorized", kChallengeMd5);
  scheduler_.Advance(milliseconds(1));
  EXPECT_EQ(channel_.Count("REGISTER"), 11u);
  // Final answers free slots for the queue.
  for (int i = 1; i < 4; ++i) {
    SentRequest& request = *channel_.All("REGISTER")[static_cast<size_t>(i)];
    channel_.Answer(request, 200, "OK", "Contact: <" + request.ContactUri() + ">;expires=600\r\n");
  }
  scheduler_.Advance(milliseconds(1));
  EXPECT_EQ(channel_.Count("REGISTER"), 14u);
  EXPECT_EQ(client_->paced_backlog(), 30u - 13u);
}

// A request this gateway refused itself (its transaction table full) is not the
// proxy's failure: no failover, the proxy stays alive, and it goes again in about 1 s.
TEST_F(RegistrationClientTest, LocalRefusalRetriesSoonWithoutBlamingTheProxy) {
  MakeClient();
  AddAndRegister("line-1", "2001");
  channel_.RefuseLocally(channel_.LastRegister());
  EXPECT_EQ(client_->counters().local_refusals, 1u);
  EXPECT_EQ(client_->counters().failovers, 0u);
  EXPECT_EQ(channel_.Count("REGISTER"), 1u);
  scheduler_.Advance(seconds(3));
  ASSERT_EQ(channel_.Count("REGISTER"), 2u) << "retried within 1 s + jitter";
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 3600\r\n");
  EXPECT_EQ(State("line-1"), RegistrationState::kRegistered);
}

TEST_F(RegistrationClientTest, InitialRegistrationsArePaced) {
  config_.max_new_registers_per_second = 200;
  config_.max_registers_in_flight = 0;  // the fake registrar never answers here
  MakeClient();
  constexpr int kEntities = 1000;
  for (int i = 0; i < kEntities; ++i) {
    ASSERT_TRUE(client_->AddEntity(Entity("line-" + std::to_string(i), std::to_string(2000 + i))).ok());
  }
  const TimePoint start = scheduler_.clock().Now();
  client_->RegisterAll();
  EXPECT_EQ(channel_.Count("REGISTER"), 1u) << "no burst at start-up";
  EXPECT_EQ(client_->paced_backlog(), static_cast<size_t>(kEntities - 1));
  scheduler_.Advance(seconds(1));
  EXPECT_LE(channel_.Count("REGISTER"), 201u);
  EXPECT_GE(channel_.Count("REGISTER"), 199u);
  scheduler_.Advance(seconds(5));
  ASSERT_EQ(channel_.Count("REGISTER"), static_cast<size_t>(kEntities));
  EXPECT_EQ(client_->paced_backlog(), 0u);
  // In every sliding second at most 200 (+1 for the boundary) were sent.
  std::vector<TimePoint> times;
  for (SentRequest* r : channel_.All("REGISTER")) times.push_back(r->at);
  for (size_t i = 0; i < times.size(); ++i) {
    const auto end = std::upper_bound(times.begin(), times.end(), times[i] + milliseconds(999));
    EXPECT_LE(end - (times.begin() + static_cast<ptrdiff_t>(i)), 200) << "window starting at " << i;
  }
  EXPECT_GE(Seconds(times.back() - start), 4.99);
}

TEST_F(RegistrationClientTest, UnregisterSendsExpiresZeroAndEndsUnregistered) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
  SentRequest& registered = channel_.LastRegister();
  channel_.Answer(registered, 200, "OK", "Expires: 3600\r\n");
  ASSERT_TRUE(client_->Unregister("line-1").ok());
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistering);
  ASSERT_EQ(channel_.Count("REGISTER"), 3u);
  SentRequest& unregister = channel_.LastRegister();
  const sip::Message message = unregister.Parsed();
  EXPECT_EQ(message.expires(), 0u);
  EXPECT_NE(unregister.Header("Contact").find(";expires=0"), std::string::npos);
  EXPECT_EQ(message.call_id(), registered.Parsed().call_id());
  EXPECT_EQ(message.cseq()->number, registered.CSeq() + 1);
  ExpectValidAuthorization(unregister.Header("Authorization"), kPassword);
  channel_.Answer(unregister, 200, "OK");
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistered);
  EXPECT_FALSE(client_->GetStatus("line-1")->expires_at.has_value());
  EXPECT_EQ(scheduler_.pending(), 0u) << "no refresh left behind";
  EXPECT_EQ(StateNames(),
            (std::vector<std::string>{"registering", "registered", "unregistering", "unregistered"}));
  EXPECT_EQ(client_->counters().unregisters_sent, 1u);
}

TEST_F(RegistrationClientTest, UnregisterWaitsForTheRegisterInFlight) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  SentRequest& in_flight = channel_.LastRegister();
  ASSERT_TRUE(client_->Unregister("line-1").ok());
  EXPECT_EQ(channel_.Count("REGISTER"), 1u) << "RFC 3261 10.2: one REGISTER at a time";
  channel_.Answer(in_flight, 200, "OK", "Expires: 3600\r\n");
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  EXPECT_EQ(channel_.LastRegister().Parsed().expires(), 0u);
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistering);
  channel_.Answer(channel_.LastRegister(), 200, "OK");
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistered);
  EXPECT_EQ(client_->counters().superseded_responses, 1u);
}

TEST_F(RegistrationClientTest, UnregisterAllAndRemoval) {
  MakeClient();
  RegisterPlain("a", "1001", 3600);
  RegisterPlain("b", "1002", 3600);
  ASSERT_TRUE(client_->AddEntity(Entity("never", "1003")).ok());
  const size_t before = channel_.Count("REGISTER");
  client_->UnregisterAll();
  ASSERT_EQ(channel_.Count("REGISTER"), before + 2) << "nothing to remove for an entity never registered";
  for (SentRequest* r : channel_.Pending("REGISTER")) {
    EXPECT_EQ(r->Parsed().expires(), 0u);
    channel_.Answer(*r, 200, "OK");
  }
  for (const RegistrationStatus& status : client_->StatusAll()) {
    EXPECT_EQ(status.state, RegistrationState::kUnregistered) << status.id;
  }

  // Removing a registered entity unregisters it first.
  RegisterPlain("c", "1004", 3600);
  ASSERT_TRUE(client_->RemoveEntity("c").ok());
  EXPECT_TRUE(client_->GetStatus("c").has_value());
  EXPECT_EQ(channel_.LastRegister().Parsed().expires(), 0u);
  channel_.Answer(channel_.LastRegister(), 200, "OK");
  EXPECT_FALSE(client_->GetStatus("c").has_value());
  ASSERT_TRUE(client_->RemoveEntity("never").ok());
  EXPECT_FALSE(client_->GetStatus("never").has_value());
  EXPECT_FALSE(client_->RemoveEntity("never").ok());
}

TEST_F(RegistrationClientTest, UnregistrationGivesUpAfterRepeatedFailures) {
  config_.max_unregister_attempts = 2;
  config_.retry_base = seconds(10);
  MakeClient();
  RegisterPlain("a", "1001", 3600);
  ASSERT_TRUE(client_->Unregister("a").ok());
  channel_.Answer(channel_.LastRegister(), 500, "Server Internal Error");
  EXPECT_EQ(State("a"), RegistrationState::kUnregistering);
  scheduler_.Advance(seconds(10));
  channel_.Answer(channel_.LastRegister(), 500, "Server Internal Error");
  EXPECT_EQ(State("a"), RegistrationState::kUnregistered);
}

TEST_F(RegistrationClientTest, ForbiddenFailsWithReasonAndIsNotRetriedSoon) {
  config_.failed_retry_interval = Duration::zero();
  MakeClient();
  AddAndRegister("line-1", "1001");
  channel_.Answer(channel_.LastRegister(), 403, "Forbidden");
  std::optional<RegistrationStatus> status = client_->GetStatus("line-1");
  EXPECT_EQ(status->state, RegistrationState::kFailed);
  EXPECT_EQ(status->last_status_code, 403);
  EXPECT_EQ(status->last_reason, "Forbidden");
  EXPECT_EQ(scheduler_.pending(), 0u);
  scheduler_.Advance(std::chrono::hours(24));
  EXPECT_EQ(channel_.Count("REGISTER"), 1u);
  // An operator command starts again.
  ASSERT_TRUE(client_->Register("line-1").ok());
  EXPECT_EQ(channel_.Count("REGISTER"), 2u);
  channel_.Answer(channel_.LastRegister(), 404, "Not Found");
  EXPECT_EQ(client_->GetStatus("line-1")->last_reason, "Not Found");
  EXPECT_EQ(StateNames(), (std::vector<std::string>{"registering", "failed", "registering", "failed"}));
  ASSERT_TRUE(client_->Unregister("line-1").ok());
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistered);
}

TEST_F(RegistrationClientTest, ListenerSeesTheWholeLifecycle) {
  MakeClient();
  ASSERT_TRUE(client_->AddEntity(Entity("acc", "trunk")).ok());
  RegistrationEntity gateway = Entity("gw", "gateway");
  gateway.kind = EntityKind::kGateway;
  ASSERT_TRUE(client_->AddEntity(gateway).ok());
  ASSERT_TRUE(client_->Register("gw").ok());
  channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 100\r\n");
  const TimePoint first_expiry = scheduler_.clock().Now() + seconds(100);
  scheduler_.Advance(seconds(95));
  channel_.Answer(channel_.LastRegister(), 200, "OK", "Expires: 100\r\n");
  ASSERT_TRUE(client_->Unregister("gw").ok());
  channel_.Answer(channel_.LastRegister(), 200, "OK");

  ASSERT_EQ(events_.size(), 5u);
  for (const RegistrationStatus& e : events_) {
    EXPECT_EQ(e.id, "gw");
    EXPECT_EQ(e.kind, EntityKind::kGateway);
  }
  EXPECT_EQ(StateNames(), (std::vector<std::string>{"registering", "registered", "registered",
                                                    "unregistering", "unregistered"}));
  EXPECT_EQ(events_[1].expires_at, first_expiry);
  EXPECT_GT(*events_[2].expires_at, first_expiry) << "a refresh moves the expiry";
  EXPECT_EQ(events_[1].last_status_code, 200);
  EXPECT_EQ(events_[1].granted_expires, 100u);
}

TEST_F(RegistrationClientTest, IllegalEventsAreLoggedAndCounted) {
  MakeClient();
  ASSERT_TRUE(client_->AddEntity(Entity("line-1", "1001")).ok());
  ::testing::internal::CaptureStderr();
  RegistrationClientTestPeer::Inject(*client_, "line-1", RegistrationEvent::kRegisterOk);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(client_->counters().illegal_events, 1u);
  EXPECT_EQ(State("line-1"), RegistrationState::kUnregistered);
  EXPECT_NE(logged.find("illegal event"), std::string::npos) << logged;
  EXPECT_NE(logged.find("register-ok"), std::string::npos) << logged;
  EXPECT_TRUE(events_.empty());
}

TEST_F(RegistrationClientTest, StaleAndLateCallbacksAreIgnored) {
  MakeClient();
  AddAndRegister("line-1", "1001");
  SentRequest& request = channel_.LastRegister();
  ASSERT_TRUE(client_->RemoveEntity("line-1").ok());
  channel_.Answer(request, 200, "OK", "Expires: 60\r\n");
  // The binding that answer created is removed before the entity goes.
  ASSERT_EQ(channel_.Count("REGISTER"), 2u);
  EXPECT_EQ(channel_.LastRegister().Parsed().expires(), 0u);
  channel_.Answer(channel_.LastRegister(), 200, "OK");
  EXPECT_FALSE(client_->GetStatus("line-1").has_value());

  // A result after the client is gone is dropped.
  AddAndRegister("line-2", "1002");
  SentRequest& orphan = channel_.LastRegister();
  client_.reset();
  channel_.Answer(orphan, 200, "OK");
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(RegistrationClientTest, RejectsInvalidEntities) {
  MakeClient();
  RegistrationEntity bad = Entity("x", "1001");
  bad.proxy_set_id = "nope";
  EXPECT_FALSE(client_->AddEntity(bad).ok());
  bad = Entity("x", "10 01");
  EXPECT_FALSE(client_->AddEntity(bad).ok());
  bad = Entity("x", "1001");
  bad.aor_domain = "gw.test>\r\nVia: evil";
  EXPECT_FALSE(client_->AddEntity(bad).ok());
  bad = Entity("x", "1001", 0);
  EXPECT_FALSE(client_->AddEntity(bad).ok());
  ASSERT_TRUE(client_->AddEntity(Entity("x", "1001")).ok());
  EXPECT_FALSE(client_->AddEntity(Entity("x", "1002")).ok()) << "duplicate id";
  EXPECT_FALSE(client_->Register("unknown").ok());
  EXPECT_FALSE(client_->AddProxySet(ProxySetConfig{"empty", {}, seconds(30), 3}).ok());
}

TEST_F(RegistrationClientTest, SecretsNeverReachTheLog) {
  const std::string ha1 = "939e7578ed9e3c518a452acee763bce9";  // MD5("1002:gw.test:" ...), any hex fits
  log::SetLevel(log::Level::kTrace);
  ::testing::internal::CaptureStderr();
  {
    MakeClient({Udp("198.51.100.1"), Udp("198.51.100.2")}, seconds(30));
    AddAndRegister("line-1", "1001");
    RegistrationEntity stored = Entity("line-2", "1002");
    Result<auth::Credentials> credentials =
        auth::Credentials::FromHa1("1002", "gw.test", ha1, auth::DigestAlgorithm::kMd5);
    ASSERT_TRUE(credentials.ok());
    stored.credentials = *credentials;
    ASSERT_TRUE(client_->AddEntity(stored).ok());
    ASSERT_TRUE(client_->Register("line-2").ok());
    scheduler_.Advance(seconds(1));
    for (SentRequest* r : channel_.Pending("REGISTER"))
      channel_.Answer(*r, 401, "Unauthorized", kChallengeMd5);
    for (SentRequest* r : channel_.Pending("REGISTER")) channel_.Answer(*r, 200, "OK", "Expires: 60\r\n");
    scheduler_.Advance(seconds(55));
    for (SentRequest* r : channel_.Pending("REGISTER")) {
      channel_.Answer(*r, 401, "Unauthorized",
                      "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n2\", stale=true\r\n");
    }
    for (SentRequest* r : channel_.Pending("REGISTER")) channel_.Answer(*r, 200, "OK", "Expires: 60\r\n");
    client_->UnregisterAll();
    for (SentRequest* r : channel_.Pending("REGISTER")) channel_.Answer(*r, 200, "OK");
    // A wrong-password failure logs too.
    AddAndRegister("line-3", "1003");
    scheduler_.Advance(seconds(1));
    channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
    channel_.Answer(channel_.LastRegister(), 401, "Unauthorized", kChallengeMd5);
    EXPECT_EQ(State("line-3"), RegistrationState::kFailed);
    client_.reset();
  }
  const std::string logged = ::testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  EXPECT_NE(logged.find("REGISTER sent"), std::string::npos) << "the exchange was logged";
  EXPECT_NE(logged.find("registration failed"), std::string::npos);
  EXPECT_NE(logged.find("redacted"), std::string::npos) << "credentials are shown redacted";
  EXPECT_EQ(logged.find(kPassword), std::string::npos) << logged;
  EXPECT_EQ(logged.find(ha1), std::string::npos) << logged;
  EXPECT_EQ(logged.find("response="), std::string::npos) << "no Authorization header text";
}

TEST_F(RegistrationClientTest, MissingLocalAddressIsATransportError) {
  config_.local_address = [](transport::Protocol) { return std::optional<transport::SocketAddress>(); };
  config_.retry_base = seconds(30);
  MakeClient();
  AddAndRegister("line-1", "1001");
  EXPECT_EQ(channel_.Count("REGISTER"), 0u);
  scheduler_.Advance(Duration::zero());
  const std::optional<RegistrationStatus> status = client_->GetStatus("line-1");
  EXPECT_EQ(status->state, RegistrationState::kRegistering);
  EXPECT_EQ(status->last_status_code, 0);
  EXPECT_NE(status->last_reason.find("no local address"), std::string::npos);
  EXPECT_EQ(client_->counters().retries_scheduled, 1u);
}

}  // namespace
}  // namespace linegate::signaling::registration
