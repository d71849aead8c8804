#pragma once
// The RFC 3264 offer/answer model for one audio stream per call: building an offer
// from the local configuration, answering a remote offer, processing the answer to
// our offer, hold, and o= versioning for re-offers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "media/codec/codec.h"
#include "signaling/sdp/sdp.h"

namespace linegate::signaling::sdp {

// What this side offers and accepts.
struct LocalConfig {
  // Codecs in our order of preference; the first is the one we want most.
  std::vector<media::codec::CodecId> codecs = {media::codec::CodecId::kPcmu, media::codec::CodecId::kPcma};
  // RFC 4733 telephone-event payload type in our offers; nullopt: offer none, and
  // accept none in answers (DTMF then stays in-band).
  std::optional<uint8_t> telephone_event_pt = 101;
  // Dynamic payload type for Opus in our offers (always dynamic, RFC 7587).
  uint8_t opus_pt = 111;
  uint32_t ptime_ms = 20;  // what we ask to receive (10, 20, 30 or 40)
  // Our wish: sendrecv normally, sendonly to put the peer on hold, inactive to stop.
  Direction direction = Direction::kSendRecv;
  std::string address;  // our RTP address (IPv4 or IPv6, by the presence of ':')
  uint16_t port = 0;    // our RTP port
};

// The outcome of an exchange, from our side, for the one audio stream.
struct Negotiated {
  size_t media_index = 0;  // of the m= line in the offer and the answer
  media::codec::CodecId codec = media::codec::CodecId::kPcmu;
  uint8_t payload_type = 0;
  uint32_t ptime_ms = 20;  // what we send
  std::optional<uint8_t> telephone_event_pt;
  Direction direction = Direction::kSendRecv;  // ours: sendonly means we only send
  AddrType remote_addr_type = AddrType::kIp4;
  std::string remote_address;
  uint16_t remote_port = 0;
  // The peer holds the call (offered or answered sendonly/inactive, or c=0.0.0.0).
  bool remote_hold = false;
  bool operator==(const Negotiated&) const = default;
};

// Hold forms of media `index` of `sdp`: a=sendonly, a=inactive (RFC 3264 8.4) and the
// RFC 2543 c=0.0.0.0 still sent by older phones.
bool IsHold(const SessionDescription& sdp, size_t index);

// Owns o= of our descriptions for one call: the session id is fixed, the version
// increases by one each time a description differs from the previous one in anything
// but o= (RFC 3264 8: an unchanged re-offer keeps its version).
class LocalOrigin {
 public:
  LocalOrigin(uint64_t session_id, std::string address, std::string username = "linegate");
  // Sets sdp.origin, versioned against the last description stamped.
  void Stamp(SessionDescription& sdp);
  uint64_t version() const { return version_; }

 private:
  Origin origin_;
  uint64_t version_;
  std::optional<SessionDescription> last_;
};

// An offer: one m=audio RTP/AVP line with our codecs in preference order (static
// payload types, `opus_pt` for Opus), rtpmap for each, a=fmtp:18 annexb=no for G.729,
// telephone-event/8000 with fmtp 0-15, ptime and direction. Errors: no codec, bad
// address.
Result<SessionDescription> BuildOffer(const LocalConfig& config, LocalOrigin& origin);

struct Answer {
  SessionDescription sdp;
  Negotiated negotiated;
};

// Answers `offer`. Every error means the offer is not acceptable: the caller answers
// 488 Not Acceptable Here. See README.md for the rules.
Result<Answer> BuildAnswer(const SessionDescription& offer, const LocalConfig& config, LocalOrigin& origin);

// Processes the answer to `offer`, which we sent (built by BuildOffer or by hand). An
// error means the answer cannot be used (the caller ends the call, e.g. with BYE).
Result<Negotiated> ProcessAnswer(const SessionDescription& offer, const SessionDescription& answer,
                                 const LocalConfig& config);

}  // namespace linegate::signaling::sdp
