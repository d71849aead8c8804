#pragma once
// SIP, SIPS (RFC 3261 19.1, 25.1) and tel (RFC 3966) URIs as views over the text they
// were parsed from; any other scheme is kept as an opaque absoluteURI.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "signaling/sip/sip_text.h"

namespace linegate::signaling::sip {

enum class UriScheme : uint8_t { kSip, kSips, kTel, kOther };
enum class HostKind : uint8_t { kNone, kDomain, kIpv4, kIpv6 };

struct Uri {
  UriScheme scheme = UriScheme::kOther;
  std::string_view text;         // the whole URI as received
  std::string_view scheme_text;  // as received ("SIP" and "sip" are the same scheme)
  // sip/sips: user part, still %-escaped (see Unescape); tel: the telephone-subscriber
  // number without its parameters.
  std::string_view user;
  std::string_view password;
  std::string_view host;  // an IPv6 reference keeps its brackets
  HostKind host_kind = HostKind::kNone;
  uint16_t port = 0;
  bool has_port = false;
  std::string_view params;   // uri-parameters without the leading ';' (sip, sips, tel)
  std::string_view headers;  // after '?' (sip, sips)
  std::string_view opaque;   // everything after "scheme:" for other schemes

  bool IsSip() const { return scheme == UriScheme::kSip || scheme == UriScheme::kSips; }
  // Case-insensitive lookup in params (RFC 3261 19.1.4 compares parameter names so).
  std::optional<Param> FindParam(std::string_view name) const { return sip::FindParam(params, name); }
};

// Parses one URI with no surrounding whitespace. Every %-escape must be %HEXHEX.
ParseStatus ParseUri(std::string_view text, Uri& out);

// Decodes %HEXHEX escapes into buffer. Returns a view into buffer, or nullopt on a bad
// escape or a buffer too small. %00 decodes to a NUL octet: the result is a length-
// delimited view, never a C string (RFC 4475 3.1.1.4: do not truncate at NUL).
std::optional<std::string_view> Unescape(std::string_view escaped, std::span<char> buffer);

// Classifies a host: hostname, IPv4address or IPv6reference ("[...]"); kNone if it
// is none of them.
HostKind ClassifyHost(std::string_view host);
// IPv6address without brackets (used by the Via received parameter).
bool IsIpv6Address(std::string_view text);

}  // namespace linegate::signaling::sip
