#include "media/codec/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

#include "media/codec/tests/malloc_counter.h"
#include "media/dsp/g711.h"
#include "media/dsp/levels.h"
#include "media/dsp/test_signals.h"
#include "media/dsp/tone_analyser.h"
// spandsp's headers need <stdint.h> first, then telephony.h (SPAN_DECLARE), then the
// module header.
// clang-format off
#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
// clang-format on

namespace linegate::media::codec {
namespace {

using dsp::testing::Signal;

constexpr size_t k20Ms = 160;
// Round-trip figures are measured after this much signal, once every codec has
// settled (delays: G.729 ~15 ms with look-ahead, Opus ~10 ms, adaptive quantisers).
constexpr size_t kSettleSamples = 1600;

std::string Name(CodecId id) { return std::string(GetCodecInfo(id).rtpmap_name); }

std::unique_ptr<Encoder> NewEncoder(CodecId id, const CodecOptions& options = {}) {
  auto encoder = MakeEncoder(id, options);
  EXPECT_TRUE(encoder.ok()) << (encoder.ok() ? "" : encoder.error());
  return std::move(encoder.value());
}

std::unique_ptr<Decoder> NewDecoder(CodecId id, const CodecOptions& options = {}) {
  auto decoder = MakeDecoder(id, options);
  EXPECT_TRUE(decoder.ok()) << (decoder.ok() ? "" : decoder.error());
  return std::move(decoder.value());
}

struct RoundTrip {
  Signal decoded;
  std::vector<size_t> payload_sizes;
};

// Encodes `in` frame by frame and decodes each payload at once (no loss).
RoundTrip EncodeDecode(CodecId id, const Signal& in, size_t frame = k20Ms, const CodecOptions& options = {}) {
  auto encoder = NewEncoder(id, options);
  auto decoder = NewDecoder(id, options);
  RoundTrip result;
  std::vector<uint8_t> payload(kMaxPayloadBytes);
  std::vector<int16_t> pcm(kMaxFrameSamples);
  for (size_t i = 0; i + frame <= in.size(); i += frame) {
    const size_t bytes = encoder->Encode(std::span(in).subspan(i, frame), payload);
    EXPECT_EQ(encoder->last_status(), CodecStatus::kOk);
    result.payload_sizes.push_back(bytes);
    const size_t samples = decoder->Decode(std::span(payload).first(bytes), pcm);
    EXPECT_EQ(samples, frame) << CodecStatusName(decoder->last_status());
    result.decoded.insert(result.decoded.end(), pcm.begin(),
                          pcm.begin() + static_cast<std::ptrdiff_t>(samples));
  }
  return result;
}

struct Peak {
  double hz = 0;
  double dbm0 = dsp::kSilenceDbm0;
};

// Strongest component within +-30 Hz of `near_hz`: Hann-windowed DFT terms over the
// first 8192 samples, in 1 Hz then 0.02 Hz steps.
Peak FindPeak(std::span<const int16_t> s, double near_hz) {
  Peak best;
  for (double f = near_hz - 30; f <= near_hz + 30; f += 1.0) {
    const double level = dsp::MeasureToneLevel(s, f);
    if (level > best.dbm0) best = {f, level};
  }
  const double coarse = best.hz;
  for (double f = coarse - 1.0; f <= coarse + 1.0; f += 0.02) {
    const double level = dsp::MeasureToneLevel(s, f);
    if (level > best.dbm0) best = {f, level};
  }
  return best;
}

std::span<const int16_t> Settled(const Signal& s) {
  return std::span(s).subspan(kSettleSamples, s.size() - kSettleSamples);
}

// Delay (samples) that best aligns `out` with `in`, searched over 0..max_delay.
size_t FindDelay(const Signal& in, const Signal& out, size_t max_delay = 200) {
  size_t best = 0;
  double best_corr = -1e300;
  for (size_t d = 0; d <= max_delay; ++d) {
    double corr = 0;
    for (size_t i = kSettleSamples; i + d < out.size() && i < kSettleSamples + 8000; ++i) {
      corr += static_cast<double>(in[i]) * out[i + d];
    }
    if (corr > best_corr) {
      best_corr = corr;
      best = d;
    }
  }
  return best;
}

// Signal-to-noise ratio (dB) of `out` against `in` delayed by `delay`.
double Snr(const Signal& in, const Signal& out, size_t delay) {
  double signal = 0, noise = 0;
  for (size_t i = kSettleSamples; i + delay < out.size(); ++i) {
    const double e = static_cast<double>(out[i + delay]) - in[i];
    signal += static_cast<double>(in[i]) * in[i];
    noise += e * e;
  }
  return 10.0 * std::log10(signal / std::max(noise, 1.0));
}

double PeakAbs(std::span<const int16_t> s) {
  int peak = 0;
  for (const int16_t v : s) peak = std::max(peak, std::abs(static_cast<int>(v)));
  return peak;
}

// --- The codec table -------------------------------------------------------------------

TEST(CodecTableTest, RowsMatchTheRfcs) {
  ASSERT_EQ(AllCodecs().size(), kCodecCount);
  struct Expected {
    CodecId id;
    const char* name;
    int payload_type;  // -1: dynamic
    uint32_t clock;
    uint8_t channels;
    uint16_t bytes_per_10ms;
    bool native_concealment;
  };
  const Expected expected[] = {
      {CodecId::kPcmu, "PCMU", 0, 8000, 1, 80, false}, {CodecId::kPcma, "PCMA", 8, 8000, 1, 80, false},
      {CodecId::kG722, "G722", 9, 8000, 1, 80, false}, {CodecId::kG729, "G729", 18, 8000, 1, 10, true},
      {CodecId::kOpus, "opus", -1, 48000, 2, 0, true},
  };
  for (const Expected& e : expected) {
    const CodecInfo& info = GetCodecInfo(e.id);
    EXPECT_EQ(info.id, e.id);
    EXPECT_EQ(info.rtpmap_name, e.name);
    EXPECT_EQ(info.static_payload_type.has_value(), e.payload_type >= 0) << e.name;
    if (e.payload_type >= 0) {
      EXPECT_EQ(*info.static_payload_type, e.payload_type) << e.name;
    }
    EXPECT_EQ(info.rtp_clock_rate_hz, e.clock) << e.name;
    EXPECT_EQ(info.rtpmap_channels, e.channels) << e.name;
    EXPECT_EQ(info.bytes_per_10ms, e.bytes_per_10ms) << e.name;
    EXPECT_EQ(info.native_concealment, e.native_concealment) << e.name;
    EXPECT_FALSE(info.description.empty());
  }
}

TEST(CodecTableTest, FindByRtpmapNameIgnoresCaseAndChecksTheClock) {
  EXPECT_EQ(FindCodec("PCMU", 8000), CodecId::kPcmu);
  EXPECT_EQ(FindCodec("pcma", 8000), CodecId::kPcma);
  EXPECT_EQ(FindCodec("g722", 8000), CodecId::kG722);
  EXPECT_EQ(FindCodec("G729", 8000), CodecId::kG729);
  EXPECT_EQ(FindCodec("OPUS", 48000), CodecId::kOpus);
  EXPECT_EQ(FindCodec("G722", 16000), std::nullopt);  // the RFC 3551 clock is 8000
  EXPECT_EQ(FindCodec("opus", 8000), std::nullopt);
  EXPECT_EQ(FindCodec("G7221", 16000), std::nullopt);
  EXPECT_EQ(FindCodec("", 8000), std::nullopt);
}

TEST(CodecTableTest, FrameSizesPayloadBytesAndTimestamps) {
  const CodecInfo& pcmu = GetCodecInfo(CodecId::kPcmu);
  const CodecInfo& g729 = GetCodecInfo(CodecId::kG729);
  const CodecInfo& opus = GetCodecInfo(CodecId::kOpus);
  EXPECT_TRUE(IsValidFrameSize(pcmu, 1));
  EXPECT_TRUE(IsValidFrameSize(pcmu, 960));
  EXPECT_FALSE(IsValidFrameSize(pcmu, 0));
  EXPECT_FALSE(IsValidFrameSize(pcmu, 961));
  EXPECT_TRUE(IsValidFrameSize(g729, 80));
  EXPECT_TRUE(IsValidFrameSize(g729, 240));
  EXPECT_FALSE(IsValidFrameSize(g729, 160 + 8));
  for (const size_t ok : {20, 40, 80, 160, 320, 480, 640, 800, 960})
    EXPECT_TRUE(IsValidFrameSize(opus, ok)) << ok;
  for (const size_t bad : {60, 100, 120, 240, 400}) EXPECT_FALSE(IsValidFrameSize(opus, bad)) << bad;

  EXPECT_EQ(MaxPayloadBytes(pcmu, 160), 160u);
  EXPECT_EQ(MaxPayloadBytes(GetCodecInfo(CodecId::kG722), 160), 160u);
  EXPECT_EQ(MaxPayloadBytes(g729, 160), 20u);
  EXPECT_EQ(MaxPayloadBytes(opus, 160), kMaxPayloadBytes);

  EXPECT_EQ(RtpTimestampUnits(pcmu, 160), 160u);
  EXPECT_EQ(RtpTimestampUnits(GetCodecInfo(CodecId::kG722), 160), 160u);  // the RFC 3551 quirk
  EXPECT_EQ(RtpTimestampUnits(opus, 160), 960u);                          // 20 ms at 48 kHz
}

TEST(CodecTableTest, StatusNames) {
  EXPECT_EQ(CodecStatusName(CodecStatus::kOk), "ok");
  EXPECT_EQ(CodecStatusName(CodecStatus::kBadFrameSize), "bad frame size");
  EXPECT_EQ(CodecStatusName(CodecStatus::kNoConcealment), "no concealment");
}

TEST(CodecFactoryTest, RejectsBadOptionsWithClearMessages) {
  CodecOptions options;
  options.opus_bitrate_bps = 1000;
  auto encoder = MakeEncoder(CodecId::kOpus, options);
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.error(), "codec opus: opus_bitrate_bps 1000 outside 6000..64000");

  options = {};
  options.opus_complexity = 11;
  encoder = MakeEncoder(CodecId::kOpus, options);
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.error(), "codec opus: opus_complexity 11 outside 0..10");

  options = {};
  options.opus_fec = true;
  options.opus_expected_loss_percent = 101;
  encoder = MakeEncoder(CodecId::kOpus, options);
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.error(), "codec opus: opus_expected_loss_percent 101 outside 0..100");

  encoder = MakeEncoder(static_cast<CodecId>(7));
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.error(), "codec: unknown codec id 7");
  auto decoder = MakeDecoder(static_cast<CodecId>(9));
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.error(), "codec: unknown codec id 9");
}

// --- Every codec -------------------------------------------------------------------------

class EveryCodecTest : public ::testing::TestWithParam<CodecId> {};

INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodecTest,
                         ::testing::Values(CodecId::kPcmu, CodecId::kPcma, CodecId::kG722, CodecId::kG729,
                                           CodecId::kOpus),
                         [](const auto& test_info) { return Name(test_info.param); });

TEST_P(EveryCodecTest, InstancesKnowTheirCodec) {
  EXPECT_EQ(NewEncoder(GetParam())->info().id, GetParam());
  EXPECT_EQ(NewDecoder(GetParam())->info().id, GetParam());
}

// The acceptance test: a 1004 Hz tone at -10 dBm0 comes back within +-5 Hz
// and +-1 dB.
TEST_P(EveryCodecTest, ToneRoundTrip) {
  const Signal in = dsp::testing::Tone(dsp::ToneSpec::Single(1004, -10), 2000);
  const RoundTrip rt = EncodeDecode(GetParam(), in);
  ASSERT_EQ(rt.decoded.size(), in.size());
  const dsp::ToneAnalysis a = dsp::AnalyseTone(Settled(rt.decoded));
  std::printf("[ figures  ] %s 1004 Hz -10 dBm0: %.2f Hz, %.2f dBm0 (tone), purity %.4f\n",
              Name(GetParam()).c_str(), a.frequency_hz, a.tone_level_dbm0, a.purity);
  EXPECT_NEAR(a.frequency_hz, 1004.0, 5.0);
  EXPECT_NEAR(a.tone_level_dbm0, -10.0, 1.0);
  EXPECT_GT(a.purity, 0.95);
}

// Three tones at once, each -16 dBm0 (-11.2 dBm0 together), not harmonics of a
// common pitch: each comes back within +-5 Hz and, except through G.729, +-1 dB.
// G.729 (CELP with a pitch predictor and a post-filter, built for speech) keeps the
// frequencies but not the balance of a steady inharmonic chord: its bound is the
// measured behaviour (about -2.5, -3 and -10 dB), to catch regressions, not a claim.
TEST_P(EveryCodecTest, MultiToneRoundTrip) {
  const std::array<double, 3> tones = {420.0, 1330.0, 2710.0};
  Signal in = dsp::testing::Tone(dsp::ToneSpec::Dual(420, -16, 1330, -16), 2000);
  dsp::testing::MixInto(in, dsp::testing::Tone(dsp::ToneSpec::Single(2710, -16), 2000));
  const RoundTrip rt = EncodeDecode(GetParam(), in);
  ASSERT_EQ(rt.decoded.size(), in.size());
  const bool g729 = GetParam() == CodecId::kG729;
  for (const double hz : tones) {
    const Peak p = FindPeak(Settled(rt.decoded), hz);
    std::printf("[ figures  ] %s multi-tone %.0f Hz -16 dBm0: %.2f Hz, %.2f dBm0\n", Name(GetParam()).c_str(),
                hz, p.hz, p.dbm0);
    EXPECT_NEAR(p.hz, hz, 5.0);
    if (g729) {
      EXPECT_LE(p.dbm0, -16.0 + 1.0) << hz;
      EXPECT_GE(p.dbm0, -16.0 - 12.0) << hz;
    } else {
      EXPECT_NEAR(p.dbm0, -16.0, 1.0) << hz;
    }
  }
}

// Long-term level (dBm0) of the bands [edges[i], edges[i + 1]) Hz: Hann-windowed DFTs of
// 256-sample blocks, power averaged over the blocks.
std::vector<double> BandLevels(std::span<const int16_t> s, std::span<const double> edges) {
  constexpr size_t kBlock = 256;
  std::vector<double> power(edges.size() - 1, 0.0);
  std::vector<double> window(kBlock), cosine(kBlock), sine(kBlock);
  for (size_t n = 0; n < kBlock; ++n) {
    window[n] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * n / kBlock);
    cosine[n] = std::cos(2 * std::numbers::pi * n / kBlock);
    sine[n] = std::sin(2 * std::numbers::pi * n / kBlock);
  }
  size_t blocks = 0;
  for (size_t start = 0; start + kBlock <= s.size(); start += kBlock, ++blocks) {
    for (size_t k = 1; k < kBlock / 2; ++k) {
      const double hz = k * 8000.0 / kBlock;
      double re = 0, im = 0;
      for (size_t n = 0; n < kBlock; ++n) {
        const double x = window[n] * s[start + n];
        re += x * cosine[(k * n) % kBlock];
        im -= x * sine[(k * n) % kBlock];
      }
      for (size_t b = 0; b + 1 < edges.size(); ++b) {
        if (hz >= edges[b] && hz < edges[b + 1]) power[b] += re * re + im * im;
      }
    }
  }
  std::vector<double> levels;
  // Parseval with the Hann window (sum w^2 = 3N/8): mean square = 2 * sum|X|^2 / (N * 3N/8).
  for (const double p : power) {
    levels.push_back(dsp::MeanSquareToDbm0(2.0 * p / (blocks * kBlock * (3.0 * kBlock / 8.0))));
  }
  return levels;
}

// Speech-like sound (moving pitch and formants, syllabic envelope) at -16 dBm0: the
// level comes back within +-1 dB; waveform codecs also keep the waveform.
TEST_P(EveryCodecTest, SpeechLikeRoundTrip) {
  const Signal in = dsp::testing::SpeechLike(4000, -16, 11);
  const RoundTrip rt = EncodeDecode(GetParam(), in);
  ASSERT_EQ(rt.decoded.size(), in.size());
  const double in_level = dsp::MeasureLevel(Settled(in));
  const double out_level = dsp::MeasureLevel(Settled(rt.decoded));
  const size_t delay = FindDelay(in, rt.decoded);
  const double snr = Snr(in, rt.decoded, delay);
  std::printf("[ figures  ] %s speech-like: in %.2f dBm0, out %.2f dBm0, delay %zu samples, SNR %.1f dB\n",
              Name(GetParam()).c_str(), in_level, out_level, delay, snr);
  EXPECT_NEAR(out_level, in_level, 1.0);
  // The spectral balance: each band's long-term level.
  const std::array<double, 6> edges = {100, 300, 700, 1400, 2400, 3400};
  const std::vector<double> in_bands = BandLevels(Settled(in), edges);
  const std::vector<double> out_bands = BandLevels(Settled(rt.decoded), edges);
  std::printf("[ figures  ] %s speech-like band level change, dB:", Name(GetParam()).c_str());
  for (size_t b = 0; b < in_bands.size(); ++b) {
    std::printf(" %.0f-%.0f Hz %+.2f%s", edges[b], edges[b + 1], out_bands[b] - in_bands[b],
                b + 1 < in_bands.size() ? "," : "\n");
  }
  for (size_t b = 0; b < in_bands.size(); ++b) EXPECT_NEAR(out_bands[b], in_bands[b], 1.5) << edges[b];
  switch (GetParam()) {
    case CodecId::kPcmu:
    case CodecId::kPcma:
      EXPECT_EQ(delay, 0u);
      EXPECT_GT(snr, 30.0);  // G.711 at -16 dBm0: ~37 dB
      break;
    case CodecId::kG722:
      EXPECT_EQ(delay, 0u);
      EXPECT_GT(snr, 20.0);
      break;
    default:
      break;  // parametric at these rates: level only
  }
}

TEST_P(EveryCodecTest, PayloadSizesFollowTheFrameSize) {
  const CodecId id = GetParam();
  const CodecInfo& info = GetCodecInfo(id);
  const Signal in = dsp::testing::SpeechLike(1200, -16, 3);
  std::vector<size_t> frames;
  if (info.frame_sizes.empty()) {
    frames = {80, 160, 240, 320, 480, 960};
    if (info.frame_granularity_samples == 1) frames.push_back(1), frames.push_back(8), frames.push_back(83);
  } else {
    frames.assign(info.frame_sizes.begin(), info.frame_sizes.end());
  }
  for (const size_t frame : frames) {
    const RoundTrip rt = EncodeDecode(id, in, frame);
    ASSERT_FALSE(rt.payload_sizes.empty());
    size_t total = 0;
    for (const size_t bytes : rt.payload_sizes) {
      total += bytes;
      if (info.bytes_per_10ms != 0) {
        EXPECT_EQ(bytes, frame * info.bytes_per_10ms / 80) << frame;
      } else {
        EXPECT_GT(bytes, 0u) << frame;
        EXPECT_LE(bytes, kMaxPayloadBytes) << frame;
      }
    }
    if (id == CodecId::kOpus) {
      // Average rate near the 24 kbit/s default (VBR; short frames pay ~1 byte of
      // TOC each).
      const double seconds = static_cast<double>(rt.payload_sizes.size() * frame) / 8000.0;
      const double bps = total * 8.0 / seconds;
      std::printf("[ figures  ] opus %zu-sample frames: %.1f kbit/s average\n", frame, bps / 1000.0);
      EXPECT_GT(bps, 12000.0) << frame;
      EXPECT_LT(bps, 40000.0) << frame;
    }
  }
}

TEST_P(EveryCodecTest, WrongBufferSizesAreRefused) {
  const CodecId id = GetParam();
  const CodecInfo& info = GetCodecInfo(id);
  auto encoder = NewEncoder(id);
  auto decoder = NewDecoder(id);
  std::vector<int16_t> pcm(kMaxFrameSamples + 80, 1000);
  std::vector<uint8_t> payload(kMaxPayloadBytes + 10, 0xAB);
  const std::vector<uint8_t> untouched = payload;

  EXPECT_EQ(encoder->Encode(std::span(pcm).first(0), payload), 0u);
  EXPECT_EQ(encoder->last_status(), CodecStatus::kBadFrameSize);
  EXPECT_EQ(encoder->Encode(std::span(pcm).first(kMaxFrameSamples + info.frame_granularity_samples), payload),
            0u);
  EXPECT_EQ(encoder->last_status(), CodecStatus::kBadFrameSize);
  if (info.frame_granularity_samples > 1) {
    EXPECT_EQ(encoder->Encode(std::span(pcm).first(info.frame_granularity_samples + 1), payload), 0u);
    EXPECT_EQ(encoder->last_status(), CodecStatus::kBadFrameSize);
  }
  if (id == CodecId::kOpus) {
    EXPECT_EQ(encoder->Encode(std::span(pcm).first(240), payload), 0u);  // 30 ms: not an Opus duration
    EXPECT_EQ(encoder->last_status(), CodecStatus::kBadFrameSize);
  }
  const size_t needed = encoder->MaxPayloadBytes(k20Ms);
  EXPECT_EQ(encoder->Encode(std::span(pcm).first(k20Ms), std::span(payload).first(needed - 1)), 0u);
  EXPECT_EQ(encoder->last_status(), CodecStatus::kOutputTooSmall);
  EXPECT_EQ(payload, untouched);

  const size_t bytes = encoder->Encode(std::span(pcm).first(k20Ms), std::span(payload).first(needed));
  EXPECT_EQ(encoder->last_status(), CodecStatus::kOk);
  ASSERT_GT(bytes, 0u);

  // Decoding: the PCM buffer must hold the payload's samples; an empty payload is not
  // a payload.
  std::vector<int16_t> out(k20Ms, 7);
  EXPECT_EQ(decoder->Decode(std::span(payload).first(bytes), std::span(out).first(k20Ms - 1)), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kOutputTooSmall);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](int16_t v) { return v == 7; }));
  EXPECT_EQ(decoder->Decode(std::span(payload).first(0), out), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadPayload);
  EXPECT_EQ(decoder->Decode(std::span(payload).first(bytes), out), k20Ms);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kOk);

  // Concealment: a multiple of the granularity, 1..kMaxFrameSamples.
  EXPECT_EQ(decoder->Conceal(std::span(out).first(0)), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadFrameSize);
  std::vector<int16_t> too_long(kMaxFrameSamples + info.frame_granularity_samples);
  EXPECT_EQ(decoder->Conceal(too_long), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadFrameSize);
  if (info.frame_granularity_samples > 1) {
    EXPECT_EQ(decoder->Conceal(std::span(out).first(info.frame_granularity_samples + 1)), 0u);
    EXPECT_EQ(decoder->last_status(), CodecStatus::kBadFrameSize);
    EXPECT_EQ(decoder->ConcealFromNext(std::span(payload).first(bytes), std::span(out).first(1)), 0u);
    EXPECT_EQ(decoder->last_status(), CodecStatus::kBadFrameSize);
  }
}

// After a second of tone, six 20 ms packets are lost, then the tone comes back.
// Bounded: no concealed or recovering frame is more than 4 dB above the tone or peaks
// above twice its peak, and concealment fades. How fast each codec gets back to its
// lossless level is measured: after a 120 ms loss of a steady tone G.729's gain and
// LSP predictors climb back from attenuated memories for a few hundred ms, and Opus
// overshoots by up to ~4 dB while its predictors resynchronise with the encoder's.
TEST_P(EveryCodecTest, ConcealmentIsBounded) {
  const CodecId id = GetParam();
  const CodecInfo& info = GetCodecInfo(id);
  const Signal in = dsp::testing::Tone(dsp::ToneSpec::Single(1004, -10), 3000);
  auto encoder = NewEncoder(id);
  auto decoder = NewDecoder(id);
  auto lossless = NewDecoder(id);
  std::vector<uint8_t> payload(kMaxPayloadBytes);
  std::array<int16_t, k20Ms> pcm, reference;
  const double in_peak = PeakAbs(in);
  const size_t lost_first = 50, lost_count = 6;
  std::vector<double> concealed_levels;
  size_t recovered_ms = 0;
  for (size_t f = 0; f * k20Ms + k20Ms <= in.size(); ++f) {
    const size_t bytes = encoder->Encode(std::span(in).subspan(f * k20Ms, k20Ms), payload);
    ASSERT_EQ(lossless->Decode(std::span(payload).first(bytes), reference), k20Ms);
    if (f >= lost_first && f < lost_first + lost_count) {
      std::fill(pcm.begin(), pcm.end(), int16_t{1234});
      const size_t samples = decoder->Conceal(pcm);
      if (info.native_concealment) {
        EXPECT_EQ(samples, k20Ms);
        EXPECT_EQ(decoder->last_status(), CodecStatus::kOk);
        concealed_levels.push_back(dsp::MeasureLevel(pcm));
      } else {
        EXPECT_EQ(samples, 0u);
        EXPECT_EQ(decoder->last_status(), CodecStatus::kNoConcealment);
        EXPECT_EQ(PeakAbs(pcm), 0.0);  // silence, for the caller's PLC to replace
      }
    } else {
      ASSERT_EQ(decoder->Decode(std::span(payload).first(bytes), pcm), k20Ms);
    }
    if (f < lost_first) continue;
    const double level = dsp::MeasureLevel(pcm);
    EXPECT_LE(level, -10.0 + 4.0) << "frame " << f;
    EXPECT_LE(PeakAbs(pcm), 2.0 * in_peak) << "frame " << f;
    if (f >= lost_first + lost_count && std::abs(level - dsp::MeasureLevel(reference)) > 1.0) {
      recovered_ms = (f + 1 - lost_first - lost_count) * 20;
    }
  }
  if (info.native_concealment) {
    std::printf("[ figures  ] %s concealment of 6 x 20 ms after a -10 dBm0 tone, dBm0:", Name(id).c_str());
    for (const double l : concealed_levels) std::printf(" %.1f", l);
    std::printf("\n");
    EXPECT_LT(concealed_levels.back(), concealed_levels.front() - 10.0);  // fades as the loss lasts
  }
  std::printf("[ figures  ] %s within 1 dB of the lossless decode %zu ms after the loss\n", Name(id).c_str(),
              recovered_ms);
  const size_t recovery_bound_ms = info.native_concealment ? 1000 : 40;
  EXPECT_LE(recovered_ms, recovery_bound_ms);
}

TEST_P(EveryCodecTest, InstancesOwnTheirState) {
  // Two encoder/decoder pairs used in alternation produce what one pair alone does.
  const CodecId id = GetParam();
  const Signal a = dsp::testing::SpeechLike(400, -16, 1);
  const Signal b = dsp::testing::SpeechLike(400, -20, 2);
  const RoundTrip alone = EncodeDecode(id, a);
  auto encoder_a = NewEncoder(id), encoder_b = NewEncoder(id);
  auto decoder_a = NewDecoder(id), decoder_b = NewDecoder(id);
  std::vector<uint8_t> payload(kMaxPayloadBytes);
  std::vector<int16_t> pcm(k20Ms);
  Signal decoded_a;
  for (size_t i = 0; i + k20Ms <= a.size(); i += k20Ms) {
    size_t bytes = encoder_b->Encode(std::span(b).subspan(i, k20Ms), payload);
    decoder_b->Decode(std::span(payload).first(bytes), pcm);
    bytes = encoder_a->Encode(std::span(a).subspan(i, k20Ms), payload);
    decoder_a->Decode(std::span(payload).first(bytes), pcm);
    decoded_a.insert(decoded_a.end(), pcm.begin(), pcm.end());
  }
  EXPECT_EQ(decoded_a, alone.decoded);
}

TEST_P(EveryCodecTest, PerFrameCallsDoNotAllocate) {
  if (!testing::MallocCountingAvailable())
    GTEST_SKIP() << "malloc interposition unavailable (sanitizer build)";
  const CodecId id = GetParam();
  auto encoder = NewEncoder(id);
  auto decoder = NewDecoder(id);
  const Signal in = dsp::testing::SpeechLike(400, -16, 5);
  std::vector<uint8_t> payload(kMaxPayloadBytes);
  std::vector<int16_t> pcm(k20Ms);
  uint64_t allocations = 0;
  {
    testing::MallocCounter counter;
    for (size_t i = 0; i + k20Ms <= in.size(); i += k20Ms) {
      const size_t bytes = encoder->Encode(std::span(in).subspan(i, k20Ms), payload);
      decoder->Decode(std::span(payload).first(bytes), pcm);
      decoder->Conceal(pcm);
      decoder->ConcealFromNext(std::span(payload).first(bytes), pcm);
    }
    allocations = counter.allocations();
  }
  EXPECT_EQ(allocations, 0u);
  // The counter itself works: creation allocates.
  testing::MallocCounter counter;
  auto another = MakeEncoder(id);
  EXPECT_GT(counter.allocations(), 0u);
}

// --- G.711 -------------------------------------------------------------------------------

TEST(G711CodecTest, BitExactWithTheDspCodec) {
  for (const CodecId id : {CodecId::kPcmu, CodecId::kPcma}) {
    const bool ulaw = id == CodecId::kPcmu;
    auto encoder = NewEncoder(id);
    auto decoder = NewDecoder(id);
    // Every 16-bit value, in 160-sample frames.
    std::vector<int16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int16_t>(static_cast<int>(i) - 32768);
    std::array<uint8_t, 160> payload;
    for (size_t i = 0; i < all.size(); i += 160) {
      const size_t n = std::min<size_t>(160, all.size() - i);
      ASSERT_EQ(encoder->Encode(std::span(all).subspan(i, n), payload), n);
      for (size_t k = 0; k < n; ++k) {
        ASSERT_EQ(payload[k], ulaw ? dsp::EncodeUlaw(all[i + k]) : dsp::EncodeAlaw(all[i + k])) << all[i + k];
      }
    }
    // Every code.
    std::array<uint8_t, 256> codes;
    for (size_t i = 0; i < 256; ++i) codes[i] = static_cast<uint8_t>(i);
    std::array<int16_t, 256> pcm;
    ASSERT_EQ(decoder->Decode(codes, pcm), 256u);
    for (size_t i = 0; i < 256; ++i) {
      ASSERT_EQ(pcm[i], ulaw ? dsp::DecodeUlaw(codes[i]) : dsp::DecodeAlaw(codes[i])) << i;
    }
  }
}

// --- G.722 -------------------------------------------------------------------------------

struct G722EncodeFree {
  void operator()(g722_encode_state_t* s) const { g722_encode_free(s); }
};
struct G722DecodeFree {
  void operator()(g722_decode_state_t* s) const { g722_decode_free(s); }
};

// Our 8 kHz-mode payload is ordinary G.722: a wide-band (16 kHz) decoder hears the
// tone at its frequency and level, and next to nothing above 4 kHz.
TEST(G722CodecTest, WidebandPeerDecodesOurPayload) {
  const Signal in = dsp::testing::Tone(dsp::ToneSpec::Single(1004, -10), 2000);
  auto encoder = NewEncoder(CodecId::kG722);
  std::unique_ptr<g722_decode_state_t, G722DecodeFree> wideband(g722_decode_init(nullptr, 64000, 0));
  ASSERT_TRUE(wideband);
  std::vector<uint8_t> payload(k20Ms);
  std::vector<int16_t> pcm16k(2 * k20Ms);
  Signal out16k;
  for (size_t i = 0; i + k20Ms <= in.size(); i += k20Ms) {
    const size_t bytes = encoder->Encode(std::span(in).subspan(i, k20Ms), payload);
    ASSERT_EQ(bytes, k20Ms);
    const int n = g722_decode(wideband.get(), pcm16k.data(), payload.data(), static_cast<int>(bytes));
    ASSERT_EQ(n, static_cast<int>(2 * k20Ms));
    out16k.insert(out16k.end(), pcm16k.begin(), pcm16k.end());
  }
  // Measured at 16 kHz: frequencies scale by 2 in the 8 kHz analysis, levels do not.
  const dsp::ToneAnalysis a = dsp::AnalyseTone(std::span(out16k).subspan(2 * kSettleSamples));
  const double high_band = dsp::MeasureToneLevel(std::span(out16k).subspan(2 * kSettleSamples), 6996.0 / 2.0);
  std::printf(
      "[ figures  ] G722 8 kHz mode -> wide-band decoder: %.2f Hz, %.2f dBm0, image at 6996 Hz %.1f dBm0\n",
      a.frequency_hz * 2.0, a.tone_level_dbm0, high_band);
  EXPECT_NEAR(a.frequency_hz * 2.0, 1004.0, 5.0);
  EXPECT_NEAR(a.tone_level_dbm0, -10.0, 1.0);
  EXPECT_GT(a.purity, 0.95);  // no image of the tone in the upper band
}

// And the other way: a wide-band encoder's payload of a 1004 Hz tone sampled at 16 kHz
// decodes here to that tone at 8 kHz.
TEST(G722CodecTest, WeDecodeAWidebandPeer) {
  Signal in16k(32000);
  const double peak = dsp::Dbm0ToPeak(-10);
  for (size_t i = 0; i < in16k.size(); ++i) {
    in16k[i] = dsp::testing::Clip(
        peak * std::sin(2.0 * std::numbers::pi * 1004.0 * static_cast<double>(i) / 16000.0));
  }
  std::unique_ptr<g722_encode_state_t, G722EncodeFree> wideband(g722_encode_init(nullptr, 64000, 0));
  ASSERT_TRUE(wideband);
  auto decoder = NewDecoder(CodecId::kG722);
  std::vector<uint8_t> payload(k20Ms);
  std::vector<int16_t> pcm(k20Ms);
  Signal out;
  for (size_t i = 0; i + 2 * k20Ms <= in16k.size(); i += 2 * k20Ms) {
    const int bytes =
        g722_encode(wideband.get(), payload.data(), in16k.data() + i, static_cast<int>(2 * k20Ms));
    ASSERT_EQ(bytes, static_cast<int>(k20Ms));
    ASSERT_EQ(decoder->Decode(payload, pcm), k20Ms);
    out.insert(out.end(), pcm.begin(), pcm.end());
  }
  const dsp::ToneAnalysis a = dsp::AnalyseTone(Settled(out));
  std::printf("[ figures  ] G722 wide-band encoder -> 8 kHz mode decoder: %.2f Hz, %.2f dBm0\n",
              a.frequency_hz, a.tone_level_dbm0);
  EXPECT_NEAR(a.frequency_hz, 1004.0, 5.0);
  EXPECT_NEAR(a.tone_level_dbm0, -10.0, 1.0);
}

// --- G.729 -------------------------------------------------------------------------------

TEST(G729CodecTest, AnnexBSendsSidOrNothingInSilenceAndTakes10MsFrames) {
  CodecOptions options;
  options.g729_annex_b = true;
  auto encoder = NewEncoder(CodecId::kG729, options);
  auto decoder = NewDecoder(CodecId::kG729);
  Signal in = dsp::testing::SpeechLike(1000, -16, 4);
  dsp::testing::Append(in, dsp::testing::WhiteNoise(1000, -60, 4));  // quiet line noise
  std::array<uint8_t, 10> payload;
  std::array<int16_t, 80> pcm;
  size_t voice = 0, sid = 0, none = 0;
  for (size_t i = 0; i + 80 <= in.size(); i += 80) {
    const size_t bytes = encoder->Encode(std::span(in).subspan(i, 80), payload);
    ASSERT_EQ(encoder->last_status(), CodecStatus::kOk);
    if (bytes == 10) {
      ++voice;
    } else if (bytes == 2) {
      ++sid;
    } else {
      ASSERT_EQ(bytes, 0u);
      ++none;
    }
    // Untransmitted frames are concealed: comfort noise continues after a SID.
    const size_t samples =
        bytes != 0 ? decoder->Decode(std::span(payload).first(bytes), pcm) : decoder->Conceal(pcm);
    ASSERT_EQ(samples, 80u);
    if (i >= 12000) {
      EXPECT_LT(PeakAbs(pcm), 2000.0);  // quiet in the silence
    }
  }
  std::printf(
      "[ figures  ] G729 annex B, 1 s speech-like + 1 s silence: %zu voice, %zu SID, %zu untransmitted\n",
      voice, sid, none);
  EXPECT_GT(voice, 90u);
  EXPECT_GE(sid, 1u);
  EXPECT_GT(none, 50u);

  std::array<uint8_t, 20> big;
  EXPECT_EQ(encoder->Encode(std::span(in).first(160), big), 0u);
  EXPECT_EQ(encoder->last_status(), CodecStatus::kBadFrameSize);
}

TEST(G729CodecTest, DecoderAcceptsVoiceFramesEndingWithASid) {
  auto decoder = NewDecoder(CodecId::kG729);
  std::array<uint8_t, 22> payload{};  // two voice frames and a SID
  std::array<int16_t, 240> pcm;
  EXPECT_EQ(decoder->Decode(payload, pcm), 240u);
  EXPECT_EQ(decoder->Decode(std::span(payload).first(2), pcm), 80u);  // SID alone
  EXPECT_EQ(decoder->Decode(std::span(payload).first(11), pcm), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadPayload);
  EXPECT_EQ(decoder->Decode(std::span(payload).first(22), std::span(pcm).first(160)), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kOutputTooSmall);
}

// --- Opus --------------------------------------------------------------------------------

TEST(OpusCodecTest, MalformedPayloadsAreRefused) {
  auto decoder = NewDecoder(CodecId::kOpus);
  std::array<int16_t, kMaxFrameSamples> pcm;
  // TOC code 3 (arbitrary frame count) with no frame-count byte.
  const std::array<uint8_t, 1> truncated = {0x03};
  EXPECT_EQ(decoder->Decode(truncated, pcm), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadPayload);
  // Code 3 announcing 0 frames.
  const std::array<uint8_t, 2> no_frames = {0x03, 0x00};
  EXPECT_EQ(decoder->Decode(no_frames, pcm), 0u);
  EXPECT_EQ(decoder->last_status(), CodecStatus::kBadPayload);
}

TEST(OpusCodecTest, BitrateOptionIsFollowed) {
  const Signal in = dsp::testing::SpeechLike(3000, -16, 8);
  for (const int bitrate : {8000, 16000, 32000}) {
    CodecOptions options;
    options.opus_bitrate_bps = bitrate;
    const RoundTrip rt = EncodeDecode(CodecId::kOpus, in, k20Ms, options);
    size_t total = 0;
    for (const size_t b : rt.payload_sizes) total += b;
    const double bps = total * 8.0 / (static_cast<double>(rt.payload_sizes.size()) * 0.02);
    std::printf("[ figures  ] opus asked %d bit/s: %.0f bit/s on speech-like\n", bitrate, bps);
    EXPECT_GT(bps, bitrate * 0.6);
    EXPECT_LT(bps, bitrate * 1.4);
  }
}

// With FEC on, a lost packet rebuilt from the next one is closer to what arrived-
// without-loss decodes to than plain concealment.
TEST(OpusCodecTest, FecRecoversALostPacketBetterThanConcealment) {
  CodecOptions options;
  options.opus_fec = true;
  options.opus_expected_loss_percent = 20;
  options.opus_bitrate_bps = 24000;
  const Signal in = dsp::testing::SpeechLike(3000, -16, 9);
  auto encoder = NewEncoder(CodecId::kOpus, options);
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> payload(kMaxPayloadBytes);
  for (size_t i = 0; i + k20Ms <= in.size(); i += k20Ms) {
    const size_t bytes = encoder->Encode(std::span(in).subspan(i, k20Ms), payload);
    packets.emplace_back(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(bytes));
  }
  double fec_error = 0, plc_error = 0, energy = 0;
  for (size_t lost = 20; lost + 1 < packets.size(); lost += 10) {
    auto reference = NewDecoder(CodecId::kOpus);
    auto with_fec = NewDecoder(CodecId::kOpus);
    auto with_plc = NewDecoder(CodecId::kOpus);
    std::array<int16_t, k20Ms> ref, fec, plc;
    for (size_t p = 0; p < lost; ++p) {
      reference->Decode(packets[p], ref);
      with_fec->Decode(packets[p], fec);
      with_plc->Decode(packets[p], plc);
    }
    reference->Decode(packets[lost], ref);
    ASSERT_EQ(with_fec->ConcealFromNext(packets[lost + 1], fec), k20Ms);
    ASSERT_EQ(with_plc->Conceal(plc), k20Ms);
    for (size_t i = 0; i < k20Ms; ++i) {
      energy += static_cast<double>(ref[i]) * ref[i];
      fec_error += std::pow(static_cast<double>(fec[i]) - ref[i], 2);
      plc_error += std::pow(static_cast<double>(plc[i]) - ref[i], 2);
    }
  }
  const double fec_snr = 10 * std::log10(energy / fec_error);
  const double plc_snr = 10 * std::log10(energy / plc_error);
  std::printf("[ figures  ] opus lost 20 ms frame vs lossless decode: FEC %.1f dB SNR, PLC %.1f dB SNR\n",
              fec_snr, plc_snr);
  EXPECT_GT(fec_snr, plc_snr + 3.0);
}

}  // namespace
}  // namespace linegate::media::codec
