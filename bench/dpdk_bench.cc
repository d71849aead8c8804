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
// BM_DpdkEngine: the whole media engine on the DPDK backend, per 20 ms of N sessions:
//   one RTP packet per session into the ring port (seq/timestamp advancing, so each goes
//   into its jitter buffer), two 10 ms TDM ticks with a frame from every line (DTMF and
//   fax detection, encoding, an RTP packet out per session through the port, jitter
//   buffer playout), the port's TX ring drained. Counted: packets in + out per second
//   of CPU, and sessions one core carries at real time (20 ms / time per round * N).
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

#include "common/log.h"
#include "media/dsp/oscillator.h"
#include "media/engine/media_engine.h"
#include "media/packetio/dpdk_io.h"
#include "media/packetio/test_frames.h"
#include "media/tdm/tdm_service.h"

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

class NoEvents final : public engine::EngineEvents {
 public:
  void OnDtmf(uint32_t, char, uint32_t, bool) override {}
  void OnRtpTimeout(uint32_t, uint32_t) override {}
  void OnFaxTone(uint32_t, const char*) override {}
  void OnCallerId(uint32_t, const dsp::CallerIdResult&) override {}
  void OnDigitsSent(uint32_t) override {}
  void OnBusyTone(uint32_t, const char*) override {}
};

void BM_DpdkEngine(benchmark::State& state) {
  log::SetLevel(log::Level::kWarn);  // one log line per session created would be timed
  Setup& setup = Environment();
  const uint32_t sessions = static_cast<uint32_t>(state.range(0));
  const bool echo = state.range(1) != 0;
  // 0: no audio from the lines, so the send side (DTMF and fax detection, encoding, RTP
  // out) does not run: what is left is receive, demux, jitter-buffer insert and playout.
  const bool line_audio = state.range(2) == 1;
  // 2: no TDM tick at all: receive, demux, RTP parse, statistics and jitter-buffer insert
  // only (bounded iterations, so that no buffer fills without playout).
  const bool ticks = state.range(2) != 2;
  config::v1::Config config;
  config.mutable_runtime()->set_runtime_dir("/tmp/lg-dpdk-bench-" + std::to_string(::getpid()));
  config.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_SIM);
  config.mutable_tdm()->set_frame_ms(10);
  auto* card = config.mutable_tdm()->add_cards();
  card->set_name("b");
  card->set_fxs_ports(sessions);
  config.mutable_media()->set_process_count(1);
  config.mutable_media()->set_rtp_address("192.0.2.1");
  config.mutable_media()->set_rtp_port_min(20000);
  config.mutable_media()->set_rtp_port_max(29999);
  config.mutable_media()->set_echo_canceller_tail_ms(echo ? 64 : 0);
  auto region = tdmbus::CardRegion::Create(*tdmbus::RegionName(tdm::TdmBusPrefix(config), 0),
                                           tdm::CardGeometry(config.tdm(), sessions));
  if (!region) return state.SkipWithError(region.error().c_str());
  std::vector<tdmbus::FrameWriter> from_line;
  std::vector<tdmbus::FrameReader> to_line;
  for (uint32_t c = 0; c < sessions; ++c) {
    from_line.push_back(*region->FromLineWriter(c));
    to_line.push_back(*region->ToLineReader(c));
  }
  DpdkConfig port = BaseConfig(setup.rx_port);
  port.static_neighbours = {{"192.0.2.9", "02:00:00:00:00:09"}};
  auto io = DpdkPacketIo::Create(port);
  if (!io) return state.SkipWithError(io.error().c_str());
  const net::MacAddress our_mac = (*io)->mac();
  ManualClock clock;
  NoEvents events;
  auto engine = engine::MediaEngine::Create(config, 0, std::move(*io), events, clock);
  if (!engine) return state.SkipWithError(engine.error().c_str());
  (*engine)->Poll();
  std::vector<rte_mbuf*> frames(sessions);
  for (uint32_t line = 1; line <= sessions; ++line) {
    v1::SessionParams params;
    params.set_line(line);
    params.set_remote_address("192.0.2.9");
    params.set_remote_port(30000 + 2 * line);
    auto created = (*engine)->CreateSession(params);
    if (!created) return state.SkipWithError(created.error().c_str());
    testing::FrameSpec spec;
    spec.destination_mac = our_mac;
    spec.source_ip = testing::V4(192, 0, 2, 9);
    spec.destination_ip = testing::V4(192, 0, 2, 1);
    spec.source_port = static_cast<uint16_t>(30000 + 2 * line);
    spec.destination_port = static_cast<uint16_t>(created->local_port());
    spec.payload.assign(kPayload, 0xFF);  // mu-law silence after the header
    spec.payload[0] = 0x80;
    spec.payload[1] = 0;                           // PCMU
    spec.payload[8] = static_cast<uint8_t>(line);  // SSRC
    spec.zero_udp_checksum = true;  // the payload changes every round; what an offloading NIC costs
    const auto bytes = testing::BuildUdp(spec);
    frames[line - 1] = rte_pktmbuf_alloc(setup.frames);
    if (frames[line - 1] == nullptr) Fail("frame pool empty");
    std::memcpy(rte_pktmbuf_append(frames[line - 1], static_cast<uint16_t>(bytes.size())), bytes.data(),
                bytes.size());
  }
  constexpr size_t kRtpOffset = 14 + 20 + 8;  // Ethernet, IPv4, UDP
  dsp::ToneGenerator tone(dsp::ToneSpec::Single(1004.0f, -10.0f));
  std::array<int16_t, 80> line_frame;
  tone.Generate(line_frame);
  std::vector<rte_mbuf*> drained(512);
  uint64_t round = 0;
  uint64_t packets_out = 0;
  for (auto _ : state) {
    // 20 ms of RTP: one packet per session, sequence and timestamp advancing.
    for (uint32_t i = 0; i < sessions; ++i) {
      uint8_t* rtp = rte_pktmbuf_mtod(frames[i], uint8_t*) + kRtpOffset;
      const uint16_t sequence = static_cast<uint16_t>(round);
      const uint32_t timestamp = static_cast<uint32_t>(round * 160);
      rtp[2] = static_cast<uint8_t>(sequence >> 8);
      rtp[3] = static_cast<uint8_t>(sequence);
      rtp[4] = static_cast<uint8_t>(timestamp >> 24);
      rtp[5] = static_cast<uint8_t>(timestamp >> 16);
      rtp[6] = static_cast<uint8_t>(timestamp >> 8);
      rtp[7] = static_cast<uint8_t>(timestamp);
      rte_mbuf_refcnt_update(frames[i], 1);
      while (rte_ring_enqueue(setup.rx_in, frames[i]) != 0) (*engine)->Poll();
    }
    // Without ticks, take every packet now (each round's frames are edited in place).
    while (!ticks && rte_ring_count(setup.rx_in) > 0) (*engine)->Poll();
    // Two 10 ms ticks of every line.
    for (int tick = 0; tick < (ticks ? 2 : 0); ++tick) {
      if (line_audio) {
        for (uint32_t c = 0; c < sessions; ++c)
          from_line[c].Write(std::as_bytes(std::span<const int16_t>(line_frame)));
      }
      region->Tick(0);
      clock.Advance(std::chrono::milliseconds(10));
      (*engine)->Poll();
      for (uint32_t c = 0; c < sessions; ++c) {
        uint64_t sequence;
        if (to_line[c].BeginRead(&sequence) != nullptr) to_line[c].EndRead();
      }
    }
    unsigned n;
    while ((n = rte_ring_dequeue_burst(setup.rx_out, reinterpret_cast<void**>(drained.data()),
                                       static_cast<unsigned>(drained.size()), nullptr)) > 0) {
      packets_out += n;
      rte_pktmbuf_free_bulk(drained.data(), n);
    }
    ++round;
  }
  const double packets = static_cast<double>(round) * sessions + static_cast<double>(packets_out);
  state.counters["packets_per_s"] = benchmark::Counter(packets, benchmark::Counter::kIsRate);
  // Sessions one core carries in real time: N sessions take (CPU per round) of every 20 ms.
  state.counters["sessions_per_core"] =
      benchmark::Counter(static_cast<double>(round) * sessions * 0.020, benchmark::Counter::kIsRate);
  state.counters["packets_out_per_round"] = static_cast<double>(packets_out) / std::max<uint64_t>(round, 1);
  engine->reset();
  for (rte_mbuf* frame : frames) rte_pktmbuf_free(frame);
  (void)region->Unlink();
}
BENCHMARK(BM_DpdkEngine)
    ->ArgNames({"sessions", "echo", "line_audio"})
    ->Args({1000, 0, 0})
    ->Args({1000, 0, 1})
    ->Args({1000, 1, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DpdkEngine)
    ->Name("BM_DpdkEngineReceiveOnly")
    ->ArgNames({"sessions", "echo", "mode"})
    ->Args({250, 0, 2})
    ->Args({1000, 0, 2})
    ->Args({4000, 0, 2})
    ->Iterations(40)
    ->Unit(benchmark::kMillisecond);

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
