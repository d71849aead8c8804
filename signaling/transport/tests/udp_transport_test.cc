// UdpTransport on real loopback sockets, port 0 only.

#include "signaling/transport/udp_transport.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "signaling/transport/tests/test_loop.h"

namespace linegate::signaling::transport {
namespace {

using namespace std::chrono_literals;
using testing::Loopback4;
using testing::Loopback6;
using testing::MakeRequest;
using testing::TestLoop;

struct Inbox {
  std::vector<std::string> messages;
  std::vector<SocketAddress> sources;
  std::vector<SocketAddress> locals;
  ReceiveHandler Handler() {
    return [this](const Received& r) {
      EXPECT_EQ(r.protocol, Protocol::kUdp);
      EXPECT_EQ(r.connection_id, 0u);
      messages.emplace_back(r.bytes.data(), r.bytes.size());
      sources.push_back(r.source);
      locals.push_back(r.local);
    };
  }
};

std::unique_ptr<UdpTransport> MakeUdp(TestLoop& loop, Inbox& inbox, const SocketAddress& local,
                                      size_t max_datagram = 65535) {
  UdpConfig config;
  config.local_addresses = {local};
  config.max_datagram_bytes = max_datagram;
  auto transport = UdpTransport::Create(config, loop.poller(), inbox.Handler());
  EXPECT_TRUE(transport.ok()) << transport.error();
  return transport.ok() ? std::move(*transport) : nullptr;
}

Destination To(const SocketAddress& address) {
  Destination d;
  d.protocol = Protocol::kUdp;
  d.address = address;
  return d;
}

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

void RoundTrip(const SocketAddress& loopback) {
  TestLoop loop;
  Inbox a_in, b_in;
  auto a = MakeUdp(loop, a_in, loopback);
  auto b = MakeUdp(loop, b_in, loopback);
  ASSERT_TRUE(a && b);
  const SocketAddress a_addr = *a->LocalAddress(Protocol::kUdp);
  const SocketAddress b_addr = *b->LocalAddress(Protocol::kUdp);
  EXPECT_NE(a_addr.port(), 0);
  EXPECT_EQ(a_addr.HostString(), loopback.HostString());

  const std::string request = MakeRequest("udp-1");
  ASSERT_TRUE(a->Send(To(b_addr), Bytes(request)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return b_in.messages.size() == 1; }));
  EXPECT_EQ(b_in.messages[0], request);
  EXPECT_EQ(b_in.sources[0], a_addr);
  EXPECT_EQ(b_in.locals[0], b_addr);

  // The response goes back to the source (RFC 3581 4).
  const std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE(b->Send(To(b_in.sources[0]), Bytes(response)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return a_in.messages.size() == 1; }));
  EXPECT_EQ(a_in.messages[0], response);

  EXPECT_EQ(a->counters().messages_sent, 1u);
  EXPECT_EQ(a->counters().bytes_sent, request.size());
  EXPECT_EQ(b->counters().messages_received, 1u);
  EXPECT_EQ(b->counters().bytes_received, request.size());
  EXPECT_EQ(a->counters().messages_received, 1u);
}

TEST(UdpTransportTest, RoundTripIpv4) { RoundTrip(Loopback4()); }

TEST(UdpTransportTest, RoundTripIpv6) {
  if (!testing::Ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 unavailable";
  RoundTrip(Loopback6());
}

TEST(UdpTransportTest, BatchOfHundredDatagramsInOrder) {
  TestLoop loop;
  Inbox a_in, b_in;
  auto a = MakeUdp(loop, a_in, Loopback4());
  auto b = MakeUdp(loop, b_in, Loopback4());
  ASSERT_TRUE(a && b);
  const SocketAddress b_addr = *b->LocalAddress(Protocol::kUdp);
  // All queued before the loop runs: the receiver drains them in bursts of up to 32.
  for (int i = 0; i < 100; ++i) {
    const std::string m = MakeRequest("batch-" + std::to_string(i));
    ASSERT_TRUE(a->Send(To(b_addr), Bytes(m)).ok());
  }
  ASSERT_TRUE(loop.RunUntil([&] { return b_in.messages.size() == 100; }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b_in.messages[i], MakeRequest("batch-" + std::to_string(i)));
  EXPECT_EQ(b->counters().messages_received, 100u);
  EXPECT_GE(b->counters().receive_batches, 4u);  // 100 / 32, rounded up
  EXPECT_LE(b->counters().receive_batches, 8u);  // batched, not one call per datagram
  EXPECT_EQ(a->counters().messages_sent, 100u);
}

TEST(UdpTransportTest, OversizeDatagramCountedAndDropped) {
  TestLoop loop;
  Inbox a_in, b_in;
  auto a = MakeUdp(loop, a_in, Loopback4());
  auto b = MakeUdp(loop, b_in, Loopback4(), /*max_datagram=*/1024);
  ASSERT_TRUE(a && b);
  const SocketAddress b_addr = *b->LocalAddress(Protocol::kUdp);
  const std::string big = MakeRequest("big", 2000);
  const std::string exact(1024, 'y');
  const std::string small = MakeRequest("small");
  ASSERT_TRUE(a->Send(To(b_addr), Bytes(big)).ok());
  ASSERT_TRUE(a->Send(To(b_addr), Bytes(exact)).ok());
  ASSERT_TRUE(a->Send(To(b_addr), Bytes(small)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return b_in.messages.size() == 2; }));
  EXPECT_EQ(b_in.messages[0], exact);  // exactly the buffer size still fits
  EXPECT_EQ(b_in.messages[1], small);
  EXPECT_EQ(b->counters().drop_oversize, 1u);
  EXPECT_EQ(b->counters().messages_received, 2u);
}

TEST(UdpTransportTest, CrlfKeepAliveIsNotDelivered) {
  TestLoop loop;
  Inbox a_in, b_in;
  auto a = MakeUdp(loop, a_in, Loopback4());
  auto b = MakeUdp(loop, b_in, Loopback4());
  ASSERT_TRUE(a && b);
  const std::string ping = "\r\n\r\n";
  const std::string m = MakeRequest("after-ping");
  ASSERT_TRUE(a->Send(To(*b->LocalAddress(Protocol::kUdp)), Bytes(ping)).ok());
  ASSERT_TRUE(a->Send(To(*b->LocalAddress(Protocol::kUdp)), Bytes(m)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return b_in.messages.size() == 1; }));
  EXPECT_EQ(b_in.messages[0], m);
  EXPECT_EQ(b->counters().keepalives_received, 1u);
}

TEST(UdpTransportTest, DualStackSendsFromTheMatchingFamily) {
  if (!testing::Ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 unavailable";
  TestLoop loop;
  Inbox dual_in, v4_in, v6_in;
  UdpConfig config;
  config.local_addresses = {Loopback4(), Loopback6()};
  auto dual = UdpTransport::Create(config, loop.poller(), dual_in.Handler());
  ASSERT_TRUE(dual.ok()) << dual.error();
  ASSERT_EQ((*dual)->LocalAddresses().size(), 2u);
  auto v4 = MakeUdp(loop, v4_in, Loopback4());
  auto v6 = MakeUdp(loop, v6_in, Loopback6());
  const std::string m = MakeRequest("dual");
  ASSERT_TRUE((*dual)->Send(To(*v4->LocalAddress(Protocol::kUdp)), Bytes(m)).ok());
  ASSERT_TRUE((*dual)->Send(To(*v6->LocalAddress(Protocol::kUdp)), Bytes(m)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return v4_in.messages.size() == 1 && v6_in.messages.size() == 1; }));
  EXPECT_EQ(v4_in.sources[0], (*dual)->LocalAddresses()[0]);
  EXPECT_EQ(v6_in.sources[0], (*dual)->LocalAddresses()[1]);
}

TEST(UdpTransportTest, SendErrorsAreReturnedAndCounted) {
  TestLoop loop;
  Inbox in;
  auto a = MakeUdp(loop, in, Loopback4());
  ASSERT_TRUE(a);
  const std::string m = MakeRequest("x");
  EXPECT_FALSE(a->Send(To(*SocketAddress::Parse("::1", 5060)), Bytes(m)).ok()) << "no IPv6 socket";
  Destination tcp = To(*a->LocalAddress(Protocol::kUdp));
  tcp.protocol = Protocol::kTcp;
  EXPECT_FALSE(a->Send(tcp, Bytes(m)).ok());
  EXPECT_EQ(a->counters().send_errors, 2u);
  EXPECT_FALSE(a->LocalAddress(Protocol::kTcp).has_value());
}

TEST(UdpTransportTest, CreateFailsCleanly) {
  TestLoop loop;
  Inbox in;
  EXPECT_FALSE(UdpTransport::Create(UdpConfig{}, loop.poller(), in.Handler()).ok());
  auto first = MakeUdp(loop, in, Loopback4());
  ASSERT_TRUE(first);
  UdpConfig taken;
  taken.local_addresses = {Loopback4(), *first->LocalAddress(Protocol::kUdp)};  // second bind fails
  auto second = UdpTransport::Create(taken, loop.poller(), in.Handler());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find("bind"), std::string::npos) << second.error();
  EXPECT_EQ(loop.epoll().watched(), 1u) << "nothing left registered by the failed create";
}

}  // namespace
}  // namespace linegate::signaling::transport
