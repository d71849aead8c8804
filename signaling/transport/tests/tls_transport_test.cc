// StreamTransport over TLS on loopback: a throwaway CA and a certificate for
// "sip.test" are made with the openssl command line in a temporary directory.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "signaling/transport/stream_transport.h"
#include "signaling/transport/tests/test_loop.h"

namespace linegate::signaling::transport {
namespace {

using namespace std::chrono_literals;
using testing::Loopback4;
using testing::Loopback6;
using testing::MakeRequest;
using testing::RawPeer;
using testing::TestLoop;

namespace fs = std::filesystem;

// Two CAs: "trusted" signs the server certificate for sip.test, "other" signs nothing.
class Pki {
 public:
  bool Make() {
    std::string pattern = (fs::temp_directory_path() / "linegate-tls-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return false;
    dir_ = pattern;
    Write(
        "ca.cnf",
        "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = linegate test CA\n"
        "[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier = hash\n");
    Write("leaf.cnf", "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = sip.test\n");
    Write("leaf.ext",
          "subjectAltName = DNS:sip.test\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
          "extendedKeyUsage = serverAuth,clientAuth\n");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    return Run("req -x509 -config ca.cnf" + ec + " -keyout ca.key -out ca.pem -days 2") &&
           Run("req -x509 -config ca.cnf" + ec + " -keyout other.key -out other.pem -days 2") &&
           Run("req -new -config leaf.cnf" + ec + " -keyout server.key -out server.csr") &&
           Run("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -out server.pem "
               "-extfile leaf.ext");
  }
  ~Pki() {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }
  std::string Path(const char* name) const { return (fs::path(dir_) / name).string(); }

 private:
  void Write(const char* name, const std::string& text) { std::ofstream(Path(name)) << text; }
  bool Run(const std::string& args) {
    const std::string command = "cd '" + dir_ + "' && openssl " + args + " >>openssl.log 2>&1";
    return std::system(command.c_str()) == 0;
  }
  std::string dir_;
};

struct Inbox {
  std::vector<std::string> messages;
  std::vector<uint64_t> connection_ids;
  std::vector<SendError> errors;
  ReceiveHandler Handler() {
    return [this](const Received& r) {
      EXPECT_EQ(r.protocol, Protocol::kTls);
      messages.emplace_back(r.bytes.data(), r.bytes.size());
      connection_ids.push_back(r.connection_id);
    };
  }
};

std::span<const char> Bytes(const std::string& s) { return {s.data(), s.size()}; }

class TlsTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki();
    if (!pki_->Make()) {
      delete pki_;
      pki_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(pki_, nullptr) << "could not make test certificates with openssl"; }

  std::unique_ptr<StreamTransport> MakeServer(const SocketAddress& listen = Loopback4()) {
    StreamConfig config;
    config.protocol = Protocol::kTls;
    config.listen_addresses = {listen};
    config.tls.certificate_file = pki_->Path("server.pem");
    config.tls.private_key_file = pki_->Path("server.key");
    auto server = StreamTransport::Create(config, loop_.poller(), loop_.scheduler(), server_in_.Handler());
    EXPECT_TRUE(server.ok()) << server.error();
    return server.ok() ? std::move(*server) : nullptr;
  }
  std::unique_ptr<StreamTransport> MakeClient(const char* ca = "ca.pem", bool verify = true,
                                              Duration setup_timeout = std::chrono::seconds(8)) {
    StreamConfig config;
    config.protocol = Protocol::kTls;
    config.tls.ca_file = pki_->Path(ca);
    config.tls.verify_peer = verify;
    config.setup_timeout = setup_timeout;
    auto client = StreamTransport::Create(config, loop_.poller(), loop_.scheduler(), client_in_.Handler());
    EXPECT_TRUE(client.ok()) << client.error();
    if (!client.ok()) return nullptr;
    (*client)->SetSendErrorHandler([this](const SendError& e) { client_in_.errors.push_back(e); });
    return std::move(*client);
  }
  static Destination To(const SocketAddress& address, const std::string& name, uint64_t connection_id = 0) {
    Destination d;
    d.protocol = Protocol::kTls;
    d.address = address;
    d.tls_server_name = name;
    d.connection_id = connection_id;
    return d;
  }
  // Sends one request that must fail verification; returns the reported reason.
  std::string ExpectRefused(StreamTransport& client, StreamTransport& server, const std::string& name) {
    const SocketAddress addr = *server.LocalAddress(Protocol::kTls);
    auto id = client.SendOnConnection(To(addr, name), Bytes(MakeRequest("refused")));
    EXPECT_TRUE(id.ok());  // the handshake completes later
    EXPECT_TRUE(loop_.RunUntil([&] { return client_in_.errors.size() == 1; }));
    if (client_in_.errors.empty()) return "";
    EXPECT_EQ(client_in_.errors[0].connection_id, id.ok() ? *id : 0);
    EXPECT_EQ(client_in_.errors[0].protocol, Protocol::kTls);
    EXPECT_EQ(client.counters().tls_handshake_failures, 1u);
    EXPECT_EQ(client.counters().send_errors, 1u);
    EXPECT_EQ(client.connection_count(), 0u);
    // The server sees the alert and gives up too; it never gets the request.
    EXPECT_TRUE(loop_.RunUntil([&] { return server.counters().tls_handshake_failures == 1; }));
    EXPECT_TRUE(server_in_.messages.empty());
    return client_in_.errors[0].reason;
  }

  static Pki* pki_;
  TestLoop loop_;
  Inbox server_in_, client_in_;
};

Pki* TlsTransportTest::pki_ = nullptr;

TEST_F(TlsTransportTest, HandshakeWithTheRightNameCarriesMessagesBothWays) {
  auto server = MakeServer();
  auto client = MakeClient();
  ASSERT_TRUE(server && client);
  const SocketAddress addr = *server->LocalAddress(Protocol::kTls);
  const std::string request = MakeRequest("tls-1", 3000);
  auto id = client->SendOnConnection(To(addr, "sip.test"), Bytes(request));
  ASSERT_TRUE(id.ok()) << id.error();
  ASSERT_TRUE(loop_.RunUntil([&] { return server_in_.messages.size() == 1; }));
  EXPECT_EQ(server_in_.messages[0], request);
  EXPECT_EQ(client->FindConnection(*id)->tls_server_name, "sip.test");

  const std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE(server->Send(To(SocketAddress(), "", server_in_.connection_ids[0]), Bytes(response)).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return client_in_.messages.size() == 1; }));
  EXPECT_EQ(client_in_.messages[0], response);

  // Reused for the same name (any case), not for another name.
  auto again = client->SendOnConnection(To(addr, "SIP.test"), Bytes(MakeRequest("tls-2")));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
  ASSERT_TRUE(loop_.RunUntil([&] { return server_in_.messages.size() == 2; }));
  EXPECT_EQ(client->counters().connections_opened, 1u);
  EXPECT_EQ(client->counters().tls_handshake_failures, 0u);
  EXPECT_TRUE(client_in_.errors.empty());
  // Keep-alives work inside TLS too.
  ASSERT_TRUE(client->SendKeepAlive(*id).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return server->counters().pongs_sent == 1; }));
}

TEST_F(TlsTransportTest, WrongNameIsRefused) {
  auto server = MakeServer();
  auto client = MakeClient();
  ASSERT_TRUE(server && client);
  const std::string reason = ExpectRefused(*client, *server, "other.test");
  EXPECT_NE(reason.find("mismatch"), std::string::npos) << reason;
}

TEST_F(TlsTransportTest, UntrustedCaIsRefused) {
  auto server = MakeServer();
  auto client = MakeClient("other.pem");
  ASSERT_TRUE(server && client);
  const std::string reason = ExpectRefused(*client, *server, "sip.test");
  EXPECT_NE(reason.find("verification failed"), std::string::npos) << reason;
}

TEST_F(TlsTransportTest, NoNameMeansTheAddressMustBeInTheCertificate) {
  auto server = MakeServer();
  auto client = MakeClient();
  ASSERT_TRUE(server && client);
  ExpectRefused(*client, *server, "");  // the certificate has no IP SAN for 127.0.0.1
}

TEST_F(TlsTransportTest, VerificationOffConnectsWhateverTheName) {
  auto server = MakeServer();
  auto client = MakeClient("other.pem", /*verify=*/false);
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(
      client->Send(To(*server->LocalAddress(Protocol::kTls), "other.test"), Bytes(MakeRequest("v"))).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return server_in_.messages.size() == 1; }));
}

TEST_F(TlsTransportTest, HandshakeTimeoutIsASendError) {
  // A TCP listener that never speaks TLS.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const SocketAddress any = Loopback4();
  ASSERT_EQ(bind(listener, any.sockaddr_ptr(), any.length()), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&storage), &length), 0);
  const SocketAddress addr = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
  auto client = MakeClient("ca.pem", true, 200ms);
  ASSERT_TRUE(client);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->Send(To(addr, "sip.test"), Bytes(MakeRequest("t"))).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return client_in_.errors.size() == 1; }, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(client_in_.errors[0].reason, "TLS handshake timeout");
  EXPECT_EQ(client->counters().tls_handshake_failures, 1u);
  close(listener);
}

TEST_F(TlsTransportTest, ServerDropsAPlainTextPeer) {
  auto server = MakeServer();
  ASSERT_TRUE(server);
  RawPeer peer(*server->LocalAddress(Protocol::kTls));
  ASSERT_TRUE(peer.Write(MakeRequest("plain")));
  ASSERT_TRUE(peer.WaitClosed(loop_));
  EXPECT_EQ(server->counters().tls_handshake_failures, 1u);
  EXPECT_TRUE(server_in_.messages.empty());
}

TEST_F(TlsTransportTest, Ipv6Loopback) {
  if (!testing::Ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 unavailable";
  auto server = MakeServer(Loopback6());
  auto client = MakeClient();
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(
      client->Send(To(*server->LocalAddress(Protocol::kTls), "sip.test"), Bytes(MakeRequest("v6"))).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return server_in_.messages.size() == 1; }));
}

TEST_F(TlsTransportTest, ConfigErrors) {
  StreamConfig no_cert;
  no_cert.protocol = Protocol::kTls;
  no_cert.listen_addresses = {Loopback4()};
  no_cert.tls.ca_file = pki_->Path("ca.pem");
  auto a = StreamTransport::Create(no_cert, loop_.poller(), loop_.scheduler(), server_in_.Handler());
  EXPECT_FALSE(a.ok());
  StreamConfig mismatched = no_cert;
  mismatched.tls.certificate_file = pki_->Path("server.pem");
  mismatched.tls.private_key_file = pki_->Path("other.key");
  auto b = StreamTransport::Create(mismatched, loop_.poller(), loop_.scheduler(), server_in_.Handler());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("mismatch"), std::string::npos) << b.error();
  StreamConfig missing = no_cert;
  missing.tls.ca_file = pki_->Path("absent.pem");
  EXPECT_FALSE(
      StreamTransport::Create(missing, loop_.poller(), loop_.scheduler(), server_in_.Handler()).ok());
}

}  // namespace
}  // namespace linegate::signaling::transport
