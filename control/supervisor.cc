#include "control/supervisor.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>

#include "common/log.h"

namespace linegate::control {

using process::v1::ProcessState;
using State = process::v1::ProcessState;

namespace {

struct Transition {
  State from;
  SupervisorEvent event;
  State to;
};

// Every legal (state, event) pair. Anything else is logged and counted.
constexpr std::array kTransitions = {
    Transition{process::v1::PROCESS_STATE_STOPPED, SupervisorEvent::kSpawned,
               process::v1::PROCESS_STATE_STARTING},
    Transition{process::v1::PROCESS_STATE_STOPPED, SupervisorEvent::kSpawnFailed,
               process::v1::PROCESS_STATE_BACKOFF},
    Transition{process::v1::PROCESS_STATE_STOPPED, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPED},
    Transition{process::v1::PROCESS_STATE_BACKOFF, SupervisorEvent::kSpawned,
               process::v1::PROCESS_STATE_STARTING},
    Transition{process::v1::PROCESS_STATE_BACKOFF, SupervisorEvent::kSpawnFailed,
               process::v1::PROCESS_STATE_BACKOFF},
    Transition{process::v1::PROCESS_STATE_BACKOFF, SupervisorEvent::kCrashLoop,
               process::v1::PROCESS_STATE_FAILED},
    Transition{process::v1::PROCESS_STATE_BACKOFF, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPED},
    Transition{process::v1::PROCESS_STATE_STARTING, SupervisorEvent::kHeartbeat,
               process::v1::PROCESS_STATE_RUNNING},
    Transition{process::v1::PROCESS_STATE_STARTING, SupervisorEvent::kStartTimeout,
               process::v1::PROCESS_STATE_UNRESPONSIVE},
    Transition{process::v1::PROCESS_STATE_STARTING, SupervisorEvent::kExited,
               process::v1::PROCESS_STATE_BACKOFF},
    Transition{process::v1::PROCESS_STATE_STARTING, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPING},
    Transition{process::v1::PROCESS_STATE_RUNNING, SupervisorEvent::kHeartbeat,
               process::v1::PROCESS_STATE_RUNNING},
    Transition{process::v1::PROCESS_STATE_RUNNING, SupervisorEvent::kHeartbeatLost,
               process::v1::PROCESS_STATE_UNRESPONSIVE},
    Transition{process::v1::PROCESS_STATE_RUNNING, SupervisorEvent::kExited,
               process::v1::PROCESS_STATE_BACKOFF},
    Transition{process::v1::PROCESS_STATE_RUNNING, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPING},
    Transition{process::v1::PROCESS_STATE_UNRESPONSIVE, SupervisorEvent::kHeartbeat,
               process::v1::PROCESS_STATE_RUNNING},
    Transition{process::v1::PROCESS_STATE_UNRESPONSIVE, SupervisorEvent::kExited,
               process::v1::PROCESS_STATE_BACKOFF},
    Transition{process::v1::PROCESS_STATE_UNRESPONSIVE, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPING},
    Transition{process::v1::PROCESS_STATE_FAILED, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_FAILED},
    Transition{process::v1::PROCESS_STATE_STOPPING, SupervisorEvent::kExited,
               process::v1::PROCESS_STATE_STOPPED},
    Transition{process::v1::PROCESS_STATE_STOPPING, SupervisorEvent::kHeartbeat,
               process::v1::PROCESS_STATE_STOPPING},
    Transition{process::v1::PROCESS_STATE_STOPPING, SupervisorEvent::kStopRequested,
               process::v1::PROCESS_STATE_STOPPING},
    Transition{process::v1::PROCESS_STATE_STOPPING, SupervisorEvent::kHeartbeatLost,
               process::v1::PROCESS_STATE_STOPPING},
};

}  // namespace

State NextState(State state, SupervisorEvent event) {
  for (const Transition& t : kTransitions) {
    if (t.from == state && t.event == event) return t.to;
  }
  return process::v1::PROCESS_STATE_UNSPECIFIED;
}

std::string_view EventName(SupervisorEvent event) {
  switch (event) {
    case SupervisorEvent::kSpawned:
      return "spawned";
    case SupervisorEvent::kSpawnFailed:
      return "spawn-failed";
    case SupervisorEvent::kHeartbeat:
      return "heartbeat";
    case SupervisorEvent::kExited:
      return "exited";
    case SupervisorEvent::kHeartbeatLost:
      return "heartbeat-lost";
    case SupervisorEvent::kStartTimeout:
      return "start-timeout";
    case SupervisorEvent::kBackoffElapsed:
      return "backoff-elapsed";
    case SupervisorEvent::kCrashLoop:
      return "crash-loop";
    case SupervisorEvent::kStopRequested:
      return "stop-requested";
  }
  return "?";
}

std::string_view StateName(State state) {
  switch (state) {
    case process::v1::PROCESS_STATE_STARTING:
      return "starting";
    case process::v1::PROCESS_STATE_RUNNING:
      return "running";
    case process::v1::PROCESS_STATE_UNRESPONSIVE:
      return "unresponsive";
    case process::v1::PROCESS_STATE_BACKOFF:
      return "backoff";
    case process::v1::PROCESS_STATE_FAILED:
      return "failed";
    case process::v1::PROCESS_STATE_STOPPING:
      return "stopping";
    case process::v1::PROCESS_STATE_STOPPED:
      return "stopped";
    default:
      return "unknown";
  }
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return "signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "status " + std::to_string(wait_status);
}

SupervisionPolicy PolicyFromConfig(const config::v1::Supervision& s) {
  SupervisionPolicy policy;
  policy.backoff_initial = std::chrono::milliseconds(s.restart_backoff_initial_ms());
  policy.backoff_max = std::chrono::milliseconds(s.restart_backoff_max_ms());
  policy.crash_loop_limit = static_cast<int>(s.crash_loop_limit());
  policy.crash_loop_window = std::chrono::seconds(s.crash_loop_window_s());
  policy.start_timeout = std::chrono::milliseconds(s.start_timeout_ms());
  policy.shutdown_grace = std::chrono::milliseconds(s.shutdown_grace_ms());
  return policy;
}

Supervisor::Supervisor(const Clock& clock, ProcessLauncher& launcher, SupervisionPolicy policy)
    : clock_(clock), launcher_(launcher), policy_(policy) {}

void Supervisor::Add(ProcessSpec spec) {
  auto entry = std::make_unique<Entry>();
  std::string name = spec.name;
  entry->spec = std::move(spec);
  order_.push_back(name);
  entries_[name] = std::move(entry);
}

void Supervisor::StartAll() {
  for (const std::string& name : order_) {
    Entry& entry = *entries_[name];
    if (entry.supervised && entry.state == process::v1::PROCESS_STATE_STOPPED) Spawn(entry);
  }
}

void Supervisor::Fire(Entry& entry, SupervisorEvent event) {
  const State previous = entry.state;
  const State next = NextState(previous, event);
  if (next == process::v1::PROCESS_STATE_UNSPECIFIED) {
    ++illegal_events_;
    log::Warn("illegal supervision event ignored",
              {{"process", entry.spec.name}, {"state", StateName(previous)}, {"event", EventName(event)}});
    return;
  }
  entry.state = next;
  if (next != previous) {
    log::Info("process state", {{"process", entry.spec.name},
                                {"from", StateName(previous)},
                                {"to", StateName(next)},
                                {"event", EventName(event)},
                                {"pid", entry.pid},
                                {"restarts", entry.restart_count}});
    if (listener_) listener_(StatusOf(entry), previous);
  }
}

void Supervisor::Spawn(Entry& entry) {
  auto pid = launcher_.Spawn(entry.spec);
  if (!pid) {
    log::Error("cannot start process", {{"process", entry.spec.name}, {"error", pid.error()}});
    entry.last_exit = pid.error();
    RecordCrash(entry);
    Fire(entry, SupervisorEvent::kSpawnFailed);
    return;
  }
  entry.pid = *pid;
  entry.started = clock_.Now();
  entry.heard = false;
  entry.last_beat.Clear();
  Fire(entry, SupervisorEvent::kSpawned);
}

void Supervisor::RecordCrash(Entry& entry) {
  const TimePoint now = clock_.Now();
  entry.crashes.push_back(now);
  while (!entry.crashes.empty() && now - entry.crashes.front() >= policy_.crash_loop_window) {
    entry.crashes.pop_front();
  }
  // Exponential in the number of recent crashes, capped.
  Duration delay = policy_.backoff_initial;
  for (size_t i = 1; i < entry.crashes.size() && delay < policy_.backoff_max; ++i) delay *= 2;
  entry.restart_at = now + std::min(delay, policy_.backoff_max);
}

Supervisor::Entry* Supervisor::FindByPid(int pid) {
  for (auto& [name, entry] : entries_) {
    if (entry->pid == pid && pid != 0) return entry.get();
  }
  return nullptr;
}

void Supervisor::OnExit(int pid, int wait_status) {
  Entry* entry = FindByPid(pid);
  if (entry == nullptr) return;  // not one of ours (or already accounted for)
  entry->pid = 0;
  entry->last_exit = DescribeWaitStatus(wait_status);
  if (entry->state == process::v1::PROCESS_STATE_STOPPING) {
    Fire(*entry, SupervisorEvent::kExited);
    return;
  }
  log::Warn("process exited unexpectedly", {{"process", entry->spec.name}, {"status", entry->last_exit}});
  RecordCrash(*entry);
  Fire(*entry, SupervisorEvent::kExited);
  if (static_cast<int>(entry->crashes.size()) >= policy_.crash_loop_limit) {
    log::Error(
        "crash loop: leaving process down",
        {{"process", entry->spec.name},
         {"crashes", entry->crashes.size()},
         {"window_s", std::chrono::duration_cast<std::chrono::seconds>(policy_.crash_loop_window).count()}});
    Fire(*entry, SupervisorEvent::kCrashLoop);
  }
}

void Supervisor::OnHeartbeat(const process::v1::Heartbeat& heartbeat) {
  auto it = entries_.find(heartbeat.name());
  if (it == entries_.end()) {
    // A process started on its own (systemd, another host) attached itself: track
    // it, but it is not ours to restart.
    auto entry = std::make_unique<Entry>();
    entry->spec.name = heartbeat.name();
    entry->spec.kind = heartbeat.kind();
    entry->spec.shard = static_cast<int>(heartbeat.shard());
    entry->supervised = false;
    entry->state = process::v1::PROCESS_STATE_STARTING;
    entry->started = clock_.Now();
    log::Info("process attached", {{"process", heartbeat.name()}, {"pid", heartbeat.pid()}});
    order_.push_back(heartbeat.name());
    it = entries_.emplace(heartbeat.name(), std::move(entry)).first;
  }
  Entry& entry = *it->second;
  if (!entry.supervised) entry.pid = static_cast<int>(heartbeat.pid());
  // A heartbeat from an older incarnation (pid differs) does not count.
  if (entry.supervised && heartbeat.pid() != 0 && static_cast<int>(heartbeat.pid()) != entry.pid) return;
  entry.last_heartbeat = clock_.Now();
  entry.heard = true;
  entry.last_beat = heartbeat;
  // Alive but not configured yet: stays STARTING (the start timeout still applies).
  if (!heartbeat.ready()) return;
  if (entry.state == process::v1::PROCESS_STATE_RUNNING) return;  // the common case: no log
  Fire(entry, SupervisorEvent::kHeartbeat);
}

void Supervisor::OnHeartbeatLost(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  if (entry.state != process::v1::PROCESS_STATE_RUNNING && entry.state != process::v1::PROCESS_STATE_STOPPING)
    return;
  Fire(entry, SupervisorEvent::kHeartbeatLost);
  if (entry.supervised && entry.pid > 0 && !stopping_) {
    // Hung, not dead: kill it so that the exit path restarts it.
    log::Warn("killing unresponsive process", {{"process", name}, {"pid", entry.pid}});
    launcher_.Signal(entry.pid, SIGKILL);
  }
}

void Supervisor::Tick() {
  const TimePoint now = clock_.Now();
  for (const std::string& name : order_) {
    Entry& entry = *entries_[name];
    if (!entry.supervised) continue;
    if (entry.state == process::v1::PROCESS_STATE_BACKOFF && !stopping_ && now >= entry.restart_at) {
      ++entry.restart_count;
      log::Info("restarting process", {{"process", name}, {"restart", entry.restart_count}});
      Spawn(entry);
    } else if (entry.state == process::v1::PROCESS_STATE_STARTING && !entry.heard &&
               now - entry.started >= policy_.start_timeout) {
      Fire(entry, SupervisorEvent::kStartTimeout);
      if (entry.pid > 0) launcher_.Signal(entry.pid, SIGKILL);
    }
  }
}

void Supervisor::StopAll() {
  stopping_ = true;
  for (const std::string& name : order_) {
    Entry& entry = *entries_[name];
    if (!entry.supervised) continue;
    Fire(entry, SupervisorEvent::kStopRequested);
    if (entry.pid > 0) launcher_.Signal(entry.pid, SIGTERM);
  }
}

void Supervisor::KillRemaining() {
  for (const auto& [name, entry] : entries_) {
    if (entry->supervised && entry->pid > 0) {
      log::Warn("process did not stop in time; killing", {{"process", name}, {"pid", entry->pid}});
      launcher_.Signal(entry->pid, SIGKILL);
    }
  }
}

bool Supervisor::AllStopped() const {
  return std::none_of(entries_.begin(), entries_.end(),
                      [](const auto& kv) { return kv.second->supervised && kv.second->pid > 0; });
}

bool Supervisor::degraded() const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [](const auto& kv) { return kv.second->state != process::v1::PROCESS_STATE_RUNNING; });
}

std::vector<int> Supervisor::LivePids() const {
  std::vector<int> pids;
  for (const auto& [name, entry] : entries_) {
    if (entry->supervised && entry->pid > 0) pids.push_back(entry->pid);
  }
  return pids;
}

process::v1::ProcessStatus Supervisor::StatusOf(const Entry& entry) const {
  const TimePoint now = clock_.Now();
  process::v1::ProcessStatus status;
  status.set_name(entry.spec.name);
  status.set_kind(entry.spec.kind);
  status.set_shard(entry.spec.shard < 0 ? 0 : static_cast<uint32_t>(entry.spec.shard));
  status.set_pid(static_cast<uint32_t>(entry.pid));
  status.set_state(entry.state);
  const bool up = entry.pid > 0 || (!entry.supervised && entry.state == process::v1::PROCESS_STATE_RUNNING);
  status.set_uptime_ms(up ? ToMillis(now - entry.started) : 0);
  status.set_restart_count(entry.restart_count);
  status.set_last_heartbeat_age_ms(entry.heard ? ToMillis(now - entry.last_heartbeat) : -1);
  status.set_last_exit(entry.last_exit);
  status.set_supervised(entry.supervised);
  switch (entry.last_beat.detail_case()) {
    case process::v1::Heartbeat::kTdm:
      *status.mutable_tdm() = entry.last_beat.tdm();
      break;
    case process::v1::Heartbeat::kMedia:
      *status.mutable_media() = entry.last_beat.media();
      break;
    case process::v1::Heartbeat::kSignaling:
      *status.mutable_signaling() = entry.last_beat.signaling();
      break;
    default:
      break;
  }
  return status;
}

std::vector<process::v1::ProcessStatus> Supervisor::Snapshot() const {
  std::vector<process::v1::ProcessStatus> statuses;
  for (const std::string& name : order_) statuses.push_back(StatusOf(*entries_.at(name)));
  return statuses;
}

}  // namespace linegate::control
