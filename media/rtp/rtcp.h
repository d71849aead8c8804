#pragma once
// RTCP (RFC 3550 6): building and parsing compound packets of SR, RR with report
// blocks, SDES CNAME and BYE (6.4, 6.5, 6.6), validated as Appendix A.2 describes.
//
// The parser is zero-copy and fixed-capacity: it fills a caller's RtcpCompound whose
// text fields point into the packet, counts what did not fit instead of allocating,
// and skips packet types it does not know (APP, RFC 4585 feedback, XR) by their length.
// The writer appends to a caller buffer and refuses, leaving the buffer as it was,
// anything that does not fit.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "media/rtp/ntp_time.h"

namespace linegate::media::rtp {

// RTCP packet types (RFC 3550 12.1).
inline constexpr uint8_t kRtcpSenderReport = 200;
inline constexpr uint8_t kRtcpReceiverReport = 201;
inline constexpr uint8_t kRtcpSourceDescription = 202;
inline constexpr uint8_t kRtcpBye = 203;
inline constexpr uint8_t kRtcpApp = 204;
// SDES item types (6.5).
inline constexpr uint8_t kSdesEnd = 0;
inline constexpr uint8_t kSdesCname = 1;

// Five bits of report count / source count (6.4.1).
inline constexpr size_t kMaxReportBlocksPerPacket = 31;
inline constexpr size_t kReportBlockSize = 24;

// One reception report block (6.4.1).
struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;    // 8-bit fixed point, lost / expected * 256
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;  // timestamp units
  uint32_t lsr = 0;     // compact NTP of the last SR received, 0 = none
  uint32_t dlsr = 0;    // 1/65536 s since then
  bool operator==(const ReportBlock&) const = default;
};

// The sender info of an SR (6.4.1).
struct SenderInfo {
  NtpTimestamp ntp;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  bool operator==(const SenderInfo&) const = default;
};

struct SdesCnameItem {
  uint32_t ssrc = 0;
  std::string_view cname;  // points into the parsed packet
};

// Everything a compound packet said, in fixed capacity.
struct RtcpCompound {
  static constexpr size_t kMaxReportBlocks = 31;
  static constexpr size_t kMaxCnames = 8;
  static constexpr size_t kMaxByeSsrcs = 31;

  size_t packet_count = 0;     // RTCP packets in the compound
  size_t unknown_packets = 0;  // skipped by length (APP, feedback, XR, ...)
  // The first SR or RR.
  bool has_sender_report = false;
  uint32_t reporter_ssrc = 0;
  SenderInfo sender_info;
  // Report blocks of every SR/RR in the compound, in order.
  std::array<ReportBlock, kMaxReportBlocks> report_blocks{};
  size_t report_block_count = 0;
  size_t report_blocks_dropped = 0;  // beyond capacity
  std::array<SdesCnameItem, kMaxCnames> cnames{};
  size_t cname_count = 0;
  size_t cnames_dropped = 0;
  bool has_bye = false;
  std::array<uint32_t, kMaxByeSsrcs> bye_ssrcs{};
  size_t bye_ssrc_count = 0;
  size_t bye_ssrcs_dropped = 0;
  std::string_view bye_reason;

  std::span<const ReportBlock> blocks() const { return {report_blocks.data(), report_block_count}; }
};

enum class RtcpParseStatus : uint8_t {
  kOk = 0,
  kTruncated,       // shorter than a header, or a length field beyond the datagram
  kBadVersion,      // V != 2 in any packet
  kNotReport,       // the first packet is not SR or RR (6.1, A.2)
  kBadPadding,      // P on a packet other than the last, or a count that does not fit
  kBadReportCount,  // RC report blocks do not fit in the SR/RR length
  kBadSdes,         // an SDES chunk or item runs past its packet
  kBadBye,          // SC sources or the reason run past the BYE
};
inline constexpr size_t kRtcpParseStatusCount = 8;

const char* RtcpParseStatusName(RtcpParseStatus status);

// Parses a compound packet. On anything but kOk, `out` holds what was parsed before the
// fault and must not be acted on.
RtcpParseStatus ParseRtcp(std::span<const uint8_t> packet, RtcpCompound& out);

// Appends RTCP packets into one compound packet in a caller buffer. The first packet
// must be an SR or RR (6.1); each Add* returns false and writes nothing if the packet is
// invalid or does not fit.
class RtcpWriter {
 public:
  explicit RtcpWriter(std::span<uint8_t> buffer) : buffer_(buffer) {}

  bool AddSenderReport(uint32_t ssrc, const SenderInfo& info, std::span<const ReportBlock> blocks);
  bool AddReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks);
  // One chunk with a CNAME item (1..255 octets; 6.5.1).
  bool AddSdesCname(uint32_t ssrc, std::string_view cname);
  // BYE for up to 31 sources, with an optional reason of up to 255 octets (6.6).
  bool AddBye(std::span<const uint32_t> ssrcs, std::string_view reason = {});

  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return buffer_.first(size_); }

 private:
  uint8_t* Reserve(size_t bytes);
  void WriteReport(uint8_t type, uint32_t ssrc, const SenderInfo* info, std::span<const ReportBlock> blocks);

  std::span<uint8_t> buffer_;
  size_t size_ = 0;
};

}  // namespace linegate::media::rtp
