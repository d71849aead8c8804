#include "media/rtp/rtcp.h"

#include <cstring>

#include "media/rtp/rtp_header.h"

namespace linegate::media::rtp {

namespace {

constexpr size_t kHeaderSize = 4;
constexpr size_t kSenderInfoSize = 20;

void StoreHeader(uint8_t* p, bool padding, uint8_t count, uint8_t type, size_t bytes) {
  p[0] = static_cast<uint8_t>((kRtpVersion << 6) | (padding ? 0x20 : 0) | count);
  p[1] = type;
  StoreBe16(p + 2, static_cast<uint16_t>(bytes / 4 - 1));  // length in words minus one (6.4.1)
}

void StoreReportBlock(uint8_t* p, const ReportBlock& block) {
  StoreBe32(p, block.ssrc);
  // Fraction lost (8 bits) and cumulative lost (24 bits two's complement).
  StoreBe32(p + 4, (static_cast<uint32_t>(block.fraction_lost) << 24) |
                       (static_cast<uint32_t>(block.cumulative_lost) & 0xFFFFFF));
  StoreBe32(p + 8, block.extended_highest_sequence);
  StoreBe32(p + 12, block.jitter);
  StoreBe32(p + 16, block.lsr);
  StoreBe32(p + 20, block.dlsr);
}

ReportBlock LoadReportBlock(const uint8_t* p) {
  ReportBlock block;
  block.ssrc = LoadBe32(p);
  const uint32_t word = LoadBe32(p + 4);
  block.fraction_lost = static_cast<uint8_t>(word >> 24);
  const uint32_t lost = word & 0xFFFFFF;
  block.cumulative_lost = static_cast<int32_t>(lost ^ 0x800000) - 0x800000;  // sign-extend 24 bits
  block.extended_highest_sequence = LoadBe32(p + 8);
  block.jitter = LoadBe32(p + 12);
  block.lsr = LoadBe32(p + 16);
  block.dlsr = LoadBe32(p + 20);
  return block;
}

// SR/RR body (after the 4-byte header), `count` = RC.
RtcpParseStatus ParseReport(const uint8_t* body, size_t body_size, uint8_t type, uint8_t count,
                            RtcpCompound& out) {
  const size_t fixed = 4 + (type == kRtcpSenderReport ? kSenderInfoSize : 0);
  if (body_size < fixed + count * kReportBlockSize) [[unlikely]] {
    return RtcpParseStatus::kBadReportCount;
  }
  // The first packet of the compound (always SR or RR) names the reporter; later
  // SR/RR packets (more than 31 sources, 6.4.2) only add blocks.
  if (out.packet_count == 1) {
    out.reporter_ssrc = LoadBe32(body);
    if (type == kRtcpSenderReport) {
      out.has_sender_report = true;
      out.sender_info.ntp = {LoadBe32(body + 4), LoadBe32(body + 8)};
      out.sender_info.rtp_timestamp = LoadBe32(body + 12);
      out.sender_info.packet_count = LoadBe32(body + 16);
      out.sender_info.octet_count = LoadBe32(body + 20);
    }
  }
  // Anything after the blocks is a profile-specific extension (6.4.1): skipped.
  const uint8_t* p = body + fixed;
  for (uint8_t i = 0; i < count; ++i, p += kReportBlockSize) {
    if (out.report_block_count < RtcpCompound::kMaxReportBlocks) {
      out.report_blocks[out.report_block_count++] = LoadReportBlock(p);
    } else {
      ++out.report_blocks_dropped;
    }
  }
  return RtcpParseStatus::kOk;
}

// SDES body (6.5): `count` chunks, each an SSRC, items, a null octet and padding to the
// next 32-bit boundary. Offsets are relative to the packet start, which is aligned.
RtcpParseStatus ParseSdes(const uint8_t* packet, size_t size, uint8_t count, RtcpCompound& out) {
  size_t pos = kHeaderSize;
  for (uint8_t chunk = 0; chunk < count; ++chunk) {
    if (size - pos < 4) [[unlikely]] {
      return RtcpParseStatus::kBadSdes;
    }
    const uint32_t ssrc = LoadBe32(packet + pos);
    pos += 4;
    bool cname_seen = false;
    for (;;) {
      if (pos >= size) [[unlikely]] {
        return RtcpParseStatus::kBadSdes;  // no END item
      }
      const uint8_t type = packet[pos];
      if (type == kSdesEnd) {
        pos = (pos + 4) & ~size_t{3};  // the null octet plus padding to the boundary
        if (pos > size) [[unlikely]] {
          return RtcpParseStatus::kBadSdes;
        }
        break;
      }
      if (size - pos < 2 || size - pos - 2 < packet[pos + 1]) [[unlikely]] {
        return RtcpParseStatus::kBadSdes;
      }
      const uint8_t length = packet[pos + 1];
      if (type == kSdesCname && !cname_seen) {
        cname_seen = true;
        if (out.cname_count < RtcpCompound::kMaxCnames) {
          out.cnames[out.cname_count++] = {
              ssrc, std::string_view(reinterpret_cast<const char*>(packet + pos + 2), length)};
        } else {
          ++out.cnames_dropped;
        }
      }
      pos += 2u + length;
    }
  }
  return RtcpParseStatus::kOk;
}

// BYE body (6.6): SC SSRC/CSRCs, then optionally a length octet and a reason.
RtcpParseStatus ParseBye(const uint8_t* packet, size_t size, uint8_t count, RtcpCompound& out) {
  size_t pos = kHeaderSize;
  if (size - pos < 4u * count) [[unlikely]] {
    return RtcpParseStatus::kBadBye;
  }
  out.has_bye = true;
  for (uint8_t i = 0; i < count; ++i, pos += 4) {
    if (out.bye_ssrc_count < RtcpCompound::kMaxByeSsrcs) {
      out.bye_ssrcs[out.bye_ssrc_count++] = LoadBe32(packet + pos);
    } else {
      ++out.bye_ssrcs_dropped;
    }
  }
  if (pos < size) {
    const uint8_t length = packet[pos];
    if (size - pos - 1 < length) [[unlikely]] {
      return RtcpParseStatus::kBadBye;
    }
    out.bye_reason = std::string_view(reinterpret_cast<const char*>(packet + pos + 1), length);
  }
  return RtcpParseStatus::kOk;
}

}  // namespace

const char* RtcpParseStatusName(RtcpParseStatus status) {
  switch (status) {
    case RtcpParseStatus::kOk:
      return "ok";
    case RtcpParseStatus::kTruncated:
      return "truncated";
    case RtcpParseStatus::kBadVersion:
      return "bad_version";
    case RtcpParseStatus::kNotReport:
      return "not_report";
    case RtcpParseStatus::kBadPadding:
      return "bad_padding";
    case RtcpParseStatus::kBadReportCount:
      return "bad_report_count";
    case RtcpParseStatus::kBadSdes:
      return "bad_sdes";
    case RtcpParseStatus::kBadBye:
      return "bad_bye";
  }
  return "unknown";
}

RtcpParseStatus ParseRtcp(std::span<const uint8_t> packet, RtcpCompound& out) {
  out = RtcpCompound{};
  const uint8_t* data = packet.data();
  const size_t total = packet.size();
  size_t offset = 0;
  if (total < kHeaderSize) [[unlikely]] {
    return RtcpParseStatus::kTruncated;
  }
  while (offset < total) {
    if (total - offset < kHeaderSize) [[unlikely]] {
      return RtcpParseStatus::kTruncated;
    }
    const uint8_t* p = data + offset;
    if ((p[0] >> 6) != kRtpVersion) [[unlikely]] {
      return RtcpParseStatus::kBadVersion;
    }
    const bool padding = (p[0] & 0x20) != 0;
    const uint8_t count = p[0] & 0x1F;
    const uint8_t type = p[1];
    const size_t size = (static_cast<size_t>(LoadBe16(p + 2)) + 1) * 4;
    if (size > total - offset) [[unlikely]] {
      return RtcpParseStatus::kTruncated;
    }
    ++out.packet_count;
    // A.2: the compound starts with SR or RR, without padding.
    if (out.packet_count == 1 && (type != kRtcpSenderReport && type != kRtcpReceiverReport)) [[unlikely]] {
      return RtcpParseStatus::kNotReport;
    }
    size_t content = size;
    if (padding) {
      // Only the last packet may be padded (A.2); the count includes itself.
      const uint8_t pad = p[size - 1];
      if (offset + size != total || out.packet_count == 1 || pad == 0 || pad > size - kHeaderSize)
          [[unlikely]] {
        return RtcpParseStatus::kBadPadding;
      }
      content -= pad;
    }
    RtcpParseStatus status = RtcpParseStatus::kOk;
    switch (type) {
      case kRtcpSenderReport:
      case kRtcpReceiverReport:
        status = ParseReport(p + kHeaderSize, content - kHeaderSize, type, count, out);
        break;
      case kRtcpSourceDescription:
        status = ParseSdes(p, content, count, out);
        break;
      case kRtcpBye:
        status = ParseBye(p, content, count, out);
        break;
      default:
        ++out.unknown_packets;
        break;
    }
    if (status != RtcpParseStatus::kOk) [[unlikely]] {
      return status;
    }
    offset += size;
  }
  return RtcpParseStatus::kOk;
}

uint8_t* RtcpWriter::Reserve(size_t bytes) {
  if (buffer_.size() - size_ < bytes) return nullptr;
  return buffer_.data() + size_;
}

void RtcpWriter::WriteReport(uint8_t type, uint32_t ssrc, const SenderInfo* info,
                             std::span<const ReportBlock> blocks) {
  const size_t bytes =
      kHeaderSize + 4 + (info != nullptr ? kSenderInfoSize : 0) + blocks.size() * kReportBlockSize;
  uint8_t* p = buffer_.data() + size_;
  StoreHeader(p, false, static_cast<uint8_t>(blocks.size()), type, bytes);
  StoreBe32(p + 4, ssrc);
  uint8_t* q = p + 8;
  if (info != nullptr) {
    StoreBe32(q, info->ntp.seconds);
    StoreBe32(q + 4, info->ntp.fraction);
    StoreBe32(q + 8, info->rtp_timestamp);
    StoreBe32(q + 12, info->packet_count);
    StoreBe32(q + 16, info->octet_count);
    q += kSenderInfoSize;
  }
  for (const ReportBlock& block : blocks) {
    StoreReportBlock(q, block);
    q += kReportBlockSize;
  }
  size_ += bytes;
}

bool RtcpWriter::AddSenderReport(uint32_t ssrc, const SenderInfo& info, std::span<const ReportBlock> blocks) {
  const size_t bytes = kHeaderSize + 4 + kSenderInfoSize + blocks.size() * kReportBlockSize;
  if (blocks.size() > kMaxReportBlocksPerPacket || Reserve(bytes) == nullptr) return false;
  WriteReport(kRtcpSenderReport, ssrc, &info, blocks);
  return true;
}

bool RtcpWriter::AddReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks) {
  const size_t bytes = kHeaderSize + 4 + blocks.size() * kReportBlockSize;
  if (blocks.size() > kMaxReportBlocksPerPacket || Reserve(bytes) == nullptr) return false;
  WriteReport(kRtcpReceiverReport, ssrc, nullptr, blocks);
  return true;
}

bool RtcpWriter::AddSdesCname(uint32_t ssrc, std::string_view cname) {
  if (size_ == 0 || cname.empty() || cname.size() > 255) return false;
  // SSRC, CNAME item, END and padding to the boundary (at least one null octet).
  const size_t chunk = (4 + 2 + cname.size() + 4) & ~size_t{3};
  const size_t bytes = kHeaderSize + chunk;
  uint8_t* p = Reserve(bytes);
  if (p == nullptr) return false;
  std::memset(p, 0, bytes);
  StoreHeader(p, false, 1, kRtcpSourceDescription, bytes);
  StoreBe32(p + 4, ssrc);
  p[8] = kSdesCname;
  p[9] = static_cast<uint8_t>(cname.size());
  std::memcpy(p + 10, cname.data(), cname.size());
  size_ += bytes;
  return true;
}

bool RtcpWriter::AddBye(std::span<const uint32_t> ssrcs, std::string_view reason) {
  if (size_ == 0 || ssrcs.size() > kMaxReportBlocksPerPacket || reason.size() > 255) return false;
  const size_t reason_bytes = reason.empty() ? 0 : (1 + reason.size() + 3) & ~size_t{3};
  const size_t bytes = kHeaderSize + 4 * ssrcs.size() + reason_bytes;
  uint8_t* p = Reserve(bytes);
  if (p == nullptr) return false;
  std::memset(p, 0, bytes);
  StoreHeader(p, false, static_cast<uint8_t>(ssrcs.size()), kRtcpBye, bytes);
  size_t pos = kHeaderSize;
  for (uint32_t ssrc : ssrcs) {
    StoreBe32(p + pos, ssrc);
    pos += 4;
  }
  if (!reason.empty()) {
    p[pos] = static_cast<uint8_t>(reason.size());
    std::memcpy(p + pos + 1, reason.data(), reason.size());
  }
  size_ += bytes;
  return true;
}

}  // namespace linegate::media::rtp
