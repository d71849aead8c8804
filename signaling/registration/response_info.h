#pragma once
// What the registration client needs from the final response to a REGISTER or OPTIONS,
// copied out of the parsed message so that it outlives the receive buffer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling::registration {

struct ResponseInfo {
  // The final status code; 0 when there was no response (timeout or transport error).
  int status_code = 0;
  // The reason phrase, or, without a response, what went wrong.
  std::string reason;
  // With status_code 0: true for a transaction timeout (RFC 3261 17.1.2.2 Timer F),
  // false for a transport error (RFC 3261 17.1.4).
  bool timed_out = false;
  // With status_code 0: the request never left, refused by this gateway itself (its
  // transaction table full). Not the proxy's fault: no failover, a short retry.
  bool local_refusal = false;

  // Every WWW-Authenticate / Proxy-Authenticate value, one challenge each (RFC 3261 7.3.1:
  // these headers are never comma-combined).
  std::vector<std::string> www_authenticate;
  std::vector<std::string> proxy_authenticate;
  // The Expires header (RFC 3261 20.19).
  std::optional<uint32_t> expires;
  // Our binding in a 2xx: whether our Contact was listed, and its expires param
  // (RFC 3261 10.2.4: the registrar returns every current binding of the AOR).
  bool contact_listed = false;
  std::optional<uint32_t> contact_expires;
  // Min-Expires of a 423 (RFC 3261 20.23, 10.2.8).
  std::optional<uint32_t> min_expires;
  // Retry-After seconds (RFC 3261 20.33), of a 503 in particular.
  std::optional<uint32_t> retry_after;

  bool has_response() const { return status_code != 0; }
  bool IsSuccess() const { return status_code >= 200 && status_code < 300; }

  static ResponseInfo Timeout(std::string reason = "Request Timeout (no response)");
  static ResponseInfo TransportError(std::string reason);
  static ResponseInfo LocalRefusal(std::string reason);
};

// Reads a parsed final response. `our_contact` names the Contact whose expires param is
// wanted, as "user@host:port" (a "sip:" URI or "<...>" is accepted too). Contact URIs match
// when user (case-sensitive), host (case-insensitive) and port (5060 when absent, 5061
// for sips) are equal; URI parameters are ignored. A request yields status_code 0.
ResponseInfo ExtractResponseInfo(const sip::Message& response, std::string_view our_contact);

}  // namespace linegate::signaling::registration
