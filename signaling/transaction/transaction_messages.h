#pragma once
// The messages a transaction writes itself and the keys it is found by: the top Via
// of an outgoing request, the ACK for a non-2xx final response (RFC 3261 17.1.1.3),
// CANCEL (9.1), the destination of responses (18.2.2, RFC 3581) and the match keys of
// client (17.1.3) and server (17.2.3) transactions. Pure functions over parsed
// messages, so they are tested apart from the state machines.

#include <optional>
#include <string>
#include <string_view>

#include "signaling/sip/sip_message.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transaction {

// RFC 3261 8.1.1.7: branches of RFC 3261 transactions start with this cookie. Compared
// case-sensitively, as written there; other branches take the RFC 2543 path.
inline constexpr std::string_view kMagicCookie = "z9hG4bK";
inline bool HasMagicCookie(std::string_view branch) {
  return branch.size() > kMagicCookie.size() && branch.substr(0, kMagicCookie.size()) == kMagicCookie;
}

// The request with "Via: SIP/2.0/<protocol> <sent_by>;branch=<branch>;rport" inserted
// as the first header (RFC 3261 8.1.1.7, 18.1.1; rport: RFC 3581). nullopt when the
// request line has no CRLF.
std::optional<std::string> InsertTopVia(std::string_view request, transport::Protocol protocol,
                                        std::string_view sent_by, std::string_view branch);

// RFC 3261 17.1.1.3: the ACK for a non-2xx final response to request (an INVITE): same
// Request-URI, Call-ID, From and CSeq number, To of the response (with its tag), the
// request's top Via only, its Route headers, CSeq method ACK.
std::optional<std::string> BuildAckForFailure(const sip::Message& request, const sip::Message& response);

// RFC 3261 9.1: CANCEL for request: Request-URI, Call-ID, From, To, CSeq number and
// Route of the request, its top Via only, CSeq method CANCEL.
std::optional<std::string> BuildCancel(const sip::Message& request);

// RFC 3261 18.2.2: where a response to a request received this way goes. Reliable
// transports answer on the connection the request came on; UDP answers the source
// address (the "received" address) at the port of sent-by, or 5060, or the source port
// when the request asked for rport (RFC 3581 4). maddr (multicast) is not supported.
transport::Destination ResponseDestination(const sip::Via& top_via, const transport::Received& received);

// RFC 3261 17.1.3: a response matches the client transaction whose request had the
// same top Via branch and CSeq method. Branches compare case-insensitively (7.3.1).
void ClientKey(std::string_view branch, std::string_view method, std::string& out);

// RFC 3261 17.2.3. method is what the request is matched as: "INVITE" for an ACK and
// for the INVITE a CANCEL cancels, else the request's own method. With the magic
// cookie: branch + sent-by + method. Without it (RFC 2543): Request-URI, From tag,
// Call-ID, CSeq number, method, top Via and to_tag; the To tag is left to the caller
// because an ACK carries the tag of the response, not of the INVITE. Returns false when
// the request lacks what a key needs (no top Via or CSeq).
bool ServerKey(const sip::Message& request, std::string_view method, std::string_view to_tag,
               std::string& out);

}  // namespace linegate::signaling::transaction
