// linegate-tdm: the interface-card driver process. Its reactor thread clocks the cards
// from a timerfd (one Tick per frame_ms, catching up if it was late), serves port
// commands and simulated-line scripts from control, and publishes line events.
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>

#include "common/log.h"
#include "common/process/agent.h"
#include "common/process/realtime.h"
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
  int timer_fd = -1;
  uint64_t late_ticks = 0;
  service.SetEventSink([&](const tdm::v1::LineEvent& event) { agent.client().Publish(event); });
  agent.OnConfig([&](const config::v1::Config& config) -> Status {
    if (Status realtime = process::ApplyRealtimePriority(config.runtime().realtime_priority()); !realtime) {
      log::Warn("ordinary scheduling", {{"why", realtime.error()}});
    }
    if (Status configured = service.Configure(config); !configured) return configured;
    if (timer_fd >= 0) return Status::Ok();
    timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd < 0) return Error{"timerfd_create failed"};
    itimerspec period{};
    period.it_interval.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(service.timer_period()).count());
    period.it_value = period.it_interval;
    ::timerfd_settime(timer_fd, 0, &period, nullptr);
    agent.reactor().AddFd(timer_fd, [&] {
      uint64_t expirations = 0;
      if (::read(timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations)) return;
      if (expirations > 1) late_ticks += expirations - 1;
      service.OnTimer(expirations);
    });
    agent.reactor().AddPeriodic(std::chrono::milliseconds(200), [&] { service.Flush(); });
    return Status::Ok();
  });
  auto& dispatcher = agent.client().dispatcher();
  dispatcher.OnRequest<tdm::v1::LineScriptRequest>(
      [&](const tdm::v1::LineScriptRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        replier.Reply(service.RunScript(request));
      });
  dispatcher.OnRequest<tdm::v1::PortCommandRequest>(
      [&](const tdm::v1::PortCommandRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        auto reply = service.ApplyPortCommand(request);
        if (!reply) {
          replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT, reply.error());
          return;
        }
        replier.Reply(*reply);
      });
  agent.SetDetailFiller([&](process::v1::Heartbeat& heartbeat) { service.FillDetail(heartbeat); });
  const int code = agent.Run();
  if (late_ticks > 0) log::Warn("clock was late", {{"ticks_caught_up", late_ticks}});
  if (timer_fd >= 0) ::close(timer_fd);
  return code;
}
