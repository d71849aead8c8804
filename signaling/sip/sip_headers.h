#pragma once
// Typed views of the header fields a SIP stack needs (RFC 3261 section 20 and the
// grammar of 25.1). Each Parse* function reads one raw value (or one list element of
// a comma-separated header) as the parser stored it, folds included, and fills a
// struct of views into that value. None of them allocates.

#include <cstdint>
#include <string_view>

#include "signaling/sip/sip_text.h"
#include "signaling/sip/sip_uri.h"

namespace linegate::signaling::sip {

// Reason phrases, short enough for a 400 status line. Parsers return these pointers.
inline constexpr const char kReasonUnterminatedQuote[] = "Unterminated quoted string";
inline constexpr const char kReasonMalformedVia[] = "Malformed Via";
inline constexpr const char kReasonMalformedFrom[] = "Malformed From";
inline constexpr const char kReasonMalformedTo[] = "Malformed To";
inline constexpr const char kReasonMalformedContact[] = "Malformed Contact";
inline constexpr const char kReasonMalformedRoute[] = "Malformed Route";
inline constexpr const char kReasonMalformedRecordRoute[] = "Malformed Record-Route";
inline constexpr const char kReasonMalformedNameAddr[] = "Malformed name-addr";
inline constexpr const char kReasonBadCallId[] = "Bad Call-ID";
inline constexpr const char kReasonBadCSeq[] = "Bad CSeq";
inline constexpr const char kReasonBadMaxForwards[] = "Bad Max-Forwards";
inline constexpr const char kReasonBadContentLength[] = "Bad Content-Length";
inline constexpr const char kReasonBadContentType[] = "Bad Content-Type";
inline constexpr const char kReasonBadExpires[] = "Bad Expires";
inline constexpr const char kReasonBadMinExpires[] = "Bad Min-Expires";
inline constexpr const char kReasonBadRetryAfter[] = "Bad Retry-After";
inline constexpr const char kReasonBadDate[] = "Bad Date";

// name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route,
// Reply-To and the like (RFC 3261 20.10, 20.20, 20.39).
struct NameAddr {
  // As received: a quoted-string keeps its quotes and escapes, tokens keep their LWS.
  std::string_view display_name;
  Uri uri;
  bool angle_brackets = false;  // name-addr ("<...>") rather than addr-spec
  std::string_view params;      // raw params after the URI, without the first ';'
  std::string_view tag;         // value of the tag param, empty if absent
};
// Reads one name-addr / addr-spec followed by ;params. An addr-spec whose URI holds '?'
// is rejected: RFC 3261 20.10 requires <> then (RFC 4475 3.1.2.13).
ParseStatus ParseNameAddr(std::string_view value, NameAddr& out);

// One via-parm (RFC 3261 20.42, 18.2.1; rport from RFC 3581).
struct Via {
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS", ... as received
  std::string_view host;              // sent-by host; IPv6 keeps its brackets
  HostKind host_kind = HostKind::kNone;
  uint16_t port = 0;
  bool has_port = false;
  std::string_view branch;
  std::string_view received;
  std::string_view maddr;
  bool has_rport = false;
  uint16_t rport = 0;  // 0 when rport carries no value (a request asking for it)
  bool has_ttl = false;
  uint8_t ttl = 0;
  std::string_view params;  // raw, without the first ';'
};
ParseStatus ParseVia(std::string_view element, Via& out);
// Only sent-protocol and sent-by, ignoring what follows: where to send a 400 when the
// Via parameters are what is malformed (RFC 4475 3.1.2.1).
ParseStatus ParseViaSentBy(std::string_view element, Via& out);

// RFC 3261 20.16; 8.1.1.5: the number must fit 32 bits.
struct CSeq {
  uint32_t number = 0;
  std::string_view method;
};
ParseStatus ParseCSeq(std::string_view value, CSeq& out);

// callid = word [ "@" word ] (RFC 3261 20.8). out is the trimmed value.
ParseStatus ParseCallId(std::string_view value, std::string_view& out);

// RFC 3261 20.22: 0-255.
ParseStatus ParseMaxForwards(std::string_view value, uint8_t& out);

// RFC 3261 20.14: 1*DIGIT. Values above 2^32-1 are rejected (no sign, no overflow).
ParseStatus ParseContentLength(std::string_view value, uint32_t& out);

// delta-seconds for Expires and Min-Expires (RFC 3261 20.19, 20.23). Values above
// 2^32-1 saturate there: the grammar allows any digit string and clamping never makes
// a registration shorter than asked.
ParseStatus ParseDeltaSeconds(std::string_view value, uint32_t& out);

// RFC 3261 20.15: m-type "/" m-subtype *( ";" m-parameter ).
struct ContentType {
  std::string_view type;
  std::string_view subtype;
  std::string_view params;  // raw, without the first ';'
};
ParseStatus ParseContentType(std::string_view value, ContentType& out);

// One contact-param or "*" (RFC 3261 20.10).
struct Contact {
  bool wildcard = false;  // "Contact: *"
  NameAddr address;
  bool has_expires = false;
  uint32_t expires = 0;  // saturates like ParseDeltaSeconds
  std::string_view q;    // qvalue as received, empty if absent
};
ParseStatus ParseContact(std::string_view element, Contact& out);

// RFC 3261 20.33: delta-seconds [ comment ] *( ";" retry-param ).
struct RetryAfter {
  uint32_t seconds = 0;      // saturates like ParseDeltaSeconds
  std::string_view comment;  // with its parentheses
  std::string_view params;
};
ParseStatus ParseRetryAfter(std::string_view value, RetryAfter& out);

// RFC 3261 20.17, 25.1: rfc1123-date, which is always in "GMT" (RFC 4475 3.1.2.12).
ParseStatus ValidateDate(std::string_view value);

}  // namespace linegate::signaling::sip
