#pragma once
// SIP over UDP (RFC 3261 18.1.1, 18.2.1): one socket per configured local address,
// received in bursts with recvmmsg into buffers allocated once at creation, sent with
// one sendto per message. No thread: work happens in FdPoller callbacks.

#include <sys/socket.h>

#include <memory>
#include <vector>

#include "signaling/transport/fd_poller.h"
#include "signaling/transport/transport.h"
#include "signaling/transport/transport_counters.h"

namespace linegate::signaling::transport {

struct UdpConfig {
  // IPv4 and/or IPv6 addresses; port 0 binds an ephemeral port (LocalAddresses tells).
  std::vector<SocketAddress> local_addresses;
  // Receive buffer per datagram; larger datagrams are counted (drop_oversize) and
  // dropped. 65535 takes any UDP payload; RFC 3261 18.1.1 keeps well-behaved peers
  // far below.
  size_t max_datagram_bytes = 65535;
  int socket_receive_buffer_bytes = 0;  // SO_RCVBUF; 0 keeps the system default
};

class UdpTransport final : public Transport {
 public:
  static constexpr size_t kBatch = 32;  // datagrams per recvmmsg

  // The poller must outlive the transport.
  static Result<std::unique_ptr<UdpTransport>> Create(const UdpConfig& config, FdPoller& poller,
                                                      ReceiveHandler handler);
  ~UdpTransport() override;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Sends from the first socket of the destination's address family.
  Status Send(const Destination& destination, std::span<const char> message) override;
  // The first bound address (the first configured one, with its real port).
  std::optional<SocketAddress> LocalAddress(Protocol protocol) const override;
  // Every bound address, in configuration order.
  std::vector<SocketAddress> LocalAddresses() const;

  const TransportCounters& counters() const { return counters_; }

 private:
  struct Socket {
    int fd = -1;
    SocketAddress local;
  };
  UdpTransport(const UdpConfig& config, FdPoller& poller, ReceiveHandler handler);
  void OnReadable(size_t socket_index);

  FdPoller& poller_;
  ReceiveHandler handler_;
  size_t max_datagram_bytes_;
  std::vector<Socket> sockets_;
  TransportCounters counters_;
  // Receive state for one recvmmsg burst, allocated once.
  std::vector<char> buffers_;
  std::vector<iovec> iovecs_;
  std::vector<sockaddr_storage> sources_;
  std::vector<mmsghdr> headers_;
};

}  // namespace linegate::signaling::transport
