#include "signaling/transport/tls_context.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

namespace linegate::signaling::transport {
namespace {

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own socket BIO uses write(2),
// which raises SIGPIPE on a reset connection and would kill a process that has not
// ignored it. The BIO holds the fd; the transport closes it.
int NoSignalWrite(BIO* bio, const char* data, int size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
  BIO_clear_retry_flags(bio);
  const ssize_t n = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int NoSignalRead(BIO* bio, char* data, int size) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(fd, data, static_cast<size_t>(size), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long NoSignalCtrl(BIO*, int command, long, void*) {  // NOLINT(runtime/int): OpenSSL's signature
  // SSL only needs flush to succeed; everything else is "not supported".
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int NoSignalCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* NoSignalSocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "linegate socket");
    BIO_meth_set_write(m, NoSignalWrite);
    BIO_meth_set_read(m, NoSignalRead);
    BIO_meth_set_ctrl(m, NoSignalCtrl);
    BIO_meth_set_create(m, NoSignalCreate);
    return m;
  }();
  return method;
}

}  // namespace

std::string TakeOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {  // NOLINT(runtime/int)
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Result<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsConfig& config) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return Error{"SSL_CTX_new: " + TakeOpenSslErrors()};
  auto fail = [ctx](const std::string& what) {
    SSL_CTX_free(ctx);
    return Error{what + ": " + TakeOpenSslErrors()};
  };
  // RFC 3261 26.2.1 requires TLS; nothing older than 1.2 is still acceptable (RFC 8996).
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return fail("TLS minimum version");
  // Writes come from a connection's queue, which may move between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);

  bool can_serve = false;
  if (!config.certificate_file.empty() || !config.private_key_file.empty()) {
    if (config.certificate_file.empty() || config.private_key_file.empty()) {
      SSL_CTX_free(ctx);
      return Error{"TLS: certificate_file and private_key_file go together"};
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate_file.c_str()) != 1) {
      return fail("TLS certificate " + config.certificate_file);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail("TLS private key " + config.private_key_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) return fail("TLS key does not match certificate");
    can_serve = true;
  }
  if (!config.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
      return fail("TLS CA file " + config.ca_file);
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return fail("TLS system trust store");
  }
  ERR_clear_error();
  return std::unique_ptr<TlsContext>(new TlsContext(ctx, config, can_serve));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::NewSsl(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(NoSignalSocketMethod());
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by the SSL
  return ssl;
}

SSL* TlsContext::NewClient(int fd, const std::string& server_name) const {
  in6_addr ignored;
  const bool is_ip = inet_pton(AF_INET, server_name.c_str(), &ignored) == 1 ||
                     inet_pton(AF_INET6, server_name.c_str(), &ignored) == 1;
  SSL* ssl = NewSsl(fd);
  if (ssl == nullptr) return nullptr;
  if (config_.verify_peer) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    // RFC 5922 7.2: the SIP domain must match a DNS SAN (no partial wildcards).
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), server_name.size());
    if (server_name.empty() || named != 1) {
      SSL_free(ssl);
      return nullptr;
    }
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
  // SNI carries names only (RFC 6066 3: no IP literals).
  if (!server_name.empty() && !is_ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  return ssl;
}

SSL* TlsContext::NewServer(int fd) const {
  SSL* ssl = NewSsl(fd);
  if (ssl == nullptr) return nullptr;
  SSL_set_verify(ssl,
                 config_.require_client_certificate ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                    : SSL_VERIFY_NONE,
                 nullptr);
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace linegate::signaling::transport
