#pragma once
// What every supervised process (signaling, media, tdm) shares: command-line options,
// the link to control, the announce-and-fetch-configuration handshake, heartbeats
// with a process-specific status detail, run-time log level, and orderly exit on
// SIGTERM/SIGINT. A process's own logic plugs in through OnConfig and the
// heartbeat detail.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "common/bus/client.h"
#include "common/bus/reactor.h"
#include "common/log.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::process {

struct AgentOptions {
  v1::ProcessKind kind = v1::PROCESS_KIND_UNSPECIFIED;
  std::string name;  // bus identity: "signaling", "media-1", "tdm"
  int shard = -1;    // media shard; -1 for unsharded processes
  std::string control_endpoint;
  std::string events_endpoint;
  log::Level log_level = log::Level::kInfo;
  Duration heartbeat_interval = std::chrono::milliseconds(500);
  int heartbeat_miss_limit = 3;
  // Started by linegate-control: exit when control (the parent) dies.
  bool supervised = false;
};

// Parses the common options. Exits are the caller's: an error names the option.
//   --control EP --events EP --name NAME --shard N --log-level LEVEL
//   --heartbeat-ms N --miss-limit N --supervised
// Endpoints default to $LINEGATE_CONTROL / $LINEGATE_EVENTS, then to the ipc sockets
// under /run/linegate.
Result<AgentOptions> ParseAgentOptions(v1::ProcessKind kind, int argc, char** argv);
std::string AgentUsage(std::string_view program);

std::string_view KindName(v1::ProcessKind kind);

class ProcessAgent {
 public:
  // Called with the configuration each time control (re)sends it. A failed Status
  // stops the process with exit code 1: it cannot run with what control gave it.
  using ConfigHandler = std::function<Status(const config::v1::Config&)>;
  // Fills the process-specific part of each heartbeat.
  using DetailFiller = std::function<void(v1::Heartbeat&)>;

  explicit ProcessAgent(AgentOptions options);
  ~ProcessAgent();

  void OnConfig(ConfigHandler handler) { on_config_ = std::move(handler); }
  void SetDetailFiller(DetailFiller filler) { fill_detail_ = std::move(filler); }

  bus::Reactor& reactor() { return reactor_; }
  bus::Client& client() { return *client_; }
  const AgentOptions& options() const { return options_; }
  const std::optional<config::v1::Config>& config() const { return config_; }

  // Runs until SIGTERM/SIGINT (exit code 0), a fatal configuration error (1), or the
  // death of the supervising parent (0). Signals are read through a signalfd.
  int Run();

 private:
  void SendHello();
  void OnSignal();
  v1::Heartbeat MakeHeartbeat();

  AgentOptions options_;
  zmq::context_t context_;
  bus::Reactor reactor_;
  std::unique_ptr<bus::Client> client_;
  ConfigHandler on_config_;
  DetailFiller fill_detail_;
  std::optional<config::v1::Config> config_;
  int signal_fd_ = -1;
  int exit_code_ = 0;
  int parent_pid_ = 0;
  int64_t started_unix_ms_ = 0;
  bool hello_in_flight_ = false;
};

}  // namespace linegate::process
