#include "media/tdm/sim/line_audio.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace linegate::media::tdm::sim {

// ---- AudioPlayer ----------------------------------------------------------------------

std::string_view AudioPlayer::ModeName(Mode mode) {
  switch (mode) {
    case Mode::kIdle:
      return "idle";
    case Mode::kTone:
      return "tone";
    case Mode::kWav:
      return "wav";
  }
  return "?";
}

Status AudioPlayer::PlayTone(double frequency_hz, double level_dbm0) {
  if (!(frequency_hz >= kMinToneHz && frequency_hz <= kMaxToneHz)) {
    return Error{
        fmt::format("tone frequency {} Hz out of range {}..{} Hz", frequency_hz, kMinToneHz, kMaxToneHz)};
  }
  if (!(level_dbm0 >= kMinToneDbm0 && level_dbm0 <= kMaxToneDbm0)) {
    return Error{
        fmt::format("tone level {} dBm0 out of range {}..{} dBm0", level_dbm0, kMinToneDbm0, kMaxToneDbm0)};
  }
  tone_.Configure(dsp::ToneSpec::Single(static_cast<float>(frequency_hz), static_cast<float>(level_dbm0)));
  tone_hz_ = frequency_hz;
  tone_dbm0_ = level_dbm0;
  mode_ = Mode::kTone;
  return Status::Ok();
}

void AudioPlayer::PlayWav(std::vector<int16_t> samples, std::string name) {
  wav_ = std::move(samples);
  wav_name_ = std::move(name);
  wav_position_ = 0;
  mode_ = Mode::kWav;
}

void AudioPlayer::Stop() { mode_ = Mode::kIdle; }

void AudioPlayer::Mix(std::span<int16_t> frame) {
  switch (mode_) {
    case Mode::kIdle:
      return;
    case Mode::kTone:
      tone_.Mix(frame);
      return;
    case Mode::kWav: {
      const size_t n = std::min(frame.size(), wav_.size() - wav_position_);
      for (size_t i = 0; i < n; ++i) frame[i] = SaturatingAdd(frame[i], wav_[wav_position_ + i]);
      wav_position_ += n;
      // The samples stay allocated until the next Play*: freeing here would be an
      // allocator call on the per-frame path.
      if (wav_position_ == wav_.size()) mode_ = Mode::kIdle;
      return;
    }
  }
}

std::string AudioPlayer::Describe() const {
  switch (mode_) {
    case Mode::kIdle:
      return "idle";
    case Mode::kTone:
      return fmt::format("tone {:g} Hz {:g} dBm0", tone_hz_, tone_dbm0_);
    case Mode::kWav:
      return fmt::format("wav {} ({:.1f} of {:.1f} s)", wav_name_, wav_position_ / 8000.0,
                         wav_.size() / 8000.0);
  }
  return "?";
}

// ---- AudioMonitor ---------------------------------------------------------------------

size_t AudioMonitor::Process(std::span<const int16_t> frame, std::span<char> started) {
  for (const int16_t s : frame) {
    history_[history_next_] = s;
    history_next_ = (history_next_ + 1) % kHistorySamples;
  }
  samples_heard_ += frame.size();
  std::array<dsp::DtmfEvent, 4> events;
  const size_t n = detector_.Process(frame, events);
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (events[i].type != dsp::DtmfEventType::kStart) continue;
    if (digit_count_ < kDigitCapacity) {
      digits_[digit_count_++] = events[i].digit;
    } else {
      ++digits_dropped_;
    }
    if (out < started.size()) started[out++] = events[i].digit;
  }
  return out;
}

Result<ListenReport> AudioMonitor::Listen(uint32_t window_ms) {
  if (window_ms == 0 || window_ms > kMaxWindowMs) {
    return Error{fmt::format("listen window {} ms out of range 1..{} ms", window_ms, kMaxWindowMs)};
  }
  const size_t wanted = size_t{window_ms} * 8;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(wanted, samples_heard_));
  std::vector<int16_t> window(n);
  // The oldest of the last n samples sits n places behind the write position.
  size_t at = (history_next_ + kHistorySamples - n) % kHistorySamples;
  for (size_t i = 0; i < n; ++i) {
    window[i] = history_[at];
    at = (at + 1) % kHistorySamples;
  }
  ListenReport report;
  report.window_ms = static_cast<uint32_t>(n / 8);
  report.tone = dsp::AnalyseTone(window);
  report.digits.assign(digits_.data(), digit_count_);
  report.digits_dropped = digits_dropped_;
  digit_count_ = 0;
  digits_dropped_ = 0;
  return report;
}

void AudioMonitor::Reset() {
  history_.fill(0);
  history_next_ = 0;
  samples_heard_ = 0;
  detector_.Reset();
  digit_count_ = 0;
  digits_dropped_ = 0;
}

std::string FormatListenReport(const ListenReport& r) {
  std::string text;
  if (r.tone.total_level_dbm0 <= dsp::kSilenceDbm0) {
    text = fmt::format("heard silence over {} ms", r.window_ms);
  } else {
    text = fmt::format("heard {:.1f} Hz at {:.1f} dBm0 (total {:.1f} dBm0, purity {:.2f}) over {} ms",
                       r.tone.frequency_hz, r.tone.tone_level_dbm0, r.tone.total_level_dbm0, r.tone.purity,
                       r.window_ms);
  }
  text += r.digits.empty() ? "; no DTMF" : "; DTMF " + r.digits;
  if (r.digits_dropped > 0) text += fmt::format(" ({} more digits not kept)", r.digits_dropped);
  return text;
}

// ---- AudioRecorder --------------------------------------------------------------------

std::string_view AudioRecorder::StateName(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kRecording:
      return "recording";
    case State::kComplete:
      return "complete";
  }
  return "?";
}

AudioRecorder::AudioRecorder(uint32_t buffer_samples) : ring_(std::max<uint32_t>(buffer_samples, 80)) {}

Status AudioRecorder::Start(const std::string& path, uint32_t max_samples) {
  if (state_ != State::kIdle) return Error{"already recording to " + writer_.path()};
  if (max_samples == 0) return Error{"recording length must be > 0"};
  Result<WavFileWriter> writer = WavFileWriter::Create(path);
  if (!writer.ok()) return Error{writer.error()};
  writer_ = std::move(writer).value();
  ring_head_ = 0;
  ring_count_ = 0;
  max_samples_ = max_samples;
  captured_ = 0;
  dropped_ = 0;
  state_ = State::kRecording;
  return Status::Ok();
}

void AudioRecorder::Push(std::span<const int16_t> frame) {
  if (state_ != State::kRecording) return;
  const uint64_t room_in_file = max_samples_ - captured_ - dropped_;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(frame.size(), room_in_file));
  const size_t fit = std::min(n, ring_.size() - ring_count_);
  size_t at = (ring_head_ + ring_count_) % ring_.size();
  for (size_t i = 0; i < fit; ++i) {
    ring_[at] = frame[i];
    at = at + 1 == ring_.size() ? 0 : at + 1;
  }
  ring_count_ += fit;
  captured_ += fit;
  dropped_ += n - fit;
  if (captured_ + dropped_ == max_samples_) state_ = State::kComplete;
}

Status AudioRecorder::Drain() {
  while (ring_count_ > 0) {
    const size_t n = std::min(ring_count_, ring_.size() - ring_head_);
    Status written = writer_.Append(std::span<const int16_t>(ring_).subspan(ring_head_, n));
    if (!written.ok()) {
      // A failing disk must not leave the recorder stuck: give up on this file.
      ring_count_ = 0;
      state_ = State::kIdle;
      (void)writer_.Finish();
      last_result_ = "recording to " + writer_.path() + " failed: " + written.error();
      return written;
    }
    ring_head_ = (ring_head_ + n) % ring_.size();
    ring_count_ -= n;
  }
  return Status::Ok();
}

Status AudioRecorder::Finish() {
  const std::string path = writer_.path();
  const uint64_t written = writer_.samples_written();
  Status finished = writer_.Finish();
  state_ = State::kIdle;
  if (!finished.ok()) {
    last_result_ = finished.error();
    return finished;
  }
  last_result_ = fmt::format("recorded {} samples ({:.2f} s) to {}", written, written / 8000.0, path);
  if (dropped_ > 0) last_result_ += fmt::format("; {} samples lost (flushed too late)", dropped_);
  return Status::Ok();
}

Status AudioRecorder::Flush() {
  if (state_ == State::kIdle) return Status::Ok();
  Status drained = Drain();
  if (!drained.ok()) return drained;
  if (state_ == State::kComplete) return Finish();
  return Status::Ok();
}

Status AudioRecorder::Stop() {
  if (state_ == State::kIdle) return Error{"not recording"};
  Status drained = Drain();
  if (!drained.ok()) return drained;
  return Finish();
}

}  // namespace linegate::media::tdm::sim
