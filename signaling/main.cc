// linegate-signaling: the SIP stack process.
#include <cstdio>

#include "common/process/agent.h"
#include "signaling/signaling_service.h"

int main(int argc, char** argv) {
  using namespace linegate;
  auto options = process::ParseAgentOptions(process::v1::PROCESS_KIND_SIGNALING, argc, argv);
  if (!options) {
    std::fprintf(stderr, "linegate-signaling: %s\n%s", options.error().c_str(),
                 process::AgentUsage("linegate-signaling").c_str());
    return 2;
  }
  process::ProcessAgent agent(*options);
  signaling::SignalingService service(agent);
  agent.OnConfig([&](const config::v1::Config& config) { return service.Configure(config); });
  agent.SetDetailFiller([&](process::v1::Heartbeat& heartbeat) { service.FillDetail(heartbeat); });
  return agent.Run();
}
