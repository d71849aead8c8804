#include "signaling/transport/udp_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include "signaling/transport/socket_util.h"

namespace linegate::signaling::transport {

using internal::ErrnoError;
using internal::ScopedFd;

namespace {

// A bounded number of bursts per readiness event, so that a flood on one socket does
// not starve the rest of the loop; the poller is level-triggered and comes back.
constexpr int kMaxBurstsPerEvent = 8;

bool OnlyCrlf(const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (data[i] != '\r' && data[i] != '\n') return false;
  }
  return true;
}

}  // namespace

UdpTransport::UdpTransport(const UdpConfig& config, FdPoller& poller, ReceiveHandler handler)
    : poller_(poller),
      handler_(std::move(handler)),
      max_datagram_bytes_(config.max_datagram_bytes),
      buffers_(kBatch * config.max_datagram_bytes),
      iovecs_(kBatch),
      sources_(kBatch),
      headers_(kBatch) {
  for (size_t i = 0; i < kBatch; ++i) {
    iovecs_[i].iov_base = buffers_.data() + i * max_datagram_bytes_;
    iovecs_[i].iov_len = max_datagram_bytes_;
    headers_[i].msg_hdr.msg_iov = &iovecs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
    headers_[i].msg_hdr.msg_name = &sources_[i];
  }
}

Result<std::unique_ptr<UdpTransport>> UdpTransport::Create(const UdpConfig& config, FdPoller& poller,
                                                           ReceiveHandler handler) {
  if (config.local_addresses.empty()) return Error{"UDP transport: no local address"};
  if (config.max_datagram_bytes == 0 || config.max_datagram_bytes > 65535) {
    return Error{"UDP transport: max_datagram_bytes must be 1..65535"};
  }
  std::unique_ptr<UdpTransport> transport(new UdpTransport(config, poller, std::move(handler)));
  for (const SocketAddress& address : config.local_addresses) {
    auto fd_or = internal::OpenSocket(address, SOCK_DGRAM);
    if (!fd_or.ok()) return Error{"UDP " + address.ToString() + ": " + fd_or.error()};
    ScopedFd fd(*fd_or);
    if (config.socket_receive_buffer_bytes > 0 &&
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &config.socket_receive_buffer_bytes, sizeof(int)) != 0) {
      return Error{"UDP " + address.ToString() + ": " + ErrnoError("setsockopt(SO_RCVBUF)").message};
    }
    if (bind(fd.get(), address.sockaddr_ptr(), address.length()) != 0) {
      return Error{"UDP " + address.ToString() + ": " + ErrnoError("bind").message};
    }
    auto local = internal::BoundAddress(fd.get());
    if (!local.ok()) return Error{"UDP " + address.ToString() + ": " + local.error()};
    transport->sockets_.push_back(Socket{fd.release(), *local});
  }
  // Watch only once every socket is bound, so that a failure leaves nothing registered.
  for (size_t i = 0; i < transport->sockets_.size(); ++i) {
    UdpTransport* self = transport.get();
    Status watched =
        poller.Watch(transport->sockets_[i].fd, kPollReadable, [self, i](uint32_t) { self->OnReadable(i); });
    if (!watched.ok()) {
      for (size_t j = 0; j < i; ++j) poller.Unwatch(transport->sockets_[j].fd);
      for (Socket& socket : transport->sockets_) {
        close(socket.fd);
        socket.fd = -1;
      }
      return Error{"UDP: " + watched.error()};
    }
  }
  return transport;
}

UdpTransport::~UdpTransport() {
  for (Socket& socket : sockets_) {
    if (socket.fd < 0) continue;
    poller_.Unwatch(socket.fd);
    close(socket.fd);
  }
}

void UdpTransport::OnReadable(size_t socket_index) {
  const Socket& socket = sockets_[socket_index];
  for (int burst = 0; burst < kMaxBurstsPerEvent; ++burst) {
    for (mmsghdr& header : headers_) {
      // The kernel overwrites the name length and flags; the iovecs stay as set up.
      header.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      header.msg_hdr.msg_flags = 0;
      header.msg_hdr.msg_control = nullptr;
      header.msg_hdr.msg_controllen = 0;
    }
    const int n = recvmmsg(socket.fd, headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters_.receive_errors;
      return;
    }
    if (n == 0) return;
    ++counters_.receive_batches;
    for (int i = 0; i < n; ++i) {
      const msghdr& header = headers_[i].msg_hdr;
      const size_t size = headers_[i].msg_len;
      counters_.bytes_received += size;
      if (header.msg_flags & MSG_TRUNC) [[unlikely]] {
        ++counters_.drop_oversize;
        continue;
      }
      const char* data = static_cast<const char*>(iovecs_[i].iov_base);
      // RFC 5626 4.4.2 keeps UDP flows alive with STUN, but many UAs send bare CRLFs
      // (RFC 3261 7.5 lets a receiver ignore them): count and skip.
      if (OnlyCrlf(data, size)) {
        ++counters_.keepalives_received;
        continue;
      }
      Received received;
      received.bytes = std::span<const char>(data, size);
      received.protocol = Protocol::kUdp;
      received.source =
          SocketAddress::FromSockaddr(static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
      received.local = socket.local;
      ++counters_.messages_received;
      handler_(received);
    }
    if (static_cast<size_t>(n) < kBatch) return;  // drained
  }
}

Status UdpTransport::Send(const Destination& destination, std::span<const char> message) {
  if (destination.protocol != Protocol::kUdp) {
    ++counters_.send_errors;
    return Error{"UDP transport cannot send " + std::string(ProtocolName(destination.protocol))};
  }
  const Socket* socket = nullptr;
  for (const Socket& candidate : sockets_) {
    if (candidate.local.family() == destination.address.family()) {
      socket = &candidate;
      break;
    }
  }
  if (socket == nullptr) {
    ++counters_.send_errors;
    return Error{"UDP: no local socket for the address family of " + destination.address.ToString()};
  }
  // Datagram semantics: a full socket buffer drops the message (the transaction layer
  // retransmits, RFC 3261 17.1.1.2) rather than queueing it.
  const ssize_t sent = sendto(socket->fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                              destination.address.sockaddr_ptr(), destination.address.length());
  if (sent < 0 || static_cast<size_t>(sent) != message.size()) {
    ++counters_.send_errors;
    return ErrnoError("UDP sendto " + destination.address.ToString());
  }
  ++counters_.messages_sent;
  counters_.bytes_sent += message.size();
  return Status::Ok();
}

std::optional<SocketAddress> UdpTransport::LocalAddress(Protocol protocol) const {
  if (protocol != Protocol::kUdp || sockets_.empty()) return std::nullopt;
  return sockets_.front().local;
}

std::vector<SocketAddress> UdpTransport::LocalAddresses() const {
  std::vector<SocketAddress> out;
  for (const Socket& socket : sockets_) out.push_back(socket.local);
  return out;
}

}  // namespace linegate::signaling::transport
