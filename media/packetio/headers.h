#pragma once
// Wire formats the DPDK backend parses and builds itself: Ethernet (with one 802.1Q
// tag), ARP, IPv4, IPv6, UDP, ICMP and ICMPv6 (echo and neighbour discovery). Nothing
// here depends on DPDK, so that parsing and checksums are tested without EAL.
//
// Fields are read and written through byte offsets and Load/Store helpers (network byte
// order), never through packed structs, so that unaligned frames are well defined.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace linegate::media::packetio::net {

using MacAddress = std::array<uint8_t, 6>;
inline constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// An IPv4 or IPv6 address without a port (IPv4 in the first four octets).
struct IpAddress {
  uint8_t family = 0;  // 4 or 6; 0: unset
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(const uint8_t* octets);
  static IpAddress V6(const uint8_t* octets);
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kVlanTagSize = 4;
inline constexpr size_t kArpSize = 28;  // Ethernet/IPv4 ARP
inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kIcmpHeaderSize = 8;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinq = 0x88a8;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

inline constexpr uint8_t kProtocolIcmp = 1;
inline constexpr uint8_t kProtocolUdp = 17;
inline constexpr uint8_t kProtocolIcmpv6 = 58;

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6NeighbourSolicitation = 135;
inline constexpr uint8_t kIcmpv6NeighbourAdvertisement = 136;

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void Store16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}
inline void Store32(uint8_t* p, uint32_t value) {
  Store16(p, static_cast<uint16_t>(value >> 16));
  Store16(p + 2, static_cast<uint16_t>(value));
}

// One's complement sum (RFC 1071) of `data`, added to `sum`, not yet folded: chain calls
// for a pseudo-header and a payload. Odd lengths are padded with a zero byte, so every
// chunk but the last must have an even length.
uint64_t ChecksumAdd(const uint8_t* data, size_t length, uint64_t sum = 0);
// The checksum field value (host order, to Store16) for a sum of the covered bytes
// with the checksum field taken as zero.
uint16_t ChecksumFinish(uint64_t sum);
// True when the covered bytes, checksum field included, sum to all ones.
inline bool ChecksumValid(uint64_t sum) { return ChecksumFinish(sum) == 0; }

// IPv4 header checksum over `header_length` bytes (the field itself taken as zero).
uint16_t Ipv4HeaderChecksum(const uint8_t* ip, size_t header_length);
// Sum of the UDP/ICMPv6 pseudo-header: addresses from the IP header `ip` (IPv4 or
// IPv6, by version nibble), protocol and upper-layer length.
uint64_t PseudoHeaderSum(const uint8_t* ip, uint8_t protocol, uint32_t length);
// Checksum field value of a UDP datagram or ICMPv6 message at `l4` (`length` bytes, its
// checksum field taken as zero) below the IP header `ip`. For UDP a result of zero is
// sent as 0xffff (zero means "no checksum" on IPv4).
uint16_t TransportChecksum(const uint8_t* ip, const uint8_t* l4, uint32_t length, uint8_t protocol);

// Why a received frame was not delivered. Stable names (DropReasonName) go to the
// bus and the docs; append only.
enum class DropReason : uint8_t {
  kEthernetTruncated,
  kEthernetOtherMac,     // unicast to another MAC (a virtual device, promiscuous port)
  kEthernetUnknownType,  // not IPv4, IPv6 or ARP
  kVlanMismatch,         // a tag other than the configured VLAN, or none when one is set
  kOversize,             // multi-segment frame or payload longer than kBufferSize
  kArpMalformed,
  kArpNotForUs,          // a request or reply about another address
  kIpv4Truncated,        // shorter than its header or its total length
  kIpv4BadVersion,       // version field not 4
  kIpv4BadHeaderLength,  // IHL < 5
  kIpv4BadChecksum,
  kIpv4Fragment,  // no reassembly: RTP is never fragmented in practice
  kIpv4NotForUs,  // another destination address (broadcast, multicast, other host)
  kIpv6Disabled,  // an IPv6 frame with no IPv6 address configured
  kIpv6Truncated,
  kIpv6BadVersion,
  kIpv6ExtensionHeader,  // any next header but UDP and ICMPv6 (no extension headers)
  kIpv6NotForUs,
  kIpUnsupportedProtocol,  // TCP, SCTP, ...
  kIcmpMalformed,          // truncated or bad checksum
  kIcmpIgnored,            // any ICMP other than echo request (and NDP on IPv6)
  kUdpTruncated,           // UDP header beyond the IP payload
  kUdpBadLength,           // UDP length < 8 or beyond the IP payload
  kUdpBadChecksum,
  kUdpPortClosed,          // no open flow on the destination port
  kTxBadFlow,              // QueueTx on a flow that is not open, or a foreign buffer
  kTxOversize,             // payload larger than the MTU allows (no fragmentation)
  kTxNoRoute,              // off-link destination and no gateway, or family not configured
  kTxNeighbourUnresolved,  // next hop's MAC not known yet (ARP/NDP request sent)
  kTxNoBuffer,             // mempool empty in AllocateTx or for a control packet
  kTxRingFull,             // the driver did not take it (after one retry)
  kIcmpRateLimited,        // an echo request beyond echo_replies_per_second
  kCount,
};
std::string_view DropReasonName(DropReason reason);

// What a frame is, once its headers passed the checks that do not need the flow table.
enum class FrameKind : uint8_t { kDrop, kUdp, kArp, kIcmpv4, kIcmpv6 };

// Checksum verdicts a NIC may have attached to the frame (DPDK ol_flags, translated).
enum class HwChecksum : uint8_t { kUnknown, kGood, kBad };

struct ParseContext {
  MacAddress mac{};
  std::array<uint8_t, 4> ipv4{};
  bool has_ipv6 = false;
  std::array<uint8_t, 16> ipv6{};             // global (configured) address
  std::array<uint8_t, 16> ipv6_link_local{};  // fe80::/64 from the MAC (EUI-64)
  int vlan_id = -1;                           // -1: untagged (or VLAN 0 priority-tagged)
};

struct ParsedFrame {
  FrameKind kind = FrameKind::kDrop;
  DropReason reason = DropReason::kCount;
  bool vlan = false;
  bool ipv4_options = false;  // IHL > 5: accepted, counted
  uint8_t ip_version = 0;
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;
  uint16_t l4_length = 0;  // UDP length / ICMP message length (padding excluded)
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
};

// Classifies `frame`: checks Ethernet, VLAN, IP header (version, length, checksum unless
// `ip_checksum` says the NIC checked it, fragments, destination) and the UDP/ICMP
// lengths. The UDP checksum is left to VerifyUdpChecksum, after the flow lookup, so
// that a flood to closed ports costs no checksum. ICMP checksums are checked here.
void ParseFrame(const uint8_t* frame, size_t length, const ParseContext& context, HwChecksum ip_checksum,
                ParsedFrame& out);
// True when the UDP checksum of a frame ParseFrame called kUdp is valid (zero on IPv4:
// no checksum, valid).
bool VerifyUdpChecksum(const uint8_t* frame, const ParsedFrame& parsed);

// The IPv6 solicited-node multicast address of `address` (ff02::1:ffXX:XXXX) and its
// Ethernet group address (33:33:ff:XX:XX:XX).
std::array<uint8_t, 16> SolicitedNodeAddress(const std::array<uint8_t, 16>& address);
MacAddress Ipv6MulticastMac(const uint8_t* address);
// fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291).
std::array<uint8_t, 16> LinkLocalFromMac(const MacAddress& mac);

}  // namespace linegate::media::packetio::net
