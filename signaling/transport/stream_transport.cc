#include "signaling/transport/stream_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "signaling/transport/socket_util.h"

namespace linegate::signaling::transport {

using internal::ErrnoError;
using internal::ScopedFd;

namespace {

constexpr size_t kScratchBytes = 64 * 1024;
constexpr size_t kMinMessageBytes = 512;
constexpr Duration kAcceptPause = std::chrono::milliseconds(100);
constexpr char kPing[] = "\r\n\r\n";  // RFC 5626 3.5.1
constexpr char kPong[] = "\r\n";

// FrameStream reports both size limits as errors; they count as oversize, the rest as
// framing errors. The phrases are linegate_sip's (sip_parser.cc); a test pins them.
bool IsSizeError(const char* reason) {
  return reason != nullptr &&
         (std::strcmp(reason, "Body too large") == 0 || std::strcmp(reason, "Header section too large") == 0);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct StreamTransport::Connection {
  uint64_t id = 0;
  int fd = -1;
  SocketAddress remote;
  SocketAddress local;
  std::string remote_key;
  std::string peer_key;
  bool outbound = false;
  State state = State::kConnecting;
  SSL* ssl = nullptr;
  std::string server_name;
  std::string in;   // the start of a message not yet complete (bounded)
  std::string out;  // queued output; out_offset octets of it are already written
  size_t out_offset = 0;
  bool tls_wants_write = false;  // the handshake or SSL_read needs writability
  bool awaiting_pong = false;    // we sent a ping; the next lone CRLF is its pong
  int crlf_pairs = 0;            // CRLFs seen since the last message (2 = ping)
  uint32_t interest = 0;
  TimePoint last_activity;
  Scheduler::TimerId idle_timer = 0;
  Scheduler::TimerId setup_timer = 0;

  size_t pending() const { return out.size() - out_offset; }
};

StreamTransport::StreamTransport(const StreamConfig& config, FdPoller& poller, Scheduler& scheduler,
                                 ReceiveHandler handler)
    : config_(config),
      poller_(poller),
      scheduler_(scheduler),
      handler_(std::move(handler)),
      scratch_(kScratchBytes) {
  // Both FrameStream limits at the message limit; the total is checked here.
  limits_.max_header_bytes = config.max_message_bytes;
  limits_.max_body_bytes = config.max_message_bytes;
}

Result<std::unique_ptr<StreamTransport>> StreamTransport::Create(const StreamConfig& config, FdPoller& poller,
                                                                 Scheduler& scheduler,
                                                                 ReceiveHandler handler) {
  const std::string name(ProtocolName(config.protocol));
  if (config.protocol == Protocol::kUdp) return Error{"stream transport: protocol must be TCP or TLS"};
  if (config.max_message_bytes < kMinMessageBytes) return Error{name + ": max_message_bytes below 512"};
  if (config.max_write_buffer_bytes < config.max_message_bytes) {
    return Error{name + ": max_write_buffer_bytes below max_message_bytes"};
  }
  if (config.max_connections == 0 || config.max_connections_per_peer == 0) {
    return Error{name + ": connection limits must be positive"};
  }
  if (config.idle_timeout <= Duration::zero() || config.setup_timeout <= Duration::zero()) {
    return Error{name + ": timeouts must be positive"};
  }
  std::unique_ptr<StreamTransport> transport(
      new StreamTransport(config, poller, scheduler, std::move(handler)));
  if (config.protocol == Protocol::kTls) {
    auto tls = TlsContext::Create(config.tls);
    if (!tls.ok()) return Error{tls.error()};
    if (!config.listen_addresses.empty() && !(*tls)->can_serve()) {
      return Error{"TLS: listening needs certificate_file and private_key_file"};
    }
    transport->tls_ = std::move(*tls);
  }
  for (const SocketAddress& address : config.listen_addresses) {
    auto fd_or = internal::OpenSocket(address, SOCK_STREAM);
    if (!fd_or.ok()) return Error{name + " " + address.ToString() + ": " + fd_or.error()};
    ScopedFd fd(*fd_or);
    const int on = 1;
    // Rebinding a port whose old connections sit in TIME_WAIT after a restart.
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
      return Error{name + ": " + ErrnoError("setsockopt(SO_REUSEADDR)").message};
    }
    if (bind(fd.get(), address.sockaddr_ptr(), address.length()) != 0) {
      return Error{name + " " + address.ToString() + ": " + ErrnoError("bind").message};
    }
    if (listen(fd.get(), config.listen_backlog) != 0) {
      return Error{name + " " + address.ToString() + ": " + ErrnoError("listen").message};
    }
    auto local = internal::BoundAddress(fd.get());
    if (!local.ok()) return Error{name + ": " + local.error()};
    transport->listeners_.push_back(Listener{fd.release(), *local});
  }
  for (size_t i = 0; i < transport->listeners_.size(); ++i) {
    StreamTransport* self = transport.get();
    Status watched = poller.Watch(transport->listeners_[i].fd, kPollReadable,
                                  [self, i](uint32_t) { self->OnListenerReadable(i); });
    if (!watched.ok()) {
      for (size_t j = 0; j < i; ++j) poller.Unwatch(transport->listeners_[j].fd);
      for (Listener& listener : transport->listeners_) {
        close(listener.fd);
        listener.fd = -1;
      }
      return Error{name + ": " + watched.error()};
    }
  }
  return transport;
}

StreamTransport::~StreamTransport() {
  while (!connections_.empty()) Close(connections_.begin()->second.get(), CloseReason::kShutdown, "shutdown");
  for (Listener& listener : listeners_) {
    if (listener.resume_timer != 0) scheduler_.Cancel(listener.resume_timer);
    if (listener.fd < 0) continue;
    poller_.Unwatch(listener.fd);
    close(listener.fd);
  }
}

StreamTransport::Connection* StreamTransport::Find(uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

StreamTransport::Connection* StreamTransport::FindReusable(const SocketAddress& address,
                                                           const std::string& server_name,
                                                           bool allow_inbound) const {
  auto [begin, end] = by_remote_.equal_range(address.ToString());
  for (auto it = begin; it != end; ++it) {
    Connection* conn = Find(it->second);
    if (conn == nullptr) continue;
    if (is_tls()) {
      // A TLS connection is only as good as the name it was verified for; an inbound
      // one verified no server name at all.
      if (conn->outbound ? !EqualsIgnoreCase(conn->server_name, server_name) : !allow_inbound) continue;
    }
    return conn;
  }
  return nullptr;
}

Status StreamTransport::Send(const Destination& destination, std::span<const char> message) {
  auto id = SendOnConnection(destination, message);
  if (!id.ok()) return Error{id.error()};
  return Status::Ok();
}

Result<uint64_t> StreamTransport::SendOnConnection(const Destination& destination,
                                                   std::span<const char> message) {
  const std::string name(ProtocolName(config_.protocol));
  if (destination.protocol != config_.protocol) {
    ++counters_.send_errors;
    return Error{name + " transport cannot send " + std::string(ProtocolName(destination.protocol))};
  }
  if (message.empty()) {
    ++counters_.send_errors;
    return Error{name + ": empty message"};
  }
  Connection* conn = destination.connection_id != 0 ? Find(destination.connection_id) : nullptr;
  if (conn == nullptr) {
    // RFC 3261 18.2.2: the request's connection is gone; open one to the address.
    if (!destination.address.valid()) {
      ++counters_.send_errors;
      return Error{name + ": connection " + std::to_string(destination.connection_id) +
                   " is closed and no address is given"};
    }
    // Without a name, verify the certificate against the address itself.
    const std::string server_name = !is_tls()                             ? std::string()
                                    : destination.tls_server_name.empty() ? destination.address.HostString()
                                                                          : destination.tls_server_name;
    conn = FindReusable(destination.address, server_name, destination.tls_server_name.empty());
    if (conn == nullptr) {
      auto opened = Open(destination.address, server_name);
      if (!opened.ok()) {
        ++counters_.send_errors;
        return Error{opened.error()};
      }
      conn = *opened;
    }
  }
  const uint64_t id = conn->id;
  if (Status queued = Queue(conn, message); !queued.ok()) {
    ++counters_.send_errors;
    return Error{queued.error()};
  }
  ++counters_.messages_sent;
  return id;
}

Result<StreamTransport::Connection*> StreamTransport::Open(const SocketAddress& address,
                                                           const std::string& server_name) {
  const std::string name(ProtocolName(config_.protocol));
  if (connections_.size() >= config_.max_connections) {
    ++counters_.drop_too_many_connections;
    return Error{name + ": connection limit reached"};
  }
  auto fd_or = internal::OpenSocket(address, SOCK_STREAM);
  if (!fd_or.ok()) return Error{name + " " + address.ToString() + ": " + fd_or.error()};
  ScopedFd fd(*fd_or);
  State state = State::kConnecting;
  if (connect(fd.get(), address.sockaddr_ptr(), address.length()) == 0) {
    // TLS waits for the writable event all the same, so that the handshake (and any
    // read it leads to) never runs inside Send, possibly nested in a receive handler.
    if (!is_tls()) state = State::kOpen;
  } else if (errno != EINPROGRESS) {
    ++counters_.connect_failures;
    return Error{name + " " + ErrnoError("connect " + address.ToString()).message};
  }
  auto conn = Adopt(fd.release(), address, /*outbound=*/true, state, server_name);
  if (!conn.ok()) return conn;
  ++counters_.connections_opened;
  return conn;
}

Result<StreamTransport::Connection*> StreamTransport::Adopt(int raw_fd, const SocketAddress& remote,
                                                            bool outbound, State state,
                                                            const std::string& server_name) {
  ScopedFd fd(raw_fd);
  const int on = 1;
  // A SIP message goes out in one write; Nagle would only delay it.
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  auto conn = std::make_unique<Connection>();
  conn->id = next_connection_id_++;
  conn->fd = fd.get();
  conn->remote = remote;
  auto local = internal::BoundAddress(fd.get());
  if (local.ok()) conn->local = *local;
  conn->remote_key = remote.ToString();
  conn->peer_key = remote.HostString();
  conn->outbound = outbound;
  conn->state = state;
  conn->server_name = server_name;
  conn->last_activity = scheduler_.clock().Now();
  if (is_tls()) {
    conn->ssl = outbound ? tls_->NewClient(fd.get(), server_name) : tls_->NewServer(fd.get());
    if (conn->ssl == nullptr) {
      return Error{"TLS: cannot set up a session for " + remote.ToString() + " (name \"" + server_name +
                   "\"): " + TakeOpenSslErrors()};
    }
  }
  conn->interest = state == State::kConnecting ? kPollWritable : kPollReadable;
  const uint64_t id = conn->id;
  Status watched =
      poller_.Watch(fd.get(), conn->interest, [this, id](uint32_t events) { OnConnectionEvent(id, events); });
  if (!watched.ok()) {
    if (conn->ssl != nullptr) SSL_free(conn->ssl);
    return Error{std::string(ProtocolName(config_.protocol)) + ": " + watched.error()};
  }
  fd.release();
  conn->idle_timer = scheduler_.Schedule(config_.idle_timeout, [this, id] { OnIdleTimer(id); });
  if (state != State::kOpen) {
    conn->setup_timer = scheduler_.Schedule(config_.setup_timeout, [this, id] { OnSetupTimeout(id); });
  }
  by_remote_.emplace(conn->remote_key, id);
  if (!outbound) ++inbound_per_peer_[conn->peer_key];
  Connection* raw = conn.get();
  connections_.emplace(id, std::move(conn));
  return raw;
}

void StreamTransport::OnListenerReadable(size_t index) {
  const int listen_fd = listeners_[index].fd;
  for (;;) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    const int fd =
        accept4(listen_fd, reinterpret_cast<sockaddr*>(&storage), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // drained
      // Out of descriptors or memory: the connection stays in the backlog, and the
      // level-triggered listener would spin. Pause it for a moment instead.
      ++counters_.receive_errors;
      Listener& listener = listeners_[index];
      if (listener.resume_timer == 0 && poller_.SetInterest(listen_fd, 0).ok()) {
        listener.resume_timer = scheduler_.Schedule(kAcceptPause, [this, index] {
          listeners_[index].resume_timer = 0;
          if (!poller_.SetInterest(listeners_[index].fd, kPollReadable).ok()) ++counters_.receive_errors;
        });
      }
      return;
    }
    const SocketAddress remote = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
    auto per_peer = inbound_per_peer_.find(remote.HostString());
    const size_t from_peer = per_peer == inbound_per_peer_.end() ? 0 : per_peer->second;
    if (connections_.size() >= config_.max_connections || from_peer >= config_.max_connections_per_peer) {
      ++counters_.drop_too_many_connections;
      close(fd);
      continue;
    }
    auto conn = Adopt(fd, remote, /*outbound=*/false, is_tls() ? State::kHandshaking : State::kOpen, "");
    if (!conn.ok()) {
      ++counters_.receive_errors;
      continue;
    }
    ++counters_.connections_accepted;
  }
}

void StreamTransport::OnConnectionEvent(uint64_t id, uint32_t events) {
  Connection* conn = Find(id);
  if (conn == nullptr) return;
  switch (conn->state) {
    case State::kConnecting: {
      int error = 0;
      socklen_t length = sizeof(error);
      if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      if (error != 0) {
        ++counters_.connect_failures;
        Close(conn, CloseReason::kConnectFailed,
              ErrnoError("connect " + conn->remote.ToString(), error).message);
        return;
      }
      if (events & (kPollWritable | kPollError)) OnConnected(conn);
      return;
    }
    case State::kHandshaking:
      DriveHandshake(conn);
      return;
    case State::kOpen:
      if (events & (kPollReadable | kPollError)) {
        if (!ReadAvailable(conn)) return;
      }
      if (conn->pending() > 0 || conn->tls_wants_write) Flush(conn);
      return;
  }
}

void StreamTransport::OnConnected(Connection* conn) {
  if (is_tls()) {
    conn->state = State::kHandshaking;
    DriveHandshake(conn);
    return;
  }
  conn->state = State::kOpen;
  scheduler_.Cancel(conn->setup_timer);
  conn->setup_timer = 0;
  Flush(conn);
}

void StreamTransport::DriveHandshake(Connection* conn) {
  ERR_clear_error();
  const int result = SSL_do_handshake(conn->ssl);
  if (result == 1) {
    conn->state = State::kOpen;
    conn->tls_wants_write = false;
    scheduler_.Cancel(conn->setup_timer);
    conn->setup_timer = 0;
    conn->last_activity = scheduler_.clock().Now();
    const uint64_t id = conn->id;
    if (!Flush(conn)) return;
    // Application data may have arrived with the last handshake flight and now sits
    // decrypted inside OpenSSL, where the poller cannot see it.
    if (Find(id) != nullptr) ReadAvailable(conn);
    return;
  }
  switch (SSL_get_error(conn->ssl, result)) {
    case SSL_ERROR_WANT_READ:
      conn->tls_wants_write = false;
      UpdateInterest(conn);
      return;
    case SSL_ERROR_WANT_WRITE:
      conn->tls_wants_write = true;
      UpdateInterest(conn);
      return;
    default:
      break;
  }
  std::string detail;
  const long verify = SSL_get_verify_result(conn->ssl);  // NOLINT(runtime/int)
  if (verify != X509_V_OK) {
    detail = std::string("TLS certificate verification failed: ") + X509_verify_cert_error_string(verify);
  } else {
    detail = "TLS handshake failed: " + TakeOpenSslErrors();
  }
  ERR_clear_error();
  ++counters_.tls_handshake_failures;
  Close(conn, CloseReason::kHandshakeFailed, detail);
}

// Runs only from poller events (never nested in a receive handler), so the shared
// scratch_ buffer under a Consume in progress is never overwritten.
bool StreamTransport::ReadAvailable(Connection* conn) {
  const uint64_t id = conn->id;
  for (;;) {
    ssize_t n;
    if (conn->ssl != nullptr) {
      ERR_clear_error();
      n = SSL_read(conn->ssl, scratch_.data(), static_cast<int>(scratch_.size()));
      if (n <= 0) {
        const int error = SSL_get_error(conn->ssl, static_cast<int>(n));
        if (error == SSL_ERROR_WANT_READ) {
          if (conn->tls_wants_write) {
            conn->tls_wants_write = false;
            UpdateInterest(conn);
          }
          return true;
        }
        if (error == SSL_ERROR_WANT_WRITE) {
          conn->tls_wants_write = true;
          UpdateInterest(conn);
          return true;
        }
        if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
          Close(conn, CloseReason::kPeerClosed, "closed by peer");
        } else {
          ++counters_.receive_errors;
          Close(conn, CloseReason::kReadError, "TLS read: " + TakeOpenSslErrors());
        }
        return false;
      }
    } else {
      n = recv(conn->fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
      if (n == 0) {
        Close(conn, CloseReason::kPeerClosed, "closed by peer");
        return false;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        ++counters_.receive_errors;
        Close(conn, CloseReason::kReadError, ErrnoError("recv").message);
        return false;
      }
    }
    counters_.bytes_received += static_cast<uint64_t>(n);
    conn->last_activity = scheduler_.clock().Now();
    if (!Consume(conn, scratch_.data(), static_cast<size_t>(n))) return false;
    if (Find(id) == nullptr) return false;
  }
}

bool StreamTransport::Consume(Connection* conn, const char* data, size_t size) {
  const uint64_t id = conn->id;
  // Frame straight from the read buffer when nothing is pending; copy only the tail
  // of an incomplete message.
  const bool from_scratch = conn->in.empty();
  if (!from_scratch) conn->in.append(data, size);
  const std::string_view buffered = from_scratch ? std::string_view(data, size) : std::string_view(conn->in);
  size_t consumed = 0;
  while (consumed < buffered.size()) {
    const std::string_view rest = buffered.substr(consumed);
    const sip::FrameResult frame = sip::FrameStream(rest, limits_);
    if (frame.status == sip::FrameResult::Status::kKeepAlive) {
      consumed += frame.size;
      for (size_t pairs = frame.size / 2; pairs > 0; --pairs) {
        if (conn->awaiting_pong && conn->crlf_pairs == 0) {
          conn->awaiting_pong = false;  // the pong to our ping
          continue;
        }
        if (++conn->crlf_pairs < 2) continue;
        // RFC 5626 3.5.1: a double CRLF ping gets a single CRLF pong.
        conn->crlf_pairs = 0;
        ++counters_.keepalives_received;
        const Status pong = Queue(conn, std::span<const char>(kPong, 2));
        if (Find(id) == nullptr) return false;
        if (pong.ok()) ++counters_.pongs_sent;  // else the queue is full: the peer is not reading
      }
      continue;
    }
    if (frame.status == sip::FrameResult::Status::kError) {
      const bool oversize = IsSizeError(frame.reason);
      ++(oversize ? counters_.drop_oversize : counters_.drop_framing_error);
      Close(conn, oversize ? CloseReason::kOversize : CloseReason::kFramingError,
            frame.reason != nullptr ? frame.reason : "framing error");
      return false;
    }
    if (frame.size > config_.max_message_bytes) {
      ++counters_.drop_oversize;
      Close(conn, CloseReason::kOversize,
            "message of " + std::to_string(frame.size) + " octets over the limit");
      return false;
    }
    if (frame.status == sip::FrameResult::Status::kNeedMore) break;
    conn->crlf_pairs = 0;
    Received received;
    received.bytes = std::span<const char>(rest.data(), frame.size);
    received.protocol = config_.protocol;
    received.source = conn->remote;
    received.local = conn->local;
    received.connection_id = id;
    ++counters_.messages_received;
    handler_(received);
    // The handler may have closed the connection (and freed the buffer under rest).
    if (Find(id) == nullptr) return false;
    consumed += frame.size;
  }
  if (from_scratch) {
    conn->in.assign(buffered.substr(consumed));
  } else {
    conn->in.erase(0, consumed);
  }
  if (conn->in.size() >= config_.max_message_bytes) {
    ++counters_.drop_oversize;
    Close(conn, CloseReason::kOversize, "incomplete message over the limit");
    return false;
  }
  return true;
}

ptrdiff_t StreamTransport::WriteSome(Connection* conn, const char* data, size_t size, std::string& error) {
  for (;;) {
    ptrdiff_t n;
    if (conn->ssl != nullptr) {
      ERR_clear_error();
      n = SSL_write(conn->ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      if (n <= 0) {
        const int code = SSL_get_error(conn->ssl, static_cast<int>(n));
        // WANT_READ: resumed from the readable event, which flushes after reading.
        if (code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ) return 0;
        error = "TLS write: " + TakeOpenSslErrors();
        return -1;
      }
    } else {
      n = send(conn->fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        error = ErrnoError("send to " + conn->remote.ToString()).message;
        return -1;
      }
    }
    counters_.bytes_sent += static_cast<uint64_t>(n);
    conn->last_activity = scheduler_.clock().Now();
    return n;
  }
}

Status StreamTransport::Queue(Connection* conn, std::span<const char> bytes) {
  if (conn->pending() + bytes.size() > config_.max_write_buffer_bytes) {
    return Error{std::string(ProtocolName(config_.protocol)) + ": write buffer to " +
                 conn->remote.ToString() + " full"};
  }
  size_t written = 0;
  if (conn->state == State::kOpen && conn->pending() == 0) {
    // Straight from the caller's buffer; only a remainder is copied. With a non-empty
    // queue the socket is not writable anyway: append and wait for the poller. A
    // failure here loses only this message, so it is returned, not reported.
    std::string error;
    const ptrdiff_t n = WriteSome(conn, bytes.data(), bytes.size(), error);
    if (n < 0) {
      Close(conn, CloseReason::kWriteError, error);
      return Error{error};
    }
    written = static_cast<size_t>(n);
    if (written == bytes.size()) return Status::Ok();
    // TLS after WANT_WRITE: the retry must present the same octets, which it will,
    // from the queue (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
  }
  conn->out.append(bytes.data() + written, bytes.size() - written);
  if (conn->state == State::kOpen) UpdateInterest(conn);  // else flushed once connected
  return Status::Ok();
}

bool StreamTransport::Flush(Connection* conn) {
  while (conn->pending() > 0) {
    std::string error;
    const ptrdiff_t n = WriteSome(conn, conn->out.data() + conn->out_offset, conn->pending(), error);
    if (n < 0) {
      Close(conn, CloseReason::kWriteError, error);
      return false;
    }
    if (n == 0) break;
    conn->out_offset += static_cast<size_t>(n);
  }
  if (conn->pending() == 0) {
    conn->out.clear();
    conn->out_offset = 0;
  } else if (conn->out_offset > conn->out.size() / 2) {
    conn->out.erase(0, conn->out_offset);  // keep the queue from creeping forward
    conn->out_offset = 0;
  }
  UpdateInterest(conn);
  return true;
}

void StreamTransport::UpdateInterest(Connection* conn) {
  uint32_t interest = kPollReadable;
  if (conn->state == State::kConnecting) {
    interest = kPollWritable;
  } else if (conn->tls_wants_write || (conn->state == State::kOpen && conn->pending() > 0)) {
    interest |= kPollWritable;
  }
  if (interest == conn->interest) return;
  conn->interest = interest;
  // Fails only for an fd the poller does not know, which would be a bug here.
  if (Status status = poller_.SetInterest(conn->fd, interest); !status.ok()) ++counters_.receive_errors;
}

void StreamTransport::OnIdleTimer(uint64_t id) {
  Connection* conn = Find(id);
  if (conn == nullptr) return;
  conn->idle_timer = 0;
  const Duration idle = scheduler_.clock().Now() - conn->last_activity;
  if (idle < config_.idle_timeout) {
    // Activity since the timer was set: sleep for the rest instead of rescheduling on
    // every octet.
    conn->idle_timer = scheduler_.Schedule(config_.idle_timeout - idle, [this, id] { OnIdleTimer(id); });
    return;
  }
  ++counters_.idle_closes;
  Close(conn, CloseReason::kIdle, "idle timeout");
}

void StreamTransport::OnSetupTimeout(uint64_t id) {
  Connection* conn = Find(id);
  if (conn == nullptr || conn->state == State::kOpen) return;
  conn->setup_timer = 0;
  if (conn->state == State::kConnecting) {
    ++counters_.connect_failures;
    Close(conn, CloseReason::kConnectFailed, "connect timeout");
  } else {
    ++counters_.tls_handshake_failures;
    Close(conn, CloseReason::kHandshakeFailed, "TLS handshake timeout");
  }
}

Status StreamTransport::SendKeepAlive(uint64_t connection_id) {
  Connection* conn = Find(connection_id);
  if (conn == nullptr) return Error{"no connection " + std::to_string(connection_id)};
  conn->awaiting_pong = true;
  return Queue(conn, std::span<const char>(kPing, 4));
}

void StreamTransport::CloseConnection(uint64_t connection_id) {
  if (Connection* conn = Find(connection_id)) Close(conn, CloseReason::kLocal, "closed locally");
}

std::optional<ConnectionInfo> StreamTransport::FindConnection(uint64_t connection_id) const {
  const Connection* conn = Find(connection_id);
  if (conn == nullptr) return std::nullopt;
  ConnectionInfo info;
  info.id = conn->id;
  info.remote = conn->remote;
  info.local = conn->local;
  info.outbound = conn->outbound;
  info.established = conn->state == State::kOpen;
  info.queued_bytes = conn->pending();
  info.tls_server_name = conn->server_name;
  return info;
}

std::optional<SocketAddress> StreamTransport::LocalAddress(Protocol protocol) const {
  if (protocol != config_.protocol || listeners_.empty()) return std::nullopt;
  return listeners_.front().local;
}

std::vector<SocketAddress> StreamTransport::ListenAddresses() const {
  std::vector<SocketAddress> out;
  for (const Listener& listener : listeners_) out.push_back(listener.local);
  return out;
}

void StreamTransport::Close(Connection* conn, CloseReason reason, const std::string& detail) {
  const uint64_t id = conn->id;
  // Queued octets, or a connection that never opened, mean messages that were
  // accepted by Send and will not arrive: a transport error for the transaction layer.
  const bool lost_messages = conn->pending() > 0 || (conn->outbound && conn->state != State::kOpen);
  const bool report = lost_messages && reason != CloseReason::kShutdown && reason != CloseReason::kLocal;
  SendError error;
  if (report) {
    error.protocol = config_.protocol;
    error.remote = conn->remote;
    error.connection_id = id;
    error.reason = detail;
    ++counters_.send_errors;
  }
  scheduler_.Cancel(conn->idle_timer);
  if (conn->setup_timer != 0) scheduler_.Cancel(conn->setup_timer);
  poller_.Unwatch(conn->fd);
  if (conn->ssl != nullptr) {
    // Best-effort close_notify (RFC 8446 6.1) when closing on our own initiative; not
    // after the peer left or an I/O error (OpenSSL forbids SSL_shutdown after
    // SSL_ERROR_SYSCALL / SSL_ERROR_SSL).
    const bool ours = reason == CloseReason::kIdle || reason == CloseReason::kLocal ||
                      reason == CloseReason::kShutdown || reason == CloseReason::kOversize ||
                      reason == CloseReason::kFramingError;
    if (conn->state == State::kOpen && ours) {
      ERR_clear_error();
      SSL_shutdown(conn->ssl);
    }
    ERR_clear_error();
    SSL_free(conn->ssl);
  }
  close(conn->fd);
  auto [begin, end] = by_remote_.equal_range(conn->remote_key);
  for (auto it = begin; it != end; ++it) {
    if (it->second == id) {
      by_remote_.erase(it);
      break;
    }
  }
  if (!conn->outbound) {
    auto it = inbound_per_peer_.find(conn->peer_key);
    if (it != inbound_per_peer_.end() && --it->second == 0) inbound_per_peer_.erase(it);
  }
  connections_.erase(id);
  ++counters_.connections_closed;
  if (report && send_error_handler_) send_error_handler_(error);
}

}  // namespace linegate::signaling::transport
