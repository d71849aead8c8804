#include "signaling/sdp/session_params.h"

namespace linegate::signaling::sdp {

namespace pb = linegate::media::v1;

pb::Codec ToProtoCodec(media::codec::CodecId id) {
  switch (id) {
    case media::codec::CodecId::kPcmu:
      return pb::CODEC_PCMU;
    case media::codec::CodecId::kPcma:
      return pb::CODEC_PCMA;
    case media::codec::CodecId::kG722:
      return pb::CODEC_G722;
    case media::codec::CodecId::kG729:
      return pb::CODEC_G729;
    case media::codec::CodecId::kOpus:
      return pb::CODEC_OPUS;
  }
  return pb::CODEC_UNSPECIFIED;
}

pb::Direction ToProtoDirection(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return pb::DIRECTION_SENDRECV;
    case Direction::kSendOnly:
      return pb::DIRECTION_SENDONLY;
    case Direction::kRecvOnly:
      return pb::DIRECTION_RECVONLY;
    case Direction::kInactive:
      return pb::DIRECTION_INACTIVE;
  }
  return pb::DIRECTION_UNSPECIFIED;
}

pb::SessionParams ToSessionParams(const Negotiated& negotiated, uint32_t line) {
  pb::SessionParams params;
  params.set_line(line);
  params.set_remote_address(negotiated.remote_address);
  params.set_remote_port(negotiated.remote_port);
  params.set_codec(ToProtoCodec(negotiated.codec));
  params.set_payload_type(negotiated.payload_type);
  params.set_ptime_ms(negotiated.ptime_ms);
  if (negotiated.telephone_event_pt) {
    params.set_telephone_event_pt(*negotiated.telephone_event_pt);
    params.set_dtmf_mode(pb::DTMF_MODE_RFC4733);
  } else {
    params.set_dtmf_mode(pb::DTMF_MODE_INBAND);
  }
  params.set_direction(ToProtoDirection(negotiated.direction));
  return params;
}

}  // namespace linegate::signaling::sdp
