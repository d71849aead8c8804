// Packets per second per core through the kernel-socket backend on loopback: a burst of
// 172-byte RTP-sized datagrams sent on one flow with sendmmsg and taken on another with
// epoll + recvmmsg. This is the per-packet system-call cost the media engine pays on
// kernel sockets (the DPDK backend removes it).
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>

#include "media/packetio/kernel_socket_io.h"

namespace linegate::media::packetio {
namespace {

void BM_KernelSocketLoopback(benchmark::State& state) {
  const size_t burst = static_cast<size_t>(state.range(0));
  auto io = KernelSocketIo::Create({});
  auto rx = (*io)->OpenFlow(0);
  auto tx = (*io)->OpenFlow(0);
  if (!rx || !tx) {
    state.SkipWithError("no loopback flows");
    return;
  }
  auto destination = *Endpoint::Parse("127.0.0.1", (*io)->LocalPort(*rx));
  std::array<Packet, 64> received;
  uint64_t packets = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < burst; ++i) {
      uint8_t* buffer = (*io)->AllocateTx();
      std::memset(buffer, 0x80, 172);
      (*io)->QueueTx(Packet{buffer, 172, *tx, destination});
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
  // Sent plus received: what one core moves through the kernel per second.
  state.counters["packets_per_s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_KernelSocketLoopback)->Arg(1)->Arg(16)->Arg(64);

}  // namespace
}  // namespace linegate::media::packetio

BENCHMARK_MAIN();
