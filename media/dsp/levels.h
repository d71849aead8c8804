#pragma once
// Level reference shared by every DSP block: what "0 dBm0" means for linear 16-bit
// samples at 8 kHz.
//
// ITU-T G.711 defines the digital milliwatt (Table 5 / Table 6: a 1 kHz sine whose
// eight-sample sequence represents 0 dBm0) and a theoretical load capacity of
// +3.14 dBm0 for A-law (+3.17 dBm0 for mu-law). We use one reference for both laws and
// for linear audio: a 0 dBm0 sine has a peak 3.14 dB below 16-bit full scale (32768),
// i.e. peak 22827.1, RMS 16141.3. The A-law digital milliwatt decodes to 0.00 dBm0 on
// this scale and the mu-law one to -0.07 dBm0 (g711_test checks both).

#include <cmath>
#include <cstdint>

namespace linegate::media::dsp {

inline constexpr int kSampleRateHz = 8000;
inline constexpr double kFullScale = 32768.0;
// dB from full-scale sine peak down to a 0 dBm0 sine (G.711 A-law load capacity).
inline constexpr double kFullScaleAboveDbm0 = 3.14;
// 32768 * 10^(-3.14/20); levels_test recomputes it.
inline constexpr double kZeroDbm0Peak = 22827.06;
// Mean square of a 0 dBm0 sine: peak^2 / 2.
inline constexpr double kZeroDbm0MeanSquare = kZeroDbm0Peak * kZeroDbm0Peak / 2.0;
// Level reported for digital silence (instead of -infinity).
inline constexpr double kSilenceDbm0 = -120.0;

// Peak amplitude of a sine at the given level.
inline double Dbm0ToPeak(double dbm0) { return kZeroDbm0Peak * std::pow(10.0, dbm0 / 20.0); }
// Mean square (power) of a sine at the given level.
inline double Dbm0ToMeanSquare(double dbm0) { return kZeroDbm0MeanSquare * std::pow(10.0, dbm0 / 10.0); }
// Level of a signal of the given mean square; kSilenceDbm0 at or below that level.
inline double MeanSquareToDbm0(double mean_square) {
  const double floor = kZeroDbm0MeanSquare * std::pow(10.0, kSilenceDbm0 / 10.0);
  return mean_square <= floor ? kSilenceDbm0 : 10.0 * std::log10(mean_square / kZeroDbm0MeanSquare);
}

}  // namespace linegate::media::dsp
