#pragma once
// The pieces a CallAgent needs around it in tests and in the fuzz target: a seeded
// random source, a transport that records what is sent, and the TransactionUser that
// SipStack would be, reduced to the routing to the agent. No GoogleTest here, so the
// libFuzzer target (fuzz/call_agent_fuzz.cc) can include it too.

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "signaling/dialog/call_agent.h"
#include "signaling/transaction/transaction_user.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::dialog::harness {

class SeededRandom final : public auth::RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = static_cast<uint8_t>(engine_() >> 56);
    return Status::Ok();
  }

 private:
  std::mt19937_64 engine_{42};
};

struct Sent {
  transport::Destination destination;
  std::string bytes;
};

class RecordingTransport final : public transport::Transport {
 public:
  Status Send(const transport::Destination& destination, std::span<const char> message) override {
    sent.push_back({destination, std::string(message.data(), message.size())});
    return Status::Ok();
  }
  std::optional<transport::SocketAddress> LocalAddress(transport::Protocol) const override {
    return transport::SocketAddress::Parse("192.0.2.10", 5060);
  }
  std::vector<Sent> sent;
};

// The TransactionUser SipStack would be, reduced to the routing to the agent.
class ForwardingUser final : public transaction::TransactionUser {
 public:
  void OnRequest(const transaction::IncomingRequest& request) override { agent->OnRequest(request); }
  void OnStrayAck(const sip::Message& ack, const transport::Received& received) override {
    agent->OnStrayAck(ack, received);
  }
  void OnStrayResponse(const sip::Message& response, const transport::Received& received) override {
    agent->OnStrayResponse(response, received);
  }
  void OnResponse(transaction::TransactionId id, const sip::Message& response) override {
    agent->OnResponse(id, response);
  }
  void OnTimeout(transaction::TransactionId id, transaction::TransactionKind kind) override {
    agent->OnTimeout(id, kind);
  }
  void OnTransportError(transaction::TransactionId id, transaction::TransactionKind,
                        std::string_view error) override {
    agent->OnTransportError(id, error);
  }
  CallAgent* agent = nullptr;
};

}  // namespace linegate::signaling::dialog::harness
