#include "media/packetio/kernel_socket_io.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <thread>

namespace linegate::media::packetio {
namespace {

std::unique_ptr<KernelSocketIo> MakeIo(uint32_t rx_burst = 64) {
  KernelSocketConfig config;
  config.rx_burst = rx_burst;
  auto io = KernelSocketIo::Create(config);
  EXPECT_TRUE(io) << io.error();
  return std::move(*io);
}

// Receives until `want` packets arrived or a second passed (loopback delivery is
// immediate, but the test should not depend on it being synchronous).
size_t ReceiveAll(KernelSocketIo& io, std::vector<std::pair<std::string, Endpoint>>& got, size_t want) {
  std::array<Packet, 64> burst;
  for (int attempt = 0; attempt < 1000 && got.size() < want; ++attempt) {
    const size_t n = io.Receive(burst);
    for (size_t i = 0; i < n; ++i) {
      got.emplace_back(std::string(reinterpret_cast<char*>(burst[i].data), burst[i].length), burst[i].remote);
    }
    if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return got.size();
}

TEST(Endpoint, ParsesAndPrintsBothFamilies) {
  auto v4 = Endpoint::Parse("127.0.0.1", 4000);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, 4);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:4000");
  auto v6 = Endpoint::Parse("::1", 4002);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, 6);
  EXPECT_EQ(v6->ToString(), "[::1]:4002");
  EXPECT_FALSE(Endpoint::Parse("localhost", 1));
}

TEST(KernelSocketIo, RefusesBadConfiguration) {
  KernelSocketConfig config;
  config.address = "not-an-address";
  auto io = KernelSocketIo::Create(config);
  ASSERT_FALSE(io);
  EXPECT_NE(io.error().find("rtp_address"), std::string::npos);
}

TEST(KernelSocketIo, SendsBurstBetweenFlowsWithSourceAndFlow) {
  auto io = MakeIo();
  auto rx = io->OpenFlow(0);
  auto tx = io->OpenFlow(0);
  ASSERT_TRUE(rx) << rx.error();
  ASSERT_TRUE(tx) << tx.error();
  EXPECT_EQ(io->open_flows(), 2u);
  // Port 0 lets the kernel choose; the flow reports the port it got.
  ASSERT_NE(io->LocalPort(*rx), 0);
  auto dest = Endpoint::Parse("127.0.0.1", io->LocalPort(*rx));
  const std::string source = "127.0.0.1:" + std::to_string(io->LocalPort(*tx));
  for (int i = 0; i < 100; ++i) {
    uint8_t* buffer = io->AllocateTx();
    ASSERT_NE(buffer, nullptr);
    const std::string text = "packet " + std::to_string(i);
    std::memcpy(buffer, text.data(), text.size());
    io->QueueTx(Packet{buffer, static_cast<uint32_t>(text.size()), *tx, *dest});
  }
  EXPECT_EQ(io->Flush(), 100u);
  // One run of one flow: one sendmmsg.
  EXPECT_EQ(io->counters().tx_calls, 1u);
  std::vector<std::pair<std::string, Endpoint>> got;
  ASSERT_EQ(ReceiveAll(*io, got, 100), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got[i].first, "packet " + std::to_string(i));
    EXPECT_EQ(got[i].second.ToString(), source);
  }
  // 100 packets in bursts of at most 64: a handful of calls, not one per packet.
  EXPECT_LE(io->counters().rx_calls, 8u);
}

TEST(KernelSocketIo, BurstLimitLeavesTheRestForTheNextReceive) {
  auto io = MakeIo(4);
  auto rx = io->OpenFlow(0);
  auto tx = io->OpenFlow(0);
  ASSERT_TRUE(rx && tx);
  auto dest = Endpoint::Parse("127.0.0.1", io->LocalPort(*rx));
  for (int i = 0; i < 10; ++i) {
    uint8_t* buffer = io->AllocateTx();
    buffer[0] = static_cast<uint8_t>(i);
    io->QueueTx(Packet{buffer, 1, *tx, *dest});
  }
  io->Flush();
  std::array<Packet, 16> burst;
  std::vector<int> order;
  for (int attempt = 0; attempt < 1000 && order.size() < 10; ++attempt) {
    const size_t n = io->Receive(burst);
    EXPECT_LE(n, 4u);
    for (size_t i = 0; i < n; ++i) order.push_back(burst[i].data[0]);
  }
  ASSERT_EQ(order.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(order[i], i);
}

TEST(KernelSocketIo, TransmitBuffersRunOutUntilFlush) {
  KernelSocketConfig config;
  config.tx_burst = 3;
  auto io = KernelSocketIo::Create(config);
  ASSERT_TRUE(io);
  EXPECT_NE((*io)->AllocateTx(), nullptr);
  EXPECT_NE((*io)->AllocateTx(), nullptr);
  EXPECT_NE((*io)->AllocateTx(), nullptr);
  EXPECT_EQ((*io)->AllocateTx(), nullptr);
  (*io)->Flush();
  EXPECT_NE((*io)->AllocateTx(), nullptr);
}

TEST(KernelSocketIo, BusyPortIsAClearError) {
  auto io = MakeIo();
  auto first = io->OpenFlow(0);
  ASSERT_TRUE(first);
  const uint16_t port = io->LocalPort(*first);
  auto second = io->OpenFlow(port);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find(std::to_string(port)), std::string::npos) << second.error();
  EXPECT_EQ(io->open_flows(), 1u);
}

TEST(KernelSocketIo, PacketsToAClosedFlowAreDroppedNotSent) {
  auto io = MakeIo();
  auto tx = io->OpenFlow(0);
  ASSERT_TRUE(tx);
  io->CloseFlow(*tx);
  uint8_t* buffer = io->AllocateTx();
  io->QueueTx(Packet{buffer, 1, *tx, *Endpoint::Parse("127.0.0.1", 9)});
  EXPECT_EQ(io->Flush(), 0u);
  EXPECT_EQ(io->counters().tx_dropped, 1u);
}

TEST(KernelSocketIo, WorksOnIpv6Loopback) {
  KernelSocketConfig config;
  config.address = "::1";
  auto io = KernelSocketIo::Create(config);
  ASSERT_TRUE(io);
  auto rx = (*io)->OpenFlow(0);
  if (!rx) GTEST_SKIP() << "no IPv6 loopback here: " << rx.error();
  auto tx = (*io)->OpenFlow(0);
  ASSERT_TRUE(tx);
  const std::string source = "[::1]:" + std::to_string((*io)->LocalPort(*tx));
  uint8_t* buffer = (*io)->AllocateTx();
  buffer[0] = 42;
  (*io)->QueueTx(Packet{buffer, 1, *tx, *Endpoint::Parse("::1", (*io)->LocalPort(*rx))});
  (*io)->Flush();
  std::vector<std::pair<std::string, Endpoint>> got;
  ASSERT_EQ(ReceiveAll(**io, got, 1), 1u);
  EXPECT_EQ(got[0].second.ToString(), source);
}

}  // namespace
}  // namespace linegate::media::packetio
