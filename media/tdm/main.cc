// linegate-tdm: the interface-card driver process.
#include <cstdio>

#include "common/process/agent.h"
#include "media/tdm/tdm_service.h"

int main(int argc, char** argv) {
  using namespace linegate;
  auto options = process::ParseAgentOptions(process::v1::PROCESS_KIND_TDM, argc, argv);
  if (!options) {
    std::fprintf(stderr, "linegate-tdm: %s\n%s", options.error().c_str(),
                 process::AgentUsage("linegate-tdm").c_str());
    return 2;
  }
  process::ProcessAgent agent(*options);
  media::tdm::TdmService service;
  agent.OnConfig([&](const config::v1::Config& config) { return service.Configure(config); });
  agent.SetDetailFiller([&](process::v1::Heartbeat& heartbeat) { service.FillDetail(heartbeat); });
  return agent.Run();
}
