#include "common/bus/envelope.h"

namespace linegate::bus {

v1::Envelope MakeEnvelope(v1::MessageKind kind, uint64_t correlation_id, std::string_view source,
                          const google::protobuf::Message& payload) {
  v1::Envelope envelope;
  envelope.set_protocol_version(kProtocolVersion);
  envelope.set_kind(kind);
  envelope.set_correlation_id(correlation_id);
  envelope.set_source(std::string(source));
  envelope.mutable_payload()->PackFrom(payload);
  return envelope;
}

v1::Envelope MakeErrorReply(uint64_t correlation_id, std::string_view source, v1::ErrorCode code,
                            std::string message) {
  v1::Envelope envelope;
  envelope.set_protocol_version(kProtocolVersion);
  envelope.set_kind(v1::MESSAGE_KIND_REPLY);
  envelope.set_correlation_id(correlation_id);
  envelope.set_source(std::string(source));
  envelope.mutable_error()->set_code(code);
  envelope.mutable_error()->set_message(std::move(message));
  return envelope;
}

std::string_view PayloadType(const v1::Envelope& envelope) {
  std::string_view url = envelope.payload().type_url();
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

Result<v1::Envelope> Decode(const void* data, size_t size) {
  v1::Envelope envelope;
  if (!envelope.ParseFromArray(data, static_cast<int>(size))) {
    return Error{"undecodable envelope of " + std::to_string(size) + " bytes"};
  }
  if (envelope.protocol_version() != kProtocolVersion) {
    return Error{"envelope protocol version " + std::to_string(envelope.protocol_version()) + ", expected " +
                 std::to_string(kProtocolVersion)};
  }
  return envelope;
}

std::string_view ErrorCodeName(v1::ErrorCode code) {
  switch (code) {
    case v1::ERROR_CODE_UNSPECIFIED:
      return "ok";
    case v1::ERROR_CODE_UNKNOWN_TYPE:
      return "unknown-type";
    case v1::ERROR_CODE_INVALID_ARGUMENT:
      return "invalid-argument";
    case v1::ERROR_CODE_UNAVAILABLE:
      return "unavailable";
    case v1::ERROR_CODE_TIMEOUT:
      return "timeout";
    case v1::ERROR_CODE_INTERNAL:
      return "internal";
    case v1::ERROR_CODE_NOT_FOUND:
      return "not-found";
    default:
      return "unknown";
  }
}

}  // namespace linegate::bus
