#pragma once
// DTMF signalling (ITU-T Q.23): the digit/frequency matrix and a digit generator.
//
//            1209  1336  1477  1633 Hz
//     697     1     2     3     A
//     770     4     5     6     B
//     852     7     8     9     C
//     941     *     0     #     D
//
// Twist is the level of the high-group tone minus the low-group tone, in dB: positive
// is "normal" twist (high group louder, as sent to pre-compensate line loss), negative
// is "reverse" twist.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "media/dsp/oscillator.h"

namespace linegate::media::dsp {

inline constexpr std::array<float, 4> kDtmfLowHz = {697.0f, 770.0f, 852.0f, 941.0f};
inline constexpr std::array<float, 4> kDtmfHighHz = {1209.0f, 1336.0f, 1477.0f, 1633.0f};
inline constexpr char kDtmfDigits[4][4] = {
    {'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}};
inline constexpr std::string_view kAllDtmfDigits = "123A456B789C*0#D";

struct DtmfFrequencies {
  int low_index = 0;   // row, 0..3
  int high_index = 0;  // column, 0..3
  float low_hz = 0.0f;
  float high_hz = 0.0f;
};

// The digit's frequencies; A-D may be lower case. nullopt for anything else.
std::optional<DtmfFrequencies> DtmfDigitFrequencies(char digit);

struct DtmfGeneratorConfig {
  uint16_t on_ms = 80;   // tone per digit
  uint16_t off_ms = 80;  // silence after each digit
  float low_level_dbm0 = -9.0f;
  float twist_db = 2.0f;  // high-group level = low_level_dbm0 + twist_db
  // Relative frequency error applied to both tones (0.015 = +1.5%): test equipment.
  float frequency_deviation = 0.0f;
};

// Plays queued digits: on_ms of the dual tone, then off_ms of silence, per digit. A
// ',' in the queue is a pause of kPauseMs (dial strings: "9,5551234").
class DtmfGenerator {
 public:
  static constexpr size_t kCapacity = 64;
  static constexpr uint32_t kPauseMs = 500;

  explicit DtmfGenerator(const DtmfGeneratorConfig& config = {}) : config_(config) {}
  void set_config(const DtmfGeneratorConfig& config) { config_ = config; }
  const DtmfGeneratorConfig& config() const { return config_; }

  // Queues all of `digits` or, if one is not a DTMF digit or ',' or they do not fit,
  // nothing.
  [[nodiscard]] bool Queue(std::string_view digits);
  // Writes the next samples (silence when idle).
  void Generate(std::span<int16_t> out);
  // Nothing queued and nothing playing. A last tone that ended on a block boundary
  // already counts as idle (caller ID is done after its last tone).
  bool idle() const { return count_ == 0 && remaining_ == 0; }
  // idle(), and the last digit's off part has been played too (dialling: the next
  // thing may follow only after the inter-digit pause).
  bool finished() const { return idle() && !tone_on_; }
  void Clear();

 private:
  void StartNext();

  DtmfGeneratorConfig config_;
  std::array<char, kCapacity> queue_{};
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  ToneGenerator tone_{};
  uint32_t remaining_ = 0;  // samples left in the current part
  bool tone_on_ = false;    // the current part is the tone (else the pause)
};

}  // namespace linegate::media::dsp
