#pragma once
// Encoding of bus messages: every payload travels in a linegate.bus.v1.Envelope whose
// Any carries the typed message.

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "linegate/bus/v1/envelope.pb.h"

namespace linegate::bus {

inline constexpr uint32_t kProtocolVersion = 1;

v1::Envelope MakeEnvelope(v1::MessageKind kind, uint64_t correlation_id, std::string_view source,
                          const google::protobuf::Message& payload);
v1::Envelope MakeErrorReply(uint64_t correlation_id, std::string_view source, v1::ErrorCode code,
                            std::string message);

// Full protobuf name of the payload ("linegate.process.v1.StatusRequest"), or "" if none.
std::string_view PayloadType(const v1::Envelope& envelope);

// Decodes bytes from the wire; rejects garbage and other protocol versions.
Result<v1::Envelope> Decode(const void* data, size_t size);

// Unpacks a reply: the reply's error, or a payload of the wrong type, becomes an Error.
template <typename T>
Result<T> Unpack(const v1::Envelope& envelope) {
  if (envelope.error().code() != v1::ERROR_CODE_UNSPECIFIED) {
    return Error{envelope.error().message()};
  }
  T message;
  if (!envelope.payload().UnpackTo(&message)) {
    return Error{"unexpected payload type '" + std::string(PayloadType(envelope)) + "', wanted '" +
                 T::descriptor()->full_name() + "'"};
  }
  return message;
}

std::string_view ErrorCodeName(v1::ErrorCode code);

}  // namespace linegate::bus
