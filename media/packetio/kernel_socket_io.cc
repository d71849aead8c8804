#include "media/packetio/kernel_socket_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace linegate::media::packetio {
namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

socklen_t ToSockaddr(const Endpoint& endpoint, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof(storage));
  if (endpoint.family == 6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(endpoint.port);
    std::memcpy(&in6->sin6_addr, endpoint.address.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(endpoint.port);
  std::memcpy(&in4->sin_addr, endpoint.address.data(), 4);
  return sizeof(sockaddr_in);
}

void FromSockaddr(const sockaddr_storage& storage, Endpoint& endpoint) {
  // Packet slots are reused: an IPv4 source must not keep an earlier IPv6 one's bytes.
  endpoint.address = {};
  if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    endpoint.family = 6;
    endpoint.port = ntohs(in6->sin6_port);
    std::memcpy(endpoint.address.data(), &in6->sin6_addr, 16);
  } else {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&storage);
    endpoint.family = 4;
    endpoint.port = ntohs(in4->sin_port);
    std::memcpy(endpoint.address.data(), &in4->sin_addr, 4);
  }
}

}  // namespace

Result<Endpoint> Endpoint::Parse(const std::string& address, uint16_t port) {
  Endpoint endpoint;
  endpoint.port = port;
  if (inet_pton(AF_INET, address.c_str(), endpoint.address.data()) == 1) {
    endpoint.family = 4;
    return endpoint;
  }
  if (inet_pton(AF_INET6, address.c_str(), endpoint.address.data()) == 1) {
    endpoint.family = 6;
    return endpoint;
  }
  return Error{"'" + address + "' is not a numeric IPv4 or IPv6 address"};
}

std::string Endpoint::ToString() const {
  char text[INET6_ADDRSTRLEN] = "?";
  if (family == 6) {
    inet_ntop(AF_INET6, address.data(), text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(port);
  }
  inet_ntop(AF_INET, address.data(), text, sizeof(text));
  return std::string(text) + ":" + std::to_string(port);
}

KernelSocketIo::KernelSocketIo(const KernelSocketConfig& config) : config_(config) {}

KernelSocketIo::~KernelSocketIo() {
  for (const Flow& flow : flows_) {
    if (flow.fd >= 0) ::close(flow.fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Result<std::unique_ptr<KernelSocketIo>> KernelSocketIo::Create(const KernelSocketConfig& config) {
  if (config.rx_burst == 0 || config.rx_burst > 1024) return Error{"rx_burst must be 1..1024"};
  if (config.tx_burst == 0 || config.tx_burst > 8192) return Error{"tx_burst must be 1..8192"};
  if (config.max_flows == 0 || config.max_flows > 65536) return Error{"max_flows must be 1..65536"};
  auto local = Endpoint::Parse(config.address, 0);
  if (!local) return Error{"media.rtp_address: " + local.error()};
  std::unique_ptr<KernelSocketIo> io(new KernelSocketIo(config));
  io->local_ = *local;
  io->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (io->epoll_fd_ < 0) return Error{Errno("epoll_create1")};

  io->rx_buffers_.resize(size_t{config.rx_burst} * kBufferSize);
  io->rx_messages_.resize(config.rx_burst);
  io->rx_iovecs_.resize(config.rx_burst);
  io->rx_addresses_.resize(config.rx_burst);
  io->events_.resize(config.rx_burst);
  io->ready_.reserve(config.rx_burst);
  io->tx_buffers_.resize(size_t{config.tx_burst} * kBufferSize);
  io->tx_queue_.reserve(config.tx_burst);
  io->tx_messages_.resize(config.tx_burst);
  io->tx_iovecs_.resize(config.tx_burst);
  io->tx_addresses_.resize(config.tx_burst);
  io->flows_.reserve(config.max_flows);
  io->free_flows_.reserve(config.max_flows);
  return io;
}

Result<FlowId> KernelSocketIo::OpenFlow(uint16_t local_port) {
  FlowId id;
  if (!free_flows_.empty()) {
    id = free_flows_.back();
  } else if (flows_.size() < config_.max_flows) {
    id = static_cast<FlowId>(flows_.size());
  } else {
    return Error{"all " + std::to_string(config_.max_flows) + " flows are open"};
  }
  const int family = local_.family == 6 ? AF_INET6 : AF_INET;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return Error{Errno("socket")};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &config_.receive_buffer_bytes, sizeof(int));
  if (config_.dscp >= 0) {
    const int tos = config_.dscp << 2;
    if (family == AF_INET6) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
    } else {
      ::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    }
  }
  Endpoint bind_to = local_;
  bind_to.port = local_port;
  sockaddr_storage storage;
  const socklen_t length = ToSockaddr(bind_to, storage);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    std::string error = Errno(("bind " + bind_to.ToString()).c_str());
    ::close(fd);
    return Error{error};
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u32 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    std::string error = Errno("epoll_ctl");
    ::close(fd);
    return Error{error};
  }
  if (local_port == 0) {
    // The kernel chose the port: read it back, the peer must be told.
    sockaddr_storage bound;
    socklen_t bound_length = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
    Endpoint actual;
    FromSockaddr(bound, actual);
    local_port = actual.port;
  }
  if (id == flows_.size()) {
    flows_.push_back({});
  } else {
    free_flows_.pop_back();
  }
  flows_[id] = Flow{fd, local_port};
  ++open_flows_;
  return id;
}

void KernelSocketIo::CloseFlow(FlowId flow) {
  if (flow >= flows_.size() || flows_[flow].fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, flows_[flow].fd, nullptr);
  ::close(flows_[flow].fd);
  flows_[flow] = Flow{};
  free_flows_.push_back(flow);
  --open_flows_;
  // A ready entry for this flow may still wait in ready_; Receive skips closed flows.
}

uint16_t KernelSocketIo::LocalPort(FlowId flow) const { return flow < flows_.size() ? flows_[flow].port : 0; }

size_t KernelSocketIo::Receive(std::span<Packet> out) {
  const size_t capacity = std::min<size_t>(out.size(), config_.rx_burst);
  if (ready_next_ >= ready_.size()) {
    ready_.clear();
    ready_next_ = 0;
    const int n = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), 0);
    ++counters_.rx_calls;
    for (int i = 0; i < n; ++i) ready_.push_back(events_[i].data.u32);
  }
  size_t filled = 0;
  while (filled < capacity && ready_next_ < ready_.size()) {
    const FlowId flow = ready_[ready_next_];
    if (flow >= flows_.size() || flows_[flow].fd < 0) {
      ++ready_next_;
      continue;
    }
    const size_t want = capacity - filled;
    for (size_t i = 0; i < want; ++i) {
      const size_t slot = filled + i;
      rx_iovecs_[i].iov_base = rx_buffers_.data() + slot * kBufferSize;
      rx_iovecs_[i].iov_len = kBufferSize;
      std::memset(&rx_messages_[i].msg_hdr, 0, sizeof(msghdr));
      rx_messages_[i].msg_hdr.msg_iov = &rx_iovecs_[i];
      rx_messages_[i].msg_hdr.msg_iovlen = 1;
      rx_messages_[i].msg_hdr.msg_name = &rx_addresses_[i];
      rx_messages_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int got =
        ::recvmmsg(flows_[flow].fd, rx_messages_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    ++counters_.rx_calls;
    if (got <= 0) {
      if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ++counters_.rx_errors;
      ++ready_next_;  // drained
      continue;
    }
    for (int i = 0; i < got; ++i) {
      if (rx_messages_[i].msg_hdr.msg_flags & MSG_TRUNC) {
        ++counters_.rx_truncated;
        continue;
      }
      Packet& packet = out[filled];
      packet.data = static_cast<uint8_t*>(rx_iovecs_[i].iov_base);
      packet.length = rx_messages_[i].msg_len;
      packet.flow = flow;
      FromSockaddr(rx_addresses_[i], packet.remote);
      counters_.rx_bytes += packet.length;
      ++counters_.rx_packets;
      ++filled;
    }
    // Fewer than asked: the socket is drained. Otherwise the burst is full and this
    // flow stays first in line for the next Receive (level-triggered epoll would report
    // it again anyway).
    if (static_cast<size_t>(got) < want) ++ready_next_;
  }
  return filled;
}

uint8_t* KernelSocketIo::AllocateTx() {
  if (tx_allocated_ >= config_.tx_burst) return nullptr;
  return tx_buffers_.data() + size_t{tx_allocated_++} * kBufferSize;
}

void KernelSocketIo::QueueTx(const Packet& packet) {
  if (tx_queue_.size() >= config_.tx_burst || packet.flow >= flows_.size() || flows_[packet.flow].fd < 0) {
    ++counters_.tx_dropped;
    return;
  }
  tx_queue_.push_back(packet);
}

size_t KernelSocketIo::SendRun(size_t first, size_t count) {
  const int fd = flows_[tx_queue_[first].flow].fd;
  for (size_t i = 0; i < count; ++i) {
    const Packet& packet = tx_queue_[first + i];
    tx_iovecs_[i].iov_base = packet.data;
    tx_iovecs_[i].iov_len = packet.length;
    std::memset(&tx_messages_[i].msg_hdr, 0, sizeof(msghdr));
    tx_messages_[i].msg_hdr.msg_iov = &tx_iovecs_[i];
    tx_messages_[i].msg_hdr.msg_iovlen = 1;
    tx_messages_[i].msg_hdr.msg_name = &tx_addresses_[i];
    tx_messages_[i].msg_hdr.msg_namelen = ToSockaddr(packet.remote, tx_addresses_[i]);
  }
  size_t sent = 0;
  while (sent < count) {
    const int n =
        ::sendmmsg(fd, tx_messages_.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    ++counters_.tx_calls;
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN (socket buffer full) or an error such as ECONNREFUSED from an earlier
      // ICMP: this packet is lost; carry on with the next so that one bad peer does not
      // hold up the rest of the run.
      ++counters_.tx_dropped;
      ++sent;
      continue;
    }
    for (int i = 0; i < n; ++i) counters_.tx_bytes += tx_queue_[first + sent + i].length;
    counters_.tx_packets += static_cast<uint64_t>(n);
    sent += static_cast<size_t>(n);
  }
  return sent;
}

size_t KernelSocketIo::Flush() {
  const uint64_t before = counters_.tx_packets;
  size_t i = 0;
  while (i < tx_queue_.size()) {
    size_t run = 1;
    while (i + run < tx_queue_.size() && tx_queue_[i + run].flow == tx_queue_[i].flow) ++run;
    SendRun(i, run);
    i += run;
  }
  tx_queue_.clear();
  tx_allocated_ = 0;
  return static_cast<size_t>(counters_.tx_packets - before);
}

}  // namespace linegate::media::packetio
