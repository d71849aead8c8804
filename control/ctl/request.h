#pragma once
// What every linegatectl command does with control: send a request, decode the reply
// (or print why not), and print messages as JSON.

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <optional>
#include <string>

#include "common/bus/client.h"
#include "common/bus/envelope.h"
#include "common/clock.h"

namespace linegate::control::ctl {

inline std::string ToJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return text;
}

// Sends a request through control and decodes the reply; prints the error and returns
// nullopt on failure.
template <typename Reply>
std::optional<Reply> Ask(bus::Client& client, const google::protobuf::Message& request, Duration timeout) {
  auto reply = client.Call(request, timeout);
  if (!reply) {
    std::fprintf(stderr, "linegatectl: %s\n", reply.error().c_str());
    return std::nullopt;
  }
  auto decoded = bus::Unpack<Reply>(*reply);
  if (!decoded) {
    std::fprintf(stderr, "linegatectl: %s\n", decoded.error().c_str());
    return std::nullopt;
  }
  return std::move(*decoded);
}

}  // namespace linegate::control::ctl
