#pragma once
// Test doubles for the transaction layer: a Transport that records what is sent (and can
// be told to fail), a TransactionUser that records what it is told, a fixture on a
// ManualScheduler with deterministic randomness, and builders of SIP text.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/scheduler.h"
#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"
#include "signaling/transaction/transaction_layer.h"

namespace linegate::signaling::transaction::testing {

using transport::Protocol;

struct SentMessage {
  transport::Destination destination;
  std::string bytes;
  TimePoint at;
};

class FakeTransport final : public transport::Transport {
 public:
  explicit FakeTransport(const Clock& clock) : clock_(clock) {}

  Status Send(const transport::Destination& destination, std::span<const char> message) override {
    if (fail_next_sends > 0) {
      --fail_next_sends;
      return Error{"unreachable"};
    }
    sent.push_back({destination, std::string(message.data(), message.size()), clock_.Now()});
    return Status::Ok();
  }
  std::optional<transport::SocketAddress> LocalAddress(Protocol protocol) const override {
    return transport::SocketAddress::Parse("192.0.2.10", protocol == Protocol::kTls ? 5061 : 5060);
  }

  std::vector<SentMessage> sent;
  int fail_next_sends = 0;

 private:
  const Clock& clock_;
};

// What the TU was told, one line per call: "request INVITE 1", "response 180 1",
// "timeout 1 invite_client", "transport_error 1", "stray_ack", "stray_response 200".
class RecordingUser final : public TransactionUser {
 public:
  void OnRequest(const IncomingRequest& request) override {
    events.push_back("request " + std::string(request.message.method()) + " " +
                     std::to_string(request.transaction));
    last_request = request.transaction;
    last_cancelled = request.cancelled_invite;
    if (on_request) on_request(request);
  }
  void OnStrayAck(const sip::Message&, const transport::Received&) override { events.push_back("stray_ack"); }
  void OnStrayResponse(const sip::Message& response, const transport::Received&) override {
    events.push_back("stray_response " + std::to_string(response.status_code()));
  }
  void OnResponse(TransactionId id, const sip::Message& response) override {
    events.push_back("response " + std::to_string(response.status_code()) + " " + std::to_string(id));
    if (on_response) on_response(id, response);
  }
  void OnTimeout(TransactionId id, TransactionKind kind) override {
    events.push_back("timeout " + std::to_string(id) + " " + std::string(TransactionKindName(kind)));
  }
  void OnTransportError(TransactionId id, TransactionKind, std::string_view) override {
    events.push_back("transport_error " + std::to_string(id));
  }

  std::vector<std::string> events;
  TransactionId last_request = 0;
  TransactionId last_cancelled = 0;
  std::function<void(const IncomingRequest&)> on_request;
  std::function<void(TransactionId, const sip::Message&)> on_response;
};

// "INVITE sip:... SIP/2.0" or "SIP/2.0 180 Ringing".
inline std::string StartLine(std::string_view message) {
  return std::string(message.substr(0, message.find("\r\n")));
}

// Value of the first header called name (exact spelling as sent by the layer).
inline std::string HeaderValue(std::string_view message, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  const size_t at = message.find(key);
  if (at == std::string_view::npos) return "<absent>";
  const size_t begin = at + key.size();
  return std::string(message.substr(begin, message.find("\r\n", begin) - begin));
}

// A response to a request the layer sent (or any request text), via the parser's
// BuildResponse: Vias, From, To (+ tag), Call-ID, CSeq.
inline std::string ResponseTo(std::string_view request, uint16_t status, std::string_view reason,
                              std::string_view to_tag = "uas1") {
  auto message = std::make_unique<sip::Message>();
  EXPECT_TRUE(sip::Parse(request, sip::Transport::kDatagram, *message).ok()) << request;
  std::string out(request.size() + 256, '\0');
  std::optional<size_t> size = sip::BuildResponse(*message, status, reason, to_tag, out);
  EXPECT_TRUE(size.has_value());
  out.resize(size.value_or(0));
  return out;
}

// A request as a peer would send it to the layer.
struct RequestSpec {
  std::string method = "INVITE";
  std::string uri = "sip:line1@192.0.2.10";
  std::string transport = "UDP";
  std::string sent_by = "192.0.2.20:5060";
  std::string branch = "z9hG4bKpeer1";  // empty: no branch parameter (RFC 2543)
  std::string via_params{};             // appended after the branch, e.g. ";rport"
  std::string from_tag = "a1";
  std::string to_tag{};
  std::string call_id = "call1@192.0.2.20";
  uint32_t cseq = 1;
  std::string cseq_method{};  // empty: method
};

inline std::string RequestText(const RequestSpec& spec) {
  std::string via = "SIP/2.0/" + spec.transport + " " + spec.sent_by;
  if (!spec.branch.empty()) via += ";branch=" + spec.branch;
  via += spec.via_params;
  std::string to = "<sip:line1@192.0.2.10>";
  if (!spec.to_tag.empty()) to += ";tag=" + spec.to_tag;
  return spec.method + " " + spec.uri + " SIP/2.0\r\n" + "Via: " + via + "\r\n" +
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@192.0.2.20>;tag=" +
         spec.from_tag + "\r\n" + "To: " + to + "\r\n" + "Call-ID: " + spec.call_id + "\r\n" +
         "CSeq: " + std::to_string(spec.cseq) + " " +
         (spec.cseq_method.empty() ? spec.method : spec.cseq_method) + "\r\n" + "Content-Length: 0\r\n\r\n";
}

// What the gateway sends as a UAC (the layer adds the Via).
inline std::string OutgoingRequest(std::string_view method, uint32_t cseq = 1) {
  return std::string(method) +
         " sip:line1@192.0.2.20 SIP/2.0\r\n"
         "Route: <sip:192.0.2.30;lr>\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:gw@192.0.2.10>;tag=gw1\r\n"
         "To: <sip:line1@192.0.2.20>\r\n"
         "Call-ID: out1@192.0.2.10\r\n"
         "CSeq: " +
         std::to_string(cseq) + " " + std::string(method) +
         "\r\n"
         "Content-Length: 0\r\n\r\n";
}

// The branches the layer makes with the fixture's counter as randomness: the n-th
// branch uses the counter values 2n-1 and 2n.
inline std::string Branch(int n) {
  char text[64];
  std::snprintf(text, sizeof(text), "z9hG4bK%016x%016x", 2 * n - 1, 2 * n);
  return text;
}

class TransactionFixture : public ::testing::Test {
 protected:
  void MakeLayer(TransactionLayerConfig config = TransactionLayerConfig()) {
    layer_ = std::make_unique<TransactionLayer>(
        scheduler_, transport_, user_, [this] { return ++random_; }, config);
  }
  void SetUp() override { MakeLayer(); }

  static transport::Destination To(Protocol protocol = Protocol::kUdp) {
    transport::Destination destination;
    destination.protocol = protocol;
    destination.address = *transport::SocketAddress::Parse("192.0.2.20", 5060);
    destination.connection_id = protocol == Protocol::kUdp ? 0 : 7;
    return destination;
  }

  void Deliver(std::string_view bytes, Protocol protocol = Protocol::kUdp,
               std::string_view source_host = "192.0.2.20", uint16_t source_port = 5060) {
    transport::Received received;
    received.bytes = std::span<const char>(bytes.data(), bytes.size());
    received.protocol = protocol;
    received.source = *transport::SocketAddress::Parse(source_host, source_port);
    received.local = *transport::SocketAddress::Parse("192.0.2.10", 5060);
    received.connection_id = protocol == Protocol::kUdp ? 0 : 7;
    layer_->OnReceived(received);
  }

  // Sends request through a new client transaction and returns its id.
  TransactionId StartClient(std::string_view request, Protocol protocol = Protocol::kUdp) {
    Result<TransactionId> id = layer_->SendRequest(request, To(protocol));
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error());
    return id.ok() ? *id : 0;
  }

  // Milliseconds since the fixture's start of each message sent, from index `from` on.
  std::vector<int64_t> SendTimesMs(size_t from = 0) const {
    std::vector<int64_t> times;
    for (size_t i = from; i < transport_.sent.size(); ++i)
      times.push_back(ToMillis(transport_.sent[i].at - start_));
    return times;
  }
  int64_t NowMs() const { return ToMillis(scheduler_.clock().Now() - start_); }
  void AdvanceMs(int64_t ms) { scheduler_.Advance(std::chrono::milliseconds(ms)); }
  // Advances to ms after the fixture's start.
  void AdvanceToMs(int64_t ms) { AdvanceMs(ms - NowMs()); }
  const std::string& LastSent() const { return transport_.sent.back().bytes; }

  ManualScheduler scheduler_;
  TimePoint start_ = scheduler_.clock().Now();
  FakeTransport transport_{scheduler_.clock()};
  RecordingUser user_;
  uint64_t random_ = 0;
  std::unique_ptr<TransactionLayer> layer_;
};

}  // namespace linegate::signaling::transaction::testing
