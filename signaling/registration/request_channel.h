#pragma once
// The seam between registration and the SIP transaction layer. The registration client
// builds whole requests; the signaling glue implements RequestChannel over a non-INVITE
// client transaction (RFC 3261 17.1.2) and reports its final outcome.

#include <functional>
#include <string>

#include "signaling/registration/response_info.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::registration {

class RequestChannel {
 public:
  virtual ~RequestChannel() = default;

  // Sends one request (REGISTER or OPTIONS) as a new client transaction.
  //
  // `request_bytes` is a complete message. Its top Via carries a fresh RFC 3261 branch
  // (magic cookie "z9hG4bK" + 128 random bits, 8.1.1.7) that the transaction layer uses as
  // the transaction id, or replaces consistently if it owns branch generation.
  //
  // `on_final` must be called exactly once: with the final response (1xx are not
  // reported), or with ResponseInfo::Timeout() / TransportError(). It may be called from
  // inside SendRequest (e.g. an immediate transport error); the registration code allows
  // for that. It is never called after the channel's owner has been told to stop.
  virtual void SendRequest(const transport::Destination& to, std::string request_bytes,
                           std::function<void(const ResponseInfo&)> on_final) = 0;
};

}  // namespace linegate::signaling::registration
