// The media engine's per-frame work per channel, everything but the system calls: a
// TDM bus region clocked here, N sessions (G.711 20 ms, RFC 4733 DTMF detection, jitter
// buffer playout, optionally the echo canceller), packets handed to a packet I/O that
// drops them (the kernel-socket cost is measured apart, in packetio_bench). One
// iteration is one 10 ms tick of every channel; the counter reports per channel-frame.
// Third argument: sessions per line; 2 is a three-way conference on every line (both
// legs conference=true: two send paths, two playouts mixed, each leg also sending the
// other's party), the cost of the mix on top of two sessions.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "common/log.h"
#include "media/dsp/oscillator.h"
#include "media/engine/media_engine.h"
#include "media/tdm/tdm_service.h"

namespace linegate::media::engine {
namespace {

// Accepts every packet and sends none: the engine's own work only.
class DiscardPacketIo final : public packetio::PacketIo {
 public:
  Result<packetio::FlowId> OpenFlow(uint16_t port) override {
    ports_.push_back(port);
    return static_cast<packetio::FlowId>(ports_.size() - 1);
  }
  void CloseFlow(packetio::FlowId) override {}
  uint16_t LocalPort(packetio::FlowId flow) const override { return ports_.at(flow); }
  size_t Receive(std::span<packetio::Packet>) override { return 0; }
  uint8_t* AllocateTx() override { return buffer_.data(); }
  void QueueTx(const packetio::Packet&) override { ++counters_.tx_packets; }
  size_t Flush() override { return 0; }
  int wait_fd() const override { return -1; }
  const packetio::PacketIoCounters& counters() const override { return counters_; }
  const char* backend_name() const override { return "discard"; }

 private:
  std::vector<uint16_t> ports_;
  std::array<uint8_t, kBufferSize> buffer_{};
  packetio::PacketIoCounters counters_;
};

class NoEvents final : public EngineEvents {
 public:
  void OnDtmf(uint32_t, char, uint32_t, bool) override {}
  void OnRtpTimeout(uint32_t, uint32_t) override {}
  void OnFaxTone(uint32_t, const char*) override {}
  void OnCallerId(uint32_t, const dsp::CallerIdResult&) override {}
  void OnDigitsSent(uint32_t) override {}
  void OnBusyTone(uint32_t, const char*) override {}
};

void BM_EngineTickPerChannel(benchmark::State& state) {
  log::SetLevel(log::Level::kWarn);  // one log line per session created would be timed
  const uint32_t channels = static_cast<uint32_t>(state.range(0));
  const bool echo = state.range(1) != 0;
  const uint32_t legs = static_cast<uint32_t>(state.range(2));
  config::v1::Config config;
  config.mutable_runtime()->set_runtime_dir("/tmp/lg-bench-" + std::to_string(::getpid()));
  config.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_SIM);
  config.mutable_tdm()->set_frame_ms(10);
  auto* card = config.mutable_tdm()->add_cards();
  card->set_name("b");
  card->set_fxs_ports(channels);
  config.mutable_media()->set_process_count(1);
  config.mutable_media()->set_rtp_address("127.0.0.1");
  config.mutable_media()->set_rtp_port_min(20000);
  config.mutable_media()->set_rtp_port_max(29999);
  config.mutable_media()->set_echo_canceller_tail_ms(echo ? 64 : 0);
  auto region = tdmbus::CardRegion::Create(*tdmbus::RegionName(tdm::TdmBusPrefix(config), 0),
                                           tdm::CardGeometry(config.tdm(), channels));
  if (!region) {
    state.SkipWithError(region.error().c_str());
    return;
  }
  std::vector<tdmbus::FrameWriter> from_line;
  std::vector<tdmbus::FrameReader> to_line;
  for (uint32_t c = 0; c < channels; ++c) {
    from_line.push_back(*region->FromLineWriter(c));
    to_line.push_back(*region->ToLineReader(c));
  }
  ManualClock clock;
  NoEvents events;
  auto engine = MediaEngine::Create(config, 0, std::make_unique<DiscardPacketIo>(), events, clock);
  if (!engine) {
    state.SkipWithError(engine.error().c_str());
    return;
  }
  (*engine)->Poll();
  for (uint32_t line = 1; line <= channels; ++line) {
    for (uint32_t leg = 0; leg < legs; ++leg) {
      v1::SessionParams params;
      params.set_line(line);
      params.set_remote_address("127.0.0.1");
      params.set_remote_port(9);
      params.set_leg(leg);
      params.set_conference(legs > 1);
      if (!(*engine)->CreateSession(params)) {
        state.SkipWithError("session not created");
        return;
      }
    }
  }
  dsp::ToneGenerator tone(dsp::ToneSpec::Single(1004.0f, -10.0f));
  std::array<int16_t, 80> frame;
  tone.Generate(frame);
  for (auto _ : state) {
    for (uint32_t c = 0; c < channels; ++c)
      from_line[c].Write(std::as_bytes(std::span<const int16_t>(frame)));
    region->Tick(0);
    clock.Advance(std::chrono::milliseconds(10));
    (*engine)->Poll();
    for (uint32_t c = 0; c < channels; ++c) {
      uint64_t sequence;
      if (to_line[c].BeginRead(&sequence) != nullptr) to_line[c].EndRead();
    }
  }
  state.counters["per_channel_frame_ns"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * channels,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  engine->reset();
  (void)region->Unlink();
}
BENCHMARK(BM_EngineTickPerChannel)
    ->ArgNames({"channels", "echo", "legs"})
    ->Args({240, 0, 1})
    ->Args({240, 1, 1})
    ->Args({240, 0, 2})
    ->Args({240, 1, 2})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace linegate::media::engine

BENCHMARK_MAIN();
