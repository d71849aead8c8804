#pragma once
// The seam between the SIP transports (UDP, TCP, TLS sockets) and everything above
// them (transactions, the transaction-less core). Transactions and tests depend only
// on this header; the socket implementations live beside it.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace linegate::signaling::transport {

enum class Protocol : uint8_t { kUdp, kTcp, kTls };

std::string_view ProtocolName(Protocol protocol);  // "UDP", "TCP", "TLS" (Via form)
std::optional<Protocol> ParseProtocol(std::string_view via_transport);
// RFC 3261 17.1.1.2: timers A/E/G and K/J differ for reliable transports.
inline bool IsReliable(Protocol protocol) { return protocol != Protocol::kUdp; }

// An IPv4 or IPv6 address and port; a value type small enough to copy around.
class SocketAddress {
 public:
  SocketAddress() = default;
  static std::optional<SocketAddress> Parse(std::string_view host, uint16_t port);  // numeric hosts only
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.ss_family; }
  bool valid() const { return length_ != 0; }
  uint16_t port() const;
  std::string HostString() const;  // "192.0.2.1" or "2001:db8::1" (no brackets)
  std::string ToString() const;    // "192.0.2.1:5060" or "[2001:db8::1]:5060"
  bool operator==(const SocketAddress& other) const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

// Where a message goes: protocol and address, plus the connection it should reuse
// for stream transports (0: any / open one).
struct Destination {
  Protocol protocol = Protocol::kUdp;
  SocketAddress address;
  uint64_t connection_id = 0;
  // For TLS: the host name to verify the certificate against (sips: / transport=tls).
  std::string tls_server_name;
};

// One framed SIP message as received. The bytes are valid only during the callback.
struct Received {
  std::span<const char> bytes;
  Protocol protocol = Protocol::kUdp;
  SocketAddress source;
  SocketAddress local;
  uint64_t connection_id = 0;  // stream transports: the connection it came on
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one complete message. Fails cleanly (no exception) when the destination is
  // unreachable or the connection cannot be opened; the transaction layer maps that
  // to a transport error (RFC 3261 17.1.4).
  virtual Status Send(const Destination& destination, std::span<const char> message) = 0;
  // The address this transport would put in Via sent-by for the protocol.
  virtual std::optional<SocketAddress> LocalAddress(Protocol protocol) const = 0;
};

using ReceiveHandler = std::function<void(const Received&)>;

// A failure found after Send returned: a stream connection that could not be opened
// (refused, connect timeout, TLS handshake or certificate verification failed) or
// that closed with messages still queued. The transaction layer maps it to a transport
// error (RFC 3261 17.1.4, 17.2.4) by connection_id or by address.
struct SendError {
  Protocol protocol = Protocol::kTcp;
  SocketAddress remote;
  uint64_t connection_id = 0;
  std::string reason;
};
using SendErrorHandler = std::function<void(const SendError&)>;

}  // namespace linegate::signaling::transport
