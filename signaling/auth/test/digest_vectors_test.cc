// Conformance: reads tests/data/digest-vectors.md (the project's given test vectors) and
// reproduces HA1, HA2 and the response of every row of the main table and of the
// MediaPack manual example table, with password credentials and with stored-HA1
// credentials, through the low-level ComputeDigest and through the full
// parse-challenge -> AnswerChallenge path.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_challenge.h"
#include "signaling/auth/digest_response.h"

namespace linegate::signaling::auth {
namespace {

// What the file holds today. A row added or lost (or skipped by a parsing slip) must be
// noticed, so the counts are fixed here and compared with what was parsed.
constexpr size_t kMainTableRows = 12;
constexpr size_t kManualTableRows = 2;

std::string VectorsPath() { return std::string(LINEGATE_TESTDATA_DIR) + "/digest-vectors.md"; }

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// A cell without its surrounding backticks: `/dir/index.html` -> /dir/index.html.
std::string Unquote(const std::string& cell) {
  if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') return cell.substr(1, cell.size() - 2);
  return cell;
}

std::vector<std::string> SplitRow(const std::string& line) {
  std::vector<std::string> cells;
  std::string_view rest(line);
  rest.remove_prefix(1);  // leading '|'
  while (!rest.empty()) {
    const size_t bar = rest.find('|');
    if (bar == std::string_view::npos) break;
    cells.push_back(Unquote(Trim(rest.substr(0, bar))));
    rest.remove_prefix(bar + 1);
  }
  return cells;
}

bool IsSeparatorRow(const std::string& line) { return line.rfind("|---", 0) == 0; }

bool IsLowerHex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The first run of lower-case hex of the given length inside a cell such as
// "**MISMATCH**: `3798...`".
std::string FindHex(const std::string& cell, size_t length) {
  for (size_t i = 0; i + length <= cell.size(); ++i) {
    if (IsLowerHex(std::string_view(cell).substr(i, length), length) &&
        (i + length == cell.size() || !IsLowerHex(std::string_view(cell).substr(i + length, 1), 1)) &&
        (i == 0 || !IsLowerHex(std::string_view(cell).substr(i - 1, 1), 1))) {
      return cell.substr(i, length);
    }
  }
  return "";
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t raw_row_lines = 0;  // non-separator lines after the header, counted independently
};

struct VectorsFile {
  std::vector<Table> tables;
  std::vector<std::string> lines;
};

VectorsFile ReadVectors() {
  VectorsFile file;
  std::ifstream in(VectorsPath());
  std::string line;
  Table* current = nullptr;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    file.lines.push_back(line);
    if (line.empty() || line[0] != '|') {
      current = nullptr;
      continue;
    }
    if (current == nullptr) {
      file.tables.emplace_back();
      current = &file.tables.back();
      current->header = SplitRow(line);
      continue;
    }
    if (IsSeparatorRow(line)) continue;
    ++current->raw_row_lines;
    current->rows.push_back(SplitRow(line));
  }
  return file;
}

const Table* FindTable(const VectorsFile& file, std::vector<std::string> header_prefix) {
  for (const Table& table : file.tables) {
    if (table.header.size() >= header_prefix.size() &&
        std::equal(header_prefix.begin(), header_prefix.end(), table.header.begin())) {
      return &table;
    }
  }
  return nullptr;
}

// One vector, whichever table it came from.
struct Vector {
  std::string id;
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
  std::string method, uri, username, realm, nonce, cnonce;
  std::optional<std::string> password;
  std::optional<std::string> stored_ha1;
  uint32_t nc = 1;
  Qop qop = Qop::kNone;
  std::string ha1, ha2, response;
};

// Main table columns: id source alg method uri username realm password nonce nc cnonce qop
// HA1 HA2 expected-response recomputed.
std::vector<Vector> MainVectors(const Table& table) {
  std::vector<Vector> vectors;
  for (const std::vector<std::string>& c : table.rows) {
    EXPECT_EQ(c.size(), 16u) << "malformed row: " << (c.empty() ? "" : c[0]);
    if (c.size() != 16) continue;
    Vector v;
    v.id = c[0];
    std::optional<DigestAlgorithm> algorithm = ParseAlgorithm(c[2]);
    EXPECT_TRUE(algorithm) << v.id << ": unknown algorithm " << c[2];
    if (!algorithm) continue;
    v.algorithm = *algorithm;
    v.method = c[3];
    v.uri = c[4];
    v.username = c[5];
    v.realm = c[6];
    v.password = c[7];
    v.nonce = c[8];
    if (c[11] == "-") {
      EXPECT_EQ(c[9], "-") << v.id;
      EXPECT_EQ(c[10], "-") << v.id;
      v.qop = Qop::kNone;
    } else {
      EXPECT_EQ(c[11], "auth") << v.id;
      v.qop = Qop::kAuth;
      v.nc = static_cast<uint32_t>(std::stoul(c[9], nullptr, 16));
      v.cnonce = c[10];
    }
    const size_t hex = HexDigestLength(v.algorithm);
    v.ha1 = c[12];
    v.ha2 = c[13];
    EXPECT_TRUE(IsLowerHex(v.ha1, hex)) << v.id;
    EXPECT_TRUE(IsLowerHex(v.ha2, hex)) << v.id;
    // The file's rule: the recomputed column when it holds a value (RFC 7616 3.9.2, whose
    // printed response is wrong, and the rows with "(none published)"); otherwise it says
    // "= (match)" and the published column is the value.
    const std::string recomputed = FindHex(c[15], hex);
    if (!recomputed.empty()) {
      v.response = recomputed;
    } else {
      EXPECT_EQ(c[15].rfind("=", 0), 0u) << v.id << ": recomputed column is neither a value nor '='";
      v.response = c[14];
    }
    EXPECT_TRUE(IsLowerHex(v.response, hex)) << v.id << ": no usable expected response";
    vectors.push_back(std::move(v));
  }
  return vectors;
}

// The challenge line of the MediaPack example, e.g.
// `WWW-Authenticate: Digest realm="audiocodes.com", nonce="...", stale=FALSE, algorithm=MD5`
std::optional<DigestChallenge> ManualChallenge(const VectorsFile& file) {
  constexpr std::string_view kPrefix = "`WWW-Authenticate: ";
  for (const std::string& line : file.lines) {
    if (line.rfind(kPrefix, 0) != 0) continue;
    const size_t end = line.find('`', kPrefix.size());
    if (end == std::string::npos) return std::nullopt;
    Result<DigestChallenge> challenge =
        ParseDigestChallenge(std::string_view(line).substr(kPrefix.size(), end - kPrefix.size()));
    EXPECT_TRUE(challenge.ok()) << challenge.error();
    if (!challenge.ok()) return std::nullopt;
    return *challenge;
  }
  return std::nullopt;
}

// Manual table columns: id method digest-uri username realm credential nonce HA1 HA2 response.
std::vector<Vector> ManualVectors(const Table& table, const DigestChallenge& challenge) {
  std::vector<Vector> vectors;
  for (const std::vector<std::string>& c : table.rows) {
    EXPECT_EQ(c.size(), 10u) << "malformed row: " << (c.empty() ? "" : c[0]);
    if (c.size() != 10) continue;
    Vector v;
    v.id = c[0];
    v.algorithm = challenge.algorithm.value_or(DigestAlgorithm::kMd5);
    v.qop = ChooseQop(challenge).value_or(Qop::kAuthInt);
    v.method = c[1];
    v.uri = c[2];
    v.username = c[3];
    v.realm = c[4];
    v.nonce = c[6];
    EXPECT_EQ(v.realm, challenge.realm) << v.id;
    EXPECT_EQ(v.nonce, challenge.nonce) << v.id;
    const std::string& credential = c[5];
    const size_t tick = credential.find('`');
    const std::string secret =
        tick == std::string::npos ? "" : credential.substr(tick + 1, credential.rfind('`') - tick - 1);
    if (credential.rfind("stored HA1", 0) == 0) {
      v.stored_ha1 = secret;
    } else if (credential.rfind("password", 0) == 0) {
      v.password = secret;
    } else {
      ADD_FAILURE() << v.id << ": credential column not understood: " << credential;
      continue;
    }
    v.ha1 = c[7];
    v.ha2 = c[8];
    v.response = c[9];
    vectors.push_back(std::move(v));
  }
  return vectors;
}

DigestInputs InputsOf(const Vector& v) {
  DigestInputs inputs;
  inputs.algorithm = v.algorithm;
  inputs.realm = v.realm;
  inputs.nonce = v.nonce;
  inputs.cnonce = v.cnonce;
  inputs.nonce_count = v.nc;
  inputs.qop = v.qop;
  inputs.request = DigestRequest{v.method, v.uri, ""};
  return inputs;
}

// The challenge a server would have sent for this vector, as a header value.
std::string ChallengeHeaderOf(const Vector& v) {
  std::string header = "Digest realm=\"" + v.realm + "\", nonce=\"" + v.nonce +
                       "\", algorithm=" + std::string(AlgorithmName(v.algorithm));
  if (v.qop == Qop::kAuth) header += ", qop=\"auth\"";
  return header;
}

void ExpectReproduced(const Vector& v, const Credentials& credentials, std::string_view mode) {
  SCOPED_TRACE(v.id + " (" + std::string(mode) + ")");
  Result<DigestValues> values = ComputeDigest(credentials, InputsOf(v));
  ASSERT_TRUE(values.ok()) << values.error();
  EXPECT_EQ(values->ha1, v.ha1);
  EXPECT_EQ(values->ha2, v.ha2);
  EXPECT_EQ(values->response, v.response);

  Result<DigestChallenge> challenge = ParseDigestChallenge(ChallengeHeaderOf(v));
  ASSERT_TRUE(challenge.ok()) << challenge.error();
  Result<std::string> header =
      AnswerChallenge(*challenge, credentials, DigestRequest{v.method, v.uri, ""}, v.cnonce, v.nc);
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_NE(header->find("response=\"" + v.response + "\""), std::string::npos) << *header;
}

class DigestVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = ReadVectors();
    ASSERT_FALSE(file_.lines.empty()) << "cannot read " << VectorsPath();
    main_ = FindTable(file_, {"id", "source", "alg", "method", "uri"});
    manual_ = FindTable(file_, {"id", "method", "digest-uri", "username", "realm", "credential"});
    ASSERT_NE(main_, nullptr) << "main vector table not found";
    ASSERT_NE(manual_, nullptr) << "MediaPack manual table not found";
  }

  VectorsFile file_;
  const Table* main_ = nullptr;
  const Table* manual_ = nullptr;
};

TEST_F(DigestVectorsTest, EveryRowIsParsed) {
  EXPECT_EQ(main_->raw_row_lines, kMainTableRows);
  EXPECT_EQ(MainVectors(*main_).size(), kMainTableRows);
  std::optional<DigestChallenge> challenge = ManualChallenge(file_);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(manual_->raw_row_lines, kManualTableRows);
  EXPECT_EQ(ManualVectors(*manual_, *challenge).size(), kManualTableRows);
}

TEST_F(DigestVectorsTest, MainTableWithPassword) {
  const std::vector<Vector> vectors = MainVectors(*main_);
  ASSERT_EQ(vectors.size(), kMainTableRows);
  for (const Vector& v : vectors) {
    ExpectReproduced(v, Credentials::FromPassword(v.username, *v.password), "password");
  }
}

TEST_F(DigestVectorsTest, MainTableWithStoredHa1) {
  const std::vector<Vector> vectors = MainVectors(*main_);
  ASSERT_EQ(vectors.size(), kMainTableRows);
  for (const Vector& v : vectors) {
    // A stored HA1 is always the plain H(user:realm:password). For a -sess row the table
    // shows the session HA1, so the stored value comes from a plain row of the same
    // user, realm, password and hash.
    std::string stored = v.ha1;
    if (IsSessionAlgorithm(v.algorithm)) {
      stored.clear();
      for (const Vector& other : vectors) {
        if (other.algorithm == BaseAlgorithm(v.algorithm) && other.username == v.username &&
            other.realm == v.realm && other.password == v.password) {
          stored = other.ha1;
        }
      }
      ASSERT_FALSE(stored.empty()) << v.id << ": no plain row to take the stored HA1 from";
    }
    Result<Credentials> credentials = Credentials::FromHa1(v.username, v.realm, stored, v.algorithm);
    ASSERT_TRUE(credentials.ok()) << v.id << ": " << credentials.error();
    ExpectReproduced(v, *credentials, "stored HA1");
  }
}

TEST_F(DigestVectorsTest, ManualExample) {
  std::optional<DigestChallenge> challenge = ManualChallenge(file_);
  ASSERT_TRUE(challenge);
  // The manual's challenge: MD5, no qop (RFC 2069 form), stale=FALSE.
  EXPECT_EQ(challenge->algorithm, DigestAlgorithm::kMd5);
  EXPECT_TRUE(challenge->qop_options.empty());
  EXPECT_FALSE(challenge->stale);

  const std::vector<Vector> vectors = ManualVectors(*manual_, *challenge);
  ASSERT_EQ(vectors.size(), kManualTableRows);
  for (const Vector& v : vectors) {
    Result<Credentials> credentials =
        v.stored_ha1 ? Credentials::FromHa1(v.username, v.realm, *v.stored_ha1, v.algorithm)
                     : Result<Credentials>(Credentials::FromPassword(v.username, *v.password));
    ASSERT_TRUE(credentials.ok()) << credentials.error();
    ExpectReproduced(v, *credentials, v.stored_ha1 ? "stored HA1" : "password");

    // The header a correct client emits, as the file spells it out.
    Result<std::string> header = AnswerChallenge(*challenge, *credentials, {v.method, v.uri, ""}, "", 1);
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(*header, "Digest username=\"" + v.username + "\", realm=\"" + v.realm + "\", nonce=\"" +
                           v.nonce + "\", uri=\"" + v.uri + "\", response=\"" + v.response +
                           "\", algorithm=MD5");

    if (v.password) {
      // The same row in stored-HA1 mode, with the HA1 the table gives for the password.
      Result<Credentials> ha1 = Credentials::FromHa1(v.username, v.realm, v.ha1, v.algorithm);
      ASSERT_TRUE(ha1.ok()) << ha1.error();
      ExpectReproduced(v, *ha1, "stored HA1 of password row");
    }
  }
}

// RFC 7616 3.9.2 as corrected in the file: the userhash and the response of real
// SHA-512/256, never the printed (SHA-512-truncated) values.
TEST_F(DigestVectorsTest, Rfc7616Section392Userhash) {
  const Table* comparison = FindTable(file_, {"value", "printed in RFC 7616"});
  ASSERT_NE(comparison, nullptr);
  std::string userhash_expected;
  std::string response_expected;
  std::string printed_response;
  for (const std::vector<std::string>& row : comparison->rows) {
    ASSERT_EQ(row.size(), 4u);
    if (row[0].rfind("userhash", 0) == 0) userhash_expected = row[2];
    if (row[0] == "response") {
      response_expected = row[2];
      printed_response = row[1];
    }
  }
  ASSERT_TRUE(IsLowerHex(userhash_expected, 64));
  ASSERT_TRUE(IsLowerHex(response_expected, 64));

  const Credentials credentials = Credentials::FromPassword("J\xC3\xA4s\xC3\xB8n Doe", "Secret, or not?");
  Result<DigestChallenge> challenge = ParseDigestChallenge(
      "Digest realm=\"api@example.org\", qop=\"auth\", algorithm=SHA-512-256, "
      "nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", "
      "opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\", charset=UTF-8, userhash=true");
  ASSERT_TRUE(challenge.ok()) << challenge.error();
  Result<std::string> header = AnswerChallenge(*challenge, credentials, {"GET", "/doe.json", ""},
                                               "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", 1);
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_NE(header->find("username=\"" + userhash_expected + "\""), std::string::npos) << *header;
  EXPECT_NE(header->find("response=\"" + response_expected + "\""), std::string::npos) << *header;
  EXPECT_EQ(header->find(printed_response), std::string::npos) << "matched the erroneous printed value";
  EXPECT_NE(header->find(", userhash=true"), std::string::npos) << *header;
}

}  // namespace
}  // namespace linegate::signaling::auth
