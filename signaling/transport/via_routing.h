#pragma once
// Pure helpers for the top Via: what a server records about where a request came
// from (RFC 3261 18.2.1, RFC 3581 4) and where the response goes (RFC 3261 18.2.2,
// RFC 3581 4). No sockets, no allocation beyond the returned strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transport {

inline constexpr uint16_t kDefaultSipPort = 5060;   // RFC 3261 19.1.2: UDP, TCP
inline constexpr uint16_t kDefaultSipsPort = 5061;  // TLS

// Parameters a server adds to the top Via of a received request.
struct ViaStamp {
  // RFC 3261 18.2.1: sent-by is a domain name or an address other than the packet's
  // source; RFC 3581 4: always when the request asks for rport.
  bool add_received = false;
  std::string received;  // the source IP; IPv6 without brackets (RFC 3261 25.1 IPv6address)
  // RFC 3581 4: the request carried "rport" without a value; fill in the source port.
  bool set_rport = false;
  uint16_t rport = 0;
  bool operator==(const ViaStamp&) const = default;
};

// top_via: a Via header value as received (its first element is the top via-parm).
// Fails when the top via-parm does not parse.
Result<ViaStamp> ComputeViaStamp(std::string_view top_via, const SocketAddress& source);
// The same Via header value with the stamp applied: an existing received= gets the new
// value, otherwise ";received=" is appended to the top element; a bare "rport" becomes
// "rport=<port>". Other elements and parameters are left as they were.
Result<std::string> StampVia(std::string_view top_via, const SocketAddress& source);

// RFC 3261 18.2.1 and RFC 3581 4: StampVia applied to the first Via line of a complete
// response (the request's top Via, folds included), so a client behind NAT learns its
// public address. A response without a Via is left as it is.
void StampTopVia(std::string& response, const SocketAddress& source);

// Where a response goes.
struct ResponseRoute {
  Protocol protocol = Protocol::kUdp;
  // Reliable transports: the connection the request came on, to be tried first; when
  // it is gone, open a connection to address/host (RFC 3261 18.2.2).
  uint64_t connection_id = 0;
  // A numeric target, or empty when `host` is a domain name that must be resolved with
  // RFC 3263 section 5 procedures first.
  std::optional<SocketAddress> address;
  std::string host;  // the host the target came from (no brackets)
  uint16_t port = 0;
  bool multicast = false;  // maddr present (RFC 3261 18.2.2 second rule)
  bool operator==(const ResponseRoute&) const = default;
};

// top_via: the top Via of the response, i.e. the request's Via after StampVia.
// request_connection_id: for TCP/TLS, Received::connection_id of the request.
Result<ResponseRoute> RouteResponse(std::string_view top_via, uint64_t request_connection_id = 0);

}  // namespace linegate::signaling::transport
