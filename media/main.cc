// linegate-media: one process per shard of channels.
#include <sys/resource.h>

#include <cstdio>

#include "common/log.h"
#include "common/process/agent.h"
#include "common/process/realtime.h"
#include "media/media_service.h"

int main(int argc, char** argv) {
  using namespace linegate;
  auto options = process::ParseAgentOptions(process::v1::PROCESS_KIND_MEDIA, argc, argv);
  if (!options) {
    std::fprintf(stderr, "linegate-media: %s\n%s", options.error().c_str(),
                 process::AgentUsage("linegate-media").c_str());
    return 2;
  }
  // Two sockets per session: raise the descriptor limit to what the host allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  process::ProcessAgent agent(*options);
  media::MediaService service(options->shard, agent.reactor(),
                              [&](const google::protobuf::Message& event) { agent.client().Publish(event); });
  service.RegisterHandlers(agent.client().dispatcher());
  agent.OnConfig([&](const config::v1::Config& config) {
    // Real-time scheduling is a wish, not a condition: without the privilege the
    // process runs, and says so once.
    if (Status realtime = process::ApplyRealtimePriority(config.runtime().realtime_priority()); !realtime) {
      log::Warn("ordinary scheduling", {{"why", realtime.error()}});
    }
    return service.Configure(config);
  });
  agent.SetDetailFiller([&](process::v1::Heartbeat& heartbeat) { service.FillDetail(heartbeat); });
  return agent.Run();
}
