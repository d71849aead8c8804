#pragma once
// The SIP stack of linegate-signaling, assembled: UDP/TCP/TLS transports on an epoll
// poller nested in the process reactor, the transaction layer, the UA core's answers
// to requests, and the registration client, whose requests go through client
// transactions (this class is its RequestChannel).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/bus/reactor.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "signaling/auth/random_source.h"
#include "signaling/dialog/call_agent.h"
#include "signaling/registration/registration_client.h"
#include "signaling/transaction/transaction_layer.h"
#include "signaling/transport/epoll_poller.h"
#include "signaling/transport/stream_transport.h"
#include "signaling/transport/udp_transport.h"

namespace linegate::signaling {

// Sends each message on the transport of its protocol.
class TransportSet final : public transport::Transport {
 public:
  Status Send(const transport::Destination& destination, std::span<const char> message) override;
  std::optional<transport::SocketAddress> LocalAddress(transport::Protocol protocol) const override;

  std::unique_ptr<transport::UdpTransport> udp;
  std::unique_ptr<transport::StreamTransport> tcp;
  std::unique_ptr<transport::StreamTransport> tls;

 private:
  transport::Transport* For(transport::Protocol protocol) const;
};

// The registration entities and proxy sets a configuration asks for.
struct RegistrationPlan {
  std::vector<registration::ProxySetConfig> proxy_sets;
  std::vector<registration::RegistrationEntity> entities;
};
Result<RegistrationPlan> PlanRegistrations(const config::v1::Signaling& signaling);

class SipStack final : public transaction::TransactionUser, public registration::RequestChannel {
 public:
  // Binds the transports; fails with a message naming the address when it cannot.
  static Result<std::unique_ptr<SipStack>> Create(const config::v1::Signaling& config, bus::Reactor& reactor);
  ~SipStack() override;

  registration::RegistrationClient& registrations() { return *registrations_; }
  const TransportSet& transports() const { return transports_; }
  transaction::TransactionLayer& transactions() { return *transactions_; }

  // Starts the UA core for calls (call.proto); until then INVITEs are answered 480.
  // on_event receives every CallEvent.
  void StartCalls(const config::v1::Calls& calls,
                  std::function<void(const signaling::v1::CallEvent&)> on_event);
  // Null before StartCalls.
  dialog::CallAgent* calls() { return calls_.get(); }
  // The credentials for 401/407 on calls of a line: the account serving the line, else
  // the line's endpoint registration, else the gateway registration.
  std::vector<auth::Credentials> CredentialsForLine(uint32_t line) const;

  // RequestChannel: requests of the registration client and proxy-set keep-alives.
  void SendRequest(const transport::Destination& to, std::string request_bytes,
                   std::function<void(const registration::ResponseInfo&)> on_final) override;

  // TransactionUser.
  void OnRequest(const transaction::IncomingRequest& request) override;
  void OnStrayAck(const sip::Message& ack, const transport::Received& received) override;
  void OnStrayResponse(const sip::Message& response, const transport::Received& received) override;
  void OnResponse(transaction::TransactionId transaction, const sip::Message& response) override;
  void OnTimeout(transaction::TransactionId transaction, transaction::TransactionKind kind) override;
  void OnTransportError(transaction::TransactionId transaction, transaction::TransactionKind kind,
                        std::string_view error) override;

  struct Counters {
    uint64_t requests_answered = 0;
    uint64_t requests_rejected = 0;  // 4xx/5xx from the UAS checks
    uint64_t stray_acks = 0;
    uint64_t stray_responses = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  explicit SipStack(bus::Reactor& reactor);
  Status Start(const config::v1::Signaling& config);
  void Answer(transaction::TransactionId transaction, const sip::Message& request,
              const transport::Received& received, uint16_t status, std::string_view reason,
              std::string_view extra_headers);

  struct PendingRequest {
    std::string our_contact;
    std::function<void(const registration::ResponseInfo&)> on_final;
  };

  bus::Reactor& reactor_;
  std::unique_ptr<transport::EpollPoller> poller_;
  TransportSet transports_;
  auth::OpenSslRandomSource random_;
  std::unique_ptr<transaction::TransactionLayer> transactions_;
  std::unique_ptr<registration::RegistrationClient> registrations_;
  std::map<transaction::TransactionId, PendingRequest> pending_;
  config::v1::Signaling config_;
  std::map<std::string, auth::Credentials> credentials_by_entity_;
  std::map<uint32_t, std::string> account_by_line_;
  std::unique_ptr<dialog::CallAgent> calls_;
  std::vector<char> response_buffer_;
  Counters counters_;
};

}  // namespace linegate::signaling
