// Voice codecs and the line echo canceller (see media/codec/README.md): CPU time of one
// call on the media path. The "channels" counter is the number of channels one core
// could serve with that call alone: calls per second / packets (or frames) per second
// of one channel (50 for 20 ms packets, 100 for 10 ms echo-canceller frames).
//   BM_Encode/<codec>             encode one 20 ms frame of speech-like audio
//   BM_Decode/<codec>             decode one 20 ms payload
//   BM_Conceal/<codec>            conceal one lost 20 ms packet (codecs with their own PLC)
//   BM_OpusEncodeComplexity/<n>   Opus encode at complexity 0, 5 (our default) and 10
//   BM_EchoCancel/<tail>          one 10 ms frame through the echo canceller, 64 and 128 ms tails

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "media/codec/codec.h"
#include "media/codec/echo_canceller.h"
#include "media/dsp/test_signals.h"

namespace linegate::media::codec {
namespace {

constexpr size_t k20Ms = 160;
constexpr size_t k10Ms = 80;

void SetChannels(benchmark::State& state, double calls_per_channel_second) {
  state.counters["channels"] = benchmark::Counter(
      static_cast<double>(state.iterations()) / calls_per_channel_second, benchmark::Counter::kIsRate);
}

// One second of speech-like audio at -16 dBm0.
const std::vector<int16_t>& Speech() {
  static const std::vector<int16_t> speech = dsp::testing::SpeechLike(1000, -16, 7);
  return speech;
}

void EncodeLoop(benchmark::State& state, CodecId id, const CodecOptions& options) {
  auto encoder = MakeEncoder(id, options);
  if (!encoder.ok()) return state.SkipWithError(encoder.error().c_str());
  const std::vector<int16_t>& audio = Speech();
  std::array<uint8_t, kMaxPayloadBytes> payload;
  size_t pos = 0, bytes = 0;
  for (auto _ : state) {
    bytes += (*encoder)->Encode(std::span(audio).subspan(pos, k20Ms), payload);
    benchmark::DoNotOptimize(payload.data());
    pos = (pos + k20Ms) % audio.size();
  }
  benchmark::DoNotOptimize(bytes);
  SetChannels(state, 50);
}

void BM_Encode(benchmark::State& state, CodecId id) { EncodeLoop(state, id, {}); }

void BM_OpusEncodeComplexity(benchmark::State& state) {
  EncodeLoop(state, CodecId::kOpus, {.opus_complexity = static_cast<int>(state.range(0))});
}
BENCHMARK(BM_OpusEncodeComplexity)->Arg(0)->Arg(5)->Arg(10)->ArgName("complexity");

void BM_Decode(benchmark::State& state, CodecId id) {
  auto encoder = MakeEncoder(id);
  auto decoder = MakeDecoder(id);
  if (!encoder.ok() || !decoder.ok()) return state.SkipWithError("codec creation failed");
  // One second of payloads, decoded in order, round and round.
  const std::vector<int16_t>& audio = Speech();
  std::vector<std::vector<uint8_t>> payloads;
  std::array<uint8_t, kMaxPayloadBytes> payload;
  for (size_t pos = 0; pos + k20Ms <= audio.size(); pos += k20Ms) {
    const size_t bytes = (*encoder)->Encode(std::span(audio).subspan(pos, k20Ms), payload);
    payloads.emplace_back(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(bytes));
  }
  std::array<int16_t, k20Ms> pcm;
  size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*decoder)->Decode(payloads[next], pcm));
    benchmark::ClobberMemory();
    next = (next + 1) % payloads.size();
  }
  SetChannels(state, 50);
}

void BM_Conceal(benchmark::State& state, CodecId id) {
  auto encoder = MakeEncoder(id);
  auto decoder = MakeDecoder(id);
  if (!encoder.ok() || !decoder.ok()) return state.SkipWithError("codec creation failed");
  // Every other packet lost: concealment always starts from freshly decoded audio.
  const std::vector<int16_t>& audio = Speech();
  std::array<uint8_t, kMaxPayloadBytes> payload;
  std::array<int16_t, k20Ms> pcm;
  size_t pos = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const size_t bytes = (*encoder)->Encode(std::span(audio).subspan(pos, k20Ms), payload);
    (*decoder)->Decode(std::span(payload).first(bytes), pcm);
    pos = (pos + 2 * k20Ms) % audio.size();
    state.ResumeTiming();
    benchmark::DoNotOptimize((*decoder)->Conceal(pcm));
    benchmark::ClobberMemory();
  }
  SetChannels(state, 50);
}

BENCHMARK_CAPTURE(BM_Encode, PCMU, CodecId::kPcmu);
BENCHMARK_CAPTURE(BM_Encode, PCMA, CodecId::kPcma);
BENCHMARK_CAPTURE(BM_Encode, G722, CodecId::kG722);
BENCHMARK_CAPTURE(BM_Encode, G729, CodecId::kG729);
BENCHMARK_CAPTURE(BM_Encode, opus, CodecId::kOpus);
BENCHMARK_CAPTURE(BM_Decode, PCMU, CodecId::kPcmu);
BENCHMARK_CAPTURE(BM_Decode, PCMA, CodecId::kPcma);
BENCHMARK_CAPTURE(BM_Decode, G722, CodecId::kG722);
BENCHMARK_CAPTURE(BM_Decode, G729, CodecId::kG729);
BENCHMARK_CAPTURE(BM_Decode, opus, CodecId::kOpus);
BENCHMARK_CAPTURE(BM_Conceal, G729, CodecId::kG729);
BENCHMARK_CAPTURE(BM_Conceal, opus, CodecId::kOpus);

void BM_EchoCancel(benchmark::State& state) {
  auto ec = EchoCanceller::Create({.tail_ms = static_cast<int>(state.range(0)), .frame_samples = k10Ms});
  if (!ec.ok()) return state.SkipWithError(ec.error().c_str());
  // Far end speech-like, near end its echo (20 ms, 10 dB down) plus a quieter talker,
  // so the filter keeps adapting as in a call.
  const std::vector<int16_t>& far = Speech();
  std::vector<int16_t> near = dsp::testing::SpeechLike(1000, -30, 8);
  for (size_t i = 160; i < near.size(); ++i) near[i] = dsp::testing::Clip(near[i] + 0.3 * far[i - 160]);
  std::array<int16_t, k10Ms> out;
  size_t pos = 0;
  for (auto _ : state) {
    ec->Process(std::span(far).subspan(pos, k10Ms), std::span(near).subspan(pos, k10Ms), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + k10Ms) % far.size();
  }
  SetChannels(state, 100);
}
BENCHMARK(BM_EchoCancel)->Arg(64)->Arg(128)->ArgName("tail_ms");

}  // namespace
}  // namespace linegate::media::codec
