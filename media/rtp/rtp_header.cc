#include "media/rtp/rtp_header.h"

#include <cstring>

namespace linegate::media::rtp {

const char* RtpParseStatusName(RtpParseStatus status) {
  switch (status) {
    case RtpParseStatus::kOk:
      return "ok";
    case RtpParseStatus::kTruncated:
      return "truncated";
    case RtpParseStatus::kBadVersion:
      return "bad_version";
    case RtpParseStatus::kCsrcOverflow:
      return "csrc_overflow";
    case RtpParseStatus::kExtensionOverflow:
      return "extension_overflow";
    case RtpParseStatus::kBadPadding:
      return "bad_padding";
    case RtpParseStatus::kRtcpPayloadType:
      return "rtcp_payload_type";
    case RtpParseStatus::kUnexpectedPayloadType:
      return "unexpected_payload_type";
  }
  return "unknown";
}

uint32_t RtpHeaderView::Csrc(size_t index) const { return LoadBe32(csrc_bytes + 4 * index); }

RtpParseStatus ParseRtpHeader(std::span<const uint8_t> packet, RtpHeaderView& view,
                              const PayloadTypeSet& accepted) {
  const size_t size = packet.size();
  if (size < kRtpFixedHeaderSize) [[unlikely]] {
    return RtpParseStatus::kTruncated;
  }
  const uint8_t* p = packet.data();
  if ((p[0] >> 6) != kRtpVersion) [[unlikely]] {
    return RtpParseStatus::kBadVersion;
  }
  // RFC 5761 4: a second octet of 192..223 is an RTCP packet type, not M + PT.
  if (p[1] >= 192 && p[1] <= 223) [[unlikely]] {
    return RtpParseStatus::kRtcpPayloadType;
  }
  view.padding = (p[0] & 0x20) != 0;
  view.extension = (p[0] & 0x10) != 0;
  view.csrc_count = p[0] & 0x0F;
  view.marker = (p[1] & 0x80) != 0;
  view.payload_type = p[1] & 0x7F;
  if (!accepted.Contains(view.payload_type)) [[unlikely]] {
    return RtpParseStatus::kUnexpectedPayloadType;
  }
  view.sequence = LoadBe16(p + 2);
  view.timestamp = LoadBe32(p + 4);
  view.ssrc = LoadBe32(p + 8);

  size_t offset = kRtpFixedHeaderSize + 4u * view.csrc_count;
  if (offset > size) [[unlikely]] {
    return RtpParseStatus::kCsrcOverflow;
  }
  view.csrc_bytes = p + kRtpFixedHeaderSize;

  view.extension_profile = 0;
  view.extension_data = {};
  if (view.extension) {
    // RFC 3550 5.3.1: 16 bits profile, 16 bits length in 32-bit words, then the data.
    if (size - offset < 4) [[unlikely]] {
      return RtpParseStatus::kExtensionOverflow;
    }
    view.extension_profile = LoadBe16(p + offset);
    const size_t words = LoadBe16(p + offset + 2);
    offset += 4;
    if (size - offset < 4 * words) [[unlikely]] {
      return RtpParseStatus::kExtensionOverflow;
    }
    view.extension_data = packet.subspan(offset, 4 * words);
    offset += 4 * words;
  }
  view.header_length = offset;

  size_t end = size;
  view.padding_length = 0;
  if (view.padding) {
    // RFC 3550 5.1: the last octet counts the padding, itself included, so it is at
    // least 1 and may not reach into the header.
    const uint8_t count = p[size - 1];
    if (count == 0 || count > size - offset) [[unlikely]] {
      return RtpParseStatus::kBadPadding;
    }
    view.padding_length = count;
    end -= count;
  }
  view.payload = packet.subspan(offset, end - offset);
  return RtpParseStatus::kOk;
}

size_t RtpHeaderSize(const RtpHeaderFields& fields) {
  if (fields.payload_type > 127 || fields.csrcs.size() > kMaxCsrcs) return 0;
  size_t size = kRtpFixedHeaderSize + 4 * fields.csrcs.size();
  if (fields.extension) {
    if (fields.extension_data.size() % 4 != 0 || fields.extension_data.size() / 4 > 0xFFFF) return 0;
    size += 4 + fields.extension_data.size();
  } else if (!fields.extension_data.empty()) {
    return 0;
  }
  return size;
}

size_t WriteRtpHeader(const RtpHeaderFields& fields, std::span<uint8_t> out) {
  const size_t size = RtpHeaderSize(fields);
  if (size == 0 || out.size() < size) [[unlikely]] {
    return 0;
  }
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>((kRtpVersion << 6) | (fields.extension ? 0x10 : 0) | fields.csrcs.size());
  p[1] = static_cast<uint8_t>((fields.marker ? 0x80 : 0) | fields.payload_type);
  StoreBe16(p + 2, fields.sequence);
  StoreBe32(p + 4, fields.timestamp);
  StoreBe32(p + 8, fields.ssrc);
  size_t offset = kRtpFixedHeaderSize;
  for (uint32_t csrc : fields.csrcs) {
    StoreBe32(p + offset, csrc);
    offset += 4;
  }
  if (fields.extension) {
    StoreBe16(p + offset, fields.extension_profile);
    StoreBe16(p + offset + 2, static_cast<uint16_t>(fields.extension_data.size() / 4));
    offset += 4;
    if (!fields.extension_data.empty()) {
      std::memcpy(p + offset, fields.extension_data.data(), fields.extension_data.size());
    }
    offset += fields.extension_data.size();
  }
  return offset;
}

}  // namespace linegate::media::rtp
