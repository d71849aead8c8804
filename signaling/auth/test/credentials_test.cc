#include "signaling/auth/credentials.h"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <sstream>

namespace linegate::signaling::auth {
namespace {

constexpr char kPassword[] = "s3cr3t-Pa55";
constexpr char kHa1[] = "a8f17d4b41ab8dab6c95d3c14e34a9e1";

TEST(CredentialsTest, PasswordIsRedactedInToStringAndStream) {
  const Credentials credentials = Credentials::FromPassword("1001", kPassword);
  const std::string printed = credentials.ToString();
  EXPECT_EQ(printed, "Credentials{username=\"1001\", realm=*, secret=password(redacted)}");
  std::ostringstream stream;
  stream << credentials;
  EXPECT_EQ(stream.str(), printed);
  EXPECT_EQ(stream.str().find(kPassword), std::string::npos);
  // GoogleTest prints values through operator<< in failure messages.
  EXPECT_EQ(::testing::PrintToString(credentials).find(kPassword), std::string::npos);
}

TEST(CredentialsTest, StoredHa1IsRedacted) {
  Result<Credentials> credentials =
      Credentials::FromHa1("122", "audiocodes.com", kHa1, DigestAlgorithm::kMd5);
  ASSERT_TRUE(credentials.ok()) << credentials.error();
  const std::string printed = credentials->ToString();
  EXPECT_EQ(printed, "Credentials{username=\"122\", realm=\"audiocodes.com\", secret=ha1/MD5(redacted)}");
  EXPECT_EQ(printed.find(kHa1), std::string::npos);
  std::ostringstream stream;
  stream << *credentials;
  EXPECT_EQ(stream.str().find("a8f17d4b"), std::string::npos);
}

TEST(CredentialsTest, CopiesShareTheSecretAndStayUsable) {
  std::optional<Credentials> copy;
  {
    const Credentials original = Credentials::FromPassword("1001", "secret1001");
    copy = original;
  }
  Result<std::string> ha1 = copy->BaseHa1(DigestAlgorithm::kMd5, "gw.test");
  ASSERT_TRUE(ha1.ok());
  EXPECT_EQ(*ha1, "347cc7e92d7392e1fb8348d000ba5dde");
}

TEST(CredentialsTest, Ha1ValidationAndNormalisation) {
  struct Case {
    const char* name;
    std::string hex;
    DigestAlgorithm algorithm;
    bool ok;
  };
  const Case cases[] = {
      {"md5 lower", kHa1, DigestAlgorithm::kMd5, true},
      {"md5 upper is normalised", "A8F17D4B41AB8DAB6C95D3C14E34A9E1", DigestAlgorithm::kMd5, true},
      {"md5-sess means md5", kHa1, DigestAlgorithm::kMd5Sess, true},
      {"too short", "a8f17d4b", DigestAlgorithm::kMd5, false},
      {"md5 length for sha-256", kHa1, DigestAlgorithm::kSha256, false},
      {"not hex", "z8f17d4b41ab8dab6c95d3c14e34a9e1", DigestAlgorithm::kMd5, false},
      {"sha-256 length", std::string(64, 'b'), DigestAlgorithm::kSha256, true},
      {"sha-512-256 length", std::string(64, 'c'), DigestAlgorithm::kSha512_256Sess, true},
  };
  for (const Case& c : cases) {
    Result<Credentials> credentials = Credentials::FromHa1("u", "r", c.hex, c.algorithm);
    EXPECT_EQ(credentials.ok(), c.ok) << c.name << (credentials.ok() ? "" : ": " + credentials.error());
    if (credentials.ok()) {
      EXPECT_EQ(credentials->Ha1Algorithm(), BaseAlgorithm(c.algorithm)) << c.name;
      EXPECT_FALSE(credentials->HasPassword());
      Result<std::string> ha1 = credentials->BaseHa1(c.algorithm, "r");
      ASSERT_TRUE(ha1.ok()) << c.name;
      std::string lower = c.hex;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      EXPECT_EQ(*ha1, lower) << c.name;
    }
  }
}

TEST(CredentialsTest, StoredHa1WithMismatchedAlgorithmIsAClearError) {
  Result<Credentials> credentials =
      Credentials::FromHa1("122", "audiocodes.com", kHa1, DigestAlgorithm::kMd5);
  ASSERT_TRUE(credentials.ok());
  Result<std::string> ha1 = credentials->BaseHa1(DigestAlgorithm::kSha256, "audiocodes.com");
  ASSERT_FALSE(ha1.ok());
  EXPECT_NE(ha1.error().find("computed with MD5"), std::string::npos) << ha1.error();
  EXPECT_NE(ha1.error().find("SHA-256"), std::string::npos) << ha1.error();
  EXPECT_EQ(ha1.error().find(kHa1), std::string::npos) << "the error must not carry the secret";
  // MD5-sess is answered from an MD5 HA1.
  EXPECT_TRUE(credentials->BaseHa1(DigestAlgorithm::kMd5Sess, "audiocodes.com").ok());
}

TEST(CredentialsTest, RealmBinding) {
  const Credentials bound = Credentials::FromPassword("1001", kPassword, "gw.test");
  EXPECT_TRUE(bound.MatchesRealm("gw.test"));
  EXPECT_FALSE(bound.MatchesRealm("evil.example"));
  Result<std::string> ha1 = bound.BaseHa1(DigestAlgorithm::kMd5, "evil.example");
  ASSERT_FALSE(ha1.ok());
  EXPECT_NE(ha1.error().find("evil.example"), std::string::npos);
  EXPECT_EQ(ha1.error().find(kPassword), std::string::npos);

  Result<Credentials> stored = Credentials::FromHa1("122", "audiocodes.com", kHa1, DigestAlgorithm::kMd5);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->BaseHa1(DigestAlgorithm::kMd5, "other.realm").ok());

  const Credentials any = Credentials::FromPassword("1001", kPassword);
  EXPECT_TRUE(any.MatchesRealm("whatever"));
}

}  // namespace
}  // namespace linegate::signaling::auth
