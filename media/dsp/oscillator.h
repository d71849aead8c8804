#pragma once
// Sine synthesis for tones: a phase-accumulating oscillator, single/dual tone
// generators and cadenced (on/off) tones.
//
// The oscillator keeps a 32-bit phase (one turn = 2^32) and reads a 1024-point sine
// table with linear interpolation: frequency resolution 8000 / 2^32 Hz, no drift over
// any duration (the phase wraps exactly), interpolation error below 5e-6 of the peak
// (-106 dB, under 16-bit quantisation). The table is computed at compile time.
//
// All types are trivially copyable plain state; Generate() never allocates, locks or
// makes a system call.

#include <array>
#include <cstdint>
#include <span>

namespace linegate::media::dsp {

inline constexpr int kSineTableBits = 10;
inline constexpr int kSineTableSize = 1 << kSineTableBits;

namespace oscillator_detail {

// sin(x) for x in [0, pi/2] by its Taylor series (terms fall below 1e-17 well before 30).
constexpr double SinQuarter(double x) {
  double term = x;
  double sum = x;
  for (int n = 1; n < 30; ++n) {
    term *= -x * x / ((2.0 * n) * (2.0 * n + 1.0));
    sum += term;
  }
  return sum;
}

// sin(2 pi i / n) using the quarter-wave symmetries, so the series stays accurate.
constexpr double SinOfFraction(int i, int n) {
  constexpr double kTwoPi = 6.283185307179586476925;
  i %= n;
  if (4 * i <= n) return SinQuarter(kTwoPi * i / n);
  if (2 * i <= n) return SinQuarter(kTwoPi * (n - 2 * i) / (2.0 * n));  // sin(pi - a)
  if (4 * i <= 3 * n) return -SinQuarter(kTwoPi * (2 * i - n) / (2.0 * n));
  return -SinQuarter(kTwoPi * (n - i) / n);
}

// One guard entry so that interpolation never wraps the index.
inline constexpr std::array<float, kSineTableSize + 1> kSineTable = [] {
  std::array<float, kSineTableSize + 1> table{};
  for (int i = 0; i <= kSineTableSize; ++i) {
    table[i] = static_cast<float>(SinOfFraction(i, kSineTableSize));
  }
  return table;
}();

}  // namespace oscillator_detail

// Phase increment per sample for a frequency at 8 kHz (negative or >= 4 kHz wrap).
uint32_t PhaseIncrement(double frequency_hz);

class SineOscillator {
 public:
  SineOscillator() = default;
  SineOscillator(double frequency_hz, double peak) { Configure(frequency_hz, peak); }

  // Sets frequency and peak amplitude (16-bit sample units); keeps the phase so that a
  // change is click-free.
  void Configure(double frequency_hz, double peak);
  void SetPhase(uint32_t phase) { phase_ = phase; }
  uint32_t phase() const { return phase_; }
  uint32_t increment() const { return increment_; }
  float peak() const { return peak_; }

  float Next() {
    const uint32_t index = phase_ >> (32 - kSineTableBits);
    const float frac = static_cast<float>(phase_ & ((1u << (32 - kSineTableBits)) - 1)) *
                       (1.0f / static_cast<float>(1u << (32 - kSineTableBits)));
    const float a = oscillator_detail::kSineTable[index];
    const float b = oscillator_detail::kSineTable[index + 1];
    phase_ += increment_;
    return peak_ * (a + frac * (b - a));
  }

 private:
  uint32_t phase_ = 0;
  uint32_t increment_ = 0;
  float peak_ = 0.0f;
};

// One frequency component of a tone, at a level in dBm0 (see levels.h).
struct ToneComponent {
  float frequency_hz = 0.0f;
  float level_dbm0 = -120.0f;
};

// A single or dual tone (count 1 or 2; 0 is silence).
struct ToneSpec {
  std::array<ToneComponent, 2> components{};
  uint8_t count = 0;

  static constexpr ToneSpec Single(float hz, float dbm0) { return ToneSpec{{{{hz, dbm0}, {}}}, 1}; }
  static constexpr ToneSpec Dual(float hz1, float dbm01, float hz2, float dbm02) {
    return ToneSpec{{{{hz1, dbm01}, {hz2, dbm02}}}, 2};
  }
};

// Rounds and saturates to 16 bits.
int16_t SaturateToInt16(float value);

// A continuous single or dual tone; both components start at phase 0 (a sine starts at
// 0, so the onset is click-free).
class ToneGenerator {
 public:
  ToneGenerator() = default;
  explicit ToneGenerator(const ToneSpec& spec) { Configure(spec); }
  void Configure(const ToneSpec& spec);
  // Restarts both components at phase 0.
  void ResetPhase();
  // Overwrites `out` with the next samples.
  void Generate(std::span<int16_t> out);
  // Adds the next samples to `out`, saturating.
  void Mix(std::span<int16_t> out);
  float NextSample();

 private:
  std::array<SineOscillator, 2> oscillators_{};
  uint8_t count_ = 0;
};

// An on/off pattern: durations in ms alternate on, off, on, off... starting with on.
// count == 0 means continuous. When `repeat` is false the tone stops (silence) after the
// last segment.
struct Cadence {
  std::array<uint16_t, 8> segments_ms{};
  uint8_t count = 0;
  bool repeat = true;

  static constexpr Cadence Continuous() { return Cadence{}; }
};

class CadencedToneGenerator {
 public:
  CadencedToneGenerator() = default;
  CadencedToneGenerator(const ToneSpec& spec, const Cadence& cadence) { Configure(spec, cadence); }
  // Starts at the beginning of the first on segment.
  void Configure(const ToneSpec& spec, const Cadence& cadence);
  void Restart();
  void Generate(std::span<int16_t> out);
  // True once a non-repeating cadence has played its last segment.
  bool finished() const { return finished_; }
  // Whether the tone is sounding at the next sample.
  bool on() const { return !finished_ && (segment_ % 2) == 0; }

 private:
  ToneGenerator tone_{};
  Cadence cadence_{};
  uint32_t segment_ = 0;
  uint32_t remaining_ = 0;  // samples left in the current segment
  bool finished_ = false;
};

}  // namespace linegate::media::dsp
