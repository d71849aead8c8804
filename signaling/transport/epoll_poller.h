#pragma once
// FdPoller on Linux epoll. Its own fd (fd()) turns readable whenever a watched fd is
// ready, so the poller nests in any outer loop that can watch one fd for readability:
// bus::Reactor::AddFd(poller.fd(), [&] { poller.Dispatch(Duration::zero()); }) is all
// AttachToReactor does. That is how TCP connect completion and write backpressure
// (writability), which the Reactor cannot report itself, reach the transports.

#include <sys/epoll.h>

#include <memory>
#include <unordered_map>

#include "common/clock.h"
#include "signaling/transport/fd_poller.h"

namespace linegate::signaling::transport {

class EpollPoller final : public FdPoller {
 public:
  static Result<std::unique_ptr<EpollPoller>> Create();
  ~EpollPoller() override;
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  Status Watch(int fd, uint32_t interest, EventCallback callback) override;
  Status SetInterest(int fd, uint32_t interest) override;
  void Unwatch(int fd) override;

  // Waits at most max_wait (zero: do not block) and runs the callbacks of ready fds.
  // Returns the number of callbacks run.
  int Dispatch(Duration max_wait);
  int fd() const { return epoll_fd_; }
  size_t watched() const { return watches_.size(); }

 private:
  static constexpr int kMaxEvents = 64;
  struct Entry {
    uint64_t token;  // epoll data: a stale event for a closed and reused fd never matches
    EventCallback callback;
  };
  explicit EpollPoller(int epoll_fd) : epoll_fd_(epoll_fd) {}

  int epoll_fd_;
  uint64_t next_token_ = 1;
  std::unordered_map<int, std::shared_ptr<Entry>> watches_;
  std::unordered_map<uint64_t, std::weak_ptr<Entry>> by_token_;
};

}  // namespace linegate::signaling::transport
