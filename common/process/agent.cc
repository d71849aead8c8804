#include "common/process/agent.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/bus/envelope.h"

namespace linegate::process {
namespace {

Result<int> ParseInt(std::string_view option, std::string_view text, int min, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Error{std::string(option) + ": expected an integer in [" + std::to_string(min) + ", " +
                 std::to_string(max) + "], got '" + std::string(text) + "'"};
  }
  return value;
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view KindName(v1::ProcessKind kind) {
  switch (kind) {
    case v1::PROCESS_KIND_CONTROL:
      return "control";
    case v1::PROCESS_KIND_SIGNALING:
      return "signaling";
    case v1::PROCESS_KIND_MEDIA:
      return "media";
    case v1::PROCESS_KIND_TDM:
      return "tdm";
    default:
      return "unknown";
  }
}

std::string AgentUsage(std::string_view program) {
  return "usage: " + std::string(program) +
         " [--control EP] [--events EP] [--name NAME] [--shard N] [--log-level LEVEL]\n"
         "       [--heartbeat-ms N] [--miss-limit N] [--supervised]\n"
         "Connects to linegate-control (default $LINEGATE_CONTROL or ipc:///run/linegate/control.sock)\n"
         "and runs with the configuration control sends.\n";
}

Result<AgentOptions> ParseAgentOptions(v1::ProcessKind kind, int argc, char** argv) {
  AgentOptions options;
  options.kind = kind;
  const char* env_control = std::getenv("LINEGATE_CONTROL");
  const char* env_events = std::getenv("LINEGATE_EVENTS");
  options.control_endpoint = env_control ? env_control : "ipc:///run/linegate/control.sock";
  options.events_endpoint = env_events ? env_events : "ipc:///run/linegate/events.sock";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> Result<std::string_view> {
      if (i + 1 >= argc) return Error{std::string(arg) + ": missing value"};
      return std::string_view(argv[++i]);
    };
    if (arg == "--supervised") {
      options.supervised = true;
      continue;
    }
    auto v = value();
    if (!v) return Error{v.error()};
    if (arg == "--control") {
      options.control_endpoint = *v;
    } else if (arg == "--events") {
      options.events_endpoint = *v;
    } else if (arg == "--name") {
      options.name = *v;
    } else if (arg == "--shard") {
      auto n = ParseInt(arg, *v, 0, 1023);
      if (!n) return Error{n.error()};
      options.shard = *n;
    } else if (arg == "--log-level") {
      auto level = log::ParseLevel(*v);
      if (!level) return Error{"--log-level: unknown level '" + std::string(*v) + "'"};
      options.log_level = *level;
    } else if (arg == "--heartbeat-ms") {
      auto n = ParseInt(arg, *v, 10, 60000);
      if (!n) return Error{n.error()};
      options.heartbeat_interval = std::chrono::milliseconds(*n);
    } else if (arg == "--miss-limit") {
      auto n = ParseInt(arg, *v, 2, 100);
      if (!n) return Error{n.error()};
      options.heartbeat_miss_limit = *n;
    } else {
      return Error{"unknown option '" + std::string(arg) + "'"};
    }
  }
  if (kind == v1::PROCESS_KIND_MEDIA && options.shard < 0)
    return Error{"--shard is required for media processes"};
  if (options.name.empty()) {
    options.name = std::string(KindName(kind));
    if (options.shard >= 0) options.name += "-" + std::to_string(options.shard);
  }
  return options;
}

ProcessAgent::ProcessAgent(AgentOptions options) : options_(std::move(options)), context_(1) {
  log::Init(options_.name, options_.shard, options_.log_level);
  client_ = std::make_unique<bus::Client>(
      context_, reactor_,
      bus::ClientOptions{options_.name, options_.control_endpoint, options_.events_endpoint,
                         options_.heartbeat_interval, options_.heartbeat_miss_limit});
  client_->SetHeartbeatSource([this] { return MakeHeartbeat(); });
  client_->OnControlUp([this] { SendHello(); });
  client_->OnControlDown([this] {
    log::Warn("lost control; waiting for it to come back", {{"endpoint", options_.control_endpoint}});
  });
  client_->dispatcher().OnRequest<v1::SetLogLevelRequest>([this](const v1::SetLogLevelRequest& request,
                                                                 const bus::v1::Envelope& envelope,
                                                                 const bus::Replier& replier) {
    if (request.level() == config::v1::LOG_LEVEL_UNSPECIFIED) {
      replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, "log level not given");
      return;
    }
    log::SetLevel(log::FromProto(request.level()));
    log::Info("log level changed",
              {{"level", log::LevelName(log::FromProto(request.level()))}, {"by", envelope.source()}});
    v1::SetLogLevelReply reply;
    reply.add_applied(options_.name);
    replier.Reply(reply);
  });
  started_unix_ms_ = UnixMillis();
  parent_pid_ = static_cast<int>(getppid());
}

ProcessAgent::~ProcessAgent() {
  if (signal_fd_ >= 0) {
    reactor_.RemoveFd(signal_fd_);
    close(signal_fd_);
  }
}

v1::Heartbeat ProcessAgent::MakeHeartbeat() {
  v1::Heartbeat heartbeat;
  heartbeat.set_name(options_.name);
  heartbeat.set_kind(options_.kind);
  heartbeat.set_shard(options_.shard < 0 ? 0 : static_cast<uint32_t>(options_.shard));
  heartbeat.set_pid(static_cast<uint32_t>(getpid()));
  heartbeat.set_started_unix_ms(started_unix_ms_);
  heartbeat.set_ready(config_.has_value());
  if (fill_detail_ && config_) fill_detail_(heartbeat);
  return heartbeat;
}

void ProcessAgent::SendHello() {
  if (hello_in_flight_) return;
  hello_in_flight_ = true;
  v1::HelloRequest hello;
  *hello.mutable_self() = MakeHeartbeat();
  client_->Request(hello, std::chrono::seconds(5), [this](const bus::v1::Envelope& envelope) {
    hello_in_flight_ = false;
    auto reply = bus::Unpack<v1::HelloReply>(envelope);
    if (!reply) {
      // Control will be asked again on its next comeback; while it is up, retry soon.
      log::Warn("hello to control failed", {{"error", reply.error()}});
      if (client_->control_up()) reactor_.AddTimer(std::chrono::milliseconds(200), [this] { SendHello(); });
      return;
    }
    const bool first = !config_.has_value();
    if (on_config_) {
      Status applied = on_config_(reply->config());
      if (!applied.ok()) {
        log::Critical("cannot run with the configuration from control", {{"error", applied.error()}});
        exit_code_ = 1;
        reactor_.Stop();
        return;
      }
    }
    config_ = reply->config();
    log::Info(first ? "configured by control" : "re-synchronised with control",
              {{"gateway", config_->gateway().name()}});
    client_->SendHeartbeat();  // report readiness now, not at the next interval
  });
}

void ProcessAgent::OnSignal() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    log::Info("stopping on signal", {{"signal", strsignal(static_cast<int>(info.ssi_signo))}});
    exit_code_ = 0;
    reactor_.Stop();
  }
}

int ProcessAgent::Run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    log::Critical("signalfd failed", {{"error", strerror(errno)}});
    return 1;
  }
  reactor_.AddFd(signal_fd_, [this] { OnSignal(); });
  if (options_.supervised) {
    // PR_SET_PDEATHSIG (set by control between fork and exec) is the main guard;
    // this also covers a parent that died before the child could arm it.
    reactor_.AddPeriodic(std::chrono::milliseconds(200), [this] {
      if (static_cast<int>(getppid()) != parent_pid_) {
        log::Warn("supervising control is gone; exiting");
        reactor_.Stop();
      }
    });
  }
  log::Info("started", {{"pid", static_cast<int>(getpid())},
                        {"control", options_.control_endpoint},
                        {"supervised", options_.supervised ? "yes" : "no"}});
  reactor_.Run();
  log::Info("stopped", {{"exit_code", exit_code_}});
  return exit_code_;
}

}  // namespace linegate::process
