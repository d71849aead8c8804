#pragma once
// Fax calling and answer tones (ITU-T T.30 section 5.1.1 / V.25), detected with their
// cadences, per frame:
//  - CNG (calling tone): 1100 Hz +-38 Hz, 0.5 s on / 3 s off. Reported at the end of an
//    on burst of 400..650 ms (T.30 allows 0.5 s +-15%; we allow for the 20 ms block
//    granularity), or, with cng_bursts > 1, at the end of the Nth such burst when each
//    pause was 2.5..3.5 s. A continuous 1100 Hz tone is not CNG.
//  - CED (called station identification / ANS): 2100 Hz +-15 Hz for 2.6..4 s. Reported
//    once the tone has lasted ced_min_ms (default the full 2.6 s; a gateway that wants
//    to switch to a fax path early sets a few hundred ms). Gaps of one 20 ms block are
//    bridged, so the 180-degree phase reversals of V.25 ANS do not break it.
// Each tone counts as present in a 20 ms block when its strongest probe (a few
// Goertzel terms spread over the tolerance) is >= min_level_dbm0 and holds >=
// min_purity of the block's power. Each is reported at most once until Reset().

#include <array>
#include <cstdint>
#include <span>

namespace linegate::media::dsp {

struct FaxToneDetectorConfig {
  float min_level_dbm0 = -43.0f;
  float min_purity = 0.7f;
  uint16_t cng_min_on_ms = 400;
  uint16_t cng_max_on_ms = 650;
  uint16_t cng_min_off_ms = 2500;
  uint16_t cng_max_off_ms = 3500;
  uint8_t cng_bursts = 1;
  uint16_t ced_min_ms = 2600;
};

enum class FaxTone : uint8_t { kCng, kCed };

struct FaxToneEvent {
  FaxTone tone = FaxTone::kCng;
  uint64_t tone_start_sample = 0;  // start of the (last) burst
  uint64_t sample = 0;             // when it was recognised
};

class FaxToneDetector {
 public:
  static constexpr int kBlock = 160;  // 20 ms
  static constexpr int kCngProbes = 5;
  static constexpr int kCedProbes = 3;

  explicit FaxToneDetector(const FaxToneDetectorConfig& config = {});
  void Reset();
  // Returns the number of events written; events beyond events.size() are dropped.
  size_t Process(std::span<const int16_t> samples, std::span<FaxToneEvent> events);

  bool cng_detected() const { return cng_reported_; }
  bool ced_detected() const { return ced_reported_; }
  uint64_t events_dropped() const { return events_dropped_; }

 private:
  struct Run {
    bool active = false;
    uint64_t start = 0;  // block index of the first present block
    uint64_t last = 0;   // block index of the last present block
  };

  void AnalyseBlock();
  void Emit(FaxTone tone, uint64_t start_block);

  FaxToneDetectorConfig config_;
  std::array<float, kCngProbes> cng_coeff_{};
  std::array<float, kCedProbes> ced_coeff_{};
  float min_power_ = 0.0f;

  std::array<float, kBlock> block_{};
  int fill_ = 0;
  uint64_t block_index_ = 0;

  Run cng_{};
  Run ced_{};
  int cng_valid_bursts_ = 0;
  uint64_t cng_last_burst_end_ = 0;  // block index after the last valid burst
  bool cng_reported_ = false;
  bool ced_reported_ = false;

  std::span<FaxToneEvent> out_{};
  size_t out_count_ = 0;
  uint64_t events_dropped_ = 0;
};

}  // namespace linegate::media::dsp
