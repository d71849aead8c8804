#include "signaling/auth/digest_client.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "common/log.h"

namespace linegate::signaling::auth {
namespace {

// Deterministic randomness: byte i of the n-th request is n*16 + i, so the first cnonce
// is 000102...0f and the second 101112...1f.
class FakeRandom final : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override {
    if (fail_) return Error{"no entropy"};
    for (uint8_t& b : out) b = next_++;
    return Status::Ok();
  }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  uint8_t next_ = 0;
  bool fail_ = false;
};

constexpr char kPassword[] = "secret1001";
constexpr char kFirstCnonce[] = "000102030405060708090a0b0c0d0e0f";
constexpr char kSecondCnonce[] = "101112131415161718191a1b1c1d1e1f";
const DigestRequest kRegister{"REGISTER", "sip:gw.test", ""};

using Values = std::vector<std::string_view>;

std::string Param(const std::string& header, const std::string& name) {
  const std::string key = ", " + name + "=";
  size_t at = header.find(key);
  if (at == std::string::npos) {
    const std::string first = "Digest " + name + "=";
    if (header.rfind(first, 0) != 0) return "<absent>";
    at = first.size() - name.size() - 3;
  }
  size_t begin = at + key.size();
  if (header[begin] == '"') {
    return header.substr(begin + 1, header.find('"', begin + 1) - begin - 1);
  }
  const size_t end = header.find(',', begin);
  return header.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

class DigestClientTest : public ::testing::Test {
 protected:
  DigestClient MakeClient() { return DigestClient({Credentials::FromPassword("1001", kPassword)}, random_); }
  FakeRandom random_;
};

TEST_F(DigestClientTest, AnswersA401AndIsAuthenticatedAfterwards) {
  DigestClient client = MakeClient();
  Result<std::vector<AuthorizationHeader>> plain = client.PrepareRequest(kRegister);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->empty());
  EXPECT_EQ(client.state(), DigestClientState::kIdle);

  const Values challenge = {R"(Digest realm="gw.test", nonce="n1", qop="auth", algorithm=MD5)"};
  Result<std::vector<AuthorizationHeader>> answer = client.OnChallenge(401, challenge, kRegister);
  ASSERT_TRUE(answer.ok()) << answer.error();
  ASSERT_EQ(answer->size(), 1u);
  EXPECT_EQ((*answer)[0].name, "Authorization");
  // Independently computed MD5 response for nonce n1, nc 1 and the first fake cnonce.
  EXPECT_EQ((*answer)[0].value,
            std::string("Digest username=\"1001\", realm=\"gw.test\", nonce=\"n1\", uri=\"sip:gw.test\", "
                        "response=\"387066fb251019fdbafb870a9b4b6a5a\", algorithm=MD5, cnonce=\"") +
                kFirstCnonce + "\", qop=auth, nc=00000001");
  EXPECT_EQ(client.state(), DigestClientState::kCredentialsSent);
  EXPECT_EQ(client.LastNonceCount("gw.test"), 1u);

  client.OnAccepted();
  EXPECT_EQ(client.state(), DigestClientState::kAuthenticated);
  EXPECT_EQ(client.counters().challenges_answered, 1u);
  EXPECT_EQ(client.counters().failures, 0u);
}

TEST_F(DigestClientTest, NonceCountAdvancesPerNonceAndRestartsWithANewOne) {
  DigestClient client = MakeClient();
  const Values first = {R"(Digest realm="gw.test", nonce="n1", qop="auth")"};
  ASSERT_TRUE(client.OnChallenge(401, first, kRegister).ok());
  client.OnAccepted();

  // Refresh: cached credentials, same nonce and cnonce, nc 2 then 3 (RFC 7616 3.4).
  Result<std::vector<AuthorizationHeader>> refresh = client.PrepareRequest(kRegister);
  ASSERT_TRUE(refresh.ok()) << refresh.error();
  ASSERT_EQ(refresh->size(), 1u);
  EXPECT_EQ(Param((*refresh)[0].value, "nc"), "00000002");
  EXPECT_EQ(Param((*refresh)[0].value, "cnonce"), kFirstCnonce);
  EXPECT_EQ(Param((*refresh)[0].value, "response"), "8a4e379df0bb644437226e72ac416930");
  EXPECT_EQ(client.state(), DigestClientState::kCredentialsSent);
  client.OnAccepted();
  refresh = client.PrepareRequest(kRegister);
  ASSERT_TRUE(refresh.ok());
  EXPECT_EQ(Param((*refresh)[0].value, "nc"), "00000003");
  EXPECT_EQ(client.counters().cached_attached, 2u);

  // The nonce expired: stale=true with a new nonce restarts nc and makes a new cnonce.
  const Values stale = {R"(Digest realm="gw.test", nonce="n2", qop="auth", stale=true)"};
  Result<std::vector<AuthorizationHeader>> again = client.OnChallenge(401, stale, kRegister);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(Param((*again)[0].value, "nonce"), "n2");
  EXPECT_EQ(Param((*again)[0].value, "nc"), "00000001");
  EXPECT_EQ(Param((*again)[0].value, "cnonce"), kSecondCnonce);
  EXPECT_EQ(client.LastNonceCount("gw.test"), 1u);
}

TEST_F(DigestClientTest, StaleAfterOurCredentialsIsAnsweredWithoutCountingAsFailure) {
  DigestClient client = MakeClient();
  ASSERT_TRUE(
      client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n1", qop="auth")"}, kRegister).ok());
  Result<std::vector<AuthorizationHeader>> answer = client.OnChallenge(
      401, Values{R"(Digest realm="gw.test", nonce="n2", qop="auth", stale=TRUE)"}, kRegister);
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(client.state(), DigestClientState::kCredentialsSent);
  EXPECT_EQ(client.counters().failures, 0u);
  EXPECT_EQ(client.counters().stale_answered, 1u);
  EXPECT_EQ(client.counters().challenges_answered, 2u);
  client.OnAccepted();
  EXPECT_EQ(client.state(), DigestClientState::kAuthenticated);
}

TEST_F(DigestClientTest, SecondNonStaleChallengeForTheSameRealmFails) {
  DigestClient client = MakeClient();
  const Values challenge = {R"(Digest realm="gw.test", nonce="n1", qop="auth")"};
  ASSERT_TRUE(client.OnChallenge(401, challenge, kRegister).ok());
  const Values again = {R"(Digest realm="gw.test", nonce="n2", qop="auth")"};
  Result<std::vector<AuthorizationHeader>> failed = client.OnChallenge(401, again, kRegister);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("rejected"), std::string::npos) << failed.error();
  EXPECT_EQ(client.state(), DigestClientState::kFailed);
  EXPECT_NE(client.failure_reason().find("gw.test"), std::string::npos);
  EXPECT_EQ(client.counters().failures, 1u);

  // No loop: further challenges are refused (and counted as illegal) until Reset().
  Result<std::vector<AuthorizationHeader>> refused = client.OnChallenge(401, again, kRegister);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("authentication failed"), std::string::npos) << refused.error();
  EXPECT_EQ(client.counters().illegal_events, 1u);
  EXPECT_FALSE(client.PrepareRequest(kRegister).ok());
  EXPECT_EQ(client.counters().illegal_events, 2u);
  client.OnAccepted();
  EXPECT_EQ(client.counters().illegal_events, 3u);
  EXPECT_EQ(client.state(), DigestClientState::kFailed);

  client.Reset();
  EXPECT_EQ(client.state(), DigestClientState::kIdle);
  EXPECT_TRUE(client.failure_reason().empty());
  ASSERT_TRUE(client.OnChallenge(401, again, kRegister).ok());
  EXPECT_EQ(client.LastNonceCount("gw.test"), 1u);
}

TEST_F(DigestClientTest, RejectionAlsoAppliesToCachedCredentialsOnARefresh) {
  DigestClient client = MakeClient();
  ASSERT_TRUE(client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n1")"}, kRegister).ok());
  client.OnAccepted();
  ASSERT_TRUE(client.PrepareRequest(kRegister).ok());
  EXPECT_FALSE(client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n2")"}, kRegister).ok());
  EXPECT_EQ(client.state(), DigestClientState::kFailed);
}

TEST_F(DigestClientTest, EndlessStaleChallengesEndInFailure) {
  DigestClient client = MakeClient();
  ASSERT_TRUE(client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n0")"}, kRegister).ok());
  std::vector<std::string> nonces;
  for (int i = 1; i <= DigestClient::kMaxConsecutiveStale; ++i) {
    const std::string header = "Digest realm=\"gw.test\", stale=true, nonce=\"n" + std::to_string(i) + "\"";
    ASSERT_TRUE(client.OnChallenge(401, Values{header}, kRegister).ok()) << i;
  }
  Result<std::vector<AuthorizationHeader>> last =
      client.OnChallenge(401, Values{R"(Digest realm="gw.test", stale=true, nonce="nX")"}, kRegister);
  ASSERT_FALSE(last.ok());
  EXPECT_NE(last.error().find("stale=true"), std::string::npos) << last.error();
  EXPECT_EQ(client.state(), DigestClientState::kFailed);
  EXPECT_EQ(client.counters().stale_answered, static_cast<uint64_t>(DigestClient::kMaxConsecutiveStale));
}

TEST_F(DigestClientTest, StaleOnAFirstChallengeIsAFreshChallenge) {
  DigestClient client = MakeClient();
  Result<std::vector<AuthorizationHeader>> answer =
      client.OnChallenge(407, Values{R"(Digest realm="gw.test", nonce="n1", stale=true)"}, kRegister);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(client.counters().stale_answered, 0u);
  EXPECT_EQ((*answer)[0].name, "Proxy-Authorization");
}

TEST_F(DigestClientTest, ProxyThenRegistrarRealmsAreBothAnswered) {
  DigestClient client = MakeClient();
  const DigestRequest invite{"INVITE", "sip:1002@gw.test", ""};
  Result<std::vector<AuthorizationHeader>> proxy =
      client.OnChallenge(407, Values{R"(Digest realm="proxy.test", nonce="p1", qop="auth")"}, invite);
  ASSERT_TRUE(proxy.ok());
  ASSERT_EQ(proxy->size(), 1u);
  EXPECT_EQ((*proxy)[0].name, "Proxy-Authorization");

  Result<std::vector<AuthorizationHeader>> both =
      client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="g1", qop="auth")"}, invite);
  ASSERT_TRUE(both.ok()) << both.error();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].name, "Proxy-Authorization");
  EXPECT_EQ(Param((*both)[0].value, "realm"), "proxy.test");
  EXPECT_EQ(Param((*both)[0].value, "nc"), "00000002");
  EXPECT_EQ((*both)[1].name, "Authorization");
  EXPECT_EQ(Param((*both)[1].value, "realm"), "gw.test");
  EXPECT_EQ(Param((*both)[1].value, "nc"), "00000001");
  EXPECT_EQ(client.state(), DigestClientState::kCredentialsSent);

  // The proxy now challenges again without stale: its credentials were refused.
  EXPECT_FALSE(client.OnChallenge(407, Values{R"(Digest realm="proxy.test", nonce="p2")"}, invite).ok());
}

TEST_F(DigestClientTest, ChoosesTheStrongestAlgorithmPerRealm) {
  DigestClient client = MakeClient();
  const Values challenges = {
      R"(Digest realm="gw.test", nonce="a", algorithm=MD5, qop="auth")",
      R"(Basic realm="gw.test")",
      R"(Digest realm="gw.test", nonce="b", algorithm=AKAv1-MD5, qop="auth")",
      R"(Digest realm="gw.test", nonce="c", algorithm=SHA-512-256)",
      R"(Digest realm="gw.test", nonce="d", algorithm=SHA-512-256, qop="auth")",
      R"(Digest realm="gw.test", nonce="e", algorithm=SHA-256, qop="auth")",
  };
  Result<std::vector<AuthorizationHeader>> answer = client.OnChallenge(401, challenges, kRegister);
  ASSERT_TRUE(answer.ok()) << answer.error();
  ASSERT_EQ(answer->size(), 1u);
  EXPECT_EQ(Param((*answer)[0].value, "algorithm"), "SHA-512-256");
  EXPECT_EQ(Param((*answer)[0].value, "nonce"), "d");
  EXPECT_EQ(Param((*answer)[0].value, "qop"), "auth");
  EXPECT_EQ(client.counters().ignored_challenges, 2u);
}

TEST_F(DigestClientTest, StoredMd5Ha1PicksTheMd5Challenge) {
  Result<Credentials> stored =
      Credentials::FromHa1("1001", "gw.test", "347cc7e92d7392e1fb8348d000ba5dde", DigestAlgorithm::kMd5);
  ASSERT_TRUE(stored.ok());
  DigestClient client({*stored}, random_);
  const Values challenges = {R"(Digest realm="gw.test", nonce="s", algorithm=SHA-256, qop="auth")",
                             R"(Digest realm="gw.test", nonce="YmFzZTY0bm9uY2U=", algorithm=MD5)"};
  Result<std::vector<AuthorizationHeader>> answer = client.OnChallenge(407, challenges, kRegister);
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(Param((*answer)[0].value, "algorithm"), "MD5");

  DigestClient sha_only({*stored}, random_);
  Result<std::vector<AuthorizationHeader>> failed = sha_only.OnChallenge(
      401, Values{R"(Digest realm="gw.test", nonce="s", algorithm=SHA-256, qop="auth")"}, kRegister);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("stored HA1 is for MD5"), std::string::npos) << failed.error();
  EXPECT_EQ(sha_only.state(), DigestClientState::kFailed);
}

TEST_F(DigestClientTest, NoUsableChallengeFailsWithReasons) {
  DigestClient client({Credentials::FromPassword("1001", kPassword, "gw.test")}, random_);
  const Values challenges = {R"(Basic realm="x")",
                             R"(Digest realm="gw.test", nonce="n", algorithm=AKAv1-MD5)",
                             R"(Digest realm="other.test", nonce="n")", R"(Digest realm="gw.test")"};
  Result<std::vector<AuthorizationHeader>> failed = client.OnChallenge(401, challenges, kRegister);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("Basic"), std::string::npos) << failed.error();
  EXPECT_NE(failed.error().find("AKAv1-MD5"), std::string::npos) << failed.error();
  EXPECT_NE(failed.error().find("no credentials for realm \"other.test\""), std::string::npos)
      << failed.error();
  EXPECT_NE(failed.error().find("missing nonce"), std::string::npos) << failed.error();
  EXPECT_EQ(client.state(), DigestClientState::kFailed);
  EXPECT_EQ(client.counters().ignored_challenges, 4u);

  DigestClient empty = MakeClient();
  Result<std::vector<AuthorizationHeader>> none = empty.OnChallenge(407, Values{}, kRegister);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("no Proxy-Authenticate header"), std::string::npos) << none.error();
}

TEST_F(DigestClientTest, NotAChallengeStatusLeavesTheStateAlone) {
  DigestClient client = MakeClient();
  Result<std::vector<AuthorizationHeader>> wrong =
      client.OnChallenge(403, Values{R"(Digest realm="gw.test", nonce="n")"}, kRegister);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("403"), std::string::npos);
  EXPECT_EQ(client.state(), DigestClientState::kIdle);
}

TEST_F(DigestClientTest, RandomnessFailureIsReportedNotSent) {
  DigestClient client = MakeClient();
  random_.set_fail(true);
  Result<std::vector<AuthorizationHeader>> failed =
      client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n", qop="auth")"}, kRegister);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("no entropy"), std::string::npos) << failed.error();
  EXPECT_EQ(client.state(), DigestClientState::kFailed);
}

TEST(DigestClientTableTest, TableIsConsistent) {
  std::set<std::pair<int, int>> seen;
  for (const DigestClientTransition& t : kDigestClientTransitions) {
    EXPECT_TRUE(seen.emplace(static_cast<int>(t.from), static_cast<int>(t.event)).second)
        << "duplicate row " << StateName(t.from) << "/" << EventName(t.event);
    // Failure always leads to kFailed and only failure does.
    EXPECT_EQ(t.action == DigestClientAction::kReportFailure, t.to == DigestClientState::kFailed)
        << StateName(t.from) << "/" << EventName(t.event);
  }
  // Only Reset leaves kFailed.
  for (int e = 0; e <= static_cast<int>(DigestClientEvent::kReset); ++e) {
    const auto event = static_cast<DigestClientEvent>(e);
    EXPECT_EQ(FindTransition(DigestClientState::kFailed, event).has_value(),
              event == DigestClientEvent::kReset)
        << EventName(event);
  }
  // Stale challenges and rejections need credentials on the wire.
  EXPECT_FALSE(FindTransition(DigestClientState::kIdle, DigestClientEvent::kStaleChallenge));
  EXPECT_FALSE(FindTransition(DigestClientState::kIdle, DigestClientEvent::kRejected));
  EXPECT_FALSE(FindTransition(DigestClientState::kAuthenticated, DigestClientEvent::kRejected));
  EXPECT_EQ(StateName(DigestClientState::kCredentialsSent), "credentials-sent");
  EXPECT_EQ(EventName(DigestClientEvent::kStaleChallenge), "stale-challenge");
  EXPECT_EQ(ActionName(DigestClientAction::kAnswer), "answer");
}

TEST_F(DigestClientTest, SecretsNeverReachTheLog) {
  log::SetLevel(log::Level::kTrace);
  const std::string ha1_hex = "347cc7e92d7392e1fb8348d000ba5dde";
  Result<Credentials> stored = Credentials::FromHa1("1001", "gw.test", ha1_hex, DigestAlgorithm::kMd5);
  ASSERT_TRUE(stored.ok());
  ::testing::internal::CaptureStderr();
  {
    DigestClient client({Credentials::FromPassword("1001", kPassword, "gw.test"), *stored}, random_);
    (void)client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n1", qop="auth")"}, kRegister);
    client.OnAccepted();
    (void)client.PrepareRequest(kRegister);
    (void)client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n2")"}, kRegister);
    client.OnAccepted();  // illegal in kFailed: logged
    DigestClient ha1_client({*stored}, random_);
    (void)ha1_client.OnChallenge(401, Values{R"(Digest realm="gw.test", nonce="n", algorithm=SHA-256)"},
                                 kRegister);
  }
  const std::string logged = ::testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  EXPECT_NE(logged.find("digest"), std::string::npos) << "the flow should have logged something";
  EXPECT_NE(logged.find("illegal event"), std::string::npos);
  EXPECT_EQ(logged.find(kPassword), std::string::npos) << logged;
  EXPECT_EQ(logged.find(ha1_hex), std::string::npos) << logged;
}

}  // namespace
}  // namespace linegate::signaling::auth
