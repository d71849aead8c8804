#pragma once
// SIP over TCP and over TLS (RFC 3261 18.3, 26.2.1; RFC 5626 3.5.1 keep-alives): a
// listener per configured address, outgoing non-blocking connects, connection reuse by
// remote address, FrameStream framing into bounded per-connection buffers, bounded
// output queues flushed on writability, idle and setup timeouts on an injected
// Scheduler, and limits on connections in total and per peer. No thread: all work
// happens in FdPoller and Scheduler callbacks on the loop's thread.

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/scheduler.h"
#include "signaling/sip/sip_message.h"
#include "signaling/transport/fd_poller.h"
#include "signaling/transport/tls_context.h"
#include "signaling/transport/transport.h"
#include "signaling/transport/transport_counters.h"

namespace linegate::signaling::transport {

struct StreamConfig {
  Protocol protocol = Protocol::kTcp;  // kTcp or kTls
  // Addresses to accept connections on (port 0: ephemeral). Empty: client only.
  std::vector<SocketAddress> listen_addresses;
  int listen_backlog = 128;
  // Largest SIP message (start line + headers + body) accepted on a connection; a
  // larger one closes the connection (RFC 3261 18.3 leaves no way to skip it).
  size_t max_message_bytes = 64 * 1024;
  // Bytes queued for a connection that the peer has not yet taken; a Send over this
  // fails with a send error and the connection stays up.
  size_t max_write_buffer_bytes = 256 * 1024;
  size_t max_connections = 1024;         // inbound + outbound
  size_t max_connections_per_peer = 16;  // inbound, per remote IP address
  // A connection with no octet read or written for this long is closed. 300 s is
  // 9.4 x 64*T1 (32 s, RFC 3261 17.1.1.2): well past any transaction, and more than
  // twice the longest RFC 5626 4.4.1 CRLF keep-alive interval (120 s) for TCP flows.
  Duration idle_timeout = std::chrono::seconds(300);
  // TCP connect plus TLS handshake (outbound), TLS handshake (inbound). A quarter of
  // Timer B (RFC 3261 17.1.1.2), so the transaction still has time to fail over.
  Duration setup_timeout = std::chrono::seconds(8);
  TlsConfig tls;  // used when protocol is kTls
};

struct ConnectionInfo {
  uint64_t id = 0;
  SocketAddress remote;
  SocketAddress local;
  bool outbound = false;
  bool established = false;  // connected (and, for TLS, handshake done)
  size_t queued_bytes = 0;
  std::string tls_server_name;  // outbound TLS: the name the certificate was checked against
};

class StreamTransport final : public Transport {
 public:
  // The poller and scheduler must outlive the transport. The handlers may call Send
  // and CloseConnection but must not destroy the transport.
  static Result<std::unique_ptr<StreamTransport>> Create(const StreamConfig& config, FdPoller& poller,
                                                         Scheduler& scheduler, ReceiveHandler handler);
  ~StreamTransport() override;
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  // Connection choice (RFC 3261 18.2.2, 18.1.1): destination.connection_id when that
  // connection is still open; else an open (or opening) connection to
  // destination.address (TLS: one verified for the same server name); else a new one.
  // OK means written or queued; a later failure arrives at the SendErrorHandler.
  Status Send(const Destination& destination, std::span<const char> message) override;
  // As Send, returning the id of the connection used (for correlating a SendError).
  Result<uint64_t> SendOnConnection(const Destination& destination, std::span<const char> message);
  // The first listening address; nullopt for a client-only transport.
  std::optional<SocketAddress> LocalAddress(Protocol protocol) const override;
  std::vector<SocketAddress> ListenAddresses() const;

  void SetSendErrorHandler(SendErrorHandler handler) { send_error_handler_ = std::move(handler); }
  // RFC 5626 3.5.1: sends a double-CRLF ping; the single-CRLF pong is absorbed.
  Status SendKeepAlive(uint64_t connection_id);
  // Closes without reporting a send error for queued bytes.
  void CloseConnection(uint64_t connection_id);

  std::optional<ConnectionInfo> FindConnection(uint64_t connection_id) const;
  size_t connection_count() const { return connections_.size(); }
  Protocol protocol() const { return config_.protocol; }
  const TransportCounters& counters() const { return counters_; }

 private:
  enum class State : uint8_t { kConnecting, kHandshaking, kOpen };
  struct Connection;
  struct Listener {
    int fd = -1;
    SocketAddress local;
    Scheduler::TimerId resume_timer = 0;  // accept paused after EMFILE
  };
  // Why a connection closes: decides the counters and whether queued bytes are a
  // send error to report.
  enum class CloseReason : uint8_t {
    kPeerClosed,
    kReadError,
    kWriteError,
    kOversize,
    kFramingError,
    kIdle,
    kConnectFailed,
    kHandshakeFailed,
    kLocal,
    kShutdown,
  };

  StreamTransport(const StreamConfig& config, FdPoller& poller, Scheduler& scheduler, ReceiveHandler handler);
  bool is_tls() const { return config_.protocol == Protocol::kTls; }
  Connection* Find(uint64_t id) const;
  Connection* FindReusable(const SocketAddress& address, const std::string& server_name,
                           bool allow_inbound) const;
  Result<Connection*> Open(const SocketAddress& address, const std::string& server_name);
  Result<Connection*> Adopt(int fd, const SocketAddress& remote, bool outbound, State state,
                            const std::string& server_name);
  void OnListenerReadable(size_t index);
  void OnConnectionEvent(uint64_t id, uint32_t events);
  void OnConnected(Connection* conn);
  void DriveHandshake(Connection* conn);
  bool ReadAvailable(Connection* conn);
  bool Consume(Connection* conn, const char* data, size_t size);
  // Octets written (0: would block), or -1 with error set.
  ptrdiff_t WriteSome(Connection* conn, const char* data, size_t size, std::string& error);
  Status Queue(Connection* conn, std::span<const char> bytes);
  bool Flush(Connection* conn);
  void UpdateInterest(Connection* conn);
  void OnIdleTimer(uint64_t id);
  void OnSetupTimeout(uint64_t id);
  void Close(Connection* conn, CloseReason reason, const std::string& detail);

  StreamConfig config_;
  FdPoller& poller_;
  Scheduler& scheduler_;
  ReceiveHandler handler_;
  SendErrorHandler send_error_handler_;
  sip::FramingLimits limits_;
  std::unique_ptr<TlsContext> tls_;
  std::vector<Listener> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_multimap<std::string, uint64_t> by_remote_;  // SocketAddress::ToString()
  std::unordered_map<std::string, size_t> inbound_per_peer_;  // SocketAddress::HostString()
  uint64_t next_connection_id_ = 1;
  std::vector<char> scratch_;  // one read buffer for all connections
  TransportCounters counters_;
};

}  // namespace linegate::signaling::transport
