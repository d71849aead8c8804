#include "control/control_service.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/bus/envelope.h"
#include "common/log.h"
#include "control/calls/call_config.h"
#include "linegate/signaling/v1/call.pb.h"
#include "linegate/signaling/v1/registration.pb.h"

namespace linegate::control {

std::vector<ProcessSpec> PlanProcesses(const config::v1::Config& config, const std::string& bin_dir) {
  const config::v1::Bus& bus = config.bus();
  auto common_args = [&](std::vector<std::string> argv) {
    for (const char* s :
         {"--control", bus.control_endpoint().c_str(), "--events", bus.events_endpoint().c_str()}) {
      argv.emplace_back(s);
    }
    argv.insert(argv.end(),
                {"--heartbeat-ms", std::to_string(bus.heartbeat_interval_ms()), "--miss-limit",
                 std::to_string(bus.heartbeat_miss_limit()), "--log-level",
                 std::string(log::LevelName(log::FromProto(config.runtime().log_level()))), "--supervised"});
    return argv;
  };
  std::vector<ProcessSpec> specs;
  specs.push_back(ProcessSpec{"signaling", process::v1::PROCESS_KIND_SIGNALING, -1,
                              common_args({bin_dir + "/linegate-signaling", "--name", "signaling"})});
  for (uint32_t shard = 0; shard < config.media().process_count(); ++shard) {
    const std::string name = "media-" + std::to_string(shard);
    specs.push_back(ProcessSpec{
        name, process::v1::PROCESS_KIND_MEDIA, static_cast<int>(shard),
        common_args({bin_dir + "/linegate-media", "--name", name, "--shard", std::to_string(shard)})});
  }
  specs.push_back(ProcessSpec{"tdm", process::v1::PROCESS_KIND_TDM, -1,
                              common_args({bin_dir + "/linegate-tdm", "--name", "tdm"})});
  return specs;
}

ControlService::ControlService(ControlOptions options, ProcessLauncher& launcher, const Clock& clock)
    : options_(std::move(options)),
      context_(1),
      reactor_(clock),
      server_(context_, reactor_,
              bus::ServerOptions{"control", options_.config.bus().control_endpoint(),
                                 options_.config.bus().events_endpoint(),
                                 std::chrono::milliseconds(options_.config.bus().heartbeat_interval_ms()),
                                 static_cast<int>(options_.config.bus().heartbeat_miss_limit())}),
      supervisor_(clock, launcher, PolicyFromConfig(options_.config.supervision())),
      media_router_(options_.config, server_, reactor_),
      call_bus_(options_.config, server_, media_router_),
      started_(clock.Now()) {
  RegisterHandlers();
}

ControlService::~ControlService() {
  if (signal_fd_ >= 0) {
    reactor_.RemoveFd(signal_fd_);
    close(signal_fd_);
  }
}

void ControlService::RegisterHandlers() {
  auto& dispatcher = server_.dispatcher();
  dispatcher.OnRequest<process::v1::HelloRequest>([this](const process::v1::HelloRequest& hello,
                                                         const bus::v1::Envelope& envelope,
                                                         const bus::Replier& replier) {
    log::Info("process said hello", {{"process", envelope.source()}, {"pid", hello.self().pid()}});
    process::v1::HelloReply reply;
    *reply.mutable_config() = options_.config;
    reply.set_events_endpoint(options_.config.bus().events_endpoint());
    reply.set_heartbeat_interval_ms(options_.config.bus().heartbeat_interval_ms());
    reply.set_heartbeat_miss_limit(options_.config.bus().heartbeat_miss_limit());
    replier.Reply(reply);
  });
  // Registration commands belong to signaling: control relays them, so that tools
  // only ever talk to control.
  for (const google::protobuf::Descriptor* type :
       {signaling::v1::RegisterRequest::descriptor(), signaling::v1::UnregisterRequest::descriptor(),
        signaling::v1::RegistrationListRequest::descriptor()}) {
    dispatcher.OnRequest(type->full_name(),
                         [this](const bus::v1::Envelope& request, const bus::Replier& replier) {
                           RelayTo("signaling", request, replier);
                         });
  }
  media_router_.RegisterHandlers(dispatcher);
  RegisterCallHandlers();
  dispatcher.OnRequest<process::v1::StatusRequest>(
      [this](const process::v1::StatusRequest&, const bus::v1::Envelope&, const bus::Replier& replier) {
        replier.Reply(GatewayStatus());
      });
  dispatcher.OnRequest<process::v1::SetLogLevelRequest>([this](const process::v1::SetLogLevelRequest& request,
                                                               const bus::v1::Envelope& envelope,
                                                               const bus::Replier& replier) {
    if (request.level() == config::v1::LOG_LEVEL_UNSPECIFIED) {
      replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, "log level not given");
      return;
    }
    const std::string target = request.target().empty() ? "all" : request.target();
    // Gather the replies of every target before answering the requester.
    struct Gather {
      process::v1::SetLogLevelReply reply;
      size_t waiting = 0;
      std::vector<std::string> failures;
    };
    auto gather = std::make_shared<Gather>();
    auto finish = [gather, replier] {
      if (!gather->failures.empty() && gather->reply.applied_size() == 0) {
        std::string message;
        for (const auto& f : gather->failures) message += (message.empty() ? "" : "; ") + f;
        replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, message);
        return;
      }
      replier.Reply(gather->reply);
    };
    if (target == "all" || target == "control") {
      log::SetLevel(log::FromProto(request.level()));
      log::Info("log level changed",
                {{"level", log::LevelName(log::FromProto(request.level()))}, {"by", envelope.source()}});
      gather->reply.add_applied("control");
    }
    std::vector<std::string> peers;
    if (target == "all") {
      peers = server_.LivePeers();
    } else if (target != "control") {
      peers.push_back(target);
    }
    gather->waiting = peers.size();
    if (peers.empty()) {
      if (gather->reply.applied_size() == 0) {
        replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, "no process named '" + target + "'");
      } else {
        finish();
      }
      return;
    }
    for (const std::string& peer : peers) {
      server_.Request(peer, request, std::chrono::milliseconds(options_.config.bus().request_timeout_ms()),
                      [gather, finish, peer](const bus::v1::Envelope& e) {
                        auto r = bus::Unpack<process::v1::SetLogLevelReply>(e);
                        if (r) {
                          for (const auto& name : r->applied()) gather->reply.add_applied(name);
                        } else {
                          gather->failures.push_back(peer + ": " + r.error());
                        }
                        if (--gather->waiting == 0) finish();
                      });
    }
  });
  server_.OnHeartbeat([this](const std::string&, const process::v1::Heartbeat& heartbeat) {
    supervisor_.OnHeartbeat(heartbeat);
  });
  server_.OnPeerDead([this](const std::string& peer) { supervisor_.OnHeartbeatLost(peer); });
  supervisor_.OnStateChange(
      [this](const process::v1::ProcessStatus& status, process::v1::ProcessState previous) {
        media_router_.OnProcessState(status, previous);
        if (calls_ && status.kind() == process::v1::PROCESS_KIND_SIGNALING &&
            previous == process::v1::PROCESS_STATE_RUNNING && status.state() != previous) {
          calls_->OnSignalingLost();
        }
        process::v1::ProcessStateChanged event;
        *event.mutable_status() = status;
        event.set_previous(previous);
        server_.Publish(event);
      });
}

Status ControlService::StartCalls() {
  auto writer = callcontrol::CdrWriter::Open(
      calls::CdrFromConfig(options_.config.calls().cdr(), options_.config.runtime().runtime_dir()));
  if (writer) {
    call_bus_.set_cdr_writer(std::move(*writer));
  } else {
    // Calls matter more than their records: run on, loudly.
    log::Error("CDRs will not be written", {{"error", writer.error()}});
  }
  calls::CallManagerDeps deps;
  deps.signaling = &call_bus_;
  deps.line = &call_bus_;
  deps.cdr = &call_bus_;
  deps.clock = &reactor_.clock();
  deps.wall_clock = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto manager = calls::CallManager::Create(options_.config, std::move(deps));
  if (!manager) return Error{manager.error()};
  calls_ = std::move(*manager);
  media_router_.OnOperatorLine([this](uint32_t line, bool owned) { calls_->OnOperatorLine(line, owned); });
  // Dialling, no-answer, setup and FXO timers have second resolution at most; 50 ms
  // keeps the inter-digit timer honest without waking the reactor often.
  reactor_.AddPeriodic(std::chrono::milliseconds(50), [this] { calls_->Poll(); });
  return Status::Ok();
}

void ControlService::RegisterCallHandlers() {
  auto& dispatcher = server_.dispatcher();
  // Events the processes publish reach control's own dispatcher before control
  // republishes them.
  auto on_event = [&dispatcher, this]<typename Event>(auto handler) {
    dispatcher.OnEvent(Event::descriptor()->full_name(), [this, handler](const bus::v1::Envelope& envelope) {
      if (!calls_) return;
      Event event;
      if (!envelope.payload().UnpackTo(&event)) {
        log::Warn("undecodable event",
                  {{"type", Event::descriptor()->full_name()}, {"from", envelope.source()}});
        return;
      }
      (calls_.get()->*handler)(event);
    });
  };
  on_event.operator()<tdm::v1::LineEvent>(&calls::CallManager::OnLineEvent);
  on_event.operator()<media::v1::DtmfDetected>(&calls::CallManager::OnDtmf);
  on_event.operator()<media::v1::RtpTimeout>(&calls::CallManager::OnRtpTimeout);
  on_event.operator()<media::v1::CallerIdReceived>(&calls::CallManager::OnCallerIdReceived);
  on_event.operator()<media::v1::DigitsSent>(&calls::CallManager::OnDigitsSent);
  on_event.operator()<media::v1::BusyToneDetected>(&calls::CallManager::OnBusyToneDetected);
  on_event.operator()<signaling::v1::CallEvent>(&calls::CallManager::OnCallEvent);

  dispatcher.OnRequest<signaling::v1::CallListRequest>(
      [this](const signaling::v1::CallListRequest&, const bus::v1::Envelope&, const bus::Replier& replier) {
        if (!calls_) return replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "call control not started");
        replier.Reply(calls_->ListCalls());
      });
  dispatcher.OnRequest<signaling::v1::MakeCallRequest>([this](const signaling::v1::MakeCallRequest& request,
                                                              const bus::v1::Envelope&,
                                                              const bus::Replier& replier) {
    if (!calls_) return replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "call control not started");
    auto ref = calls_->MakeCall(request.line(), request.number());
    if (!ref) return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, ref.error());
    signaling::v1::MakeCallReply reply;
    reply.set_call_ref(*ref);
    replier.Reply(reply);
  });
  dispatcher.OnRequest<signaling::v1::HangupRequest>([this](const signaling::v1::HangupRequest& request,
                                                            const bus::v1::Envelope&,
                                                            const bus::Replier& replier) {
    if (!calls_) return replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "call control not started");
    if (Status ended = calls_->Hangup(request.call_ref(), request.line()); !ended) {
      return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, ended.error());
    }
    replier.Reply(signaling::v1::HangupReply());
  });
}

void ControlService::RelayTo(const std::string& peer, const bus::v1::Envelope& request,
                             const bus::Replier& replier) {
  std::unique_ptr<google::protobuf::Message> payload;
  const std::string type(bus::PayloadType(request));
  const auto* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) {
    replier.Fail(bus::v1::ERROR_CODE_UNKNOWN_TYPE, "unknown payload type '" + type + "'");
    return;
  }
  payload.reset(google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!request.payload().UnpackTo(payload.get())) {
    replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, "payload does not decode as " + type);
    return;
  }
  server_.Request(peer, *payload, std::chrono::milliseconds(options_.config.bus().request_timeout_ms()),
                  [replier](const bus::v1::Envelope& reply) {
                    if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
                      replier.Fail(reply.error().code(), reply.error().message());
                      return;
                    }
                    replier.Forward(reply.payload());
                  });
}

process::v1::StatusReply ControlService::GatewayStatus() const {
  process::v1::StatusReply reply;
  reply.set_gateway(options_.config.gateway().name());
  reply.set_uptime_ms(ToMillis(reactor_.clock().Now() - started_));
  process::v1::ProcessStatus* self = reply.add_processes();
  self->set_name("control");
  self->set_kind(process::v1::PROCESS_KIND_CONTROL);
  self->set_pid(static_cast<uint32_t>(getpid()));
  self->set_state(shutting_down_ ? process::v1::PROCESS_STATE_STOPPING : process::v1::PROCESS_STATE_RUNNING);
  self->set_uptime_ms(reply.uptime_ms());
  self->set_last_heartbeat_age_ms(0);
  for (auto& status : supervisor_.Snapshot()) *reply.add_processes() = std::move(status);
  reply.set_degraded(supervisor_.degraded() || shutting_down_);
  return reply;
}

Status ControlService::Start() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return Error{std::string("signalfd: ") + strerror(errno)};
  reactor_.AddFd(signal_fd_, [this] { OnSignal(); });

  if (Status calls = StartCalls(); !calls.ok()) return calls;
  Status bound = server_.Bind();
  if (!bound.ok()) return bound;
  log::Info("bus bound", {{"control", options_.config.bus().control_endpoint()},
                          {"events", options_.config.bus().events_endpoint()}});
  if (options_.supervise) {
    for (ProcessSpec& spec : PlanProcesses(options_.config, options_.bin_dir))
      supervisor_.Add(std::move(spec));
    supervisor_.StartAll();
  }
  reactor_.AddPeriodic(std::chrono::milliseconds(25), [this] { supervisor_.Tick(); });
  return Status::Ok();
}

void ControlService::ReapChildren() {
  int wait_status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &wait_status, WNOHANG)) > 0)
    supervisor_.OnExit(static_cast<int>(pid), wait_status);
  if (shutting_down_ && supervisor_.AllStopped()) reactor_.Stop();
}

void ControlService::BeginShutdown(const char* why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  log::Info("shutting down", {{"reason", why}});
  supervisor_.StopAll();
  reactor_.AddTimer(supervisor_.shutdown_grace(), [this] { supervisor_.KillRemaining(); });
  if (supervisor_.AllStopped()) reactor_.Stop();
}

void ControlService::OnSignal() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) continue;  // reaped below, whatever woke us
    BeginShutdown(strsignal(sig));
  }
  ReapChildren();
}

int ControlService::Run() {
  reactor_.Run();
  log::Info("stopped");
  return 0;
}

}  // namespace linegate::control
