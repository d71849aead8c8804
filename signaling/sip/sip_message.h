#pragma once
// A parsed SIP message (RFC 3261 section 7): views into the caller's receive buffer,
// a fixed-capacity header table and the typed values of the headers a stack needs.
// The buffer must outlive the Message. Parse() allocates nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "signaling/sip/sip_headers.h"
#include "signaling/sip/sip_text.h"
#include "signaling/sip/sip_uri.h"

namespace linegate::signaling::sip {

// Header table capacity; a message with more header lines is rejected ("Too many
// headers") rather than grown into.
inline constexpr size_t kMaxHeaders = 128;

enum class HeaderId : uint8_t {
  kUnknown = 0,
  kAccept,
  kAcceptContact,
  kAcceptEncoding,
  kAcceptLanguage,
  kAlertInfo,
  kAllow,
  kAllowEvents,
  kAuthenticationInfo,
  kAuthorization,
  kCallId,
  kCallInfo,
  kContact,
  kContentDisposition,
  kContentEncoding,
  kContentLanguage,
  kContentLength,
  kContentType,
  kCSeq,
  kDate,
  kErrorInfo,
  kEvent,
  kExpires,
  kFrom,
  kIdentity,
  kIdentityInfo,
  kInReplyTo,
  kMaxForwards,
  kMimeVersion,
  kMinExpires,
  kOrganization,
  kPriority,
  kProxyAuthenticate,
  kProxyAuthorization,
  kProxyRequire,
  kRecordRoute,
  kReferTo,
  kReferredBy,
  kRejectContact,
  kReplyTo,
  kRequestDisposition,
  kRequire,
  kRetryAfter,
  kRoute,
  kServer,
  kSessionExpires,
  kSubject,
  kSupported,
  kTimestamp,
  kTo,
  kUnsupported,
  kUserAgent,
  kVia,
  kWarning,
  kWwwAuthenticate,
  kCount,
};

// Canonical spelling ("Call-ID", "CSeq", "WWW-Authenticate"); empty for kUnknown.
std::string_view CanonicalHeaderName(HeaderId id);
// Case-insensitive; maps the compact forms of RFC 3261 7.3.3 and of the extensions
// that define one (Event "o", Allow-Events "u", Refer-To "r", Referred-By "b",
// Session-Expires "x", Accept-Contact "a", Reject-Contact "j", Request-Disposition
// "d", Identity "y", Identity-Info "n").
HeaderId LookupHeaderName(std::string_view name);

struct HeaderField {
  std::string_view name;   // as received
  std::string_view value;  // raw: LWS-trimmed at both ends, inner folds kept
  HeaderId id = HeaderId::kUnknown;
};

// How the message arrived, which decides framing (RFC 3261 18.3).
enum class Transport : uint8_t {
  kDatagram,  // UDP: bytes after Content-Length ignored; no Content-Length: body = rest
  kStream,    // TCP/TLS: Content-Length is mandatory; frame first with FrameStream()
};

struct [[nodiscard]] ParseResult {
  ParseStatus status;
  // The start line is "SIP/x.y" with a version other than 2.0 (answer 505).
  bool version_unsupported = false;
  // Every header line was read into the table, so the headers needed to answer a
  // malformed request can be copied (see DecideRejection).
  bool headers_complete = false;

  bool ok() const { return status.ok(); }
  std::string_view reason() const { return status.reason(); }
};

class Message {
 public:
  Message() = default;
  // Views into other objects: copying is fine, the buffer stays where it is.

  bool is_request() const { return is_request_; }
  // Request line.
  std::string_view method() const { return method_; }
  std::string_view request_uri_text() const { return request_uri_text_; }
  const Uri& request_uri() const { return request_uri_; }
  // Status line.
  uint16_t status_code() const { return status_code_; }
  std::string_view reason_phrase() const { return reason_phrase_; }
  std::string_view version() const { return version_; }

  std::span<const HeaderField> headers() const { return {headers_.data(), header_count_}; }
  const HeaderField* FindHeader(HeaderId id) const;
  // For unknown headers: case-insensitive match on the name as received, or on the
  // full/compact name of a known one.
  const HeaderField* FindHeader(std::string_view name) const;
  size_t CountHeaders(HeaderId id) const;

  std::string_view body() const { return body_; }
  // The octets of this message, start line to end of body (without trailing octets
  // of a datagram, RFC 3261 18.3).
  std::string_view raw() const { return raw_; }

  // Typed values, filled by a successful Parse() from the first instance of each
  // header (every instance was validated). Null / nullopt when the header is absent.
  const Via* top_via() const { return has_top_via_ ? &top_via_ : nullptr; }
  const NameAddr* from() const { return has_from_ ? &from_ : nullptr; }
  const NameAddr* to() const { return has_to_ ? &to_ : nullptr; }
  std::string_view call_id() const { return call_id_; }
  const CSeq* cseq() const { return has_cseq_ ? &cseq_ : nullptr; }
  std::optional<uint8_t> max_forwards() const { return max_forwards_; }
  std::optional<uint32_t> content_length() const { return content_length_; }
  const ContentType* content_type() const { return has_content_type_ ? &content_type_ : nullptr; }
  std::optional<uint32_t> expires() const { return expires_; }
  std::optional<uint32_t> min_expires() const { return min_expires_; }
  const RetryAfter* retry_after() const { return has_retry_after_ ? &retry_after_ : nullptr; }
  // Raw values, to be read by the authentication code (RFC 3261 22, RFC 7616).
  std::string_view www_authenticate() const { return RawValue(HeaderId::kWwwAuthenticate); }
  std::string_view proxy_authenticate() const { return RawValue(HeaderId::kProxyAuthenticate); }
  std::string_view authorization() const { return RawValue(HeaderId::kAuthorization); }
  std::string_view proxy_authorization() const { return RawValue(HeaderId::kProxyAuthorization); }

 private:
  friend ParseResult Parse(std::string_view data, Transport transport, Message& out);
  friend class MessageParser;

  std::string_view RawValue(HeaderId id) const {
    const HeaderField* field = FindHeader(id);
    return field == nullptr ? std::string_view() : field->value;
  }
  void Reset();

  std::string_view raw_;
  bool is_request_ = false;
  std::string_view method_;
  std::string_view request_uri_text_;
  Uri request_uri_;
  std::string_view version_;
  uint16_t status_code_ = 0;
  std::string_view reason_phrase_;
  std::string_view body_;

  size_t header_count_ = 0;
  std::array<HeaderField, kMaxHeaders> headers_;

  bool has_top_via_ = false;
  bool has_from_ = false;
  bool has_to_ = false;
  bool has_cseq_ = false;
  bool has_content_type_ = false;
  bool has_retry_after_ = false;
  Via top_via_;
  NameAddr from_;
  NameAddr to_;
  std::string_view call_id_;
  CSeq cseq_;
  std::optional<uint8_t> max_forwards_;
  std::optional<uint32_t> content_length_;
  ContentType content_type_;
  std::optional<uint32_t> expires_;
  std::optional<uint32_t> min_expires_;
  RetryAfter retry_after_;
};

// Parses one message. On success every typed header above is valid; on failure the
// result names the fault and, when headers_complete, the header table is filled so a
// 400/505 can still be built. data must stay alive and unchanged while out is used.
ParseResult Parse(std::string_view data, Transport transport, Message& out);

// Iterates the elements of a comma-separated header across all its instances in
// order (RFC 3261 7.3.1), respecting quotes and <>: Via, Contact, Route, Record-Route,
// Allow, Supported, Require... Not for headers whose commas are not list separators
// (WWW-Authenticate and the other credentials, Date).
class HeaderValueIterator {
 public:
  HeaderValueIterator(const Message& message, HeaderId id)
      : headers_(message.headers()), id_(id), list_("") {}
  bool Next(std::string_view& element);

 private:
  std::span<const HeaderField> headers_;
  HeaderId id_;
  size_t index_ = 0;
  ListIterator list_;
};

// What to do with a message that failed to parse (RFC 3261 8.2, 16.3; RFC 4475 3.1.2).
struct Rejection {
  enum class Action : uint8_t { kNone, kRespond, kDrop };
  Action action = Action::kNone;  // kNone: the message parsed, nothing to reject
  uint16_t status = 0;            // 400 or 505 when kRespond
  std::string_view reason;        // reason phrase for the response
};
// kRespond for a request whose start line, Via, From, To, Call-ID and CSeq can be
// located (the top Via's sent-by must parse, the rest is copied raw): 505 "Version Not Supported" for
// an unknown SIP version, else 400 with the parse fault as reason. kDrop for responses
// (RFC 4475 3.1.2.5, 3.1.2.19), for ACK (never answered), and for requests that
// cannot be answered.
Rejection DecideRejection(const Message& message, const ParseResult& result);

// Checks a message that parsed for what the transaction layer needs (RFC 3261 8.1.1,
// 8.2.2; RFC 4475 3.3.1, 3.3.8): To, From, CSeq, Call-ID and Via present, and To,
// From, CSeq, Call-ID, Max-Forwards present at most once. Fails with a reason usable
// in a 400 ("Missing Call-ID", "Multiple To"). Max-Forwards may be absent: RFC 2543
// peers do not send it (RFC 4475 3.4.1).
ParseStatus CheckRequiredHeaders(const Message& message);

// Stream framing (RFC 3261 18.3): the size of the next message in a TCP/TLS byte
// stream, with limits so that no buffer grows without bound.
struct FramingLimits {
  size_t max_header_bytes = 16 * 1024;  // start line + headers + empty line
  size_t max_body_bytes = 64 * 1024;
};
struct FrameResult {
  enum class Status : uint8_t {
    kNeedMore,   // read more; size is the total needed when already known, else 0
    kMessage,    // a whole message of size octets is at the front of the buffer
    kKeepAlive,  // size octets of CRLF keep-alive (RFC 5626 3.5.1) to discard
    kError,      // unrecoverable: close the connection
  };
  Status status = Status::kNeedMore;
  size_t size = 0;
  const char* reason = nullptr;
};
FrameResult FrameStream(std::string_view buffered, const FramingLimits& limits = FramingLimits());

}  // namespace linegate::signaling::sip
