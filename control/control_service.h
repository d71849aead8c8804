#pragma once
// linegate-control's service: the bus server, the supervisor of the other processes,
// and the management requests (status, log level). One reactor thread runs it all.

#include <memory>
#include <string>
#include <zmq.hpp>

#include "common/bus/reactor.h"
#include "common/bus/server.h"
#include "control/call_bus.h"
#include "control/calls/call_manager.h"
#include "control/media_router.h"
#include "control/supervisor.h"
#include "linegate/config/v1/config.pb.h"

namespace linegate::control {

struct ControlOptions {
  config::v1::Config config;
  std::string config_path;
  std::string bin_dir;    // where linegate-signaling, -media and -tdm live
  bool supervise = true;  // false: only serve processes that attach on their own
};

// The processes the configuration asks for: signaling, one media per shard, tdm.
std::vector<ProcessSpec> PlanProcesses(const config::v1::Config& config, const std::string& bin_dir);

class ControlService {
 public:
  ControlService(ControlOptions options, ProcessLauncher& launcher,
                 const Clock& clock = SteadyClock::Instance());
  ~ControlService();

  // Binds the bus and starts the supervised processes.
  Status Start();
  // Runs until SIGTERM/SIGINT and the orderly shutdown that follows. Returns the
  // process exit code.
  int Run();

  bus::Reactor& reactor() { return reactor_; }
  Supervisor& supervisor() { return supervisor_; }
  process::v1::StatusReply GatewayStatus() const;

 private:
  void RegisterHandlers();
  // Call control: the CallManager on the bus (events in, operator requests, timers).
  void RegisterCallHandlers();
  Status StartCalls();
  // Sends the request on to a process and its reply (or error) back to the requester.
  void RelayTo(const std::string& peer, const bus::v1::Envelope& request, const bus::Replier& replier);
  void OnSignal();
  void ReapChildren();
  void BeginShutdown(const char* why);

  ControlOptions options_;
  zmq::context_t context_;
  bus::Reactor reactor_;
  bus::Server server_;
  Supervisor supervisor_;
  MediaRouter media_router_;
  CallBus call_bus_;
  std::unique_ptr<calls::CallManager> calls_;  // set by Start()
  TimePoint started_;
  int signal_fd_ = -1;
  bool shutting_down_ = false;
};

}  // namespace linegate::control
