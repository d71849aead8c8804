#include "signaling/transport/epoll_poller.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>

namespace linegate::signaling::transport {
namespace {

uint32_t ToEpoll(uint32_t interest) {
  uint32_t events = 0;
  if (interest & kPollReadable) events |= EPOLLIN;
  if (interest & kPollWritable) events |= EPOLLOUT;
  return events;
}

uint32_t FromEpoll(uint32_t events) {
  uint32_t out = 0;
  if (events & (EPOLLIN | EPOLLRDHUP)) out |= kPollReadable;
  if (events & EPOLLOUT) out |= kPollWritable;
  if (events & (EPOLLERR | EPOLLHUP)) out |= kPollError;
  return out;
}

Error ErrnoError(const char* what) { return Error{std::string(what) + ": " + strerror(errno)}; }

}  // namespace

Result<std::unique_ptr<EpollPoller>> EpollPoller::Create() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return ErrnoError("epoll_create1");
  return std::unique_ptr<EpollPoller>(new EpollPoller(fd));
}

EpollPoller::~EpollPoller() { close(epoll_fd_); }

Status EpollPoller::Watch(int fd, uint32_t interest, EventCallback callback) {
  if (watches_.contains(fd)) return Error{"fd " + std::to_string(fd) + " is already watched"};
  auto entry = std::make_shared<Entry>(Entry{next_token_++, std::move(callback)});
  epoll_event event{};
  event.events = ToEpoll(interest);
  event.data.u64 = entry->token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return ErrnoError("epoll_ctl(ADD)");
  by_token_.emplace(entry->token, entry);
  watches_.emplace(fd, std::move(entry));
  return Status::Ok();
}

Status EpollPoller::SetInterest(int fd, uint32_t interest) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return Error{"fd " + std::to_string(fd) + " is not watched"};
  epoll_event event{};
  event.events = ToEpoll(interest);
  event.data.u64 = it->second->token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) return ErrnoError("epoll_ctl(MOD)");
  return Status::Ok();
}

void EpollPoller::Unwatch(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  // The fd may already be closed by a careless caller; EBADF/ENOENT are harmless then.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  by_token_.erase(it->second->token);
  watches_.erase(it);
}

int EpollPoller::Dispatch(Duration max_wait) {
  epoll_event events[kMaxEvents];
  const int64_t wait_ms = max_wait <= Duration::zero() ? 0 : std::max<int64_t>(1, ToMillis(max_wait));
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(std::min<int64_t>(wait_ms, 1 << 30)));
  if (n <= 0) return 0;  // EINTR: the caller polls again
  int ran = 0;
  for (int i = 0; i < n; ++i) {
    // A callback earlier in this batch may have unwatched (and closed) this fd: the
    // token lookup drops its event. The shared_ptr keeps the callback alive while it
    // runs even if it unwatches itself.
    auto it = by_token_.find(events[i].data.u64);
    if (it == by_token_.end()) continue;
    std::shared_ptr<Entry> entry = it->second.lock();
    if (!entry) continue;
    entry->callback(FromEpoll(events[i].events));
    ++ran;
  }
  return ran;
}

}  // namespace linegate::signaling::transport
