// libFuzzer target for the SIP parser: any input must parse or be rejected without
// crashing, hanging or growing; what parses must survive serialize -> parse unchanged
// (both serializer modes), and the URI parser, the stream framer and the rejection
// path run on the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"

namespace sip = linegate::signaling::sip;

namespace {

void CheckRoundTrip(const sip::Message& message, const sip::SerializeOptions& options) {
  std::vector<char> buffer(message.raw().size() * 2 + 64);
  const auto size = sip::Serialize(message, buffer, options);
  if (!size) std::abort();
  sip::Message again;
  const sip::ParseResult result =
      sip::Parse(std::string_view(buffer.data(), *size), sip::Transport::kDatagram, again);
  if (!result.ok() || !sip::EquivalentMessages(message, again)) std::abort();
}

void ExerciseElements(const sip::Message& message) {
  char buffer[1024];
  for (sip::HeaderId id : {sip::HeaderId::kVia, sip::HeaderId::kContact, sip::HeaderId::kRoute}) {
    sip::HeaderValueIterator it(message, id);
    std::string_view element;
    while (it.Next(element)) {
      sip::Via via;
      sip::Contact contact;
      (void)sip::ParseVia(element, via);
      (void)sip::ParseContact(element, contact);
    }
  }
  for (const sip::HeaderField& field : message.headers()) {
    const auto unfolded = sip::Unfold(field.value, buffer);
    if (unfolded && !sip::EqualValuesIgnoringLws(*unfolded, field.value)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  sip::Message message;
  const sip::ParseResult result = sip::Parse(input, sip::Transport::kDatagram, message);
  if (result.ok()) {
    if (message.raw().size() > size || message.headers().size() > sip::kMaxHeaders) std::abort();
    CheckRoundTrip(message, sip::SerializeOptions{.canonical_names = true, .unfold = false});
    CheckRoundTrip(message, sip::SerializeOptions{.canonical_names = false, .unfold = true});
    ExerciseElements(message);
    (void)sip::CheckRequiredHeaders(message);
  }
  const sip::Rejection rejection = sip::DecideRejection(message, result);
  if (result.ok() != (rejection.action == sip::Rejection::Action::kNone)) std::abort();
  if (rejection.action == sip::Rejection::Action::kRespond) {
    char response[8192];
    const auto written = sip::BuildResponse(message, rejection.status, rejection.reason, "fz", response);
    if (written) {
      sip::Message parsed;
      // Our own status line must always parse, whatever was copied below it.
      (void)sip::Parse(std::string_view(response, *written), sip::Transport::kDatagram, parsed);
      if (parsed.is_request() || parsed.status_code() != rejection.status) std::abort();
    }
  }

  // The same bytes as a URI, and as a TCP stream consumed frame by frame.
  sip::Uri uri;
  if (sip::ParseUri(input, uri)) {
    char buffer[512];
    (void)sip::Unescape(uri.user, buffer);
    sip::Param param;
    sip::ParamIterator params(uri.params);
    while (params.Next(param)) {
    }
  }
  std::string_view stream = input;
  const sip::FramingLimits limits{.max_header_bytes = 4096, .max_body_bytes = 4096};
  while (!stream.empty()) {
    const sip::FrameResult frame = sip::FrameStream(stream, limits);
    if (frame.status == sip::FrameResult::Status::kMessage) {
      if (frame.size == 0 || frame.size > stream.size()) std::abort();
      sip::Message framed;
      (void)sip::Parse(stream.substr(0, frame.size), sip::Transport::kStream, framed);
    } else if (frame.status != sip::FrameResult::Status::kKeepAlive) {
      break;
    }
    if (frame.size == 0 || frame.size > stream.size()) std::abort();
    stream.remove_prefix(frame.size);
  }
  return 0;
}
