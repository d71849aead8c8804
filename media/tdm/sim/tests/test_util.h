#pragma once
// Helpers for the sim tests: a manual clock that moves one frame per tick, running a
// line for a while with a given to-line signal, and collecting what came out.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "media/dsp/tone_analyser.h"
#include "media/tdm/sim/line_signaling.h"
#include "media/tdm/sim/sim_line.h"

namespace linegate::media::tdm::sim::testing {

using Signal = std::vector<int16_t>;

inline constexpr Duration FrameDuration(uint32_t frame_samples) { return SamplesToDuration(frame_samples); }

inline int64_t MsSince(TimePoint t0, TimePoint t) { return ToMillis(t - t0); }

// Fills the to-line frame of a tick (tick index, frame).
using ToLineFn = std::function<void(uint64_t, std::span<int16_t>)>;

// Ticks `line` `ticks` times with frames of frame_samples, advancing the clock by one
// frame after each tick; appends what the line sent to `from_line` (if given).
inline void RunLine(SimLine& line, ManualClock& clock, uint64_t ticks, uint32_t frame_samples,
                    const ToLineFn& to_line_fn = nullptr, Signal* from_line = nullptr) {
  std::vector<int16_t> to(frame_samples, 0);
  std::vector<int16_t> from(frame_samples, 0);
  for (uint64_t i = 0; i < ticks; ++i) {
    std::fill(to.begin(), to.end(), int16_t{0});
    if (to_line_fn) to_line_fn(i, to);
    line.Tick(to, from);
    if (from_line != nullptr) from_line->insert(from_line->end(), from.begin(), from.end());
    clock.Advance(FrameDuration(frame_samples));
  }
}

inline std::vector<LineEvent> DrainEvents(LineSignaling& line) {
  std::vector<LineEvent> all;
  std::array<LineEvent, 8> batch;
  size_t n = 0;
  while ((n = line.PollEvents(batch)) > 0) all.insert(all.end(), batch.begin(), batch.begin() + n);
  return all;
}

// A to-line source that plays a tone generator continuously.
inline ToLineFn ToneSource(const dsp::ToneSpec& spec) {
  auto generator = std::make_shared<dsp::ToneGenerator>(spec);
  return [generator](uint64_t, std::span<int16_t> frame) { generator->Generate(frame); };
}

inline std::string TempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/lg_sim_" + std::to_string(::getpid()) + "_" +
         std::to_string(counter.fetch_add(1)) + "_" + name;
}

// Removes a file at scope exit.
class FileCleanup {
 public:
  explicit FileCleanup(std::string path) : path_(std::move(path)) {}
  ~FileCleanup() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Samples [from_ms, to_ms) of a signal.
inline std::span<const int16_t> Slice(const Signal& s, double from_ms, double to_ms) {
  const auto a = static_cast<size_t>(from_ms * 8);
  const auto b = std::min(s.size(), static_cast<size_t>(to_ms * 8));
  return std::span<const int16_t>(s).subspan(a, b - a);
}

}  // namespace linegate::media::tdm::sim::testing
