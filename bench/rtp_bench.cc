// RTP receive path: header parse + receive statistics + jitter-buffer insert per
// packet, Get() per frame (real, concealed), RTCP build/parse; RFC 4733 telephone-event
// send and receive. Release build:
//   build/release/bench/rtp_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/clock.h"
#include "media/dsp/g711.h"
#include "media/rtp/jitter_buffer.h"
#include "media/rtp/receive_stats.h"
#include "media/rtp/rtcp.h"
#include "media/rtp/rtp_header.h"
#include "media/rtp/rtp_sender.h"
#include "media/rtp/telephone_event.h"

namespace rtp = linegate::media::rtp;
using linegate::ManualClock;
using std::chrono::milliseconds;

namespace {

constexpr uint32_t kSsrc = 0x11223344;
constexpr size_t kPackets = 1024;  // a ring of prepared 20 ms PCMU packets, reused with new headers

struct Stream {
  std::vector<std::array<uint8_t, 12 + 160>> packets;
  Stream() : packets(kPackets) {
    for (size_t k = 0; k < kPackets; ++k) {
      for (size_t i = 0; i < 160; ++i) {
        const double t = static_cast<double>(k * 160 + i) / 8000.0;
        packets[k][12 + i] =
            linegate::media::dsp::EncodeUlaw(static_cast<int16_t>(8000 * std::sin(2 * 3.14159 * 200 * t)));
      }
    }
  }
  // Rewrites packet slot k's header for sequence number `n`.
  std::span<const uint8_t> Packet(uint32_t n) {
    auto& p = packets[n % kPackets];
    rtp::RtpHeaderFields fields;
    fields.sequence = static_cast<uint16_t>(n);
    fields.timestamp = n * 160;
    fields.ssrc = kSsrc;
    rtp::WriteRtpHeader(fields, p);
    return p;
  }
};

rtp::JitterBuffer MakeBuffer(const ManualClock& clock) {
  auto jb = rtp::JitterBuffer::Create(rtp::JitterBufferConfig{}, clock);
  if (!jb.ok()) std::abort();
  return std::move(jb).value();
}

void BM_RtpParse(benchmark::State& state) {
  Stream stream;
  const auto packet = stream.Packet(1);
  rtp::RtpHeaderView view;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rtp::ParseRtpHeader(packet, view));
    benchmark::DoNotOptimize(view);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpParse);

// One 20 ms packet cycle as the media loop runs it: parse, statistics, insert, and the
// two 10 ms Get() calls that drain it. Items = packets.
void BM_PacketCycle(benchmark::State& state) {
  Stream stream;
  ManualClock clock;
  rtp::JitterBuffer jb = MakeBuffer(clock);
  rtp::ReceiveStatistics stats;
  std::array<int16_t, 80> frame{};
  uint32_t n = 0;
  for (auto _ : state) {
    rtp::RtpHeaderView view;
    const auto packet = stream.Packet(n++);
    if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk) std::abort();
    benchmark::DoNotOptimize(stats.OnPacket(view.ssrc, view.sequence, view.timestamp, clock.Now()));
    benchmark::DoNotOptimize(jb.Insert(view));
    clock.Advance(milliseconds(10));
    benchmark::DoNotOptimize(jb.Get(frame));
    clock.Advance(milliseconds(10));
    benchmark::DoNotOptimize(jb.Get(frame));
  }
  const auto& s = jb.stats();
  state.counters["real_share"] =
      static_cast<double>(s.frames_real) / (2.0 * static_cast<double>(state.iterations()));
  state.counters["late"] = static_cast<double>(s.late);
  state.counters["jumps"] = static_cast<double>(s.timestamp_jumps + s.jumps_held);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketCycle);

// Parse + statistics + insert alone. Items = packets. The buffer is drained outside
// the measurement every 16 packets (32 Get() calls between PauseTiming/ResumeTiming,
// whose own cost is spread over the 16). The clock advances 20 ms per packet without a
// Get(), which leaves the measured delay unchanged, so no adjustment is triggered.
void BM_ParseStatsInsert(benchmark::State& state) {
  Stream stream;
  ManualClock clock;
  rtp::JitterBuffer jb = MakeBuffer(clock);
  rtp::ReceiveStatistics stats;
  std::array<int16_t, 80> frame{};
  uint32_t n = 0;
  for (auto _ : state) {
    rtp::RtpHeaderView view;
    const auto packet = stream.Packet(n);
    if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk) std::abort();
    benchmark::DoNotOptimize(stats.OnPacket(view.ssrc, view.sequence, view.timestamp, clock.Now()));
    benchmark::DoNotOptimize(jb.Insert(view));
    clock.Advance(milliseconds(20));
    if (++n % 16 == 0) {
      state.PauseTiming();
      for (int i = 0; i < 32; ++i) jb.Get(frame);
      state.ResumeTiming();
    }
  }
  if (jb.stats().packets_accepted != n) state.SkipWithError("packets were not accepted");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseStatsInsert);

// Get() of a real 10 ms frame (presence check, G.711 decode, PLC history). Items =
// frames. Refilled outside the measurement, 16 packets per 32 frames.
void BM_GetRealFrame(benchmark::State& state) {
  Stream stream;
  ManualClock clock;
  rtp::JitterBuffer jb = MakeBuffer(clock);
  std::array<int16_t, 80> frame{};
  uint32_t n = 0;
  uint32_t frames = 0;
  uint64_t real = 0;
  for (auto _ : state) {
    if (frames++ % 32 == 0) {
      state.PauseTiming();
      for (int i = 0; i < 16; ++i) {
        rtp::RtpHeaderView view;
        (void)rtp::ParseRtpHeader(stream.Packet(n++), view);
        (void)jb.Insert(view);
        clock.Advance(milliseconds(20));
      }
      state.ResumeTiming();
    }
    real += jb.Get(frame).kind == rtp::FrameKind::kReal;
  }
  state.counters["real_share"] = static_cast<double>(real) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetRealFrame);

// Get() while every packet is lost: PLC synthesis (pitch search at each new erasure
// every 60 ms) and silence. Items = frames.
void BM_GetConcealedFrame(benchmark::State& state) {
  Stream stream;
  ManualClock clock;
  rtp::JitterBuffer jb = MakeBuffer(clock);
  std::array<int16_t, 80> frame{};
  uint32_t n = 0;
  uint64_t concealed = 0;
  for (auto _ : state) {
    // One packet in eight arrives: the others are concealed.
    if (n % 8 == 0) {
      rtp::RtpHeaderView view;
      (void)rtp::ParseRtpHeader(stream.Packet(n / 2), view);
      (void)jb.Insert(view);
    }
    ++n;
    clock.Advance(milliseconds(10));
    concealed += jb.Get(frame).kind == rtp::FrameKind::kConcealed;
  }
  state.counters["concealed_share"] =
      static_cast<double>(concealed) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetConcealedFrame);

void BM_RtcpBuildParse(benchmark::State& state) {
  std::array<uint8_t, 512> buffer{};
  rtp::ReportBlock block{1, 2, 3, 4, 5, 6, 7};
  for (auto _ : state) {
    rtp::RtcpWriter writer(buffer);
    writer.AddReceiverReport(kSsrc, std::span(&block, 1));
    writer.AddSdesCname(kSsrc, "line17@gw1.example.net");
    rtp::RtcpCompound compound;
    benchmark::DoNotOptimize(rtp::ParseRtcp(writer.bytes(), compound));
    benchmark::DoNotOptimize(compound);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtcpBuildParse);

// RFC 4733 sending: digits of 100 ms on, 60 ms off, polled every 20 ms; each poll loop
// builds the due packets through RtpSender (4 updates and 3 finals per digit). Items =
// event packets built.
void BM_TelephoneEventSend(benchmark::State& state) {
  struct FixedRandom final : rtp::RandomSource {
    uint32_t NextUint32() override { return 0x12345678; }
  } random;
  rtp::RtpSender rtp_sender({.payload_type = 0}, random);
  auto created = rtp::TelephoneEventSender::Create({});
  if (!created.ok()) std::abort();
  rtp::TelephoneEventSender sender = std::move(created).value();
  std::array<uint8_t, rtp::TelephoneEventSender::kPacketSize> buffer{};
  uint64_t tick = 0;
  uint64_t packets = 0;
  for (auto _ : state) {
    // One 20 ms tick: key edges of the cycle of 8 ticks, then the due packets.
    const uint64_t phase = tick % 8;
    const uint64_t start = tick * 160;
    if (phase == 0) (void)sender.KeyDown(static_cast<uint8_t>((tick / 8) % 16), start);
    if (phase == 5) (void)sender.KeyUp(start);
    size_t n;
    while ((n = sender.BuildNextPacket(start + 160, rtp_sender, buffer)) > 0) {
      benchmark::DoNotOptimize(buffer);
      ++packets;
    }
    ++tick;
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["packets_per_tick"] = static_cast<double>(packets) / static_cast<double>(tick);
}
BENCHMARK(BM_TelephoneEventSend);

// RFC 4733 receiving: parse + OnPacket + taking the notices, over a prepared stream of
// digits (marker, updates, three finals each) whose timestamps advance per pass.
// Items = packets.
void BM_TelephoneEventReceive(benchmark::State& state) {
  constexpr size_t kDigits = 64;
  constexpr size_t kPerDigit = 7;
  std::vector<std::array<uint8_t, 16>> packets(kDigits * kPerDigit);
  for (size_t d = 0; d < kDigits; ++d) {
    for (size_t i = 0; i < kPerDigit; ++i) {
      auto& p = packets[d * kPerDigit + i];
      const bool final_packet = i >= 4;
      rtp::RtpHeaderFields fields;
      fields.marker = i == 0;
      fields.payload_type = 101;
      fields.sequence = static_cast<uint16_t>(d * kPerDigit + i);
      fields.timestamp = static_cast<uint32_t>(d * 1280);
      fields.ssrc = kSsrc;
      rtp::WriteRtpHeader(fields, p);
      const uint16_t duration = static_cast<uint16_t>(final_packet ? 800 : 160 * (i + 1));
      rtp::WriteTelephoneEventPayload(
          {.event = static_cast<uint8_t>(d % 16), .end = final_packet, .volume = 10, .duration = duration},
          std::span(p).subspan(12));
    }
  }
  rtp::TelephoneEventReceiver receiver;
  ManualClock clock;
  size_t k = 0;
  uint64_t ends = 0;
  for (auto _ : state) {
    auto& p = packets[k];
    if (k == 0) {
      // Next pass: move every timestamp on, so the digits are new events again.
      state.PauseTiming();
      for (auto& q : packets) rtp::StoreBe32(q.data() + 4, rtp::LoadBe32(q.data() + 4) + kDigits * 1280);
      state.ResumeTiming();
    }
    rtp::RtpHeaderView view;
    if (rtp::ParseRtpHeader(p, view) != rtp::RtpParseStatus::kOk) std::abort();
    benchmark::DoNotOptimize(receiver.OnPacket(view, clock.Now()));
    while (auto notice = receiver.PopNotice()) ends += notice->edge == rtp::TelephoneEventEdge::kEnd;
    k = (k + 1) % packets.size();
  }
  state.counters["ends_per_digit"] =
      static_cast<double>(ends) * kPerDigit / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TelephoneEventReceive);

}  // namespace
