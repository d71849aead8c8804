#include "media/dsp/oscillator.h"

#include <algorithm>
#include <cmath>

#include "media/dsp/levels.h"

namespace linegate::media::dsp {

uint32_t PhaseIncrement(double frequency_hz) {
  // Computed in 64 bits so that negative and above-Nyquist values wrap instead of
  // overflowing: the phase arithmetic is modulo 2^32 anyway.
  const double turns = frequency_hz / kSampleRateHz;
  const double scaled = std::nearbyint((turns - std::floor(turns)) * 4294967296.0);
  return static_cast<uint32_t>(static_cast<uint64_t>(scaled));
}

void SineOscillator::Configure(double frequency_hz, double peak) {
  increment_ = PhaseIncrement(frequency_hz);
  peak_ = static_cast<float>(peak);
}

int16_t SaturateToInt16(float value) {
  // Clamp, then round half away from zero: no libm call (nearbyint is one without
  // SSE4.1), so the per-sample loops stay branch-light.
  const float clamped = std::clamp(value, -32768.0f, 32767.0f);
  return static_cast<int16_t>(clamped + (clamped >= 0.0f ? 0.5f : -0.5f));
}

void ToneGenerator::Configure(const ToneSpec& spec) {
  count_ = spec.count > 2 ? 2 : spec.count;
  for (size_t i = 0; i < oscillators_.size(); ++i) {
    const ToneComponent& c = spec.components[i];
    oscillators_[i].Configure(c.frequency_hz, i < count_ ? Dbm0ToPeak(c.level_dbm0) : 0.0);
  }
  ResetPhase();
}

void ToneGenerator::ResetPhase() {
  for (SineOscillator& o : oscillators_) {
    o.SetPhase(0);
  }
}

float ToneGenerator::NextSample() {
  float v = 0.0f;
  for (uint8_t i = 0; i < count_; ++i) {
    v += oscillators_[i].Next();
  }
  return v;
}

void ToneGenerator::Generate(std::span<int16_t> out) {
  if (count_ == 2) {
    for (int16_t& s : out) {
      s = SaturateToInt16(oscillators_[0].Next() + oscillators_[1].Next());
    }
  } else {
    for (int16_t& s : out) {
      s = SaturateToInt16(NextSample());
    }
  }
}

void ToneGenerator::Mix(std::span<int16_t> out) {
  for (int16_t& s : out) {
    s = SaturateToInt16(static_cast<float>(s) + NextSample());
  }
}

namespace {
uint32_t MsToSamples(uint32_t ms) { return ms * (kSampleRateHz / 1000); }
}  // namespace

void CadencedToneGenerator::Configure(const ToneSpec& spec, const Cadence& cadence) {
  tone_.Configure(spec);
  cadence_ = cadence;
  if (cadence_.count > cadence_.segments_ms.size()) {
    cadence_.count = static_cast<uint8_t>(cadence_.segments_ms.size());
  }
  Restart();
}

void CadencedToneGenerator::Restart() {
  segment_ = 0;
  remaining_ = cadence_.count == 0 ? 0 : MsToSamples(cadence_.segments_ms[0]);
  uint32_t total_ms = 0;
  for (uint8_t i = 0; i < cadence_.count; ++i) total_ms += cadence_.segments_ms[i];
  // A cadence of zero-length segments is silence (and would never advance).
  finished_ = cadence_.count != 0 && total_ms == 0;
  tone_.ResetPhase();
}

void CadencedToneGenerator::Generate(std::span<int16_t> out) {
  if (cadence_.count == 0) {
    tone_.Generate(out);
    return;
  }
  size_t done = 0;
  while (done < out.size()) {
    if (finished_) {
      for (size_t i = done; i < out.size(); ++i) out[i] = 0;
      return;
    }
    // Zero-length segments are skipped.
    while (remaining_ == 0) {
      ++segment_;
      if (segment_ >= cadence_.count) {
        if (!cadence_.repeat) {
          finished_ = true;
          break;
        }
        segment_ = 0;
      }
      remaining_ = MsToSamples(cadence_.segments_ms[segment_]);
      if (segment_ % 2 == 0) {
        tone_.ResetPhase();  // every burst starts at phase 0, like the first
      }
    }
    if (finished_) continue;
    const size_t n = std::min<size_t>(remaining_, out.size() - done);
    std::span<int16_t> part = out.subspan(done, n);
    if (segment_ % 2 == 0) {
      tone_.Generate(part);
    } else {
      for (int16_t& s : part) s = 0;
    }
    remaining_ -= static_cast<uint32_t>(n);
    done += n;
  }
}

}  // namespace linegate::media::dsp
