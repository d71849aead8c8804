#pragma once
// The audio ends of a simulated line: what it plays into the line (AudioPlayer), what
// it listens to (AudioMonitor: level, frequency, DTMF) and what it records
// (AudioRecorder). The per-frame calls (Mix, Process, Push) never allocate, lock or
// make a system call; everything else is a control-plane call made between ticks.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/levels.h"
#include "media/dsp/oscillator.h"
#include "media/dsp/tone_analyser.h"
#include "media/tdm/sim/wav.h"

namespace linegate::media::tdm::sim {

// Adds b to a sample, saturating to 16 bits.
inline int16_t SaturatingAdd(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + int32_t{b};
  return static_cast<int16_t>(sum > 32767 ? 32767 : (sum < -32768 ? -32768 : sum));
}

// A tone or a WAV file played into a line, added to whatever else the line sends.
class AudioPlayer {
 public:
  enum class Mode : uint8_t { kIdle, kTone, kWav };
  static std::string_view ModeName(Mode mode);  // "idle", "tone", "wav"

  static constexpr double kMinToneHz = 1.0;
  static constexpr double kMaxToneHz = 3999.0;  // below the 4 kHz Nyquist limit
  static constexpr double kMinToneDbm0 = -60.0;
  static constexpr double kMaxToneDbm0 = 3.0;  // the G.711 load capacity

  // A continuous tone, until Stop() or another Play*.
  Status PlayTone(double frequency_hz, double level_dbm0);
  // Plays the samples once, from the start; `name` is for status.
  void PlayWav(std::vector<int16_t> samples, std::string name);
  void Stop();

  // Per frame: adds the next samples of the tone or file to `frame`, saturating.
  void Mix(std::span<int16_t> frame);

  Mode mode() const { return mode_; }
  std::string Describe() const;

 private:
  Mode mode_ = Mode::kIdle;
  dsp::ToneGenerator tone_{};
  double tone_hz_ = 0.0;
  double tone_dbm0_ = 0.0;
  std::vector<int16_t> wav_;
  std::string wav_name_;
  size_t wav_position_ = 0;
};

struct ListenReport {
  uint32_t window_ms = 0;
  dsp::ToneAnalysis tone{};  // dominant frequency, its level, total level, purity
  std::string digits;        // DTMF digits detected since the previous Listen()
  uint64_t digits_dropped = 0;
};
std::string FormatListenReport(const ListenReport& report);

// Keeps the last kHistorySamples samples heard and runs a DTMF detector over them.
class AudioMonitor {
 public:
  static constexpr size_t kHistorySamples = dsp::kMaxAnalysisSamples;  // 1024 ms
  static constexpr uint32_t kMaxWindowMs = kHistorySamples / 8;
  static constexpr size_t kDigitCapacity = 64;

  // Per frame. Writes the digits whose start was detected in this frame to `started`
  // (at most 2 per 10 ms frame) and returns how many.
  size_t Process(std::span<const int16_t> frame, std::span<char> started);

  // Analyses the last window_ms (1..kMaxWindowMs) of what was heard and hands over the
  // digits detected since the previous call. Not per frame: AnalyseTone allocates.
  Result<ListenReport> Listen(uint32_t window_ms);
  // Digits detected and not yet handed over by Listen().
  std::string_view pending_digits() const { return {digits_.data(), digit_count_}; }
  char current_digit() const { return detector_.digit(); }
  void Reset();

 private:
  std::array<int16_t, kHistorySamples> history_{};
  size_t history_next_ = 0;     // where the next sample goes
  uint64_t samples_heard_ = 0;  // total, to know how much of the history is real
  dsp::DtmfDetector detector_{};
  std::array<char, kDigitCapacity> digits_{};
  size_t digit_count_ = 0;
  uint64_t digits_dropped_ = 0;
};

// Records what a line hears into a WAV file. Push() copies into a ring preallocated at
// construction; Flush() (not per frame: file I/O) drains it to the file. Recording
// stops by itself after max_samples; the file is finished by the next Flush().
class AudioRecorder {
 public:
  enum class State : uint8_t {
    kIdle,
    kRecording,
    kComplete,  // max length reached: waiting for Flush() to finish the file
  };
  static std::string_view StateName(State state);

  // The ring holds buffer_samples (Flush must be called at least that often).
  explicit AudioRecorder(uint32_t buffer_samples);

  Status Start(const std::string& path, uint32_t max_samples);
  // Per frame.
  void Push(std::span<const int16_t> frame);
  // Writes what the ring holds; finishes the file once the recording is complete.
  Status Flush();
  // Writes what the ring holds and finishes the file now.
  Status Stop();

  State state() const { return state_; }
  const std::string& path() const { return writer_.path(); }
  uint64_t samples_captured() const { return captured_; }
  // Samples lost because Flush() was not called in time (the file lacks them).
  uint64_t samples_dropped() const { return dropped_; }
  // A line describing the last finished recording ("recorded 8000 samples to x.wav").
  const std::string& last_result() const { return last_result_; }

 private:
  Status Drain();
  Status Finish();

  std::vector<int16_t> ring_;
  size_t ring_head_ = 0;   // next to write to the file
  size_t ring_count_ = 0;  // samples buffered
  State state_ = State::kIdle;
  WavFileWriter writer_;
  uint64_t max_samples_ = 0;
  uint64_t captured_ = 0;
  uint64_t dropped_ = 0;
  std::string last_result_;
};

}  // namespace linegate::media::tdm::sim
