#pragma once
// The checks a user agent server makes on a new request before processing it
// (RFC 3261 8.2.1-8.2.3, 16.3 for Max-Forwards), and how linegate answers the methods
// it does not handle (yet). Pure functions over a parsed message, table-tested.

#include <cstdint>
#include <string>
#include <string_view>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling {

// Methods the gateway's UA understands. INVITE and its companions are answered with
// 480 until call control lands (calls issue).
inline constexpr std::string_view kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS";

struct UasVerdict {
  uint16_t status = 0;  // 0: acceptable, go on
  std::string reason;
  std::string extra_headers;  // complete header lines with CRLF
};

// Returns the rejection for a request the UA must refuse, in RFC 3261 8.2 order:
// unknown method (501), method known but not served here (405), unsupported URI scheme
// (416), Require with extensions it lacks (420 + Unsupported), Max-Forwards 0 on a
// non-OPTIONS request (483), an INVITE whose Accept excludes SDP (406), a body it cannot
// read (415 with Accept/Accept-Encoding).
UasVerdict CheckRequest(const sip::Message& request);

// The final answer to an acceptable request: OPTIONS 200 with Allow, INVITE 480 (no
// call control yet), BYE/CANCEL outside any dialog 481.
UasVerdict AnswerRequest(const sip::Message& request);

}  // namespace linegate::signaling
