// Feeds arbitrary text to the operator command parser: it must parse or refuse with a
// message, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/tdm/sim/scripted_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parsed = linegate::media::tdm::sim::ParseScriptedCommand(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok() && parsed.error().empty()) std::abort();
  return 0;
}
