// Packets per second per core through the DPDK backend, on ring ports (no NIC): what
// the backend's own code costs (driver poll, parse, checksum, demux, free), without the
// wire. Counterpart of packetio_bench.cc (kernel sockets on loopback).
//
// BM_DpdkReceive: synthetic 214-byte RTP frames (172-byte payload) for 1000 open flows,
//   enqueued on the ring the port receives from, then taken with Receive(64 slots) until
//   none is left. Counted: packets delivered. The enqueue (one reference-count update
//   and a ring enqueue per frame: the producer, which a NIC's DMA replaces) is inside the
//   timing. Argument 2 selects the UDP checksum: 1 verified in software (a NIC without
//   checksum offload, the worst case), 0 absent (what an offloading NIC costs).
// BM_DpdkTransmit: AllocateTx, fill 172 bytes, QueueTx to 1000 peers (through a
//   gateway with a static MAC), Flush; the bench drains the TX ring and frees the mbufs.
// BM_DpdkLoopback: the same shape as packetio_bench's loopback: a burst sent to our own
//   address on a port whose TX ring is its RX ring, then received. Counted like there:
//   sent plus received.
#include <benchmark/benchmark.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "media/packetio/dpdk_io.h"
#include "media/packetio/test_frames.h"

namespace linegate::media::packetio {
namespace {

constexpr size_t kFlows = 1000;
constexpr uint16_t kFirstPort = 20000;
constexpr size_t kPayload = 172;

std::string PortName(int port) {
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(static_cast<uint16_t>(port), name) != 0) return {};
  return name;
}

void Fail(const char* what) {
  std::fprintf(stderr, "dpdk_bench: %s\n", what);
  std::exit(1);
}

DpdkConfig BaseConfig(const std::string& port) {
  DpdkConfig config;
  config.no_huge = true;
  config.memory_mb = 512;
  config.no_pci = true;
  config.file_prefix = "linegate-bench";
  config.port = port;
  config.ipv4_address = "192.0.2.1";
  config.mac = "02:00:00:00:00:01";
  return config;
}

// One EAL, three ring ports, made once for the process.
struct Setup {
  rte_ring* rx_in = nullptr;   // the receive port's RX ring (the bench enqueues)
  rte_ring* rx_out = nullptr;  // its TX ring (unused)
  rte_ring* tx_in = nullptr;   // the transmit port's RX ring (unused)
  rte_ring* tx_out = nullptr;  // its TX ring (the bench drains)
  rte_ring* loop = nullptr;    // the loopback port's only ring
  std::string rx_port, tx_port, loop_port;
  rte_mempool* frames = nullptr;

  Setup() {
    if (Status eal = DpdkPacketIo::InitEal(BaseConfig("")); !eal) Fail(eal.error().c_str());
    auto ring = [](const char* name) {
      rte_ring* r = rte_ring_create(name, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (r == nullptr) Fail("rte_ring_create");
      return r;
    };
    rx_in = ring("bench_rx_in");
    rx_out = ring("bench_rx_out");
    tx_in = ring("bench_tx_in");
    tx_out = ring("bench_tx_out");
    loop = ring("bench_loop");
    rx_port = PortName(rte_eth_from_rings("bench_rx", &rx_in, 1, &rx_out, 1, SOCKET_ID_ANY));
    tx_port = PortName(rte_eth_from_rings("bench_tx", &tx_in, 1, &tx_out, 1, SOCKET_ID_ANY));
    loop_port = PortName(rte_eth_from_ring(loop));
    if (rx_port.empty() || tx_port.empty() || loop_port.empty()) Fail("rte_eth_from_rings");
    frames = rte_pktmbuf_pool_create("bench_frames", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (frames == nullptr) Fail("rte_pktmbuf_pool_create");
  }
};

Setup& Environment() {
  static Setup setup;
  return setup;
}

void BM_DpdkReceive(benchmark::State& state) {
  Setup& setup = Environment();
  const auto burst = static_cast<size_t>(state.range(0));
  const bool checksum = state.range(1) != 0;
  auto io = DpdkPacketIo::Create(BaseConfig(setup.rx_port));
  if (!io) {
    state.SkipWithError(io.error().c_str());
    return;
  }
  for (size_t i = 0; i < kFlows; ++i) {
    if (!(*io)->OpenFlow(static_cast<uint16_t>(kFirstPort + 2 * i))) Fail("OpenFlow");
  }
  // One frame per flow, built once; the bench keeps a reference to each so that the
  // backend's free hands it back intact.
  std::vector<rte_mbuf*> frames(kFlows);
  for (size_t i = 0; i < kFlows; ++i) {
    testing::FrameSpec spec;
    spec.destination_mac = (*io)->mac();
    spec.source_ip = testing::V4(192, 0, 2, static_cast<uint8_t>(10 + i % 200));
    spec.destination_ip = testing::V4(192, 0, 2, 1);
    spec.source_port = static_cast<uint16_t>(30000 + i);
    spec.destination_port = static_cast<uint16_t>(kFirstPort + 2 * i);
    spec.payload.assign(kPayload, static_cast<uint8_t>(i));
    spec.payload[0] = 0x80;
    spec.zero_udp_checksum = !checksum;
    const auto bytes = testing::BuildUdp(spec);
    frames[i] = rte_pktmbuf_alloc(setup.frames);
    if (frames[i] == nullptr) Fail("frame pool empty");
    std::memcpy(rte_pktmbuf_append(frames[i], static_cast<uint16_t>(bytes.size())), bytes.data(),
                bytes.size());
  }
  std::array<Packet, 64> received;
  std::vector<rte_mbuf*> batch(burst);
  size_t next = 0;
  uint64_t packets = 0;
  uint64_t touched = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < burst; ++i) {
      batch[i] = frames[next];
      next = next + 1 == kFlows ? 0 : next + 1;
      rte_mbuf_refcnt_update(batch[i], 1);
    }
    rte_ring_enqueue_bulk(setup.rx_in, reinterpret_cast<void* const*>(batch.data()),
                          static_cast<unsigned>(burst), nullptr);
    size_t got = 0;
    while (got < burst) {
      const size_t n = (*io)->Receive(received);
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i)
        touched += received[i].data[0] + received[i].flow;  // what a consumer reads
      got += n;
    }
    packets += got;
  }
  (*io)->Receive(received);  // frees the last burst
  benchmark::DoNotOptimize(touched);
  if ((*io)->counters().rx_packets != packets || (*io)->counters().rx_errors != 0) {
    state.SkipWithError("frames were dropped");
  }
  for (rte_mbuf* frame : frames) rte_pktmbuf_free(frame);
  state.counters["packets_per_s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DpdkReceive)->ArgNames({"burst", "sw_checksum"})->ArgsProduct({{32, 64, 256}, {1, 0}});

void BM_DpdkTransmit(benchmark::State& state) {
  Setup& setup = Environment();
  const auto burst = static_cast<size_t>(state.range(0));
  DpdkConfig config = BaseConfig(setup.tx_port);
  config.ipv4_gateway = "192.0.2.254";
  config.static_neighbours = {{"192.0.2.254", "02:00:00:00:00:fe"}};
  auto io = DpdkPacketIo::Create(config);
  if (!io) {
    state.SkipWithError(io.error().c_str());
    return;
  }
  std::vector<FlowId> flows(kFlows);
  std::vector<Endpoint> peers(kFlows);
  for (size_t i = 0; i < kFlows; ++i) {
    flows[i] = *(*io)->OpenFlow(static_cast<uint16_t>(kFirstPort + 2 * i));
    peers[i] =
        *Endpoint::Parse("198.51.100." + std::to_string(1 + i % 250), static_cast<uint16_t>(30000 + i));
  }
  std::vector<rte_mbuf*> drained(burst);
  size_t next = 0;
  uint64_t packets = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < burst; ++i) {
      uint8_t* buffer = (*io)->AllocateTx();
      std::memset(buffer, 0x80, kPayload);
      (*io)->QueueTx(Packet{buffer, static_cast<uint32_t>(kPayload), flows[next], peers[next]});
      next = next + 1 == kFlows ? 0 : next + 1;
    }
    packets += (*io)->Flush();
    // The wire: drain what was sent.
    const unsigned n = rte_ring_dequeue_burst(setup.tx_out, reinterpret_cast<void**>(drained.data()),
                                              static_cast<unsigned>(burst), nullptr);
    rte_pktmbuf_free_bulk(drained.data(), n);
  }
  state.counters["packets_per_s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DpdkTransmit)->ArgName("burst")->Arg(32)->Arg(64)->Arg(256);

void BM_DpdkLoopback(benchmark::State& state) {
  Setup& setup = Environment();
  const auto burst = static_cast<size_t>(state.range(0));
  DpdkConfig config = BaseConfig(setup.loop_port);
  config.static_neighbours = {{"192.0.2.1", "02:00:00:00:00:01"}};  // ourselves
  auto io = DpdkPacketIo::Create(config);
  if (!io) {
    state.SkipWithError(io.error().c_str());
    return;
  }
  std::array<Packet, 64> received;
  (*io)->Receive(received);  // the gratuitous ARP came back: take it off the ring
  auto rx = (*io)->OpenFlow(0);
  auto tx = (*io)->OpenFlow(0);
  const Endpoint destination = *Endpoint::Parse("192.0.2.1", (*io)->LocalPort(*rx));
  uint64_t packets = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < burst; ++i) {
      uint8_t* buffer = (*io)->AllocateTx();
      std::memset(buffer, 0x80, kPayload);
      (*io)->QueueTx(Packet{buffer, static_cast<uint32_t>(kPayload), *tx, destination});
    }
    (*io)->Flush();
    size_t got = 0;
    while (got < burst) {
      const size_t n = (*io)->Receive(received);
      if (n == 0) break;
      got += n;
    }
    packets += burst + got;
  }
  state.counters["packets_per_s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DpdkLoopback)->ArgName("burst")->Arg(1)->Arg(16)->Arg(64);

}  // namespace
}  // namespace linegate::media::packetio

BENCHMARK_MAIN();
