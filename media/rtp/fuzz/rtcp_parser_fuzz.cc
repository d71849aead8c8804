// libFuzzer target for the RTCP compound parser: any input must be rejected or parsed
// without crashing or reading outside it; what parses is rebuilt with RtcpWriter and
// must parse again to the same content (report blocks, sender info, CNAMEs, BYE).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "media/rtp/rtcp.h"

namespace rtp = linegate::media::rtp;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Inside(std::string_view text, const uint8_t* data, size_t size) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  return text.empty() || (p >= data && p + text.size() <= data + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtp::RtcpCompound parsed;
  if (rtp::ParseRtcp({data, size}, parsed) != rtp::RtcpParseStatus::kOk) return 0;
  Check(parsed.report_block_count <= rtp::RtcpCompound::kMaxReportBlocks);
  Check(parsed.cname_count <= rtp::RtcpCompound::kMaxCnames);
  Check(parsed.bye_ssrc_count <= rtp::RtcpCompound::kMaxByeSsrcs);
  Check(parsed.packet_count >= 1);
  for (size_t i = 0; i < parsed.cname_count; ++i) Check(Inside(parsed.cnames[i].cname, data, size));
  Check(Inside(parsed.bye_reason, data, size));

  static std::array<uint8_t, 4096> buffer;
  rtp::RtcpWriter writer(buffer);
  if (parsed.has_sender_report) {
    Check(writer.AddSenderReport(parsed.reporter_ssrc, parsed.sender_info, parsed.blocks()));
  } else {
    Check(writer.AddReceiverReport(parsed.reporter_ssrc, parsed.blocks()));
  }
  size_t cnames = 0;
  for (size_t i = 0; i < parsed.cname_count; ++i) {
    if (parsed.cnames[i].cname.empty()) continue;  // legal on the wire, never written
    Check(writer.AddSdesCname(parsed.cnames[i].ssrc, parsed.cnames[i].cname));
    ++cnames;
  }
  if (parsed.has_bye) {
    Check(writer.AddBye({parsed.bye_ssrcs.data(), parsed.bye_ssrc_count}, parsed.bye_reason));
  }

  rtp::RtcpCompound again;
  Check(rtp::ParseRtcp(writer.bytes(), again) == rtp::RtcpParseStatus::kOk);
  Check(again.has_sender_report == parsed.has_sender_report);
  Check(again.reporter_ssrc == parsed.reporter_ssrc);
  if (parsed.has_sender_report) Check(again.sender_info == parsed.sender_info);
  Check(again.report_block_count == parsed.report_block_count);
  for (size_t i = 0; i < parsed.report_block_count; ++i)
    Check(again.report_blocks[i] == parsed.report_blocks[i]);
  Check(again.cname_count == cnames);
  for (size_t i = 0, j = 0; i < parsed.cname_count; ++i) {
    if (parsed.cnames[i].cname.empty()) continue;
    Check(again.cnames[j].ssrc == parsed.cnames[i].ssrc && again.cnames[j].cname == parsed.cnames[i].cname);
    ++j;
  }
  Check(again.has_bye == parsed.has_bye);
  Check(again.bye_ssrc_count == parsed.bye_ssrc_count);
  for (size_t i = 0; i < parsed.bye_ssrc_count; ++i) Check(again.bye_ssrcs[i] == parsed.bye_ssrcs[i]);
  Check(again.bye_reason == parsed.bye_reason);
  return 0;
}
