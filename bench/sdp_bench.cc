// SDP throughput on one core: parsing typical offers, serializing, and a whole
// answer (parse the offer, build the answer, serialize it, map it to SessionParams).
// Run with --benchmark_repetitions=5 and read the medians.

#include <benchmark/benchmark.h>

#include <string>

#include "signaling/sdp/offer_answer.h"
#include "signaling/sdp/sdp.h"
#include "signaling/sdp/session_params.h"
#include "signaling/sdp/tests/sdp_examples.h"

namespace sdp = linegate::signaling::sdp;
namespace codec = linegate::media::codec;

namespace {

const std::string& Example(int64_t index) {
  static const std::string* const kExamples[] = {&sdp::testing::kPolycomLike, &sdp::testing::kAsteriskLike,
                                                 &sdp::testing::kBaresipLike};
  return *kExamples[index];
}

void BM_SdpParse(benchmark::State& state) {
  const std::string& text = Example(state.range(0));
  for (auto _ : state) {
    auto parsed = sdp::Parse(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_SdpParse)->ArgName("example")->DenseRange(0, 2);

void BM_SdpSerialize(benchmark::State& state) {
  const sdp::SessionDescription parsed = *sdp::Parse(Example(state.range(0)));
  for (auto _ : state) {
    std::string text = sdp::Serialize(parsed);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SdpSerialize)->ArgName("example")->DenseRange(0, 2);

void BM_SdpAnswer(benchmark::State& state) {
  const std::string& text = Example(state.range(0));
  sdp::LocalConfig config;
  config.codecs = {codec::CodecId::kPcma, codec::CodecId::kPcmu, codec::CodecId::kOpus};
  config.address = "192.0.2.1";
  config.port = 40000;
  sdp::LocalOrigin origin(1, config.address);
  for (auto _ : state) {
    auto offer = sdp::Parse(text);
    auto answer = sdp::BuildAnswer(*offer, config, origin);
    std::string out = sdp::Serialize(answer->sdp);
    auto params = sdp::ToSessionParams(answer->negotiated, 1);
    benchmark::DoNotOptimize(out);
    benchmark::DoNotOptimize(params);
  }
}
BENCHMARK(BM_SdpAnswer)->ArgName("example")->DenseRange(0, 2);

}  // namespace
