// Whole messages: framing, header table, typed values, rejections, responses and
// serialization. Tables of (name, input, expected verdict).

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"

namespace linegate::signaling::sip {
namespace {

// A request with the usual mandatory headers; extra headers and body are spliced in.
std::string Request(const std::string& extra_headers, const std::string& body = "",
                    const std::string& start = "OPTIONS sip:bob@example.com SIP/2.0") {
  return start +
         "\r\n"
         "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n"
         "Max-Forwards: 70\r\n"
         "To: Bob <sip:bob@example.com>\r\n"
         "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
         "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
         "CSeq: 314159 OPTIONS\r\n" +
         extra_headers + "\r\n" + body;
}

struct MessageCase {
  const char* name;
  std::string input;
  Transport transport;
  const char* reason;  // empty: must parse
};

std::vector<MessageCase> MessageCases() {
  const auto D = Transport::kDatagram;
  const auto S = Transport::kStream;
  // Request() holds 6 headers: 6 + 122 = kMaxHeaders.
  std::string many_headers;
  for (int i = 0; i < 122; ++i) many_headers += "X-H: " + std::to_string(i) + "\r\n";
  std::string too_many = many_headers + "X-H: one too many\r\n";
  return {
      {"Minimal", Request("Content-Length: 0\r\n"), D, ""},
      {"CompactForms",
       "OPTIONS sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
       "t: <sip:bob@example.com>\r\nf: <sip:a@example.com>;tag=1\r\ni: abc@h\r\n"
       "CSeq: 1 OPTIONS\r\nm: <sip:a@h.example>\r\nl: 0\r\nc: text/plain\r\nk: timer\r\n"
       "s: hi\r\ne: gzip\r\no: presence\r\nu: dialog\r\nr: <sip:c@example.com>\r\nb: "
       "<sip:d@example.com>\r\n\r\n",
       D, ""},
      {"FoldedHeaders",
       Request("Subject: I know you're there,\r\n pick up the phone\r\n\tand talk to me!\r\n"), D, ""},
      {"ContentLengthSmallerThanDatagram", Request("Content-Length: 2\r\n", "abcdef"), D, ""},
      {"NoContentLengthUdpBodyIsRest", Request("", "v=0\r\n"), D, ""},
      {"LeadingCrlfIgnored", "\r\n\r\n" + Request("l: 0\r\n"), D, ""},
      {"ExactlyMaxHeaders", Request(many_headers), D, ""},
      {"Response",
       "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1;received=192.0.2.1\r\n"
       "To: <sip:b@example.com>;tag=9\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: x\r\n"
       "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
       D, ""},
      {"MultipleViaValuesAndHeaders",
       Request("Via: SIP/2.0/TCP a.example;branch=z9hG4bKa, SIP/2.0/UDP b.example;branch=z9hG4bKb\r\n"), D,
       ""},
      {"RetryAfterAndMinExpires", Request("Retry-After: 120 (busy);duration=60\r\nMin-Expires: 60\r\n"), D,
       ""},
      {"DateGmt", Request("Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"), D, ""},

      {"CSeqOverflow", Request("").replace(Request("").find("314159"), 6, "4294967296"), D, "Bad CSeq"},
      {"NegativeContentLength", Request("Content-Length: -1\r\n"), D, "Bad Content-Length"},
      {"HugeContentLength", Request("Content-Length: 18446744073709551617\r\n"), D, "Bad Content-Length"},
      {"ContentLengthBeyondData", Request("Content-Length: 10\r\n", "abc"), D,
       "Content-Length larger than message"},
      {"ConflictingContentLength", Request("Content-Length: 1\r\nl: 2\r\n", "ab"), D,
       "Conflicting Content-Length"},
      {"StreamNeedsContentLength", Request(""), S, "Missing Content-Length"},
      {"TooManyHeaders", Request(too_many), D, "Too many headers"},
      {"BareLfInHeaders", "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example\n\r\n", D,
       "Bare CR or LF in header section"},
      {"BareCrInHeaders", Request("X-A: a\rb\r\n"), D, "Bare CR or LF in header section"},
      {"NoColon", Request("Broken header line\r\n"), D, "Malformed header"},
      {"SpaceInName", Request("X A: b\r\n"), D, "Malformed header"},
      {"ContinuationFirst", "OPTIONS sip:b@example.com SIP/2.0\r\n folded: x\r\n\r\n", D, "Malformed header"},
      {"Unterminated", "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h", D,
       "Header section not terminated"},
      {"NoStartLineEnd", "OPTIONS sip:b@example.com SIP/2.0", D, "Malformed start line"},
      {"Empty", "", D, "Malformed start line"},
      {"Version3", Request("", "", "OPTIONS sip:b@example.com SIP/3.0"), D, "Version Not Supported"},
      {"BadVersionSyntax", Request("", "", "OPTIONS sip:b@example.com SIP/2"), D, "Malformed Request-Line"},
      {"LowercaseVersionAccepted", Request("", "", "OPTIONS sip:bob@example.com sip/2.0").replace(0, 0, ""),
       D, ""},
      {"StatusCodeTooBig", "SIP/2.0 700 Nope\r\nVia: SIP/2.0/UDP h.example\r\n\r\n", D, "Bad Status-Code"},
      {"StatusCodeFourDigits", "SIP/2.0 1000 Nope\r\nVia: SIP/2.0/UDP h.example\r\n\r\n", D,
       "Bad Status-Code"},
      {"StatusNoReasonSpace", "SIP/2.0 200\r\n\r\n", D, "Bad Status-Code"},
      {"RequestUriHeaders", Request("", "", "OPTIONS sip:b@example.com?Subject=x SIP/2.0"), D,
       "Malformed Request-URI"},
      {"MethodNotToken", Request("", "", "OPT@ONS sip:b@example.com SIP/2.0"), D, "Malformed Request-Line"},
      {"CSeqMethodMismatch", Request("", "", "INFO sip:b@example.com SIP/2.0"), D,
       "CSeq method does not match Request-Line"},
      {"MaxForwardsTooBig", Request("").replace(Request("").find("70"), 2, "300"), D, "Bad Max-Forwards"},
      {"EmptyVia", Request("Via:\r\n"), D, "Malformed Via"},
      {"ViaEmptyElement", Request("Via: SIP/2.0/UDP a.example,,SIP/2.0/UDP b.example\r\n"), D,
       "Malformed Via"},
      {"ContactWildcardWithOthers", Request("Contact: *, <sip:a@b.example>\r\n"), D, "Malformed Contact"},
      {"RouteWithoutAngles", Request("Route: sip:p.example;lr\r\n"), D, "Malformed Route"},
      {"BadContentType", Request("Content-Type: sdp\r\n"), D, "Bad Content-Type"},
      {"BadExpires", Request("Expires: soon\r\n"), D, "Bad Expires"},
      {"BadCallId", Request("").replace(Request("").find("a84b"), 4, "a b "), D, "Bad Call-ID"},
      {"BadDate", Request("Date: yesterday\r\n"), D, "Bad Date"},
      {"UnterminatedQuoteInFrom", Request("").replace(Request("").find("Alice"), 5, "\"Alice"), D,
       "Unterminated quoted string"},
  };
}

void PrintTo(const MessageCase& c, std::ostream* out) { *out << c.name; }

class MessageTest : public testing::TestWithParam<MessageCase> {};

TEST_P(MessageTest, Verdict) {
  const MessageCase& c = GetParam();
  Message message;
  const ParseResult result = Parse(c.input, c.transport, message);
  EXPECT_EQ(result.reason(), c.reason);
  if (!result.ok()) return;
  // Everything that parses round-trips.
  for (const SerializeOptions options : {SerializeOptions{true, false}, SerializeOptions{false, true}}) {
    std::vector<char> buffer(c.input.size() * 2 + 64);
    const auto size = Serialize(message, buffer, options);
    ASSERT_TRUE(size.has_value());
    Message again;
    ASSERT_TRUE(Parse(std::string_view(buffer.data(), *size), Transport::kDatagram, again).ok());
    EXPECT_TRUE(EquivalentMessages(message, again));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MessageTest, testing::ValuesIn(MessageCases()),
                         [](const testing::TestParamInfo<MessageCase>& c) {
                           return std::string(c.param.name);
                         });

TEST(Message, TypedAccessors) {
  const std::string data = Request(
      "Contact: \"A\" <sip:alice@[2001:db8::5]:5070;transport=tcp>;expires=60;q=0.5, <tel:+15551234567>\r\n"
      "m: <sip:alt@h.example>\r\n"
      "Expires: 7200\r\nMin-Expires: 30\r\nRetry-After: 5\r\n"
      "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"84a4cc6f3082121f32b42a2187831a9e\"\r\n"
      "Authorization: Digest username=\"alice\", uri=\"sip:bob@example.com\"\r\n"
      "Content-Type: application/sdp\r\nContent-Length: 4\r\n",
      "v=0\r\n");
  Message m;
  const ParseResult result = Parse(data, Transport::kDatagram, m);
  ASSERT_TRUE(result.ok()) << result.reason();
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), "OPTIONS");
  EXPECT_EQ(m.request_uri().user, "bob");
  EXPECT_EQ(m.top_via()->branch, "z9hG4bK776asdhds");
  EXPECT_EQ(m.top_via()->host, "pc33.example.com");
  EXPECT_EQ(m.from()->tag, "1928301774");
  EXPECT_EQ(m.from()->display_name, "Alice");
  EXPECT_EQ(m.to()->uri.text, "sip:bob@example.com");
  EXPECT_TRUE(m.to()->tag.empty());
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.example.com");
  EXPECT_EQ(m.cseq()->number, 314159u);
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.content_length(), 4u);
  EXPECT_EQ(m.body(), "v=0\r");
  EXPECT_EQ(m.content_type()->subtype, "sdp");
  EXPECT_EQ(m.expires(), 7200u);
  EXPECT_EQ(m.min_expires(), 30u);
  EXPECT_EQ(m.retry_after()->seconds, 5u);
  EXPECT_EQ(m.www_authenticate().substr(0, 6), "Digest");
  EXPECT_EQ(m.authorization(), "Digest username=\"alice\", uri=\"sip:bob@example.com\"");
  EXPECT_TRUE(m.proxy_authenticate().empty());

  // Contacts across headers and commas, with quotes and <> respected.
  HeaderValueIterator it(m, HeaderId::kContact);
  std::string_view element;
  std::vector<Contact> contacts;
  while (it.Next(element)) {
    Contact contact;
    ASSERT_TRUE(ParseContact(element, contact).ok()) << element;
    contacts.push_back(contact);
  }
  ASSERT_EQ(contacts.size(), 3u);
  EXPECT_EQ(contacts[0].address.uri.host, "[2001:db8::5]");
  EXPECT_EQ(contacts[0].address.uri.port, 5070);
  EXPECT_EQ(contacts[0].expires, 60u);
  EXPECT_EQ(contacts[0].q, "0.5");
  EXPECT_EQ(contacts[1].address.uri.scheme, UriScheme::kTel);
  EXPECT_EQ(contacts[2].address.uri.user, "alt");
  // WWW-Authenticate is not a list: its commas separate auth-params.
  EXPECT_EQ(m.CountHeaders(HeaderId::kWwwAuthenticate), 1u);
}

TEST(Message, HeaderLookupByNameAndCompactForm) {
  const std::string data = Request("i-am-unknown: yes\r\nl: 0\r\n");
  Message m;
  ASSERT_TRUE(Parse(data, Transport::kDatagram, m).ok());
  EXPECT_EQ(m.FindHeader("I-AM-UNKNOWN")->value, "yes");
  EXPECT_EQ(m.FindHeader("content-length")->name, "l");
  EXPECT_EQ(m.FindHeader("L")->id, HeaderId::kContentLength);
  EXPECT_EQ(LookupHeaderName("CALL-id"), HeaderId::kCallId);
  EXPECT_EQ(LookupHeaderName("i"), HeaderId::kCallId);
  EXPECT_EQ(LookupHeaderName("x"), HeaderId::kSessionExpires);
  EXPECT_EQ(LookupHeaderName("q"), HeaderId::kUnknown);
  EXPECT_EQ(LookupHeaderName(""), HeaderId::kUnknown);
  EXPECT_EQ(CanonicalHeaderName(HeaderId::kWwwAuthenticate), "WWW-Authenticate");
  EXPECT_EQ(CanonicalHeaderName(HeaderId::kCSeq), "CSeq");
}

TEST(Message, FoldedValueKeepsRawViewAndUnfolds) {
  const std::string data = Request("Subject: first\r\n second\r\n\t third\r\n");
  Message m;
  ASSERT_TRUE(Parse(data, Transport::kDatagram, m).ok());
  const std::string_view raw = m.FindHeader(HeaderId::kSubject)->value;
  EXPECT_EQ(raw, "first\r\n second\r\n\t third");
  EXPECT_GE(raw.data(), data.data());
  EXPECT_LE(raw.data() + raw.size(), data.data() + data.size());
  char buffer[64];
  EXPECT_EQ(Unfold(raw, buffer), "first second third");
}

struct RequiredCase {
  const char* name;
  std::string input;
  const char* reason;
};

TEST(RequiredHeaders, MissingAndRepeated) {
  const RequiredCase cases[] = {
      {"Complete", Request(""), ""},
      {"NoMaxForwardsIsRfc2543",
       "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example\r\n"
       "To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>\r\nCall-ID: x\r\n"
       "CSeq: 1 OPTIONS\r\n\r\n",
       ""},
      {"NoVia",
       "OPTIONS sip:b@example.com SIP/2.0\r\nTo: <sip:b@example.com>\r\nFrom: <sip:a@example.com>\r\n"
       "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
       "Missing Via"},
      {"NoCallId",
       "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example\r\nTo: <sip:b@example.com>\r\n"
       "From: <sip:a@example.com>\r\nCSeq: 1 OPTIONS\r\n\r\n",
       "Missing Call-ID"},
      {"TwoCSeq", Request("CSeq: 2 OPTIONS\r\n"), "Multiple CSeq"},
      {"TwoMaxForwards", Request("Max-Forwards: 5\r\n"), "Multiple Max-Forwards"},
      {"TwoFromCompact", Request("f: <sip:x@example.com>;tag=2\r\n"), "Multiple From"},
  };
  for (const RequiredCase& c : cases) {
    SCOPED_TRACE(c.name);
    Message m;
    ASSERT_TRUE(Parse(c.input, Transport::kDatagram, m).ok());
    EXPECT_EQ(CheckRequiredHeaders(m).reason(), c.reason);
  }
}

TEST(Rejection, DecidesResponseOrDrop) {
  struct Case {
    const char* name;
    std::string input;
    Rejection::Action action;
    uint16_t status;
  };
  const Case cases[] = {
      {"Parsed", Request(""), Rejection::Action::kNone, 0},
      {"BadCSeqAnswered400", Request("").replace(Request("").find("314159"), 6, "99999999999"),
       Rejection::Action::kRespond, 400},
      {"UnknownVersion505", Request("", "", "OPTIONS sip:b@example.com SIP/2.1"), Rejection::Action::kRespond,
       505},
      {"MalformedRequestLine400", Request("", "", "OPTIONS  sip:b@example.com SIP/2.0"),
       Rejection::Action::kRespond, 400},
      {"AckNeverAnswered", Request("", "", "ACK sip:b@example.com SIP/2.1"), Rejection::Action::kDrop, 0},
      {"ResponseDropped", "SIP/2.0 200 OK\r\nCSeq: 99999999999 INVITE\r\n\r\n", Rejection::Action::kDrop, 0},
      {"NoViaDropped", "OPTIONS sip:b@example.com SIP/2.0\r\nCSeq: x\r\n\r\n", Rejection::Action::kDrop, 0},
      {"IncompleteHeadersDropped", "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example",
       Rejection::Action::kDrop, 0},
      {"GarbageDropped", "\x01\x02\x03", Rejection::Action::kDrop, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Message m;
    const ParseResult result = Parse(c.input, Transport::kDatagram, m);
    const Rejection rejection = DecideRejection(m, result);
    EXPECT_EQ(rejection.action, c.action);
    EXPECT_EQ(rejection.status, c.status);
    if (c.status == 505) {
      EXPECT_EQ(rejection.reason, "Version Not Supported");
    }
    if (c.status == 400) {
      EXPECT_EQ(rejection.reason, result.reason());
    }
  }
}

TEST(BuildResponse, CopiesDialogHeadersAndAddsTag) {
  const std::string data = Request("Via: SIP/2.0/UDP second.example;branch=z9hG4bK2\r\nCSeq: 7 OPTIONS\r\n");
  Message request;
  const ParseResult result = Parse(data, Transport::kDatagram, request);
  ASSERT_TRUE(result.ok());
  char buffer[1024];
  const auto size = BuildResponse(request, 400, "Multiple CSeq", "as83kd9", buffer);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(std::string_view(buffer, *size),
            "SIP/2.0 400 Multiple CSeq\r\n"
            "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n"
            "Via: SIP/2.0/UDP second.example;branch=z9hG4bK2\r\n"
            "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
            "To: Bob <sip:bob@example.com>;tag=as83kd9\r\n"
            "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
            "CSeq: 314159 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n");
  Message response;
  ASSERT_TRUE(Parse(std::string_view(buffer, *size), Transport::kStream, response).ok());
  EXPECT_EQ(response.status_code(), 400);
  EXPECT_EQ(response.to()->tag, "as83kd9");

  // A To that already has a tag keeps it; 100 Trying never gets one.
  const auto trying = BuildResponse(request, 100, "Trying", "as83kd9", buffer);
  ASSERT_TRUE(trying.has_value());
  EXPECT_EQ(std::string_view(buffer, *trying).find("tag=as83kd9"), std::string_view::npos);
  // Too small a buffer or a multi-line reason: nothing written.
  char small[40];
  EXPECT_FALSE(BuildResponse(request, 400, "Bad", "", small).has_value());
  EXPECT_FALSE(BuildResponse(request, 400, "Bad\r\nX: y", "", buffer).has_value());
  EXPECT_FALSE(BuildResponse(request, 99, "Bad", "", buffer).has_value());
}

TEST(Serialize, CanonicalNamesUnfoldedAndAsReceived) {
  const std::string data =
      "OPTIONS sip:b@example.com SIP/2.0\r\nv: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
      "X-Folded: a\r\n b\r\nl: 3\r\n\r\nabc";
  Message m;
  ASSERT_TRUE(Parse(data, Transport::kDatagram, m).ok());
  char buffer[512];
  auto size = Serialize(m, buffer, SerializeOptions{.canonical_names = true, .unfold = true});
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(std::string_view(buffer, *size),
            "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
            "X-Folded: a b\r\nContent-Length: 3\r\n\r\nabc");
  size = Serialize(m, buffer, SerializeOptions{.canonical_names = false, .unfold = false});
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(std::string_view(buffer, *size), data);
  char small[16];
  EXPECT_FALSE(Serialize(m, small).has_value());
}

TEST(Equivalence, DetectsDifferences) {
  Message a;
  Message b;
  const std::string one = Request("X-A: 1\r\n");
  const std::string two = Request("X-A: 2\r\n");
  const std::string renamed = Request("X-B: 1\r\n");
  ASSERT_TRUE(Parse(one, Transport::kDatagram, a).ok());
  ASSERT_TRUE(Parse(one, Transport::kDatagram, b).ok());
  EXPECT_TRUE(EquivalentMessages(a, b));
  ASSERT_TRUE(Parse(two, Transport::kDatagram, b).ok());
  EXPECT_FALSE(EquivalentMessages(a, b));
  ASSERT_TRUE(Parse(renamed, Transport::kDatagram, b).ok());
  EXPECT_FALSE(EquivalentMessages(a, b));
  const std::string with_body = Request("X-A: 1\r\n", "body");  // outlives the views in b
  ASSERT_TRUE(Parse(with_body, Transport::kDatagram, b).ok());
  EXPECT_FALSE(EquivalentMessages(a, b));
}

// Stream framing with partial input: every prefix of a message needs more bytes, the
// whole message frames to its exact size, and limits stop unbounded growth.
TEST(FrameStream, PartialInputNeedsMore) {
  const std::string message = Request("Content-Length: 5\r\n", "hello");
  const std::string stream = message + "OPTIONS sip:next";
  for (size_t n = 0; n < message.size(); ++n) {
    const FrameResult frame = FrameStream(std::string_view(stream).substr(0, n));
    ASSERT_EQ(frame.status, FrameResult::Status::kNeedMore) << n;
  }
  const FrameResult frame = FrameStream(stream);
  ASSERT_EQ(frame.status, FrameResult::Status::kMessage);
  EXPECT_EQ(frame.size, message.size());
  Message m;
  ASSERT_TRUE(Parse(std::string_view(stream).substr(0, frame.size), Transport::kStream, m).ok());
  EXPECT_EQ(m.body(), "hello");
}

TEST(FrameStream, Table) {
  struct Case {
    const char* name;
    std::string input;
    FrameResult::Status status;
    size_t size;
  };
  const FramingLimits limits{.max_header_bytes = 1024, .max_body_bytes = 100};
  const auto kNeedMore = FrameResult::Status::kNeedMore;
  const auto kMessage = FrameResult::Status::kMessage;
  const auto kKeepAlive = FrameResult::Status::kKeepAlive;
  const auto kError = FrameResult::Status::kError;
  const std::string headers_only = "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n";
  const Case cases[] = {
      {"Empty", "", kNeedMore, 0},
      {"Ping", "\r\n\r\n", kKeepAlive, 4},
      {"Pong", "\r\n", kKeepAlive, 2},
      {"HalfCrlf", "\r", kNeedMore, 0},
      {"BareLf", "\nOPTIONS", kError, 0},
      {"CompactLength", headers_only + "l: 3\r\n\r\nabc", kMessage, headers_only.size() + 11},
      {"FoldedLength", headers_only + "Content-Length:\r\n 3\r\n\r\nabc", kMessage, headers_only.size() + 26},
      {"BodyPending", headers_only + "Content-Length: 50\r\n\r\nabc", kNeedMore, headers_only.size() + 72},
      {"MissingLength", headers_only + "\r\n", kError, 0},
      {"NegativeLength", headers_only + "Content-Length: -1\r\n\r\n", kError, 0},
      {"ConflictingLength", headers_only + "Content-Length: 1\r\nl: 2\r\n\r\nab", kError, 0},
      {"BodyTooLarge", headers_only + "Content-Length: 101\r\n\r\n", kError, 0},
      {"HeadersTooLarge", headers_only + "X: " + std::string(2000, 'a'), kError, 0},
      {"HeadersGrowing", headers_only + "X: " + std::string(500, 'a'), kNeedMore, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const FrameResult frame = FrameStream(c.input, limits);
    EXPECT_EQ(frame.status, c.status);
    EXPECT_EQ(frame.size, c.size);
    if (c.status == kError) {
      EXPECT_NE(frame.reason, nullptr);
    }
  }
}

}  // namespace
}  // namespace linegate::signaling::sip
