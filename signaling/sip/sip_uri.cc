#include "signaling/sip/sip_uri.h"

#include <arpa/inet.h>

#include <cstring>

namespace linegate::signaling::sip {
namespace {

constexpr const char kMalformedUri[] = "Malformed URI";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when text is 1*(allowed / escaped), or *(...) when empty_ok.
bool AllEscapedOr(std::string_view text, uint16_t allowed, bool empty_ok) {
  if (text.empty()) return empty_ok;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      if (HexValue(text[i + 1]) < 0 || HexValue(text[i + 2]) < 0) return false;
      i += 2;
      continue;
    }
    if (!IsChar(c, allowed)) return false;
  }
  return true;
}

bool IsHostname(std::string_view text) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; labels are alphanum / "-", not
  // empty, neither starting nor ending in "-"; the toplabel starts with ALPHA. One
  // pass, remembering the previous octet ('.' at a label start) and the first octet
  // of the current label.
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return false;
  char prev = '.';
  char label_first = '\0';
  for (char c : text) {
    if (c == '.') {
      if (prev == '.' || prev == '-') return false;  // empty label, or ends in '-'
    } else if (c == '-') {
      if (prev == '.') return false;  // starts with '-'
    } else if (IsChar(c, kAlnumChar)) {
      if (prev == '.') label_first = c;
    } else {
      return false;
    }
    prev = c;
  }
  if (prev == '.' || prev == '-') return false;
  return (label_first >= 'a' && label_first <= 'z') || (label_first >= 'A' && label_first <= 'Z');
}

// True when text[i] starts a valid escape: '%' HEXDIG HEXDIG inside text.
bool ValidEscapeAt(std::string_view text, size_t i) {
  return i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0;
}

// user-param parts of RFC 3261 25.1: 1*paramchar [ "=" 1*paramchar ] separated by ';'
// (paramchar being param-unreserved / unreserved / escaped). One pass instead of a
// split at ';' and '=' per parameter.
bool ValidSipParams(std::string_view params) {
  size_t run = 0;         // paramchars in the current name or value
  bool in_value = false;  // an '=' was seen in the current parameter
  for (size_t i = 0; i < params.size(); ++i) {
    const char c = params[i];
    if (IsChar(c, kParamChar)) {
      ++run;
    } else if (c == '%') {
      if (!ValidEscapeAt(params, i)) return false;
      i += 2;
      ++run;
    } else if (c == '=' && !in_value && run != 0) {
      in_value = true;
      run = 0;
    } else if (c == ';' && run != 0) {
      in_value = false;
      run = 0;
    } else {
      return false;
    }
  }
  return run != 0;
}

// headers = "?" header *( "&" header ); header = hname "=" hvalue
bool ValidSipHeaders(std::string_view headers) {
  size_t start = 0;
  while (true) {
    size_t amp = headers.find('&', start);
    if (amp == std::string_view::npos) amp = headers.size();
    const std::string_view header = headers.substr(start, amp - start);
    const size_t eq = header.find('=');
    if (eq == std::string_view::npos) return false;
    if (!AllEscapedOr(header.substr(0, eq), kHeaderChar, false) ||
        !AllEscapedOr(header.substr(eq + 1), kHeaderChar, true)) {
      return false;
    }
    if (amp == headers.size()) return true;
    start = amp + 1;
  }
}

ParseStatus ParseSipUri(std::string_view rest, Uri& uri) {
  std::string_view host_part = rest;
  // '@' may appear in no other part of a SIP URI (params and headers escape it), so the
  // first '@' ends the userinfo, even when the user part holds ';' or '?' (RFC 4475
  // 3.1.1.2, 3.1.1.9).
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    host_part = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    uri.user = userinfo.substr(0, colon);
    if (!AllEscapedOr(uri.user, kUserChar, false)) return ParseStatus::Fail(kMalformedUri);
    if (colon != std::string_view::npos) {
      uri.password = userinfo.substr(colon + 1);
      if (!AllEscapedOr(uri.password, kPasswordChar, true)) return ParseStatus::Fail(kMalformedUri);
    }
  }
  size_t pos = 0;
  if (!host_part.empty() && host_part.front() == '[') {
    const size_t close = host_part.find(']');
    if (close == std::string_view::npos) return ParseStatus::Fail(kMalformedUri);
    pos = close + 1;
  } else {
    while (pos < host_part.size() && IsChar(host_part[pos], kHostChar)) ++pos;
  }
  uri.host = host_part.substr(0, pos);
  uri.host_kind = ClassifyHost(uri.host);
  if (uri.host_kind == HostKind::kNone) return ParseStatus::Fail(kMalformedUri);
  if (pos < host_part.size() && host_part[pos] == ':') {
    const size_t start = ++pos;
    while (pos < host_part.size() && IsChar(host_part[pos], kDigitChar)) ++pos;
    uint64_t port = 0;
    if (!ParseDecimal(host_part.substr(start, pos - start), 65535, port)) {
      return ParseStatus::Fail(kMalformedUri);
    }
    uri.port = static_cast<uint16_t>(port);
    uri.has_port = true;
  }
  if (pos < host_part.size() && host_part[pos] == ';') {
    const size_t start = ++pos;
    size_t question = host_part.find('?', start);
    if (question == std::string_view::npos) question = host_part.size();
    uri.params = host_part.substr(start, question - start);
    if (!ValidSipParams(uri.params)) return ParseStatus::Fail(kMalformedUri);
    pos = question;
  }
  if (pos < host_part.size() && host_part[pos] == '?') {
    uri.headers = host_part.substr(pos + 1);
    if (!ValidSipHeaders(uri.headers)) return ParseStatus::Fail(kMalformedUri);
    pos = host_part.size();
  }
  if (pos != host_part.size()) return ParseStatus::Fail(kMalformedUri);
  return ParseStatus::Ok();
}

// RFC 3966 3: telephone-subscriber = global-number / local-number, then parameters.
ParseStatus ParseTelUri(std::string_view rest, Uri& uri) {
  const size_t semi = rest.find(';');
  const std::string_view number = rest.substr(0, semi);
  uri.user = number;
  if (number.empty()) return ParseStatus::Fail(kMalformedUri);
  const bool global = number.front() == '+';
  bool has_digit = false;
  for (size_t i = global ? 1 : 0; i < number.size(); ++i) {
    const char c = number[i];
    const bool visual = c == '-' || c == '.' || c == '(' || c == ')';
    if (IsChar(c, kDigitChar)) {
      has_digit = true;
    } else if (!global && (IsChar(c, kHexChar) || c == '*' || c == '#')) {
      has_digit = true;
    } else if (!visual) {
      return ParseStatus::Fail(kMalformedUri);
    }
  }
  if (!has_digit) return ParseStatus::Fail(kMalformedUri);
  bool has_context = false;
  if (semi != std::string_view::npos) {
    uri.params = rest.substr(semi + 1);
    size_t start = 0;
    while (true) {
      size_t next = uri.params.find(';', start);
      if (next == std::string_view::npos) next = uri.params.size();
      const std::string_view param = uri.params.substr(start, next - start);
      const size_t eq = param.find('=');
      const std::string_view name = param.substr(0, eq);
      if (name.empty()) return ParseStatus::Fail(kMalformedUri);
      for (char c : name) {
        if (!IsChar(c, kAlnumChar) && c != '-') return ParseStatus::Fail(kMalformedUri);
      }
      if (eq != std::string_view::npos && !AllEscapedOr(param.substr(eq + 1), kParamChar, false)) {
        return ParseStatus::Fail(kMalformedUri);
      }
      if (EqualsIgnoreCase(name, "phone-context")) has_context = true;
      if (next == uri.params.size()) break;
      start = next + 1;
    }
  }
  // RFC 3966 5.1.5: a local number is only meaningful with its phone-context.
  if (!global && !has_context) return ParseStatus::Fail(kMalformedUri);
  return ParseStatus::Ok();
}

}  // namespace

bool IsIpv6Address(std::string_view text) {
  char buffer[64];
  if (text.empty() || text.size() >= sizeof(buffer)) return false;
  for (char c : text) {
    if (!IsChar(c, kHexChar) && c != ':' && c != '.') return false;
  }
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  unsigned char address[16];
  return inet_pton(AF_INET6, buffer, address) == 1;
}

HostKind ClassifyHost(std::string_view host) {
  if (host.empty()) return HostKind::kNone;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return HostKind::kNone;
    return IsIpv6Address(host.substr(1, host.size() - 2)) ? HostKind::kIpv6 : HostKind::kNone;
  }
  // Only digits and dots: IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT,
  // each at most 255, checked in the same pass. Any other octet: a hostname.
  int dots = 0;
  int digits = 0;
  unsigned value = 0;
  bool ipv4 = true;
  for (char c : host) {
    const auto digit = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
    if (digit <= 9) {
      ipv4 = ipv4 && ++digits <= 3;
      value = ipv4 ? value * 10 + digit : 0;
    } else if (c == '.') {
      ipv4 = ipv4 && digits != 0 && value <= 255;
      ++dots;
      digits = 0;
      value = 0;
    } else {
      return IsHostname(host) ? HostKind::kDomain : HostKind::kNone;
    }
  }
  return ipv4 && dots == 3 && digits != 0 && value <= 255 ? HostKind::kIpv4 : HostKind::kNone;
}

ParseStatus ParseUri(std::string_view text, Uri& out) {
  out = Uri{};
  out.text = text;
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return ParseStatus::Fail(kMalformedUri);
  out.scheme_text = text.substr(0, colon);
  const char first = out.scheme_text.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) {
    return ParseStatus::Fail(kMalformedUri);
  }
  for (char c : out.scheme_text) {
    if (!IsChar(c, kSchemeChar)) return ParseStatus::Fail(kMalformedUri);
  }
  const std::string_view rest = text.substr(colon + 1);
  if (EqualsIgnoreCase(out.scheme_text, "sip")) {
    out.scheme = UriScheme::kSip;
    return ParseSipUri(rest, out);
  }
  if (EqualsIgnoreCase(out.scheme_text, "sips")) {
    out.scheme = UriScheme::kSips;
    return ParseSipUri(rest, out);
  }
  if (EqualsIgnoreCase(out.scheme_text, "tel")) {
    out.scheme = UriScheme::kTel;
    return ParseTelUri(rest, out);
  }
  // absoluteURI = scheme ":" ( hier-part / opaque-part ), both made of uric.
  out.scheme = UriScheme::kOther;
  out.opaque = rest;
  if (!AllEscapedOr(rest, kUricChar, false)) return ParseStatus::Fail(kMalformedUri);
  return ParseStatus::Ok();
}

std::optional<std::string_view> Unescape(std::string_view escaped, std::span<char> buffer) {
  size_t out = 0;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (out == buffer.size()) return std::nullopt;
    char c = escaped[i];
    if (c == '%') {
      if (i + 2 >= escaped.size()) return std::nullopt;
      const int high = HexValue(escaped[i + 1]);
      const int low = HexValue(escaped[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    buffer[out++] = c;
  }
  return std::string_view(buffer.data(), out);
}

}  // namespace linegate::signaling::sip
