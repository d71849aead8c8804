#pragma once
// Helpers for the dahdi tests: a fake kernel with a typical card (two FXS ports on
// DAHDI channels 1 and 2, two FXO ports on 3 and 4), plain-buffer audio, event draining.

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/clock.h"
#include "media/dsp/g711.h"
#include "media/tdm/dahdi/dahdi_card.h"
#include "media/tdm/dahdi/fake_dahdi_device.h"

namespace linegate::media::tdm::dahdi::testing {

using sim::LineEventType;

// A FrameSource / FrameSink over per-channel buffers. `on_read_to_line` runs inside
// ReadToLine (between a channel's read and its write): tests use it to make an event
// arrive in the middle of a tick.
class BufferAudio final : public sim::FrameSource, public sim::FrameSink {
 public:
  BufferAudio(uint32_t channels, uint32_t frame_samples)
      : to_line(channels, std::vector<int16_t>(frame_samples, 0)),
        from_line(channels, std::vector<int16_t>(frame_samples, 0)),
        to_line_present(channels, true) {}

  bool ReadToLine(uint32_t channel, std::span<int16_t> out) override {
    if (on_read_to_line) on_read_to_line(channel);
    if (!to_line_present[channel]) {
      std::fill(out.begin(), out.end(), int16_t{0});
      return false;
    }
    std::copy(to_line[channel].begin(), to_line[channel].end(), out.begin());
    return true;
  }
  void WriteFromLine(uint32_t channel, std::span<const int16_t> frame) override {
    from_line[channel].assign(frame.begin(), frame.end());
  }
  void EndTick(TimePoint now) override {
    ++ticks;
    last_tick = now;
  }

  std::vector<std::vector<int16_t>> to_line;
  std::vector<std::vector<int16_t>> from_line;
  std::vector<bool> to_line_present;
  std::function<void(uint32_t)> on_read_to_line;
  uint64_t ticks = 0;
  TimePoint last_tick{};
};

inline DahdiCardConfig TypicalConfig() {
  DahdiCardConfig config;
  config.name = "test";
  config.fxs_channels = {1, 2};
  config.fxo_channels = {3, 4};
  return config;
}

// FXS ports need FXO signalling and the reverse (the DAHDI naming inversion).
inline void AddTypicalChannels(FakeDahdiDevice& fake, int law = DAHDI_LAW_MULAW) {
  fake.AddChannel(1, DAHDI_SIG_FXOKS, law);
  fake.AddChannel(2, DAHDI_SIG_FXOLS, law);
  fake.AddChannel(3, DAHDI_SIG_FXSKS, law);
  fake.AddChannel(4, DAHDI_SIG_FXSLS, law);
}

inline std::vector<LineEvent> Drain(sim::LineSignaling& line) {
  std::vector<LineEvent> all;
  std::array<LineEvent, 8> batch;
  size_t n = 0;
  while ((n = line.PollEvents(batch)) > 0) all.insert(all.end(), batch.begin(), batch.begin() + n);
  return all;
}

inline std::vector<LineEventType> Types(const std::vector<LineEvent>& events) {
  std::vector<LineEventType> types;
  for (const LineEvent& e : events) types.push_back(e.type);
  return types;
}

inline std::vector<int16_t> G711(int law, std::span<const int16_t> samples) {
  std::vector<int16_t> out;
  for (int16_t s : samples) {
    out.push_back(law == DAHDI_LAW_ALAW ? dsp::DecodeAlaw(dsp::EncodeAlaw(s))
                                        : dsp::DecodeUlaw(dsp::EncodeUlaw(s)));
  }
  return out;
}

// A fake with the typical channels and a card opened on it.
struct CardFixture {
  explicit CardFixture(DahdiCardConfig config = TypicalConfig(), int law = DAHDI_LAW_MULAW) {
    AddTypicalChannels(fake, law);
    auto opened = DahdiCard::Open(fake, clock, config);
    EXPECT_TRUE(opened.ok()) << opened.error();
    if (opened.ok()) card = std::move(opened).value();
  }

  FakeDahdiDevice fake;
  ManualClock clock;
  std::unique_ptr<DahdiCard> card;
};

}  // namespace linegate::media::tdm::dahdi::testing
