#pragma once
// Test helper: builds Ethernet frames (UDP over IPv4/IPv6, ARP, ICMP echo, neighbour
// solicitation) with correct checksums, and knobs to break them. Tests only.

#include <cstdint>
#include <vector>

#include "media/packetio/headers.h"

namespace linegate::media::packetio::testing {

struct FrameSpec {
  net::MacAddress destination_mac{};
  net::MacAddress source_mac = {0x02, 0, 0, 0, 0, 0x99};
  int vlan_id = -1;
  std::array<uint8_t, 16> source_ip{};       // first 4 octets for IPv4
  std::array<uint8_t, 16> destination_ip{};  // first 4 octets for IPv4
  bool ipv6 = false;
  uint8_t protocol = net::kProtocolUdp;
  uint16_t source_port = 40000;
  uint16_t destination_port = 20000;
  std::vector<uint8_t> payload;
  // Knobs.
  size_t ipv4_options = 0;  // bytes of options (multiple of 4), NOPs
  uint8_t ip_version = 0;   // 0: the right one
  bool bad_ip_checksum = false;
  bool bad_udp_checksum = false;
  bool zero_udp_checksum = false;
  uint16_t fragment = 0;  // IPv4 flags+offset field (0x2000: more fragments)
  int udp_length = -1;    // -1: the right one
  uint8_t hop_limit = 64;
  uint8_t next_header_override = 0;  // IPv6: e.g. 0 (hop-by-hop) for an extension header
};

inline std::array<uint8_t, 16> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

inline size_t PutEthernet(std::vector<uint8_t>& frame, const FrameSpec& spec, uint16_t ether_type) {
  frame.insert(frame.end(), spec.destination_mac.begin(), spec.destination_mac.end());
  frame.insert(frame.end(), spec.source_mac.begin(), spec.source_mac.end());
  uint8_t tail[6];
  size_t tail_length = 2;
  if (spec.vlan_id >= 0) {
    net::Store16(tail, net::kEtherTypeVlan);
    net::Store16(tail + 2, static_cast<uint16_t>(spec.vlan_id));
    net::Store16(tail + 4, ether_type);
    tail_length = 6;
  } else {
    net::Store16(tail, ether_type);
  }
  frame.insert(frame.end(), tail, tail + tail_length);
  return frame.size();
}

// An IP datagram carrying `l4` (its checksum field at `checksum_offset`, or none).
inline std::vector<uint8_t> BuildIp(const FrameSpec& spec, std::vector<uint8_t> l4, int checksum_offset) {
  std::vector<uint8_t> frame;
  const size_t l3 = PutEthernet(frame, spec, spec.ipv6 ? net::kEtherTypeIpv6 : net::kEtherTypeIpv4);
  if (spec.ipv6) {
    frame.resize(l3 + net::kIpv6HeaderSize);
    uint8_t* ip = frame.data() + l3;
    net::Store32(ip, uint32_t{spec.ip_version ? spec.ip_version : 6u} << 28);
    net::Store16(ip + 4, static_cast<uint16_t>(l4.size()));
    ip[6] = spec.next_header_override ? spec.next_header_override : spec.protocol;
    ip[7] = spec.hop_limit;
    std::memcpy(ip + 8, spec.source_ip.data(), 16);
    std::memcpy(ip + 24, spec.destination_ip.data(), 16);
  } else {
    const size_t header = net::kIpv4HeaderSize + spec.ipv4_options;
    frame.resize(l3 + header, 1);  // options: NOPs
    uint8_t* ip = frame.data() + l3;
    ip[0] = static_cast<uint8_t>(((spec.ip_version ? spec.ip_version : 4) << 4) | (header / 4));
    ip[1] = 0;
    net::Store16(ip + 2, static_cast<uint16_t>(header + l4.size()));
    net::Store16(ip + 4, 0x1234);
    net::Store16(ip + 6, spec.fragment);
    ip[8] = spec.hop_limit;
    ip[9] = spec.protocol;
    net::Store16(ip + 10, 0);
    std::memcpy(ip + 12, spec.source_ip.data(), 4);
    std::memcpy(ip + 16, spec.destination_ip.data(), 4);
    uint16_t checksum = net::Ipv4HeaderChecksum(ip, header);
    if (spec.bad_ip_checksum) checksum ^= 0x5a5a;
    net::Store16(ip + 10, checksum);
  }
  const size_t l4_offset = frame.size();
  frame.insert(frame.end(), l4.begin(), l4.end());
  if (checksum_offset >= 0) {
    uint8_t* ip = frame.data() + l3;
    uint8_t* transport = frame.data() + l4_offset;
    uint16_t checksum = 0;
    if (spec.protocol == net::kProtocolIcmp) {
      checksum = net::ChecksumFinish(net::ChecksumAdd(transport, l4.size()));
    } else {
      // A UDP length that lies still gets the checksum over the bytes present.
      checksum = net::TransportChecksum(ip, transport, static_cast<uint32_t>(l4.size()), spec.protocol);
    }
    if (spec.protocol == net::kProtocolUdp && spec.zero_udp_checksum) checksum = 0;
    if (spec.protocol == net::kProtocolUdp && spec.bad_udp_checksum) checksum ^= 0x00ff;
    net::Store16(transport + checksum_offset, checksum);
  }
  return frame;
}

inline std::vector<uint8_t> BuildUdp(const FrameSpec& spec) {
  std::vector<uint8_t> udp(net::kUdpHeaderSize);
  net::Store16(udp.data(), spec.source_port);
  net::Store16(udp.data() + 2, spec.destination_port);
  const size_t length = net::kUdpHeaderSize + spec.payload.size();
  net::Store16(udp.data() + 4, static_cast<uint16_t>(spec.udp_length >= 0 ? spec.udp_length : length));
  udp.insert(udp.end(), spec.payload.begin(), spec.payload.end());
  return BuildIp(spec, std::move(udp), 6);
}

inline std::vector<uint8_t> BuildIcmpEcho(FrameSpec spec, uint16_t identifier, uint16_t sequence) {
  std::vector<uint8_t> icmp(net::kIcmpHeaderSize);
  icmp[0] = spec.ipv6 ? net::kIcmpv6EchoRequest : net::kIcmpEchoRequest;
  net::Store16(icmp.data() + 4, identifier);
  net::Store16(icmp.data() + 6, sequence);
  icmp.insert(icmp.end(), spec.payload.begin(), spec.payload.end());
  spec.protocol = spec.ipv6 ? net::kProtocolIcmpv6 : net::kProtocolIcmp;
  return BuildIp(spec, std::move(icmp), 2);
}

inline std::vector<uint8_t> BuildNeighbourSolicitation(FrameSpec spec,
                                                       const std::array<uint8_t, 16>& target) {
  std::vector<uint8_t> icmp(32, 0);
  icmp[0] = net::kIcmpv6NeighbourSolicitation;
  std::memcpy(icmp.data() + 8, target.data(), 16);
  icmp[24] = 1;
  icmp[25] = 1;
  std::memcpy(icmp.data() + 26, spec.source_mac.data(), 6);
  spec.ipv6 = true;
  spec.protocol = net::kProtocolIcmpv6;
  spec.hop_limit = 255;
  return BuildIp(spec, std::move(icmp), 2);
}

inline std::vector<uint8_t> BuildArp(const FrameSpec& spec, uint16_t operation,
                                     const net::MacAddress& target_mac) {
  std::vector<uint8_t> frame;
  const size_t l3 = PutEthernet(frame, spec, net::kEtherTypeArp);
  frame.resize(l3 + net::kArpSize);
  uint8_t* arp = frame.data() + l3;
  net::Store16(arp, 1);
  net::Store16(arp + 2, net::kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  net::Store16(arp + 6, operation);
  std::memcpy(arp + 8, spec.source_mac.data(), 6);
  std::memcpy(arp + 14, spec.source_ip.data(), 4);
  std::memcpy(arp + 18, target_mac.data(), 6);
  std::memcpy(arp + 24, spec.destination_ip.data(), 4);
  frame.resize(60, 0);  // Ethernet minimum, as a NIC pads
  return frame;
}

}  // namespace linegate::media::packetio::testing
