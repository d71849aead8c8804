#include "signaling/transaction/transaction_messages.h"

#include <gtest/gtest.h>

#include <memory>

#include "signaling/transaction/test/transaction_test_util.h"

namespace linegate::signaling::transaction {
namespace {

using transport::Protocol;

// A message with the text its views point into.
struct Parsed {
  explicit Parsed(std::string message_text) : text(std::move(message_text)) {
    const sip::ParseResult result = sip::Parse(text, sip::Transport::kDatagram, message);
    EXPECT_TRUE(result.ok()) << result.reason() << "\n" << text;
  }
  std::string text;
  sip::Message message;
};

std::unique_ptr<Parsed> MustParse(std::string text) { return std::make_unique<Parsed>(std::move(text)); }

const std::string kInvite =
    "INVITE sip:line1@192.0.2.20;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtop;rport, SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKlow\r\n"
    "Via: SIP/2.0/UDP 198.51.100.2;branch=z9hG4bKlowest\r\n"
    "Route: <sip:192.0.2.30;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "Route: <sip:192.0.2.31;lr>, <sip:192.0.2.32;lr>\r\n"
    "From: \"Gateway\" <sip:gw@192.0.2.10>;tag=gw1\r\n"
    "To: <sip:line1@192.0.2.20>\r\n"
    "Call-ID: out1@192.0.2.10\r\n"
    "CSeq: 4711 INVITE\r\n"
    "Contact: <sip:gw@192.0.2.10>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

TEST(InsertTopViaTest, AddsViaAsFirstHeader) {
  const std::optional<std::string> out =
      InsertTopVia("OPTIONS sip:a@192.0.2.20 SIP/2.0\r\nTo: <sip:a@192.0.2.20>\r\n\r\n", Protocol::kTcp,
                   "192.0.2.10:5060", "z9hG4bKx1");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\n"
            "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKx1;rport\r\n"
            "To: <sip:a@192.0.2.20>\r\n\r\n");
  EXPECT_FALSE(InsertTopVia("OPTIONS sip:a@192.0.2.20 SIP/2.0", Protocol::kUdp, "h", "z9hG4bKx"));
}

TEST(BuildAckTest, FollowsRfc3261Section17113) {
  auto invite = MustParse(kInvite);
  auto response = MustParse(
      "SIP/2.0 486 Busy Here\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtop;rport=5060;received=192.0.2.10\r\n"
      "From: \"Gateway\" <sip:gw@192.0.2.10>;tag=gw1\r\n"
      "To: <sip:line1@192.0.2.20>;tag=busy9\r\n"
      "Call-ID: out1@192.0.2.10\r\n"
      "CSeq: 4711 INVITE\r\n"
      "Content-Length: 0\r\n\r\n");
  const std::optional<std::string> ack = BuildAckForFailure(invite->message, response->message);
  ASSERT_TRUE(ack);
  // Request-URI, Call-ID, From, CSeq number and Routes of the INVITE; To of the
  // response; only the INVITE's top Via value; no body.
  EXPECT_EQ(*ack,
            "ACK sip:line1@192.0.2.20;user=phone SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtop;rport\r\n"
            "Route: <sip:192.0.2.30;lr>\r\n"
            "Route: <sip:192.0.2.31;lr>, <sip:192.0.2.32;lr>\r\n"
            "Max-Forwards: 69\r\n"
            "From: \"Gateway\" <sip:gw@192.0.2.10>;tag=gw1\r\n"
            "To: <sip:line1@192.0.2.20>;tag=busy9\r\n"
            "Call-ID: out1@192.0.2.10\r\n"
            "CSeq: 4711 ACK\r\n"
            "Content-Length: 0\r\n\r\n");
  EXPECT_TRUE(MustParse(*ack)->message.is_request());
  EXPECT_FALSE(BuildAckForFailure(invite->message, invite->message))
      << "the second message must be a response";
}

TEST(BuildCancelTest, FollowsRfc3261Section91) {
  auto invite = MustParse(kInvite);
  const std::optional<std::string> cancel = BuildCancel(invite->message);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(*cancel,
            "CANCEL sip:line1@192.0.2.20;user=phone SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtop;rport\r\n"
            "Route: <sip:192.0.2.30;lr>\r\n"
            "Route: <sip:192.0.2.31;lr>, <sip:192.0.2.32;lr>\r\n"
            "Max-Forwards: 69\r\n"
            "From: \"Gateway\" <sip:gw@192.0.2.10>;tag=gw1\r\n"
            "To: <sip:line1@192.0.2.20>\r\n"
            "Call-ID: out1@192.0.2.10\r\n"
            "CSeq: 4711 CANCEL\r\n"
            "Content-Length: 0\r\n\r\n");
}

struct DestinationCase {
  const char* name;
  const char* via;
  Protocol protocol;
  const char* expected;  // SocketAddress::ToString
  uint64_t connection_id;
};

TEST(ResponseDestinationTest, Rfc3261Section1822AndRfc3581) {
  const DestinationCase cases[] = {
      {"udp sent-by port", "SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bK1", Protocol::kUdp, "198.51.100.7:5070",
       0},
      {"udp default port", "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK1", Protocol::kUdp, "198.51.100.7:5060", 0},
      {"udp rport", "SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bK1;rport", Protocol::kUdp, "198.51.100.7:40000",
       0},
      {"tcp same connection", "SIP/2.0/TCP 192.0.2.20:5070;branch=z9hG4bK1", Protocol::kTcp,
       "198.51.100.7:40000", 9},
  };
  for (const DestinationCase& c : cases) {
    sip::Via via;
    ASSERT_TRUE(sip::ParseVia(c.via, via).ok()) << c.name;
    transport::Received received;
    received.protocol = c.protocol;
    received.source = *transport::SocketAddress::Parse("198.51.100.7", 40000);
    received.connection_id = c.protocol == Protocol::kUdp ? 0 : 9;
    const transport::Destination destination = ResponseDestination(via, received);
    EXPECT_EQ(destination.address.ToString(), c.expected) << c.name;
    EXPECT_EQ(destination.protocol, c.protocol) << c.name;
    EXPECT_EQ(destination.connection_id, c.connection_id) << c.name;
  }
}

TEST(MagicCookieTest, OnlyTheExactPrefixWithSomethingAfterIt) {
  EXPECT_TRUE(HasMagicCookie("z9hG4bK776asdhds"));
  EXPECT_FALSE(HasMagicCookie("z9hG4bK"));
  EXPECT_FALSE(HasMagicCookie("Z9HG4BK776asdhds"));
  EXPECT_FALSE(HasMagicCookie("776asdhds"));
  EXPECT_FALSE(HasMagicCookie(""));
}

std::string Key(const testing::RequestSpec& spec, std::string_view method, std::string_view to_tag = "") {
  auto message = MustParse(testing::RequestText(spec));
  std::string key;
  EXPECT_TRUE(ServerKey(message->message, method, to_tag, key));
  return key;
}

TEST(ServerKeyTest, Rfc3261BranchSentByAndMethod) {
  testing::RequestSpec invite;
  const std::string base = Key(invite, "INVITE");

  testing::RequestSpec retransmission = invite;
  retransmission.call_id = "ignored-with-cookie";  // only branch, sent-by and method count
  EXPECT_EQ(Key(retransmission, "INVITE"), base);

  testing::RequestSpec upper_branch = invite;
  upper_branch.branch = "z9hG4bKPEER1";  // 7.3.1: parameter values compare case-insensitively
  EXPECT_EQ(Key(upper_branch, "INVITE"), base);

  testing::RequestSpec ack = invite;
  ack.method = "ACK";
  EXPECT_EQ(Key(ack, "INVITE"), base) << "ACK matches the INVITE";

  testing::RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  EXPECT_NE(Key(cancel, "CANCEL"), base) << "CANCEL is its own transaction";
  EXPECT_EQ(Key(cancel, "INVITE"), base) << "and finds the INVITE it cancels";

  testing::RequestSpec other_host = invite;
  other_host.sent_by = "192.0.2.21:5060";
  EXPECT_NE(Key(other_host, "INVITE"), base);

  testing::RequestSpec other_port = invite;
  other_port.sent_by = "192.0.2.20:5062";
  EXPECT_NE(Key(other_port, "INVITE"), base);

  testing::RequestSpec other_branch = invite;
  other_branch.branch = "z9hG4bKpeer2";
  EXPECT_NE(Key(other_branch, "INVITE"), base);
}

TEST(ServerKeyTest, Rfc2543FallbackUsesDialogFieldsAndTopVia) {
  testing::RequestSpec invite;
  invite.branch = "1234";  // no magic cookie
  const std::string base = Key(invite, "INVITE");
  EXPECT_EQ(Key(invite, "INVITE"), base);

  struct Change {
    const char* name;
    void (*apply)(testing::RequestSpec&);
  };
  const Change changes[] = {
      {"request-uri", [](testing::RequestSpec& s) { s.uri = "sip:line2@192.0.2.10"; }},
      {"from tag", [](testing::RequestSpec& s) { s.from_tag = "a2"; }},
      {"call-id", [](testing::RequestSpec& s) { s.call_id = "call2@192.0.2.20"; }},
      {"cseq", [](testing::RequestSpec& s) { s.cseq = 2; }},
      {"top via", [](testing::RequestSpec& s) { s.branch = "1235"; }},
      {"sent-by", [](testing::RequestSpec& s) { s.sent_by = "192.0.2.20:5062"; }},
  };
  for (const Change& change : changes) {
    testing::RequestSpec changed = invite;
    change.apply(changed);
    EXPECT_NE(Key(changed, "INVITE"), base) << change.name;
  }
  EXPECT_NE(Key(invite, "INVITE", "t1"), base) << "the To tag takes part";
  EXPECT_NE(Key(invite, "OPTIONS"), base) << "the method takes part";
}

TEST(ClientKeyTest, BranchAndCSeqMethod) {
  std::string a, b, c;
  ClientKey("z9hG4bKabc", "INVITE", a);
  ClientKey("z9hG4bKABC", "INVITE", b);
  ClientKey("z9hG4bKabc", "CANCEL", c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace linegate::signaling::transaction
