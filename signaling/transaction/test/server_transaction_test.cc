// INVITE and non-INVITE server transactions (RFC 3261 17.2.1, 17.2.2), request matching
// (17.2.3, including RFC 2543 peers) and CANCEL (9.2).

#include <gtest/gtest.h>

#include "signaling/transaction/test/transaction_test_util.h"

namespace linegate::signaling::transaction::testing {
namespace {

class ServerTransactionTest : public TransactionFixture {
 protected:
  // Delivers spec's request and returns the server transaction the TU was given.
  TransactionId Receive(const RequestSpec& spec, Protocol protocol = Protocol::kUdp) {
    const size_t before = user_.events.size();
    Deliver(RequestText(spec), protocol);
    EXPECT_EQ(user_.events.size(), before + 1);
    EXPECT_EQ(user_.events.back(), "request " + spec.method + " " + std::to_string(user_.last_request));
    return user_.last_request;
  }
  void MustRespond(TransactionId id, uint16_t status, std::string_view reason,
                   std::string_view tag = "uas1") {
    const Status status_sent = layer_->Respond(id, status, reason, tag);
    EXPECT_TRUE(status_sent.ok()) << status_sent.error();
  }
  static RequestSpec Ack(RequestSpec spec, std::string to_tag = "uas1") {
    spec.method = "ACK";
    spec.to_tag = std::move(to_tag);
    return spec;
  }
};

const char kTrying[] =
    "SIP/2.0 100 Trying\r\n"
    "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKpeer1\r\n"
    "From: <sip:alice@192.0.2.20>;tag=a1\r\n"
    "To: <sip:line1@192.0.2.10>\r\n"
    "Call-ID: call1@192.0.2.20\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

TEST_F(ServerTransactionTest, InviteGetsTryingAfter200Ms) {
  const TransactionId id = Receive(RequestSpec());
  EXPECT_EQ(layer_->KindOf(id), TransactionKind::kInviteServer);
  AdvanceToMs(199);
  EXPECT_TRUE(transport_.sent.empty());
  AdvanceToMs(200);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(LastSent(), kTrying);
  EXPECT_EQ(transport_.sent[0].destination.address.ToString(), "192.0.2.20:5060");
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
}

TEST_F(ServerTransactionTest, TuAnswerWithin200MsReplacesTrying) {
  const TransactionId id = Receive(RequestSpec());
  AdvanceToMs(100);
  MustRespond(id, 180, "Ringing");
  AdvanceToMs(10000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(StartLine(LastSent()), "SIP/2.0 180 Ringing");
  EXPECT_EQ(HeaderValue(LastSent(), "To"), "<sip:line1@192.0.2.10>;tag=uas1");
}

TEST_F(ServerTransactionTest, TuAnsweringInsideTheCallbackSuppressesTrying) {
  user_.on_request = [this](const IncomingRequest& request) {
    MustRespond(request.transaction, 180, "Ringing");
  };
  Receive(RequestSpec());
  AdvanceToMs(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(StartLine(LastSent()), "SIP/2.0 180 Ringing");
}

TEST_F(ServerTransactionTest, TuAcceptingInsideTheCallbackTerminatesAtOnce) {
  user_.on_request = [this](const IncomingRequest& request) { MustRespond(request.transaction, 200, "OK"); };
  Receive(RequestSpec());
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  AdvanceToMs(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(StartLine(LastSent()), "SIP/2.0 200 OK");
}

TEST_F(ServerTransactionTest, RetransmittedInviteGetsTheLastProvisional) {
  const RequestSpec invite;
  const TransactionId id = Receive(invite);
  Deliver(RequestText(invite));  // before any response: absorbed, nothing to resend
  EXPECT_TRUE(transport_.sent.empty());
  AdvanceToMs(200);
  Deliver(RequestText(invite));
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].bytes, kTrying);
  MustRespond(id, 180, "Ringing");
  Deliver(RequestText(invite));
  ASSERT_EQ(transport_.sent.size(), 4u);
  EXPECT_EQ(StartLine(transport_.sent[3].bytes), "SIP/2.0 180 Ringing");
  EXPECT_EQ(transport_.sent[3].bytes, transport_.sent[2].bytes);
  EXPECT_EQ(user_.events.size(), 1u) << "retransmissions never reach the TU";
  EXPECT_EQ(layer_->counters().retransmissions_absorbed, 3u);
  EXPECT_EQ(layer_->counters().retransmissions_sent, 2u);
}

TEST_F(ServerTransactionTest, FailureIsRetransmittedOnTimerGUntilTimerH) {
  const TransactionId id = Receive(RequestSpec());
  MustRespond(id, 486, "Busy Here");
  AdvanceToMs(31999);
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kCompleted);
  AdvanceToMs(32000);
  // 17.2.1: G starts at T1, doubles up to T2; H = 64*T1 ends it without an ACK.
  EXPECT_EQ(SendTimesMs(),
            (std::vector<int64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  for (const SentMessage& sent : transport_.sent) EXPECT_EQ(StartLine(sent.bytes), "SIP/2.0 486 Busy Here");
  EXPECT_EQ(user_.events.back(), "timeout " + std::to_string(id) + " invite_server");
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(layer_->counters().timeouts, 1u);
}

TEST_F(ServerTransactionTest, ReliableTransportHasNoTimerGButTimerH) {
  const TransactionId id = Receive(RequestSpec{.transport = "TCP"}, Protocol::kTcp);
  MustRespond(id, 486, "Busy Here");
  EXPECT_EQ(transport_.sent[0].destination.connection_id, 7u) << "answers on the request's connection";
  AdvanceToMs(32000);
  EXPECT_EQ(SendTimesMs(), (std::vector<int64_t>{0}));
  EXPECT_EQ(user_.events.back(), "timeout " + std::to_string(id) + " invite_server");
}

struct AckCase {
  const char* name;
  Protocol protocol;
  int64_t timer_i_ms;
};
void PrintTo(const AckCase& c, std::ostream* os) { *os << c.name; }

const AckCase kAckCases[] = {
    {"Udp", Protocol::kUdp, 5000},  // 17.2.1: I = T4
    {"Tcp", Protocol::kTcp, 0},     // and zero on reliable transports
};

class ServerAckTest : public ServerTransactionTest, public ::testing::WithParamInterface<AckCase> {};

TEST_P(ServerAckTest, AckStopsTimerGAndStartsTimerI) {
  const AckCase& c = GetParam();
  RequestSpec invite;
  invite.transport = c.protocol == Protocol::kUdp ? "UDP" : "TCP";
  const TransactionId id = Receive(invite, c.protocol);
  MustRespond(id, 404, "Not Found");
  AdvanceToMs(2000);
  Deliver(RequestText(Ack(invite)), c.protocol);
  EXPECT_EQ(user_.events.size(), 1u) << "the ACK of a non-2xx stays in the transaction";
  const size_t sent = transport_.sent.size();
  if (c.timer_i_ms == 0) {
    EXPECT_EQ(layer_->size(), 0u);
  } else {
    EXPECT_EQ(layer_->StateOf(id), TransactionState::kConfirmed);
    Deliver(RequestText(Ack(invite)), c.protocol);  // absorbed
    Deliver(RequestText(invite), c.protocol);       // absorbed, no response
    AdvanceToMs(2000 + c.timer_i_ms - 1);
    EXPECT_EQ(layer_->size(), 1u);
    AdvanceToMs(2000 + c.timer_i_ms);
    EXPECT_EQ(layer_->size(), 0u);
  }
  EXPECT_EQ(transport_.sent.size(), sent);
  const std::vector<int64_t> expected_sends =
      c.protocol == Protocol::kUdp ? std::vector<int64_t>{0, 500, 1500} : std::vector<int64_t>{0};
  EXPECT_EQ(SendTimesMs(), expected_sends);
  EXPECT_EQ(user_.events.size(), 1u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(layer_->counters().timeouts, 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, ServerAckTest, ::testing::ValuesIn(kAckCases),
                         [](const auto& case_info) { return std::string(case_info.param.name); });

TEST_F(ServerTransactionTest, RetransmittedInviteGetsTheFinalAgainInCompleted) {
  const RequestSpec invite;
  const TransactionId id = Receive(invite);
  MustRespond(id, 480, "Temporarily Unavailable");
  AdvanceToMs(100);
  Deliver(RequestText(invite));
  EXPECT_EQ(SendTimesMs(), (std::vector<int64_t>{0, 100}));
  EXPECT_EQ(transport_.sent[1].bytes, transport_.sent[0].bytes);
}

TEST_F(ServerTransactionTest, SuccessTerminatesSoTheAckGoesToTheTu) {
  const RequestSpec invite;
  const TransactionId id = Receive(invite);
  MustRespond(id, 200, "OK");
  EXPECT_EQ(layer_->size(), 0u);
  // The ACK for a 2xx is a new transaction at the UAC (new branch): the dialog's.
  RequestSpec ack = Ack(invite);
  ack.branch = "z9hG4bKpeer1ack";
  Deliver(RequestText(ack));
  EXPECT_EQ(user_.events.back(), "stray_ack");
  EXPECT_EQ(layer_->counters().stray_acks, 1u);
  // RFC 3261 without RFC 6026: a late copy of the INVITE is new to the layer; the TU
  // recognises it by its dialog and resends the 2xx.
  Deliver(RequestText(invite));
  EXPECT_EQ(user_.events.back(), "request INVITE 2");
}

TEST_F(ServerTransactionTest, AckBeforeFinalIsIllegal) {
  const RequestSpec invite;
  const TransactionId id = Receive(invite);
  Deliver(RequestText(Ack(invite)));
  EXPECT_EQ(layer_->counters().illegal_events, 1u);
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  EXPECT_EQ(user_.events.size(), 1u);
}

struct NonInviteCase {
  const char* name;
  Protocol protocol;
  int64_t timer_j_ms;
};
void PrintTo(const NonInviteCase& c, std::ostream* os) { *os << c.name; }

const NonInviteCase kNonInviteCases[] = {
    {"Udp", Protocol::kUdp, 32000},  // 17.2.2: J = 64*T1
    {"Tcp", Protocol::kTcp, 0},
};

class NonInviteServerTest : public ServerTransactionTest,
                            public ::testing::WithParamInterface<NonInviteCase> {};

TEST_P(NonInviteServerTest, AbsorbsAndAnswersRetransmissionsUntilTimerJ) {
  const NonInviteCase& c = GetParam();
  RequestSpec options{.method = "OPTIONS"};
  options.transport = c.protocol == Protocol::kUdp ? "UDP" : "TCP";
  const TransactionId id = Receive(options, c.protocol);
  EXPECT_EQ(layer_->KindOf(id), TransactionKind::kNonInviteServer);
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kTrying);
  AdvanceToMs(1000);
  Deliver(RequestText(options), c.protocol);  // Trying: discarded
  EXPECT_TRUE(transport_.sent.empty()) << "no automatic 100 for non-INVITE";

  MustRespond(id, 100, "Trying");
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  Deliver(RequestText(options), c.protocol);  // Proceeding: last provisional again
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(StartLine(transport_.sent[1].bytes), "SIP/2.0 100 Trying");

  MustRespond(id, 200, "OK");
  EXPECT_EQ(layer_->size(), c.timer_j_ms == 0 ? 0u : 1u);
  Deliver(RequestText(options), c.protocol);  // Completed: the final again
  if (c.timer_j_ms == 0) {
    EXPECT_EQ(user_.events.back(), "request OPTIONS 2") << "nothing left to absorb it";
  } else {
    ASSERT_EQ(transport_.sent.size(), 4u);
    EXPECT_EQ(transport_.sent[3].bytes, transport_.sent[2].bytes);
    EXPECT_EQ(StartLine(transport_.sent[3].bytes), "SIP/2.0 200 OK");
    // 17.2.2: other finals from the TU are discarded in Completed.
    const Status again = layer_->Respond(id, 500, "Server Internal Error", "uas1");
    EXPECT_FALSE(again.ok());
    EXPECT_EQ(layer_->counters().illegal_events, 1u);
    EXPECT_EQ(transport_.sent.size(), 4u);
    AdvanceToMs(1000 + c.timer_j_ms - 1);
    EXPECT_EQ(layer_->size(), 1u);
    AdvanceToMs(1000 + c.timer_j_ms);
    EXPECT_EQ(layer_->size(), 0u);
    EXPECT_EQ(user_.events.size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, NonInviteServerTest, ::testing::ValuesIn(kNonInviteCases),
                         [](const auto& case_info) { return std::string(case_info.param.name); });

// RFC 2543 peers: no magic cookie, or no branch at all (17.2.3).
class Rfc2543Test : public ServerTransactionTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Rfc2543Test, MatchesByDialogFieldsAndTheResponseToTag) {
  RequestSpec invite;
  invite.branch = GetParam();
  const TransactionId id = Receive(invite);
  Deliver(RequestText(invite));
  EXPECT_EQ(user_.events.size(), 1u) << "the retransmission matched";
  EXPECT_EQ(layer_->counters().retransmissions_absorbed, 1u);

  RequestSpec next = invite;
  next.cseq = 2;
  const TransactionId other = Receive(next);
  EXPECT_NE(other, id);

  MustRespond(id, 486, "Busy Here", "busy9");
  // An ACK whose To tag is not the one of the response does not match (17.2.3).
  Deliver(RequestText(Ack(invite, "other")));
  EXPECT_EQ(user_.events.back(), "stray_ack");
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kCompleted);
  Deliver(RequestText(Ack(invite, "busy9")));
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kConfirmed);

  // A re-INVITE carries its dialog's To tag; so does its response and its ACK.
  RequestSpec reinvite = invite;
  reinvite.cseq = 3;
  reinvite.to_tag = "dlg7";
  const TransactionId re = Receive(reinvite);
  MustRespond(re, 491, "Request Pending", "ignored-tag-exists");
  Deliver(RequestText(Ack(reinvite, "dlg7")));
  EXPECT_EQ(layer_->StateOf(re), TransactionState::kConfirmed);
  EXPECT_EQ(layer_->counters().stray_acks, 1u);
}

INSTANTIATE_TEST_SUITE_P(Branches, Rfc2543Test, ::testing::Values("", "1234abc"), [](const auto& case_info) {
  return std::string(*case_info.param ? "OldBranch" : "NoBranch");
});

TEST_F(ServerTransactionTest, CancelIsItsOwnTransactionAndFindsItsInvite) {
  const RequestSpec invite;
  const TransactionId invite_id = Receive(invite);
  RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  const TransactionId cancel_id = Receive(cancel);
  EXPECT_NE(cancel_id, invite_id);
  EXPECT_EQ(layer_->KindOf(cancel_id), TransactionKind::kNonInviteServer);
  EXPECT_EQ(user_.last_cancelled, invite_id);

  MustRespond(cancel_id, 200, "OK");
  MustRespond(invite_id, 487, "Request Terminated");
  EXPECT_EQ(HeaderValue(transport_.sent[0].bytes, "CSeq"), "1 CANCEL");
  EXPECT_EQ(HeaderValue(transport_.sent[1].bytes, "CSeq"), "1 INVITE");
  Deliver(RequestText(cancel));  // retransmitted CANCEL: its 200 again
  EXPECT_EQ(transport_.sent.back().bytes, transport_.sent[0].bytes);
  Deliver(RequestText(Ack(invite)));
  EXPECT_EQ(layer_->StateOf(invite_id), TransactionState::kConfirmed);
  EXPECT_EQ(user_.events.size(), 2u);

  // A CANCEL for nothing known still gets a transaction; the TU answers 481.
  RequestSpec unknown = cancel;
  unknown.branch = "z9hG4bKnothing";
  Receive(unknown);
  EXPECT_EQ(user_.last_cancelled, 0u);
}

TEST_F(ServerTransactionTest, Rfc2543CancelFindsItsInvite) {
  RequestSpec invite;
  invite.branch = "";
  const TransactionId invite_id = Receive(invite);
  RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  Receive(cancel);
  EXPECT_EQ(user_.last_cancelled, invite_id);
}

TEST_F(ServerTransactionTest, RportAnswersTheSourcePort) {
  RequestSpec invite;
  invite.via_params = ";rport";
  Deliver(RequestText(invite), Protocol::kUdp, "198.51.100.9", 40000);
  AdvanceToMs(200);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].destination.address.ToString(), "198.51.100.9:40000");
}

TEST_F(ServerTransactionTest, TransportErrors) {
  const TransactionId id = Receive(RequestSpec());
  transport_.fail_next_sends = 1;
  const Status refused = layer_->Respond(id, 486, "Busy Here", "uas1");
  ASSERT_FALSE(refused.ok());  // inside a TU call: returned, not called back
  EXPECT_EQ(refused.error(), "transport: unreachable");
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(user_.events.size(), 1u);

  const TransactionId second = Receive(RequestSpec{.branch = "z9hG4bKpeer2"});
  MustRespond(second, 486, "Busy Here");
  transport_.fail_next_sends = 1;
  AdvanceMs(500);  // timer G's retransmission fails: called back (17.2.4)
  EXPECT_EQ(user_.events.back(), "transport_error " + std::to_string(second));
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(layer_->counters().transport_errors, 2u);
}

TEST_F(ServerTransactionTest, FailedSuccessResponseIsReportedThoughTheTransactionEnds) {
  const TransactionId id = Receive(RequestSpec());
  transport_.fail_next_sends = 1;
  const Status refused = layer_->Respond(id, 200, "OK", "uas1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "transport: unreachable");
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(layer_->counters().transport_errors, 1u);
}

TEST_F(ServerTransactionTest, RespondChecksWhatItIsGiven) {
  const TransactionId id = Receive(RequestSpec());
  EXPECT_FALSE(layer_->Respond(999, 200, "OK", "t").ok());
  EXPECT_FALSE(layer_->Respond(id, RequestText(RequestSpec())).ok()) << "a request is no response";
  std::string wrong_method = ResponseTo(RequestText(RequestSpec()), 200, "OK");
  wrong_method.replace(wrong_method.find("1 INVITE"), 8, "1 UPDATE");
  EXPECT_FALSE(layer_->Respond(id, wrong_method).ok());
  EXPECT_FALSE(layer_->Respond(id, 200, "bad\r\nreason", "t").ok());
  const TransactionId client = StartClient(OutgoingRequest("OPTIONS"));
  EXPECT_FALSE(layer_->Respond(client, 200, "OK", "t").ok());
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  EXPECT_EQ(layer_->counters().illegal_events, 0u);
  EXPECT_EQ(transport_.sent.size(), 1u) << "only the OPTIONS";
}

}  // namespace
}  // namespace linegate::signaling::transaction::testing
