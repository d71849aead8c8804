#pragma once
// OpenSSL 3 context for SIP over TLS (RFC 3261 26.2.1, RFC 5630): TLS 1.2 and 1.3
// only, one SSL_CTX for both the server and the client side of a StreamTransport.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace linegate::signaling::transport {

struct TlsConfig {
  // PEM certificate chain and private key; required to accept connections, optional
  // for a client (presented when a server asks for a client certificate).
  std::string certificate_file;
  std::string private_key_file;
  // PEM trust anchors. Empty: the system store (OpenSSL's default paths).
  std::string ca_file;
  // Client side: verify the server's chain and its name against
  // Destination::tls_server_name (RFC 5922 7.2). Off only for lab use.
  bool verify_peer = true;
  // Server side: require and verify a client certificate (mutual TLS).
  bool require_client_certificate = false;
};

class TlsContext {
 public:
  static Result<std::unique_ptr<TlsContext>> Create(const TlsConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool can_serve() const { return can_serve_; }
  const TlsConfig& config() const { return config_; }

  // A new SSL for a connected non-blocking socket, with I/O that never raises SIGPIPE.
  // Client: SNI and host-name verification for server_name (an IP address literal is
  // checked against the certificate's IP SANs instead). Returns nullptr on failure.
  SSL* NewClient(int fd, const std::string& server_name) const;
  SSL* NewServer(int fd) const;

 private:
  TlsContext(SSL_CTX* ctx, const TlsConfig& config, bool can_serve)
      : ctx_(ctx), config_(config), can_serve_(can_serve) {}
  SSL* NewSsl(int fd) const;

  SSL_CTX* ctx_;
  TlsConfig config_;
  bool can_serve_;
};

// The OpenSSL error queue as text (and cleared): "error:...:...".
std::string TakeOpenSslErrors();

}  // namespace linegate::signaling::transport
