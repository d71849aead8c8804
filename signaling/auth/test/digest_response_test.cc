#include "signaling/auth/digest_response.h"

#include <gtest/gtest.h>

#include "signaling/auth/auth_headers.h"

namespace linegate::signaling::auth {
namespace {

const Credentials kAccount = Credentials::FromPassword("1001", "secret1001");

TEST(DigestResponseTest, FormatNonceCount) {
  EXPECT_EQ(FormatNonceCount(1), "00000001");
  EXPECT_EQ(FormatNonceCount(0x1a), "0000001a");
  EXPECT_EQ(FormatNonceCount(0xffffffffu), "ffffffff");
}

TEST(DigestResponseTest, AuthIntHashesTheBody) {
  DigestInputs inputs;
  inputs.realm = "gw.test";
  inputs.nonce = "nonceX";
  inputs.cnonce = "0a4f113b";
  inputs.qop = Qop::kAuthInt;
  inputs.request = {"INVITE", "sip:1002@gw.test", "v=0\r\n"};
  Result<DigestValues> values = ComputeDigest(kAccount, inputs);
  ASSERT_TRUE(values.ok()) << values.error();
  // Independently computed: MD5("INVITE:sip:1002@gw.test:" MD5("v=0\r\n")).
  EXPECT_EQ(values->ha2, "94983aa3c8db488989f2716d7e570df0");
  EXPECT_EQ(values->response, "3cef084b1cfa151e36e10689a507c485");
  inputs.request.body = "v=1\r\n";
  Result<DigestValues> other = ComputeDigest(kAccount, inputs);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->response, values->response);
}

TEST(DigestResponseTest, Sha256Sess) {
  DigestInputs inputs;
  inputs.algorithm = DigestAlgorithm::kSha256Sess;
  inputs.realm = "gw.test";
  inputs.nonce = "n1";
  inputs.cnonce = "c1";
  inputs.qop = Qop::kAuth;
  inputs.request = {"REGISTER", "sip:gw.test", ""};
  Result<DigestValues> values = ComputeDigest(kAccount, inputs);
  ASSERT_TRUE(values.ok()) << values.error();
  EXPECT_EQ(values->ha1, "9ab4e9fc045bc009aeb842b867dbe0447cfe25faa700d93287b5f226f72380c6");
  EXPECT_EQ(values->response, "fb2aab4e5af941a52c57f9a6cd3485ad4e54aa48f44a147d1b8b24b251cfefc6");
}

TEST(DigestResponseTest, RefusesInconsistentInputs) {
  DigestInputs inputs;
  inputs.realm = "gw.test";
  inputs.nonce = "n";
  inputs.request = {"REGISTER", "sip:gw.test", ""};

  inputs.algorithm = DigestAlgorithm::kMd5Sess;
  inputs.qop = Qop::kNone;
  Result<DigestValues> sess = ComputeDigest(kAccount, inputs);
  ASSERT_FALSE(sess.ok());
  EXPECT_NE(sess.error().find("needs a qop"), std::string::npos);

  inputs.algorithm = DigestAlgorithm::kMd5;
  inputs.qop = Qop::kAuth;
  inputs.nonce_count = 0;
  EXPECT_FALSE(ComputeDigest(kAccount, inputs).ok());

  inputs.nonce_count = 1;
  inputs.request.method = "REG ISTER";
  EXPECT_FALSE(ComputeDigest(kAccount, inputs).ok());

  inputs.request.method = "REGISTER";
  Result<Credentials> md5_ha1 =
      Credentials::FromHa1("1001", "gw.test", "347cc7e92d7392e1fb8348d000ba5dde", DigestAlgorithm::kMd5);
  ASSERT_TRUE(md5_ha1.ok());
  inputs.algorithm = DigestAlgorithm::kSha512_256;
  Result<DigestValues> mismatch = ComputeDigest(*md5_ha1, inputs);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().find("stored HA1"), std::string::npos) << mismatch.error();
}

TEST(DigestResponseTest, FormatAuthorizationOrderAndEscaping) {
  AuthorizationFields fields;
  fields.username = "al\"ice\\";
  fields.realm = "gw.test";
  fields.nonce = "YmFzZTY0bm9uY2U=";
  fields.uri = "sip:gw.test";
  fields.response = "ba4707ffbd56908e90a6a12d3938c46e";
  fields.algorithm = DigestAlgorithm::kSha256;
  fields.cnonce = "0a4f113b";
  fields.opaque = "op aque";
  fields.qop = Qop::kAuth;
  fields.nonce_count = 1;
  Result<std::string> header = FormatAuthorization(fields);
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_EQ(*header,
            "Digest username=\"al\\\"ice\\\\\", realm=\"gw.test\", nonce=\"YmFzZTY0bm9uY2U=\", "
            "uri=\"sip:gw.test\", "
            "response=\"ba4707ffbd56908e90a6a12d3938c46e\", algorithm=SHA-256, cnonce=\"0a4f113b\", "
            "opaque=\"op aque\", qop=auth, nc=00000001");

  // The escaped value reads back as written.
  Result<DigestChallenge> reparsed = ParseDigestChallenge(std::string(*header) + "");
  ASSERT_TRUE(reparsed.ok()) << reparsed.error();
  EXPECT_EQ(reparsed->opaque, "op aque");

  fields.qop = Qop::kNone;
  fields.opaque.reset();
  fields.userhash = true;
  header = FormatAuthorization(fields);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->find("cnonce"), std::string::npos);
  EXPECT_EQ(header->find("nc="), std::string::npos);
  EXPECT_EQ(header->find("qop"), std::string::npos);
  EXPECT_EQ(header->find("opaque"), std::string::npos);
  EXPECT_NE(header->find(", userhash=true"), std::string::npos);
}

TEST(DigestResponseTest, FormatAuthorizationRefusesHeaderInjection) {
  AuthorizationFields fields;
  fields.username = "1001\r\nVia: evil";
  fields.realm = "gw.test";
  Result<std::string> header = FormatAuthorization(fields);
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.error().find("username"), std::string::npos);
  fields.username = "1001";
  fields.uri = std::string_view("sip:a\0b", 7);
  EXPECT_FALSE(FormatAuthorization(fields).ok());
}

TEST(DigestResponseTest, AnswerChallengeEchoesOpaqueAndUsesChosenQop) {
  Result<DigestChallenge> challenge = ParseDigestChallenge(
      R"(Digest realm="gw.test", nonce="YmFzZTY0bm9uY2U=", qop="auth-int,auth", opaque="xyz", algorithm=MD5)");
  ASSERT_TRUE(challenge.ok());
  Result<std::string> header =
      AnswerChallenge(*challenge, kAccount, {"REGISTER", "sip:gw.test", ""}, "0a4f113b", 1);
  ASSERT_TRUE(header.ok()) << header.error();
  // SIP-REGISTER-401-MD5 of tests/data/digest-vectors.md.
  EXPECT_EQ(
      *header,
      "Digest username=\"1001\", realm=\"gw.test\", nonce=\"YmFzZTY0bm9uY2U=\", uri=\"sip:gw.test\", "
      "response=\"ba4707ffbd56908e90a6a12d3938c46e\", algorithm=MD5, cnonce=\"0a4f113b\", opaque=\"xyz\", "
      "qop=auth, nc=00000001");

  Result<DigestChallenge> unsupported =
      ParseDigestChallenge(R"(Digest realm="r", nonce="n", algorithm=AKAv1-MD5)");
  ASSERT_TRUE(unsupported.ok());
  Result<std::string> refused = AnswerChallenge(*unsupported, kAccount, {"REGISTER", "sip:r", ""}, "c", 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("AKAv1-MD5"), std::string::npos);
}

TEST(AuthHeadersTest, StatusToHeaderNames) {
  Result<AuthHeaderNames> www = AuthHeadersForStatus(401);
  ASSERT_TRUE(www.ok());
  EXPECT_EQ(www->challenge, "WWW-Authenticate");
  EXPECT_EQ(www->authorization, "Authorization");
  Result<AuthHeaderNames> proxy = AuthHeadersForStatus(407);
  ASSERT_TRUE(proxy.ok());
  EXPECT_EQ(proxy->challenge, "Proxy-Authenticate");
  EXPECT_EQ(proxy->authorization, "Proxy-Authorization");
  for (int status : {200, 403, 404, 400, 402, 408, 0}) {
    Result<AuthHeaderNames> none = AuthHeadersForStatus(status);
    EXPECT_FALSE(none.ok()) << status;
  }
}

}  // namespace
}  // namespace linegate::signaling::auth
