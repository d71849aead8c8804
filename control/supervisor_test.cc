// Supervision on a manual clock with a fake launcher: no fork, no sleep.
#include "control/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

namespace linegate::control {
namespace {

using namespace std::chrono_literals;
using process::v1::ProcessState;

class FakeLauncher : public ProcessLauncher {
 public:
  Result<int> Spawn(const ProcessSpec& spec) override {
    if (fail_next) {
      fail_next = false;
      return Error{"exec failed"};
    }
    spawned.push_back(spec.name);
    return next_pid++;
  }
  void Signal(int pid, int signal) override { signals.emplace_back(pid, signal); }

  std::vector<std::string> spawned;
  std::vector<std::pair<int, int>> signals;
  int next_pid = 100;
  bool fail_next = false;
};

constexpr int kKilled = SIGKILL;  // wait status of a process killed by SIGKILL

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() : supervisor_(clock_, launcher_, Policy()) {
    supervisor_.Add(ProcessSpec{"media-0", process::v1::PROCESS_KIND_MEDIA, 0, {"/bin/media"}});
    supervisor_.Add(ProcessSpec{"tdm", process::v1::PROCESS_KIND_TDM, -1, {"/bin/tdm"}});
  }
  static SupervisionPolicy Policy() {
    SupervisionPolicy p;
    p.backoff_initial = 200ms;
    p.backoff_max = 1s;
    p.crash_loop_limit = 5;
    p.crash_loop_window = 60s;
    p.start_timeout = 5s;
    return p;
  }
  process::v1::ProcessStatus StatusOf(const std::string& name) {
    for (const auto& s : supervisor_.Snapshot()) {
      if (s.name() == name) return s;
    }
    ADD_FAILURE() << "no process " << name;
    return {};
  }
  void Beat(const std::string& name) {
    process::v1::Heartbeat hb;
    hb.set_name(name);
    hb.set_pid(StatusOf(name).pid());
    hb.set_ready(true);
    supervisor_.OnHeartbeat(hb);
  }
  // Advances the clock in ticks of 25 ms, as control's reactor does.
  void Run(Duration d) {
    for (Duration t = Duration::zero(); t < d; t += 25ms) {
      clock_.Advance(25ms);
      supervisor_.Tick();
    }
  }

  ManualClock clock_;
  FakeLauncher launcher_;
  Supervisor supervisor_;
};

TEST_F(SupervisorTest, StartsEverythingAndIsHealthyOnceAllHeartbeat) {
  supervisor_.StartAll();
  EXPECT_EQ(launcher_.spawned, (std::vector<std::string>{"media-0", "tdm"}));
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_STARTING);
  EXPECT_TRUE(supervisor_.degraded());
  Beat("media-0");
  Beat("tdm");
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_RUNNING);
  EXPECT_FALSE(supervisor_.degraded());
}

TEST_F(SupervisorTest, RestartsACrashedProcessAfterTheInitialBackoff) {
  supervisor_.StartAll();
  Beat("media-0");
  const int pid = static_cast<int>(StatusOf("media-0").pid());
  supervisor_.OnExit(pid, kKilled);
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_BACKOFF);
  EXPECT_EQ(StatusOf("media-0").last_exit(), "signal 9 (Killed)");
  Run(175ms);
  EXPECT_EQ(launcher_.spawned.size(), 2u) << "restarted before the backoff elapsed";
  Run(50ms);
  ASSERT_EQ(launcher_.spawned.size(), 3u);
  EXPECT_EQ(launcher_.spawned.back(), "media-0");
  EXPECT_EQ(StatusOf("media-0").restart_count(), 1u);
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_STARTING);
  Beat("media-0");
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_RUNNING);
}

TEST_F(SupervisorTest, BackoffDoublesAndIsCapped) {
  supervisor_.StartAll();
  std::vector<int64_t> delays;
  for (int crash = 0; crash < 4; ++crash) {
    supervisor_.OnExit(static_cast<int>(StatusOf("tdm").pid()), 1 << 8);  // exit 1
    const size_t before = launcher_.spawned.size();
    int64_t waited = 0;
    while (launcher_.spawned.size() == before && waited < 10'000) {
      Run(25ms);
      waited += 25;
    }
    delays.push_back(waited);
  }
  // 200, 400, 800, then capped at 1000 ms.
  EXPECT_EQ(delays, (std::vector<int64_t>{200, 400, 800, 1000}));
}

TEST_F(SupervisorTest, CrashLoopLeavesTheProcessDownAndTheGatewayDegraded) {
  supervisor_.StartAll();
  for (int crash = 1; crash <= 5; ++crash) {
    const int pid = static_cast<int>(StatusOf("tdm").pid());
    ASSERT_GT(pid, 0) << "crash " << crash;
    supervisor_.OnExit(pid, 1 << 8);
    if (crash < 5) Run(2s);
  }
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_FAILED);
  EXPECT_EQ(StatusOf("tdm").restart_count(), 4u);
  const size_t spawned = launcher_.spawned.size();
  Run(120s);
  EXPECT_EQ(launcher_.spawned.size(), spawned) << "a failed process must stay down";
  Beat("media-0");
  EXPECT_TRUE(supervisor_.degraded());
}

TEST_F(SupervisorTest, CrashesSpreadBeyondTheWindowNeverTripTheLimit) {
  supervisor_.StartAll();
  for (int crash = 0; crash < 10; ++crash) {
    supervisor_.OnExit(static_cast<int>(StatusOf("tdm").pid()), 1 << 8);
    Run(20s);
    ASSERT_NE(StatusOf("tdm").state(), process::v1::PROCESS_STATE_FAILED) << "crash " << crash;
  }
  EXPECT_EQ(StatusOf("tdm").restart_count(), 10u);
}

TEST_F(SupervisorTest, HungProcessIsKilledThenRestarted) {
  supervisor_.StartAll();
  Beat("media-0");
  const int pid = static_cast<int>(StatusOf("media-0").pid());
  supervisor_.OnHeartbeatLost("media-0");
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_UNRESPONSIVE);
  ASSERT_EQ(launcher_.signals.size(), 1u);
  EXPECT_EQ(launcher_.signals[0], std::make_pair(pid, SIGKILL));
  supervisor_.OnExit(pid, kKilled);
  Run(250ms);
  EXPECT_EQ(StatusOf("media-0").restart_count(), 1u);
}

TEST_F(SupervisorTest, ProcessThatNeverHeartbeatsIsKilledAfterTheStartTimeout) {
  supervisor_.StartAll();
  Beat("media-0");
  Run(4900ms);
  EXPECT_TRUE(launcher_.signals.empty());
  Run(200ms);
  ASSERT_EQ(launcher_.signals.size(), 1u);
  EXPECT_EQ(launcher_.signals[0].second, SIGKILL);
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_UNRESPONSIVE);
}

TEST_F(SupervisorTest, AliveButUnconfiguredProcessStaysStarting) {
  supervisor_.StartAll();
  process::v1::Heartbeat hb;
  hb.set_name("tdm");
  hb.set_pid(StatusOf("tdm").pid());
  supervisor_.OnHeartbeat(hb);
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_STARTING);
  EXPECT_EQ(StatusOf("tdm").last_heartbeat_age_ms(), 0);
  Beat("tdm");
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_RUNNING);
}

TEST_F(SupervisorTest, HeartbeatOfAnOlderIncarnationDoesNotCount) {
  supervisor_.StartAll();
  const uint32_t old_pid = StatusOf("tdm").pid();
  supervisor_.OnExit(static_cast<int>(old_pid), kKilled);
  Run(250ms);
  process::v1::Heartbeat stale;
  stale.set_name("tdm");
  stale.set_pid(old_pid);
  stale.set_ready(true);
  supervisor_.OnHeartbeat(stale);
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_STARTING);
}

TEST_F(SupervisorTest, SpawnFailureCountsAsACrash) {
  launcher_.fail_next = true;
  supervisor_.StartAll();
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_BACKOFF);
  EXPECT_EQ(StatusOf("media-0").last_exit(), "exec failed");
  Run(250ms);
  EXPECT_EQ(StatusOf("media-0").state(), process::v1::PROCESS_STATE_STARTING);
}

TEST_F(SupervisorTest, OrderlyStopSignalsEveryoneAndRestartsNothing) {
  supervisor_.StartAll();
  Beat("media-0");
  Beat("tdm");
  supervisor_.StopAll();
  ASSERT_EQ(launcher_.signals.size(), 2u);
  EXPECT_EQ(launcher_.signals[0].second, SIGTERM);
  EXPECT_FALSE(supervisor_.AllStopped());
  for (const auto& [pid, sig] : launcher_.signals) supervisor_.OnExit(pid, 0);
  EXPECT_TRUE(supervisor_.AllStopped());
  EXPECT_EQ(StatusOf("tdm").state(), process::v1::PROCESS_STATE_STOPPED);
  Run(5s);
  EXPECT_EQ(launcher_.spawned.size(), 2u);
}

TEST_F(SupervisorTest, KillRemainingAfterTheGracePeriod) {
  supervisor_.StartAll();
  supervisor_.StopAll();
  supervisor_.KillRemaining();
  ASSERT_EQ(launcher_.signals.size(), 4u);
  EXPECT_EQ(launcher_.signals[2].second, SIGKILL);
  EXPECT_EQ(launcher_.signals[3].second, SIGKILL);
}

TEST_F(SupervisorTest, ProcessStartedOnItsOwnIsTrackedButNotRestarted) {
  supervisor_.StartAll();
  process::v1::Heartbeat hb;
  hb.set_name("media-7");
  hb.set_kind(process::v1::PROCESS_KIND_MEDIA);
  hb.set_shard(7);
  hb.set_pid(4242);
  hb.set_ready(true);
  supervisor_.OnHeartbeat(hb);
  auto status = StatusOf("media-7");
  EXPECT_FALSE(status.supervised());
  EXPECT_EQ(status.state(), process::v1::PROCESS_STATE_RUNNING);
  EXPECT_EQ(status.pid(), 4242u);
  supervisor_.OnHeartbeatLost("media-7");
  EXPECT_EQ(StatusOf("media-7").state(), process::v1::PROCESS_STATE_UNRESPONSIVE);
  EXPECT_TRUE(launcher_.signals.empty()) << "not ours to kill";
}

TEST_F(SupervisorTest, StatusCarriesHeartbeatAgeAndUptime) {
  supervisor_.StartAll();
  EXPECT_EQ(StatusOf("tdm").last_heartbeat_age_ms(), -1);
  Run(100ms);
  Beat("tdm");
  Run(300ms);
  EXPECT_EQ(StatusOf("tdm").last_heartbeat_age_ms(), 300);
  EXPECT_EQ(StatusOf("tdm").uptime_ms(), 400);
}

TEST(SupervisorTable, IllegalEventsHaveNoTransition) {
  EXPECT_EQ(NextState(process::v1::PROCESS_STATE_FAILED, SupervisorEvent::kSpawned),
            process::v1::PROCESS_STATE_UNSPECIFIED);
  EXPECT_EQ(NextState(process::v1::PROCESS_STATE_STOPPED, SupervisorEvent::kHeartbeat),
            process::v1::PROCESS_STATE_UNSPECIFIED);
  EXPECT_EQ(NextState(process::v1::PROCESS_STATE_RUNNING, SupervisorEvent::kExited),
            process::v1::PROCESS_STATE_BACKOFF);
}

TEST(DescribeWaitStatus, NamesExitCodesAndSignals) {
  EXPECT_EQ(DescribeWaitStatus(3 << 8), "exit 3");
  EXPECT_EQ(DescribeWaitStatus(SIGKILL), "signal 9 (Killed)");
}

}  // namespace
}  // namespace linegate::control
