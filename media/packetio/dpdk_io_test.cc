// DpdkPacketIo against a ring port (rte_eth_from_rings): the test puts frames on the
// ring the port receives from and takes what the port sent off the other, in-process.
// EAL initialises once per process (a gtest environment), with --no-huge and no PCI, so
// the binary runs anywhere as root; every test makes a new DpdkPacketIo on one shared
// port (which also tests that a port is taken again after its backend is gone).
#include "media/packetio/dpdk_io.h"

#include <gtest/gtest.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

#include "media/packetio/test_frames.h"

namespace linegate::media::packetio {
namespace {

using net::DropReason;
using testing::FrameSpec;
using testing::V4;

const net::MacAddress kOurMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const net::MacAddress kPeerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
const net::MacAddress kGatewayMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
const std::array<uint8_t, 16> kOurIp = V4(192, 0, 2, 1);
const std::array<uint8_t, 16> kPeerIp = V4(192, 0, 2, 50);
const std::array<uint8_t, 16> kOurIp6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::array<uint8_t, 16> kPeerIp6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50};

rte_ring* g_to_port = nullptr;    // the port receives what the test enqueues here
rte_ring* g_from_port = nullptr;  // and transmits here
rte_mempool* g_test_pool = nullptr;
std::string g_port_name;

class DpdkEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    DpdkConfig config;
    config.no_huge = true;
    config.memory_mb = 256;
    config.no_pci = true;
    // No shared files: parallel test processes do not collide (the telemetry socket is
    // the exception: per process id).
    config.file_prefix = "linegate-test-" + std::to_string(::getpid());
    config.telemetry = true;
    Status eal = DpdkPacketIo::InitEal(config);
    ASSERT_TRUE(eal) << eal.error();
    g_to_port = rte_ring_create("lg_test_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    g_from_port = rte_ring_create("lg_test_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(g_to_port, nullptr);
    ASSERT_NE(g_from_port, nullptr);
    const int port = rte_eth_from_rings("lg_test", &g_to_port, 1, &g_from_port, 1, SOCKET_ID_ANY);
    ASSERT_GE(port, 0);
    char name[RTE_ETH_NAME_MAX_LEN];
    ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(port), name), 0);
    g_port_name = name;  // the ring PMD prefixes the name
    // Frames the test injects may be larger than the backend's buffers (oversize tests).
    g_test_pool =
        rte_pktmbuf_pool_create("lg_test_pool", 2047, 0, 0, RTE_PKTMBUF_HEADROOM + 4096, SOCKET_ID_ANY);
    ASSERT_NE(g_test_pool, nullptr);
  }
};

const auto* const g_environment = ::testing::AddGlobalTestEnvironment(new DpdkEnvironment);

std::vector<std::vector<uint8_t>> TakeSent() {
  std::vector<std::vector<uint8_t>> frames;
  void* object = nullptr;
  while (rte_ring_dequeue(g_from_port, &object) == 0) {
    auto* mbuf = static_cast<rte_mbuf*>(object);
    const auto* data = rte_pktmbuf_mtod(mbuf, const uint8_t*);
    frames.emplace_back(data, data + mbuf->data_len);
    rte_pktmbuf_free(mbuf);
  }
  return frames;
}

void Inject(const std::vector<uint8_t>& frame) {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(g_test_pool);
  ASSERT_NE(mbuf, nullptr);
  auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size())));
  ASSERT_NE(data, nullptr);
  std::memcpy(data, frame.data(), frame.size());
  ASSERT_EQ(rte_ring_enqueue(g_to_port, mbuf), 0);
}

DpdkConfig PortConfig() {
  DpdkConfig config;
  config.port = g_port_name;
  config.ipv4_address = "192.0.2.1";
  config.ipv4_prefix = 24;
  config.mac = "02:00:00:00:00:01";
  config.rx_descriptors = 256;
  config.tx_descriptors = 256;
  config.mempool_size = 4095;
  return config;
}

FrameSpec FromPeer() {
  FrameSpec spec;
  spec.destination_mac = kOurMac;
  spec.source_mac = kPeerMac;
  spec.source_ip = kPeerIp;
  spec.destination_ip = kOurIp;
  spec.source_port = 40000;
  spec.destination_port = 20000;
  spec.payload.assign(172, 0);
  for (size_t i = 0; i < spec.payload.size(); ++i) spec.payload[i] = static_cast<uint8_t>(i);
  return spec;
}

FrameSpec FromPeer6() {
  FrameSpec spec = FromPeer();
  spec.ipv6 = true;
  spec.source_ip = kPeerIp6;
  spec.destination_ip = kOurIp6;
  return spec;
}

// Parses a frame the port sent as its receiver would.
net::ParsedFrame ParseAs(const std::vector<uint8_t>& frame, const net::MacAddress& mac,
                         const std::array<uint8_t, 16>& ip, int vlan_id = -1) {
  net::ParseContext context;
  context.mac = mac;
  std::memcpy(context.ipv4.data(), ip.data(), 4);
  context.has_ipv6 = true;
  context.ipv6 = ip;
  context.ipv6_link_local = net::LinkLocalFromMac(mac);
  context.vlan_id = vlan_id;
  net::ParsedFrame parsed;
  net::ParseFrame(frame.data(), frame.size(), context, net::HwChecksum::kUnknown, parsed);
  return parsed;
}

class DpdkPacketIoTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(PortConfig()); }

  void Open(const DpdkConfig& config) {
    io_.reset();
    TakeSent();
    void* stale;
    while (rte_ring_dequeue(g_to_port, &stale) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(stale));
    auto io = DpdkPacketIo::Create(config);
    ASSERT_TRUE(io) << io.error();
    io_ = std::move(*io);
    announcement_ = TakeSent();
  }

  size_t Poll() { return io_->Receive(burst_); }

  uint64_t TotalDrops() const {
    uint64_t total = 0;
    for (size_t i = 0; i < static_cast<size_t>(DropReason::kCount); ++i)
      total += io_->drops(static_cast<DropReason>(i));
    return total;
  }

  // Sends `payload` on `flow` to `to`; returns Flush's count.
  size_t Send(FlowId flow, const Endpoint& to, const std::vector<uint8_t>& payload) {
    uint8_t* buffer = io_->AllocateTx();
    EXPECT_NE(buffer, nullptr);
    if (buffer == nullptr) return 0;
    std::memcpy(buffer, payload.data(), payload.size());
    io_->QueueTx(Packet{buffer, static_cast<uint32_t>(payload.size()), flow, to});
    return io_->Flush();
  }

  std::unique_ptr<DpdkPacketIo> io_;
  std::vector<std::vector<uint8_t>> announcement_;
  std::array<Packet, 64> burst_;
};

TEST_F(DpdkPacketIoTest, AnnouncesItsAddressWhenItStarts) {
  ASSERT_EQ(announcement_.size(), 1u);
  const auto& frame = announcement_[0];
  ASSERT_GE(frame.size(), 42u);
  EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 6, net::kBroadcastMac.begin()));
  EXPECT_EQ(net::Load16(frame.data() + 12), net::kEtherTypeArp);
  EXPECT_EQ(net::Load16(frame.data() + 14 + 6), net::kArpRequest);
  EXPECT_EQ(std::memcmp(frame.data() + 14 + 14, kOurIp.data(), 4), 0);  // sender IP
  EXPECT_EQ(std::memcmp(frame.data() + 14 + 24, kOurIp.data(), 4), 0);  // target IP
  EXPECT_EQ(io_->events(DpdkEvent::kGratuitousArpSent), 1u);
}

TEST_F(DpdkPacketIoTest, AnswersArpRequestsForItsAddressOnly) {
  FrameSpec request = FromPeer();
  request.destination_mac = net::kBroadcastMac;
  Inject(testing::BuildArp(request, net::kArpRequest, {}));
  request.destination_ip = V4(192, 0, 2, 77);  // someone else
  Inject(testing::BuildArp(request, net::kArpRequest, {}));
  EXPECT_EQ(Poll(), 0u);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const auto& reply = sent[0];
  ASSERT_EQ(reply.size(), 42u);
  EXPECT_EQ(std::memcmp(reply.data(), kPeerMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(reply.data() + 6, kOurMac.data(), 6), 0);
  const uint8_t* arp = reply.data() + 14;
  EXPECT_EQ(net::Load16(arp + 6), net::kArpReply);
  EXPECT_EQ(std::memcmp(arp + 8, kOurMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(arp + 14, kOurIp.data(), 4), 0);
  EXPECT_EQ(std::memcmp(arp + 18, kPeerMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(arp + 24, kPeerIp.data(), 4), 0);
  EXPECT_EQ(io_->events(DpdkEvent::kArpRequestsAnswered), 1u);
  EXPECT_EQ(io_->drops(DropReason::kArpNotForUs), 1u);
}

TEST_F(DpdkPacketIoTest, AnswersPing) {
  FrameSpec ping = FromPeer();
  ping.protocol = net::kProtocolIcmp;
  ping.payload.assign(56, 0xab);
  Inject(testing::BuildIcmpEcho(ping, 0x1234, 7));
  EXPECT_EQ(Poll(), 0u);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const auto& reply = sent[0];
  ASSERT_EQ(reply.size(), 14u + 20 + 8 + 56);
  EXPECT_EQ(std::memcmp(reply.data(), kPeerMac.data(), 6), 0);
  const uint8_t* ip = reply.data() + 14;
  EXPECT_TRUE(net::ChecksumValid(net::ChecksumAdd(ip, 20)));
  EXPECT_EQ(std::memcmp(ip + 12, kOurIp.data(), 4), 0);
  EXPECT_EQ(std::memcmp(ip + 16, kPeerIp.data(), 4), 0);
  const uint8_t* icmp = ip + 20;
  EXPECT_EQ(icmp[0], net::kIcmpEchoReply);
  EXPECT_EQ(net::Load16(icmp + 4), 0x1234);
  EXPECT_EQ(net::Load16(icmp + 6), 7);
  EXPECT_TRUE(net::ChecksumValid(net::ChecksumAdd(icmp, 64)));
  EXPECT_EQ(icmp[8], 0xab);
  EXPECT_EQ(io_->events(DpdkEvent::kIcmpEchoReplies), 1u);
}

TEST_F(DpdkPacketIoTest, LimitsEchoRepliesPerSecond) {
  DpdkConfig config = PortConfig();
  config.echo_replies_per_second = 3;
  Open(config);
  FrameSpec ping = FromPeer();
  for (uint16_t i = 0; i < 10; ++i) Inject(testing::BuildIcmpEcho(ping, 1, i));
  Poll();
  // Three this second (four if the poll straddled a second: the allowance renews).
  const auto replies = TakeSent().size();
  EXPECT_GE(replies, 3u);
  EXPECT_LE(replies, 6u);
  EXPECT_EQ(io_->drops(DropReason::kIcmpRateLimited), 10 - replies);
}

TEST_F(DpdkPacketIoTest, DeliversRtpToAnOpenFlowInPlace) {
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow) << flow.error();
  EXPECT_EQ(io_->LocalPort(*flow), 20000);
  EXPECT_FALSE(io_->OpenFlow(20000));  // already open
  const FrameSpec rtp = FromPeer();
  Inject(testing::BuildUdp(rtp));
  ASSERT_EQ(Poll(), 1u);
  const Packet& packet = burst_[0];
  EXPECT_EQ(packet.flow, *flow);
  EXPECT_EQ(packet.remote.ToString(), "192.0.2.50:40000");
  ASSERT_EQ(packet.length, rtp.payload.size());
  EXPECT_EQ(std::memcmp(packet.data, rtp.payload.data(), packet.length), 0);
  EXPECT_EQ(io_->counters().rx_packets, 1u);
  EXPECT_EQ(io_->counters().rx_bytes, 172u);
  EXPECT_EQ(TotalDrops(), 0u);

  // Closed: counted, not delivered.
  io_->CloseFlow(*flow);
  Inject(testing::BuildUdp(rtp));
  EXPECT_EQ(Poll(), 0u);
  EXPECT_EQ(io_->drops(DropReason::kUdpPortClosed), 1u);
}

TEST_F(DpdkPacketIoTest, DeliversBurstsLargerThanOneDriverPoll) {
  ASSERT_TRUE(io_->OpenFlow(20000));
  FrameSpec rtp = FromPeer();
  for (int i = 0; i < 100; ++i) {
    rtp.payload[0] = static_cast<uint8_t>(i);
    Inject(testing::BuildUdp(rtp));
  }
  ASSERT_EQ(Poll(), 64u);  // the whole span, over two rx bursts of 32
  // Views stay valid until the next Receive.
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(burst_[i].data[0], i);
  ASSERT_EQ(Poll(), 36u);
  EXPECT_EQ(burst_[35].data[0], 99);
  EXPECT_EQ(Poll(), 0u);
  EXPECT_EQ(io_->counters().rx_packets, 100u);
}

TEST_F(DpdkPacketIoTest, CountsJunkByReason) {
  ASSERT_TRUE(io_->OpenFlow(20000));
  const FrameSpec good = FromPeer();
  const auto valid = testing::BuildUdp(good);
  auto cut = [&](size_t length) { return std::vector<uint8_t>(valid.begin(), valid.begin() + length); };
  struct Case {
    const char* name;
    std::vector<uint8_t> frame;
    DropReason reason;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated Ethernet", cut(12), DropReason::kEthernetTruncated});
  cases.push_back({"truncated IPv4 header", cut(14 + 16), DropReason::kIpv4Truncated});
  cases.push_back({"truncated IPv4 payload", cut(14 + 20 + 30), DropReason::kIpv4Truncated});
  {
    FrameSpec spec = good;
    spec.payload.clear();
    auto frame = testing::BuildUdp(spec);
    net::Store16(frame.data() + 14 + 2, 20 + 4);  // IP payload too short for a UDP header
    net::Store16(frame.data() + 14 + 10, 0);
    net::Store16(frame.data() + 14 + 10, net::Ipv4HeaderChecksum(frame.data() + 14, 20));
    cases.push_back({"truncated UDP", frame, DropReason::kUdpTruncated});
  }
  FrameSpec spec = good;
  spec.bad_ip_checksum = true;
  cases.push_back({"bad IP checksum", testing::BuildUdp(spec), DropReason::kIpv4BadChecksum});
  spec = good;
  spec.fragment = 0x2000;
  cases.push_back({"first fragment", testing::BuildUdp(spec), DropReason::kIpv4Fragment});
  spec.fragment = 0x0020;
  cases.push_back({"later fragment", testing::BuildUdp(spec), DropReason::kIpv4Fragment});
  spec = good;
  spec.ip_version = 5;
  cases.push_back({"IP version 5", testing::BuildUdp(spec), DropReason::kIpv4BadVersion});
  spec = good;
  spec.udp_length = 0;
  cases.push_back({"zero UDP length", testing::BuildUdp(spec), DropReason::kUdpBadLength});
  spec = good;
  spec.payload.assign(PacketIo::kBufferSize + 100, 1);
  cases.push_back({"oversize datagram", testing::BuildUdp(spec), DropReason::kOversize});
  spec = good;
  spec.bad_udp_checksum = true;
  cases.push_back({"bad UDP checksum", testing::BuildUdp(spec), DropReason::kUdpBadChecksum});
  spec = good;
  spec.destination_mac = kGatewayMac;
  cases.push_back({"other MAC", testing::BuildUdp(spec), DropReason::kEthernetOtherMac});
  spec = good;
  spec.protocol = 6;
  cases.push_back({"TCP", testing::BuildUdp(spec), DropReason::kIpUnsupportedProtocol});
  spec = good;
  spec.vlan_id = 42;
  cases.push_back({"tagged", testing::BuildUdp(spec), DropReason::kVlanMismatch});
  cases.push_back({"IPv6 when not configured", testing::BuildUdp(FromPeer6()), DropReason::kIpv6Disabled});

  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> expected{};
  for (const Case& c : cases) {
    Inject(c.frame);
    ++expected[static_cast<size_t>(c.reason)];
  }
  // IPv4 options: accepted and counted.
  spec = good;
  spec.ipv4_options = 4;
  Inject(testing::BuildUdp(spec));
  // A zero UDP checksum on IPv4 means none: accepted.
  spec = good;
  spec.zero_udp_checksum = true;
  Inject(testing::BuildUdp(spec));

  EXPECT_EQ(Poll(), 2u);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(io_->drops(static_cast<DropReason>(i)), expected[i])
        << net::DropReasonName(static_cast<DropReason>(i));
  }
  EXPECT_EQ(io_->counters().rx_errors, cases.size());
  EXPECT_EQ(io_->counters().rx_truncated, 1u);
  EXPECT_EQ(io_->events(DpdkEvent::kIpv4Options), 1u);
  EXPECT_EQ(io_->events(DpdkEvent::kRxFrames), cases.size() + 2);
  EXPECT_TRUE(TakeSent().empty());
}

TEST_F(DpdkPacketIoTest, ResolvesTheNextHopThenSendsWellFormedDatagrams) {
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);
  const Endpoint peer = *Endpoint::Parse("192.0.2.50", 40000);
  std::vector<uint8_t> payload(160);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 3);

  // Unknown next hop: dropped, and an ARP request goes out.
  EXPECT_EQ(Send(*flow, peer, payload), 0u);
  EXPECT_EQ(io_->drops(DropReason::kTxNeighbourUnresolved), 1u);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(net::Load16(sent[0].data() + 12), net::kEtherTypeArp);
  EXPECT_EQ(net::Load16(sent[0].data() + 14 + 6), net::kArpRequest);
  EXPECT_EQ(std::memcmp(sent[0].data() + 14 + 24, kPeerIp.data(), 4), 0);
  // Rate-limited: a second packet at once sends no second request.
  EXPECT_EQ(Send(*flow, peer, payload), 0u);
  EXPECT_TRUE(TakeSent().empty());

  // The reply resolves it.
  FrameSpec reply = FromPeer();
  Inject(testing::BuildArp(reply, net::kArpReply, kOurMac));
  Poll();
  EXPECT_EQ(io_->events(DpdkEvent::kNeighboursLearned), 1u);
  EXPECT_EQ(Send(*flow, peer, payload), 1u);
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const auto& frame = sent[0];
  ASSERT_EQ(frame.size(), 14u + 20 + 8 + payload.size());
  EXPECT_EQ(std::memcmp(frame.data(), kPeerMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(frame.data() + 6, kOurMac.data(), 6), 0);
  const net::ParsedFrame parsed = ParseAs(frame, kPeerMac, kPeerIp);  // checks the IP header checksum
  ASSERT_EQ(parsed.kind, net::FrameKind::kUdp) << net::DropReasonName(parsed.reason);
  EXPECT_TRUE(net::VerifyUdpChecksum(frame.data(), parsed));
  EXPECT_NE(net::Load16(frame.data() + 14 + 20 + 6), 0);  // a checksum, not "none"
  EXPECT_EQ(parsed.source_port, 20000);
  EXPECT_EQ(parsed.destination_port, 40000);
  EXPECT_EQ(parsed.l4_length, 8 + payload.size());
  const uint8_t* ip = frame.data() + 14;
  EXPECT_EQ(ip[1], 46 << 2);               // DSCP EF
  EXPECT_EQ(ip[8], 64);                    // TTL
  EXPECT_EQ(net::Load16(ip + 6), 0x4000);  // DF
  EXPECT_EQ(std::memcmp(ip + 12, kOurIp.data(), 4), 0);
  EXPECT_EQ(std::memcmp(frame.data() + 42, payload.data(), payload.size()), 0);
  EXPECT_EQ(io_->counters().tx_packets, 1u);
  EXPECT_EQ(io_->counters().tx_bytes, payload.size());
  EXPECT_EQ(io_->counters().tx_dropped, 2u);
}

TEST_F(DpdkPacketIoTest, RoutesOffLinkPeersThroughTheGateway) {
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);
  const Endpoint far = *Endpoint::Parse("198.51.100.7", 5004);
  EXPECT_EQ(Send(*flow, far, {1, 2, 3}), 0u);
  EXPECT_EQ(io_->drops(DropReason::kTxNoRoute), 1u);  // no gateway configured

  DpdkConfig config = PortConfig();
  config.ipv4_gateway = "192.0.2.254";
  config.static_neighbours = {{"192.0.2.254", "02:00:00:00:00:fe"}};
  Open(config);
  flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);
  EXPECT_EQ(Send(*flow, far, {1, 2, 3}), 1u);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::memcmp(sent[0].data(), kGatewayMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(sent[0].data() + 14 + 16, V4(198, 51, 100, 7).data(), 4), 0);
}

TEST_F(DpdkPacketIoTest, TransmitLimitsAndBufferAccounting) {
  DpdkConfig config = PortConfig();
  config.tx_burst = 4;
  config.static_neighbours = {{"192.0.2.50", "02:00:00:00:00:99"}};
  Open(config);
  auto flow = io_->OpenFlow(0);  // an ephemeral port
  ASSERT_TRUE(flow);
  EXPECT_GE(io_->LocalPort(*flow), 49152);
  rte_mempool* pool = rte_mempool_lookup(("linegate_port" + std::to_string(io_->port_id())).c_str());
  ASSERT_NE(pool, nullptr);
  const unsigned before = rte_mempool_avail_count(pool);
  const Endpoint peer = *Endpoint::Parse("192.0.2.50", 40000);
  uint8_t* buffers[4];
  for (auto& buffer : buffers) ASSERT_NE(buffer = io_->AllocateTx(), nullptr);
  EXPECT_EQ(io_->AllocateTx(), nullptr);                   // the burst is full
  io_->QueueTx(Packet{buffers[0], 1472, *flow, peer});     // 1472 + 28 = 1500: fits
  io_->QueueTx(Packet{buffers[1], 1473, *flow, peer});     // 1473 + 28 > 1500
  io_->QueueTx(Packet{buffers[2], 100, *flow + 7, peer});  // not an open flow
  // buffers[3] is never queued.
  EXPECT_EQ(io_->Flush(), 1u);
  EXPECT_EQ(io_->drops(DropReason::kTxOversize), 1u);
  EXPECT_EQ(io_->drops(DropReason::kTxBadFlow), 1u);
  EXPECT_EQ(TakeSent().size(), 1u);
  EXPECT_EQ(rte_mempool_avail_count(pool), before);  // every buffer came back
  EXPECT_NE(io_->AllocateTx(), nullptr);             // and the burst is free again
  io_->Flush();
}

TEST_F(DpdkPacketIoTest, QueuesBuffersInAnyOrder) {
  DpdkConfig config = PortConfig();
  config.static_neighbours = {{"192.0.2.50", "02:00:00:00:00:99"}};
  Open(config);
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);
  const Endpoint peer = *Endpoint::Parse("192.0.2.50", 40000);
  for (bool reverse : {false, true}) {
    std::vector<uint8_t*> buffers;
    for (uint8_t i = 0; i < 8; ++i) {
      buffers.push_back(io_->AllocateTx());
      ASSERT_NE(buffers.back(), nullptr);
      std::memset(buffers.back(), i, 10);
    }
    if (reverse) std::reverse(buffers.begin(), buffers.end());
    for (uint8_t* buffer : buffers) io_->QueueTx(Packet{buffer, 10, *flow, peer});
    EXPECT_EQ(io_->Flush(), 8u);
    const auto sent = TakeSent();
    ASSERT_EQ(sent.size(), 8u);
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(sent[i][42], reverse ? 7 - i : i);
  }
}

TEST_F(DpdkPacketIoTest, SpeaksIpv6) {
  DpdkConfig config = PortConfig();
  config.ipv6_address = "2001:db8::1";
  config.ipv6_prefix = 64;
  Open(config);
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);

  // Neighbour solicitation for our address, to its solicited-node group.
  FrameSpec ns = FromPeer6();
  const auto group = net::SolicitedNodeAddress(kOurIp6);
  ns.destination_ip = group;
  ns.destination_mac = net::Ipv6MulticastMac(group.data());
  Inject(testing::BuildNeighbourSolicitation(ns, kOurIp6));
  // Echo request.
  FrameSpec ping = FromPeer6();
  ping.payload.assign(32, 0x5a);
  Inject(testing::BuildIcmpEcho(ping, 9, 1));
  // RTP.
  Inject(testing::BuildUdp(FromPeer6()));
  ASSERT_EQ(Poll(), 1u);
  EXPECT_EQ(burst_[0].remote.ToString(), "[2001:db8::50]:40000");
  EXPECT_EQ(burst_[0].length, 172u);

  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  // The advertisement: to the solicitor, our MAC as the target's.
  const auto& na = sent[0];
  EXPECT_EQ(std::memcmp(na.data(), kPeerMac.data(), 6), 0);
  const uint8_t* ip = na.data() + 14;
  EXPECT_EQ(ip[7], 255);
  EXPECT_EQ(std::memcmp(ip + 8, kOurIp6.data(), 16), 0);
  EXPECT_EQ(std::memcmp(ip + 24, kPeerIp6.data(), 16), 0);
  const uint8_t* icmp = ip + 40;
  EXPECT_EQ(icmp[0], net::kIcmpv6NeighbourAdvertisement);
  EXPECT_EQ(icmp[4], 0x60);
  EXPECT_EQ(std::memcmp(icmp + 8, kOurIp6.data(), 16), 0);
  EXPECT_EQ(icmp[24], 2);
  EXPECT_EQ(std::memcmp(icmp + 26, kOurMac.data(), 6), 0);
  EXPECT_TRUE(
      net::ChecksumValid(net::ChecksumAdd(icmp, 32, net::PseudoHeaderSum(ip, net::kProtocolIcmpv6, 32))));
  // The echo reply.
  const auto& echo = sent[1];
  ip = echo.data() + 14;
  icmp = ip + 40;
  EXPECT_EQ(icmp[0], net::kIcmpv6EchoReply);
  EXPECT_EQ(std::memcmp(ip + 24, kPeerIp6.data(), 16), 0);
  EXPECT_TRUE(
      net::ChecksumValid(net::ChecksumAdd(icmp, 40, net::PseudoHeaderSum(ip, net::kProtocolIcmpv6, 40))));

  // The solicitation taught us the peer's MAC: sending needs no resolution.
  const Endpoint peer = *Endpoint::Parse("2001:db8::50", 40000);
  EXPECT_EQ(Send(*flow, peer, std::vector<uint8_t>(100, 7)), 1u);
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const net::ParsedFrame parsed = ParseAs(sent[0], kPeerMac, kPeerIp6);
  ASSERT_EQ(parsed.kind, net::FrameKind::kUdp) << net::DropReasonName(parsed.reason);
  EXPECT_TRUE(net::VerifyUdpChecksum(sent[0].data(), parsed));
  EXPECT_EQ(parsed.source_port, 20000);

  // An unknown IPv6 neighbour is solicited.
  const Endpoint other = *Endpoint::Parse("2001:db8::77", 40000);
  EXPECT_EQ(Send(*flow, other, {1}), 0u);
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][0], 0x33);
  EXPECT_EQ(sent[0][14 + 40], net::kIcmpv6NeighbourSolicitation);
  EXPECT_EQ(io_->events(DpdkEvent::kNeighbourSolicitationsSent), 1u);

  // Its advertisement resolves it.
  const net::MacAddress other_mac = {0x02, 0, 0, 0, 0, 0x77};
  const std::array<uint8_t, 16> other_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77};
  FrameSpec advertiser = FromPeer6();
  advertiser.source_mac = other_mac;
  advertiser.source_ip = other_ip;
  auto advertisement = testing::BuildNeighbourSolicitation(advertiser, other_ip);
  uint8_t* icmp6 = advertisement.data() + 14 + 40;
  icmp6[0] = net::kIcmpv6NeighbourAdvertisement;
  icmp6[4] = 0x60;
  icmp6[24] = 2;  // target link-layer address
  net::Store16(icmp6 + 2, 0);
  net::Store16(icmp6 + 2, net::TransportChecksum(advertisement.data() + 14, icmp6, 32, net::kProtocolIcmpv6));
  Inject(advertisement);
  Poll();
  EXPECT_EQ(io_->events(DpdkEvent::kNeighboursLearned), 1u);
  EXPECT_EQ(Send(*flow, other, {1}), 1u);
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::memcmp(sent[0].data(), other_mac.data(), 6), 0);

  // Duplicate address detection (from ::): answered to all nodes.
  FrameSpec dad = FromPeer6();
  dad.source_ip = {};
  dad.destination_ip = group;
  dad.destination_mac = net::Ipv6MulticastMac(group.data());
  Inject(testing::BuildNeighbourSolicitation(dad, kOurIp6));
  Poll();
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][0], 0x33);
  EXPECT_EQ(sent[0][14 + 24], 0xff);      // ff02::1
  EXPECT_EQ(sent[0][14 + 40 + 4], 0x20);  // override, not solicited

  // IPv4 in a slot that held an IPv6 remote: the endpoint compares equal to a parsed one.
  Inject(testing::BuildUdp(FromPeer()));
  ASSERT_EQ(Poll(), 1u);
  EXPECT_EQ(burst_[0].remote, *Endpoint::Parse("192.0.2.50", 40000));
}

TEST_F(DpdkPacketIoTest, Vlan) {
  DpdkConfig config = PortConfig();
  config.vlan_id = 100;
  Open(config);
  ASSERT_EQ(announcement_.size(), 1u);
  EXPECT_EQ(net::Load16(announcement_[0].data() + 12), net::kEtherTypeVlan);
  EXPECT_EQ(net::Load16(announcement_[0].data() + 14) & 0x0fff, 100);
  auto flow = io_->OpenFlow(20000);
  ASSERT_TRUE(flow);
  FrameSpec tagged = FromPeer();
  tagged.vlan_id = 100;
  Inject(testing::BuildUdp(tagged));
  Inject(testing::BuildUdp(FromPeer()));  // untagged: not ours
  FrameSpec request = tagged;
  request.destination_mac = net::kBroadcastMac;
  Inject(testing::BuildArp(request, net::kArpRequest, {}));
  EXPECT_EQ(Poll(), 1u);
  EXPECT_EQ(io_->drops(DropReason::kVlanMismatch), 1u);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(net::Load16(sent[0].data() + 12), net::kEtherTypeVlan);  // the ARP reply, tagged
  // The request taught us the peer: send tagged.
  EXPECT_EQ(Send(*flow, *Endpoint::Parse("192.0.2.50", 40000), {1, 2, 3, 4}), 1u);
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(net::Load16(sent[0].data() + 14) >> 13, 5);  // voice priority
  const net::ParsedFrame parsed = ParseAs(sent[0], kPeerMac, kPeerIp, 100);
  ASSERT_EQ(parsed.kind, net::FrameKind::kUdp) << net::DropReasonName(parsed.reason);
  EXPECT_TRUE(net::VerifyUdpChecksum(sent[0].data(), parsed));
}

TEST_F(DpdkPacketIoTest, ListsEveryCounterByName) {
  const auto counters = io_->ListCounters();
  auto find = [&](const std::string& name) {
    return std::find_if(counters.begin(), counters.end(), [&](const auto& c) { return c.name == name; });
  };
  EXPECT_NE(find("rx_packets"), counters.end());
  EXPECT_NE(find("drop_udp_port_closed"), counters.end());
  EXPECT_NE(find("drop_tx_neighbour_unresolved"), counters.end());
  EXPECT_NE(find("gratuitous_arp_sent"), counters.end());
  EXPECT_NE(find("port_rx_missed"), counters.end());
  EXPECT_EQ(find("gratuitous_arp_sent")->value, 1u);
}

// The same counters on DPDK's telemetry socket, as dpdk-telemetry.py would ask for them.
TEST_F(DpdkPacketIoTest, ExportsCountersThroughDpdkTelemetry) {
  const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    GTEST_SKIP() << "no telemetry socket at " << path << " (EAL started with --no-telemetry?)";
  }
  char buffer[65536];
  ASSERT_GT(::recv(fd, buffer, sizeof(buffer), 0), 0);  // the greeting
  const std::string command = "/linegate/packet_io";
  ASSERT_EQ(::send(fd, command.data(), command.size(), 0), static_cast<ssize_t>(command.size()));
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer) - 1, 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  const std::string reply(buffer, static_cast<size_t>(n));
  EXPECT_NE(reply.find("_rx_packets\""), std::string::npos) << reply;
  EXPECT_NE(reply.find("_gratuitous_arp_sent\":1"), std::string::npos) << reply;
}

TEST_F(DpdkPacketIoTest, OnePortOneBackendAndOneEal) {
  auto second = DpdkPacketIo::Create(PortConfig());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("in use"), std::string::npos) << second.error();
  DpdkConfig other = PortConfig();
  other.lcores = "1";  // ignored: EAL is up already
  EXPECT_TRUE(DpdkPacketIo::InitEal(other));
  DpdkConfig bad = PortConfig();
  bad.ipv4_address = "not-an-address";
  EXPECT_FALSE(DpdkPacketIo::Create(bad));
  bad = PortConfig();
  bad.port = "no_such_port";
  io_.reset();
  EXPECT_FALSE(DpdkPacketIo::Create(bad));
}

// A capture file in the classic pcap format (what the pcap PMD reads and writes).
void WritePcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  std::ofstream file(path, std::ios::binary);
  auto put32 = [&](uint32_t value) { file.write(reinterpret_cast<const char*>(&value), 4); };
  auto put16 = [&](uint16_t value) { file.write(reinterpret_cast<const char*>(&value), 2); };
  put32(0xa1b2c3d4);  // microsecond timestamps, host byte order
  put16(2);
  put16(4);
  put32(0);      // time zone
  put32(0);      // accuracy
  put32(65535);  // snapshot length
  put32(1);      // Ethernet
  uint32_t second = 1;
  for (const auto& frame : frames) {
    put32(second++);
    put32(0);
    put32(static_cast<uint32_t>(frame.size()));
    put32(static_cast<uint32_t>(frame.size()));
    file.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
  }
}

std::vector<std::vector<uint8_t>> ReadPcap(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::vector<uint8_t>> frames;
  auto get32 = [&](size_t offset) {
    uint32_t value;
    std::memcpy(&value, bytes.data() + offset, 4);
    return value;
  };
  if (bytes.size() < 24) return frames;
  const uint32_t magic = get32(0);
  if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) return frames;  // micro- or nanoseconds, host order
  for (size_t offset = 24; offset + 16 <= bytes.size();) {
    const uint32_t length = get32(offset + 8);
    offset += 16;
    if (offset + length > bytes.size()) break;
    frames.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                        bytes.begin() + static_cast<std::ptrdiff_t>(offset + length));
    offset += length;
  }
  return frames;
}

// The pcap PMD, plugged in at run time: frames from a capture file the test writes, and
// what the port sends written to another, which the test parses.
TEST(DpdkPcapPort, AnswersAndSendsThroughCaptureFiles) {
  char directory[] = "/tmp/linegate-pcap-XXXXXX";
  ASSERT_NE(::mkdtemp(directory), nullptr);
  const std::string in = std::string(directory) + "/in.pcap";
  const std::string out = std::string(directory) + "/out.pcap";
  FrameSpec request = FromPeer();
  request.destination_mac = net::kBroadcastMac;
  FrameSpec ping = FromPeer();
  ping.payload.assign(24, 0x11);
  FrameSpec corrupt = FromPeer();
  corrupt.bad_udp_checksum = true;
  WritePcap(in, {testing::BuildArp(request, net::kArpRequest, {}), testing::BuildIcmpEcho(ping, 3, 4),
                 testing::BuildUdp(FromPeer()), testing::BuildUdp(corrupt)});
  const std::string name = "net_pcap_lg" + std::to_string(::getpid());
  ASSERT_EQ(rte_dev_probe((name + ",rx_pcap=" + in + ",tx_pcap=" + out).c_str()), 0);

  DpdkConfig config = PortConfig();
  config.port = name;
  {
    auto io = DpdkPacketIo::Create(config);
    ASSERT_TRUE(io) << io.error();
    auto flow = (*io)->OpenFlow(20000);
    ASSERT_TRUE(flow);
    std::array<Packet, 64> burst;
    size_t delivered = 0;
    for (int attempt = 0; attempt < 100 && delivered == 0; ++attempt) {
      delivered = (*io)->Receive(burst);
      if (delivered == 0) ::usleep(1000);
    }
    ASSERT_EQ(delivered, 1u);
    EXPECT_EQ(burst[0].length, 172u);
    EXPECT_EQ(burst[0].remote.ToString(), "192.0.2.50:40000");
    EXPECT_EQ((*io)->drops(DropReason::kUdpBadChecksum), 1u);
    // The ARP request taught us the peer's MAC.
    uint8_t* buffer = (*io)->AllocateTx();
    ASSERT_NE(buffer, nullptr);
    std::memset(buffer, 0x80, 160);
    (*io)->QueueTx(Packet{buffer, 160, *flow, *Endpoint::Parse("192.0.2.50", 40000)});
    EXPECT_EQ((*io)->Flush(), 1u);
  }
  uint16_t port;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(name.c_str(), &port), 0);
  rte_eth_dev_close(port);  // closes the capture files

  const auto sent = ReadPcap(out);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(net::Load16(sent[0].data() + 14 + 6), net::kArpRequest);  // the announcement
  EXPECT_EQ(net::Load16(sent[1].data() + 14 + 6), net::kArpReply);
  EXPECT_EQ(sent[2][14 + 20], net::kIcmpEchoReply);
  const net::ParsedFrame parsed = ParseAs(sent[3], kPeerMac, kPeerIp);
  ASSERT_EQ(parsed.kind, net::FrameKind::kUdp) << net::DropReasonName(parsed.reason);
  EXPECT_TRUE(net::VerifyUdpChecksum(sent[3].data(), parsed));
  EXPECT_EQ(parsed.l4_length, 168);
  std::filesystem::remove_all(directory);
}

// The DPDK issue's deterministic capture test: RTP for 8 sessions interleaved with ARP,
// ICMP echo and junk, read from a capture the test writes (net_pcap rx_pcap); what the
// port sends goes to another capture (tx_pcap), which must hold exactly the expected
// frames, and every junk frame must land on its drop reason.
TEST(DpdkPcapPort, EightSessionsAmongHousekeepingAndJunk) {
  char directory[] = "/tmp/linegate-pcap8-XXXXXX";
  ASSERT_NE(::mkdtemp(directory), nullptr);
  const std::string in = std::string(directory) + "/in.pcap";
  const std::string out = std::string(directory) + "/out.pcap";
  constexpr int kSessions = 8;
  constexpr int kPacketsEach = 5;
  std::vector<std::vector<uint8_t>> frames;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> expected{};
  auto junk = [&](std::vector<uint8_t> frame, DropReason reason) {
    frames.push_back(std::move(frame));
    ++expected[static_cast<size_t>(reason)];
  };
  FrameSpec request = FromPeer();
  request.destination_mac = net::kBroadcastMac;
  frames.push_back(testing::BuildArp(request, net::kArpRequest, {}));
  for (int round = 0; round < kPacketsEach; ++round) {
    for (int session = 0; session < kSessions; ++session) {
      FrameSpec rtp = FromPeer();
      rtp.source_port = static_cast<uint16_t>(40000 + 2 * session);
      rtp.destination_port = static_cast<uint16_t>(20000 + 2 * session);
      rtp.payload[0] = 0x80;
      rtp.payload[3] = static_cast<uint8_t>(round);  // sequence
      frames.push_back(testing::BuildUdp(rtp));
    }
    // Junk between the rounds.
    FrameSpec bad = FromPeer();
    switch (round) {
      case 0: {
        const auto valid = testing::BuildUdp(bad);
        junk(std::vector<uint8_t>(valid.begin(), valid.begin() + 14 + 16), DropReason::kIpv4Truncated);
        bad.bad_ip_checksum = true;
        junk(testing::BuildUdp(bad), DropReason::kIpv4BadChecksum);
        break;
      }
      case 1:
        bad.fragment = 0x2000;
        junk(testing::BuildUdp(bad), DropReason::kIpv4Fragment);
        bad = FromPeer();
        bad.ip_version = 5;
        junk(testing::BuildUdp(bad), DropReason::kIpv4BadVersion);
        break;
      case 2:
        bad.udp_length = 0;
        junk(testing::BuildUdp(bad), DropReason::kUdpBadLength);
        bad = FromPeer();
        bad.bad_udp_checksum = true;
        junk(testing::BuildUdp(bad), DropReason::kUdpBadChecksum);
        break;
      case 3: {
        FrameSpec ping = FromPeer();
        ping.payload.assign(32, 0x5a);
        frames.push_back(testing::BuildIcmpEcho(ping, 7, 1));
        bad.destination_port = 20999;  // nobody listens
        junk(testing::BuildUdp(bad), DropReason::kUdpPortClosed);
        break;
      }
      default: {
        // IPv4 options are accepted (and counted), not dropped.
        FrameSpec options = FromPeer();
        options.ipv4_options = 4;
        frames.push_back(testing::BuildUdp(options));
        break;
      }
    }
  }
  WritePcap(in, frames);
  const std::string name = "net_pcap_lg8_" + std::to_string(::getpid());
  ASSERT_EQ(rte_dev_probe((name + ",rx_pcap=" + in + ",tx_pcap=" + out).c_str()), 0);
  DpdkConfig config = PortConfig();
  config.port = name;
  std::array<int, kSessions> delivered_per_session{};
  size_t delivered = 0;
  {
    auto io = DpdkPacketIo::Create(config);
    ASSERT_TRUE(io) << io.error();
    std::array<FlowId, kSessions> flows{};
    for (int session = 0; session < kSessions; ++session) {
      auto flow = (*io)->OpenFlow(static_cast<uint16_t>(20000 + 2 * session));
      ASSERT_TRUE(flow);
      flows[session] = *flow;
    }
    std::array<Packet, 64> burst;
    for (int attempt = 0; attempt < 200 && delivered < kSessions * kPacketsEach + 1; ++attempt) {
      const size_t n = (*io)->Receive(burst);
      for (size_t i = 0; i < n; ++i) {
        for (int session = 0; session < kSessions; ++session) {
          if (burst[i].flow == flows[session]) ++delivered_per_session[session];
        }
        EXPECT_EQ(burst[i].length, 172u);
      }
      delivered += n;
      if (n == 0) ::usleep(1000);
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*io)->drops(static_cast<DropReason>(i)), expected[i])
          << net::DropReasonName(static_cast<DropReason>(i));
    }
  }
  // Every session got its 5 packets; the sixth delivery to session 0 is the one with IP options.
  EXPECT_EQ(delivered, static_cast<size_t>(kSessions * kPacketsEach + 1));
  EXPECT_EQ(delivered_per_session[0], kPacketsEach + 1);
  for (int session = 1; session < kSessions; ++session)
    EXPECT_EQ(delivered_per_session[session], kPacketsEach);
  uint16_t port;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(name.c_str(), &port), 0);
  rte_eth_dev_close(port);  // closes the capture files
  // Exactly: our gratuitous ARP, the ARP reply, the echo reply.
  const auto sent = ReadPcap(out);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(net::Load16(sent[0].data() + 14 + 6), net::kArpRequest);
  EXPECT_EQ(net::Load16(sent[1].data() + 14 + 6), net::kArpReply);
  EXPECT_EQ(sent[2][14 + 20], net::kIcmpEchoReply);
  std::filesystem::remove_all(directory);
}

// The peer, in a network namespace behind a veth pair: UDP there and back, then an ICMP
// echo, from the kernel's own stack (which checks our ARP, IP and UDP on its way).
constexpr const char* kPeerScript = R"(
import os, socket, struct, sys, time

def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(1.0)
udp.bind(("192.0.2.50", 40000))
answered = False
for attempt in range(5):
    udp.sendto(b"hello", ("192.0.2.1", 20000))
    try:
        data, address = udp.recvfrom(2048)
        answered = data == b"world" and address == ("192.0.2.1", 20000)
    except socket.timeout:
        pass
    if answered:
        break
if not answered:
    print("no UDP reply")
    sys.exit(1)
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(1.0)
ident = os.getpid() & 0xFFFF
for sequence in range(1, 6):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, sequence) + b"linegate"
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    icmp.sendto(body, ("192.0.2.1", 0))
    deadline = time.time() + 1
    while time.time() < deadline:
        try:
            packet, address = icmp.recvfrom(2048)
        except socket.timeout:
            break
        reply = packet[(packet[0] & 15) * 4:]
        if address[0] == "192.0.2.1" and reply[0] == 0 and struct.unpack("!H", reply[4:6])[0] == ident:
            sys.exit(0)
print("no echo reply")
sys.exit(1)
)";

bool Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

TEST(DpdkAfPacketPort, KernelPeerInANamespace) {
  const std::string suffix = std::to_string(::getpid() % 100000);
  const std::string ns = "lgdpdk" + suffix;
  const std::string host = "lgd" + suffix;
  const std::string peer = "lgp" + suffix;
  if (!Shell("command -v ethtool") || !Shell("command -v python3"))
    GTEST_SKIP() << "needs ethtool and python3";
  if (!Shell("ip netns add " + ns)) GTEST_SKIP() << "cannot create a network namespace here";
  struct Cleanup {
    std::string ns, host, script;
    ~Cleanup() {
      Shell("ip link del " + host);
      Shell("ip netns del " + ns);
      std::filesystem::remove(script);
    }
  } cleanup{ns, host, "/tmp/linegate-peer-" + suffix + ".py"};
  ASSERT_TRUE(Shell("ip link add " + host + " type veth peer name " + peer));
  ASSERT_TRUE(Shell("ip link set " + peer + " netns " + ns));
  ASSERT_TRUE(Shell("ip netns exec " + ns + " ip addr add 192.0.2.50/24 dev " + peer));
  ASSERT_TRUE(Shell("ip netns exec " + ns + " ip link set " + peer + " up"));
  ASSERT_TRUE(Shell("ip link set " + host + " up"));
  // veth passes locally sent packets on with the UDP checksum left to "hardware": a
  // packet socket (so net_af_packet) would see it unfinished. The peer computes it.
  Shell("ip netns exec " + ns + " ethtool -K " + peer + " tx off");
  std::ofstream(cleanup.script) << kPeerScript;

  const std::string name = "net_af_packet_lg" + suffix;
  ASSERT_EQ(rte_dev_probe((name + ",iface=" + host).c_str()), 0);
  DpdkConfig config = PortConfig();
  config.port = name;
  config.mac.clear();  // the interface's own
  {
    auto created = DpdkPacketIo::Create(config);
    ASSERT_TRUE(created) << created.error();
    DpdkPacketIo& io = **created;
    auto flow = io.OpenFlow(20000);
    ASSERT_TRUE(flow);
    auto peer_run = std::async(std::launch::async, [&] {
      return std::system(("ip netns exec " + ns + " python3 " + cleanup.script).c_str());
    });
    std::array<Packet, 64> burst;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (peer_run.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline) {
      const size_t n = io.Receive(burst);
      for (size_t i = 0; i < n; ++i) {
        if (std::string(reinterpret_cast<char*>(burst[i].data), burst[i].length) != "hello") continue;
        uint8_t* buffer = io.AllocateTx();
        std::memcpy(buffer, "world", 5);
        io.QueueTx(Packet{buffer, 5, *flow, burst[i].remote});
      }
      io.Flush();
      if (n == 0) ::usleep(200);
    }
    ASSERT_EQ(peer_run.get(), 0);
    EXPECT_GE(io.events(DpdkEvent::kArpRequestsAnswered), 1u);
    EXPECT_GE(io.events(DpdkEvent::kIcmpEchoReplies), 1u);
    EXPECT_GE(io.counters().tx_packets, 1u);
    EXPECT_EQ(io.drops(DropReason::kUdpBadChecksum), 0u);
  }
  uint16_t port;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(name.c_str(), &port), 0);
  rte_eth_dev_close(port);
}

}  // namespace
}  // namespace linegate::media::packetio
