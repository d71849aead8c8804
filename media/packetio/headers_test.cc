#include "media/packetio/headers.h"

#include <gtest/gtest.h>

#include "media/packetio/test_frames.h"

namespace linegate::media::packetio {
namespace {

using net::DropReason;
using net::FrameKind;
using testing::FrameSpec;
using testing::V4;

const net::MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0x01};

net::ParseContext Context() {
  net::ParseContext context;
  context.mac = kOurMac;
  context.ipv4 = {192, 0, 2, 1};
  context.has_ipv6 = true;
  context.ipv6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  context.ipv6_link_local = net::LinkLocalFromMac(kOurMac);
  return context;
}

FrameSpec Rtp() {
  FrameSpec spec;
  spec.destination_mac = kOurMac;
  spec.source_ip = V4(192, 0, 2, 50);
  spec.destination_ip = V4(192, 0, 2, 1);
  spec.payload.assign(172, 0x80);
  return spec;
}

FrameSpec Rtp6() {
  FrameSpec spec = Rtp();
  spec.ipv6 = true;
  spec.source_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50};
  spec.destination_ip = Context().ipv6;
  return spec;
}

net::ParsedFrame Parse(const std::vector<uint8_t>& frame, const net::ParseContext& context = Context()) {
  net::ParsedFrame parsed;
  net::ParseFrame(frame.data(), frame.size(), context, net::HwChecksum::kUnknown, parsed);
  return parsed;
}

DropReason Reason(const std::vector<uint8_t>& frame, const net::ParseContext& context = Context()) {
  const net::ParsedFrame parsed = Parse(frame, context);
  return parsed.kind == FrameKind::kDrop ? parsed.reason : DropReason::kCount;
}

TEST(Checksum, MatchesRfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(net::ChecksumFinish(net::ChecksumAdd(data, sizeof(data))), static_cast<uint16_t>(~0xddf2));
  // Odd length and chaining: the same bytes in two chunks (the first even).
  const uint64_t chained = net::ChecksumAdd(data + 2, 5, net::ChecksumAdd(data, 2));
  const uint8_t odd[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6};
  EXPECT_EQ(net::ChecksumFinish(chained), net::ChecksumFinish(net::ChecksumAdd(odd, sizeof(odd))));
}

TEST(Checksum, KnownIpv4Header) {
  // A header whose checksum is commonly worked by hand: b861.
  const uint8_t header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(net::Ipv4HeaderChecksum(header, sizeof(header)), 0xb861);
}

TEST(ParseFrame, AcceptsUdpOverIpv4AndIpv6) {
  for (const FrameSpec& spec : {Rtp(), Rtp6()}) {
    const auto frame = testing::BuildUdp(spec);
    const net::ParsedFrame parsed = Parse(frame);
    ASSERT_EQ(parsed.kind, FrameKind::kUdp) << net::DropReasonName(parsed.reason);
    EXPECT_EQ(parsed.source_port, 40000);
    EXPECT_EQ(parsed.destination_port, 20000);
    EXPECT_EQ(parsed.l4_length, 180);
    EXPECT_TRUE(net::VerifyUdpChecksum(frame.data(), parsed));
  }
}

TEST(ParseFrame, UdpChecksums) {
  FrameSpec spec = Rtp();
  spec.bad_udp_checksum = true;
  auto frame = testing::BuildUdp(spec);
  EXPECT_FALSE(net::VerifyUdpChecksum(frame.data(), Parse(frame)));
  spec.bad_udp_checksum = false;
  spec.zero_udp_checksum = true;  // IPv4: no checksum
  frame = testing::BuildUdp(spec);
  EXPECT_TRUE(net::VerifyUdpChecksum(frame.data(), Parse(frame)));
  FrameSpec spec6 = Rtp6();
  spec6.zero_udp_checksum = true;  // IPv6: mandatory
  frame = testing::BuildUdp(spec6);
  EXPECT_FALSE(net::VerifyUdpChecksum(frame.data(), Parse(frame)));
}

TEST(ParseFrame, VlanTag) {
  FrameSpec spec = Rtp();
  spec.vlan_id = 100;
  const auto tagged = testing::BuildUdp(spec);
  EXPECT_EQ(Reason(tagged), DropReason::kVlanMismatch);  // we are untagged
  net::ParseContext context = Context();
  context.vlan_id = 100;
  const net::ParsedFrame parsed = Parse(tagged, context);
  EXPECT_EQ(parsed.kind, FrameKind::kUdp);
  EXPECT_TRUE(parsed.vlan);
  EXPECT_EQ(parsed.l3_offset, 18);
  EXPECT_EQ(Reason(testing::BuildUdp(Rtp()), context), DropReason::kVlanMismatch);  // untagged
  context.vlan_id = 101;
  EXPECT_EQ(Reason(tagged, context), DropReason::kVlanMismatch);
  spec.vlan_id = 0;  // priority-tagged: untagged traffic
  EXPECT_EQ(Parse(testing::BuildUdp(spec)).kind, FrameKind::kUdp);
  EXPECT_EQ(Reason(testing::BuildUdp(spec), context), DropReason::kVlanMismatch);
}

TEST(ParseFrame, Ipv4Anomalies) {
  FrameSpec spec = Rtp();
  spec.ipv4_options = 8;
  const net::ParsedFrame options = Parse(testing::BuildUdp(spec));
  EXPECT_EQ(options.kind, FrameKind::kUdp);
  EXPECT_TRUE(options.ipv4_options);
  EXPECT_EQ(options.l4_offset, 14 + 28);

  spec = Rtp();
  spec.bad_ip_checksum = true;
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv4BadChecksum);
  net::ParsedFrame offloaded;
  const auto frame = testing::BuildUdp(spec);
  net::ParseFrame(frame.data(), frame.size(), Context(), net::HwChecksum::kGood, offloaded);
  EXPECT_EQ(offloaded.kind, FrameKind::kUdp);  // the NIC vouched for it

  spec = Rtp();
  spec.fragment = 0x2000;  // more fragments
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv4Fragment);
  spec.fragment = 0x0010;  // an offset
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv4Fragment);
  spec.fragment = 0x4000;  // DF alone is fine
  EXPECT_EQ(Parse(testing::BuildUdp(spec)).kind, FrameKind::kUdp);

  spec = Rtp();
  spec.ip_version = 5;
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv4BadVersion);

  spec = Rtp();
  spec.destination_ip = V4(192, 0, 2, 2);
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv4NotForUs);
  spec = Rtp();
  spec.protocol = 6;  // TCP
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpUnsupportedProtocol);
}

TEST(ParseFrame, Truncations) {
  const auto frame = testing::BuildUdp(Rtp());
  auto cut = [&](size_t length) { return std::vector<uint8_t>(frame.begin(), frame.begin() + length); };
  EXPECT_EQ(Reason(cut(10)), DropReason::kEthernetTruncated);
  EXPECT_EQ(Reason(cut(14 + 12)), DropReason::kIpv4Truncated);
  EXPECT_EQ(Reason(cut(14 + 20 + 4)), DropReason::kIpv4Truncated);  // total length says more
  EXPECT_EQ(Reason(cut(frame.size() - 1)), DropReason::kIpv4Truncated);

  FrameSpec spec = Rtp();
  spec.udp_length = 0;
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kUdpBadLength);
  spec.udp_length = 400;  // beyond the IP payload
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kUdpBadLength);
  spec = Rtp();
  spec.payload.clear();  // an empty datagram (a NAT keepalive) is valid
  EXPECT_EQ(Parse(testing::BuildUdp(spec)).kind, FrameKind::kUdp);
}

TEST(ParseFrame, EthernetPaddingIsIgnored) {
  FrameSpec spec = Rtp();
  spec.payload.assign(4, 1);
  auto frame = testing::BuildUdp(spec);
  frame.resize(60, 0);
  const net::ParsedFrame parsed = Parse(frame);
  ASSERT_EQ(parsed.kind, FrameKind::kUdp);
  EXPECT_EQ(parsed.l4_length, 12);
  EXPECT_TRUE(net::VerifyUdpChecksum(frame.data(), parsed));
}

TEST(ParseFrame, EthernetFilters) {
  FrameSpec spec = Rtp();
  spec.destination_mac = {0x02, 0, 0, 0, 0, 0x02};
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kEthernetOtherMac);
  auto frame = testing::BuildUdp(Rtp());
  net::Store16(frame.data() + 12, 0x88cc);  // LLDP
  EXPECT_EQ(Reason(frame), DropReason::kEthernetUnknownType);
}

TEST(ParseFrame, Ipv6Rules) {
  FrameSpec spec = Rtp6();
  spec.next_header_override = 0;  // hop-by-hop options
  spec.protocol = 0;
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv6ExtensionHeader);
  spec = Rtp6();
  spec.destination_ip[15] = 2;
  EXPECT_EQ(Reason(testing::BuildUdp(spec)), DropReason::kIpv6NotForUs);
  net::ParseContext v4_only = Context();
  v4_only.has_ipv6 = false;
  EXPECT_EQ(Reason(testing::BuildUdp(Rtp6()), v4_only), DropReason::kIpv6Disabled);

  // A solicitation to our solicited-node group is for us.
  FrameSpec ns = Rtp6();
  const auto group = net::SolicitedNodeAddress(Context().ipv6);
  ns.destination_ip = group;
  ns.destination_mac = net::Ipv6MulticastMac(group.data());
  const net::ParsedFrame parsed = Parse(testing::BuildNeighbourSolicitation(ns, Context().ipv6));
  EXPECT_EQ(parsed.kind, FrameKind::kIcmpv6) << net::DropReasonName(parsed.reason);
}

TEST(ParseFrame, ArpAndIcmp) {
  FrameSpec spec = Rtp();
  spec.destination_mac = net::kBroadcastMac;
  auto arp = testing::BuildArp(spec, net::kArpRequest, {});
  EXPECT_EQ(Parse(arp).kind, FrameKind::kArp);
  arp[14 + 4] = 8;  // hardware address length
  EXPECT_EQ(Reason(arp), DropReason::kArpMalformed);

  FrameSpec ping = Rtp();
  ping.payload.assign(56, 0x42);
  auto echo = testing::BuildIcmpEcho(ping, 1, 1);
  EXPECT_EQ(Parse(echo).kind, FrameKind::kIcmpv4);
  echo[14 + 20 + 8] ^= 1;  // payload changed, checksum not
  EXPECT_EQ(Reason(echo), DropReason::kIcmpMalformed);
}

TEST(Addresses, Ipv6Helpers) {
  const net::MacAddress mac = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
  const auto link_local = net::LinkLocalFromMac(mac);
  const std::array<uint8_t, 16> expected = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                                            0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  EXPECT_EQ(link_local, expected);
  const auto group = net::SolicitedNodeAddress(link_local);
  EXPECT_EQ(group[0], 0xff);
  EXPECT_EQ(group[12], 0xff);
  EXPECT_EQ(group[15], 0x55);
  const net::MacAddress group_mac = {0x33, 0x33, 0xff, 0x33, 0x44, 0x55};
  EXPECT_EQ(net::Ipv6MulticastMac(group.data()), group_mac);
}

TEST(DropReason, EveryReasonHasAName) {
  for (size_t i = 0; i < static_cast<size_t>(DropReason::kCount); ++i) {
    EXPECT_NE(net::DropReasonName(static_cast<DropReason>(i)), "unknown");
  }
}

}  // namespace
}  // namespace linegate::media::packetio
