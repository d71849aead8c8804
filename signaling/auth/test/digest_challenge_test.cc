#include "signaling/auth/digest_challenge.h"

#include <gtest/gtest.h>

#include <vector>

namespace linegate::signaling::auth {
namespace {

struct AcceptCase {
  const char* name;
  std::string input;
  std::string realm;
  std::string nonce;
  std::optional<std::string> opaque;
  bool stale;
  std::optional<DigestAlgorithm> algorithm;
  std::vector<std::string> qop;
};

TEST(DigestChallengeTest, Accepts) {
  using A = DigestAlgorithm;
  const AcceptCase cases[] = {
      {"minimal, MD5 by default",
       R"(Digest realm="gw.test", nonce="abc")",
       "gw.test",
       "abc",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"rfc 2617 3.5",
       "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
       "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
       "testrealm@host.com",
       "dcd98b7102dd2f0e8b11d0f600bfb0c093",
       "5ccc069c403ebaf9f0171e9517f40e41",
       false,
       A::kMd5,
       {"auth", "auth-int"}},
      {"scheme and names case-insensitive",
       R"(dIGEST REALM="r", Nonce="n", ALGORITHM=sha-256)",
       "r",
       "n",
       std::nullopt,
       false,
       A::kSha256,
       {}},
      {"stale TRUE", R"(Digest realm="r", nonce="n", stale=TRUE)", "r", "n", std::nullopt, true, A::kMd5, {}},
      {"stale False",
       R"(Digest realm="r", nonce="n", stale=False)",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"stale quoted",
       R"(Digest realm="r", nonce="n", stale="true")",
       "r",
       "n",
       std::nullopt,
       true,
       A::kMd5,
       {}},
      {"SHA-512-256-sess",
       R"(Digest realm="r", nonce="n", algorithm=SHA-512-256-SESS, qop="auth")",
       "r",
       "n",
       std::nullopt,
       false,
       A::kSha512_256Sess,
       {"auth"}},
      {"MD5-sess",
       R"(Digest realm="r", nonce="n", algorithm=md5-sess, qop="auth")",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5Sess,
       {"auth"}},
      {"algorithm quoted",
       R"(Digest realm="r", nonce="n", algorithm="SHA-256")",
       "r",
       "n",
       std::nullopt,
       false,
       A::kSha256,
       {}},
      {"unsupported algorithm parses as nullopt",
       R"(Digest realm="r", nonce="n", algorithm=AKAv1-MD5)",
       "r",
       "n",
       std::nullopt,
       false,
       std::nullopt,
       {}},
      {"qop list with LWS and empties",
       R"(Digest realm="r", nonce="n", qop=" auth-int , ,auth ")",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {"auth-int", "auth"}},
      {"qop as a bare token",
       R"(Digest realm="r", nonce="n", qop=auth)",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {"auth"}},
      {"escapes in quoted-string",
       R"(Digest realm="a \"q\" \\ b\c", nonce="n")",
       "a \"q\" \\ bc",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"comma inside quotes is not a separator",
       R"(Digest realm="a,b", nonce="x,y", opaque="")",
       "a,b",
       "x,y",
       "",
       false,
       A::kMd5,
       {}},
      {"unknown parameters ignored",
       R"(Digest foo=bar, realm="r", charset=UTF-8, baz="q,\"x", nonce="n")",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"LWS everywhere legal",
       "  Digest \t realm = \"r\" ,\tnonce\t=\t\"n\"  ,  stale = true  ",
       "r",
       "n",
       std::nullopt,
       true,
       A::kMd5,
       {}},
      {"folded lines",
       "Digest realm=\"r\",\r\n nonce=\"n\"\r\n\t, opaque=\"o\"",
       "r",
       "n",
       "o",
       false,
       A::kMd5,
       {}},
      {"folding inside quoted-string becomes one SP",
       "Digest realm=\"a\r\n  b\", nonce=\"n\"",
       "a b",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"empty list elements",
       R"(Digest , realm="r",, nonce="n",)",
       "r",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"UTF-8 in realm",
       "Digest realm=\"r\xC3\xA9\", nonce=\"n\"",
       "r\xC3\xA9",
       "n",
       std::nullopt,
       false,
       A::kMd5,
       {}},
      {"unquoted nonce token",
       R"(Digest realm="r", nonce=abc123)",
       "r",
       "abc123",
       std::nullopt,
       false,
       A::kMd5,
       {}},
  };
  for (const AcceptCase& c : cases) {
    Result<DigestChallenge> parsed = ParseDigestChallenge(c.input);
    ASSERT_TRUE(parsed.ok()) << c.name << ": " << parsed.error();
    EXPECT_EQ(parsed->realm, c.realm) << c.name;
    EXPECT_EQ(parsed->nonce, c.nonce) << c.name;
    EXPECT_EQ(parsed->opaque, c.opaque) << c.name;
    EXPECT_EQ(parsed->stale, c.stale) << c.name;
    EXPECT_EQ(parsed->algorithm, c.algorithm) << c.name;
    EXPECT_EQ(parsed->qop_options, c.qop) << c.name;
  }
}

TEST(DigestChallengeTest, DomainUserhashAndAlgorithmToken) {
  Result<DigestChallenge> parsed = ParseDigestChallenge(
      R"(Digest realm="r", nonce="n", domain="sip:a.test  sip:b.test", userhash=TRUE, algorithm=Sha-256)");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->domain, (std::vector<std::string>{"sip:a.test", "sip:b.test"}));
  EXPECT_TRUE(parsed->userhash);
  EXPECT_EQ(parsed->algorithm_token, "Sha-256");
}

TEST(DigestChallengeTest, RejectsWithAMessage) {
  struct Case {
    const char* name;
    std::string input;
    const char* message_part;
  };
  const Case cases[] = {
      {"empty", "", "expected an authentication scheme"},
      {"only whitespace", "   ", "expected an authentication scheme"},
      {"Basic scheme", R"(Basic realm="r")", "unsupported authentication scheme \"Basic\""},
      {"scheme glued to a parameter", R"(Digest,realm="r", nonce="n")", "expected whitespace"},
      {"scheme only", "Digest", "missing realm"},
      {"missing realm", R"(Digest nonce="n")", "missing realm"},
      {"missing nonce", R"(Digest realm="r")", "missing nonce"},
      {"unterminated quoted-string", R"(Digest realm="r", nonce="n)", "unterminated quoted-string"},
      {"backslash at the end", "Digest realm=\"r\\", "unterminated quoted-string"},
      {"duplicate realm", R"(Digest realm="a", nonce="n", realm="b")", "duplicate parameter \"realm\""},
      {"duplicate, other case", R"(Digest realm="a", nonce="n", NONCE="m")", "duplicate parameter \"nonce\""},
      {"bad stale", R"(Digest realm="r", nonce="n", stale=maybe)", "stale must be true or false"},
      {"bad userhash", R"(Digest realm="r", nonce="n", userhash=1)", "userhash must be true or false"},
      {"missing '='", R"(Digest realm "r", nonce="n")", "expected '=' after parameter \"realm\""},
      {"missing value", R"(Digest realm=)", "missing value of parameter \"realm\""},
      {"missing comma", R"(Digest realm="r" nonce="n")", "expected ',' between parameters"},
      {"value not a token", R"(Digest realm="r", nonce=/abc)", "invalid value of parameter \"nonce\""},
      {"control character", "Digest realm=\"a\x01\", nonce=\"n\"", "control character"},
      {"escaped CR", "Digest realm=\"a\\\r\", nonce=\"n\"", "control character"},
      {"bare CR LF ends the header", "Digest realm=\"r\",\r\nnonce=\"n\"", "expected a parameter name"},
      {"CR LF inside quotes without fold", "Digest realm=\"a\r\nb\", nonce=\"n\"", "CR inside quoted-string"},
      {"NUL in token position", std::string("Digest realm=\"r\", \0nonce=\"n\"", 28), "expected a parameter"},
      {"empty qop list", R"(Digest realm="r", nonce="n", qop=" , ")", "empty qop list"},
      {"parameter name not a token", R"(Digest realm="r", "nonce"="n")", "expected a parameter name"},
  };
  for (const Case& c : cases) {
    Result<DigestChallenge> parsed = ParseDigestChallenge(c.input);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_NE(parsed.error().find(c.message_part), std::string::npos) << c.name << ": " << parsed.error();
    EXPECT_EQ(parsed.error().rfind("digest challenge: ", 0), 0u) << c.name << ": " << parsed.error();
  }
}

TEST(DigestChallengeTest, ChooseQop) {
  auto qop_of = [](std::string_view header) {
    Result<DigestChallenge> c = ParseDigestChallenge(header);
    EXPECT_TRUE(c.ok()) << c.error();
    return ChooseQop(*c);
  };
  EXPECT_EQ(qop_of(R"(Digest realm="r", nonce="n")"), Qop::kNone);
  EXPECT_EQ(qop_of(R"(Digest realm="r", nonce="n", qop="auth-int,auth")"), Qop::kAuth);
  EXPECT_EQ(qop_of(R"(Digest realm="r", nonce="n", qop="AUTH")"), Qop::kAuth);
  EXPECT_EQ(qop_of(R"(Digest realm="r", nonce="n", qop="auth-int")"), Qop::kAuthInt);
  EXPECT_EQ(qop_of(R"(Digest realm="r", nonce="n", qop="auth-conf")"), std::nullopt);
}

std::vector<DigestChallenge> ParseAll(const std::vector<std::string>& headers) {
  std::vector<DigestChallenge> out;
  for (const std::string& h : headers) {
    Result<DigestChallenge> c = ParseDigestChallenge(h);
    EXPECT_TRUE(c.ok()) << h << ": " << c.error();
    if (c.ok()) out.push_back(*c);
  }
  return out;
}

TEST(DigestChallengeTest, SelectChallenge) {
  struct Case {
    const char* name;
    std::vector<std::string> headers;
    std::optional<size_t> expected;
  };
  const Case cases[] = {
      {"none", {}, std::nullopt},
      {"single MD5", {R"(Digest realm="r", nonce="1")"}, 0},
      {"SHA-256 over MD5",
       {R"(Digest realm="r", nonce="1", algorithm=MD5, qop="auth")",
        R"(Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth")"},
       1},
      {"SHA-512-256 over SHA-256 over MD5",
       {R"(Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth")",
        R"(Digest realm="r", nonce="2", algorithm=SHA-512-256, qop="auth")",
        R"(Digest realm="r", nonce="3", algorithm=MD5, qop="auth")"},
       1},
      {"algorithm beats qop",
       {R"(Digest realm="r", nonce="1", algorithm=MD5, qop="auth")",
        R"(Digest realm="r", nonce="2", algorithm=SHA-256)"},
       1},
      {"qop auth over none at equal strength",
       {R"(Digest realm="r", nonce="1", algorithm=MD5)",
        R"(Digest realm="r", nonce="2", algorithm=MD5, qop="auth")"},
       1},
      {"first wins a tie",
       {R"(Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth")",
        R"(Digest realm="r", nonce="2", algorithm=SHA-256-sess, qop="auth")"},
       0},
      {"unsupported skipped",
       {R"(Digest realm="r", nonce="1", algorithm=AKAv1-MD5, qop="auth")",
        R"(Digest realm="r", nonce="2", algorithm=MD5)"},
       1},
      {"unknown qop skipped",
       {R"(Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth-conf")",
        R"(Digest realm="r", nonce="2", algorithm=MD5)"},
       1},
      {"-sess without qop skipped",
       {R"(Digest realm="r", nonce="1", algorithm=SHA-256-sess)",
        R"(Digest realm="r", nonce="2", algorithm=MD5)"},
       1},
      {"all unsupported", {R"(Digest realm="r", nonce="1", algorithm=SHA-1)"}, std::nullopt},
  };
  for (const Case& c : cases) {
    const std::vector<DigestChallenge> challenges = ParseAll(c.headers);
    EXPECT_EQ(SelectChallenge(challenges), c.expected) << c.name;
  }
}

TEST(DigestAlgorithmTest, NamesRoundTripAndRank) {
  for (DigestAlgorithm algorithm : kAllDigestAlgorithms) {
    EXPECT_EQ(ParseAlgorithm(AlgorithmName(algorithm)), algorithm);
  }
  EXPECT_EQ(ParseAlgorithm("sha-512-256-Sess"), DigestAlgorithm::kSha512_256Sess);
  EXPECT_EQ(ParseAlgorithm("SHA-512"), std::nullopt);
  EXPECT_EQ(ParseAlgorithm(""), std::nullopt);
  EXPECT_GT(AlgorithmStrength(DigestAlgorithm::kSha512_256), AlgorithmStrength(DigestAlgorithm::kSha256));
  EXPECT_GT(AlgorithmStrength(DigestAlgorithm::kSha256), AlgorithmStrength(DigestAlgorithm::kMd5Sess));
  EXPECT_TRUE(IsSessionAlgorithm(DigestAlgorithm::kSha256Sess));
  EXPECT_FALSE(IsSessionAlgorithm(DigestAlgorithm::kSha256));
}

TEST(DigestAlgorithmTest, Sha512_256IsNotTruncatedSha512) {
  // FIPS 180-4 SHA-512/256("abc"), from NIST's example values.
  Result<std::string> h = HashHex(DigestAlgorithm::kSha512_256, {"abc"});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(*h, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  Result<std::string> joined = HashHex(DigestAlgorithm::kMd5, {"a", "b", ""});
  ASSERT_TRUE(joined.ok());
  Result<std::string> direct = HashHex(DigestAlgorithm::kMd5, {"a:b:"});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*joined, *direct);
}

}  // namespace
}  // namespace linegate::signaling::auth
