// RFC 4475 torture messages: the verdict for every message of the manifest, and a
// parse -> serialize -> parse round trip for the ones that parse.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"

namespace linegate::signaling::sip {
namespace {

const std::string kTortureDir = std::string(LINEGATE_TESTDATA_DIR) + "/sip-torture";

struct ManifestRow {
  std::string path;
  std::string section;
  std::string klass;
  std::string expected;
};

// Names the row in gtest output instead of dumping its bytes.
void PrintTo(const ManifestRow& row, std::ostream* out) { *out << row.path << " (" << row.klass << ")"; }

std::vector<ManifestRow> LoadManifest() {
  std::vector<ManifestRow> rows;
  std::ifstream in(kTortureDir + "/manifest.tsv");
  std::string line;
  std::getline(in, line);  // column names
  while (std::getline(in, line)) {
    std::vector<std::string> columns;
    std::stringstream stream(line);
    std::string column;
    while (std::getline(stream, column, '\t')) columns.push_back(column);
    if (columns.size() != 7) continue;
    rows.push_back({columns[0], columns[3], columns[5], columns[6]});
  }
  return rows;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  return path.substr(slash + 1, dot - slash - 1);
}

// What this library answers to each message the RFC calls malformed (or, for mcl01,
// ambiguous). status 0 means drop.
struct Rejected {
  const char* file;
  uint16_t status;
  const char* reason;
};
constexpr Rejected kRejected[] = {
    {"badinv01", 400, "Malformed Via"},
    {"clerr", 400, "Content-Length larger than message"},
    {"ncl", 400, "Bad Content-Length"},
    {"scalar02", 400, "Bad CSeq"},
    {"scalarlg", 0, "Bad CSeq"},  // a response: dropped
    {"quotbal", 400, "Unterminated quoted string"},
    {"ltgtruri", 400, "Malformed Request-URI"},
    {"lwsruri", 400, "Malformed Request-Line"},
    {"lwsstart", 400, "Malformed Request-Line"},
    {"trws", 400, "Malformed Request-Line"},
    {"escruri", 400, "Malformed Request-URI"},
    {"baddate", 400, "Bad Date"},
    {"regbadct", 400, "Malformed Contact"},
    {"badaspec", 400, "Malformed To"},
    {"baddn", 400, "Malformed From"},
    {"badvers", 505, "Version Not Supported"},
    {"mismatch01", 400, "CSeq method does not match Request-Line"},
    {"mismatch02", 400, "CSeq method does not match Request-Line"},
    {"bigcode", 0, "Bad Status-Code"},
    // Manifest class "application", but the RFC's expected reaction is an error: two
    // Content-Length values leave the framing ambiguous, so the parser refuses it.
    {"mcl01", 400, "Conflicting Content-Length"},
};

// Messages that parse but that the transaction/UA layer must refuse for missing or
// repeated mandatory headers (RFC 4475 3.3.1, 3.3.8).
struct MissingHeaders {
  const char* file;
  const char* reason;
};
constexpr MissingHeaders kMissingHeaders[] = {
    {"insuf", "Missing To"},
    {"multi01", "Multiple To"},
};

const Rejected* FindRejected(const std::string& name) {
  for (const Rejected& r : kRejected) {
    if (name == r.file) return &r;
  }
  return nullptr;
}

const MissingHeaders* FindMissingHeaders(const std::string& name) {
  for (const MissingHeaders& m : kMissingHeaders) {
    if (name == m.file) return &m;
  }
  return nullptr;
}

void ExpectRoundTrip(const Message& original, const SerializeOptions& options) {
  std::vector<char> buffer(original.raw().size() * 2 + 256);
  const std::optional<size_t> size = Serialize(original, buffer, options);
  ASSERT_TRUE(size.has_value());
  Message reparsed;
  const ParseResult result = Parse(std::string_view(buffer.data(), *size), Transport::kDatagram, reparsed);
  ASSERT_TRUE(result.ok()) << result.reason() << "\n" << std::string_view(buffer.data(), *size);
  EXPECT_TRUE(EquivalentMessages(original, reparsed)) << std::string_view(buffer.data(), *size);
}

class TortureTest : public testing::TestWithParam<ManifestRow> {};

TEST_P(TortureTest, Verdict) {
  const ManifestRow& row = GetParam();
  const std::string name = BaseName(row.path);
  const std::string data = ReadFile(kTortureDir + "/" + row.path);
  ASSERT_FALSE(data.empty()) << row.path;
  Message message;
  const ParseResult result = Parse(data, Transport::kDatagram, message);
  const Rejection rejection = DecideRejection(message, result);

  if (const Rejected* expected = FindRejected(name)) {
    ASSERT_TRUE(row.klass == "invalid" || name == "mcl01") << row.klass;
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.reason(), expected->reason);
    if (expected->status == 0) {
      EXPECT_EQ(rejection.action, Rejection::Action::kDrop);
    } else {
      EXPECT_EQ(rejection.action, Rejection::Action::kRespond);
      EXPECT_EQ(rejection.status, expected->status);
      // The answer can be built and is itself a valid response.
      char buffer[4096];
      const auto size = BuildResponse(message, rejection.status, rejection.reason, "lg1", buffer);
      ASSERT_TRUE(size.has_value());
      Message response;
      const ParseResult parsed = Parse(std::string_view(buffer, *size), Transport::kDatagram, response);
      // The copied From/To may be the malformed part; the status line and Via are ours.
      EXPECT_FALSE(response.is_request());
      EXPECT_EQ(response.status_code(), expected->status);
      if (parsed.ok()) {
        EXPECT_EQ(response.CountHeaders(HeaderId::kVia), message.CountHeaders(HeaderId::kVia));
      }
    }
    return;
  }

  ASSERT_NE(row.klass, "invalid") << "no expectation recorded for " << name;
  ASSERT_TRUE(result.ok()) << name << ": " << result.reason();
  EXPECT_EQ(rejection.action, Rejection::Action::kNone);
  const ParseStatus required = CheckRequiredHeaders(message);
  if (const MissingHeaders* missing = FindMissingHeaders(name)) {
    EXPECT_FALSE(required.ok());
    EXPECT_EQ(required.reason(), missing->reason);
  } else {
    EXPECT_TRUE(required.ok()) << required.reason();
  }
  ExpectRoundTrip(message, SerializeOptions{.canonical_names = true, .unfold = false});
  ExpectRoundTrip(message, SerializeOptions{.canonical_names = false, .unfold = true});
  ExpectRoundTrip(message, SerializeOptions{.canonical_names = true, .unfold = true});
}

std::vector<ManifestRow> ScoredRows() {
  std::vector<ManifestRow> rows = LoadManifest();
  // test.dat is in the RFC archive without any section describing it (README.md).
  std::erase_if(rows, [](const ManifestRow& row) { return row.klass == "n/a"; });
  return rows;
}

INSTANTIATE_TEST_SUITE_P(Rfc4475, TortureTest, testing::ValuesIn(ScoredRows()),
                         [](const testing::TestParamInfo<ManifestRow>& row) {
                           return BaseName(row.param.path);
                         });

TEST(TortureManifest, CoversTheRfc) {
  const std::vector<ManifestRow> rows = LoadManifest();
  EXPECT_EQ(rows.size(), 50u);
  EXPECT_EQ(ScoredRows().size(), 49u);
  size_t invalid = 0;
  for (const ManifestRow& row : rows) invalid += row.klass == "invalid" ? 1 : 0;
  EXPECT_EQ(invalid, 19u);
}

// Specific facts the RFC text asks a parser to get right, beyond accept/reject.
Message ParseFile(const std::string& name, std::string& storage) {
  storage = ReadFile(kTortureDir + "/rfc4475/" + name + ".dat");
  Message message;
  EXPECT_TRUE(Parse(storage, Transport::kDatagram, message).ok()) << name;
  return message;
}

TEST(TortureDetails, WsinvFoldingEverywhere) {
  std::string data;
  const Message m = ParseFile("wsinv", data);
  ASSERT_NE(m.cseq(), nullptr);
  EXPECT_EQ(m.cseq()->number, 9u);
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_EQ(m.max_forwards(), 68);
  EXPECT_EQ(m.to()->tag, "1918181833n");
  EXPECT_EQ(m.from()->tag, "98asjd8");
  EXPECT_EQ(m.from()->display_name, "\"J Rosenberg \\\\\\\"\"");
  ASSERT_NE(m.top_via(), nullptr);
  EXPECT_EQ(m.top_via()->transport, "UDP");
  EXPECT_EQ(m.top_via()->host, "192.0.2.2");
  EXPECT_EQ(m.top_via()->branch, "390skdjuw");
  HeaderValueIterator vias(m, HeaderId::kVia);
  std::string_view element;
  std::vector<std::string> branches;
  while (vias.Next(element)) {
    Via via;
    ASSERT_TRUE(ParseVia(element, via).ok()) << element;
    branches.emplace_back(via.branch);
  }
  EXPECT_EQ(branches, (std::vector<std::string>{"390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"}));
  EXPECT_EQ(m.body().size(), 150u);
  const HeaderField* subject = m.FindHeader(HeaderId::kSubject);
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->value, "");
  char buffer[128];
  EXPECT_EQ(Unfold(m.FindHeader("NewFangledHeader")->value, buffer),
            "newfangled value continued newfangled value");
  HeaderValueIterator contacts(m, HeaderId::kContact);
  ASSERT_TRUE(contacts.Next(element));
  Contact contact;
  ASSERT_TRUE(ParseContact(element, contact).ok());
  EXPECT_EQ(contact.q, "0.33");
  EXPECT_EQ(contact.address.display_name, "\"Quoted string \\\"\\\"\"");
}

TEST(TortureDetails, EscapedNullsAreNotTruncated) {
  std::string data;
  const Message m = ParseFile("escnull", data);
  char buffer[64];
  EXPECT_EQ(Unescape(m.to()->uri.user, buffer), std::string_view("null-\0-null", 11));
  HeaderValueIterator contacts(m, HeaderId::kContact);
  std::string_view element;
  std::vector<std::string> users;
  while (contacts.Next(element)) {
    Contact contact;
    ASSERT_TRUE(ParseContact(element, contact).ok());
    users.emplace_back(*Unescape(contact.address.uri.user, buffer));
  }
  EXPECT_EQ(users, (std::vector<std::string>{std::string(1, '\0'), std::string(2, '\0')}));
}

TEST(TortureDetails, PercentIsNotAnEscapeInMethodsOrHeaderNames) {
  std::string data;
  const Message m = ParseFile("esc02", data);
  EXPECT_EQ(m.method(), "RE%47IST%45R");
  size_t contacts = 0;
  HeaderValueIterator it(m, HeaderId::kContact);
  std::string_view element;
  while (it.Next(element)) ++contacts;
  EXPECT_EQ(contacts, 2u);
  EXPECT_NE(m.FindHeader("C%6Fntact"), nullptr);
}

TEST(TortureDetails, SemicolonInUserPart) {
  std::string data;
  const Message m = ParseFile("semiuri", data);
  EXPECT_EQ(m.request_uri().user, "user;par=u%40example.net");
  EXPECT_EQ(m.request_uri().host, "example.com");
  EXPECT_TRUE(m.request_uri().params.empty());
}

TEST(TortureDetails, TrailingOctetsOfADatagramAreIgnored) {
  std::string data;
  const Message m = ParseFile("dblreq", data);
  EXPECT_EQ(m.method(), "REGISTER");
  EXPECT_EQ(m.body(), "");
  EXPECT_LT(m.raw().size(), data.size());
}

TEST(TortureDetails, BinaryMultipartBodyFramedByContentLength) {
  std::string data;
  const Message m = ParseFile("mpart01", data);
  EXPECT_EQ(m.body().size(), *m.content_length());
  EXPECT_NE(m.body().find('\0'), std::string_view::npos);
  EXPECT_EQ(m.content_type()->type, "multipart");
  EXPECT_EQ(m.content_type()->subtype, "mixed");
}

TEST(TortureDetails, ContactParamVersusUriParam) {
  std::string data;
  Message m = ParseFile("cparam01", data);
  Contact contact;
  std::string_view element;
  HeaderValueIterator it(m, HeaderId::kContact);
  ASSERT_TRUE(it.Next(element));
  ASSERT_TRUE(ParseContact(element, contact).ok());
  EXPECT_TRUE(contact.address.uri.params.empty());
  EXPECT_EQ(contact.address.params, "unknownparam");

  std::string data2;
  m = ParseFile("cparam02", data2);
  HeaderValueIterator it2(m, HeaderId::kContact);
  ASSERT_TRUE(it2.Next(element));
  ASSERT_TRUE(ParseContact(element, contact).ok());
  EXPECT_EQ(contact.address.uri.params, "unknownparam");
  EXPECT_TRUE(contact.address.params.empty());
}

TEST(TortureDetails, UnknownSchemesKeptOpaque) {
  std::string data;
  const Message m = ParseFile("unksm2", data);
  EXPECT_EQ(m.to()->uri.scheme, UriScheme::kOther);
  EXPECT_EQ(m.to()->uri.opaque, "2983792873");
  EXPECT_EQ(m.from()->uri.scheme_text, "http");
}

TEST(TortureDetails, StreamFramingOfTortureMessages) {
  // clerr.dat on TCP: wait for the rest (RFC 4475 3.1.2.2).
  const std::string clerr = ReadFile(kTortureDir + "/rfc4475/clerr.dat");
  FrameResult frame = FrameStream(clerr);
  EXPECT_EQ(frame.status, FrameResult::Status::kNeedMore);
  // ncl.dat on TCP: close (3.1.2.3); mcl01.dat likewise (3.3.9).
  frame = FrameStream(ReadFile(kTortureDir + "/rfc4475/ncl.dat"));
  EXPECT_EQ(frame.status, FrameResult::Status::kError);
  frame = FrameStream(ReadFile(kTortureDir + "/rfc4475/mcl01.dat"));
  EXPECT_EQ(frame.status, FrameResult::Status::kError);
  // dblreq.dat as a stream: two messages back to back, the second framed by its own
  // Content-Length.
  const std::string dblreq = ReadFile(kTortureDir + "/rfc4475/dblreq.dat");
  frame = FrameStream(dblreq);
  ASSERT_EQ(frame.status, FrameResult::Status::kMessage);
  Message first;
  ASSERT_TRUE(Parse(std::string_view(dblreq).substr(0, frame.size), Transport::kStream, first).ok());
  EXPECT_EQ(first.method(), "REGISTER");
  std::string_view rest = std::string_view(dblreq).substr(frame.size);
  frame = FrameStream(rest);
  ASSERT_EQ(frame.status, FrameResult::Status::kKeepAlive);  // the blank line between them
  rest.remove_prefix(frame.size);
  frame = FrameStream(rest);
  ASSERT_EQ(frame.status, FrameResult::Status::kMessage);
  Message second;
  ASSERT_TRUE(Parse(rest.substr(0, frame.size), Transport::kStream, second).ok());
  EXPECT_EQ(second.method(), "INVITE");
}

}  // namespace
}  // namespace linegate::signaling::sip
