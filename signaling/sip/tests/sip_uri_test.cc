// URI grammar: tables of (name, input, expected fields or rejection).

#include "signaling/sip/sip_uri.h"

#include <gtest/gtest.h>

#include <string>

namespace linegate::signaling::sip {
namespace {

struct UriCase {
  const char* name;
  const char* input;
  bool valid;
  UriScheme scheme = UriScheme::kSip;
  const char* user = "";
  const char* password = "";
  const char* host = "";
  HostKind host_kind = HostKind::kNone;
  int port = -1;  // -1: no port
  const char* params = "";
  const char* headers = "";
};

const UriCase kUriCases[] = {
    {"SipHostOnly", "sip:example.com", true, UriScheme::kSip, "", "", "example.com", HostKind::kDomain},
    {"SipUserHostPort", "sip:alice@example.com:5070", true, UriScheme::kSip, "alice", "", "example.com",
     HostKind::kDomain, 5070},
    {"SipsScheme", "sips:bob@192.0.2.4", true, UriScheme::kSips, "bob", "", "192.0.2.4", HostKind::kIpv4},
    {"SchemeCaseInsensitive", "SIP:bob@host.example", true, UriScheme::kSip, "bob", "", "host.example",
     HostKind::kDomain},
    {"Password", "sip:alice:secret@example.com", true, UriScheme::kSip, "alice", "secret", "example.com",
     HostKind::kDomain},
    {"Ipv6", "sip:alice@[2001:db8::1]:5060;transport=tcp", true, UriScheme::kSip, "alice", "",
     "[2001:db8::1]", HostKind::kIpv6, 5060, "transport=tcp"},
    {"Ipv6Mapped", "sip:[::ffff:192.0.2.1]", true, UriScheme::kSip, "", "", "[::ffff:192.0.2.1]",
     HostKind::kIpv6},
    {"ParamsAndHeaders", "sip:a@b.example;lr;maddr=192.0.2.1?Subject=hi&Priority=urgent", true,
     UriScheme::kSip, "a", "", "b.example", HostKind::kDomain, -1, "lr;maddr=192.0.2.1",
     "Subject=hi&Priority=urgent"},
    {"EscapedUser", "sip:sips%3Auser%40example.com@example.net", true, UriScheme::kSip,
     "sips%3Auser%40example.com", "", "example.net", HostKind::kDomain},
    {"EscapedParam", "sip:h.example;%6C%72;n%61me=v%61lue%25%34%31", true, UriScheme::kSip, "", "",
     "h.example", HostKind::kDomain, -1, "%6C%72;n%61me=v%61lue%25%34%31"},
    {"UserWithSemicolon", "sip:user;par=u%40example.net@example.com", true, UriScheme::kSip,
     "user;par=u%40example.net", "", "example.com", HostKind::kDomain},
    {"TelephoneSubscriberUser", "sip:+1-212-555-0100@gw.example;user=phone", true, UriScheme::kSip,
     "+1-212-555-0100", "", "gw.example", HostKind::kDomain, -1, "user=phone"},
    {"TrailingDotHost", "sip:example.com.", true, UriScheme::kSip, "", "", "example.com.", HostKind::kDomain},
    {"TelGlobal", "tel:+1-201-555-0123;ext=1234", true, UriScheme::kTel, "+1-201-555-0123", "", "",
     HostKind::kNone, -1, "ext=1234"},
    {"TelLocalWithContext", "tel:7042;phone-context=example.com", true, UriScheme::kTel, "7042", "", "",
     HostKind::kNone, -1, "phone-context=example.com"},
    {"OtherScheme", "urn:service:sos", true, UriScheme::kOther},
    {"OtherSchemeHier", "soap.beep://192.0.2.103:3002", true, UriScheme::kOther},

    {"Empty", "", false},
    {"NoScheme", "example.com", false},
    {"SchemeStartsWithDigit", "1sip:a@b", false},
    {"EmptyUser", "sip:@example.com", false},
    {"BadEscape", "sip:a%4@example.com", false},
    {"BadEscapeAtEnd", "sip:a@example.com;x=%", false},
    {"SpaceInside", "sip:user@example.com; lr", false},
    {"PortTooBig", "sip:example.com:65536", false},
    {"PortEmpty", "sip:example.com:", false},
    {"PortLetters", "sip:example.com:50a", false},
    {"Ipv6Unterminated", "sip:[2001:db8::1", false},
    {"Ipv6Bad", "sip:[2001:db8:::1:zz]", false},
    {"Ipv4OutOfRange", "sip:192.0.2.256", false},
    {"HostLabelDash", "sip:-bad.example.com", false},
    {"NumericTopLabel", "sip:host.123a", false},
    {"EmptyParam", "sip:example.com;;lr", false},
    {"HeaderWithoutValue", "sip:example.com?Subject", false},
    {"TwoAts", "sip:a@b@example.com", false},
    {"AngleBrackets", "<sip:user@example.com>", false},
    {"TelLocalWithoutContext", "tel:7042", false},
    {"TelLetters", "tel:+1-800-FLOWERS", false},
    {"TelEmpty", "tel:", false},
    {"OtherEmpty", "urn:", false},
    {"OtherWithSpace", "urn:a b", false},
};

class UriTest : public testing::TestWithParam<UriCase> {};

TEST_P(UriTest, Parses) {
  const UriCase& c = GetParam();
  Uri uri;
  const ParseStatus status = ParseUri(c.input, uri);
  ASSERT_EQ(status.ok(), c.valid) << status.reason();
  if (!c.valid) return;
  EXPECT_EQ(uri.scheme, c.scheme);
  EXPECT_EQ(uri.text, c.input);
  if (c.scheme == UriScheme::kOther) {
    EXPECT_EQ(std::string(uri.scheme_text) + ":" + std::string(uri.opaque), c.input);
    return;
  }
  EXPECT_EQ(uri.user, c.user);
  EXPECT_EQ(uri.password, c.password);
  EXPECT_EQ(uri.host, c.host);
  EXPECT_EQ(uri.host_kind, c.host_kind);
  EXPECT_EQ(uri.has_port, c.port >= 0);
  if (c.port >= 0) {
    EXPECT_EQ(uri.port, c.port);
  }
  EXPECT_EQ(uri.params, c.params);
  EXPECT_EQ(uri.headers, c.headers);
}

INSTANTIATE_TEST_SUITE_P(Table, UriTest, testing::ValuesIn(kUriCases),
                         [](const testing::TestParamInfo<UriCase>& c) { return std::string(c.param.name); });

TEST(UriParams, LookupIsCaseInsensitiveAndKeepsValues) {
  Uri uri;
  ASSERT_TRUE(ParseUri("sip:a@b.example;Transport=TCP;lr;maddr=[2001:db8::2]", uri).ok());
  ASSERT_TRUE(uri.FindParam("transport").has_value());
  EXPECT_EQ(uri.FindParam("transport")->value, "TCP");
  ASSERT_TRUE(uri.FindParam("lr").has_value());
  EXPECT_FALSE(uri.FindParam("lr")->has_value);
  EXPECT_EQ(uri.FindParam("maddr")->value, "[2001:db8::2]");
  EXPECT_FALSE(uri.FindParam("ttl").has_value());
}

struct UnescapeCase {
  const char* name;
  std::string_view input;
  bool valid;
  std::string_view output;
};

const UnescapeCase kUnescapeCases[] = {
    {"Plain", "alice", true, "alice"},
    {"Escapes", "I%20have%20spaces", true, "I have spaces"},
    {"MixedCaseHex", "%3a%3A", true, "::"},
    {"Nul", "null-%00-null", true, std::string_view("null-\0-null", 11)},
    {"PercentEscaped", "v%61lue%25%34%31", true, "value%41"},
    {"Truncated", "abc%4", false, ""},
    {"Loneat End", "abc%", false, ""},
    {"NotHex", "%ZK", false, ""},
};

class UnescapeTest : public testing::TestWithParam<UnescapeCase> {};

TEST_P(UnescapeTest, Decodes) {
  const UnescapeCase& c = GetParam();
  char buffer[64];
  const auto out = Unescape(c.input, buffer);
  ASSERT_EQ(out.has_value(), c.valid);
  if (c.valid) {
    EXPECT_EQ(*out, c.output);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, UnescapeTest, testing::ValuesIn(kUnescapeCases),
                         [](const testing::TestParamInfo<UnescapeCase>& c) {
                           std::string name = c.param.name;
                           std::erase(name, ' ');
                           return name;
                         });

TEST(Unescape, RefusesASmallBuffer) {
  char buffer[4];
  EXPECT_FALSE(Unescape("abcde", buffer).has_value());
  EXPECT_EQ(Unescape("a%62cd", buffer), "abcd");
}

}  // namespace
}  // namespace linegate::signaling::sip
