#include "signaling/auth/digest_challenge.h"

#include <array>

namespace linegate::signaling::auth {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Walks one header value. Every method either consumes what it recognises or leaves the
// position unchanged and reports an error; there is no backtracking beyond that.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  size_t pos() const { return pos_; }
  char Peek() const { return text_[pos_]; }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // RFC 3261 25.1: LWS = [*WSP CRLF] 1*WSP; SWS = [LWS]. Skips any run of these (a folded
  // line: CRLF followed by whitespace). Returns whether anything was skipped.
  bool SkipLws() {
    const size_t start = pos_;
    for (;;) {
      if (pos_ < text_.size() && IsWsp(text_[pos_])) {
        ++pos_;
      } else if (pos_ + 2 < text_.size() && text_[pos_] == '\r' && text_[pos_ + 1] == '\n' &&
                 IsWsp(text_[pos_ + 2])) {
        pos_ += 3;
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  std::string_view ReadToken() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsTokenChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // RFC 3261 25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE, with
  // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F). Control characters other than HTAB
  // are refused even when escaped: no realm or nonce legitimately holds one, and echoing
  // them into our Authorization header would corrupt it. Folded LWS inside the string
  // becomes one SP (RFC 3261 7.3.1). Bytes >= 0x80 (UTF8-NONASCII) are kept as they are.
  Status ReadQuotedString(std::string& out) {
    if (AtEnd() || text_[pos_] != '"') return Fail("expected '\"'");
    size_t i = pos_ + 1;
    out.clear();
    while (i < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[i]);
      if (c == '"') {
        pos_ = i + 1;
        return Status::Ok();
      }
      if (c == '\\') {
        if (i + 1 >= text_.size()) break;
        const unsigned char escaped = static_cast<unsigned char>(text_[i + 1]);
        if (escaped >= 0x80) return FailAt(i, "quoted-pair escapes a non-ASCII byte");
        if ((escaped < 0x20 && escaped != '\t') || escaped == 0x7f) {
          return FailAt(i, "quoted-pair escapes a control character");
        }
        out.push_back(static_cast<char>(escaped));
        i += 2;
        continue;
      }
      if (c == '\r') {
        if (i + 2 < text_.size() && text_[i + 1] == '\n' && IsWsp(text_[i + 2])) {
          out.push_back(' ');
          i += 3;
          while (i < text_.size() && IsWsp(text_[i])) ++i;
          continue;
        }
        return FailAt(i, "CR inside quoted-string is not part of a folded line");
      }
      if ((c < 0x20 && c != '\t') || c == 0x7f) return FailAt(i, "control character inside quoted-string");
      out.push_back(static_cast<char>(c));
      ++i;
    }
    return FailAt(pos_, "unterminated quoted-string");
  }

  Status Fail(std::string_view what) const { return FailAt(pos_, what); }
  Status FailAt(size_t at, std::string_view what) const {
    return Error{"digest challenge: " + std::string(what) + " at offset " + std::to_string(at)};
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Splits a list of tokens separated by `separator` and/or whitespace, dropping empties.
std::vector<std::string> SplitList(std::string_view text, bool comma_separated) {
  std::vector<std::string> items;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (IsWsp(text[i]) || (comma_separated && text[i] == ','))) ++i;
    const size_t start = i;
    while (i < text.size() && !IsWsp(text[i]) && !(comma_separated && text[i] == ',')) ++i;
    if (i > start) items.emplace_back(text.substr(start, i - start));
  }
  return items;
}

Result<bool> ParseBoolean(std::string_view name, std::string_view value) {
  // RFC 7616 3.3: stale and userhash are "true" / "false", case-insensitive.
  if (EqualsIgnoreCase(value, "true")) return true;
  if (EqualsIgnoreCase(value, "false")) return false;
  return Error{"digest challenge: " + std::string(name) + " must be true or false, got \"" +
               std::string(value) + "\""};
}

enum Param : size_t { kRealm, kNonce, kOpaque, kStale, kAlgorithm, kQop, kDomain, kUserhash, kParamCount };
constexpr std::array<std::string_view, kParamCount> kParamNames = {
    "realm", "nonce", "opaque", "stale", "algorithm", "qop", "domain", "userhash"};

}  // namespace

std::string_view QopName(Qop qop) {
  switch (qop) {
    case Qop::kNone:
      return "";
    case Qop::kAuth:
      return "auth";
    case Qop::kAuthInt:
      return "auth-int";
  }
  return "";
}

bool DigestChallenge::OffersQop(Qop qop) const {
  for (const std::string& option : qop_options) {
    if (EqualsIgnoreCase(option, QopName(qop))) return true;
  }
  return false;
}

Result<DigestChallenge> ParseDigestChallenge(std::string_view header_value) {
  Cursor cursor(header_value);
  cursor.SkipLws();
  const std::string_view scheme = cursor.ReadToken();
  if (scheme.empty()) return Error{cursor.Fail("expected an authentication scheme").error()};
  if (!EqualsIgnoreCase(scheme, "Digest")) {
    return Error{"digest challenge: unsupported authentication scheme \"" + std::string(scheme) + "\""};
  }
  // RFC 3261 25.1: challenge = ("Digest" LWS digest-cln *(COMMA digest-cln)).
  if (!cursor.AtEnd() && !cursor.SkipLws()) {
    return Error{cursor.Fail("expected whitespace after the scheme").error()};
  }

  DigestChallenge challenge;
  std::array<bool, kParamCount> seen{};
  std::string value;
  bool need_separator = false;
  for (;;) {
    cursor.SkipLws();
    if (cursor.AtEnd()) break;
    // COMMA = SWS "," SWS. Empty elements (",,") are tolerated, as RFC 7230 7 asks of list
    // recipients; they carry nothing.
    if (cursor.Consume(',')) {
      need_separator = false;
      continue;
    }
    if (need_separator) return Error{cursor.Fail("expected ',' between parameters").error()};

    // auth-param = token EQUAL (token / quoted-string); names are case-insensitive.
    const size_t name_pos = cursor.pos();
    const std::string_view name = cursor.ReadToken();
    if (name.empty()) return Error{cursor.Fail("expected a parameter name").error()};
    cursor.SkipLws();
    if (!cursor.Consume('=')) {
      return Error{cursor.Fail("expected '=' after parameter \"" + std::string(name) + "\"").error()};
    }
    cursor.SkipLws();
    if (cursor.AtEnd()) {
      return Error{cursor.Fail("missing value of parameter \"" + std::string(name) + "\"").error()};
    }
    // The grammar fixes which parameters are quoted (realm, nonce, opaque, domain, qop) and
    // which are tokens (stale, algorithm, userhash); deployed servers get this wrong both
    // ways, and either form is unambiguous, so both are accepted for every parameter.
    if (cursor.Peek() == '"') {
      Status quoted = cursor.ReadQuotedString(value);
      if (!quoted.ok()) return Error{quoted.error()};
    } else {
      const std::string_view token = cursor.ReadToken();
      if (token.empty()) {
        return Error{cursor.Fail("invalid value of parameter \"" + std::string(name) + "\"").error()};
      }
      value.assign(token);
    }
    need_separator = true;

    size_t param = kParamCount;
    for (size_t i = 0; i < kParamCount; ++i) {
      if (EqualsIgnoreCase(name, kParamNames[i])) param = i;
    }
    if (param == kParamCount) continue;  // RFC 7616 3.3: unknown auth-params are ignored.
    if (seen[param]) {
      // A repeated parameter is ambiguous (which realm did the server mean?); refuse it.
      return Error{
          cursor.FailAt(name_pos, "duplicate parameter \"" + std::string(kParamNames[param]) + "\"").error()};
    }
    seen[param] = true;
    switch (static_cast<Param>(param)) {
      case kRealm:
        challenge.realm = value;
        break;
      case kNonce:
        challenge.nonce = value;
        break;
      case kOpaque:
        challenge.opaque = value;
        break;
      case kStale: {
        Result<bool> stale = ParseBoolean("stale", value);
        if (!stale.ok()) return Error{stale.error()};
        challenge.stale = *stale;
        break;
      }
      case kAlgorithm:
        challenge.algorithm_token = value;
        challenge.algorithm = ParseAlgorithm(value);  // nullopt: unsupported, skipped later
        break;
      case kQop:
        challenge.qop_options = SplitList(value, /*comma_separated=*/true);
        break;
      case kDomain:
        challenge.domain = SplitList(value, /*comma_separated=*/false);
        break;
      case kUserhash: {
        Result<bool> userhash = ParseBoolean("userhash", value);
        if (!userhash.ok()) return Error{userhash.error()};
        challenge.userhash = *userhash;
        break;
      }
      case kParamCount:
        break;
    }
  }

  // RFC 3261 25.1 / RFC 7616 3.3: realm and nonce are mandatory in a Digest challenge.
  if (!seen[kRealm]) return Error{"digest challenge: missing realm"};
  if (!seen[kNonce]) return Error{"digest challenge: missing nonce"};
  if (seen[kQop] && challenge.qop_options.empty()) return Error{"digest challenge: empty qop list"};
  return challenge;
}

std::optional<Qop> ChooseQop(const DigestChallenge& challenge) {
  if (challenge.qop_options.empty()) return Qop::kNone;
  // auth is preferred to auth-int: it does not need the body, and SIP registrars offer it.
  if (challenge.OffersQop(Qop::kAuth)) return Qop::kAuth;
  if (challenge.OffersQop(Qop::kAuthInt)) return Qop::kAuthInt;
  return std::nullopt;
}

bool IsSupported(const DigestChallenge& challenge) {
  if (!challenge.algorithm) return false;
  const std::optional<Qop> qop = ChooseQop(challenge);
  // RFC 7616 3.4.2: a -sess HA1 hashes the cnonce, which is sent only with a qop.
  return qop && !(*qop == Qop::kNone && IsSessionAlgorithm(*challenge.algorithm));
}

std::optional<size_t> SelectChallenge(std::span<const DigestChallenge> challenges) {
  std::optional<size_t> best;
  auto rank = [](const DigestChallenge& c) {
    return AlgorithmStrength(*c.algorithm) * 2 + (*ChooseQop(c) != Qop::kNone ? 1 : 0);
  };
  for (size_t i = 0; i < challenges.size(); ++i) {
    if (!IsSupported(challenges[i])) continue;
    if (!best || rank(challenges[i]) > rank(challenges[*best])) best = i;
  }
  return best;
}

}  // namespace linegate::signaling::auth
