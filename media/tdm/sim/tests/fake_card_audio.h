#pragma once
// A FrameSource/FrameSink over plain per-channel buffers: the test plays the gateway,
// setting each channel's to-line frame before a tick and reading its from-line frame
// after.

#include <cstdint>
#include <span>
#include <vector>

#include "media/tdm/sim/sim_card.h"

namespace linegate::media::tdm::sim::testing {

class FakeCardAudio final : public FrameSource, public FrameSink {
 public:
  FakeCardAudio(uint32_t channels, uint32_t frame_samples)
      : to_line(channels, std::vector<int16_t>(frame_samples, 0)),
        from_line(channels, std::vector<int16_t>(frame_samples, 0)),
        to_line_present(channels, true) {}

  bool ReadToLine(uint32_t channel, std::span<int16_t> out) override {
    if (!to_line_present[channel]) return false;
    std::copy(to_line[channel].begin(), to_line[channel].end(), out.begin());
    return true;
  }
  void WriteFromLine(uint32_t channel, std::span<const int16_t> frame) override {
    std::copy(frame.begin(), frame.end(), from_line[channel].begin());
  }
  void EndTick(TimePoint now) override {
    ++ticks;
    last_tick = now;
  }

  std::vector<std::vector<int16_t>> to_line;
  std::vector<std::vector<int16_t>> from_line;
  std::vector<bool> to_line_present;
  uint64_t ticks = 0;
  TimePoint last_tick{};
};

}  // namespace linegate::media::tdm::sim::testing
