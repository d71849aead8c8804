#pragma once
// DTMF receiver in the spirit of ITU-T Q.24 (and the limits it tabulates for
// administrations): Goertzel filters over sliding Hann-windowed blocks of 106 samples
// (13.25 ms) every 53 samples (6.6 ms).
//
// A window holds a digit when all of these hold (defaults in DtmfDetectorConfig):
//  - level: the strongest low-group and high-group tones each >= -30 dBm0;
//  - twist: high minus low within [-4 dB reverse, +8 dB normal], with 2 dB of slack
//    per window; the limits themselves are applied at the start decision to the
//    powers averaged over the run and corrected for each tone's measured frequency
//    offset (the window attenuates an off-frequency tone by up to 0.6 dB at 1.5%), so
//    that noise and offsets do not make the limit fuzzy;
//  - group margin: each of them >= 1 dB above the other tones of its group (the Hann
//    main lobe puts a neighbouring row only 4 dB down when a tone is 1.5% off towards
//    it; two tones in one group fail the signal ratio or the frequency check anyway);
//  - signal ratio: the two tones carry >= 80% of the window's power (noise, speech and
//    music spread their power; 15 dB SNR leaves ~97%);
// A digit starts after 4 consecutive windows hold the same digit and the run passes:
//  - frequency: the phase advance of each tone between every two consecutive windows
//    puts it within 2.5% of nominal (Q.24: accept +-1.5%, reject beyond +-3.5%; the
//    window's own selectivity cannot separate those at 697 Hz, the phase can), and
//    those per-hop estimates vary by <= 1.5% (a steady tone, not a sweep);
//  - twist (exact limits, see above);
//  - second harmonic: each tone's second harmonic, summed over the run, >= 15 dB below
//    the tone (talk-off: voiced speech and instruments are harmonic). Skipped for a
//    low-group tone whose harmonic falls inside the main lobe of a high-group tone
//    (2 * 697 is 58 Hz from 1336).
// It ends after 4 consecutive windows without it. Consequences, since a window turns
// valid at about 71% coverage by the tone:
//  - tones of >= 32 ms are always detected, of < 25 ms never (Q.24: accept >= 40 ms,
//    reject < 23 ms);
//  - pauses of >= 40 ms always separate digits; a 5 ms dropout does not split one
//    (tested; around 10 ms it may);
//  - reported start/end samples are within about +-7 ms of the true edges, and events
//    come out about 30 ms after the edge they report.
//
// Per frame: no allocation, lock or system call; the state is this plain object.

#include <array>
#include <complex>
#include <cstdint>
#include <span>

namespace linegate::media::dsp {

struct DtmfDetectorConfig {
  float min_tone_level_dbm0 = -30.0f;
  float max_normal_twist_db = 8.0f;   // high group above low group
  float max_reverse_twist_db = 4.0f;  // low group above high group
  float min_group_margin_db = 1.0f;
  float min_signal_ratio = 0.80f;
  float max_second_harmonic_db = -15.0f;
  float max_frequency_deviation = 0.025f;
  float max_frequency_drift = 0.015f;  // max - min of the per-hop estimates, relative
  uint8_t windows_to_start = 4;        // at least 2 (the frequency check needs a pair)
  uint8_t windows_to_end = 4;
};

enum class DtmfEventType : uint8_t { kStart, kEnd };

struct DtmfEvent {
  DtmfEventType type = DtmfEventType::kStart;
  char digit = 0;
  // Estimated time of the edge, in samples since construction or Reset().
  uint64_t sample = 0;
};

struct DtmfDetectorStats {
  uint64_t windows = 0;
  uint64_t digits = 0;
  // Runs of windows that held a digit long enough but failed a run check.
  uint64_t rejected_frequency = 0;
  uint64_t rejected_twist = 0;
  uint64_t rejected_harmonic = 0;
  // Events that did not fit the caller's span.
  uint64_t events_dropped = 0;
};

// The analysis of one window, for diagnostics and tests.
struct DtmfWindowAnalysis {
  char digit = 0;  // 0 when the window fails a check
  int low_index = 0;
  int high_index = 0;
  float low_dbm0 = 0.0f;
  float high_dbm0 = 0.0f;
  float signal_ratio = 0.0f;
};

class DtmfDetector {
 public:
  static constexpr int kWindow = 106;
  static constexpr int kHop = 53;

  explicit DtmfDetector(const DtmfDetectorConfig& config = {});

  void Reset();
  // Consumes any number of samples; writes start/end events to `events` and returns
  // how many. Events beyond events.size() are dropped and counted. A 10 ms frame
  // produces at most 2 events.
  size_t Process(std::span<const int16_t> samples, std::span<DtmfEvent> events);

  // The digit currently being received (its start reported, its end not yet), or 0.
  char digit() const { return digit_; }
  const DtmfDetectorStats& stats() const { return stats_; }
  const DtmfWindowAnalysis& last_window() const { return last_window_; }

 private:
  void AnalyseWindow();
  // The start decision on a run: frequency and averaged twist. Counts a rejection.
  bool AcceptRun();
  double ErrorHz(int k, std::complex<float> advance) const;
  float SignedDeviation(int k, std::complex<float> advance) const;
  void Emit(DtmfEventType type, char digit, uint64_t sample);

  // Constants derived from the config.
  struct Tables {
    std::array<float, kWindow> window{};
    std::array<float, 8> coeff{};
    std::array<float, 8> cos_w{};
    std::array<float, 8> sin_w{};
    std::array<float, 8> harmonic_coeff{};
    std::array<float, 8> hop_phase{};  // expected phase advance per hop, radians
    std::array<bool, 4> check_low_harmonic{};
    float tone_power_scale = 0.0f;   // |y|^2 -> mean square of the sinusoid
    float total_power_scale = 0.0f;  // sum (w x)^2 -> mean square
    float min_tone_power = 0.0f;
    float max_normal_twist = 0.0f;  // run average
    float max_reverse_twist = 0.0f;
    float window_max_normal_twist = 0.0f;  // per window, with slack
    float window_max_reverse_twist = 0.0f;
    float group_margin = 0.0f;
    float max_harmonic_ratio = 0.0f;
  };

  DtmfDetectorConfig config_;
  Tables tables_;

  std::array<float, kWindow> buffer_{};
  int fill_ = 0;
  uint64_t window_start_ = 0;  // sample index of buffer_[0]

  // The run of consecutive windows holding the same digit.
  char run_digit_ = 0;
  int run_length_ = 0;
  int run_low_ = 0;
  int run_high_ = 0;
  bool run_checked_ = false;
  uint64_t run_start_ = 0;
  std::complex<float> previous_low_{};
  std::complex<float> previous_high_{};
  std::complex<float> advance_low_{};  // sum of y_k * conj(y_{k-1})
  std::complex<float> advance_high_{};
  // Extremes over the run's hops of (f - nominal) / nominal, low and high tone.
  std::array<float, 2> run_deviation_min_{};
  std::array<float, 2> run_deviation_max_{};
  float run_power_low_ = 0.0f;  // sums over the run
  float run_power_high_ = 0.0f;
  float run_harmonic_low_ = 0.0f;
  float run_harmonic_high_ = 0.0f;

  // The reported digit.
  char digit_ = 0;
  int misses_ = 0;
  uint64_t last_valid_end_ = 0;

  // Output of the current Process() call.
  std::span<DtmfEvent> out_{};
  size_t out_count_ = 0;

  DtmfDetectorStats stats_{};
  DtmfWindowAnalysis last_window_{};
};

}  // namespace linegate::media::dsp
