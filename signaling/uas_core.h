#pragma once
// The checks a user agent server makes on a new request before processing it
// (RFC 3261 8.2.1-8.2.3, 16.3 for Max-Forwards), and how linegate answers the methods
// it does not handle (yet). Pure functions over a parsed message, table-tested.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "signaling/sip/sip_message.h"

namespace linegate::signaling {

// Methods the gateway's UA serves: the dialog layer (dialog/call_agent.h) handles all of
// them but OPTIONS.
inline constexpr std::string_view kAllow =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, NOTIFY, INFO, PRACK";
// Option tags a request may Require (RFC 3261 8.2.2.3): RFC 3262 reliable provisionals,
// RFC 3891 Replaces, RFC 4028 session timers.
inline constexpr std::array<std::string_view, 3> kSupportedExtensions = {"100rel", "replaces", "timer"};

struct UasVerdict {
  uint16_t status = 0;  // 0: acceptable, go on
  std::string reason;
  std::string extra_headers;  // complete header lines with CRLF
};

// Returns the rejection for a request the UA must refuse, in RFC 3261 8.2 order:
// unknown method (501), method known but not served here (405), unsupported URI scheme
// (416), Require with extensions it lacks (420 + Unsupported), Max-Forwards 0 on a
// non-OPTIONS request (483), an INVITE whose Accept excludes SDP (406), a body it cannot
// read (415 with Accept/Accept-Encoding): SDP, message/sipfrag in NOTIFY (RFC 3515),
// anything in INFO (answered without being acted on).
UasVerdict CheckRequest(const sip::Message& request);

// The final answer to an acceptable request the dialog layer does not take: OPTIONS 200
// with Allow, INVITE 480 (before the dialog layer is started), the rest 481 (no dialog).
UasVerdict AnswerRequest(const sip::Message& request);

}  // namespace linegate::signaling
