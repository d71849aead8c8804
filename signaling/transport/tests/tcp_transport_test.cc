// StreamTransport over TCP on real loopback sockets (port 0 only): framing, keep-alive,
// reuse, limits, timeouts, backpressure.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "signaling/sip/sip_message.h"
#include "signaling/transport/stream_transport.h"
#include "signaling/transport/tests/test_loop.h"

namespace linegate::signaling::transport {
namespace {

using namespace std::chrono_literals;
using testing::Loopback4;
using testing::Loopback6;
using testing::MakeRequest;
using testing::RawPeer;
using testing::TestLoop;

struct Inbox {
  std::vector<std::string> messages;
  std::vector<Received> meta;  // bytes not valid after the callback; ids and addresses are
  std::vector<SendError> errors;
  ReceiveHandler Handler() {
    return [this](const Received& r) {
      messages.emplace_back(r.bytes.data(), r.bytes.size());
      meta.push_back(r);
      meta.back().bytes = {};
    };
  }
  SendErrorHandler ErrorHandler() {
    return [this](const SendError& e) { errors.push_back(e); };
  }
};

StreamConfig Config(const SocketAddress& listen) {
  StreamConfig config;
  config.protocol = Protocol::kTcp;
  config.listen_addresses = {listen};
  return config;
}

std::unique_ptr<StreamTransport> Make(TestLoop& loop, Inbox& inbox, const StreamConfig& config) {
  auto transport = StreamTransport::Create(config, loop.poller(), loop.scheduler(), inbox.Handler());
  EXPECT_TRUE(transport.ok()) << transport.error();
  if (!transport.ok()) return nullptr;
  (*transport)->SetSendErrorHandler(inbox.ErrorHandler());
  return std::move(*transport);
}

Destination To(const SocketAddress& address, uint64_t connection_id = 0) {
  Destination d;
  d.protocol = Protocol::kTcp;
  d.address = address;
  d.connection_id = connection_id;
  return d;
}

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

void RoundTripAndReuse(const SocketAddress& loopback) {
  TestLoop loop;
  Inbox server_in, client_in;
  auto server = Make(loop, server_in, Config(loopback));
  StreamConfig client_config;  // client only: no listener
  auto client = Make(loop, client_in, client_config);
  ASSERT_TRUE(server && client);
  EXPECT_FALSE(client->LocalAddress(Protocol::kTcp).has_value());
  const SocketAddress server_addr = *server->LocalAddress(Protocol::kTcp);
  EXPECT_NE(server_addr.port(), 0);

  const std::string first = MakeRequest("tcp-1");
  auto id = client->SendOnConnection(To(server_addr), Bytes(first));
  ASSERT_TRUE(id.ok()) << id.error();
  ASSERT_TRUE(loop.RunUntil([&] { return server_in.messages.size() == 1; }));
  EXPECT_EQ(server_in.messages[0], first);
  EXPECT_EQ(server_in.meta[0].protocol, Protocol::kTcp);
  EXPECT_EQ(server_in.meta[0].local, server_addr);
  const auto info = client->FindConnection(*id);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->outbound);
  EXPECT_EQ(server_in.meta[0].source, info->local);

  // The response goes back on the request's connection (RFC 3261 18.2.2) even though
  // the address given is a dummy.
  const std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE(server->Send(To(SocketAddress(), server_in.meta[0].connection_id), Bytes(response)).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return client_in.messages.size() == 1; }));
  EXPECT_EQ(client_in.messages[0], response);
  EXPECT_EQ(client_in.meta[0].connection_id, *id);

  // A second request to the same address reuses the open connection.
  const std::string second = MakeRequest("tcp-2");
  auto id2 = client->SendOnConnection(To(server_addr), Bytes(second));
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(*id2, *id);
  ASSERT_TRUE(loop.RunUntil([&] { return server_in.messages.size() == 2; }));
  EXPECT_EQ(server_in.meta[1].connection_id, server_in.meta[0].connection_id);
  EXPECT_EQ(client->counters().connections_opened, 1u);
  EXPECT_EQ(server->counters().connections_accepted, 1u);
  EXPECT_EQ(client->connection_count(), 1u);
  EXPECT_EQ(client->counters().messages_sent, 2u);
  EXPECT_EQ(server->counters().messages_received, 2u);
  EXPECT_EQ(server->counters().bytes_received, first.size() + second.size());
}

TEST(TcpTransportTest, RoundTripAndConnectionReuseIpv4) { RoundTripAndReuse(Loopback4()); }

TEST(TcpTransportTest, RoundTripAndConnectionReuseIpv6) {
  if (!testing::Ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 unavailable";
  RoundTripAndReuse(Loopback6());
}

TEST(TcpTransportTest, TwoMessagesInOneWrite) {
  TestLoop loop;
  Inbox in;
  auto server = Make(loop, in, Config(Loopback4()));
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTcp));
  ASSERT_TRUE(peer.connected());
  const std::string a = MakeRequest("one", 10, 'a');
  const std::string b = MakeRequest("two", 20, 'b');
  ASSERT_TRUE(peer.Write(a + b));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 2; }));
  EXPECT_EQ(in.messages[0], a);
  EXPECT_EQ(in.messages[1], b);
  EXPECT_EQ(in.meta[0].connection_id, in.meta[1].connection_id);
}

TEST(TcpTransportTest, OneMessageOneByteAtATime) {
  TestLoop loop;
  Inbox in;
  auto server = Make(loop, in, Config(Loopback4()));
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTcp));
  ASSERT_TRUE(peer.connected());
  const std::string m = MakeRequest("split", 50);
  const std::string next = MakeRequest("next");
  for (size_t i = 0; i < m.size(); ++i) {
    ASSERT_TRUE(peer.Write(std::string_view(&m[i], 1)));
    loop.reactor().RunOnce(Duration::zero());  // let the server see each octet alone
    ASSERT_TRUE(in.messages.empty() || i + 1 == m.size()) << "delivered early at octet " << i;
  }
  ASSERT_TRUE(peer.Write(next));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 2; }));
  EXPECT_EQ(in.messages[0], m);
  EXPECT_EQ(in.messages[1], next);
  EXPECT_GT(server->counters().bytes_received, 0u);
}

TEST(TcpTransportTest, DoubleCrlfPingGetsSingleCrlfPong) {
  TestLoop loop;
  Inbox in;
  auto server = Make(loop, in, Config(Loopback4()));
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTcp));
  ASSERT_TRUE(peer.Write("\r\n\r\n"));
  ASSERT_TRUE(peer.WaitFor(loop, 2));
  EXPECT_EQ(peer.received(), "\r\n");
  // A ping split over two writes is still one ping.
  ASSERT_TRUE(peer.Write("\r\n"));
  loop.RunFor(20ms);
  ASSERT_TRUE(peer.Write("\r\n"));
  ASSERT_TRUE(peer.WaitFor(loop, 4));
  EXPECT_EQ(peer.received(), "\r\n\r\n");
  // A lone CRLF (a pong, or RFC 3261 7.5 padding) before a message is not a ping.
  const std::string m = MakeRequest("after");
  ASSERT_TRUE(peer.Write("\r\n" + m));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 1; }));
  EXPECT_EQ(in.messages[0], m);
  loop.RunFor(20ms);
  peer.Poll();
  EXPECT_EQ(peer.received(), "\r\n\r\n");
  EXPECT_EQ(server->counters().keepalives_received, 2u);
  EXPECT_EQ(server->counters().pongs_sent, 2u);
}

TEST(TcpTransportTest, SendKeepAliveAbsorbsThePong) {
  TestLoop loop;
  Inbox server_in, client_in;
  auto server = Make(loop, server_in, Config(Loopback4()));
  auto client = Make(loop, client_in, StreamConfig{});
  ASSERT_TRUE(server && client);
  auto id = client->SendOnConnection(To(*server->LocalAddress(Protocol::kTcp)), Bytes(MakeRequest("k")));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(loop.RunUntil([&] { return server_in.messages.size() == 1; }));
  ASSERT_TRUE(client->SendKeepAlive(*id).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return server->counters().pongs_sent == 1; }));
  loop.RunFor(20ms);
  // The client took the pong as a pong: it did not answer it, nor count a ping.
  EXPECT_EQ(client->counters().pongs_sent, 0u);
  EXPECT_EQ(client->counters().keepalives_received, 0u);
  EXPECT_EQ(client->connection_count(), 1u);
  EXPECT_FALSE(client->SendKeepAlive(999).ok());
}

TEST(TcpTransportTest, PerPeerLimitClosesExcessConnectionsAtOnce) {
  TestLoop loop;
  Inbox in;
  StreamConfig config = Config(Loopback4());
  config.max_connections_per_peer = 2;
  auto server = Make(loop, in, config);
  ASSERT_TRUE(server);
  const SocketAddress addr = *server->LocalAddress(Protocol::kTcp);
  auto p1 = std::make_unique<RawPeer>(addr);
  RawPeer p2(addr);
  ASSERT_TRUE(loop.RunUntil([&] { return server->connection_count() == 2; }));
  RawPeer p3(addr);
  ASSERT_TRUE(p3.WaitClosed(loop));
  EXPECT_EQ(server->counters().drop_too_many_connections, 1u);
  EXPECT_EQ(server->connection_count(), 2u);
  // The first two still work.
  ASSERT_TRUE(p2.Write(MakeRequest("p2")));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 1; }));
  // A slot frees when one goes away.
  p1.reset();
  ASSERT_TRUE(loop.RunUntil([&] { return server->connection_count() == 1; }));
  RawPeer p4(addr);
  ASSERT_TRUE(loop.RunUntil([&] { return server->counters().connections_accepted == 3; }));
  EXPECT_EQ(server->connection_count(), 2u);
}

TEST(TcpTransportTest, TotalLimitAppliesToAcceptAndConnect) {
  TestLoop loop;
  Inbox in, client_in;
  StreamConfig config = Config(Loopback4());
  config.max_connections = 1;
  auto server = Make(loop, in, config);
  ASSERT_TRUE(server);
  const SocketAddress addr = *server->LocalAddress(Protocol::kTcp);
  RawPeer p1(addr);
  ASSERT_TRUE(loop.RunUntil([&] { return server->connection_count() == 1; }));
  RawPeer p2(addr);
  ASSERT_TRUE(p2.WaitClosed(loop));
  EXPECT_EQ(server->counters().drop_too_many_connections, 1u);

  // Outbound connections count against the same limit.
  Inbox in2, in3;
  auto server2 = Make(loop, in2, Config(Loopback4()));
  auto server3 = Make(loop, in3, Config(Loopback4()));
  StreamConfig client_config;
  client_config.max_connections = 1;
  auto client = Make(loop, client_in, client_config);
  ASSERT_TRUE(server2 && server3 && client);
  ASSERT_TRUE(client->Send(To(*server2->LocalAddress(Protocol::kTcp)), Bytes(MakeRequest("a"))).ok());
  EXPECT_FALSE(client->Send(To(*server3->LocalAddress(Protocol::kTcp)), Bytes(MakeRequest("b"))).ok());
  EXPECT_EQ(client->counters().drop_too_many_connections, 1u);
  EXPECT_EQ(client->counters().send_errors, 1u);
  ASSERT_TRUE(loop.RunUntil([&] { return in2.messages.size() == 1; }));
}

TEST(TcpTransportTest, IdleConnectionClosedAfterTimeoutButActiveOneKept) {
  TestLoop loop;
  Inbox in;
  StreamConfig config = Config(Loopback4());
  config.idle_timeout = 200ms;
  auto server = Make(loop, in, config);
  ASSERT_TRUE(server);
  const SocketAddress addr = *server->LocalAddress(Protocol::kTcp);
  RawPeer idle(addr), active(addr);
  const auto start = std::chrono::steady_clock::now();
  // The active peer pings every 50 ms: keep-alives count as activity.
  auto next_ping = start;
  ASSERT_TRUE(loop.RunUntil(
      [&] {
        if (std::chrono::steady_clock::now() >= next_ping) {
          EXPECT_TRUE(active.Write("\r\n\r\n"));
          next_ping += 50ms;
        }
        idle.Poll();
        return idle.closed();
      },
      2s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 190ms);
  EXPECT_EQ(server->counters().idle_closes, 1u);
  active.Poll();
  EXPECT_FALSE(active.closed());
  EXPECT_EQ(server->connection_count(), 1u);
}

TEST(TcpTransportTest, MessageTooLargeClosesConnection) {
  TestLoop loop;
  Inbox in;
  StreamConfig config = Config(Loopback4());
  config.max_message_bytes = 1024;
  auto server = Make(loop, in, config);
  ASSERT_TRUE(server);
  const SocketAddress addr = *server->LocalAddress(Protocol::kTcp);
  // Declared body over the limit: closed as soon as the headers are read.
  RawPeer body(addr);
  ASSERT_TRUE(body.Write(MakeRequest("big-body", 2000)));
  ASSERT_TRUE(body.WaitClosed(loop));
  // Headers and body each under the limit, the sum over it.
  RawPeer sum(addr);
  ASSERT_TRUE(sum.Write(MakeRequest("sum", 1024 - 100)));
  ASSERT_TRUE(sum.WaitClosed(loop));
  // Headers that never end.
  RawPeer headers(addr);
  ASSERT_TRUE(headers.Write("OPTIONS sip:x SIP/2.0\r\nX-Long: " + std::string(1100, 'h')));
  ASSERT_TRUE(headers.WaitClosed(loop));
  EXPECT_TRUE(in.messages.empty());
  EXPECT_EQ(server->counters().drop_oversize, 3u);
  EXPECT_EQ(server->counters().drop_framing_error, 0u);
  // The limit itself is fine.
  RawPeer fits(addr);
  const std::string head = MakeRequest("fits", 0);
  const std::string exact = MakeRequest("fits", 1024 - head.size() - 2);  // Content-Length grows by 2 digits
  ASSERT_EQ(exact.size(), 1024u);
  ASSERT_TRUE(fits.Write(exact));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 1; }));
}

TEST(TcpTransportTest, FramingErrorClosesConnection) {
  TestLoop loop;
  Inbox in;
  auto server = Make(loop, in, Config(Loopback4()));
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTcp));
  // RFC 3261 18.3: Content-Length is mandatory on streams.
  ASSERT_TRUE(peer.Write("OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n"));
  ASSERT_TRUE(peer.WaitClosed(loop));
  EXPECT_EQ(server->counters().drop_framing_error, 1u);
  EXPECT_EQ(server->counters().drop_oversize, 0u);
  EXPECT_EQ(server->counters().connections_closed, 1u);
}

TEST(TcpTransportTest, ConnectRefusedIsReportedAsSendError) {
  TestLoop loop;
  Inbox in;
  auto client = Make(loop, in, StreamConfig{});
  ASSERT_TRUE(client);
  // A bound socket that does not listen: connecting to it is refused.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  const SocketAddress any = Loopback4();
  ASSERT_EQ(bind(holder, any.sockaddr_ptr(), any.length()), 0);
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&storage), &length), 0);
  const SocketAddress target = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
  auto id = client->SendOnConnection(To(target), Bytes(MakeRequest("refused")));
  if (id.ok()) {
    ASSERT_TRUE(loop.RunUntil([&] { return in.errors.size() == 1; }));
    EXPECT_EQ(in.errors[0].connection_id, *id);
    EXPECT_EQ(in.errors[0].remote, target);
    EXPECT_NE(in.errors[0].reason.find("refused"), std::string::npos) << in.errors[0].reason;
  }
  EXPECT_EQ(client->counters().connect_failures, 1u);
  EXPECT_EQ(client->counters().send_errors, 1u);
  EXPECT_EQ(client->connection_count(), 0u);
  close(holder);
}

TEST(TcpTransportTest, ClosedConnectionIdFallsBackToAddress) {
  TestLoop loop;
  Inbox server_in, client_in;
  auto server = Make(loop, server_in, Config(Loopback4()));
  auto client = Make(loop, client_in, StreamConfig{});
  const SocketAddress addr = *server->LocalAddress(Protocol::kTcp);
  auto id = client->SendOnConnection(To(addr), Bytes(MakeRequest("1")));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(loop.RunUntil([&] { return server_in.messages.size() == 1; }));
  client->CloseConnection(*id);
  EXPECT_FALSE(client->FindConnection(*id).has_value());
  // Without an address a gone connection is an error; with one, a new connection opens.
  EXPECT_FALSE(client->Send(To(SocketAddress(), *id), Bytes(MakeRequest("2"))).ok());
  auto id2 = client->SendOnConnection(To(addr, *id), Bytes(MakeRequest("3")));
  ASSERT_TRUE(id2.ok());
  EXPECT_NE(*id2, *id);
  ASSERT_TRUE(loop.RunUntil([&] { return server_in.messages.size() == 2; }));
  EXPECT_TRUE(client_in.errors.empty()) << "a local close reports nothing";
}

TEST(TcpTransportTest, PartialWritesAreQueuedBoundedAndFlushed) {
  TestLoop loop;
  Inbox in;
  StreamConfig config = Config(Loopback4());
  config.max_write_buffer_bytes = 64 * 1024;
  auto server = Make(loop, in, config);
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTcp), /*receive_buffer=*/4096);
  ASSERT_TRUE(peer.Write(MakeRequest("hello")));
  ASSERT_TRUE(loop.RunUntil([&] { return in.messages.size() == 1; }));
  const uint64_t id = in.meta[0].connection_id;
  // The peer does not read: fill the kernel buffers, then the bounded queue.
  std::string expected;
  int accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string m =
        MakeRequest("bulk-" + std::to_string(i), 16 * 1024 - 300, static_cast<char>('a' + i % 26));
    if (!server->Send(To(SocketAddress(), id), Bytes(m)).ok()) break;
    expected += m;
    ++accepted;
  }
  ASSERT_LT(accepted, 4000) << "the queue never filled";
  EXPECT_EQ(server->counters().send_errors, 1u);
  const auto info = server->FindConnection(id);
  ASSERT_TRUE(info.has_value()) << "a full queue does not close the connection";
  EXPECT_GT(info->queued_bytes, 0u);
  EXPECT_LE(info->queued_bytes, config.max_write_buffer_bytes);
  // Once the peer reads, everything accepted arrives intact and in order.
  ASSERT_TRUE(peer.WaitFor(loop, expected.size(), 5s));
  EXPECT_EQ(peer.received(), expected);
  EXPECT_EQ(server->FindConnection(id)->queued_bytes, 0u);
}

TEST(TcpTransportTest, HandlerMayCloseTheConnectionMidBuffer) {
  TestLoop loop;
  StreamTransport* server_ptr = nullptr;
  int delivered = 0;
  StreamConfig config = Config(Loopback4());
  auto server = StreamTransport::Create(config, loop.poller(), loop.scheduler(), [&](const Received& r) {
    ++delivered;
    server_ptr->CloseConnection(r.connection_id);
  });
  ASSERT_TRUE(server.ok());
  server_ptr = server->get();
  RawPeer peer(*(*server)->LocalAddress(Protocol::kTcp));
  ASSERT_TRUE(peer.Write(MakeRequest("a") + MakeRequest("b") + MakeRequest("c")));
  ASSERT_TRUE(peer.WaitClosed(loop));
  EXPECT_EQ(delivered, 1);
}

TEST(TcpTransportTest, FramingReasonsArePinned) {
  // The transport tells oversize from framing errors by FrameStream's reason text.
  sip::FramingLimits limits{16, 16};
  EXPECT_STREQ(sip::FrameStream(std::string(20, 'a'), limits).reason, "Header section too large");
  EXPECT_STREQ(sip::FrameStream("A\r\nContent-Length: 17\r\n\r\n", sip::FramingLimits{64, 16}).reason,
               "Body too large");
}

TEST(TcpTransportTest, CreateValidatesConfig) {
  TestLoop loop;
  Inbox in;
  StreamConfig udp;
  udp.protocol = Protocol::kUdp;
  EXPECT_FALSE(StreamTransport::Create(udp, loop.poller(), loop.scheduler(), in.Handler()).ok());
  StreamConfig tiny;
  tiny.max_message_bytes = 100;
  EXPECT_FALSE(StreamTransport::Create(tiny, loop.poller(), loop.scheduler(), in.Handler()).ok());
  StreamConfig no_conn;
  no_conn.max_connections = 0;
  EXPECT_FALSE(StreamTransport::Create(no_conn, loop.poller(), loop.scheduler(), in.Handler()).ok());
}

}  // namespace
}  // namespace linegate::signaling::transport
