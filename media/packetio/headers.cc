#include "media/packetio/headers.h"

#include <bit>

namespace linegate::media::packetio::net {
namespace {

constexpr std::string_view kDropReasonNames[] = {
    "eth_truncated",
    "eth_other_mac",
    "eth_unknown_type",
    "vlan_mismatch",
    "oversize",
    "arp_malformed",
    "arp_not_for_us",
    "ipv4_truncated",
    "ipv4_bad_version",
    "ipv4_bad_header_length",
    "ipv4_bad_checksum",
    "ipv4_fragment",
    "ipv4_not_for_us",
    "ipv6_disabled",
    "ipv6_truncated",
    "ipv6_bad_version",
    "ipv6_extension_header",
    "ipv6_not_for_us",
    "ip_unsupported_protocol",
    "icmp_malformed",
    "icmp_ignored",
    "udp_truncated",
    "udp_bad_length",
    "udp_bad_checksum",
    "udp_port_closed",
    "tx_bad_flow",
    "tx_oversize",
    "tx_no_route",
    "tx_neighbour_unresolved",
    "tx_no_buffer",
    "tx_ring_full",
    "icmp_rate_limited",
};
static_assert(std::size(kDropReasonNames) == static_cast<size_t>(DropReason::kCount));

uint64_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

bool IsIpv6ExtensionHeader(uint8_t next_header) {
  switch (next_header) {
    case 0:    // hop-by-hop options
    case 43:   // routing
    case 44:   // fragment
    case 50:   // ESP
    case 51:   // AH
    case 59:   // no next header
    case 60:   // destination options
    case 135:  // mobility
      return true;
    default:
      return false;
  }
}

void Drop(ParsedFrame& out, DropReason reason) {
  out.kind = FrameKind::kDrop;
  out.reason = reason;
}

// The UDP header at `l4`, with `available` bytes of IP payload (padding excluded).
void ParseUdp(const uint8_t* l4, size_t available, ParsedFrame& out) {
  if (available < kUdpHeaderSize) return Drop(out, DropReason::kUdpTruncated);
  const uint16_t udp_length = Load16(l4 + 4);
  if (udp_length < kUdpHeaderSize || udp_length > available) return Drop(out, DropReason::kUdpBadLength);
  out.kind = FrameKind::kUdp;
  out.l4_length = udp_length;
  out.source_port = Load16(l4);
  out.destination_port = Load16(l4 + 2);
}

void ParseIpv4(const uint8_t* frame, size_t length, const ParseContext& context, HwChecksum ip_checksum,
               ParsedFrame& out) {
  const size_t available = length - out.l3_offset;
  const uint8_t* ip = frame + out.l3_offset;
  out.ip_version = 4;
  if (available < kIpv4HeaderSize) return Drop(out, DropReason::kIpv4Truncated);
  if ((ip[0] >> 4) != 4) return Drop(out, DropReason::kIpv4BadVersion);
  const size_t header_length = size_t{ip[0] & 0x0fu} * 4;
  if (header_length < kIpv4HeaderSize) return Drop(out, DropReason::kIpv4BadHeaderLength);
  const size_t total_length = Load16(ip + 2);
  // Shorter than the frame is fine (Ethernet pads to 60 bytes); longer is not.
  if (header_length > available || total_length < header_length || total_length > available) {
    return Drop(out, DropReason::kIpv4Truncated);
  }
  if (ip_checksum == HwChecksum::kBad ||
      (ip_checksum == HwChecksum::kUnknown && !ChecksumValid(ChecksumAdd(ip, header_length)))) {
    return Drop(out, DropReason::kIpv4BadChecksum);
  }
  out.ipv4_options = header_length > kIpv4HeaderSize;
  if ((Load16(ip + 6) & 0x3fff) != 0) return Drop(out, DropReason::kIpv4Fragment);  // MF or offset
  if (std::memcmp(ip + 16, context.ipv4.data(), 4) != 0) return Drop(out, DropReason::kIpv4NotForUs);
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + header_length);
  const size_t l4_available = total_length - header_length;
  const uint8_t* l4 = ip + header_length;
  switch (ip[9]) {
    case kProtocolUdp:
      return ParseUdp(l4, l4_available, out);
    case kProtocolIcmp:
      if (l4_available < kIcmpHeaderSize || !ChecksumValid(ChecksumAdd(l4, l4_available))) {
        return Drop(out, DropReason::kIcmpMalformed);
      }
      if (l4[0] != kIcmpEchoRequest || l4[1] != 0) return Drop(out, DropReason::kIcmpIgnored);
      out.kind = FrameKind::kIcmpv4;
      out.l4_length = static_cast<uint16_t>(l4_available);
      return;
    default:
      return Drop(out, DropReason::kIpUnsupportedProtocol);
  }
}

void ParseIpv6(const uint8_t* frame, size_t length, const ParseContext& context, ParsedFrame& out) {
  const size_t available = length - out.l3_offset;
  const uint8_t* ip = frame + out.l3_offset;
  out.ip_version = 6;
  if (!context.has_ipv6) return Drop(out, DropReason::kIpv6Disabled);
  if (available < kIpv6HeaderSize) return Drop(out, DropReason::kIpv6Truncated);
  if ((ip[0] >> 4) != 6) return Drop(out, DropReason::kIpv6BadVersion);
  const size_t payload_length = Load16(ip + 4);
  if (kIpv6HeaderSize + payload_length > available) return Drop(out, DropReason::kIpv6Truncated);
  const uint8_t next_header = ip[6];
  const uint8_t* destination = ip + 24;
  bool for_us = std::memcmp(destination, context.ipv6.data(), 16) == 0 ||
                std::memcmp(destination, context.ipv6_link_local.data(), 16) == 0;
  if (!for_us && next_header == kProtocolIcmpv6) {
    // Neighbour solicitations go to the solicited-node group of the target.
    for_us = std::memcmp(destination, SolicitedNodeAddress(context.ipv6).data(), 16) == 0 ||
             std::memcmp(destination, SolicitedNodeAddress(context.ipv6_link_local).data(), 16) == 0;
  }
  if (!for_us) return Drop(out, DropReason::kIpv6NotForUs);
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + kIpv6HeaderSize);
  const uint8_t* l4 = ip + kIpv6HeaderSize;
  switch (next_header) {
    case kProtocolUdp:
      return ParseUdp(l4, payload_length, out);
    case kProtocolIcmpv6: {
      if (payload_length < kIcmpHeaderSize) return Drop(out, DropReason::kIcmpMalformed);
      const uint64_t sum = PseudoHeaderSum(ip, kProtocolIcmpv6, static_cast<uint32_t>(payload_length)) +
                           ChecksumAdd(l4, payload_length);
      if (!ChecksumValid(sum)) return Drop(out, DropReason::kIcmpMalformed);
      const uint8_t type = l4[0];
      if (type != kIcmpv6EchoRequest && type != kIcmpv6NeighbourSolicitation &&
          type != kIcmpv6NeighbourAdvertisement) {
        return Drop(out, DropReason::kIcmpIgnored);
      }
      out.kind = FrameKind::kIcmpv6;
      out.l4_length = static_cast<uint16_t>(payload_length);
      return;
    }
    default:
      return Drop(out, IsIpv6ExtensionHeader(next_header) ? DropReason::kIpv6ExtensionHeader
                                                          : DropReason::kIpUnsupportedProtocol);
  }
}

}  // namespace

IpAddress IpAddress::V4(const uint8_t* octets) {
  IpAddress address;
  address.family = 4;
  std::memcpy(address.bytes.data(), octets, 4);
  return address;
}

IpAddress IpAddress::V6(const uint8_t* octets) {
  IpAddress address;
  address.family = 6;
  std::memcpy(address.bytes.data(), octets, 16);
  return address;
}

uint64_t ChecksumAdd(const uint8_t* data, size_t length, uint64_t sum) {
  // Sum in the machine's byte order, 32 bits at a time, then fold and swap once: the
  // one's complement sum is byte-order independent (RFC 1071, section 2(B)).
  uint64_t native = 0;
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    native += (word & 0xffffffffu) + (word >> 32);
    data += 8;
    length -= 8;
  }
  if (length >= 4) {
    uint32_t word;
    std::memcpy(&word, data, 4);
    native += word;
    data += 4;
    length -= 4;
  }
  if (length >= 2) {
    uint16_t word;
    std::memcpy(&word, data, 2);
    native += word;
    data += 2;
    length -= 2;
  }
  if (length == 1) {
    const uint8_t last[2] = {data[0], 0};
    uint16_t word;
    std::memcpy(&word, last, 2);
    native += word;
  }
  auto folded = static_cast<uint16_t>(Fold(native));
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  return sum + folded;
}

uint16_t ChecksumFinish(uint64_t sum) { return static_cast<uint16_t>(~Fold(sum)); }

uint16_t Ipv4HeaderChecksum(const uint8_t* ip, size_t header_length) {
  return ChecksumFinish(ChecksumAdd(ip + 12, header_length - 12, ChecksumAdd(ip, 10)));
}

uint64_t PseudoHeaderSum(const uint8_t* ip, uint8_t protocol, uint32_t length) {
  const bool v6 = (ip[0] >> 4) == 6;
  const uint64_t sum = v6 ? ChecksumAdd(ip + 8, 32) : ChecksumAdd(ip + 12, 8);
  return sum + protocol + (length >> 16) + (length & 0xffff);
}

uint16_t TransportChecksum(const uint8_t* ip, const uint8_t* l4, uint32_t length, uint8_t protocol) {
  const uint16_t checksum = ChecksumFinish(ChecksumAdd(l4, length, PseudoHeaderSum(ip, protocol, length)));
  return (checksum == 0 && protocol == kProtocolUdp) ? 0xffff : checksum;
}

std::string_view DropReasonName(DropReason reason) {
  const auto index = static_cast<size_t>(reason);
  return index < std::size(kDropReasonNames) ? kDropReasonNames[index] : "unknown";
}

void ParseFrame(const uint8_t* frame, size_t length, const ParseContext& context, HwChecksum ip_checksum,
                ParsedFrame& out) {
  out = ParsedFrame{};
  if (length < kEthernetHeaderSize) return Drop(out, DropReason::kEthernetTruncated);
  // Ours, broadcast or multicast (the IP layer filters multicast further).
  if ((frame[0] & 1) == 0 && std::memcmp(frame, context.mac.data(), 6) != 0) {
    return Drop(out, DropReason::kEthernetOtherMac);
  }
  uint16_t ether_type = Load16(frame + 12);
  out.l3_offset = kEthernetHeaderSize;
  if (ether_type == kEtherTypeVlan) {
    if (length < kEthernetHeaderSize + kVlanTagSize) return Drop(out, DropReason::kEthernetTruncated);
    out.vlan = true;
    const int vlan_id = Load16(frame + 14) & 0x0fff;
    ether_type = Load16(frame + 16);
    out.l3_offset = kEthernetHeaderSize + kVlanTagSize;
    // VLAN 0 is a priority tag (802.1p) on an untagged network.
    const bool ours = vlan_id == context.vlan_id || (vlan_id == 0 && context.vlan_id < 0);
    if (!ours || ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinq) {
      return Drop(out, DropReason::kVlanMismatch);  // another VLAN, or stacked tags
    }
  } else if (ether_type == kEtherTypeQinq || context.vlan_id >= 0) {
    return Drop(out, DropReason::kVlanMismatch);
  }
  switch (ether_type) {
    case kEtherTypeIpv4:
      return ParseIpv4(frame, length, context, ip_checksum, out);
    case kEtherTypeIpv6:
      return ParseIpv6(frame, length, context, out);
    case kEtherTypeArp: {
      const uint8_t* arp = frame + out.l3_offset;
      if (length - out.l3_offset < kArpSize || Load16(arp) != 1 || Load16(arp + 2) != kEtherTypeIpv4 ||
          arp[4] != 6 || arp[5] != 4 || (Load16(arp + 6) != kArpRequest && Load16(arp + 6) != kArpReply)) {
        return Drop(out, DropReason::kArpMalformed);
      }
      out.kind = FrameKind::kArp;
      return;
    }
    default:
      return Drop(out, DropReason::kEthernetUnknownType);
  }
}

bool VerifyUdpChecksum(const uint8_t* frame, const ParsedFrame& parsed) {
  const uint8_t* ip = frame + parsed.l3_offset;
  const uint8_t* udp = frame + parsed.l4_offset;
  if (Load16(udp + 6) == 0) return parsed.ip_version == 4;  // IPv4: no checksum; IPv6: mandatory
  return ChecksumValid(
      ChecksumAdd(udp, parsed.l4_length, PseudoHeaderSum(ip, kProtocolUdp, parsed.l4_length)));
}

std::array<uint8_t, 16> SolicitedNodeAddress(const std::array<uint8_t, 16>& address) {
  std::array<uint8_t, 16> group = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
  group[13] = address[13];
  group[14] = address[14];
  group[15] = address[15];
  return group;
}

MacAddress Ipv6MulticastMac(const uint8_t* address) {
  return {0x33, 0x33, address[12], address[13], address[14], address[15]};
}

std::array<uint8_t, 16> LinkLocalFromMac(const MacAddress& mac) {
  return {0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<uint8_t>(mac[0] ^ 0x02),
          mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
}

}  // namespace linegate::media::packetio::net
