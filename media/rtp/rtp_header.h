#pragma once
// RTP fixed header (RFC 3550 5.1): a zero-copy view of a received packet, validated
// before anything looks at it, and a writer into a caller buffer.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//    |                           timestamp                           |
//    |           synchronization source (SSRC) identifier            |
//    |            contributing source (CSRC) identifiers (CC)        |
//    | defined by profile (X)        |  extension length in words    |
//
// Nothing here allocates, locks or makes a system call; a rejected packet is reported
// with a reason for the caller to count (STYLE.md practice 4), never an exception.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace linegate::media::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr uint8_t kRtpVersion = 2;
inline constexpr size_t kMaxCsrcs = 15;

// Why a packet was dropped. Values are stable: they index counter arrays.
enum class RtpParseStatus : uint8_t {
  kOk = 0,
  kTruncated,              // shorter than the 12-byte fixed header
  kBadVersion,             // V != 2 (RFC 3550 5.1)
  kCsrcOverflow,           // CC * 4 bytes of CSRC run past the end
  kExtensionOverflow,      // extension header or its length runs past the end (5.3.1)
  kBadPadding,             // P set but the count is 0 or longer than the payload (5.1)
  kRtcpPayloadType,        // M|PT in 192..223: an RTCP packet on the RTP port (RFC 5761 4)
  kUnexpectedPayloadType,  // not in the session's accepted set (RFC 3550 A.1)
};
inline constexpr size_t kRtpParseStatusCount = 8;

const char* RtpParseStatusName(RtpParseStatus status);

// The payload types a session accepts (a 128-bit set).
class PayloadTypeSet {
 public:
  // Every payload type RFC 5761 4 leaves to RTP (0..63 and 96..127; 64..95 are
  // refused because they collide with RTCP packet types).
  static constexpr PayloadTypeSet AllRtp() {
    PayloadTypeSet set;
    set.bits_ = {~0ull, ~0ull << 32};
    return set;
  }
  constexpr PayloadTypeSet() = default;
  constexpr PayloadTypeSet& Add(uint8_t payload_type) {
    if (payload_type < 128) bits_[payload_type >> 6] |= 1ull << (payload_type & 63);
    return *this;
  }
  constexpr bool Contains(uint8_t payload_type) const {
    return payload_type < 128 && ((bits_[payload_type >> 6] >> (payload_type & 63)) & 1) != 0;
  }

 private:
  std::array<uint64_t, 2> bits_{};
};

// A validated view into a packet; it points into the caller's bytes and is valid only
// as long as they are.
struct RtpHeaderView {
  bool padding = false;
  bool extension = false;
  bool marker = false;
  uint8_t csrc_count = 0;
  uint8_t payload_type = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint16_t extension_profile = 0;           // RFC 3550 5.3.1 "defined by profile"
  std::span<const uint8_t> extension_data;  // without the 4-byte extension header
  std::span<const uint8_t> payload;         // without padding
  uint8_t padding_length = 0;               // including the count octet itself
  size_t header_length = 0;                 // fixed + CSRCs + extension
  const uint8_t* csrc_bytes = nullptr;

  uint32_t Csrc(size_t index) const;  // index < csrc_count
};

// Parses and validates `packet`. On kOk fills `view`; otherwise leaves it unspecified.
RtpParseStatus ParseRtpHeader(std::span<const uint8_t> packet, RtpHeaderView& view,
                              const PayloadTypeSet& accepted = PayloadTypeSet::AllRtp());

// What the writer puts in a header. The writer never sets P: linegate does not pad.
struct RtpHeaderFields {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;  // at most kMaxCsrcs
  bool extension = false;
  uint16_t extension_profile = 0;
  std::span<const uint8_t> extension_data;  // a multiple of 4 bytes, < 256 KiB
};

// Bytes the header takes, or 0 if the fields are invalid.
size_t RtpHeaderSize(const RtpHeaderFields& fields);

// Writes the header at the start of `out`; returns its length, or 0 (nothing written)
// if the fields are invalid or `out` is too short.
size_t WriteRtpHeader(const RtpHeaderFields& fields, std::span<uint8_t> out);

// Big-endian helpers shared by RTP and RTCP.
inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace linegate::media::rtp
