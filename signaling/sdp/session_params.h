#pragma once
// From a negotiated offer/answer to the media process's session parameters.

#include <cstdint>

#include "linegate/media/v1/media.pb.h"
#include "signaling/sdp/offer_answer.h"

namespace linegate::signaling::sdp {

// remote address/port, codec, payload type, ptime, telephone_event_pt, DTMF mode
// (RFC 4733 when telephone-event was negotiated, else in-band) and our direction, for
// `line`. local_port and rtp_timeout_ms are left to the caller.
linegate::media::v1::SessionParams ToSessionParams(const Negotiated& negotiated, uint32_t line);

linegate::media::v1::Codec ToProtoCodec(media::codec::CodecId id);
linegate::media::v1::Direction ToProtoDirection(Direction direction);

}  // namespace linegate::signaling::sdp
