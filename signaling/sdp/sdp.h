#pragma once
// SDP (RFC 4566) as VoIP uses it: a parsed session description, the parser and the
// serializer. Namespace linegate::signaling::sdp.
//
// The parser tokenizes the caller's buffer with views and copies the values it keeps
// into an owned SessionDescription: SDP is handled once per offer/answer exchange (not
// per packet), and an owned model lets an offer or answer outlive the SIP message that
// carried it (a re-offer compares against it, a 200 OK retransmission reuses it).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace linegate::signaling::sdp {

enum class AddrType : uint8_t { kIp4, kIp6 };
std::string_view AddrTypeName(AddrType type);  // "IP4", "IP6"

// RFC 4566 6 direction attributes (RFC 3264 5.1). Absent means sendrecv.
enum class Direction : uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view DirectionName(Direction direction);  // "sendrecv", ...
inline bool Sends(Direction d) { return d == Direction::kSendRecv || d == Direction::kSendOnly; }
inline bool Receives(Direction d) { return d == Direction::kSendRecv || d == Direction::kRecvOnly; }
Direction MakeDirection(bool sends, bool receives);

// c=IN <addrtype> <address>[/<ttl>[/<count>]]. `suffix` keeps what follows the first
// '/' (multicast TTL and count) verbatim.
struct Connection {
  AddrType addr_type = AddrType::kIp4;
  std::string address;
  std::string suffix;
  bool operator==(const Connection&) const = default;
};

// o=<username> <sess-id> <sess-version> IN <addrtype> <address>
struct Origin {
  std::string username = "-";
  uint64_t session_id = 0;
  uint64_t session_version = 0;
  AddrType addr_type = AddrType::kIp4;
  std::string address;
  bool operator==(const Origin&) const = default;
};

// a=rtpmap:<pt> <encoding>/<clock>[/<channels>]; channels 0 when omitted.
struct RtpMap {
  uint8_t payload_type = 0;
  std::string encoding;
  uint32_t clock_rate = 0;
  uint8_t channels = 0;
  bool operator==(const RtpMap&) const = default;
};

// a=fmtp:<format> <parameters>; the parameters are kept verbatim.
struct Fmtp {
  std::string format;
  std::string parameters;
  bool operator==(const Fmtp&) const = default;
};

// a=rtcp:<port> [IN <addrtype> <address>] (RFC 3605).
struct Rtcp {
  uint16_t port = 0;
  std::optional<Connection> connection;
  bool operator==(const Rtcp&) const = default;
};

// Any attribute the parser does not model, kept in order: a=<name>[:<value>].
struct Attribute {
  std::string name;
  std::string value;
  bool has_value = false;
  bool operator==(const Attribute&) const = default;
};

// A line kept verbatim (i=, u=, e=, p=, b=, r=, z=, k=): written back in RFC order.
struct OtherLine {
  char type = 0;
  std::string value;
  bool operator==(const OtherLine&) const = default;
};

struct MediaDescription {
  std::string media;  // "audio", "video", "image", ...
  uint16_t port = 0;  // 0: stream rejected / disabled
  std::optional<uint16_t> port_count;
  std::string proto;                 // "RTP/AVP", "RTP/SAVP", "udptl", ...
  std::vector<std::string> formats;  // payload type numbers for RTP profiles
  std::optional<Connection> connection;
  std::vector<RtpMap> rtpmaps;
  std::vector<Fmtp> fmtps;
  std::optional<uint32_t> ptime_ms;
  std::optional<uint32_t> maxptime_ms;
  std::optional<Direction> direction;
  std::optional<Rtcp> rtcp;
  std::vector<Attribute> attributes;
  std::vector<OtherLine> other_lines;

  bool IsRtp() const;  // proto starts with "RTP/"
  const RtpMap* FindRtpMap(uint8_t payload_type) const;
  const Fmtp* FindFmtp(std::string_view format) const;
  bool operator==(const MediaDescription&) const = default;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;
  std::string timing = "0 0";  // t= value (start stop); the first t= line
  std::optional<Direction> direction;
  std::vector<Attribute> attributes;
  std::vector<OtherLine> other_lines;  // includes any further t= lines
  std::vector<MediaDescription> media;

  // The connection that applies to media `index`: its own, else the session's.
  const Connection* MediaConnection(size_t index) const;
  // The direction that applies to media `index`: its own, else the session's, else sendrecv.
  Direction MediaDirection(size_t index) const;
  bool operator==(const SessionDescription&) const = default;
};

// Bounds on what Parse accepts; inputs beyond them are errors, never truncated.
struct ParseLimits {
  size_t max_size = 16 * 1024;    // octets of the whole description
  size_t max_lines = 256;         // lines, including attributes
  size_t max_line_length = 1024;  // octets of one line, without its end of line
  size_t max_media = 16;          // m= lines
  size_t max_formats = 64;        // formats on one m= line
};

// Parses a description. Lines end in CRLF or LF (RFC 4566 5 asks parsers to accept a
// bare LF); empty lines are skipped. Errors read "line N (x=): what is wrong".
Result<SessionDescription> Parse(std::string_view text, const ParseLimits& limits = {});

// Writes a description with CRLF line ends, lines in RFC 4566 order. Whatever Parse
// returned serializes back to text that parses to an equal description.
std::string Serialize(const SessionDescription& sdp);

}  // namespace linegate::signaling::sdp
