#pragma once
// Connects a SimCard to the shared-memory TDM bus on the tdm side: reads each channel's
// to-line ring and writes its from-line ring of a CardRegion, converting between the
// bus's sample format (G.711 mu-law / A-law bytes or linear 16-bit) and the linear
// samples the models use, and advances the region's clock at the end of each tick.
// Per frame: zero-copy slot access, no allocation, lock or system call.

#include <cstdint>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "media/tdm/sim/sim_card.h"
#include "media/tdmbus/region.h"

namespace linegate::media::tdm::sim {

class TdmBusCardAudio final : public FrameSource, public FrameSink {
 public:
  // The region must outlive this object and have at least `channels` channels of
  // `frame_samples` samples.
  static Result<TdmBusCardAudio> Create(tdmbus::CardRegion& region, uint32_t channels,
                                        uint32_t frame_samples);

  bool ReadToLine(uint32_t channel, std::span<int16_t> out) override;
  void WriteFromLine(uint32_t channel, std::span<const int16_t> frame) override;
  // Stores `now` (CLOCK_MONOTONIC for SteadyClock) as the region's last tick time.
  void EndTick(TimePoint now) override;

  uint64_t underruns() const { return underruns_; }
  uint64_t frames_dropped() const { return frames_dropped_; }

 private:
  TdmBusCardAudio(tdmbus::CardRegion& region, tdmbus::SampleFormat format)
      : region_(&region), format_(format) {}

  tdmbus::CardRegion* region_;
  tdmbus::SampleFormat format_;
  std::vector<tdmbus::FrameReader> to_line_;
  std::vector<tdmbus::FrameWriter> from_line_;
  uint64_t underruns_ = 0;
  uint64_t frames_dropped_ = 0;
};

}  // namespace linegate::media::tdm::sim
