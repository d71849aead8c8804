#pragma once
// Small helpers shared by the socket transports (internal to this folder).

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "common/result.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transport::internal {

inline Error ErrnoError(std::string_view what, int error = errno) {
  return Error{std::string(what) + ": " + strerror(error)};
}

// Closes an fd on scope exit unless released.
class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Opens a non-blocking socket of the address's family; IPv6 sockets are IPv6-only so
// that an IPv4 and an IPv6 address can share a port without mapped-address surprises.
Result<int> OpenSocket(const SocketAddress& address, int type);
Result<SocketAddress> BoundAddress(int fd);

}  // namespace linegate::signaling::transport::internal
