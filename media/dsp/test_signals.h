#pragma once
// Synthetic signals for the DSP tests: tones, noise, chirps, speech-like and music-like
// sounds, and helpers that run a detector over a signal in 10 ms frames.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "media/dsp/dtmf_detector.h"
#include "media/dsp/levels.h"
#include "media/dsp/oscillator.h"

namespace linegate::media::dsp::testing {

using Signal = std::vector<int16_t>;

inline constexpr size_t Ms(double ms) { return static_cast<size_t>(ms * kSampleRateHz / 1000.0); }

inline Signal Silence(double ms) { return Signal(Ms(ms), 0); }

inline Signal Tone(const ToneSpec& spec, double ms) {
  Signal s(Ms(ms));
  ToneGenerator g(spec);
  g.Generate(s);
  return s;
}

// Two tones at given levels, frequencies scaled by (1 + deviation).
inline Signal DualTone(double low_hz, double low_dbm0, double high_hz, double high_dbm0, double ms,
                       double deviation = 0.0) {
  return Tone(ToneSpec::Dual(static_cast<float>(low_hz * (1 + deviation)), static_cast<float>(low_dbm0),
                             static_cast<float>(high_hz * (1 + deviation)), static_cast<float>(high_dbm0)),
              ms);
}

inline void Append(Signal& a, const Signal& b) { a.insert(a.end(), b.begin(), b.end()); }

inline int16_t Clip(double v) { return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L)); }

// a += b sample by sample (b may be shorter), saturating.
inline void MixInto(Signal& a, const Signal& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) a[i] = Clip(static_cast<double>(a[i]) + b[i]);
}

inline Signal WhiteNoise(double ms, double dbm0, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, std::sqrt(Dbm0ToMeanSquare(dbm0)));
  Signal s(Ms(ms));
  for (int16_t& v : s) v = Clip(normal(rng));
  return s;
}

// Linear frequency sweep.
inline Signal Chirp(double f0, double f1, double ms, double dbm0) {
  Signal s(Ms(ms));
  const double peak = Dbm0ToPeak(dbm0);
  double phase = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double f = f0 + (f1 - f0) * static_cast<double>(i) / static_cast<double>(s.size());
    phase += 2.0 * std::numbers::pi * f / kSampleRateHz;
    s[i] = Clip(peak * std::sin(phase));
  }
  return s;
}

// Voiced-speech-like sound: harmonics of a pitch that glides between syllables, with
// 5 Hz vibrato, shaped by three formants that change every 150-300 ms, and a 4 Hz
// syllabic envelope. Average level about dbm0.
inline Signal SpeechLike(double ms, double dbm0, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Signal s(Ms(ms));
  double f0 = 90.0 + 160.0 * u(rng);
  double f0_target = f0;
  std::array<double, 3> formant = {500, 1500, 2500};
  std::array<double, 3> formant_target = formant;
  size_t next_change = 0;
  double phase = 0.0;
  std::vector<double> raw(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == next_change) {
      f0_target = 90.0 + 160.0 * u(rng);
      formant_target = {300 + 600 * u(rng), 900 + 1400 * u(rng), 2200 + 1000 * u(rng)};
      next_change += Ms(150 + 150 * u(rng));
    }
    f0 += (f0_target - f0) * 0.0005;
    for (int k = 0; k < 3; ++k) formant[k] += (formant_target[k] - formant[k]) * 0.002;
    const double t = static_cast<double>(i) / kSampleRateHz;
    const double pitch = f0 * (1.0 + 0.03 * std::sin(2.0 * std::numbers::pi * 5.0 * t));
    phase += 2.0 * std::numbers::pi * pitch / kSampleRateHz;
    double v = 0.0;
    for (int h = 1; h * pitch < 3600.0; ++h) {
      const double fh = h * pitch;
      double gain = 0.0;
      for (int k = 0; k < 3; ++k) {
        const double d = (fh - formant[k]) / (80.0 + 40.0 * k);
        gain += std::exp(-0.5 * d * d) / (1 + k);
      }
      v += (gain + 0.05) / std::sqrt(h) * std::sin(h * phase);
    }
    const double envelope = 0.55 + 0.45 * std::sin(2.0 * std::numbers::pi * 4.0 * t);
    raw[i] = v * envelope;
  }
  double ms_sum = 0.0;
  for (double v : raw) ms_sum += v * v;
  const double scale = std::sqrt(Dbm0ToMeanSquare(dbm0) / (ms_sum / raw.size()));
  for (size_t i = 0; i < s.size(); ++i) s[i] = Clip(raw[i] * scale);
  return s;
}

// Music-like: chords of two to four equal-tempered notes (each with decaying
// harmonics), changing every 125-500 ms.
inline Signal MusicLike(double ms, double dbm0, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> note(45, 90);  // MIDI numbers: 110 Hz .. 1480 Hz
  std::uniform_int_distribution<int> voices(2, 4);
  std::uniform_int_distribution<int> length(1, 4);
  Signal s;
  const double peak = Dbm0ToPeak(dbm0);
  while (s.size() < Ms(ms)) {
    const int n = voices(rng);
    std::vector<double> f;
    for (int i = 0; i < n; ++i) f.push_back(440.0 * std::pow(2.0, (note(rng) - 69) / 12.0));
    const size_t len = Ms(125.0 * length(rng));
    for (size_t i = 0; i < len; ++i) {
      const double t = static_cast<double>(i) / kSampleRateHz;
      double v = 0.0;
      for (double fn : f) {
        for (int h = 1; h <= 4 && h * fn < 3800.0; ++h) {
          v += std::exp(-3.0 * t) / h * std::sin(2.0 * std::numbers::pi * h * fn * t);
        }
      }
      s.push_back(Clip(peak * v / n));
    }
  }
  s.resize(Ms(ms));
  return s;
}

// Runs a DTMF detector over the signal in frames of `frame` samples.
inline std::vector<DtmfEvent> DetectDtmf(const Signal& s, DtmfDetector& detector, size_t frame = 80) {
  std::vector<DtmfEvent> events;
  std::array<DtmfEvent, 4> out;
  for (size_t i = 0; i < s.size(); i += frame) {
    const size_t n = std::min(frame, s.size() - i);
    const size_t got = detector.Process(std::span(s).subspan(i, n), out);
    events.insert(events.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return events;
}

inline std::vector<DtmfEvent> DetectDtmf(const Signal& s, const DtmfDetectorConfig& config = {}) {
  DtmfDetector detector(config);
  return DetectDtmf(s, detector);
}

// The digits whose start was reported, in order.
inline std::string StartedDigits(const std::vector<DtmfEvent>& events) {
  std::string digits;
  for (const DtmfEvent& e : events) {
    if (e.type == DtmfEventType::kStart) digits += e.digit;
  }
  return digits;
}

}  // namespace linegate::media::dsp::testing
