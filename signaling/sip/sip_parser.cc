#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling::sip {
namespace {

struct NameEntry {
  std::string_view name;
  HeaderId id;
};

// In HeaderId order, so that CanonicalHeaderName indexes it directly.
constexpr NameEntry kHeaderNames[] = {
    {"Accept", HeaderId::kAccept},
    {"Accept-Contact", HeaderId::kAcceptContact},
    {"Accept-Encoding", HeaderId::kAcceptEncoding},
    {"Accept-Language", HeaderId::kAcceptLanguage},
    {"Alert-Info", HeaderId::kAlertInfo},
    {"Allow", HeaderId::kAllow},
    {"Allow-Events", HeaderId::kAllowEvents},
    {"Authentication-Info", HeaderId::kAuthenticationInfo},
    {"Authorization", HeaderId::kAuthorization},
    {"Call-ID", HeaderId::kCallId},
    {"Call-Info", HeaderId::kCallInfo},
    {"Contact", HeaderId::kContact},
    {"Content-Disposition", HeaderId::kContentDisposition},
    {"Content-Encoding", HeaderId::kContentEncoding},
    {"Content-Language", HeaderId::kContentLanguage},
    {"Content-Length", HeaderId::kContentLength},
    {"Content-Type", HeaderId::kContentType},
    {"CSeq", HeaderId::kCSeq},
    {"Date", HeaderId::kDate},
    {"Error-Info", HeaderId::kErrorInfo},
    {"Event", HeaderId::kEvent},
    {"Expires", HeaderId::kExpires},
    {"From", HeaderId::kFrom},
    {"Identity", HeaderId::kIdentity},
    {"Identity-Info", HeaderId::kIdentityInfo},
    {"In-Reply-To", HeaderId::kInReplyTo},
    {"Max-Forwards", HeaderId::kMaxForwards},
    {"MIME-Version", HeaderId::kMimeVersion},
    {"Min-Expires", HeaderId::kMinExpires},
    {"Organization", HeaderId::kOrganization},
    {"Priority", HeaderId::kPriority},
    {"Proxy-Authenticate", HeaderId::kProxyAuthenticate},
    {"Proxy-Authorization", HeaderId::kProxyAuthorization},
    {"Proxy-Require", HeaderId::kProxyRequire},
    {"Record-Route", HeaderId::kRecordRoute},
    {"Refer-To", HeaderId::kReferTo},
    {"Referred-By", HeaderId::kReferredBy},
    {"Reject-Contact", HeaderId::kRejectContact},
    {"Reply-To", HeaderId::kReplyTo},
    {"Request-Disposition", HeaderId::kRequestDisposition},
    {"Require", HeaderId::kRequire},
    {"Retry-After", HeaderId::kRetryAfter},
    {"Route", HeaderId::kRoute},
    {"Server", HeaderId::kServer},
    {"Session-Expires", HeaderId::kSessionExpires},
    {"Subject", HeaderId::kSubject},
    {"Supported", HeaderId::kSupported},
    {"Timestamp", HeaderId::kTimestamp},
    {"To", HeaderId::kTo},
    {"Unsupported", HeaderId::kUnsupported},
    {"User-Agent", HeaderId::kUserAgent},
    {"Via", HeaderId::kVia},
    {"Warning", HeaderId::kWarning},
    {"WWW-Authenticate", HeaderId::kWwwAuthenticate},
};
static_assert(std::size(kHeaderNames) == static_cast<size_t>(HeaderId::kCount) - 1);

constexpr bool HeaderTableInOrder() {
  for (size_t i = 0; i < std::size(kHeaderNames); ++i) {
    if (static_cast<size_t>(kHeaderNames[i].id) != i + 1) return false;
  }
  return true;
}
static_assert(HeaderTableInOrder());

// Full names are found through a perfect hash: one table probe and one comparison
// instead of a walk over the names sharing a first letter. The hash mixes the length
// with the first, middle and last octets (case folded by | 0x20, which is enough for
// hashing: the comparison afterwards is exact); the multipliers were picked so that
// the 54 names land in distinct slots, which the static_assert below re-checks.
constexpr size_t kHashSlots = 256;
constexpr size_t HeaderNameHash(std::string_view name) {
  const auto fold = [](char c) { return static_cast<size_t>(static_cast<unsigned char>(c) | 0x20); };
  return (fold(name[0]) + 4 * fold(name[name.size() - 1]) + 23 * fold(name[name.size() / 2]) + name.size()) &
         (kHashSlots - 1);
}

// kHashTable[hash] is 1 + the index in kHeaderNames of the name with that hash, 0 for none.
constexpr std::array<uint8_t, kHashSlots> BuildHashTable() {
  std::array<uint8_t, kHashSlots> table{};
  for (size_t i = 0; i < std::size(kHeaderNames); ++i) {
    table[HeaderNameHash(kHeaderNames[i].name)] = static_cast<uint8_t>(i + 1);
  }
  return table;
}
constexpr std::array<uint8_t, kHashSlots> kHashTable = BuildHashTable();

constexpr bool HashIsPerfect() {
  for (size_t i = 0; i < std::size(kHeaderNames); ++i) {
    if (kHashTable[HeaderNameHash(kHeaderNames[i].name)] != i + 1) return false;
  }
  return true;
}
static_assert(HashIsPerfect(), "two header names share a hash slot: pick other multipliers");

// Each name in lower case and, per octet, the bit a case-insensitive match may differ
// in: 0x20 for letters, 0 for '-'. (octet | fold) == lower then holds exactly for both
// cases of a letter and for '-' itself, so whole words compare at once. The arrays are
// padded to a multiple of 8 with zeros.
constexpr size_t kMaxHeaderNameSize = 24;
struct FoldedName {
  std::array<char, kMaxHeaderNameSize> lower{};
  std::array<char, kMaxHeaderNameSize> fold{};
};
constexpr bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool NamesFoldable() {
  for (const NameEntry& entry : kHeaderNames) {
    if (entry.name.size() < 2 || entry.name.size() > kMaxHeaderNameSize) return false;
    for (char c : entry.name) {
      if (!IsAlpha(c) && c != '-') return false;
    }
  }
  return true;
}
static_assert(NamesFoldable(), "header names must be letters and '-' for the folded compare");
constexpr std::array<FoldedName, std::size(kHeaderNames)> BuildFoldedNames() {
  std::array<FoldedName, std::size(kHeaderNames)> names{};
  for (size_t i = 0; i < std::size(kHeaderNames); ++i) {
    for (size_t j = 0; j < kHeaderNames[i].name.size(); ++j) {
      const char c = kHeaderNames[i].name[j];
      names[i].lower[j] = ToLowerAscii(c);
      names[i].fold[j] = IsAlpha(c) ? 0x20 : 0;
    }
  }
  return names;
}
constexpr std::array<FoldedName, std::size(kHeaderNames)> kFoldedNames = BuildFoldedNames();

template <typename Word>
bool FoldedWordEquals(const char* name, const FoldedName& folded, size_t offset) {
  Word in;
  Word fold;
  Word lower;
  std::memcpy(&in, name + offset, sizeof(Word));
  std::memcpy(&fold, folded.fold.data() + offset, sizeof(Word));
  std::memcpy(&lower, folded.lower.data() + offset, sizeof(Word));
  return (in | fold) == lower;
}

// name.size() is the size of the folded name, at least 2. Words never read past the
// name: the last word of a name of 8 or more octets overlaps the previous one, as do
// the two words of a name of 4 to 7 octets.
bool EqualsFolded(std::string_view name, const FoldedName& folded) {
  const char* p = name.data();
  const size_t n = name.size();
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (!FoldedWordEquals<uint64_t>(p, folded, i)) return false;
    }
    return FoldedWordEquals<uint64_t>(p, folded, n - 8);
  }
  if (n >= 4) return FoldedWordEquals<uint32_t>(p, folded, 0) && FoldedWordEquals<uint32_t>(p, folded, n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<char>(p[i] | folded.fold[i]) != folded.lower[i]) return false;
  }
  return true;
}

constexpr std::array<HeaderId, 26> BuildCompactTable() {
  std::array<HeaderId, 26> table{};
  table['a' - 'a'] = HeaderId::kAcceptContact;       // RFC 3841
  table['b' - 'a'] = HeaderId::kReferredBy;          // RFC 3892
  table['c' - 'a'] = HeaderId::kContentType;         // RFC 3261 7.3.3
  table['d' - 'a'] = HeaderId::kRequestDisposition;  // RFC 3841
  table['e' - 'a'] = HeaderId::kContentEncoding;
  table['f' - 'a'] = HeaderId::kFrom;
  table['i' - 'a'] = HeaderId::kCallId;
  table['j' - 'a'] = HeaderId::kRejectContact;  // RFC 3841
  table['k' - 'a'] = HeaderId::kSupported;
  table['l' - 'a'] = HeaderId::kContentLength;
  table['m' - 'a'] = HeaderId::kContact;
  table['n' - 'a'] = HeaderId::kIdentityInfo;  // RFC 4474
  table['o' - 'a'] = HeaderId::kEvent;         // RFC 6665
  table['r' - 'a'] = HeaderId::kReferTo;       // RFC 3515
  table['s' - 'a'] = HeaderId::kSubject;
  table['t' - 'a'] = HeaderId::kTo;
  table['u' - 'a'] = HeaderId::kAllowEvents;  // RFC 6665
  table['v' - 'a'] = HeaderId::kVia;
  table['x' - 'a'] = HeaderId::kSessionExpires;  // RFC 4028
  table['y' - 'a'] = HeaderId::kIdentity;        // RFC 8224
  return table;
}
constexpr std::array<HeaderId, 26> kCompactNames = BuildCompactTable();

constexpr const char kReasonMalformedStartLine[] = "Malformed start line";
constexpr const char kReasonMalformedRequestLine[] = "Malformed Request-Line";
constexpr const char kReasonMalformedStatusLine[] = "Malformed Status-Line";
constexpr const char kReasonBadStatusCode[] = "Bad Status-Code";
constexpr const char kReasonMalformedRequestUri[] = "Malformed Request-URI";
constexpr const char kReasonVersionNotSupported[] = "Version Not Supported";
constexpr const char kReasonMalformedHeader[] = "Malformed header";
constexpr const char kReasonBareLineEnd[] = "Bare CR or LF in header section";
constexpr const char kReasonUnterminatedHeaders[] = "Header section not terminated";
constexpr const char kReasonNoEmptyLine[] = "Missing empty line after headers";
constexpr const char kReasonTooManyHeaders[] = "Too many headers";
constexpr const char kReasonConflictingContentLength[] = "Conflicting Content-Length";
constexpr const char kReasonContentLengthTooLarge[] = "Content-Length larger than message";
constexpr const char kReasonMissingContentLength[] = "Missing Content-Length";
constexpr const char kReasonCSeqMismatch[] = "CSeq method does not match Request-Line";
constexpr const char kReasonBodyTooLarge[] = "Body too large";
constexpr const char kReasonHeadersTooLarge[] = "Header section too large";
constexpr const char kReasonBadKeepAlive[] = "Malformed CRLF keep-alive";

// Keeps the specific quoted-string fault, otherwise names the header.
ParseStatus Specialize(ParseStatus status, const char* header_reason) {
  if (status.ok() || status.reason() == kReasonUnterminatedQuote) return status;
  return ParseStatus::Fail(header_reason);
}

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (the literal is case-insensitive).
// Returns false when malformed; supported tells 2.0 from other versions.
bool CheckVersion(std::string_view version, bool& supported) {
  if (version.size() < 7 || !EqualsIgnoreCase(version.substr(0, 4), "SIP/")) return false;
  const std::string_view numbers = version.substr(4);
  const size_t dot = numbers.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == numbers.size()) return false;
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i != dot && !IsChar(numbers[i], kDigitChar)) return false;
  }
  supported = numbers == "2.0";
  return true;
}

// The first CR or LF in [p, end), or end. Header sections are scanned once, eight
// octets at a time (SWAR, no SIMD intrinsics): in a word x, (x - 0x0E..0E) & ~x &
// 0x80..80 flags every octet below 0x0E. Borrows only run toward higher octets, so
// the lowest flag is exact and a later one may be a false 0x0E; each flagged octet is
// read back, and flags for HTAB and other controls are skipped.
const char* FindCrOrLf(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101;
    constexpr uint64_t kHighBits = kOnes * 0x80;
    constexpr uint64_t kBelow = kOnes * 0x0E;
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      for (uint64_t flags = (word - kBelow) & ~word & kHighBits; flags != 0; flags &= flags - 1) {
        const char* hit = p + std::countr_zero(flags) / 8;
        if (*hit == '\r' || *hit == '\n') return hit;
      }
      p += 8;
    }
  }
  while (p != end && *p != '\r' && *p != '\n') ++p;
  return p;
}

bool IsLineText(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

}  // namespace

std::string_view CanonicalHeaderName(HeaderId id) {
  const auto index = static_cast<size_t>(id);
  if (index == 0 || index >= static_cast<size_t>(HeaderId::kCount)) return {};
  return kHeaderNames[index - 1].name;
}

HeaderId LookupHeaderName(std::string_view name) {
  if (name.size() <= 1) {
    if (name.empty()) return HeaderId::kUnknown;
    const char first = ToLowerAscii(name[0]);
    if (first < 'a' || first > 'z') return HeaderId::kUnknown;
    return kCompactNames[static_cast<size_t>(first - 'a')];
  }
  const uint8_t slot = kHashTable[HeaderNameHash(name)];
  if (slot == 0) return HeaderId::kUnknown;
  const NameEntry& entry = kHeaderNames[slot - 1];
  if (entry.name.size() != name.size() || !EqualsFolded(name, kFoldedNames[slot - 1])) return HeaderId::kUnknown;
  return entry.id;
}

const HeaderField* Message::FindHeader(HeaderId id) const {
  for (size_t i = 0; i < header_count_; ++i) {
    if (headers_[i].id == id) return &headers_[i];
  }
  return nullptr;
}

const HeaderField* Message::FindHeader(std::string_view name) const {
  const HeaderId id = LookupHeaderName(name);
  if (id != HeaderId::kUnknown) return FindHeader(id);
  for (size_t i = 0; i < header_count_; ++i) {
    if (headers_[i].id == HeaderId::kUnknown && EqualsIgnoreCase(headers_[i].name, name)) return &headers_[i];
  }
  return nullptr;
}

size_t Message::CountHeaders(HeaderId id) const {
  size_t count = 0;
  for (size_t i = 0; i < header_count_; ++i) count += headers_[i].id == id ? 1 : 0;
  return count;
}

void Message::Reset() {
  raw_ = {};
  is_request_ = false;
  method_ = {};
  request_uri_text_ = {};
  version_ = {};
  status_code_ = 0;
  reason_phrase_ = {};
  body_ = {};
  header_count_ = 0;
  has_top_via_ = has_from_ = has_to_ = has_cseq_ = has_content_type_ = has_retry_after_ = false;
  call_id_ = {};
  max_forwards_.reset();
  content_length_.reset();
  expires_.reset();
  min_expires_.reset();
}

class MessageParser {
 public:
  static ParseResult Run(std::string_view data, Transport transport, Message& m);

 private:
  static const char* ParseStartLine(std::string_view line, Message& m, bool& version_unsupported);
  static ParseStatus ValidateHeader(const HeaderField& field, Message& m, size_t& contact_count,
                                    bool& wildcard);
};

const char* MessageParser::ParseStartLine(std::string_view line, Message& m, bool& version_unsupported) {
  bool supported = false;
  if (line.size() >= 4 && EqualsIgnoreCase(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
    m.is_request_ = false;
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return kReasonMalformedStatusLine;
    m.version_ = line.substr(0, sp);
    if (!CheckVersion(m.version_, supported)) return kReasonMalformedStatusLine;
    if (!supported) {
      version_unsupported = true;
      return kReasonVersionNotSupported;
    }
    const std::string_view rest = line.substr(sp + 1);
    uint64_t code = 0;
    if (rest.size() < 4 || rest[3] != ' ' || !ParseDecimal(rest.substr(0, 3), 699, code) || code < 100) {
      return kReasonBadStatusCode;
    }
    m.status_code_ = static_cast<uint16_t>(code);
    m.reason_phrase_ = rest.substr(4);
    if (!IsLineText(m.reason_phrase_)) return kReasonMalformedStatusLine;
    return nullptr;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF, single SPs (RFC 4475
  // 3.1.2.9 and 3.1.2.10 allow rejecting extra or trailing SP; we do).
  m.is_request_ = true;
  const size_t sp1 = line.find(' ');
  m.method_ = line.substr(0, sp1);
  if (sp1 == std::string_view::npos) return kReasonMalformedRequestLine;
  for (char c : m.method_) {
    if (!IsChar(c, kTokenChar)) return kReasonMalformedRequestLine;
  }
  if (m.method_.empty()) return kReasonMalformedRequestLine;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return kReasonMalformedRequestLine;
  m.request_uri_text_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
  m.version_ = line.substr(sp2 + 1);
  if (!CheckVersion(m.version_, supported)) return kReasonMalformedRequestLine;
  if (!supported) {
    version_unsupported = true;
    return kReasonVersionNotSupported;
  }
  if (!ParseUri(m.request_uri_text_, m.request_uri_)) return kReasonMalformedRequestUri;
  // RFC 3261 19.1.1 (table 1): headers are not allowed in a Request-URI (RFC 4475
  // 3.1.2.11).
  if (m.request_uri_.IsSip() && !m.request_uri_.headers.empty()) return kReasonMalformedRequestUri;
  return nullptr;
}

ParseStatus MessageParser::ValidateHeader(const HeaderField& field, Message& m, size_t& contact_count,
                                          bool& wildcard) {
  switch (field.id) {
    case HeaderId::kVia: {
      ListIterator it(field.value);
      std::string_view element;
      bool any = false;
      while (it.Next(element)) {
        any = true;
        if (element.empty()) return ParseStatus::Fail(kReasonMalformedVia);
        // The first Via is parsed straight into the message, the others into scratch
        // (built only then: it is a large struct to construct for nothing).
        ParseStatus status;
        if (!m.has_top_via_) {
          status = ParseVia(element, m.top_via_);
        } else {
          Via scratch;
          status = ParseVia(element, scratch);
        }
        if (!status) return Specialize(status, kReasonMalformedVia);
        m.has_top_via_ = true;
      }
      return any ? ParseStatus::Ok() : ParseStatus::Fail(kReasonMalformedVia);
    }
    case HeaderId::kFrom:
    case HeaderId::kTo: {
      const bool from = field.id == HeaderId::kFrom;
      const char* reason = from ? kReasonMalformedFrom : kReasonMalformedTo;
      bool& has = from ? m.has_from_ : m.has_to_;
      ParseStatus status;
      if (!has) {
        status = ParseNameAddr(field.value, from ? m.from_ : m.to_);
      } else {
        NameAddr scratch;  // a second From/To is validated, then dropped
        status = ParseNameAddr(field.value, scratch);
      }
      if (!status) return Specialize(status, reason);
      has = true;
      return ParseStatus::Ok();
    }
    case HeaderId::kCallId: {
      std::string_view call_id;
      if (auto status = ParseCallId(field.value, call_id); !status) return status;
      if (m.call_id_.empty()) m.call_id_ = call_id;
      return ParseStatus::Ok();
    }
    case HeaderId::kCSeq: {
      CSeq cseq;
      if (auto status = ParseCSeq(field.value, cseq); !status) return status;
      if (!m.has_cseq_) {
        m.cseq_ = cseq;
        m.has_cseq_ = true;
      }
      return ParseStatus::Ok();
    }
    case HeaderId::kMaxForwards: {
      uint8_t hops = 0;
      if (auto status = ParseMaxForwards(field.value, hops); !status) return status;
      if (!m.max_forwards_) m.max_forwards_ = hops;
      return ParseStatus::Ok();
    }
    case HeaderId::kContact: {
      ListIterator it(field.value);
      std::string_view element;
      bool any = false;
      while (it.Next(element)) {
        any = true;
        Contact contact;
        if (element.empty()) return ParseStatus::Fail(kReasonMalformedContact);
        if (auto status = ParseContact(element, contact); !status) return status;
        wildcard = wildcard || contact.wildcard;
        // RFC 3261 10.2.2: "*" stands alone.
        if (wildcard && ++contact_count > 1) return ParseStatus::Fail(kReasonMalformedContact);
        if (!wildcard) ++contact_count;
      }
      return any ? ParseStatus::Ok() : ParseStatus::Fail(kReasonMalformedContact);
    }
    case HeaderId::kRoute:
    case HeaderId::kRecordRoute: {
      const char* reason = field.id == HeaderId::kRoute ? kReasonMalformedRoute : kReasonMalformedRecordRoute;
      ListIterator it(field.value);
      std::string_view element;
      bool any = false;
      while (it.Next(element)) {
        any = true;
        NameAddr address;
        if (element.empty()) return ParseStatus::Fail(reason);
        if (auto status = ParseNameAddr(element, address); !status) return Specialize(status, reason);
        // route-param / rec-route = name-addr: the URI is always in <>.
        if (!address.angle_brackets) return ParseStatus::Fail(reason);
      }
      return any ? ParseStatus::Ok() : ParseStatus::Fail(reason);
    }
    case HeaderId::kContentType: {
      ContentType type;
      if (auto status = ParseContentType(field.value, type); !status)
        return Specialize(status, kReasonBadContentType);
      if (!m.has_content_type_) {
        m.content_type_ = type;
        m.has_content_type_ = true;
      }
      return ParseStatus::Ok();
    }
    case HeaderId::kExpires:
    case HeaderId::kMinExpires: {
      uint32_t seconds = 0;
      if (!ParseDeltaSeconds(field.value, seconds)) {
        return ParseStatus::Fail(field.id == HeaderId::kExpires ? kReasonBadExpires : kReasonBadMinExpires);
      }
      std::optional<uint32_t>& slot = field.id == HeaderId::kExpires ? m.expires_ : m.min_expires_;
      if (!slot) slot = seconds;
      return ParseStatus::Ok();
    }
    case HeaderId::kRetryAfter: {
      RetryAfter retry;
      if (auto status = ParseRetryAfter(field.value, retry); !status)
        return Specialize(status, kReasonBadRetryAfter);
      if (!m.has_retry_after_) {
        m.retry_after_ = retry;
        m.has_retry_after_ = true;
      }
      return ParseStatus::Ok();
    }
    case HeaderId::kDate:
      return ValidateDate(field.value);
    default:
      return ParseStatus::Ok();
  }
}

ParseResult MessageParser::Run(std::string_view data, Transport transport, Message& m) {
  m.Reset();
  ParseResult result;
  const char* base = data.data();
  const size_t size = data.size();
  size_t pos = 0;
  // RFC 3261 7.5: CRLFs before the start-line are ignored.
  while (pos + 1 < size && base[pos] == '\r' && base[pos + 1] == '\n') pos += 2;
  const size_t message_start = pos;

  const char* const end = base + size;
  // The start line ends at its first CR or LF, which must be a CRLF: a lone LF, a CR
  // elsewhere in the line or no line end at all make it malformed.
  const char* cr = FindCrOrLf(base + pos, end);
  if (cr == end || *cr != '\r' || cr + 1 == end || cr[1] != '\n') {
    result.status = ParseStatus::Fail(kReasonMalformedStartLine);
    return result;
  }
  const char* lf = cr + 1;
  const std::string_view start_line(base + pos, static_cast<size_t>(cr - (base + pos)));
  const char* start_fault = ParseStartLine(start_line, m, result.version_unsupported);
  pos = static_cast<size_t>(lf - base) + 1;

  // Header lines. A line starting with SP/HTAB continues the previous header
  // (RFC 3261 7.3.1); the stored value spans the fold and is trimmed afterwards.
  const char* header_fault = nullptr;
  const char* pending_fault = nullptr;
  // A CR not followed by LF inside a header line; reported only once the empty line
  // is reached, so that other faults of the section take precedence as they always did.
  bool bare_cr = false;
  size_t body_start = size;
  while (true) {
    if (pos == size) {
      // RFC 4475 3.1.2.15 (baddn.dat) ends after its last header: the table is whole,
      // the message still lacks its empty line.
      pending_fault = kReasonNoEmptyLine;
      result.headers_complete = true;
      break;
    }
    // The line ends at the first LF; the one pass notes bare CRs on the way.
    lf = nullptr;
    for (const char* p = base + pos;; ++p) {
      p = FindCrOrLf(p, end);
      if (p == end) break;
      if (*p == '\n') {
        lf = p;
        break;
      }
      if (p + 1 != end && p[1] == '\n') {
        lf = p + 1;
        break;
      }
      bare_cr = true;
    }
    if (lf == nullptr) {
      header_fault = kReasonUnterminatedHeaders;
      break;
    }
    const size_t lf_index = static_cast<size_t>(lf - base);
    if (lf_index == pos || base[lf_index - 1] != '\r') {
      header_fault = kReasonBareLineEnd;
      break;
    }
    const size_t line_end = lf_index - 1;
    if (line_end == pos) {
      // Every line ended in CRLF; a CR anywhere else is a bare CR.
      if (bare_cr) {
        header_fault = kReasonBareLineEnd;
        break;
      }
      result.headers_complete = true;
      body_start = lf_index + 1;
      break;
    }
    const char first = base[pos];
    if (first == ' ' || first == '\t') {
      if (m.header_count_ == 0) {
        header_fault = kReasonMalformedHeader;
        break;
      }
      HeaderField& last = m.headers_[m.header_count_ - 1];
      last.value = TrimLws(
          std::string_view(last.value.data(), static_cast<size_t>(base + line_end - last.value.data())));
    } else {
      size_t i = pos;
      while (i < line_end && IsChar(base[i], kTokenChar)) ++i;
      const std::string_view name(base + pos, i - pos);
      while (i < line_end && (base[i] == ' ' || base[i] == '\t')) ++i;
      if (name.empty() || i == line_end || base[i] != ':') {
        header_fault = kReasonMalformedHeader;
        break;
      }
      ++i;
      if (m.header_count_ == kMaxHeaders) [[unlikely]] {
        header_fault = kReasonTooManyHeaders;
        break;
      }
      HeaderField& field = m.headers_[m.header_count_++];
      field.name = name;
      field.value = TrimLws(std::string_view(base + i, line_end - i));
      field.id = LookupHeaderName(name);
    }
    pos = lf_index + 1;
  }
  if (start_fault != nullptr || header_fault != nullptr) {
    result.status = ParseStatus::Fail(start_fault != nullptr ? start_fault : header_fault);
    if (header_fault != nullptr) result.headers_complete = false;
    return result;
  }

  // Framing by Content-Length (RFC 3261 18.3, 20.14).
  for (size_t i = 0; i < m.header_count_; ++i) {
    if (m.headers_[i].id != HeaderId::kContentLength) continue;
    uint32_t length = 0;
    if (auto status = ParseContentLength(m.headers_[i].value, length); !status) {
      result.status = status;
      return result;
    }
    if (m.content_length_ && *m.content_length_ != length) {
      // RFC 4475 3.3.9: the framing is ambiguous, nothing sane can be forwarded.
      result.status = ParseStatus::Fail(kReasonConflictingContentLength);
      return result;
    }
    m.content_length_ = length;
  }
  size_t message_end = size;
  if (m.content_length_) {
    if (*m.content_length_ > size - body_start) {
      result.status = ParseStatus::Fail(kReasonContentLengthTooLarge);
      return result;
    }
    message_end = body_start + *m.content_length_;
  } else if (transport == Transport::kStream) {
    result.status = ParseStatus::Fail(kReasonMissingContentLength);
    return result;
  }
  m.body_ = data.substr(body_start, message_end - body_start);
  m.raw_ = data.substr(message_start, message_end - message_start);

  size_t contact_count = 0;
  bool wildcard = false;
  for (size_t i = 0; i < m.header_count_; ++i) {
    if (auto status = ValidateHeader(m.headers_[i], m, contact_count, wildcard); !status) {
      result.status = status;
      return result;
    }
  }
  // RFC 3261 8.1.1.5 / 20.16: the CSeq method matches the request method.
  if (m.is_request_ && m.has_cseq_ && m.cseq_.method != m.method_) {
    result.status = ParseStatus::Fail(kReasonCSeqMismatch);
    return result;
  }
  if (pending_fault != nullptr) result.status = ParseStatus::Fail(pending_fault);
  return result;
}

ParseResult Parse(std::string_view data, Transport transport, Message& out) {
  return MessageParser::Run(data, transport, out);
}

bool HeaderValueIterator::Next(std::string_view& element) {
  while (true) {
    if (list_.Next(element)) return true;
    while (index_ < headers_.size() && headers_[index_].id != id_) ++index_;
    if (index_ == headers_.size()) return false;
    list_ = ListIterator(headers_[index_].value);
    ++index_;
  }
}

Rejection DecideRejection(const Message& message, const ParseResult& result) {
  Rejection rejection;
  if (result.ok()) return rejection;
  rejection.action = Rejection::Action::kDrop;
  // RFC 3261 17: ACK gets no response; a malformed response is discarded.
  if (!message.is_request() || !result.headers_complete || message.method() == "ACK") return rejection;
  HeaderValueIterator vias(message, HeaderId::kVia);
  std::string_view top;
  Via via;
  if (!vias.Next(top) || !ParseViaSentBy(top, via)) return rejection;
  for (HeaderId id : {HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId, HeaderId::kCSeq}) {
    if (message.FindHeader(id) == nullptr) return rejection;
  }
  rejection.action = Rejection::Action::kRespond;
  if (result.version_unsupported) {
    rejection.status = 505;
    rejection.reason = kReasonVersionNotSupported;
  } else {
    rejection.status = 400;
    rejection.reason = result.reason();
  }
  return rejection;
}

ParseStatus CheckRequiredHeaders(const Message& message) {
  struct Rule {
    HeaderId id;
    const char* missing;  // nullptr: may be absent
    const char* multiple;
  };
  static constexpr Rule kRules[] = {
      {HeaderId::kTo, "Missing To", "Multiple To"},
      {HeaderId::kFrom, "Missing From", "Multiple From"},
      {HeaderId::kCallId, "Missing Call-ID", "Multiple Call-ID"},
      {HeaderId::kCSeq, "Missing CSeq", "Multiple CSeq"},
      {HeaderId::kVia, "Missing Via", nullptr},
      {HeaderId::kMaxForwards, nullptr, "Multiple Max-Forwards"},
  };
  std::array<uint8_t, static_cast<size_t>(HeaderId::kCount)> counts{};
  for (const HeaderField& field : message.headers()) {
    uint8_t& count = counts[static_cast<size_t>(field.id)];
    if (count < 2) ++count;
  }
  for (const Rule& rule : kRules) {
    const uint8_t count = counts[static_cast<size_t>(rule.id)];
    if (count == 0 && rule.missing != nullptr) return ParseStatus::Fail(rule.missing);
    if (count > 1 && rule.multiple != nullptr) return ParseStatus::Fail(rule.multiple);
  }
  return ParseStatus::Ok();
}

FrameResult FrameStream(std::string_view buffered, const FramingLimits& limits) {
  FrameResult result;
  const char* base = buffered.data();
  const size_t size = buffered.size();
  if (size == 0) return result;
  if (base[0] == '\r' || base[0] == '\n') {
    // RFC 5626 3.5.1 keep-alives and RFC 3261 7.5 CRLFs before a start line.
    size_t n = 0;
    while (n + 1 < size && base[n] == '\r' && base[n + 1] == '\n') n += 2;
    if (n > 0) {
      result.status = FrameResult::Status::kKeepAlive;
      result.size = n;
      return result;
    }
    if (base[0] == '\n' || size > 1) {
      result.status = FrameResult::Status::kError;
      result.reason = kReasonBadKeepAlive;
    }
    return result;
  }
  const size_t window = size < limits.max_header_bytes ? size : limits.max_header_bytes;
  const size_t end = std::string_view(base, window).find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (size >= limits.max_header_bytes) {
      result.status = FrameResult::Status::kError;
      result.reason = kReasonHeadersTooLarge;
    }
    return result;
  }
  const size_t header_end = end + 4;
  // Find Content-Length ("l") among the header lines, folds included.
  std::optional<uint32_t> length;
  size_t pos = static_cast<size_t>(static_cast<const char*>(std::memchr(base, '\n', header_end)) - base) + 1;
  while (pos < end + 2) {
    const auto* lf = static_cast<const char*>(std::memchr(base + pos, '\n', header_end - pos));
    size_t line_end = static_cast<size_t>(lf - base);
    size_t i = pos;
    while (i < line_end && IsChar(base[i], kTokenChar)) ++i;
    const std::string_view name(base + pos, i - pos);
    while (i < line_end && (base[i] == ' ' || base[i] == '\t')) ++i;
    const bool is_length =
        !name.empty() && i < line_end && base[i] == ':' && LookupHeaderName(name) == HeaderId::kContentLength;
    // The logical line runs on over continuation lines.
    while (line_end + 1 < end + 2 && (base[line_end + 1] == ' ' || base[line_end + 1] == '\t')) {
      line_end = static_cast<size_t>(
          static_cast<const char*>(std::memchr(base + line_end + 1, '\n', header_end - line_end - 1)) - base);
    }
    if (is_length) {
      uint32_t value = 0;
      if (!ParseContentLength(std::string_view(base + i + 1, line_end - i - 1), value)) {
        result.status = FrameResult::Status::kError;
        result.reason = kReasonBadContentLength;
        return result;
      }
      if (length && *length != value) {
        result.status = FrameResult::Status::kError;
        result.reason = kReasonConflictingContentLength;
        return result;
      }
      length = value;
    }
    pos = line_end + 1;
  }
  if (!length) {
    result.status = FrameResult::Status::kError;
    result.reason = kReasonMissingContentLength;
    return result;
  }
  if (*length > limits.max_body_bytes) {
    result.status = FrameResult::Status::kError;
    result.reason = kReasonBodyTooLarge;
    return result;
  }
  result.size = header_end + *length;
  result.status = size >= result.size ? FrameResult::Status::kMessage : FrameResult::Status::kNeedMore;
  return result;
}

}  // namespace linegate::signaling::sip
