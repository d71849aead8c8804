// INVITE and non-INVITE client transactions (RFC 3261 17.1.1, 17.1.2) driven through
// the TransactionLayer on a ManualScheduler.

#include <gtest/gtest.h>

#include "signaling/transaction/test/transaction_test_util.h"

namespace linegate::signaling::transaction::testing {
namespace {

using std::chrono::milliseconds;

class ClientTransactionTest : public TransactionFixture {};

TEST_F(ClientTransactionTest, FirstRequestGetsTopViaWithNewBranch) {
  const TransactionId id = StartClient(OutgoingRequest("INVITE"));
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(LastSent(),
            "INVITE sip:line1@192.0.2.20 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" +
                Branch(1) +
                ";rport\r\n"
                "Route: <sip:192.0.2.30;lr>\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:gw@192.0.2.10>;tag=gw1\r\n"
                "To: <sip:line1@192.0.2.20>\r\n"
                "Call-ID: out1@192.0.2.10\r\n"
                "CSeq: 1 INVITE\r\n"
                "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(transport_.sent[0].destination.address.ToString(), "192.0.2.20:5060");
  EXPECT_EQ(layer_->KindOf(id), TransactionKind::kInviteClient);
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kCalling);
  EXPECT_EQ(layer_->counters().invite_client_created, 1u);
}

struct ScheduleCase {
  const char* name;
  const char* method;
  Protocol protocol;
  TransactionTimers timers;
  std::vector<int64_t> sends_ms;  // first transmission and every retransmission
  int64_t timeout_ms;             // timer B or F
};
void PrintTo(const ScheduleCase& c, std::ostream* os) { *os << c.name; }

TransactionTimers FastTimers() {
  TransactionTimers timers;
  timers.t1 = milliseconds(100);
  timers.t2 = milliseconds(400);
  return timers;
}

const ScheduleCase kScheduleCases[] = {
    // 17.1.1.2: A starts at T1 and doubles without a cap until B = 64*T1.
    {"InviteUdp", "INVITE", Protocol::kUdp, {}, {0, 500, 1500, 3500, 7500, 15500, 31500}, 32000},
    {"InviteTcp", "INVITE", Protocol::kTcp, {}, {0}, 32000},
    {"InviteUdpT1of100ms",
     "INVITE",
     Protocol::kUdp,
     FastTimers(),
     {0, 100, 300, 700, 1500, 3100, 6300},
     6400},
    // 17.1.2.2: E doubles up to T2 = 4 s, then every T2 until F = 64*T1.
    {"OptionsUdp",
     "OPTIONS",
     Protocol::kUdp,
     {},
     {0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500},
     32000},
    {"OptionsTls", "OPTIONS", Protocol::kTls, {}, {0}, 32000},
    {"OptionsUdpT2of400ms",
     "OPTIONS",
     Protocol::kUdp,
     FastTimers(),
     {0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100, 5500, 5900, 6300},
     6400},
};

class ClientScheduleTest : public ClientTransactionTest,
                           public ::testing::WithParamInterface<ScheduleCase> {};

TEST_P(ClientScheduleTest, RetransmitsOnScheduleAndTimesOut) {
  const ScheduleCase& c = GetParam();
  TransactionLayerConfig config;
  config.timers = c.timers;
  MakeLayer(config);
  const TransactionId id = StartClient(OutgoingRequest(c.method), c.protocol);
  const TransactionKind kind = std::string_view(c.method) == "INVITE" ? TransactionKind::kInviteClient
                                                                      : TransactionKind::kNonInviteClient;

  AdvanceToMs(c.timeout_ms - 1);
  EXPECT_TRUE(user_.events.empty());
  EXPECT_EQ(layer_->size(), 1u);
  AdvanceToMs(c.timeout_ms);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"timeout " + std::to_string(id) + " " +
                                                    std::string(TransactionKindName(kind))}));
  EXPECT_EQ(SendTimesMs(), c.sends_ms);
  for (const SentMessage& sent : transport_.sent) EXPECT_EQ(sent.bytes, transport_.sent[0].bytes);
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(layer_->counters().retransmissions_sent, c.sends_ms.size() - 1);
  EXPECT_EQ(layer_->counters().timeouts, 1u);
  EXPECT_EQ(layer_->counters().Created(kind), 1u);
  EXPECT_EQ(layer_->counters().Terminated(kind), 1u);
  AdvanceMs(100000);
  EXPECT_EQ(transport_.sent.size(), c.sends_ms.size());
}

INSTANTIATE_TEST_SUITE_P(Schedules, ClientScheduleTest, ::testing::ValuesIn(kScheduleCases),
                         [](const auto& case_info) { return std::string(case_info.param.name); });

TEST_F(ClientTransactionTest, ProvisionalStopsTimerAAndRingingInviteWaitsForItsFinal) {
  const TransactionId id = StartClient(OutgoingRequest("INVITE"));
  AdvanceToMs(600);
  ASSERT_EQ(SendTimesMs(), (std::vector<int64_t>{0, 500}));
  Deliver(ResponseTo(transport_.sent[0].bytes, 180, "Ringing"));
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  // RFC 3261 17.1.1.2: no retransmissions in Proceeding, and timer B only acts in
  // Calling: a line may ring for minutes.
  AdvanceToMs(200000);
  EXPECT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 180 1"}));
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  EXPECT_EQ(scheduler_.pending(), 0u);

  Deliver(ResponseTo(transport_.sent[0].bytes, 200, "OK"));
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 180 1", "response 200 1"}));
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(ClientTransactionTest, NonInviteProvisionalKeepsTimerFAndMovesTimerEToT2) {
  const TransactionId id = StartClient(OutgoingRequest("OPTIONS"));
  AdvanceToMs(600);
  Deliver(ResponseTo(transport_.sent[0].bytes, 100, "Trying"));
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kProceeding);
  AdvanceToMs(32000);
  // The E due at 1500 fires in Proceeding and is reset to T2 (17.1.2.2); F still ends
  // the transaction at 64*T1.
  EXPECT_EQ(SendTimesMs(),
            (std::vector<int64_t>{0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500}));
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 100 1", "timeout 1 non_invite_client"}));
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(ClientTransactionTest, InviteSuccessGoesToTuAndTerminates) {
  const TransactionId id = StartClient(OutgoingRequest("INVITE"));
  const std::string ok = ResponseTo(transport_.sent[0].bytes, 200, "OK");
  Deliver(ok);
  // RFC 3261 17.1.1.2: 2xx -> Terminated; the TU acknowledges it (13.2.2.4).
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 200 " + std::to_string(id)}));
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(transport_.sent.size(), 1u) << "no ACK from the transaction for a 2xx";
  // Its retransmissions match nothing and reach the core (17.1.3, 18.1.2).
  Deliver(ok);
  EXPECT_EQ(user_.events.back(), "stray_response 200");
  EXPECT_EQ(layer_->counters().stray_responses, 1u);
  EXPECT_EQ(layer_->counters().invite_client_terminated, 1u);
}

TEST_F(ClientTransactionTest, NonSuccessFinalIsAcknowledgedAndItsRetransmissionsAbsorbed) {
  const TransactionId id = StartClient(OutgoingRequest("INVITE"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 180, "Ringing"));
  const std::string busy = ResponseTo(transport_.sent[0].bytes, 486, "Busy Here", "busy9");
  Deliver(busy);
  EXPECT_EQ(layer_->StateOf(id), TransactionState::kCompleted);
  ASSERT_EQ(transport_.sent.size(), 2u);
  const std::string expected_ack =
      "ACK sip:line1@192.0.2.20 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" +
      Branch(1) +
      ";rport\r\n"
      "Route: <sip:192.0.2.30;lr>\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:gw@192.0.2.10>;tag=gw1\r\n"
      "To: <sip:line1@192.0.2.20>;tag=busy9\r\n"
      "Call-ID: out1@192.0.2.10\r\n"
      "CSeq: 1 ACK\r\n"
      "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(LastSent(), expected_ack);
  EXPECT_EQ(transport_.sent[1].destination.address, transport_.sent[0].destination.address);

  Deliver(busy);
  Deliver(busy);
  ASSERT_EQ(transport_.sent.size(), 4u);
  EXPECT_EQ(transport_.sent[2].bytes, expected_ack);
  EXPECT_EQ(transport_.sent[3].bytes, expected_ack);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 180 1", "response 486 1"}));
  EXPECT_EQ(layer_->counters().retransmissions_absorbed, 2u);
  EXPECT_EQ(layer_->counters().retransmissions_sent, 2u);
}

struct WaitCase {
  const char* name;
  const char* method;
  uint16_t status;
  Protocol protocol;
  int64_t wait_ms;  // timer D or K
};
void PrintTo(const WaitCase& c, std::ostream* os) { *os << c.name; }

const WaitCase kWaitCases[] = {
    {"TimerDUdp", "INVITE", 404, Protocol::kUdp, 32000},  // 17.1.1.2: 32 s on UDP
    {"TimerDTcp", "INVITE", 404, Protocol::kTcp, 0},      // and zero on reliable
    {"TimerKUdp", "OPTIONS", 200, Protocol::kUdp, 5000},  // 17.1.2.2: T4
    {"TimerKTcp", "OPTIONS", 404, Protocol::kTcp, 0},
};

class ClientWaitTest : public ClientTransactionTest, public ::testing::WithParamInterface<WaitCase> {};

TEST_P(ClientWaitTest, CompletedLastsTimerDOrK) {
  const WaitCase& c = GetParam();
  const TransactionId id = StartClient(OutgoingRequest(c.method), c.protocol);
  AdvanceToMs(1000);
  Deliver(ResponseTo(transport_.sent[0].bytes, c.status, "Final"), c.protocol);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response " + std::to_string(c.status) + " 1"}));
  if (c.wait_ms == 0) {
    EXPECT_EQ(layer_->size(), 0u);
  } else {
    EXPECT_EQ(layer_->StateOf(id), TransactionState::kCompleted);
    AdvanceToMs(1000 + c.wait_ms - 1);
    EXPECT_EQ(layer_->size(), 1u);
    AdvanceToMs(1000 + c.wait_ms);
    EXPECT_EQ(layer_->size(), 0u);
  }
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(layer_->counters().timeouts, 0u);
}

INSTANTIATE_TEST_SUITE_P(Waits, ClientWaitTest, ::testing::ValuesIn(kWaitCases),
                         [](const auto& case_info) { return std::string(case_info.param.name); });

TEST_F(ClientTransactionTest, NonInviteFinalRetransmissionsAbsorbedInCompleted) {
  StartClient(OutgoingRequest("REGISTER"));
  const std::string ok = ResponseTo(transport_.sent[0].bytes, 200, "OK");
  Deliver(ok);
  Deliver(ok);
  AdvanceMs(4999);
  Deliver(ok);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 200 1"}));
  EXPECT_EQ(layer_->counters().retransmissions_absorbed, 2u);
  EXPECT_EQ(transport_.sent.size(), 1u) << "the request is not retransmitted in Completed";
  AdvanceMs(1);
  Deliver(ok);
  EXPECT_EQ(user_.events.back(), "stray_response 200");
}

TEST_F(ClientTransactionTest, ResponsesMatchByBranchAndCSeqMethod) {
  const TransactionId invite = StartClient(OutgoingRequest("INVITE"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 180, "Ringing"));
  Result<TransactionId> cancel = layer_->SendCancel(invite);
  ASSERT_TRUE(cancel.ok()) << cancel.error();
  ASSERT_EQ(transport_.sent.size(), 2u);
  // RFC 3261 9.1: the INVITE's Request-URI, top Via (same branch), Route, From, To,
  // Call-ID and CSeq number; method CANCEL; to the INVITE's destination.
  EXPECT_EQ(LastSent(),
            "CANCEL sip:line1@192.0.2.20 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" +
                Branch(1) +
                ";rport\r\n"
                "Route: <sip:192.0.2.30;lr>\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:gw@192.0.2.10>;tag=gw1\r\n"
                "To: <sip:line1@192.0.2.20>\r\n"
                "Call-ID: out1@192.0.2.10\r\n"
                "CSeq: 1 CANCEL\r\n"
                "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(transport_.sent[1].destination.address, transport_.sent[0].destination.address);

  // Same branch, CSeq method CANCEL: the CANCEL transaction's response (17.1.3).
  Deliver(ResponseTo(transport_.sent[1].bytes, 200, "OK"));
  EXPECT_EQ(user_.events.back(), "response 200 " + std::to_string(*cancel));
  EXPECT_EQ(layer_->StateOf(invite), TransactionState::kProceeding);
  Deliver(ResponseTo(transport_.sent[0].bytes, 487, "Request Terminated"));
  EXPECT_EQ(user_.events.back(), "response 487 " + std::to_string(invite));
  EXPECT_EQ(StartLine(LastSent()), "ACK sip:line1@192.0.2.20 SIP/2.0");

  // The same branch with a method no transaction has is stray.
  std::string other = ResponseTo(transport_.sent[0].bytes, 200, "OK");
  other.replace(other.find("CSeq: 1 INVITE"), 14, "CSeq: 1 UPDATE");
  Deliver(other);
  EXPECT_EQ(user_.events.back(), "stray_response 200");

  AdvanceMs(32000);
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(layer_->counters().non_invite_client_terminated, 1u);
  EXPECT_EQ(layer_->counters().invite_client_terminated, 1u);
}

TEST_F(ClientTransactionTest, CancelledInviteWithoutFinalTimesOutAfter64T1) {
  const TransactionId invite = StartClient(OutgoingRequest("INVITE"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 183, "Session Progress"));
  AdvanceToMs(60000);
  Result<TransactionId> cancel = layer_->SendCancel(invite);
  ASSERT_TRUE(cancel.ok()) << cancel.error();
  Deliver(ResponseTo(transport_.sent[1].bytes, 200, "OK"));
  AdvanceToMs(60000 + 31999);
  EXPECT_EQ(layer_->StateOf(invite), TransactionState::kProceeding);
  AdvanceToMs(60000 + 32000);  // RFC 3261 9.1: give up on the INVITE after 64*T1
  EXPECT_EQ(user_.events.back(), "timeout " + std::to_string(invite) + " invite_client");
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(ClientTransactionTest, CancelOnlyBetweenProvisionalAndFinal) {
  const TransactionId invite = StartClient(OutgoingRequest("INVITE"));
  Result<TransactionId> early = layer_->SendCancel(invite);
  EXPECT_FALSE(early.ok());  // 9.1: not before a provisional response
  EXPECT_EQ(layer_->counters().illegal_events, 1u);
  EXPECT_EQ(transport_.sent.size(), 1u);

  Deliver(ResponseTo(transport_.sent[0].bytes, 180, "Ringing"));
  EXPECT_TRUE(layer_->SendCancel(invite).ok());
  Result<TransactionId> twice = layer_->SendCancel(invite);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error(), "CANCEL already sent");

  const TransactionId options = StartClient(OutgoingRequest("OPTIONS", 2));
  EXPECT_FALSE(layer_->SendCancel(options).ok());
  EXPECT_FALSE(layer_->SendCancel(999).ok());
}

TEST_F(ClientTransactionTest, RefusesWhatIsNotATransactionRequest) {
  EXPECT_FALSE(layer_->SendRequest(OutgoingRequest("ACK"), To()).ok());
  EXPECT_FALSE(layer_->SendRequest(OutgoingRequest("CANCEL"), To()).ok());
  EXPECT_FALSE(layer_->SendRequest("INVITE sip:a@192.0.2.20 SIP/2.0\r\n\r\n", To()).ok());
  EXPECT_FALSE(layer_->SendRequest("not sip", To()).ok());
  std::string no_length = OutgoingRequest("OPTIONS");
  no_length.erase(no_length.find("Content-Length"), std::string("Content-Length: 0\r\n").size());
  EXPECT_FALSE(layer_->SendRequest(no_length, To(Protocol::kTcp)).ok()) << "streams need Content-Length";
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(ClientTransactionTest, TransportErrorOnFirstSendIsReturned) {
  transport_.fail_next_sends = 1;
  Result<TransactionId> id = layer_->SendRequest(OutgoingRequest("INVITE"), To());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error(), "transport: unreachable");
  EXPECT_TRUE(user_.events.empty());
  EXPECT_EQ(layer_->size(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(layer_->counters().transport_errors, 1u);
  EXPECT_EQ(layer_->counters().invite_client_terminated, 1u);
}

TEST_F(ClientTransactionTest, TransportErrorOnRetransmissionIsCalledBack) {
  const TransactionId id = StartClient(OutgoingRequest("OPTIONS"));
  transport_.fail_next_sends = 1;
  AdvanceMs(500);
  EXPECT_EQ(user_.events, (std::vector<std::string>{"transport_error " + std::to_string(id)}));
  EXPECT_EQ(layer_->size(), 0u);
  AdvanceMs(60000);
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(ClientTransactionTest, TransportErrorOnAckAfterTheResponseIsPassed) {
  const TransactionId id = StartClient(OutgoingRequest("INVITE"));
  transport_.fail_next_sends = 1;
  Deliver(ResponseTo(transport_.sent[0].bytes, 603, "Decline"));
  EXPECT_EQ(user_.events,
            (std::vector<std::string>{"response 603 1", "transport_error " + std::to_string(id)}));
  EXPECT_EQ(layer_->size(), 0u);
}

TEST_F(ClientTransactionTest, ProvisionalAfterFinalIsCountedIllegal) {
  StartClient(OutgoingRequest("INVITE"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 486, "Busy Here"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 180, "Ringing"));
  EXPECT_EQ(user_.events, (std::vector<std::string>{"response 486 1"}));
  EXPECT_EQ(layer_->counters().illegal_events, 1u);
  EXPECT_EQ(layer_->StateOf(1), TransactionState::kCompleted);
}

TEST_F(ClientTransactionTest, TuMaySendFromInsideItsCallback) {
  // A 401 answered at once with a new request (the digest retry) from OnResponse.
  user_.on_response = [this](TransactionId, const sip::Message& response) {
    if (response.status_code() == 401) StartClient(OutgoingRequest("REGISTER", 2));
  };
  StartClient(OutgoingRequest("REGISTER"));
  Deliver(ResponseTo(transport_.sent[0].bytes, 401, "Unauthorized"));
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(HeaderValue(LastSent(), "CSeq"), "2 REGISTER");
  EXPECT_EQ(HeaderValue(LastSent(), "Via"), "SIP/2.0/UDP 192.0.2.10:5060;branch=" + Branch(2) + ";rport");
  EXPECT_EQ(layer_->size(), 2u);
}

}  // namespace
}  // namespace linegate::signaling::transaction::testing
