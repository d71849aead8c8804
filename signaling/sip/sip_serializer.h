#pragma once
// Writing SIP messages into caller-provided buffers: re-serializing a parsed message
// and building the responses the parser's rejections call for. Nothing allocates; a
// buffer too small yields nullopt, never a truncated message.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling::sip {

struct SerializeOptions {
  // Known headers under their canonical full names ("v" becomes "Via"); unknown
  // headers always keep the name as received.
  bool canonical_names = true;
  // Replace folds by one SP (RFC 3261 7.3.1) instead of copying values as received.
  bool unfold = false;
};

// Start line, headers in received order, empty line, body. Returns the size written.
std::optional<size_t> Serialize(const Message& message, std::span<char> out,
                                const SerializeOptions& options = SerializeOptions());

// A response to request (RFC 3261 8.2.6): status line, every Via in order, From, To,
// Call-ID, CSeq copied from the request, "Content-Length: 0". When to_tag is not empty,
// the status is above 100 and To parses without a tag, ";tag=<to_tag>" is appended
// (8.2.6.2). reason must be a single line. extra_headers (complete lines, each ending
// in CRLF, e.g. "Allow: INVITE, ACK\r\n") go before Content-Length. Works on requests
// that failed to parse as long as DecideRejection said kRespond.
std::optional<size_t> BuildResponse(const Message& request, uint16_t status, std::string_view reason,
                                    std::string_view to_tag, std::span<char> out,
                                    std::string_view extra_headers = {});

// parse -> serialize -> parse yields an equivalent message: same start line, same
// headers in order (same id, or same name for unknown ones; values equal with every LWS
// run taken as one SP) and the same body.
bool EquivalentMessages(const Message& a, const Message& b);

}  // namespace linegate::signaling::sip
