// libFuzzer target for the configuration loader: operator input, read by every process at
// start-up. Beyond "no crash, no sanitizer report", it checks what a successful load
// promises (complete, derived values filled) and that loading is deterministic.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config/config_loader.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = linegate::config::LoadString(text, "fuzz.yaml");
  const auto second = linegate::config::LoadString(text, "fuzz.yaml");
  Check(first.ok() == second.ok());
  if (!first.ok()) {
    Check(first.error() == second.error());
    Check(first.error().find('\n') == std::string::npos);  // one line, always
    Check(first.error().starts_with("fuzz.yaml"));
    return 0;
  }
  const std::string serialized = first->SerializeAsString();
  Check(serialized == second->SerializeAsString());
  // What the loader accepts, every process can receive over the bus (proto3 parsing
  // refuses strings that are not UTF-8).
  linegate::config::v1::Config received;
  Check(received.ParseFromString(serialized));
  const linegate::config::v1::Config& config = *first;
  Check(!config.gateway().name().empty());
  Check(config.runtime().log_level() != linegate::config::v1::LOG_LEVEL_UNSPECIFIED);
  Check(!config.bus().control_endpoint().empty() && !config.bus().events_endpoint().empty());
  Check(config.bus().control_endpoint() != config.bus().events_endpoint());
  Check(!config.signaling().transports().empty());
  Check(config.media().process_count() >= 1 && config.media().rtp_port_min() < config.media().rtp_port_max());
  Check(config.media().backend() != linegate::config::v1::PACKET_IO_BACKEND_UNSPECIFIED);
  Check(config.tdm().driver() != linegate::config::v1::TDM_DRIVER_UNSPECIFIED);
  Check(config.tdm().driver() != linegate::config::v1::TDM_DRIVER_SIM || !config.tdm().cards().empty());
  return 0;
}
