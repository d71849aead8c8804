#pragma once
// Busy and reorder (congestion) tone detection, per frame, for one country's tone plan
// (call_progress.h: the same specs the gateway generates them from). An exchange often
// says "the far end hung up" only with these tones, so an FXO line listens for them.
//
// Every 10 ms block is judged for each of the two tones: each component's Goertzel
// power must reach min_level_dbm0, the weaker component be at most max_twist_db below
// the stronger, and the components together hold min_purity of the block's power.
// Runs of present and absent blocks make on and off periods (an on period survives one
// missing block). A tone is recognised at the end of its on_periods-th on period in a
// row when those on periods and the off periods between them all match its cadence
// (any phase of it, for cadences of more than one on/off pair) within +-tolerance.
// A continuous tone (dial tone on the same frequency) has no off period; ringback has
// other frequencies or a much longer cadence; DTMF and speech fail the purity or the
// frequencies. Reported once until Reset().

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "media/dsp/call_progress.h"

namespace linegate::media::dsp {

struct BusyToneDetectorConfig {
  Country country = Country::kUs;
  uint8_t on_periods = 3;  // 2..8
  float tolerance = 0.2f;  // relative, on every period
  float min_level_dbm0 = -40.0f;
  float max_twist_db = 10.0f;
  float min_purity = 0.7f;
};

class BusyToneDetector {
 public:
  static constexpr int kBlock = 80;  // 10 ms
  static constexpr int kMaxOnPeriods = 8;

  explicit BusyToneDetector(const BusyToneDetectorConfig& config = {});
  void Reset();
  // Any number of samples; true when a tone was recognised in them (tone() says which).
  bool Process(std::span<const int16_t> samples);
  // kBusy or kCongestion once recognised.
  std::optional<CallProgressTone> tone() const { return detected_; }
  const BusyToneDetectorConfig& config() const { return config_; }

 private:
  static constexpr int kCandidates = 2;  // busy, congestion
  static constexpr int kMaxSegments = 2 * kMaxOnPeriods - 1;
  struct Candidate {
    CallProgressTone tone = CallProgressTone::kBusy;
    int components = 0;
    std::array<float, 2> coeff{};
    Cadence cadence{};
    // Periods so far, oldest first, alternating and starting with an on period, in blocks.
    std::array<uint32_t, kMaxSegments> segments{};
    int segment_count = 0;
    bool on = false;       // in an on period
    uint32_t blocks = 0;   // length of the current period
    uint32_t missing = 0;  // absent blocks at the end of the current on period
  };

  bool AnalyseBlock();
  bool Update(Candidate& c, bool present);
  void Push(Candidate& c, uint32_t blocks);
  bool Matches(const Candidate& c) const;

  BusyToneDetectorConfig config_;
  std::array<Candidate, kCandidates> candidates_{};
  float min_power_ = 0.0f;
  float min_twist_ratio_ = 0.0f;
  std::array<float, kBlock> block_{};
  int fill_ = 0;
  std::optional<CallProgressTone> detected_;
};

}  // namespace linegate::media::dsp
