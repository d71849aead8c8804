#pragma once
// A single-threaded event loop for the control plane of every process: ZeroMQ
// sockets, plain file descriptors (signalfd, timerfd) and timers on an injected
// clock. Each process runs one Reactor on its main thread; nothing here is used on
// the media fast path.

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/scheduler.h"

namespace linegate::bus {

class Reactor final : public Scheduler {
 public:
  using Callback = std::function<void()>;

  explicit Reactor(const Clock& clock = SteadyClock::Instance()) : clock_(clock) {}
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  const Clock& clock() const override { return clock_; }
  TimerId Schedule(Duration delay, std::function<void()> callback) override {
    return AddTimer(delay, std::move(callback));
  }
  void Cancel(TimerId id) override { CancelTimer(id); }

  // Readable-event callbacks. The socket or fd must outlive its registration.
  void AddSocket(zmq::socket_t& socket, Callback on_readable);
  void AddFd(int fd, Callback on_readable);
  void RemoveSocket(zmq::socket_t& socket);
  void RemoveFd(int fd);

  // Timers fire from RunOnce on the reactor's clock. A periodic timer keeps its phase.
  TimerId AddTimer(Duration delay, Callback callback);
  TimerId AddPeriodic(Duration interval, Callback callback);
  void CancelTimer(TimerId id);

  // Polls for at most max_wait (less when a timer is due), dispatches what is ready,
  // then runs due timers. Returns the number of callbacks run.
  int RunOnce(Duration max_wait);
  // Runs until Stop() is called from a callback.
  void Run();
  void Stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }

 private:
  struct Watch {
    void* socket;  // zmq socket handle, or nullptr for a plain fd
    int fd;
    Callback on_readable;
  };
  struct Timer {
    Duration interval;  // zero for one-shot
    Callback callback;
  };
  // Ordered by due time (then by id, i.e. scheduling order), so the next deadline is the
  // first entry and a turn touches only the timers that are due: a signaling process
  // holds two timers per registration, tens of thousands in all.
  using TimerQueue = std::map<std::pair<TimePoint, TimerId>, Timer>;

  int RunDueTimers();

  const Clock& clock_;
  std::vector<Watch> watches_;
  TimerQueue timers_;
  std::unordered_map<TimerId, TimePoint> due_of_;  // for Cancel
  TimerId next_timer_id_ = 1;
  bool stopped_ = false;
};

}  // namespace linegate::bus
