#pragma once
// Supervision of the gateway's processes: start, watch (exit status and heartbeats),
// restart with capped exponential backoff, and leave a crash-looping process down so
// the gateway reports degraded instead of burning a core on restarts.
//
// Pure logic: processes are spawned and signalled through ProcessLauncher and time
// comes from a Clock, so tests drive every transition without forking or sleeping.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::control {

struct ProcessSpec {
  std::string name;  // bus identity, unique
  process::v1::ProcessKind kind = process::v1::PROCESS_KIND_UNSPECIFIED;
  int shard = -1;
  std::vector<std::string> argv;  // argv[0] is the executable path
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts the process; returns its pid.
  virtual Result<int> Spawn(const ProcessSpec& spec) = 0;
  virtual void Signal(int pid, int signal) = 0;
};

struct SupervisionPolicy {
  Duration backoff_initial = std::chrono::milliseconds(200);
  Duration backoff_max = std::chrono::seconds(10);
  int crash_loop_limit = 5;
  Duration crash_loop_window = std::chrono::seconds(60);
  Duration start_timeout = std::chrono::seconds(5);
  Duration shutdown_grace = std::chrono::seconds(3);
};
SupervisionPolicy PolicyFromConfig(const config::v1::Supervision& supervision);

// Events of the per-process state machine.
enum class SupervisorEvent {
  kSpawned,
  kSpawnFailed,
  kHeartbeat,
  kExited,
  kHeartbeatLost,
  kStartTimeout,
  kBackoffElapsed,
  kCrashLoop,
  kStopRequested,
};
std::string_view EventName(SupervisorEvent event);
std::string_view StateName(process::v1::ProcessState state);

// The transition table; returns PROCESS_STATE_UNSPECIFIED for an illegal event.
process::v1::ProcessState NextState(process::v1::ProcessState state, SupervisorEvent event);

// "exit 3", "signal 9 (Killed)"
std::string DescribeWaitStatus(int wait_status);

class Supervisor {
 public:
  using StateListener =
      std::function<void(const process::v1::ProcessStatus& status, process::v1::ProcessState previous)>;

  Supervisor(const Clock& clock, ProcessLauncher& launcher, SupervisionPolicy policy);

  void Add(ProcessSpec spec);
  void StartAll();

  // Inputs.
  void OnExit(int pid, int wait_status);
  void OnHeartbeat(const process::v1::Heartbeat& heartbeat);
  void OnHeartbeatLost(const std::string& name);
  // Due timers: start timeouts and backoff expiries.
  void Tick();

  // Orderly shutdown: SIGTERM to every live process; then KillRemaining after the
  // grace period.
  void StopAll();
  void KillRemaining();
  bool AllStopped() const;
  bool stopping() const { return stopping_; }
  Duration shutdown_grace() const { return policy_.shutdown_grace; }

  // Degraded: some process is not running (down, starting again, or left failed).
  bool degraded() const;
  std::vector<process::v1::ProcessStatus> Snapshot() const;
  std::vector<int> LivePids() const;

  void OnStateChange(StateListener listener) { listener_ = std::move(listener); }
  uint64_t illegal_events() const { return illegal_events_; }

 private:
  struct Entry {
    ProcessSpec spec;
    bool supervised = true;
    process::v1::ProcessState state = process::v1::PROCESS_STATE_STOPPED;
    int pid = 0;
    TimePoint started{};
    TimePoint last_heartbeat{};
    bool heard = false;
    uint32_t restart_count = 0;
    std::string last_exit;
    std::deque<TimePoint> crashes;  // within the crash-loop window
    TimePoint restart_at{};
    process::v1::Heartbeat last_beat;
  };

  void Fire(Entry& entry, SupervisorEvent event);
  void Spawn(Entry& entry);
  void RecordCrash(Entry& entry);
  Entry* FindByPid(int pid);
  process::v1::ProcessStatus StatusOf(const Entry& entry) const;

  const Clock& clock_;
  ProcessLauncher& launcher_;
  SupervisionPolicy policy_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::vector<std::string> order_;  // for stable listings
  StateListener listener_;
  bool stopping_ = false;
  uint64_t illegal_events_ = 0;
};

}  // namespace linegate::control
