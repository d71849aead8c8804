#include "signaling/transport/socket_util.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace linegate::signaling::transport::internal {

Result<int> OpenSocket(const SocketAddress& address, int type) {
  if (!address.valid()) return Error{"invalid socket address"};
  ScopedFd fd(socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return ErrnoError("socket");
  if (address.family() == AF_INET6) {
    const int on = 1;
    if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) {
      return ErrnoError("setsockopt(IPV6_V6ONLY)");
    }
  }
  return fd.release();
}

Result<SocketAddress> BoundAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return ErrnoError("getsockname");
  return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

}  // namespace linegate::signaling::transport::internal
