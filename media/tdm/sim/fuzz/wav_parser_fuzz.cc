// Feeds arbitrary bytes to the WAV parser (operator-supplied files): it must accept or
// refuse with a message, never crash, and what it accepts must re-encode to a file it
// parses to the same samples.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "media/tdm/sim/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using linegate::media::tdm::sim::EncodeWav;
  using linegate::media::tdm::sim::ParseWav;
  const auto parsed = ParseWav(std::span(reinterpret_cast<const std::byte*>(data), size));
  if (!parsed.ok()) {
    if (parsed.error().empty()) std::abort();
    return 0;
  }
  const auto again = ParseWav(EncodeWav(*parsed));
  if (!again.ok() || *again != *parsed) std::abort();
  return 0;
}
