#pragma once
// The seam between the socket transports and whatever event loop runs them. The
// transports own no thread: they register their fds here and do their work in the
// callbacks, on the loop's thread. EpollPoller (epoll_poller.h) is the implementation;
// tests may drive it directly or nest it in a bus::Reactor (reactor_poller.h).

#include <cstdint>
#include <functional>

#include "common/result.h"

namespace linegate::signaling::transport {

// Interest and event bits.
inline constexpr uint32_t kPollReadable = 1u << 0;
inline constexpr uint32_t kPollWritable = 1u << 1;
inline constexpr uint32_t kPollError = 1u << 2;  // error or hang-up; only ever reported

class FdPoller {
 public:
  using EventCallback = std::function<void(uint32_t events)>;
  virtual ~FdPoller() = default;
  // Level-triggered: the callback runs on every poll while the fd is ready for any of
  // `interest` (kPollReadable | kPollWritable); kPollError is always reported.
  virtual Status Watch(int fd, uint32_t interest, EventCallback callback) = 0;
  virtual Status SetInterest(int fd, uint32_t interest) = 0;
  // Safe from inside any callback, including the fd's own; no event for the fd is
  // delivered after it returns. Call before closing the fd.
  virtual void Unwatch(int fd) = 0;
};

}  // namespace linegate::signaling::transport
