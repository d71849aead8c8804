#include "common/bus/reactor.h"

#include <algorithm>
#include <cerrno>

namespace linegate::bus {

void Reactor::AddSocket(zmq::socket_t& socket, Callback on_readable) {
  watches_.push_back(Watch{socket.handle(), -1, std::move(on_readable)});
}

void Reactor::AddFd(int fd, Callback on_readable) {
  watches_.push_back(Watch{nullptr, fd, std::move(on_readable)});
}

void Reactor::RemoveSocket(zmq::socket_t& socket) {
  void* handle = socket.handle();
  std::erase_if(watches_, [handle](const Watch& w) { return w.socket == handle; });
}

void Reactor::RemoveFd(int fd) {
  std::erase_if(watches_, [fd](const Watch& w) { return w.socket == nullptr && w.fd == fd; });
}

Reactor::TimerId Reactor::AddTimer(Duration delay, Callback callback) {
  const TimerId id = next_timer_id_++;
  const TimePoint due = clock_.Now() + delay;
  timers_.emplace(std::make_pair(due, id), Timer{Duration::zero(), std::move(callback)});
  due_of_.emplace(id, due);
  return id;
}

Reactor::TimerId Reactor::AddPeriodic(Duration interval, Callback callback) {
  const TimerId id = next_timer_id_++;
  const TimePoint due = clock_.Now() + interval;
  timers_.emplace(std::make_pair(due, id), Timer{interval, std::move(callback)});
  due_of_.emplace(id, due);
  return id;
}

void Reactor::CancelTimer(TimerId id) {
  auto it = due_of_.find(id);
  if (it == due_of_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  due_of_.erase(it);
}

int Reactor::RunDueTimers() {
  int ran = 0;
  const TimePoint now = clock_.Now();
  // Only timers due before this turn began: one that a callback schedules for "now"
  // waits for the next turn, so a zero-delay chain cannot starve the sockets.
  const TimerId last_id = next_timer_id_;
  while (!timers_.empty()) {
    auto it = timers_.begin();
    const auto [due, id] = it->first;
    if (due > now) break;
    if (id >= last_id) break;
    Timer timer = std::move(it->second);
    timers_.erase(it);
    if (timer.interval > Duration::zero()) {
      // Keep the phase; after a stall longer than the interval, skip the missed beats
      // rather than firing them back to back (and never due again in this turn).
      TimePoint next = due + timer.interval;
      if (next <= now) next = now + timer.interval;
      Callback callback = timer.callback;
      timers_.emplace(std::make_pair(next, id), std::move(timer));
      due_of_[id] = next;
      callback();
    } else {
      due_of_.erase(id);
      timer.callback();
    }
    ++ran;
  }
  return ran;
}

int Reactor::RunOnce(Duration max_wait) {
  Duration wait = max_wait;
  if (!timers_.empty()) {
    wait = std::min(wait, std::max(Duration::zero(), timers_.begin()->first.first - clock_.Now()));
  }
  std::vector<zmq::pollitem_t> items;
  items.reserve(watches_.size());
  for (const Watch& w : watches_) items.push_back(zmq::pollitem_t{w.socket, w.fd, ZMQ_POLLIN, 0});

  const auto timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(wait + std::chrono::microseconds(999));
  int ran = 0;
  try {
    zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
  // Copy the callbacks that fired: a callback may change the watch list.
  std::vector<Callback> ready;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) ready.push_back(watches_[i].on_readable);
  }
  for (Callback& cb : ready) {
    cb();
    ++ran;
  }
  ran += RunDueTimers();
  return ran;
}

void Reactor::Run() {
  stopped_ = false;
  while (!stopped_) RunOnce(std::chrono::seconds(1));
}

}  // namespace linegate::bus
