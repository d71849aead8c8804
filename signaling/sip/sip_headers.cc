#include "signaling/sip/sip_headers.h"

#include <limits>

namespace linegate::signaling::sip {
namespace {

constexpr uint64_t kMaxUint32 = std::numeric_limits<uint32_t>::max();

bool AllTokenChars(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsChar(c, kTokenChar)) return false;
  }
  return true;
}

// gen-value = token / host / quoted-string (RFC 3261 25.1). Unbracketed IPv6 is taken
// too, for the received parameter (via-received = IPv4address / IPv6address).
ParseStatus TakeGenValue(Scanner& s, std::string_view& value, const char* reason) {
  if (s.Peek() == '"') {
    if (!s.TakeQuotedString(value)) return ParseStatus::Fail(kReasonUnterminatedQuote);
    return ParseStatus::Ok();
  }
  // One scan that also notes whether the value is a plain token (the usual case, as
  // for branch and tag), so only the rare others are classified as hosts.
  const char* start = s.pos();
  bool all_token = true;
  while (!s.AtEnd()) {
    const char c = s.Peek();
    if (!IsChar(c, kTokenChar)) {
      if (c != ':' && c != '[' && c != ']') break;
      all_token = false;
    }
    s.Advance();
  }
  value = std::string_view(start, static_cast<size_t>(s.pos() - start));
  if (value.empty()) return ParseStatus::Fail(reason);
  if (!all_token && ClassifyHost(value) == HostKind::kNone && !IsIpv6Address(value)) {
    return ParseStatus::Fail(reason);
  }
  return ParseStatus::Ok();
}

// *( SEMI generic-param ) up to the end of the element. visit(param) returns false to
// reject a parameter whose value breaks its own grammar.
template <typename Visit>
ParseStatus ParseParams(Scanner& s, std::string_view& raw, const char* reason, Visit&& visit) {
  const char* begin = nullptr;
  while (true) {
    s.SkipLws();
    if (s.AtEnd()) break;
    if (!s.Consume(';')) return ParseStatus::Fail(reason);
    s.SkipLws();
    if (begin == nullptr) begin = s.pos();
    Param param;
    param.name = s.TakeWhile(kTokenChar);
    if (param.name.empty()) return ParseStatus::Fail(reason);
    if (s.ConsumeSeparator('=')) {
      param.has_value = true;
      if (auto status = TakeGenValue(s, param.value, reason); !status) return status;
    }
    if (!visit(param)) return ParseStatus::Fail(reason);
  }
  raw = begin == nullptr ? std::string_view()
                         : TrimLws(std::string_view(begin, static_cast<size_t>(s.end() - begin)));
  return ParseStatus::Ok();
}

bool IsQValue(std::string_view q) {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return false;
  if (q.size() == 1) return true;
  if (q[1] != '.' || q.size() > 5) return false;
  for (size_t i = 2; i < q.size(); ++i) {
    if (!IsChar(q[i], kDigitChar)) return false;
    if (q[0] == '1' && q[i] != '0') return false;
  }
  return true;
}

bool IsDigits(std::string_view text, size_t count) {
  if (text.size() != count) return false;
  for (char c : text) {
    if (!IsChar(c, kDigitChar)) return false;
  }
  return true;
}

bool OneOf(std::string_view text, std::string_view names) {
  // names is a list of three-letter names
  for (size_t i = 0; i + 3 <= names.size(); i += 3) {
    if (text == names.substr(i, 3)) return true;
  }
  return false;
}

}  // namespace

namespace {
// ParseNameAddr, also showing every header parameter to visit (ParseContact reads
// expires and q there instead of walking the parameters a second time).
template <typename Visit>
ParseStatus ParseNameAddrWith(std::string_view value, NameAddr& out, Visit&& visit) {
  out = NameAddr{};
  const auto malformed = ParseStatus::Fail(kReasonMalformedNameAddr);
  Scanner s(value);
  s.SkipLws();
  if (s.AtEnd()) return malformed;
  const char* start = s.pos();
  if (s.Peek() == '"') {
    if (!s.TakeQuotedString(out.display_name)) return ParseStatus::Fail(kReasonUnterminatedQuote);
    s.SkipLws();
    if (!s.Consume('<')) return malformed;
    out.angle_brackets = true;
  } else if (s.Consume('<')) {
    out.angle_brackets = true;
  } else {
    // display-name = *(token LWS); RFC 4475 3.1.1.6 asks to accept no LWS before '<'.
    Scanner lookahead = s;
    const char* last_token_end = nullptr;
    while (!lookahead.TakeWhile(kTokenChar).empty()) {
      last_token_end = lookahead.pos();
      lookahead.SkipLws();
    }
    if (last_token_end != nullptr && lookahead.Peek() == '<') {
      out.display_name = std::string_view(start, static_cast<size_t>(last_token_end - start));
      s = lookahead;
      s.Advance();
      out.angle_brackets = true;
    }
  }
  if (out.angle_brackets) {
    const std::string_view uri_text = s.TakeUntil('>');
    if (!s.Consume('>')) return malformed;
    if (!ParseUri(uri_text, out.uri)) return malformed;
  } else {
    // addr-spec: the URI ends where header params, a list comma or LWS begin.
    const char* uri_start = s.pos();
    while (!s.AtEnd() && s.Peek() != ';' && s.Peek() != ',' && !IsChar(s.Peek(), kLwsChar)) s.Advance();
    const std::string_view uri_text(uri_start, static_cast<size_t>(s.pos() - uri_start));
    if (uri_text.find('?') != std::string_view::npos) return malformed;
    if (!ParseUri(uri_text, out.uri)) return malformed;
  }
  return ParseParams(s, out.params, kReasonMalformedNameAddr, [&out, &visit](const Param& param) {
    if (EqualsIgnoreCase(param.name, "tag")) {
      if (!AllTokenChars(param.value)) return false;
      out.tag = param.value;
    }
    visit(param);
    return true;
  });
}
}  // namespace

ParseStatus ParseNameAddr(std::string_view value, NameAddr& out) {
  return ParseNameAddrWith(value, out, [](const Param&) {});
}

namespace {
// sent-protocol LWS sent-by, leaving the scanner on what follows.
ParseStatus ParseSentBy(Scanner& s, Via& out) {
  out = Via{};
  const auto malformed = ParseStatus::Fail(kReasonMalformedVia);
  s.SkipLws();
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  out.protocol_name = s.TakeWhile(kTokenChar);
  if (out.protocol_name.empty() || !s.ConsumeSeparator('/')) return malformed;
  out.protocol_version = s.TakeWhile(kTokenChar);
  if (out.protocol_version.empty() || !s.ConsumeSeparator('/')) return malformed;
  out.transport = s.TakeWhile(kTokenChar);
  if (out.transport.empty() || !s.SkipLws()) return malformed;
  // sent-by = host [ COLON port ]
  if (s.Peek() == '[') {
    const char* host_start = s.pos();
    s.TakeUntil(']');
    if (!s.Consume(']')) return malformed;
    out.host = std::string_view(host_start, static_cast<size_t>(s.pos() - host_start));
  } else {
    out.host = s.TakeWhile(kHostChar);
  }
  out.host_kind = ClassifyHost(out.host);
  if (out.host_kind == HostKind::kNone) return malformed;
  if (s.ConsumeSeparator(':')) {
    uint64_t port = 0;
    if (!ParseDecimal(s.TakeWhile(kDigitChar), 65535, port)) return malformed;
    out.port = static_cast<uint16_t>(port);
    out.has_port = true;
  }
  return ParseStatus::Ok();
}
}  // namespace

ParseStatus ParseViaSentBy(std::string_view element, Via& out) {
  Scanner s(element);
  return ParseSentBy(s, out);
}

ParseStatus ParseVia(std::string_view element, Via& out) {
  Scanner s(element);
  if (auto status = ParseSentBy(s, out); !status) return status;
  return ParseParams(s, out.params, kReasonMalformedVia, [&out](const Param& param) {
    if (EqualsIgnoreCase(param.name, "branch")) {
      if (!AllTokenChars(param.value)) return false;
      out.branch = param.value;
    } else if (EqualsIgnoreCase(param.name, "received")) {
      const HostKind kind = ClassifyHost(param.value);
      if (kind != HostKind::kIpv4 && kind != HostKind::kIpv6 && !IsIpv6Address(param.value)) return false;
      out.received = param.value;
    } else if (EqualsIgnoreCase(param.name, "rport")) {
      // RFC 3581 3: "rport" without a value in requests, with the port in responses.
      out.has_rport = true;
      if (param.has_value) {
        uint64_t port = 0;
        if (!ParseDecimal(param.value, 65535, port) || port == 0) return false;
        out.rport = static_cast<uint16_t>(port);
      }
    } else if (EqualsIgnoreCase(param.name, "maddr")) {
      if (ClassifyHost(param.value) == HostKind::kNone) return false;
      out.maddr = param.value;
    } else if (EqualsIgnoreCase(param.name, "ttl")) {
      uint64_t ttl = 0;
      if (!ParseDecimal(param.value, 255, ttl)) return false;
      out.has_ttl = true;
      out.ttl = static_cast<uint8_t>(ttl);
    }
    return true;
  });
}

ParseStatus ParseCSeq(std::string_view value, CSeq& out) {
  out = CSeq{};
  Scanner s(value);
  s.SkipLws();
  uint64_t number = 0;
  if (!ParseDecimal(s.TakeWhile(kDigitChar), kMaxUint32, number)) return ParseStatus::Fail(kReasonBadCSeq);
  if (!s.SkipLws()) return ParseStatus::Fail(kReasonBadCSeq);
  out.method = s.TakeWhile(kTokenChar);
  s.SkipLws();
  if (out.method.empty() || !s.AtEnd()) return ParseStatus::Fail(kReasonBadCSeq);
  out.number = static_cast<uint32_t>(number);
  return ParseStatus::Ok();
}

ParseStatus ParseCallId(std::string_view value, std::string_view& out) {
  out = TrimLws(value);
  const size_t at = out.find('@');
  const std::string_view first = out.substr(0, at);
  const std::string_view second = at == std::string_view::npos ? std::string_view("x") : out.substr(at + 1);
  for (std::string_view word : {first, second}) {
    if (word.empty()) return ParseStatus::Fail(kReasonBadCallId);
    for (char c : word) {
      if (!IsChar(c, kWordChar)) return ParseStatus::Fail(kReasonBadCallId);
    }
  }
  return ParseStatus::Ok();
}

ParseStatus ParseMaxForwards(std::string_view value, uint8_t& out) {
  uint64_t number = 0;
  if (!ParseDecimal(TrimLws(value), 255, number)) return ParseStatus::Fail(kReasonBadMaxForwards);
  out = static_cast<uint8_t>(number);
  return ParseStatus::Ok();
}

ParseStatus ParseContentLength(std::string_view value, uint32_t& out) {
  uint64_t number = 0;
  if (!ParseDecimal(TrimLws(value), kMaxUint32, number)) return ParseStatus::Fail(kReasonBadContentLength);
  out = static_cast<uint32_t>(number);
  return ParseStatus::Ok();
}

ParseStatus ParseDeltaSeconds(std::string_view value, uint32_t& out) {
  uint64_t number = 0;
  if (!ParseDecimalSaturating(TrimLws(value), kMaxUint32, number))
    return ParseStatus::Fail(kReasonBadExpires);
  out = static_cast<uint32_t>(number);
  return ParseStatus::Ok();
}

ParseStatus ParseContentType(std::string_view value, ContentType& out) {
  out = ContentType{};
  Scanner s(value);
  s.SkipLws();
  out.type = s.TakeWhile(kTokenChar);
  if (out.type.empty() || !s.ConsumeSeparator('/')) return ParseStatus::Fail(kReasonBadContentType);
  out.subtype = s.TakeWhile(kTokenChar);
  if (out.subtype.empty()) return ParseStatus::Fail(kReasonBadContentType);
  // m-parameter = m-attribute EQUAL m-value: the value is mandatory.
  return ParseParams(s, out.params, kReasonBadContentType,
                     [](const Param& param) { return param.has_value; });
}

ParseStatus ParseContact(std::string_view element, Contact& out) {
  out = Contact{};
  if (TrimLws(element) == "*") {
    out.wildcard = true;
    return ParseStatus::Ok();
  }
  // expires and q are read while the name-addr parameters are validated, in the same
  // order; a bad value only counts once the name-addr as a whole parsed, so that an
  // unterminated quote later on keeps its own reason.
  bool bad_param = false;
  const auto status = ParseNameAddrWith(element, out.address, [&out, &bad_param](const Param& param) {
    if (bad_param) return;
    if (EqualsIgnoreCase(param.name, "expires")) {
      uint64_t seconds = 0;
      if (!ParseDecimalSaturating(param.value, kMaxUint32, seconds)) {
        bad_param = true;
        return;
      }
      out.has_expires = true;
      out.expires = static_cast<uint32_t>(seconds);
    } else if (EqualsIgnoreCase(param.name, "q")) {
      if (!IsQValue(param.value)) {
        bad_param = true;
        return;
      }
      out.q = param.value;
    }
  });
  if (!status) {
    // As before the merge, a name-addr that fails leaves no expires or q behind.
    out.has_expires = false;
    out.expires = 0;
    out.q = {};
    return status.reason() == kReasonUnterminatedQuote ? status : ParseStatus::Fail(kReasonMalformedContact);
  }
  if (bad_param) return ParseStatus::Fail(kReasonMalformedContact);
  return ParseStatus::Ok();
}

ParseStatus ParseRetryAfter(std::string_view value, RetryAfter& out) {
  out = RetryAfter{};
  const auto bad = ParseStatus::Fail(kReasonBadRetryAfter);
  Scanner s(value);
  s.SkipLws();
  uint64_t seconds = 0;
  if (!ParseDecimalSaturating(s.TakeWhile(kDigitChar), kMaxUint32, seconds)) return bad;
  out.seconds = static_cast<uint32_t>(seconds);
  s.SkipLws();
  if (s.Peek() == '(') {
    // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, nested: counted, not
    // recursed, so hostile nesting costs no stack.
    const char* start = s.pos();
    size_t depth = 0;
    while (!s.AtEnd()) {
      const char c = s.Peek();
      s.Advance();
      if (c == '\\') {
        s.Advance();
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (--depth == 0) break;
      }
    }
    if (depth != 0) return bad;
    out.comment = std::string_view(start, static_cast<size_t>(s.pos() - start));
  }
  return ParseParams(s, out.params, kReasonBadRetryAfter, [](const Param&) { return true; });
}

ParseStatus ValidateDate(std::string_view value) {
  // rfc1123-date = wkday "," SP date1 SP time SP "GMT"; date1 = 2DIGIT SP month SP 4DIGIT
  const std::string_view date = TrimLws(value);
  const auto bad = ParseStatus::Fail(kReasonBadDate);
  if (date.size() != 29) return bad;
  if (!OneOf(date.substr(0, 3), "MonTueWedThuFriSatSun") || date.substr(3, 2) != ", ") return bad;
  if (!IsDigits(date.substr(5, 2), 2) || date[7] != ' ') return bad;
  if (!OneOf(date.substr(8, 3), "JanFebMarAprMayJunJulAugSepOctNovDec") || date[11] != ' ') return bad;
  if (!IsDigits(date.substr(12, 4), 4) || date[16] != ' ') return bad;
  if (!IsDigits(date.substr(17, 2), 2) || date[19] != ':' || !IsDigits(date.substr(20, 2), 2) ||
      date[22] != ':' || !IsDigits(date.substr(23, 2), 2)) {
    return bad;
  }
  if (date.substr(25) != " GMT") return bad;
  return ParseStatus::Ok();
}

}  // namespace linegate::signaling::sip
