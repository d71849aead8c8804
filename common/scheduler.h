#pragma once
// Timers behind an interface: SIP transaction timers, registration refreshes and
// retries are scheduled here, so tests run them on a ManualScheduler without waiting.
// In a process, the bus Reactor is the Scheduler.

#include <functional>
#include <map>
#include <utility>

#include "common/clock.h"

namespace linegate {

class Scheduler {
 public:
  using TimerId = uint64_t;  // never 0
  virtual ~Scheduler() = default;
  virtual const Clock& clock() const = 0;
  virtual TimerId Schedule(Duration delay, std::function<void()> callback) = 0;
  // Cancelling an id that fired or was cancelled is harmless.
  virtual void Cancel(TimerId id) = 0;
};

// Deterministic scheduler for tests: time moves only in Advance/RunFor, and due timers
// fire in (due time, scheduling order) order, each at its own due time.
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(TimePoint start = TimePoint(std::chrono::hours(1))) : clock_(start) {}

  const Clock& clock() const override { return clock_; }
  TimerId Schedule(Duration delay, std::function<void()> callback) override {
    const TimerId id = next_id_++;
    timers_.emplace(std::make_pair(clock_.Now() + delay, id), std::move(callback));
    return id;
  }
  void Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }
  // Moves time forward by d, firing every timer that falls due on the way.
  void Advance(Duration d) {
    const TimePoint end = clock_.Now() + d;
    while (!timers_.empty() && timers_.begin()->first.first <= end) {
      auto it = timers_.begin();
      const TimePoint due = it->first.first;
      auto callback = std::move(it->second);
      timers_.erase(it);
      if (due > clock_.Now()) clock_.Advance(due - clock_.Now());
      callback();
    }
    if (end > clock_.Now()) clock_.Advance(end - clock_.Now());
  }
  size_t pending() const { return timers_.size(); }

 private:
  ManualClock clock_;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> timers_;
  TimerId next_id_ = 1;
};

}  // namespace linegate
