// Typed header values: tables of (name, input, expected fields or rejection).

#include "signaling/sip/sip_headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace linegate::signaling::sip {
namespace {

template <typename T>
std::string CaseName(const testing::TestParamInfo<T>& info) {
  return std::string(info.param.name);
}

struct ViaCase {
  const char* name;
  std::string_view input;
  bool valid;
  const char* transport = "";
  const char* host = "";
  int port = -1;
  const char* branch = "";
  const char* received = "";
  int rport = -1;  // -1: absent, 0: present without value
};

const ViaCase kViaCases[] = {
    {"Plain", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds", true, "UDP", "192.0.2.1", 5060,
     "z9hG4bK776asdhds"},
    {"NoPort", "SIP/2.0/TCP host.example.com;branch=z9hG4bKx", true, "TCP", "host.example.com", -1,
     "z9hG4bKx"},
    {"Ipv6SentBy", "SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK1", true, "TLS", "[2001:db8::9]", 5061,
     "z9hG4bK1"},
    {"ReceivedAndRport", "SIP/2.0/UDP a.example;branch=z9hG4bK2;received=192.0.2.7;rport=40000", true, "UDP",
     "a.example", -1, "z9hG4bK2", "192.0.2.7", 40000},
    {"RportRequest", "SIP/2.0/UDP a.example;rport;branch=z9hG4bK3", true, "UDP", "a.example", -1, "z9hG4bK3",
     "", 0},
    {"ReceivedIpv6", "SIP/2.0/UDP a.example;received=2001:db8::7", true, "UDP", "a.example", -1, "",
     "2001:db8::7"},
    {"LwsEverywhere", "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2 : 5060 ;  branch  =\r\n z9hG4bK9", true, "UDP",
     "192.0.2.2", 5060, "z9hG4bK9"},
    {"UnknownTransport", "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKa", true, "UNKNOWN", "t4.example.com",
     -1, "z9hG4bKa"},
    {"GenericParams", "SIP/2.0/UDP h.example;ttl=16;maddr=224.2.0.1;x-foo=\"bar baz\";flag", true, "UDP",
     "h.example"},

    {"EmptyParams", "SIP/2.0/UDP 192.0.2.15;;", false},
    {"MissingTransport", "SIP/2.0 host.example", false},
    {"NoSpaceBeforeHost", "SIP/2.0/UDPhost.example", false},
    {"BadHost", "SIP/2.0/UDP ho$t.example", false},
    {"PortOverflow", "SIP/2.0/UDP h.example:99999", false},
    {"EmptyBranch", "SIP/2.0/UDP h.example;branch=", false},
    {"ReceivedNotIp", "SIP/2.0/UDP h.example;received=h.example", false},
    {"RportZero", "SIP/2.0/UDP h.example;rport=0", false},
    {"TtlOverflow", "SIP/2.0/UDP h.example;ttl=256", false},
    {"UnterminatedQuotedParam", "SIP/2.0/UDP h.example;x=\"abc", false},
    {"TrailingGarbage", "SIP/2.0/UDP h.example x", false},
};

class ViaTest : public testing::TestWithParam<ViaCase> {};

TEST_P(ViaTest, Parses) {
  const ViaCase& c = GetParam();
  Via via;
  const ParseStatus status = ParseVia(c.input, via);
  ASSERT_EQ(status.ok(), c.valid) << status.reason();
  if (!c.valid) return;
  EXPECT_EQ(via.protocol_name, "SIP");
  EXPECT_EQ(via.protocol_version, "2.0");
  EXPECT_EQ(via.transport, c.transport);
  EXPECT_EQ(via.host, c.host);
  EXPECT_EQ(via.has_port, c.port >= 0);
  if (c.port >= 0) {
    EXPECT_EQ(via.port, c.port);
  }
  EXPECT_EQ(via.branch, c.branch);
  EXPECT_EQ(via.received, c.received);
  EXPECT_EQ(via.has_rport, c.rport >= 0);
  if (c.rport >= 0) {
    EXPECT_EQ(via.rport, c.rport);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ViaTest, testing::ValuesIn(kViaCases), CaseName<ViaCase>);

TEST(Via, SentByAloneToleratesBrokenParams) {
  Via via;
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP 192.0.2.15;;,;,,", via).ok());
  ASSERT_TRUE(ParseViaSentBy("SIP/2.0/UDP 192.0.2.15;;,;,,", via).ok());
  EXPECT_EQ(via.host, "192.0.2.15");
}

struct NameAddrCase {
  const char* name;
  std::string_view input;
  bool valid;
  const char* display = "";
  const char* uri = "";
  const char* tag = "";
  const char* params = "";
  const char* reason = "";
};

const NameAddrCase kNameAddrCases[] = {
    {"AddrSpec", "sip:alice@example.com", true, "", "sip:alice@example.com"},
    {"AddrSpecWithTag", "sip:alice@example.com;tag=1928301774", true, "", "sip:alice@example.com",
     "1928301774", "tag=1928301774"},
    {"QuotedDisplay", "\"Alice \\\"A\\\"\" <sip:alice@example.com>;tag=a1", true, "\"Alice \\\"A\\\"\"",
     "sip:alice@example.com", "a1", "tag=a1"},
    {"TokenDisplay", "Bob Smith <sips:bob@example.com>", true, "Bob Smith", "sips:bob@example.com"},
    {"NoLwsBeforeAngle", "caller<sip:caller@example.com>;tag=323", true, "caller", "sip:caller@example.com",
     "323"},
    {"AngleOnly", "<sip:a@b.example;lr>", true, "", "sip:a@b.example;lr"},
    {"Utf8Display", "\"\xd0\x9f\xd1\x80\xd0\xb8\" <sip:u@example.com>", true, "\"\xd0\x9f\xd1\x80\xd0\xb8\"",
     "sip:u@example.com"},
    {"FoldedParams", "<sip:a@b.example>\r\n  ;\r\n  tag = 98asjd8", true, "", "sip:a@b.example", "98asjd8"},
    {"TelUri", "<tel:+15551234567>;tag=x", true, "", "tel:+15551234567", "x"},
    {"OtherScheme", "<http://www.example.com>;tag=3234233", true, "", "http://www.example.com", "3234233"},
    {"QuotedParamValue", "<sip:a@b.example>;x=\"a;b,c\"", true, "", "sip:a@b.example", "", "x=\"a;b,c\""},

    {"UnterminatedQuote", "\"Mr. J. User <sip:j.user@example.com>", false, "", "", "", "",
     "Unterminated quoted string"},
    {"SpacesInsideAngle", "\"Watson, Thomas\" < sip:t.watson@example.org >", false, "", "", "", "",
     "Malformed name-addr"},
    {"CommaInTokenDisplay", "Bell, Alexander <sip:a.g.bell@example.com>", false, "", "", "", "",
     "Malformed name-addr"},
    {"AddrSpecWithHeaders", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", false, "", "", "", "",
     "Malformed name-addr"},
    {"EmptyParams", "\"Joe\" <sip:joe@example.org>;;;;", false, "", "", "", "", "Malformed name-addr"},
    {"UnclosedAngle", "<sip:a@b.example", false, "", "", "", "", "Malformed name-addr"},
    {"Empty", "", false, "", "", "", "", "Malformed name-addr"},
    {"QuotedTag", "<sip:a@b.example>;tag=\"x\"", false, "", "", "", "", "Malformed name-addr"},
};

class NameAddrTest : public testing::TestWithParam<NameAddrCase> {};

TEST_P(NameAddrTest, Parses) {
  const NameAddrCase& c = GetParam();
  NameAddr address;
  const ParseStatus status = ParseNameAddr(c.input, address);
  ASSERT_EQ(status.ok(), c.valid) << status.reason();
  if (!c.valid) {
    EXPECT_EQ(status.reason(), c.reason);
    return;
  }
  EXPECT_EQ(address.display_name, c.display);
  EXPECT_EQ(address.uri.text, c.uri);
  EXPECT_EQ(address.tag, c.tag);
  if (*c.params != '\0') {
    EXPECT_EQ(address.params, c.params);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, NameAddrTest, testing::ValuesIn(kNameAddrCases), CaseName<NameAddrCase>);

struct ScalarCase {
  const char* name;
  std::string_view input;
  bool valid;
  uint64_t value = 0;
};

const ScalarCase kCSeqCases[] = {
    {"Plain", "4711 INVITE", true, 4711},
    {"LeadingZerosAndFold", "0009\r\n  INVITE", true, 9},
    {"MaxUint32", "4294967295 ACK", true, 4294967295u},
    {"Overflow", "4294967296 ACK", false},
    {"HugeOverflow", "36893488147419103232 REGISTER", false},
    {"NoMethod", "12", false},
    {"NoSpace", "12INVITE", false},
    {"Negative", "-1 INVITE", false},
    {"TwoMethods", "1 INVITE BYE", false},
};

class CSeqTest : public testing::TestWithParam<ScalarCase> {};

TEST_P(CSeqTest, Parses) {
  CSeq cseq;
  const ParseStatus status = ParseCSeq(GetParam().input, cseq);
  ASSERT_EQ(status.ok(), GetParam().valid);
  if (status.ok()) {
    EXPECT_EQ(cseq.number, GetParam().value);
  }
  if (!status.ok()) {
    EXPECT_EQ(status.reason(), "Bad CSeq");
  }
}

INSTANTIATE_TEST_SUITE_P(Table, CSeqTest, testing::ValuesIn(kCSeqCases), CaseName<ScalarCase>);

const ScalarCase kContentLengthCases[] = {
    {"Zero", "0", true, 0},
    {"Plain", " 150 ", true, 150},
    {"MaxUint32", "4294967295", true, 4294967295u},
    {"Negative", "-999", false},
    {"Huge", "99999999999999999999999", false},
    {"Plus", "+5", false},
    {"Empty", "", false},
    {"Letters", "12a", false},
};

class ContentLengthTest : public testing::TestWithParam<ScalarCase> {};

TEST_P(ContentLengthTest, Parses) {
  uint32_t length = 0;
  const ParseStatus status = ParseContentLength(GetParam().input, length);
  ASSERT_EQ(status.ok(), GetParam().valid);
  if (status.ok()) {
    EXPECT_EQ(length, GetParam().value);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ContentLengthTest, testing::ValuesIn(kContentLengthCases),
                         CaseName<ScalarCase>);

const ScalarCase kMaxForwardsCases[] = {
    {"Seventy", "70", true, 70}, {"LeadingZeros", "0068", true, 68},
    {"Max", "255", true, 255},   {"TooBig", "256", false},
    {"Empty", "", false},
};

class MaxForwardsTest : public testing::TestWithParam<ScalarCase> {};

TEST_P(MaxForwardsTest, Parses) {
  uint8_t hops = 0;
  const ParseStatus status = ParseMaxForwards(GetParam().input, hops);
  ASSERT_EQ(status.ok(), GetParam().valid);
  if (status.ok()) {
    EXPECT_EQ(hops, GetParam().value);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MaxForwardsTest, testing::ValuesIn(kMaxForwardsCases), CaseName<ScalarCase>);

const ScalarCase kDeltaSecondsCases[] = {
    {"Plain", "3600", true, 3600},
    {"Saturates", "10000000000000000000000000000", true, 4294967295u},
    {"Negative", "-1", false},
    {"Letters", "soon", false},
};

class DeltaSecondsTest : public testing::TestWithParam<ScalarCase> {};

TEST_P(DeltaSecondsTest, Parses) {
  uint32_t seconds = 0;
  const ParseStatus status = ParseDeltaSeconds(GetParam().input, seconds);
  ASSERT_EQ(status.ok(), GetParam().valid);
  if (status.ok()) {
    EXPECT_EQ(seconds, GetParam().value);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, DeltaSecondsTest, testing::ValuesIn(kDeltaSecondsCases),
                         CaseName<ScalarCase>);

struct ContactCase {
  const char* name;
  std::string_view input;
  bool valid;
  bool wildcard = false;
  int expires = -1;
  const char* q = "";
};

const ContactCase kContactCases[] = {
    {"Wildcard", " * ", true, true},
    {"Expires", "<sip:u@h.example>;expires=3600", true, false, 3600},
    {"ExpiresSaturates", "<sip:u@h.example>\r\n  ;expires=280297596632815000000", true, false,
     static_cast<int>(-2)},
    {"QValue", "\"Q\" <sip:u@h.example> ; q = 0.33", true, false, -1, "0.33"},
    {"QOne", "<sip:u@h.example>;q=1.000", true, false, -1, "1.000"},
    {"AddrSpecParam", "sip:+19725552222@gw1.example.net;unknownparam", true},
    {"BadQ", "<sip:u@h.example>;q=1.5", false},
    {"BadExpires", "<sip:u@h.example>;expires=soon", false},
    {"AddrSpecHeaders", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", false},
};

class ContactTest : public testing::TestWithParam<ContactCase> {};

TEST_P(ContactTest, Parses) {
  const ContactCase& c = GetParam();
  Contact contact;
  const ParseStatus status = ParseContact(c.input, contact);
  ASSERT_EQ(status.ok(), c.valid) << status.reason();
  if (!c.valid) return;
  EXPECT_EQ(contact.wildcard, c.wildcard);
  if (c.expires == -2) {
    EXPECT_TRUE(contact.has_expires);
    EXPECT_EQ(contact.expires, 4294967295u);
  } else {
    EXPECT_EQ(contact.has_expires, c.expires >= 0);
    if (c.expires >= 0) {
      EXPECT_EQ(contact.expires, static_cast<uint32_t>(c.expires));
    }
  }
  EXPECT_EQ(contact.q, c.q);
}

INSTANTIATE_TEST_SUITE_P(Table, ContactTest, testing::ValuesIn(kContactCases), CaseName<ContactCase>);

TEST(CallId, Words) {
  std::string_view id;
  EXPECT_TRUE(ParseCallId(" a84b4c76e66710@pc33.atlanta.com ", id).ok());
  EXPECT_EQ(id, "a84b4c76e66710@pc33.atlanta.com");
  EXPECT_TRUE(ParseCallId("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", id).ok());
  EXPECT_FALSE(ParseCallId("", id).ok());
  EXPECT_FALSE(ParseCallId("a@b@c", id).ok());
  EXPECT_FALSE(ParseCallId("a@", id).ok());
  EXPECT_FALSE(ParseCallId("with space", id).ok());
}

TEST(ContentType, TypeSubtypeParams) {
  ContentType type;
  ASSERT_TRUE(ParseContentType("multipart/mixed;boundary=7a9cbec02ceef655", type).ok());
  EXPECT_EQ(type.type, "multipart");
  EXPECT_EQ(type.subtype, "mixed");
  EXPECT_EQ(type.params, "boundary=7a9cbec02ceef655");
  ASSERT_TRUE(ParseContentType("application / sdp ; charset = \"utf-8\"", type).ok());
  EXPECT_EQ(type.subtype, "sdp");
  EXPECT_FALSE(ParseContentType("application", type).ok());
  EXPECT_FALSE(ParseContentType("application/sdp;charset", type).ok());
}

TEST(RetryAfter, CommentAndParams) {
  RetryAfter retry;
  ASSERT_TRUE(ParseRetryAfter("18000;duration=3600", retry).ok());
  EXPECT_EQ(retry.seconds, 18000u);
  EXPECT_EQ(retry.params, "duration=3600");
  ASSERT_TRUE(ParseRetryAfter("120 (I'm in a (nested) meeting)", retry).ok());
  EXPECT_EQ(retry.comment, "(I'm in a (nested) meeting)");
  EXPECT_FALSE(ParseRetryAfter("120 (unbalanced", retry).ok());
  EXPECT_FALSE(ParseRetryAfter("soon", retry).ok());
  // Deep nesting costs a counter, not stack.
  std::string deep = "5 " + std::string(100000, '(') + std::string(100000, ')');
  EXPECT_TRUE(ParseRetryAfter(deep, retry).ok());
}

TEST(Date, Rfc1123InGmtOnly) {
  EXPECT_TRUE(ValidateDate("Sat, 13 Nov 2010 23:29:00 GMT").ok());
  EXPECT_FALSE(ValidateDate("Fri, 01 Jan 2010 16:00:00 EST").ok());
  EXPECT_FALSE(ValidateDate("Fri, 1 Jan 2010 16:00:00 GMT").ok());
  EXPECT_FALSE(ValidateDate("Xyz, 01 Jan 2010 16:00:00 GMT").ok());
}

TEST(Lists, CommasInsideQuotesAndAnglesDoNotSplit) {
  ListIterator it("\"a, b\" <sip:x@y.example;p=\"1\">, <sip:z@w.example?h=a,b>,tel:+1");
  std::vector<std::string> elements;
  std::string_view element;
  while (it.Next(element)) elements.emplace_back(element);
  EXPECT_EQ(elements, (std::vector<std::string>{"\"a, b\" <sip:x@y.example;p=\"1\">",
                                                "<sip:z@w.example?h=a,b>", "tel:+1"}));
}

TEST(Lists, EmptyElementsAreReported) {
  ListIterator it("a,,b,");
  std::vector<std::string> elements;
  std::string_view element;
  while (it.Next(element)) elements.emplace_back(element);
  EXPECT_EQ(elements, (std::vector<std::string>{"a", "", "b", ""}));
  ListIterator empty("  ");
  EXPECT_FALSE(empty.Next(element));
}

TEST(Folding, UnfoldIntoCallerBuffer) {
  char buffer[64];
  EXPECT_EQ(Unfold("no fold", buffer), "no fold");
  EXPECT_EQ(Unfold("a\r\n b\r\n\t c", buffer), "a b c");
  char tiny[3];
  EXPECT_FALSE(Unfold("ab\r\n cd", tiny).has_value());
  EXPECT_TRUE(EqualValuesIgnoringLws("a  b\r\n c", "a b c"));
  EXPECT_FALSE(EqualValuesIgnoringLws("ab", "a b"));
}

}  // namespace
}  // namespace linegate::signaling::sip
