// libFuzzer target for the RTP header parser: any input must be rejected with a reason
// or parsed into views that lie inside it and add up to it; what parses is written
// again with WriteRtpHeader and must parse to the same fields and payload.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "media/rtp/rtp_header.h"

namespace rtp = linegate::media::rtp;

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtp::RtpHeaderView view;
  const rtp::RtpParseStatus status = rtp::ParseRtpHeader({data, size}, view);
  Check(static_cast<size_t>(status) < rtp::kRtpParseStatusCount);
  if (status != rtp::RtpParseStatus::kOk) return 0;
  Check(view.header_length + view.payload.size() + view.padding_length == size);
  Check(view.payload.data() == data + view.header_length);
  Check(view.csrc_count <= rtp::kMaxCsrcs);
  Check(view.payload_type < 128);

  std::array<uint32_t, rtp::kMaxCsrcs> csrcs{};
  for (size_t i = 0; i < view.csrc_count; ++i) csrcs[i] = view.Csrc(i);
  rtp::RtpHeaderFields fields;
  fields.marker = view.marker;
  fields.payload_type = view.payload_type;
  fields.sequence = view.sequence;
  fields.timestamp = view.timestamp;
  fields.ssrc = view.ssrc;
  fields.csrcs = {csrcs.data(), view.csrc_count};
  fields.extension = view.extension;
  fields.extension_profile = view.extension_profile;
  fields.extension_data = view.extension_data;

  static std::array<uint8_t, 65536 + 4096> buffer;
  const size_t header = rtp::WriteRtpHeader(fields, buffer);
  Check(header == view.header_length);
  if (header + view.payload.size() > buffer.size()) return 0;
  if (!view.payload.empty()) std::memcpy(buffer.data() + header, view.payload.data(), view.payload.size());

  rtp::RtpHeaderView again;
  Check(rtp::ParseRtpHeader({buffer.data(), header + view.payload.size()}, again) ==
        rtp::RtpParseStatus::kOk);
  Check(again.marker == view.marker && again.payload_type == view.payload_type);
  Check(again.sequence == view.sequence && again.timestamp == view.timestamp && again.ssrc == view.ssrc);
  Check(again.csrc_count == view.csrc_count && again.extension == view.extension);
  Check(again.extension_profile == view.extension_profile);
  Check(again.extension_data.size() == view.extension_data.size());
  Check(again.extension_data.empty() || std::memcmp(again.extension_data.data(), view.extension_data.data(),
                                                    view.extension_data.size()) == 0);
  Check(again.payload.size() == view.payload.size());
  Check(again.payload.empty() ||
        std::memcmp(again.payload.data(), view.payload.data(), view.payload.size()) == 0);
  Check(!again.padding);
  return 0;
}
