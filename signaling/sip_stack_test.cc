// SipStack on real loopback UDP with the process reactor: the UAS checks, OPTIONS and
// the routing of calls to the CallAgent, as a SIP peer sees them.

#include "signaling/sip_stack.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace linegate::signaling {
namespace {

using namespace std::chrono_literals;
namespace pb = linegate::signaling::v1;

class SipStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::v1::Signaling config;
    config.set_listen_address("127.0.0.1");
    config.set_sip_port(0);  // an ephemeral port
    config.set_user_agent("linegate-test");
    config.mutable_timers()->set_t1_ms(500);
    config.mutable_timers()->set_t2_ms(4000);
    config.mutable_timers()->set_t4_ms(5000);
    auto stack = SipStack::Create(config, reactor_);
    ASSERT_TRUE(stack.ok()) << stack.error();
    stack_ = std::move(*stack);
    config::v1::Calls calls;
    calls.set_ptime_ms(20);
    calls.set_telephone_event_pt(101);
    calls.set_session_expires_s(0);
    stack_->StartCalls(calls, [this](const pb::CallEvent& event) { events_.push_back(event); });

    peer_ = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(peer_, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(peer_, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
    socklen_t length = sizeof(any);
    ASSERT_EQ(getsockname(peer_, reinterpret_cast<sockaddr*>(&any), &length), 0);
    peer_port_ = ntohs(any.sin_port);
  }
  void TearDown() override {
    if (peer_ >= 0) close(peer_);
  }

  void Send(const std::string& message) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(stack_->transports().LocalAddress(transport::Protocol::kUdp)->port());
    ASSERT_EQ(sendto(peer_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(message.size()));
  }

  // The next message the stack sends to the peer, skipping 100 Trying; empty on timeout.
  std::string Receive() {
    const auto end = std::chrono::steady_clock::now() + 3s;
    char buffer[8192];
    while (std::chrono::steady_clock::now() < end) {
      reactor_.RunOnce(5ms);
      const ssize_t n = recv(peer_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) continue;
      std::string message(buffer, static_cast<size_t>(n));
      if (message.rfind("SIP/2.0 100 ", 0) == 0) continue;
      return message;
    }
    return "";
  }

  bool RunUntilEvents(size_t count) {
    const auto end = std::chrono::steady_clock::now() + 3s;
    while (events_.size() < count) {
      if (std::chrono::steady_clock::now() >= end) return false;
      reactor_.RunOnce(5ms);
    }
    return true;
  }

  std::string Request(std::string_view method, std::string_view to_tag, uint32_t cseq,
                      std::string_view branch, std::string_view extra = "", std::string_view body = "") {
    std::string out = std::string(method) + " sip:100@127.0.0.1 SIP/2.0\r\n";
    out += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(peer_port_) + ";branch=" + std::string(branch) +
           ";rport\r\n";
    out += "Max-Forwards: 70\r\n";
    out += "From: <sip:2000@example.com>;tag=peer1\r\n";
    out += "To: <sip:100@example.com>" + (to_tag.empty() ? std::string() : ";tag=" + std::string(to_tag)) +
           "\r\n";
    out += "Call-ID: stack-test-1\r\n";
    out += "CSeq: " + std::to_string(cseq) + " " + std::string(method == "ACK" ? "INVITE" : method) + "\r\n";
    if (method == "ACK") out.replace(out.find(" INVITE\r\n", out.find("CSeq:")), 8, " ACK\r\n");
    out += "Contact: <sip:2000@127.0.0.1:" + std::to_string(peer_port_) + ">\r\n";
    out += std::string(extra);
    if (!body.empty()) out += "Content-Type: application/sdp\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    return out;
  }

  static std::string HeaderOf(std::string_view message, std::string_view name) {
    const std::string key = "\r\n" + std::string(name) + ": ";
    size_t at = message.find(key);
    if (at == std::string_view::npos) return "";
    at += key.size();
    return std::string(message.substr(at, message.find("\r\n", at) - at));
  }

  bus::Reactor reactor_;
  std::unique_ptr<SipStack> stack_;
  std::vector<pb::CallEvent> events_;
  int peer_ = -1;
  uint16_t peer_port_ = 0;
};

constexpr std::string_view kOffer =
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n";

TEST_F(SipStackTest, OptionsListsTheCallMethods) {
  Send(Request("OPTIONS", "", 1, "z9hG4bKopt1"));
  const std::string answer = Receive();
  EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(answer, "Allow"),
            "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, NOTIFY, INFO, PRACK");
}

TEST_F(SipStackTest, UnknownRequiredExtensionIsRefusedBeforeTheCallAgent) {
  Send(Request("INVITE", "", 1, "z9hG4bKinv1", "Require: nosuchthing\r\n", kOffer));
  const std::string answer = Receive();
  EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "SIP/2.0 420 Bad Extension");
  EXPECT_EQ(HeaderOf(answer, "Unsupported"), "nosuchthing");
  reactor_.RunOnce(10ms);
  EXPECT_TRUE(events_.empty());
}

TEST_F(SipStackTest, IncomingCallThroughTheStack) {
  Send(Request("INVITE", "", 1, "z9hG4bKinv1", "", kOffer));
  ASSERT_TRUE(RunUntilEvents(1));
  ASSERT_TRUE(events_[0].has_incoming());
  EXPECT_EQ(events_[0].incoming().called_number(), "100");
  EXPECT_EQ(events_[0].incoming().source_ip(), "127.0.0.1");
  const std::string call_ref = events_[0].call_ref();

  pb::AnswerCallRequest answer;
  answer.set_call_ref(call_ref);
  answer.set_status(200);
  answer.mutable_media()->set_address("127.0.0.1");
  answer.mutable_media()->set_port(30000);
  ASSERT_FALSE(stack_->calls()->AnswerCall(answer).has_value());
  const std::string ok = Receive();
  ASSERT_EQ(ok.substr(0, ok.find("\r\n")), "SIP/2.0 200 OK") << ok;
  EXPECT_NE(HeaderOf(ok, "Via").find("rport=" + std::to_string(peer_port_)), std::string::npos) << ok;
  const std::string to = HeaderOf(ok, "To");
  const std::string tag = to.substr(to.find(";tag=") + 5);

  Send(Request("ACK", tag, 1, "z9hG4bKack1"));
  Send(Request("BYE", tag, 2, "z9hG4bKbye1"));
  const std::string bye_ok = Receive();
  EXPECT_EQ(bye_ok.substr(0, bye_ok.find("\r\n")), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(bye_ok, "CSeq"), "2 BYE");
  ASSERT_TRUE(RunUntilEvents(2));
  ASSERT_TRUE(events_[1].has_released());
  EXPECT_TRUE(events_[1].released().by_remote());
  EXPECT_EQ(stack_->calls()->size(), 0u);
}

}  // namespace
}  // namespace linegate::signaling
