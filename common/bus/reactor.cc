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
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{clock_.Now() + delay, Duration::zero(), std::move(callback)});
  return id;
}

Reactor::TimerId Reactor::AddPeriodic(Duration interval, Callback callback) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{clock_.Now() + interval, interval, std::move(callback)});
  return id;
}

void Reactor::CancelTimer(TimerId id) { timers_.erase(id); }

int Reactor::RunDueTimers() {
  int ran = 0;
  const TimePoint now = clock_.Now();
  // Collect first: callbacks may add or cancel timers.
  std::vector<TimerId> due;
  for (const auto& [id, timer] : timers_) {
    if (timer.due <= now) due.push_back(id);
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    Callback callback = it->second.callback;
    if (it->second.interval > Duration::zero()) {
      // Keep the phase, but never schedule into the past after a long stall.
      it->second.due = std::max(it->second.due + it->second.interval, now);
    } else {
      timers_.erase(it);
    }
    callback();
    ++ran;
  }
  return ran;
}

int Reactor::RunOnce(Duration max_wait) {
  Duration wait = max_wait;
  const TimePoint now = clock_.Now();
  for (const auto& [id, timer] : timers_) {
    wait = std::min(wait, std::max(Duration::zero(), timer.due - now));
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
