#pragma once
// Offline measurement of tones, for tests and for the simulated phone: dominant
// frequency, levels in dBm0 (levels.h) and purity. Not for the per-frame path: a call
// allocates its working buffers and costs about a millisecond (it analyses at most
// kMaxAnalysisSamples samples, the first ones).
//
// Method: Hann-windowed Goertzel scan at bin spacing over the first (up to) 1024
// samples finds the strongest bin; a finer scan over the whole analysed span around it
// finds the peak bin; three-bin interpolation for the Hann window (exact for a single
// sinusoid: delta = (2r - 1) / (1 + r) with r the larger neighbour over the peak)
// refines the frequency, and the window's response at that offset corrects the level.

#include <cstdint>
#include <span>

namespace linegate::media::dsp {

inline constexpr size_t kMaxAnalysisSamples = 8192;

struct ToneAnalysis {
  double frequency_hz = 0.0;         // strongest spectral component (0 for silence)
  double tone_level_dbm0 = -120.0;   // level of that component
  double total_level_dbm0 = -120.0;  // level of the whole signal (RMS)
  double purity = 0.0;               // tone power / total power, 0..1
};

ToneAnalysis AnalyseTone(std::span<const int16_t> samples);

// Level (dBm0) of the component at `frequency_hz` (Hann-windowed DFT term, so
// components more than ~2 * 8000 / N Hz away do not contribute).
double MeasureToneLevel(std::span<const int16_t> samples, double frequency_hz);

// RMS level of the samples in dBm0 (kSilenceDbm0 for silence or no samples).
double MeasureLevel(std::span<const int16_t> samples);

}  // namespace linegate::media::dsp
