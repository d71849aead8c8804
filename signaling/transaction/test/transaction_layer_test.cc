// The TransactionLayer as a whole: overload protection, malformed input, lifetime of
// transactions and timers, counters.

#include "signaling/transaction/transaction_layer.h"

#include <gtest/gtest.h>

#include "signaling/transaction/test/transaction_test_util.h"

namespace linegate::signaling::transaction::testing {
namespace {

class TransactionLayerTest : public TransactionFixture {};

TEST_F(TransactionLayerTest, RequestsBeyondTheLimitGet503WithRetryAfter) {
  TransactionLayerConfig config;
  config.max_transactions = 2;
  config.overload_retry_after_seconds = 7;
  MakeLayer(config);
  const RequestSpec first{.branch = "z9hG4bKone"};
  Deliver(RequestText(first));
  Deliver(RequestText(RequestSpec{.method = "OPTIONS", .branch = "z9hG4bKtwo"}));
  ASSERT_EQ(layer_->size(), 2u);
  Deliver(RequestText(RequestSpec{.branch = "z9hG4bKthree", .call_id = "call3@192.0.2.20"}));
  ASSERT_EQ(transport_.sent.size(), 1u);
  // RFC 3261 21.5.4 / 20.33; the To tag comes from the injected randomness.
  EXPECT_EQ(LastSent(),
            "SIP/2.0 503 Service Unavailable\r\n"
            "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKthree\r\n"
            "From: <sip:alice@192.0.2.20>;tag=a1\r\n"
            "To: <sip:line1@192.0.2.10>;tag=0000000000000001\r\n"
            "Call-ID: call3@192.0.2.20\r\n"
            "CSeq: 1 INVITE\r\n"
            "Retry-After: 7\r\n"
            "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(user_.events.size(), 2u);
  EXPECT_EQ(layer_->counters().overload_rejections, 1u);
  EXPECT_EQ(layer_->size(), 2u);

  // Known transactions keep working, ACKs pass, and client requests are refused.
  Deliver(RequestText(first));
  EXPECT_EQ(layer_->counters().retransmissions_absorbed, 1u);
  Deliver(RequestText(RequestSpec{.method = "ACK", .branch = "z9hG4bKack"}));
  EXPECT_EQ(user_.events.back(), "stray_ack");
  Result<TransactionId> refused = layer_->SendRequest(OutgoingRequest("OPTIONS"), To());
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(layer_->counters().overload_send_refusals, 1u);

  // Once one ends, new requests are accepted again.
  ASSERT_TRUE(layer_->Respond(1, 200, "OK", "t").ok());
  EXPECT_EQ(layer_->size(), 1u);
  Deliver(RequestText(RequestSpec{.branch = "z9hG4bKfour"}));
  EXPECT_EQ(user_.events.back(), "request INVITE 3");
  EXPECT_EQ(layer_->counters().overload_rejections, 1u);
}

TEST_F(TransactionLayerTest, MalformedRequestsAreAnsweredAndOthersDropped) {
  std::string bad = RequestText(RequestSpec{.branch = "z9hG4bKbad"});
  bad.replace(bad.find("CSeq: 1 INVITE"), 14, "CSeq: x INVITE");
  Deliver(bad);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(StartLine(LastSent()), "SIP/2.0 400 Bad CSeq");
  EXPECT_EQ(HeaderValue(LastSent(), "Via"), "SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKbad");
  EXPECT_EQ(layer_->counters().malformed_rejected, 1u);

  // Parses, but fails the checks of RFC 3261 8.1.1 (CheckRequiredHeaders).
  std::string two_cseq = RequestText(RequestSpec{.method = "OPTIONS"});
  two_cseq.insert(two_cseq.find("Content-Length"), "CSeq: 2 OPTIONS\r\n");
  Deliver(two_cseq);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(StartLine(LastSent()), "SIP/2.0 400 Multiple CSeq");

  // Without a Call-ID no response can be built: dropped, as are bad responses.
  std::string no_call_id = RequestText(RequestSpec{.method = "OPTIONS"});
  no_call_id.erase(no_call_id.find("Call-ID"), std::string("Call-ID: call1@192.0.2.20\r\n").size());
  Deliver(no_call_id);
  Deliver("SIP/2.0 200 OK\r\nVia: garbage\r\n\r\n");
  Deliver("\x01\x02 not sip at all");
  EXPECT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(layer_->counters().malformed_rejected, 2u);
  EXPECT_EQ(layer_->counters().malformed_dropped, 3u);
  EXPECT_TRUE(user_.events.empty());
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(TransactionLayerTest, EveryTransactionEndsAndFreesItsTimers) {
  // A mix of all four kinds that complete normally: the map and the scheduler empty.
  for (int i = 0; i < 5; ++i) {
    StartClient(OutgoingRequest("INVITE", static_cast<uint32_t>(10 + i)));
    Deliver(ResponseTo(LastSent(), 404, "Not Found"));
    StartClient(OutgoingRequest("OPTIONS", static_cast<uint32_t>(20 + i)));
    Deliver(ResponseTo(LastSent(), 200, "OK"));
    RequestSpec invite{.branch = "z9hG4bKi" + std::to_string(i)};
    Deliver(RequestText(invite));
    ASSERT_TRUE(layer_->Respond(user_.last_request, 486, "Busy Here", "b").ok());
    RequestSpec ack = invite;
    ack.method = "ACK";
    ack.to_tag = "b";
    Deliver(RequestText(ack));
    Deliver(RequestText(RequestSpec{.method = "BYE", .branch = "z9hG4bKb" + std::to_string(i)}));
    ASSERT_TRUE(layer_->Respond(user_.last_request, 200, "OK", "b").ok());
  }
  EXPECT_EQ(layer_->size(), 20u);
  AdvanceMs(32000);
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  const TransactionCounters& counters = layer_->counters();
  for (TransactionKind kind : {TransactionKind::kInviteClient, TransactionKind::kNonInviteClient,
                               TransactionKind::kInviteServer, TransactionKind::kNonInviteServer}) {
    EXPECT_EQ(counters.Created(kind), 5u) << TransactionKindName(kind);
    EXPECT_EQ(counters.Terminated(kind), 5u) << TransactionKindName(kind);
  }
  EXPECT_EQ(counters.timeouts, 0u);
  EXPECT_EQ(counters.illegal_events, 0u);
}

TEST_F(TransactionLayerTest, DestroyingTheLayerCancelsItsTimers) {
  StartClient(OutgoingRequest("INVITE"));
  StartClient(OutgoingRequest("OPTIONS", 2));
  Deliver(RequestText(RequestSpec()));
  EXPECT_GT(scheduler_.pending(), 0u);
  layer_.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
  scheduler_.Advance(std::chrono::minutes(5));  // nothing fires into the dead layer
  EXPECT_EQ(transport_.sent.size(), 2u);
}

TEST_F(TransactionLayerTest, LateStreamErrorsReachTheTransactionsThatSendThere) {
  const TransactionId calling = StartClient(OutgoingRequest("INVITE"), Protocol::kTcp);
  const TransactionId ringing = StartClient(OutgoingRequest("INVITE", 2), Protocol::kTcp);
  Deliver(ResponseTo(LastSent(), 180, "Ringing"), Protocol::kTcp);
  const TransactionId over_udp = StartClient(OutgoingRequest("OPTIONS", 3), Protocol::kUdp);
  Deliver(RequestText(RequestSpec{.method = "OPTIONS", .transport = "TCP"}), Protocol::kTcp, "192.0.2.99",
          40000);
  const TransactionId server = user_.last_request;
  ASSERT_TRUE(layer_->Respond(server, 100, "Trying", "").ok());  // Proceeding: sends there
  ASSERT_EQ(layer_->size(), 4u);

  transport::SendError by_address;
  by_address.protocol = Protocol::kTcp;
  by_address.remote = *transport::SocketAddress::Parse("192.0.2.20", 5060);
  by_address.reason = "connection refused";
  layer_->OnSendError(by_address);
  // 17.1.4: the INVITE still in Calling fails; the ringing one has nothing in flight.
  EXPECT_EQ(user_.events.back(), "transport_error " + std::to_string(calling));
  EXPECT_EQ(layer_->StateOf(ringing), TransactionState::kProceeding);
  EXPECT_EQ(layer_->StateOf(over_udp), TransactionState::kTrying);
  EXPECT_EQ(layer_->StateOf(server), TransactionState::kProceeding);

  transport::SendError by_connection;
  by_connection.protocol = Protocol::kTcp;
  by_connection.connection_id = 7;  // the server transaction answers on the request's connection
  by_connection.reason = "reset";
  layer_->OnSendError(by_connection);
  EXPECT_EQ(user_.events.back(), "transport_error " + std::to_string(server));
  EXPECT_EQ(layer_->size(), 2u);
  EXPECT_EQ(layer_->counters().transport_errors, 2u);
  EXPECT_EQ(layer_->counters().illegal_events, 0u);
}

TEST_F(TransactionLayerTest, BranchesComeFromTheInjectedRandomness) {
  EXPECT_EQ(layer_->NewBranch(), "z9hG4bK00000000000000010000000000000002");
  EXPECT_EQ(layer_->NewBranch(), Branch(2));
}

}  // namespace
}  // namespace linegate::signaling::transaction::testing
