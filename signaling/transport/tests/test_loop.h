#pragma once
// Shared by the transport tests: a real event loop (bus::Reactor with the EpollPoller
// nested in it, as in a process) and raw peer sockets on loopback.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/bus/reactor.h"
#include "signaling/transport/epoll_poller.h"
#include "signaling/transport/reactor_poller.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transport::testing {

using namespace std::chrono_literals;

class TestLoop {
 public:
  TestLoop() : poller_(std::move(EpollPoller::Create().value())) { AttachToReactor(reactor_, *poller_); }
  ~TestLoop() { DetachFromReactor(reactor_, *poller_); }

  FdPoller& poller() { return *poller_; }
  EpollPoller& epoll() { return *poller_; }
  Scheduler& scheduler() { return reactor_; }
  bus::Reactor& reactor() { return reactor_; }

  // Runs the loop until done() holds or the bounded wait is over.
  bool RunUntil(const std::function<bool()>& done, Duration timeout = 3s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      reactor_.RunOnce(5ms);
    }
    return true;
  }
  void RunFor(Duration d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) reactor_.RunOnce(5ms);
  }

 private:
  bus::Reactor reactor_;
  std::unique_ptr<EpollPoller> poller_;
};

inline SocketAddress Loopback4() { return *SocketAddress::Parse("127.0.0.1", 0); }
inline SocketAddress Loopback6() { return *SocketAddress::Parse("::1", 0); }

inline bool Ipv6LoopbackAvailable() {
  const int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  const SocketAddress any = Loopback6();
  const bool ok = bind(fd, any.sockaddr_ptr(), any.length()) == 0;
  close(fd);
  return ok;
}

// A minimal request with a body of body_size octets.
inline std::string MakeRequest(const std::string& call_id, size_t body_size = 0, char fill = 'x') {
  std::string body(body_size, fill);
  return "OPTIONS sip:gw@sip.test SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-" +
         call_id +
         "\r\n"
         "From: <sip:a@sip.test>;tag=1\r\nTo: <sip:gw@sip.test>\r\n"
         "Call-ID: " +
         call_id + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: " + std::to_string(body_size) +
         "\r\n\r\n" + body;
}

// A raw TCP peer: blocking connect, then non-blocking reads pumped by the loop.
class RawPeer {
 public:
  explicit RawPeer(const SocketAddress& to, int receive_buffer = 0) {
    fd_ = socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(int));
    const int on = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    connected_ = connect(fd_, to.sockaddr_ptr(), to.length()) == 0;
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~RawPeer() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool Write(std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Appends what is readable to received(); notes EOF/reset.
  void Poll() {
    char buffer[65536];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) closed_ = true;
      return;
    }
  }
  // Runs the loop until the peer has `size` octets or sees the connection close.
  bool WaitFor(TestLoop& loop, size_t size, Duration timeout = 3s) {
    return loop.RunUntil(
        [&] {
          Poll();
          return received_.size() >= size;
        },
        timeout);
  }
  bool WaitClosed(TestLoop& loop, Duration timeout = 3s) {
    return loop.RunUntil(
        [&] {
          Poll();
          return closed_;
        },
        timeout);
  }
  std::string& received() { return received_; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

}  // namespace linegate::signaling::transport::testing
