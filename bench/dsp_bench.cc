// Media-plane DSP: cost per 10 ms frame (80 samples at 8 kHz) of each building block
// (see media/dsp/README.md). The "channels" counter is the number of channels one core
// could serve with that block alone: frames per second / 100.
//   BM_UlawDecode / BM_UlawEncode / BM_AlawDecode / BM_AlawEncode / BM_UlawToAlaw
//   BM_UlawEncodeReference   the decision-table encoder the fast path is checked against
//   BM_DtmfDetect            DtmfDetector over a stream of digits and pauses
//   BM_ToneGenerateDual      dual tone (e.g. dial tone) into linear samples
//   BM_CadencedTone          a cadenced call-progress tone (UK ringback)
//   BM_FaxToneDetect         CNG/CED detector
//   BM_CallerIdFskGenerate   caller ID FSK burst (Bell 202 MDMF), restarted when done
//   BM_CallerIdFskReceive    CallerIdReceiver over a stream of bursts and silences
//   BM_CallerIdDtmfReceive   DtmfCallerIdReceiver over DTMF caller IDs

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "media/dsp/call_progress.h"
#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/fax_tone_detector.h"
#include "media/dsp/g711.h"
#include "media/dsp/levels.h"
#include "media/dsp/oscillator.h"

namespace linegate::media::dsp {
namespace {

constexpr size_t kFrame = 80;

void SetCounters(benchmark::State& state) {
  state.counters["channels"] =
      benchmark::Counter(static_cast<double>(state.iterations()) / 100.0, benchmark::Counter::kIsRate);
}

// One second of speech-band audio: DTMF digits, pauses and a tone, as linear samples.
std::vector<int16_t> TestAudio() {
  std::vector<int16_t> s(8000);
  DtmfGenerator g(DtmfGeneratorConfig{.on_ms = 60, .off_ms = 60});
  (void)g.Queue("1234567890");
  g.Generate(s);
  return s;
}

void BM_UlawDecode(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::vector<uint8_t> coded(audio.size());
  EncodeUlaw(audio, coded);
  std::array<int16_t, kFrame> out;
  size_t pos = 0;
  for (auto _ : state) {
    DecodeUlaw(std::span(coded).subspan(pos, kFrame), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % coded.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_UlawDecode);

void BM_UlawEncode(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::array<uint8_t, kFrame> out;
  size_t pos = 0;
  for (auto _ : state) {
    EncodeUlaw(std::span(audio).subspan(pos, kFrame), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % audio.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_UlawEncode);

void BM_UlawEncodeReference(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::array<uint8_t, kFrame> out;
  size_t pos = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kFrame; ++i) out[i] = ReferenceEncodeUlaw(audio[pos + i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % audio.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_UlawEncodeReference);

void BM_AlawDecode(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::vector<uint8_t> coded(audio.size());
  EncodeAlaw(audio, coded);
  std::array<int16_t, kFrame> out;
  size_t pos = 0;
  for (auto _ : state) {
    DecodeAlaw(std::span(coded).subspan(pos, kFrame), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % coded.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_AlawDecode);

void BM_AlawEncode(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::array<uint8_t, kFrame> out;
  size_t pos = 0;
  for (auto _ : state) {
    EncodeAlaw(std::span(audio).subspan(pos, kFrame), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % audio.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_AlawEncode);

void BM_UlawToAlaw(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  std::vector<uint8_t> coded(audio.size());
  EncodeUlaw(audio, coded);
  std::array<uint8_t, kFrame> frame;
  size_t pos = 0;
  for (auto _ : state) {
    std::copy_n(coded.begin() + static_cast<std::ptrdiff_t>(pos), kFrame, frame.begin());
    UlawToAlaw(frame, frame);  // in place, as on the bus
    benchmark::DoNotOptimize(frame.data());
    benchmark::ClobberMemory();
    pos = (pos + kFrame) % coded.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_UlawToAlaw);

void BM_DtmfDetect(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  DtmfDetector detector;
  std::array<DtmfEvent, 4> events;
  size_t pos = 0;
  size_t total = 0;
  for (auto _ : state) {
    total += detector.Process(std::span(audio).subspan(pos, kFrame), events);
    benchmark::DoNotOptimize(events.data());
    pos = (pos + kFrame) % audio.size();
  }
  benchmark::DoNotOptimize(total);
  if (state.iterations() >= 1000 && detector.stats().digits == 0) state.SkipWithError("no digits detected");
  SetCounters(state);
}
BENCHMARK(BM_DtmfDetect);

void BM_ToneGenerateDual(benchmark::State& state) {
  ToneGenerator tone(ToneSpec::Dual(350, -13, 440, -13));
  std::array<int16_t, kFrame> out;
  for (auto _ : state) {
    tone.Generate(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state);
}
BENCHMARK(BM_ToneGenerateDual);

void BM_CadencedTone(benchmark::State& state) {
  const CallProgressToneSpec spec = GetCallProgressTone(Country::kUk, CallProgressTone::kRingback);
  CadencedToneGenerator tone(spec.tone, spec.cadence);
  std::array<int16_t, kFrame> out;
  for (auto _ : state) {
    tone.Generate(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state);
}
BENCHMARK(BM_CadencedTone);

void BM_FaxToneDetect(benchmark::State& state) {
  const std::vector<int16_t> audio = TestAudio();
  FaxToneDetector detector;
  std::array<FaxToneEvent, 2> events;
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(detector.Process(std::span(audio).subspan(pos, kFrame), events));
    pos = (pos + kFrame) % audio.size();
  }
  SetCounters(state);
}
BENCHMARK(BM_FaxToneDetect);

CallerIdInfo BenchCaller() {
  CallerIdInfo info;
  info.date_time = CallerIdDateTime{3, 15, 14, 30};
  (void)info.number.Assign("5551234");
  (void)info.name.Assign("LINEGATE");
  return info;
}

// Caller ID bursts of `standard`, each followed by 300 ms of silence, until `seconds`.
std::vector<int16_t> CallerIdAudio(CallerIdStandard standard, double seconds) {
  std::vector<int16_t> s;
  CallerIdGenerator generator;
  std::array<int16_t, kFrame> frame;
  while (s.size() < seconds * kSampleRateHz) {
    if (!generator.Start(BenchCaller(), CallerIdFormat::kMdmf, standard)) return {};
    while (!generator.done()) {
      generator.Generate(frame);
      s.insert(s.end(), frame.begin(), frame.end());
    }
    s.insert(s.end(), 2400, 0);
  }
  s.resize(s.size() - s.size() % kFrame);
  return s;
}

void BM_CallerIdFskGenerate(benchmark::State& state) {
  CallerIdGenerator generator;
  std::array<int16_t, kFrame> out;
  for (auto _ : state) {
    if (generator.done() &&
        !generator.Start(BenchCaller(), CallerIdFormat::kMdmf, CallerIdStandard::kBell202)) {
      state.SkipWithError("cannot start");
      break;
    }
    generator.Generate(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state);
}
BENCHMARK(BM_CallerIdFskGenerate);

void BM_CallerIdFskReceive(benchmark::State& state) {
  const std::vector<int16_t> audio = CallerIdAudio(CallerIdStandard::kBell202, 5.0);
  CallerIdReceiver receiver;
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(receiver.Process(std::span(audio).subspan(pos, kFrame)));
    pos = (pos + kFrame) % audio.size();
  }
  if (state.iterations() >= 1000 && receiver.stats().messages == 0) state.SkipWithError("nothing received");
  SetCounters(state);
}
BENCHMARK(BM_CallerIdFskReceive);

void BM_CallerIdDtmfReceive(benchmark::State& state) {
  const std::vector<int16_t> audio = CallerIdAudio(CallerIdStandard::kDtmf, 5.0);
  DtmfCallerIdReceiver receiver;
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(receiver.Process(std::span(audio).subspan(pos, kFrame)));
    pos = (pos + kFrame) % audio.size();
  }
  if (state.iterations() >= 1000 && receiver.stats().messages == 0) state.SkipWithError("nothing received");
  SetCounters(state);
}
BENCHMARK(BM_CallerIdDtmfReceive);

}  // namespace
}  // namespace linegate::media::dsp
