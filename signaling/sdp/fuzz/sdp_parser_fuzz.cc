// libFuzzer target for the SDP parser: any input must parse or be rejected without
// crashing or hanging; what parses must serialize to text that parses to an equal
// description, stay within the limits, and survive the offer/answer code as an offer
// and as an answer to our offer.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signaling/sdp/offer_answer.h"
#include "signaling/sdp/sdp.h"
#include "signaling/sdp/session_params.h"

namespace sdp = linegate::signaling::sdp;
namespace codec = linegate::media::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const sdp::ParseLimits limits;
  auto parsed = sdp::Parse(input, limits);
  if (!parsed.ok()) {
    if (parsed.error().empty()) std::abort();
    return 0;
  }
  const sdp::SessionDescription& description = *parsed;
  if (description.media.size() > limits.max_media) std::abort();

  const std::string text = sdp::Serialize(description);
  auto again =
      sdp::Parse(text, sdp::ParseLimits{.max_size = 1 << 20, .max_lines = 4096, .max_line_length = 4096});
  if (!again.ok() || !(*again == description)) std::abort();

  sdp::LocalConfig config;
  config.codecs = {codec::CodecId::kOpus, codec::CodecId::kG722, codec::CodecId::kPcmu, codec::CodecId::kPcma,
                   codec::CodecId::kG729};
  config.address = "192.0.2.1";
  config.port = 4000;
  sdp::LocalOrigin origin(1, config.address);
  auto answer = sdp::BuildAnswer(description, config, origin);
  if (answer.ok()) {
    if (answer->sdp.media.size() != description.media.size()) std::abort();
    auto reparsed = sdp::Parse(sdp::Serialize(answer->sdp));
    if (!reparsed.ok()) std::abort();
    (void)sdp::ToSessionParams(answer->negotiated, 1);
  }
  auto offer = sdp::BuildOffer(config, origin);
  if (!offer.ok()) std::abort();
  auto negotiated = sdp::ProcessAnswer(*offer, description, config);
  if (negotiated.ok()) (void)sdp::ToSessionParams(*negotiated, 1);
  for (size_t i = 0; i < description.media.size(); ++i) (void)sdp::IsHold(description, i);
  return 0;
}
