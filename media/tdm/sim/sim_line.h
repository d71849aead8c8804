#pragma once
// What a SimCard needs of each of its simulated lines: the signaling towards the
// gateway, the per-frame audio, status and the non-realtime work (file writes).

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"
#include "media/tdm/sim/line_signaling.h"

namespace linegate::media::tdm::sim {

class SimLine : public LineSignaling {
 public:
  // Per frame (1..10 ms): to_line is what the gateway sends towards the line, from_line
  // receives what the line sends to the gateway; both frame_samples long. No
  // allocation, lock or system call.
  virtual void Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) = 0;
  // Not per frame: writes buffered recordings to their files.
  virtual Status Flush() = 0;
  // One line of status for operators.
  virtual std::string Describe() const = 0;
};

}  // namespace linegate::media::tdm::sim
