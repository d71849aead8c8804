#include "signaling/registration/request_builder.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "signaling/registration/tests/test_support.h"
#include "signaling/sip/sip_message.h"

namespace linegate::signaling::registration {
namespace {

using testing::Address;

std::string HeaderOf(const sip::Message& message, std::string_view name) {
  const sip::HeaderField* field = message.FindHeader(name);
  return field == nullptr ? std::string("<absent>") : std::string(field->value);
}

TEST(RequestBuilderTest, RegisterParsesWithTheProjectParser) {
  const std::vector<auth::AuthorizationHeader> authorization = {
      {"Authorization",
       R"(Digest username="1001", realm="gw.test", nonce="n", uri="sip:gw.test", response="r")"}};
  RegisterRequest request;
  request.registrar_domain = "gw.test";
  request.aor_user = "1001";
  request.aor_domain = "gw.test";
  request.contact_user = "line1";
  request.protocol = transport::Protocol::kTcp;
  request.local = Address("192.0.2.10", 5070);
  request.call_id = "0123abcd@192.0.2.10";
  request.from_tag = "f00d";
  request.branch = "z9hG4bK0123456789";
  request.cseq = 7;
  request.expires = 600;
  request.user_agent = "linegate";
  request.authorization = authorization;
  const std::string bytes = BuildRegister(request);

  sip::Message message;
  const sip::ParseResult parsed = sip::Parse(bytes, sip::Transport::kStream, message);
  ASSERT_TRUE(parsed.ok()) << parsed.reason() << "\n" << bytes;
  ASSERT_TRUE(sip::CheckRequiredHeaders(message).ok());
  EXPECT_EQ(message.method(), "REGISTER");
  EXPECT_EQ(message.request_uri_text(), "sip:gw.test");
  EXPECT_EQ(message.top_via()->transport, "TCP");
  EXPECT_EQ(message.top_via()->host, "192.0.2.10");
  EXPECT_EQ(message.top_via()->port, 5070);
  EXPECT_EQ(message.top_via()->branch, "z9hG4bK0123456789");
  EXPECT_TRUE(message.top_via()->has_rport);
  EXPECT_EQ(message.max_forwards(), 70);
  EXPECT_EQ(message.to()->uri.text, "sip:1001@gw.test");
  EXPECT_TRUE(message.to()->tag.empty());
  EXPECT_EQ(message.from()->uri.text, "sip:1001@gw.test");
  EXPECT_EQ(message.from()->tag, "f00d");
  EXPECT_EQ(message.call_id(), "0123abcd@192.0.2.10");
  EXPECT_EQ(message.cseq()->number, 7u);
  EXPECT_EQ(message.cseq()->method, "REGISTER");
  EXPECT_EQ(message.expires(), 600u);
  EXPECT_EQ(message.content_length(), 0u);
  EXPECT_EQ(HeaderOf(message, "User-Agent"), "linegate");
  EXPECT_EQ(message.authorization(), authorization[0].value);

  sip::HeaderValueIterator contacts(message, sip::HeaderId::kContact);
  std::string_view element;
  ASSERT_TRUE(contacts.Next(element));
  sip::Contact contact;
  ASSERT_TRUE(sip::ParseContact(element, contact).ok());
  EXPECT_EQ(contact.address.uri.text, "sip:line1@192.0.2.10:5070;transport=tcp");
  EXPECT_TRUE(contact.has_expires);
  EXPECT_EQ(contact.expires, 600u);
  EXPECT_FALSE(contacts.Next(element));
}

TEST(RequestBuilderTest, UnregisterAndIpv6) {
  RegisterRequest request;
  request.registrar_domain = "registrar.gw.test";
  request.aor_user = "+15551234";
  request.aor_domain = "gw.test";
  request.contact_user = "+15551234";
  request.protocol = transport::Protocol::kUdp;
  request.local = Address("2001:db8::10", 5060);
  request.call_id = "c@2001:db8::10";
  request.from_tag = "t";
  request.branch = "z9hG4bKx";
  request.expires = 0;
  const std::string bytes = BuildRegister(request);
  sip::Message message;
  ASSERT_TRUE(sip::Parse(bytes, sip::Transport::kDatagram, message).ok()) << bytes;
  EXPECT_EQ(message.request_uri_text(), "sip:registrar.gw.test");
  EXPECT_EQ(message.expires(), 0u);
  EXPECT_EQ(message.top_via()->host, "[2001:db8::10]");
  EXPECT_EQ(HeaderOf(message, "Contact"), "<sip:+15551234@[2001:db8::10]:5060;transport=udp>;expires=0");
  EXPECT_EQ(message.FindHeader(sip::HeaderId::kAuthorization), nullptr);
  EXPECT_EQ(message.FindHeader(sip::HeaderId::kUserAgent), nullptr);
}

TEST(RequestBuilderTest, OptionsParses) {
  OptionsRequest request;
  request.target_host = "198.51.100.1";
  request.target_port = 5080;
  request.protocol = transport::Protocol::kUdp;
  request.local = Address("192.0.2.10", 5060);
  request.call_id = "ka@linegate";
  request.from_tag = "ft";
  request.branch = "z9hG4bKka1";
  request.cseq = 3;
  request.user_agent = "linegate";
  const std::string bytes = BuildOptions(request);
  sip::Message message;
  ASSERT_TRUE(sip::Parse(bytes, sip::Transport::kDatagram, message).ok()) << bytes;
  ASSERT_TRUE(sip::CheckRequiredHeaders(message).ok());
  EXPECT_EQ(message.method(), "OPTIONS");
  EXPECT_EQ(message.request_uri_text(), "sip:198.51.100.1:5080");
  EXPECT_EQ(message.cseq()->method, "OPTIONS");
  EXPECT_EQ(message.max_forwards(), 70);

  request.target_host = "2001:db8::1";
  const std::string v6 = BuildOptions(request);
  ASSERT_TRUE(sip::Parse(v6, sip::Transport::kDatagram, message).ok()) << v6;
  EXPECT_EQ(message.request_uri_text(), "sip:[2001:db8::1]:5080");
}

TEST(RequestBuilderTest, RandomTokens) {
  testing::SeededRandom random(7);
  std::set<std::string> branches;
  for (int i = 0; i < 100; ++i) {
    Result<std::string> branch = MakeBranch(random);
    ASSERT_TRUE(branch.ok());
    EXPECT_TRUE(branch->starts_with("z9hG4bK"));
    EXPECT_EQ(branch->size(), 7u + 32u);
    branches.insert(*branch);
  }
  EXPECT_EQ(branches.size(), 100u);
  double sum = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::optional<double> u = RandomUnit(random);
    ASSERT_TRUE(u.has_value());
    ASSERT_GE(*u, 0.0);
    ASSERT_LT(*u, 1.0);
    sum += *u;
  }
  EXPECT_NEAR(sum / 1000, 0.5, 0.05);
  random.set_fail(true);
  EXPECT_FALSE(MakeBranch(random).ok());
  EXPECT_FALSE(RandomUnit(random).has_value());
}

TEST(RequestBuilderTest, UserAndHostValidation) {
  EXPECT_TRUE(IsValidUserPart("1001"));
  EXPECT_TRUE(IsValidUserPart("+1-555.12_34"));
  EXPECT_FALSE(IsValidUserPart(""));
  EXPECT_FALSE(IsValidUserPart("a b"));
  EXPECT_FALSE(IsValidUserPart("a@b"));
  EXPECT_FALSE(IsValidUserPart("a>"));
  EXPECT_FALSE(IsValidUserPart(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUserPart("a\r\nVia: x"));
  EXPECT_TRUE(IsValidHost("gw.test"));
  EXPECT_TRUE(IsValidHost("192.0.2.1"));
  EXPECT_TRUE(IsValidHost("[2001:db8::1]"));
  EXPECT_FALSE(IsValidHost("gw test"));
  EXPECT_FALSE(IsValidHost(""));
  EXPECT_FALSE(IsValidHost("gw.test>"));
}

}  // namespace
}  // namespace linegate::signaling::registration
