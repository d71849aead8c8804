#include "signaling/registration/response_info.h"

#include <gtest/gtest.h>

#include <string>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling::registration {
namespace {

constexpr char kHead[] =
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc;rport=5060;received=192.0.2.10\r\n"
    "From: <sip:1001@gw.test>;tag=f1\r\n"
    "To: <sip:1001@gw.test>;tag=t1\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 2 REGISTER\r\n";

ResponseInfo Extract(const std::string& text, std::string_view our_contact) {
  sip::Message message;
  const sip::ParseResult result = sip::Parse(text, sip::Transport::kDatagram, message);
  EXPECT_TRUE(result.ok()) << result.reason();
  return ExtractResponseInfo(message, our_contact);
}

TEST(ResponseInfoTest, OkWithSeveralBindingsPicksOurContactsExpires) {
  // A registrar lists every binding of the AOR (RFC 3261 10.3 step 8).
  const std::string text = std::string("SIP/2.0 200 OK\r\n") + kHead +
                           "Contact: <sip:1001@198.51.100.7:5060>;expires=3000, "
                           "<sip:1001@192.0.2.10:5060;transport=udp>;expires=120;q=0.5\r\n"
                           "Contact: <sip:other@192.0.2.10>;expires=50\r\n"
                           "Expires: 3600\r\n"
                           "Content-Length: 0\r\n\r\n";
  const ResponseInfo info = Extract(text, "1001@192.0.2.10:5060");
  EXPECT_EQ(info.status_code, 200);
  EXPECT_EQ(info.reason, "OK");
  EXPECT_TRUE(info.IsSuccess());
  EXPECT_TRUE(info.contact_listed);
  EXPECT_EQ(info.contact_expires, 120u);
  EXPECT_EQ(info.expires, 3600u);
  EXPECT_FALSE(info.min_expires.has_value());
  EXPECT_FALSE(info.retry_after.has_value());

  // The other user at our address, and our user at another port, are not ours.
  EXPECT_EQ(Extract(text, "other@192.0.2.10:5060").contact_expires, 50u) << "port 5060 is the default";
  const ResponseInfo other_port = Extract(text, "1001@192.0.2.10:5070");
  EXPECT_FALSE(other_port.contact_listed);
  EXPECT_FALSE(other_port.contact_expires.has_value());
  EXPECT_EQ(other_port.expires, 3600u);
  // A full URI is accepted as well.
  EXPECT_EQ(Extract(text, "<sip:1001@192.0.2.10:5060;transport=udp>").contact_expires, 120u);
}

TEST(ResponseInfoTest, ContactWithoutExpiresParamLeavesTheHeader) {
  const std::string text = std::string("SIP/2.0 200 OK\r\n") + kHead +
                           "Contact: <sip:1001@GW-HOST.example:5060>\r\nExpires: 300\r\n"
                           "Content-Length: 0\r\n\r\n";
  const ResponseInfo info = Extract(text, "1001@gw-host.example:5060");
  EXPECT_TRUE(info.contact_listed) << "hosts compare case-insensitively";
  EXPECT_FALSE(info.contact_expires.has_value());
  EXPECT_EQ(info.expires, 300u);
}

TEST(ResponseInfoTest, Ipv6Contact) {
  const std::string text = std::string("SIP/2.0 200 OK\r\n") + kHead +
                           "Contact: <sip:1001@[2001:db8::10]:5062;transport=tcp>;expires=90\r\n"
                           "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(Extract(text, "1001@[2001:db8::10]:5062").contact_expires, 90u);
  EXPECT_FALSE(Extract(text, "1001@[2001:db8::10]:5060").contact_listed);
}

TEST(ResponseInfoTest, ChallengesAreKeptOnePerHeader) {
  const std::string text = std::string("SIP/2.0 401 Unauthorized\r\n") + kHead +
                           "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n1\", qop=\"auth\", "
                           "algorithm=SHA-256\r\n"
                           "WWW-Authenticate: Digest realm=\"gw.test\", nonce=\"n1\", qop=\"auth\", "
                           "algorithm=MD5\r\n"
                           "Content-Length: 0\r\n\r\n";
  const ResponseInfo info = Extract(text, "1001@192.0.2.10:5060");
  EXPECT_EQ(info.status_code, 401);
  EXPECT_EQ(info.reason, "Unauthorized");
  ASSERT_EQ(info.www_authenticate.size(), 2u);
  EXPECT_EQ(info.www_authenticate[0], R"(Digest realm="gw.test", nonce="n1", qop="auth", algorithm=SHA-256)");
  EXPECT_EQ(info.www_authenticate[1], R"(Digest realm="gw.test", nonce="n1", qop="auth", algorithm=MD5)");
  EXPECT_TRUE(info.proxy_authenticate.empty());
  EXPECT_FALSE(info.contact_listed);
}

TEST(ResponseInfoTest, ProxyChallenge) {
  const std::string text = std::string("SIP/2.0 407 Proxy Authentication Required\r\n") + kHead +
                           "Proxy-Authenticate: Digest realm=\"proxy.test\", nonce=\"p1\"\r\n"
                           "Content-Length: 0\r\n\r\n";
  const ResponseInfo info = Extract(text, "1001@192.0.2.10:5060");
  EXPECT_EQ(info.status_code, 407);
  EXPECT_EQ(info.reason, "Proxy Authentication Required");
  ASSERT_EQ(info.proxy_authenticate.size(), 1u);
  EXPECT_EQ(info.proxy_authenticate[0], R"(Digest realm="proxy.test", nonce="p1")");
}

TEST(ResponseInfoTest, IntervalTooBriefAndServiceUnavailable) {
  const std::string too_brief = std::string("SIP/2.0 423 Interval Too Brief\r\n") + kHead +
                                "Min-Expires: 1800\r\nContent-Length: 0\r\n\r\n";
  const ResponseInfo brief = Extract(too_brief, "1001@192.0.2.10:5060");
  EXPECT_EQ(brief.status_code, 423);
  EXPECT_EQ(brief.min_expires, 1800u);

  const std::string unavailable = std::string("SIP/2.0 503 Service Unavailable\r\n") + kHead +
                                  "Retry-After: 30 (maintenance);duration=600\r\nContent-Length: 0\r\n\r\n";
  const ResponseInfo busy = Extract(unavailable, "1001@192.0.2.10:5060");
  EXPECT_EQ(busy.status_code, 503);
  EXPECT_EQ(busy.retry_after, 30u);
  EXPECT_EQ(busy.reason, "Service Unavailable");
}

TEST(ResponseInfoTest, NoResponseFactories) {
  const ResponseInfo timeout = ResponseInfo::Timeout();
  EXPECT_EQ(timeout.status_code, 0);
  EXPECT_TRUE(timeout.timed_out);
  EXPECT_FALSE(timeout.has_response());
  const ResponseInfo error = ResponseInfo::TransportError("connection refused");
  EXPECT_EQ(error.status_code, 0);
  EXPECT_FALSE(error.timed_out);
  EXPECT_EQ(error.reason, "connection refused");
}

TEST(ResponseInfoTest, ARequestIsNotAResponse) {
  const std::string text = std::string("REGISTER sip:gw.test SIP/2.0\r\n") +
                           "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc\r\n"
                           "From: <sip:1001@gw.test>;tag=f1\r\nTo: <sip:1001@gw.test>\r\n"
                           "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(Extract(text, "1001@192.0.2.10:5060").status_code, 0);
}

}  // namespace
}  // namespace linegate::signaling::registration
