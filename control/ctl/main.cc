// linegatectl: the operator's command line, talking to linegate-control over the bus.
//
// Exit codes: 0 ok (status: healthy), 1 degraded, 2 usage, 3 control unreachable or
// request failed.
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/bus/client.h"
#include "common/bus/envelope.h"
#include "common/config/config_loader.h"
#include "common/log.h"
#include "control/ctl/media_commands.h"
#include "control/ctl/request.h"
#include "control/ctl/status_format.h"
#include "linegate/signaling/v1/call.pb.h"
#include "linegate/signaling/v1/registration.pb.h"

namespace {

using namespace linegate;
using control::ctl::Ask;
using control::ctl::ToJson;

constexpr const char* kUsage =
    "usage: linegatectl [-c FILE | --control EP] [--timeout-ms N] COMMAND\n"
    "commands:\n"
    "  status [--json]            processes, states, restarts, heartbeats; exit 1 when degraded\n"
    "  log-level LEVEL [TARGET]   set the log level (trace..critical) of TARGET (a process\n"
    "                             name, 'control', or 'all', the default)\n"
    "  registrations [--json]     registration state of the gateway, endpoints and accounts\n"
    "  register [ID|all]          register one entity (e.g. endpoint-3, account-a) or all\n"
    "  unregister [ID|all]        un-register (Expires: 0) one entity or all\n"
    "  events [--count N] [--seconds S] [TYPE...]\n"
    "                             print the gateway's events (line events, DTMF, process\n"
    "                             states, registrations) as JSON lines, optionally only TYPEs\n"
    "                             (e.g. linegate.tdm.v1.LineEvent); until N events or S seconds\n"
    "  calls [--json]             calls in progress: ref, line, direction, state, numbers,\n"
    "                             duration, codec, remote media\n"
    "  call LINE NUMBER           place a call from a (sim) FXS line as if its phone dialled\n"
    "                             NUMBER; prints the call_ref\n"
    "  hangup CALL_REF|LINE       end a call (by its ref, or the call of a line)\n"
    "%s"
    "control's endpoint: --control, else the bus.control_endpoint of -c FILE, else\n"
    "$LINEGATE_CONTROL, else ipc:///run/linegate/control.sock\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "linegatectl: %s\n", why.c_str());
  std::fprintf(stderr, kUsage, control::ctl::kMediaUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint;
  std::string config_path;
  int timeout_ms = 3000;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--control" && i + 1 < argc) {
      endpoint = argv[++i];
    } else if (arg == "--timeout-ms" && i + 1 < argc) {
      timeout_ms = std::atoi(argv[++i]);
      if (timeout_ms <= 0) return Usage("--timeout-ms must be a positive number");
    } else if (arg == "-h" || arg == "--help") {
      std::printf(kUsage, control::ctl::kMediaUsage);
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage("unknown option '" + std::string(arg) + "'");
    } else {
      break;
    }
  }
  if (i >= argc) return Usage("no command");
  const std::string command = argv[i++];

  if (endpoint.empty() && !config_path.empty()) {
    auto config = config::LoadFile(config_path);
    if (!config) {
      std::fprintf(stderr, "linegatectl: configuration error: %s\n", config.error().c_str());
      return 2;
    }
    endpoint = config->bus().control_endpoint();
  }
  if (endpoint.empty()) {
    const char* env = std::getenv("LINEGATE_CONTROL");
    endpoint = env ? env : "ipc:///run/linegate/control.sock";
  }

  log::Init("linegatectl", -1, log::Level::kWarn);
  zmq::context_t context(1);
  bus::Reactor reactor;
  bus::Client client(
      context, reactor,
      bus::ClientOptions{"linegatectl-" + std::to_string(getpid()), endpoint, "", Duration::zero(), 3});
  const auto timeout = std::chrono::milliseconds(timeout_ms);

  if (command == "events") {
    long count = -1;
    double seconds = -1;
    std::vector<std::string> types;
    for (; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if ((arg == "--count" || arg == "--seconds") && i + 1 < argc) {
        if (arg == "--count") {
          count = std::atol(argv[++i]);
        } else {
          seconds = std::atof(argv[++i]);
        }
      } else if (arg.rfind("--", 0) == 0) {
        return Usage("events: unknown option '" + std::string(arg) + "'");
      } else {
        types.emplace_back(arg);
      }
    }
    std::string events_endpoint;
    if (!config_path.empty()) {
      if (auto config = config::LoadFile(config_path)) events_endpoint = config->bus().events_endpoint();
    }
    if (events_endpoint.empty()) {
      const char* env = std::getenv("LINEGATE_EVENTS");
      events_endpoint = env ? env : "ipc:///run/linegate/events.sock";
    }
    bus::Client watcher(context, reactor,
                        bus::ClientOptions{"linegatectl-events-" + std::to_string(getpid()), endpoint,
                                           events_endpoint, Duration::zero(), 3});
    long printed = 0;
    auto print = [&](const bus::v1::Envelope& envelope) {
      std::string body = ToJson(envelope.payload());
      // One event per line.
      std::string line;
      for (char c : body) {
        if (c != '\n') line += c;
      }
      std::printf("{\"source\": \"%s\", \"event\": %s}\n", envelope.source().c_str(), line.c_str());
      std::fflush(stdout);
      if (count > 0 && ++printed >= count) reactor.Stop();
    };
    if (types.empty()) {
      watcher.Subscribe("");
      watcher.dispatcher().OnAnyEvent(print);
    } else {
      for (const auto& type : types) {
        watcher.Subscribe(type);
        watcher.dispatcher().OnEvent(type, print);
      }
    }
    if (seconds > 0) {
      reactor.AddTimer(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)),
                       [&] { reactor.Stop(); });
    }
    reactor.Run();
    return 0;
  }

  if (command == "status") {
    bool json = false;
    for (; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--json") {
        json = true;
      } else {
        return Usage("status: unknown argument '" + std::string(argv[i]) + "'");
      }
    }
    auto status = Ask<process::v1::StatusReply>(client, process::v1::StatusRequest(), timeout);
    if (!status) return 3;
    if (json) {
      std::fputs(ToJson(*status).c_str(), stdout);
    } else {
      std::fputs(control::ctl::FormatStatus(*status).c_str(), stdout);
    }
    return status->degraded() ? 1 : 0;
  }

  if (command == "log-level") {
    if (i >= argc) return Usage("log-level: LEVEL is required");
    auto level = log::ParseLevel(argv[i++]);
    if (!level) return Usage("log-level: unknown level (trace, debug, info, warn, error, critical)");
    process::v1::SetLogLevelRequest request;
    request.set_level(log::ToProto(*level));
    request.set_target(i < argc ? argv[i++] : "all");
    if (i < argc) return Usage("log-level: too many arguments");
    auto applied = Ask<process::v1::SetLogLevelReply>(client, request, timeout);
    if (!applied) return 3;
    std::printf("log level %s applied to:", std::string(log::LevelName(*level)).c_str());
    for (const auto& name : applied->applied()) std::printf(" %s", name.c_str());
    std::printf("\n");
    return 0;
  }
  if (command == "registrations") {
    bool json = i < argc && std::string_view(argv[i]) == "--json";
    if (json) ++i;
    if (i < argc) return Usage("registrations: unknown argument '" + std::string(argv[i]) + "'");
    auto list =
        Ask<signaling::v1::RegistrationListReply>(client, signaling::v1::RegistrationListRequest(), timeout);
    if (!list) return 3;
    if (json) {
      std::fputs(ToJson(*list).c_str(), stdout);
    } else {
      std::fputs(control::ctl::FormatRegistrations(*list).c_str(), stdout);
    }
    return 0;
  }

  if (command == "register" || command == "unregister") {
    const std::string target = i < argc ? argv[i++] : "all";
    if (i < argc) return Usage(command + ": too many arguments");
    std::optional<signaling::v1::RegistrationCommandReply> reply;
    if (command == "register") {
      signaling::v1::RegisterRequest request;
      request.set_target(target);
      reply = Ask<signaling::v1::RegistrationCommandReply>(client, request, timeout);
    } else {
      signaling::v1::UnregisterRequest request;
      request.set_target(target);
      reply = Ask<signaling::v1::RegistrationCommandReply>(client, request, timeout);
    }
    if (!reply) return 3;
    std::printf("%s:", command.c_str());
    for (const auto& id : reply->affected()) std::printf(" %s", id.c_str());
    std::printf("\n");
    return 0;
  }
  if (command == "calls") {
    bool json = i < argc && std::string_view(argv[i]) == "--json";
    if (json) ++i;
    if (i < argc) return Usage("calls: unknown argument '" + std::string(argv[i]) + "'");
    auto list = Ask<signaling::v1::CallListReply>(client, signaling::v1::CallListRequest(), timeout);
    if (!list) return 3;
    std::fputs(json ? ToJson(*list).c_str() : control::ctl::FormatCalls(*list).c_str(), stdout);
    return 0;
  }
  if (command == "call") {
    if (argc - i != 2) return Usage("call: LINE NUMBER are required");
    char* end = nullptr;
    const unsigned long line = std::strtoul(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || line == 0 || line > 65535)
      return Usage("call: LINE must be a line number");
    signaling::v1::MakeCallRequest request;
    request.set_line(static_cast<uint32_t>(line));
    request.set_number(argv[i + 1]);
    auto reply = Ask<signaling::v1::MakeCallReply>(client, request, timeout);
    if (!reply) return 3;
    std::printf("%s\n", reply->call_ref().c_str());
    return 0;
  }
  if (command == "hangup") {
    if (argc - i != 1) return Usage("hangup: CALL_REF or LINE is required");
    const std::string target = argv[i];
    signaling::v1::HangupRequest request;
    // A bare number is a line; call refs are "c-<n>" / "s-<n>".
    if (!target.empty() && target.find_first_not_of("0123456789") == std::string::npos) {
      request.set_line(static_cast<uint32_t>(std::strtoul(target.c_str(), nullptr, 10)));
    } else {
      request.set_call_ref(target);
    }
    if (!Ask<signaling::v1::HangupReply>(client, request, timeout)) return 3;
    std::printf("ok\n");
    return 0;
  }
  std::vector<std::string> args(argv + i, argv + argc);
  if (auto code = control::ctl::RunMediaCommand(command, args, client, timeout)) return *code;
  return Usage("unknown command '" + command + "'");
}
