// CallAgent driven through a real transaction layer over a recording transport on a
// manual scheduler: every test asserts on the bytes sent and the CallEvents published.

#include "signaling/dialog/call_agent.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "signaling/auth/digest_response.h"
#include "signaling/dialog/tests/call_agent_harness.h"
#include "signaling/sip/sip_serializer.h"

namespace linegate::signaling::dialog {
namespace {

namespace pb = linegate::signaling::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

using harness::ForwardingUser;
using harness::RecordingTransport;
using harness::SeededRandom;
using harness::Sent;

constexpr std::string_view kOffer =
    "v=0\r\n"
    "o=- 1 1 IN IP4 198.51.100.7\r\n"
    "s=-\r\n"
    "c=IN IP4 198.51.100.7\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 0 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n";

constexpr std::string_view kG729Offer =
    "v=0\r\n"
    "o=- 1 1 IN IP4 198.51.100.7\r\n"
    "s=-\r\n"
    "c=IN IP4 198.51.100.7\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 18\r\n"
    "a=rtpmap:18 G729/8000\r\n";

std::string Answer(std::string_view direction = "sendrecv", uint16_t port = 50000) {
  return "v=0\r\n"
         "o=- 7 7 IN IP4 203.0.113.5\r\n"
         "s=-\r\n"
         "c=IN IP4 203.0.113.5\r\n"
         "t=0 0\r\n"
         "m=audio " +
         std::to_string(port) +
         " RTP/AVP 0 101\r\n"
         "a=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\n"
         "a=fmtp:101 0-15\r\n"
         "a=" +
         std::string(direction) + "\r\n";
}

std::string Body(std::string_view content_type, std::string_view body) {
  if (body.empty()) return "Content-Length: 0\r\n\r\n";
  return "Content-Type: " + std::string(content_type) + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

std::string Invite(std::string_view branch, std::string_view body = kOffer,
                   std::string_view call_id = "call1@peer", std::string_view extra = "") {
  return "INVITE sip:100@192.0.2.10 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=" +
         std::string(branch) +
         ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: \"Alice\" <sip:2000@example.com>;tag=ft1\r\n"
         "To: <sip:100@example.com>\r\n"
         "Call-ID: " +
         std::string(call_id) +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Contact: <sip:2000@198.51.100.7:5060>\r\n"
         "Record-Route: <sip:198.51.100.1;lr>\r\n" +
         std::string(extra) + Body("application/sdp", body);
}

// A request in the dialog an Invite() created, from its caller.
std::string InDialog(std::string_view method, std::string_view to_tag, uint32_t cseq, std::string_view branch,
                     std::string_view extra = "", std::string_view content_type = "",
                     std::string_view body = "") {
  return std::string(method) +
         " sip:100@192.0.2.10:5060 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=" +
         std::string(branch) +
         "\r\n"
         "Max-Forwards: 70\r\n"
         "From: \"Alice\" <sip:2000@example.com>;tag=ft1\r\n"
         "To: <sip:100@example.com>;tag=" +
         std::string(to_tag) +
         "\r\n"
         "Call-ID: call1@peer\r\n"
         "CSeq: " +
         std::to_string(cseq) + " " + std::string(method == "ACK" ? "ACK" : method) + "\r\n" +
         std::string(extra) + Body(content_type, body);
}

// The value of header `name` in `message` (first instance), empty if absent.
std::string HeaderOf(std::string_view message, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  size_t at = message.find(key);
  if (at == std::string_view::npos) return "";
  at += key.size();
  return std::string(message.substr(at, message.find("\r\n", at) - at));
}

std::string StartLine(std::string_view message) {
  return std::string(message.substr(0, message.find("\r\n")));
}

// The first line of the body starting with `prefix` ("o="), empty if none.
std::string SdpLine(std::string_view message, std::string_view prefix) {
  const std::string key = "\r\n" + std::string(prefix);
  size_t at = message.find(key, message.find("\r\n\r\n"));
  if (at == std::string_view::npos) return "";
  at += 2;
  return std::string(message.substr(at, message.find("\r\n", at) - at));
}

std::string TagOf(std::string_view header_value) {
  size_t at = header_value.find(";tag=");
  if (at == std::string_view::npos) return "";
  return std::string(header_value.substr(at + 5, header_value.find(';', at + 5) - at - 5));
}

class CallAgentTest : public ::testing::Test {
 protected:
  CallAgentTest()
      : layer_(scheduler_, transport_, user_, [this] { return ++random_counter_; }),
        agent_(scheduler_, layer_, transport_, random_, Config(), Hooks()) {
    user_.agent = &agent_;
  }

  static CallAgentConfig Config() {
    CallAgentConfig config;
    config.domain = "example.com";
    config.user_agent = "linegate-test";
    return config;
  }
  CallAgentHooks Hooks() {
    CallAgentHooks hooks;
    hooks.on_event = [this](const pb::CallEvent& event) { events_.push_back(event); };
    hooks.proxy_of = [](std::string_view name) -> std::optional<transport::Destination> {
      if (name != "main") return std::nullopt;
      transport::Destination d;
      d.address = *transport::SocketAddress::Parse("203.0.113.1", 5060);
      return d;
    };
    hooks.credentials_for = [](uint32_t line) -> std::vector<auth::Credentials> {
      if (line != 1) return {};
      return {auth::Credentials::FromPassword("2000", "secret")};
    };
    return hooks;
  }

  void Deliver(const std::string& text, std::string_view from = "198.51.100.7", uint16_t port = 5060) {
    transport::Received received;
    received.bytes = std::span<const char>(text.data(), text.size());
    received.protocol = transport::Protocol::kUdp;
    received.source = *transport::SocketAddress::Parse(from, port);
    received.local = *transport::SocketAddress::Parse("192.0.2.10", 5060);
    layer_.OnReceived(received);
  }

  // The messages sent since the last call.
  std::vector<Sent> TakeSent() {
    std::vector<Sent> out = std::move(transport_.sent);
    transport_.sent.clear();
    return out;
  }
  std::vector<pb::CallEvent> TakeEvents() {
    std::vector<pb::CallEvent> out = std::move(events_);
    events_.clear();
    return out;
  }

  // A response to a request we sent, as the far end writes it.
  static std::string ResponseTo(const std::string& request, uint16_t status, std::string_view reason,
                                std::string_view to_tag, std::string_view extra = "",
                                std::string_view body = "") {
    sip::Message parsed;
    EXPECT_TRUE(sip::Parse(request, sip::Transport::kDatagram, parsed).ok());
    std::vector<char> buffer(request.size() + extra.size() + body.size() + 512);
    auto size = sip::BuildResponse(parsed, status, reason, to_tag, buffer, extra);
    EXPECT_TRUE(size.has_value());
    std::string out(buffer.data(), *size);
    if (!body.empty()) {
      out.resize(out.size() - std::string_view("Content-Length: 0\r\n\r\n").size());
      out += Body("application/sdp", body);
    }
    return out;
  }

  pb::LocalMedia Media(uint32_t port = 30000, linegate::media::v1::Direction direction =
                                                  linegate::media::v1::DIRECTION_UNSPECIFIED) {
    pb::LocalMedia media;
    media.set_address("192.0.2.20");
    media.set_port(port);
    media.set_direction(direction);
    return media;
  }

  // An incoming call answered 200 and ACKed; returns our To tag.
  std::string EstablishIncoming() {
    Deliver(Invite("z9hG4bKinv1"));
    pb::AnswerCallRequest answer;
    answer.set_call_ref("s-1");
    answer.set_status(200);
    *answer.mutable_media() = Media();
    EXPECT_FALSE(agent_.AnswerCall(answer).has_value());
    std::vector<Sent> sent = TakeSent();
    EXPECT_EQ(sent.size(), 1u);
    const std::string tag = TagOf(HeaderOf(sent.at(0).bytes, "To"));
    Deliver(InDialog("ACK", tag, 1, "z9hG4bKack1"));
    TakeEvents();
    return tag;
  }

  // An outgoing call from line 1 to 300 via proxy set "main"; returns the INVITE.
  std::string PlaceOutgoing(std::string_view call_ref = "c-1", std::string_view transferred_from = "") {
    pb::PlaceCallRequest request;
    request.set_call_ref(std::string(call_ref));
    request.set_line(1);
    request.set_calling_number("2000");
    request.set_calling_name("Line One");
    request.set_called_number("300");
    request.set_destination("main");
    request.set_transferred_from(std::string(transferred_from));
    *request.mutable_media() = Media();
    std::string call_id;
    EXPECT_FALSE(agent_.PlaceCall(request, call_id).has_value());
    EXPECT_FALSE(call_id.empty());
    std::vector<Sent> sent = TakeSent();
    for (const Sent& s : sent) {
      if (StartLine(s.bytes).rfind("INVITE ", 0) == 0) return s.bytes;
    }
    ADD_FAILURE() << "no INVITE sent";
    return "";
  }

  ManualScheduler scheduler_;
  RecordingTransport transport_;
  ForwardingUser user_;
  uint64_t random_counter_ = 0;
  transaction::TransactionLayer layer_;
  SeededRandom random_;
  CallAgent agent_;
  std::vector<pb::CallEvent> events_;
};

// ---------------------------------------------------------------------------------
// UAS

TEST_F(CallAgentTest, UasBasicCall) {
  Deliver(Invite("z9hG4bKinv1"));
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].call_ref(), "s-1");
  ASSERT_TRUE(events[0].has_incoming());
  const pb::IncomingCall& incoming = events[0].incoming();
  EXPECT_EQ(incoming.called_number(), "100");
  EXPECT_EQ(incoming.calling_number(), "2000");
  EXPECT_EQ(incoming.calling_name(), "Alice");
  EXPECT_EQ(incoming.to_number(), "100");
  EXPECT_EQ(incoming.source_ip(), "198.51.100.7");
  EXPECT_EQ(incoming.sip_call_id(), "call1@peer");
  // Our preference (PCMU first) wins over the offer's order.
  EXPECT_EQ(incoming.media().codec(), linegate::media::v1::CODEC_PCMU);
  EXPECT_EQ(incoming.media().payload_type(), 0u);
  EXPECT_EQ(incoming.media().remote_address(), "198.51.100.7");
  EXPECT_EQ(incoming.media().remote_port(), 40000u);
  EXPECT_EQ(incoming.media().telephone_event_pt(), 101u);
  EXPECT_EQ(incoming.media().line(), 0u);
  EXPECT_EQ(incoming.media().local_port(), 0u);
  EXPECT_TRUE(TakeSent().empty());

  pb::AnswerCallRequest ringing;
  ringing.set_call_ref("s-1");
  ringing.set_status(180);
  EXPECT_FALSE(agent_.AnswerCall(ringing).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 180 Ringing");
  const std::string tag = TagOf(HeaderOf(sent[0].bytes, "To"));
  EXPECT_FALSE(tag.empty());
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Contact"), "<sip:100@192.0.2.10:5060>");
  EXPECT_NE(HeaderOf(sent[0].bytes, "Via").find("received=198.51.100.7"), std::string::npos);

  pb::AnswerCallRequest answer;
  answer.set_call_ref("s-1");
  answer.set_status(200);
  *answer.mutable_media() = Media();
  EXPECT_FALSE(agent_.AnswerCall(answer).has_value());
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string ok = sent[0].bytes;
  EXPECT_EQ(StartLine(ok), "SIP/2.0 200 OK");
  EXPECT_EQ(TagOf(HeaderOf(ok, "To")), tag);
  EXPECT_EQ(HeaderOf(ok, "Record-Route"), "<sip:198.51.100.1;lr>");
  EXPECT_EQ(HeaderOf(ok, "Contact"), "<sip:100@192.0.2.10:5060>");
  EXPECT_EQ(HeaderOf(ok, "Content-Type"), "application/sdp");
  EXPECT_NE(ok.find("c=IN IP4 192.0.2.20\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("m=audio 30000 RTP/AVP 0 101\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("a=rtpmap:0 PCMU/8000\r\n"), std::string::npos);
  EXPECT_NE(ok.find("a=rtpmap:101 telephone-event/8000\r\n"), std::string::npos);
  EXPECT_EQ(ok.find("PCMA"), std::string::npos);

  // RFC 3261 13.3.1.4: retransmitted at T1, 2 T1, ... until the ACK.
  scheduler_.Advance(milliseconds(500));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, ok);
  EXPECT_EQ(sent[0].destination.address.ToString(), "198.51.100.7:5060");
  scheduler_.Advance(milliseconds(999));
  EXPECT_TRUE(TakeSent().empty());
  scheduler_.Advance(milliseconds(1));
  EXPECT_EQ(TakeSent().size(), 1u);

  Deliver(InDialog("ACK", tag, 1, "z9hG4bKack1"));
  scheduler_.Advance(seconds(40));
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_TRUE(TakeEvents().empty());

  pb::DialogListReply dialogs = agent_.ListDialogs();
  ASSERT_EQ(dialogs.dialogs_size(), 1);
  EXPECT_EQ(dialogs.dialogs(0).state(), "confirmed");
  EXPECT_FALSE(dialogs.dialogs(0).outgoing());

  Deliver(InDialog("BYE", tag, 2, "z9hG4bKbye1"));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "2 BYE");
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 0u);
  EXPECT_TRUE(events[0].released().by_remote());
  EXPECT_EQ(agent_.size(), 0u);
}

TEST_F(CallAgentTest, UasCodecMismatchIs488WithWarning) {
  Deliver(Invite("z9hG4bKinv1", kG729Offer));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 488 Not Acceptable Here");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Warning"), "305 192.0.2.10:5060 \"Incompatible media format\"");
  EXPECT_TRUE(TakeEvents().empty());
  EXPECT_EQ(agent_.size(), 0u);
}

TEST_F(CallAgentTest, UasCancelGets200And487AndReleases) {
  Deliver(Invite("z9hG4bKinv1"));
  TakeEvents();
  pb::AnswerCallRequest ringing;
  ringing.set_call_ref("s-1");
  ringing.set_status(180);
  EXPECT_FALSE(agent_.AnswerCall(ringing).has_value());
  TakeSent();
  Deliver(
      "CANCEL sip:100@192.0.2.10 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKinv1;rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: \"Alice\" <sip:2000@example.com>;tag=ft1\r\n"
      "To: <sip:100@example.com>\r\n"
      "Call-ID: call1@peer\r\n"
      "CSeq: 1 CANCEL\r\n"
      "Content-Length: 0\r\n\r\n");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "1 CANCEL");
  EXPECT_EQ(StartLine(sent[1].bytes), "SIP/2.0 487 Request Terminated");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "CSeq"), "1 INVITE");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 487u);
  EXPECT_TRUE(events[0].released().by_remote());
  EXPECT_EQ(agent_.size(), 0u);
}

TEST_F(CallAgentTest, UasNoAckSendsByeAndReleases408) {
  Deliver(Invite("z9hG4bKinv1"));
  pb::AnswerCallRequest answer;
  answer.set_call_ref("s-1");
  answer.set_status(200);
  *answer.mutable_media() = Media();
  EXPECT_FALSE(agent_.AnswerCall(answer).has_value());
  TakeEvents();
  TakeSent();
  scheduler_.Advance(seconds(31));
  std::vector<Sent> sent = TakeSent();
  for (const Sent& s : sent) EXPECT_EQ(StartLine(s.bytes), "SIP/2.0 200 OK");
  EXPECT_TRUE(TakeEvents().empty());
  scheduler_.Advance(seconds(1));  // 64 * T1
  sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  const std::string& bye = sent.back().bytes;
  EXPECT_EQ(StartLine(bye), "BYE sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(bye, "Route"), "<sip:198.51.100.1;lr>");
  EXPECT_EQ(HeaderOf(bye, "To"), "\"Alice\" <sip:2000@example.com>;tag=ft1");
  EXPECT_EQ(sent.back().destination.address.ToString(), "198.51.100.1:5060");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 408u);
}

TEST_F(CallAgentTest, UasEndCallBeforeAnswerSendsFinalStatus) {
  Deliver(Invite("z9hG4bKinv1"));
  TakeEvents();
  pb::EndCallRequest end;
  end.set_call_ref("s-1");
  end.set_status(486);
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 486 Busy Here");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 486u);
  EXPECT_FALSE(events[0].released().by_remote());

  Deliver(Invite("z9hG4bKinv2", kOffer, "call2@peer"));
  TakeEvents();
  end.set_call_ref("s-2");
  end.set_status(0);
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 480 Temporarily Unavailable");
}

TEST_F(CallAgentTest, UasForwardingIs302WithTheTargetAsContact) {
  Deliver(Invite("z9hG4bKinv1"));
  TakeEvents();
  pb::EndCallRequest end;
  end.set_call_ref("s-1");
  end.set_status(302);
  end.set_reason("Moved Temporarily");
  end.set_contact("3005");
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 302 Moved Temporarily");
  EXPECT_NE(sent[0].bytes.find("\r\nContact: <sip:3005@"), std::string::npos) << sent[0].bytes;

  Deliver(Invite("z9hG4bKinv2", kOffer, "call2@peer"));
  TakeEvents();
  end.set_call_ref("s-2");
  end.set_contact("not a user");
  EXPECT_TRUE(agent_.EndCall(end).has_value());
}

TEST_F(CallAgentTest, UasUnansweredInviteEndsAtItsExpiresOrOurLimit) {
  Deliver(Invite("z9hG4bKinv1", kOffer, "call1@peer", "Expires: 30\r\n"));
  TakeEvents();
  scheduler_.Advance(seconds(29));
  TakeSent();  // 100 Trying
  EXPECT_TRUE(TakeEvents().empty());
  scheduler_.Advance(seconds(1));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 487 Request Terminated");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 487u);

  Deliver(Invite("z9hG4bKinv2", kOffer, "call2@peer"));
  TakeEvents();
  scheduler_.Advance(std::chrono::minutes(5));
  sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(StartLine(sent.back().bytes), "SIP/2.0 480 Temporarily Unavailable");
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 480u);
  EXPECT_FALSE(events[0].released().by_remote());
  EXPECT_EQ(agent_.size(), 0u);
}

TEST_F(CallAgentTest, UasReliableProvisionalsWaitForTheirPrack) {
  Deliver(Invite("z9hG4bKinv1", kOffer, "call1@peer", "Require: 100rel\r\n"));
  TakeEvents();
  pb::AnswerCallRequest ringing;
  ringing.set_call_ref("s-1");
  ringing.set_status(180);
  EXPECT_FALSE(agent_.AnswerCall(ringing).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string first = sent[0].bytes;
  EXPECT_EQ(HeaderOf(first, "Require"), "100rel");
  EXPECT_EQ(HeaderOf(first, "RSeq"), "1");
  const std::string tag = TagOf(HeaderOf(first, "To"));
  // Retransmitted at T1 until the PRACK; a 183 asked for meanwhile waits.
  scheduler_.Advance(milliseconds(500));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, first);
  pb::AnswerCallRequest progress;
  progress.set_call_ref("s-1");
  progress.set_status(183);
  *progress.mutable_media() = Media();
  EXPECT_FALSE(agent_.AnswerCall(progress).has_value());
  EXPECT_TRUE(TakeSent().empty());
  Deliver(InDialog("PRACK", tag, 2, "z9hG4bKprack1", "RAck: 1 1 INVITE\r\n"));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "2 PRACK");
  EXPECT_EQ(StartLine(sent[1].bytes), "SIP/2.0 183 Session Progress");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "RSeq"), "2");
  EXPECT_NE(sent[1].bytes.find("m=audio 30000 RTP/AVP 0 101\r\n"), std::string::npos);
  // A PRACK for no unacknowledged provisional: 481.
  Deliver(InDialog("PRACK", tag, 3, "z9hG4bKprack2", "RAck: 1 1 INVITE\r\n"));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 481 Call/Transaction Does Not Exist");
  // Never PRACKed: 64*T1 after it was sent, the INVITE is rejected 500.
  scheduler_.Advance(seconds(32));
  sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(StartLine(sent.back().bytes), "SIP/2.0 500 Reliable Provisional Not Acknowledged");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 500u);
}

TEST_F(CallAgentTest, UasInviteWithoutSdpGetsOfferAndAnswerInAck) {
  Deliver(Invite("z9hG4bKinv1", ""));
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].incoming().has_media());
  pb::AnswerCallRequest answer;
  answer.set_call_ref("s-1");
  answer.set_status(200);
  *answer.mutable_media() = Media();
  EXPECT_FALSE(agent_.AnswerCall(answer).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  // Our offer: both codecs in preference order and telephone-event.
  EXPECT_NE(sent[0].bytes.find("m=audio 30000 RTP/AVP 0 8 101\r\n"), std::string::npos) << sent[0].bytes;
  const std::string tag = TagOf(HeaderOf(sent[0].bytes, "To"));
  Deliver(InDialog("ACK", tag, 1, "z9hG4bKack1", "", "application/sdp", Answer()));
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_media_changed());
  EXPECT_EQ(events[0].media_changed().media().remote_address(), "203.0.113.5");
  EXPECT_EQ(events[0].media_changed().media().remote_port(), 50000u);
  EXPECT_EQ(events[0].media_changed().media().codec(), linegate::media::v1::CODEC_PCMU);
}

TEST_F(CallAgentTest, UasEndCallOnConfirmedSendsByeAndReleasesWhenItCompletes) {
  EstablishIncoming();
  pb::EndCallRequest end;
  end.set_call_ref("s-1");
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "BYE sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "1 BYE");
  EXPECT_TRUE(TakeEvents().empty());
  Deliver(ResponseTo(sent[0].bytes, 200, "OK", ""), "198.51.100.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 0u);
  EXPECT_FALSE(events[0].released().by_remote());
}

TEST_F(CallAgentTest, RequestForUnknownDialogIs481) {
  Deliver(InDialog("BYE", "nosuchtag", 2, "z9hG4bKbye1"));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 481 Call/Transaction Does Not Exist");
}

// ---------------------------------------------------------------------------------
// In-dialog offers from the far end

TEST_F(CallAgentTest, ReInviteSendonlyIsAnsweredRecvonly) {
  const std::string tag = EstablishIncoming();
  const std::string hold = std::string(kOffer) + "a=sendonly\r\n";
  Deliver(InDialog("INVITE", tag, 2, "z9hG4bKreinv", "Contact: <sip:2000@198.51.100.7:5060>\r\n",
                   "application/sdp", hold));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_NE(sent[0].bytes.find("a=recvonly\r\n"), std::string::npos) << sent[0].bytes;
  EXPECT_NE(sent[0].bytes.find("m=audio 30000 RTP/AVP 0 101\r\n"), std::string::npos);
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_media_changed());
  EXPECT_EQ(events[0].media_changed().media().direction(), linegate::media::v1::DIRECTION_RECVONLY);
  Deliver(InDialog("ACK", tag, 2, "z9hG4bKack2"));
  scheduler_.Advance(seconds(5));
  EXPECT_TRUE(TakeSent().empty());
}

TEST_F(CallAgentTest, UpdateWithOldStyleHoldIsAnsweredAndReported) {
  const std::string tag = EstablishIncoming();
  std::string hold(kOffer);
  hold.replace(hold.find("c=IN IP4 198.51.100.7"), 21, "c=IN IP4 0.0.0.0");
  Deliver(InDialog("UPDATE", tag, 2, "z9hG4bKupd", "", "application/sdp", hold));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "2 UPDATE");
  EXPECT_NE(sent[0].bytes.find("a=recvonly\r\n"), std::string::npos) << sent[0].bytes;
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].media_changed().media().direction(), linegate::media::v1::DIRECTION_RECVONLY);
  // No ACK for UPDATE: nothing is retransmitted.
  scheduler_.Advance(seconds(5));
  EXPECT_TRUE(TakeSent().empty());
}

TEST_F(CallAgentTest, UpdateMediaDuringAnExchangeIsOfferedAfterIt) {
  EstablishIncoming();
  pb::UpdateMediaRequest hold;
  hold.set_call_ref("s-1");
  *hold.mutable_media() = Media(30000, linegate::media::v1::DIRECTION_SENDONLY);
  EXPECT_FALSE(agent_.UpdateMedia(hold).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string first = sent[0].bytes;
  pb::UpdateMediaRequest resume;
  resume.set_call_ref("s-1");
  *resume.mutable_media() = Media(30000);
  EXPECT_FALSE(agent_.UpdateMedia(resume).has_value());
  EXPECT_TRUE(TakeSent().empty());  // one exchange at a time (RFC 3264 4)
  Deliver(ResponseTo(first, 200, "OK", "", "", Answer("recvonly")), "198.51.100.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes).substr(0, 4), "ACK ");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "CSeq"), "2 INVITE");
  EXPECT_NE(sent[1].bytes.find("a=sendrecv\r\n"), std::string::npos) << sent[1].bytes;
}

TEST_F(CallAgentTest, ReInviteWhileOursIsPendingIs491) {
  const std::string tag = EstablishIncoming();
  pb::UpdateMediaRequest update;
  update.set_call_ref("s-1");
  *update.mutable_media() = Media(30000, linegate::media::v1::DIRECTION_SENDONLY);
  EXPECT_FALSE(agent_.UpdateMedia(update).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "INVITE sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_NE(sent[0].bytes.find("a=sendonly\r\n"), std::string::npos);
  Deliver(InDialog("INVITE", tag, 2, "z9hG4bKreinv", "", "application/sdp", kOffer));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 491 Request Pending");
}

TEST_F(CallAgentTest, UpdateMediaReInvitesAndReportsTheAnswer) {
  EstablishIncoming();
  pb::UpdateMediaRequest update;
  update.set_call_ref("s-1");
  *update.mutable_media() = Media(30000, linegate::media::v1::DIRECTION_SENDONLY);
  EXPECT_FALSE(agent_.UpdateMedia(update).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string reinvite = sent[0].bytes;
  EXPECT_EQ(HeaderOf(reinvite, "CSeq"), "1 INVITE");
  EXPECT_NE(reinvite.find("o=linegate "), std::string::npos);
  Deliver(
      ResponseTo(reinvite, 200, "OK", "", "Contact: <sip:2000@198.51.100.7:5060>\r\n", Answer("recvonly")),
      "198.51.100.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "ACK sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "1 ACK");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_media_changed());
  EXPECT_EQ(events[0].media_changed().media().direction(), linegate::media::v1::DIRECTION_SENDONLY);
}

TEST_F(CallAgentTest, OurReInviteGlareRetriesAfterTheRandomDelay) {
  EstablishIncoming();
  pb::UpdateMediaRequest update;
  update.set_call_ref("s-1");
  *update.mutable_media() = Media(30000, linegate::media::v1::DIRECTION_SENDONLY);
  EXPECT_FALSE(agent_.UpdateMedia(update).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  Deliver(ResponseTo(sent[0].bytes, 491, "Request Pending", ""), "198.51.100.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);  // the layer's ACK for the 491
  EXPECT_EQ(StartLine(sent[0].bytes).substr(0, 4), "ACK ");
  // Not the Call-ID's owner (the far end called): 0-2 s. The retry may already have
  // been retransmitted (Timer A) by the end of the window; each copy is CSeq 2.
  scheduler_.Advance(seconds(2));
  sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  for (const Sent& s : sent) {
    EXPECT_EQ(StartLine(s.bytes), "INVITE sip:2000@198.51.100.7:5060 SIP/2.0");
    EXPECT_EQ(HeaderOf(s.bytes, "CSeq"), "2 INVITE");
  }
}

TEST_F(CallAgentTest, InfoInDialogIs200) {
  const std::string tag = EstablishIncoming();
  Deliver(
      InDialog("INFO", tag, 2, "z9hG4bKinfo", "", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "2 INFO");
}

// ---------------------------------------------------------------------------------
// UAC

TEST_F(CallAgentTest, UacInviteHeadersAndOffer) {
  const std::string invite = PlaceOutgoing();
  EXPECT_EQ(StartLine(invite), "INVITE sip:300@example.com SIP/2.0");
  EXPECT_EQ(HeaderOf(invite, "Max-Forwards"), "70");
  EXPECT_EQ(HeaderOf(invite, "From").substr(0, 38), "\"Line One\" <sip:2000@example.com>;tag=");
  EXPECT_EQ(HeaderOf(invite, "To"), "<sip:300@example.com>");
  EXPECT_EQ(HeaderOf(invite, "CSeq"), "1 INVITE");
  EXPECT_EQ(HeaderOf(invite, "Contact"), "<sip:2000@192.0.2.10:5060>");
  EXPECT_EQ(HeaderOf(invite, "User-Agent"), "linegate-test");
  EXPECT_EQ(HeaderOf(invite, "Supported"), "100rel, replaces, timer");
  EXPECT_EQ(HeaderOf(invite, "Require"), "");
  EXPECT_EQ(HeaderOf(invite, "Session-Expires"), "1800");
  EXPECT_EQ(HeaderOf(invite, "Min-SE"), "90");
  EXPECT_NE(HeaderOf(invite, "Allow").find("INVITE, ACK, BYE, CANCEL"), std::string::npos);
  EXPECT_EQ(HeaderOf(invite, "Content-Type"), "application/sdp");
  EXPECT_NE(invite.find("c=IN IP4 192.0.2.20\r\n"), std::string::npos);
  EXPECT_NE(invite.find("m=audio 30000 RTP/AVP 0 8 101\r\n"), std::string::npos) << invite;
  EXPECT_NE(invite.find("a=ptime:20\r\n"), std::string::npos);
  EXPECT_NE(HeaderOf(invite, "Via").find("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK"), std::string::npos);
  pb::DialogListReply dialogs = agent_.ListDialogs();
  ASSERT_EQ(dialogs.dialogs_size(), 1);
  EXPECT_EQ(dialogs.dialogs(0).state(), "calling");
  EXPECT_TRUE(dialogs.dialogs(0).outgoing());
}

TEST_F(CallAgentTest, UacUnknownDestinationIsRefused) {
  pb::PlaceCallRequest request;
  request.set_call_ref("c-9");
  request.set_called_number("300");
  request.set_destination("nosuchset");
  *request.mutable_media() = Media();
  std::string call_id;
  CallOutcome outcome = agent_.PlaceCall(request, call_id);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, CallRefusal::Kind::kNotFound);
  request.set_destination("[2001:db8::5]:5070");
  EXPECT_FALSE(agent_.PlaceCall(request, call_id).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].destination.address.ToString(), "[2001:db8::5]:5070");
}

TEST_F(CallAgentTest, UacProxyAuthenticationThen200) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 100, "Trying", ""), "203.0.113.1");
  Deliver(ResponseTo(invite, 407, "Proxy Authentication Required", "px1",
                     "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"abc123\", algorithm=MD5\r\n"),
          "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "ACK sip:300@example.com SIP/2.0");  // by the transaction
  const std::string retry = sent[1].bytes;
  EXPECT_EQ(StartLine(retry), "INVITE sip:300@example.com SIP/2.0");
  EXPECT_EQ(HeaderOf(retry, "CSeq"), "2 INVITE");
  EXPECT_EQ(HeaderOf(retry, "Call-ID"), HeaderOf(invite, "Call-ID"));
  EXPECT_EQ(TagOf(HeaderOf(retry, "From")), TagOf(HeaderOf(invite, "From")));
  EXPECT_NE(HeaderOf(retry, "Via"), HeaderOf(invite, "Via"));
  const std::string authorization = HeaderOf(retry, "Proxy-Authorization");
  auto expected = auth::ComputeDigest(auth::Credentials::FromPassword("2000", "secret"),
                                      auth::DigestInputs{.algorithm = auth::DigestAlgorithm::kMd5,
                                                         .realm = "example.com",
                                                         .nonce = "abc123",
                                                         .cnonce = "",
                                                         .nonce_count = 1,
                                                         .qop = auth::Qop::kNone,
                                                         .request = {"INVITE", "sip:300@example.com", ""}});
  ASSERT_TRUE(expected.ok());
  EXPECT_NE(authorization.find("username=\"2000\""), std::string::npos) << authorization;
  EXPECT_NE(authorization.find("uri=\"sip:300@example.com\""), std::string::npos);
  EXPECT_NE(authorization.find("response=\"" + expected->response + "\""), std::string::npos)
      << authorization;
  EXPECT_TRUE(TakeEvents().empty());

  Deliver(ResponseTo(retry, 180, "Ringing", "callee1", "Contact: <sip:300@203.0.113.9:5060>\r\n"),
          "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_progress());
  EXPECT_EQ(events[0].progress().status(), 180u);
  EXPECT_FALSE(events[0].progress().has_media());

  Deliver(ResponseTo(retry, 200, "OK", "callee1",
                     "Record-Route: <sip:203.0.113.2;lr>, <sip:203.0.113.1;lr>\r\n"
                     "Contact: <sip:300@203.0.113.9:5060>\r\n",
                     Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string ack = sent[0].bytes;
  EXPECT_EQ(StartLine(ack), "ACK sip:300@203.0.113.9:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(ack, "CSeq"), "2 ACK");
  // The route set is the Record-Route reversed; the ACK goes to its first entry.
  EXPECT_NE(ack.find("Route: <sip:203.0.113.1;lr>\r\nRoute: <sip:203.0.113.2;lr>\r\n"), std::string::npos)
      << ack;
  EXPECT_EQ(sent[0].destination.address.ToString(), "203.0.113.1:5060");
  EXPECT_EQ(TagOf(HeaderOf(ack, "To")), "callee1");
  EXPECT_EQ(HeaderOf(ack, "Proxy-Authorization"), authorization);
  EXPECT_NE(HeaderOf(ack, "Via").find("branch=z9hG4bK"), std::string::npos);
  EXPECT_NE(HeaderOf(ack, "Via"), HeaderOf(retry, "Via"));
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_answered());
  EXPECT_EQ(events[0].answered().media().remote_address(), "203.0.113.5");
  EXPECT_EQ(events[0].answered().media().remote_port(), 50000u);
  EXPECT_EQ(events[0].answered().media().codec(), linegate::media::v1::CODEC_PCMU);

  // A retransmission of the 2xx (our ACK was lost) gets the same ACK again.
  Deliver(ResponseTo(retry, 200, "OK", "callee1",
                     "Record-Route: <sip:203.0.113.2;lr>, <sip:203.0.113.1;lr>\r\n"
                     "Contact: <sip:300@203.0.113.9:5060>\r\n",
                     Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, ack);
  EXPECT_TRUE(TakeEvents().empty());
}

TEST_F(CallAgentTest, UacReliableProvisionalIsPrackedOnce) {
  const std::string invite = PlaceOutgoing();
  const std::string ringing = ResponseTo(invite, 180, "Ringing", "r1",
                                         "Require: 100rel\r\nRSeq: 1\r\n"
                                         "Contact: <sip:300@203.0.113.9:5060>\r\n"
                                         "Record-Route: <sip:203.0.113.1;lr>\r\n");
  Deliver(ringing, "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string prack = sent[0].bytes;
  EXPECT_EQ(StartLine(prack), "PRACK sip:300@203.0.113.9:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(prack, "RAck"), "1 1 INVITE");
  EXPECT_EQ(HeaderOf(prack, "CSeq"), "2 PRACK");
  EXPECT_EQ(HeaderOf(prack, "Route"), "<sip:203.0.113.1;lr>");
  EXPECT_EQ(TagOf(HeaderOf(prack, "To")), "r1");
  EXPECT_EQ(sent[0].destination.address.ToString(), "203.0.113.1:5060");
  EXPECT_EQ(TakeEvents().size(), 1u);
  // Its retransmission: no second PRACK from us, no second event.
  Deliver(ringing, "203.0.113.1");
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_TRUE(TakeEvents().empty());
  Deliver(ResponseTo(prack, 200, "OK", ""), "203.0.113.1");
  Deliver(ResponseTo(invite, 200, "OK", "r1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "1 ACK");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].has_answered());
}

TEST_F(CallAgentTest, UacByeCarriesCachedCredentialsAndAnswersAChallenge) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 407, "Proxy Authentication Required", "px1",
                     "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"abc123\", qop=\"auth\"\r\n"),
          "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  Deliver(ResponseTo(sent[1].bytes, 200, "OK", "t1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  TakeSent();
  TakeEvents();
  pb::EndCallRequest end;
  end.set_call_ref("c-1");
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string bye = sent[0].bytes;
  EXPECT_EQ(HeaderOf(bye, "CSeq"), "3 BYE");
  // RFC 3261 22.3: the credentials for the realm go with later requests, nc advanced.
  EXPECT_NE(HeaderOf(bye, "Proxy-Authorization").find("nc=00000002"), std::string::npos) << bye;
  EXPECT_NE(HeaderOf(bye, "Proxy-Authorization").find("uri=\"sip:300@203.0.113.9:5060\""), std::string::npos);
  // The proxy forgot that nonce: a fresh challenge is answered once.
  Deliver(ResponseTo(bye, 407, "Proxy Authentication Required", "",
                     "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"fresh\", qop=\"auth\"\r\n"),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string retry = sent[0].bytes;
  EXPECT_EQ(HeaderOf(retry, "CSeq"), "4 BYE");
  EXPECT_NE(HeaderOf(retry, "Proxy-Authorization").find("nonce=\"fresh\""), std::string::npos) << retry;
  EXPECT_TRUE(TakeEvents().empty());
  Deliver(ResponseTo(retry, 200, "OK", ""), "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 0u);
  EXPECT_FALSE(events[0].released().by_remote());
}

TEST_F(CallAgentTest, UacSecondChallengeFailsTheCall) {
  const std::string invite = PlaceOutgoing();
  const std::string challenge = "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\"\r\n";
  Deliver(ResponseTo(invite, 401, "Unauthorized", "u1", challenge), "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  Deliver(ResponseTo(sent[1].bytes, 401, "Unauthorized", "u2", challenge), "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 401u);
  EXPECT_TRUE(events[0].released().by_remote());
}

TEST_F(CallAgentTest, UacBusyReleases486) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 486, "Busy Here", "b1"), "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 486u);
  EXPECT_EQ(events[0].released().reason(), "Busy Here");
  EXPECT_TRUE(events[0].released().by_remote());
  EXPECT_EQ(agent_.size(), 0u);
}

TEST_F(CallAgentTest, UacTimeoutReleases408) {
  PlaceOutgoing();
  scheduler_.Advance(seconds(33));
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].released().status(), 408u);
}

TEST_F(CallAgentTest, UacCancelWaitsForAProvisional) {
  const std::string invite = PlaceOutgoing();
  pb::EndCallRequest end;
  end.set_call_ref("c-1");
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  EXPECT_TRUE(TakeSent().empty());  // RFC 3261 9.1: no CANCEL before a provisional
  Deliver(ResponseTo(invite, 180, "Ringing", "r1"), "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string cancel = sent[0].bytes;
  EXPECT_EQ(StartLine(cancel), "CANCEL sip:300@example.com SIP/2.0");
  EXPECT_EQ(HeaderOf(cancel, "CSeq"), "1 CANCEL");
  EXPECT_EQ(HeaderOf(cancel, "Via"), HeaderOf(invite, "Via"));
  Deliver(ResponseTo(cancel, 200, "OK", "r1"), "203.0.113.1");
  Deliver(ResponseTo(invite, 487, "Request Terminated", "r1"), "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_EQ(events[0].released().status(), 487u);
  EXPECT_FALSE(events[0].released().by_remote());
}

TEST_F(CallAgentTest, Uac200AfterCancelIsAckedAndByed) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 180, "Ringing", "r1"), "203.0.113.1");
  TakeEvents();
  pb::EndCallRequest end;
  end.set_call_ref("c-1");
  EXPECT_FALSE(agent_.EndCall(end).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes).substr(0, 7), "CANCEL ");
  Deliver(ResponseTo(invite, 200, "OK", "r1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "ACK sip:300@203.0.113.9:5060 SIP/2.0");
  EXPECT_EQ(StartLine(sent[1].bytes), "BYE sip:300@203.0.113.9:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "CSeq"), "2 BYE");
  EXPECT_EQ(TagOf(HeaderOf(sent[1].bytes, "To")), "r1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_released());
  EXPECT_FALSE(events[0].released().by_remote());
}

TEST_F(CallAgentTest, UacSecondForkedAnswerIsAckedAndByed) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 200, "OK", "forkA", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "ACK sip:300@203.0.113.9:5060 SIP/2.0");
  ASSERT_EQ(TakeEvents().size(), 1u);
  Deliver(ResponseTo(invite, 200, "OK", "forkB", "Contact: <sip:300@203.0.113.77:5060>\r\n", Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "ACK sip:300@203.0.113.77:5060 SIP/2.0");
  EXPECT_EQ(TagOf(HeaderOf(sent[0].bytes, "To")), "forkB");
  EXPECT_EQ(StartLine(sent[1].bytes), "BYE sip:300@203.0.113.77:5060 SIP/2.0");
  EXPECT_EQ(TagOf(HeaderOf(sent[1].bytes, "To")), "forkB");
  EXPECT_EQ(sent[1].destination.address.ToString(), "203.0.113.77:5060");
  EXPECT_TRUE(TakeEvents().empty());  // the first 200 won; control hears nothing of B
  pb::DialogListReply dialogs = agent_.ListDialogs();
  ASSERT_EQ(dialogs.dialogs_size(), 1);
  EXPECT_EQ(dialogs.dialogs(0).state(), "confirmed");
}

TEST_F(CallAgentTest, UacEarlyMediaIsReported) {
  const std::string invite = PlaceOutgoing();
  Deliver(
      ResponseTo(invite, 183, "Session Progress", "e1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
      "203.0.113.1");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_progress());
  EXPECT_EQ(events[0].progress().status(), 183u);
  EXPECT_EQ(events[0].progress().media().remote_port(), 50000u);
  EXPECT_EQ(agent_.ListDialogs().dialogs(0).state(), "early");
}

// ---------------------------------------------------------------------------------
// RFC 4028 session timers

TEST_F(CallAgentTest, UasSessionTimerRefreshedByTheCallerElseBye) {
  Deliver(Invite("z9hG4bKinv1", kOffer, "call1@peer", "Supported: timer\r\nSession-Expires: 1800\r\n"));
  pb::AnswerCallRequest answer;
  answer.set_call_ref("s-1");
  answer.set_status(200);
  *answer.mutable_media() = Media();
  EXPECT_FALSE(agent_.AnswerCall(answer).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Session-Expires"), "1800;refresher=uac");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Require"), "timer");
  const std::string tag = TagOf(HeaderOf(sent[0].bytes, "To"));
  Deliver(InDialog("ACK", tag, 1, "z9hG4bKack1"));
  TakeEvents();
  // The caller refreshes at 900 s with a re-INVITE: the timer starts again, no event.
  scheduler_.Advance(seconds(900));
  Deliver(InDialog("INVITE", tag, 2, "z9hG4bKrefresh", "Session-Expires: 1800;refresher=uac\r\n",
                   "application/sdp", kOffer));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Session-Expires"), "1800;refresher=uac");
  EXPECT_TRUE(TakeEvents().empty());  // the same offer: no media_changed
  Deliver(InDialog("ACK", tag, 2, "z9hG4bKack2"));
  scheduler_.Advance(seconds(1767));
  EXPECT_TRUE(TakeSent().empty());
  // No further refresh: at 1800 - 32 s after the last one, BYE.
  scheduler_.Advance(seconds(1));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes).substr(0, 4), "BYE ");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_released());
  EXPECT_EQ(events.back().released().status(), 408u);
  EXPECT_EQ(events.back().released().reason(), "Session timer expired");
}

TEST_F(CallAgentTest, UasSessionIntervalBelowMinSeIs422) {
  Deliver(Invite("z9hG4bKinv1", kOffer, "call1@peer", "Supported: timer\r\nSession-Expires: 60\r\n"));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 422 Session Interval Too Small");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Min-SE"), "90");
  EXPECT_TRUE(TakeEvents().empty());
}

TEST_F(CallAgentTest, UacRefreshesTheSessionAtHalfTheInterval) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 200, "OK", "t1",
                     "Contact: <sip:300@203.0.113.9:5060>\r\nSession-Expires: 1800;refresher=uac\r\n"
                     "Require: timer\r\n",
                     Answer()),
          "203.0.113.1");
  TakeSent();
  TakeEvents();
  scheduler_.Advance(seconds(899));
  EXPECT_TRUE(TakeSent().empty());
  scheduler_.Advance(seconds(1));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  const std::string refresh = sent[0].bytes;
  EXPECT_EQ(StartLine(refresh), "INVITE sip:300@203.0.113.9:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(refresh, "CSeq"), "2 INVITE");
  EXPECT_EQ(HeaderOf(refresh, "Session-Expires"), "1800;refresher=uac");
  // The unchanged offer keeps its o= version (RFC 3264 8).
  EXPECT_EQ(SdpLine(refresh, "o="), SdpLine(invite, "o="));
  EXPECT_FALSE(SdpLine(invite, "o=").empty());
  Deliver(ResponseTo(refresh, 200, "OK", "", "Session-Expires: 1800;refresher=uac\r\n", Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "2 ACK");
  EXPECT_TRUE(TakeEvents().empty());  // same media: no media_changed
  scheduler_.Advance(seconds(900));
  sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(HeaderOf(sent[0].bytes, "CSeq"), "3 INVITE");
}

TEST_F(CallAgentTest, Uac422IsRetriedWithTheMinSe) {
  const std::string invite = PlaceOutgoing();
  Deliver(ResponseTo(invite, 422, "Session Interval Too Small", "x1", "Min-SE: 3600\r\n"), "203.0.113.1");
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);  // the transaction's ACK, the new INVITE
  EXPECT_EQ(HeaderOf(sent[1].bytes, "CSeq"), "2 INVITE");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "Session-Expires"), "3600");
  EXPECT_TRUE(TakeEvents().empty());
}

// ---------------------------------------------------------------------------------
// REFER

TEST_F(CallAgentTest, ReferIsAcceptedAndTheNewCallNotified) {
  const std::string tag = EstablishIncoming();
  Deliver(InDialog("REFER", tag, 2, "z9hG4bKrefer",
                   "Refer-To: <sip:300@example.com>\r\nContact: <sip:2000@198.51.100.7:5060>\r\n"));
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 202 Accepted");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_transfer_requested());
  EXPECT_EQ(events[0].transfer_requested().target_number(), "300");
  EXPECT_EQ(events[0].transfer_requested().target_uri(), "sip:300@example.com");
  EXPECT_EQ(events[0].transfer_requested().replaces(), "");

  // Control places the call to the target.
  pb::PlaceCallRequest request;
  request.set_call_ref("c-7");
  request.set_line(1);
  request.set_calling_number("100");
  request.set_called_number("300");
  request.set_destination("main");
  request.set_transferred_from("s-1");
  *request.mutable_media() = Media(30002);
  std::string call_id;
  ASSERT_FALSE(agent_.PlaceCall(request, call_id).has_value());
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  const std::string invite = sent[0].bytes;
  const std::string notify = sent[1].bytes;
  EXPECT_EQ(StartLine(notify), "NOTIFY sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(notify, "Event"), "refer");
  EXPECT_EQ(HeaderOf(notify, "Subscription-State"), "active;expires=60");
  EXPECT_EQ(HeaderOf(notify, "Content-Type"), "message/sipfrag;version=2.0");
  EXPECT_NE(notify.find("\r\n\r\nSIP/2.0 100 Trying"), std::string::npos) << notify;
  Deliver(ResponseTo(notify, 200, "OK", ""), "198.51.100.1");

  Deliver(ResponseTo(invite, 200, "OK", "t1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);  // the ACK, then the final NOTIFY
  EXPECT_EQ(StartLine(sent[0].bytes).substr(0, 4), "ACK ");
  EXPECT_EQ(HeaderOf(sent[1].bytes, "Subscription-State"), "terminated;reason=noresource");
  EXPECT_NE(sent[1].bytes.find("\r\n\r\nSIP/2.0 200 OK"), std::string::npos);
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].has_answered());
  EXPECT_EQ(events[0].call_ref(), "c-7");
}

TEST_F(CallAgentTest, TransferCallSendsReferAndReportsNotifies) {
  const std::string tag = EstablishIncoming();
  pb::TransferCallRequest transfer;
  transfer.set_call_ref("s-1");
  transfer.set_target("400");
  EXPECT_FALSE(agent_.TransferCall(transfer).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(StartLine(sent[0].bytes), "REFER sip:2000@198.51.100.7:5060 SIP/2.0");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Refer-To"), "<sip:400@example.com>");
  Deliver(ResponseTo(sent[0].bytes, 202, "Accepted", ""), "198.51.100.1");
  EXPECT_TRUE(TakeEvents().empty());
  Deliver(InDialog("NOTIFY", tag, 2, "z9hG4bKn1", "Event: refer\r\nSubscription-State: active;expires=60\r\n",
                   "message/sipfrag;version=2.0", "SIP/2.0 180 Ringing\r\n"));
  Deliver(InDialog("NOTIFY", tag, 3, "z9hG4bKn2",
                   "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n",
                   "message/sipfrag;version=2.0", "SIP/2.0 200 OK\r\n"));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(StartLine(sent[0].bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(StartLine(sent[1].bytes), "SIP/2.0 200 OK");
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].transfer_progress().status(), 180u);
  EXPECT_FALSE(events[0].transfer_progress().final());
  EXPECT_EQ(events[1].transfer_progress().status(), 200u);
  EXPECT_TRUE(events[1].transfer_progress().final());
}

TEST_F(CallAgentTest, AttendedTransferPutsReplacesIntoReferTo) {
  EstablishIncoming();
  const std::string invite = PlaceOutgoing("c-1");
  Deliver(ResponseTo(invite, 200, "OK", "t1", "Contact: <sip:300@203.0.113.9:5060>\r\n", Answer()),
          "203.0.113.1");
  TakeSent();
  TakeEvents();
  pb::TransferCallRequest transfer;
  transfer.set_call_ref("s-1");
  transfer.set_target("300");
  transfer.set_replaces_call_ref("c-1");
  EXPECT_FALSE(agent_.TransferCall(transfer).has_value());
  std::vector<Sent> sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  // Tags as the consultation call's far end sees them: to-tag is its own.
  const std::string call_id = HeaderOf(invite, "Call-ID");
  const std::string from_tag = TagOf(HeaderOf(invite, "From"));
  std::string escaped_call_id = call_id;
  escaped_call_id.replace(escaped_call_id.find('@'), 1, "%40");
  EXPECT_EQ(HeaderOf(sent[0].bytes, "Refer-To"), "<sip:300@example.com?Replaces=" + escaped_call_id +
                                                     "%3Bto-tag%3Dt1%3Bfrom-tag%3D" + from_tag + ">");
}

TEST_F(CallAgentTest, IncomingInviteWithReplacesNamesTheReplacedCall) {
  const std::string tag = EstablishIncoming();
  Deliver(Invite("z9hG4bKinv2", kOffer, "call2@peer",
                 "Replaces: call1@peer;to-tag=" + tag + ";from-tag=ft1\r\n"));
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].call_ref(), "s-2");
  EXPECT_EQ(events[0].incoming().replaces_call_ref(), "s-1");
  // Replaces naming no dialog of ours: 481 (RFC 3891 3).
  Deliver(Invite("z9hG4bKinv3", kOffer, "call3@peer", "Replaces: nosuch@peer;to-tag=a;from-tag=b\r\n"));
  std::vector<Sent> sent = TakeSent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(StartLine(sent.back().bytes), "SIP/2.0 481 Call/Transaction Does Not Exist");
}

// Events go over the bus as proto3, whose strings must be UTF-8: what the peer wrote in
// another charset (a Latin-1 display name, %FF in a URI user) must not make the event
// unparseable for call control (found by call_agent_fuzz).
TEST_F(CallAgentTest, PeerBytesThatAreNotUtf8BecomeReplacementCharacters) {
  std::string invite = Invite("z9hG4bKinv1");
  invite.replace(invite.find("\"Alice\""), 7, "\"Jos\xe9 \xc3\xa9\"");
  invite.replace(invite.find("sip:2000@example.com"), 8, "sip:20%FF");
  Deliver(invite);
  std::vector<pb::CallEvent> events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].incoming().calling_name(), "Jos\xef\xbf\xbd \xc3\xa9");
  EXPECT_EQ(events[0].incoming().calling_number(), "20\xef\xbf\xbd");
  pb::CallEvent parsed;
  EXPECT_TRUE(parsed.ParseFromString(events[0].SerializeAsString()));
  pb::DialogListReply parsed_list;
  EXPECT_TRUE(parsed_list.ParseFromString(agent_.ListDialogs().SerializeAsString()));

  pb::AnswerCallRequest answer;
  answer.set_call_ref("s-1");
  answer.set_status(200);
  *answer.mutable_media() = Media();
  ASSERT_FALSE(agent_.AnswerCall(answer).has_value());
  const std::string tag = TagOf(HeaderOf(TakeSent().at(0).bytes, "To"));
  Deliver(InDialog("ACK", tag, 1, "z9hG4bKack1"));
  Deliver(InDialog("REFER", tag, 2, "z9hG4bKrefer", "Refer-To: <sip:3%C0%AF0@example.com>\r\n"));
  events = TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  // An overlong encoding is not UTF-8 either: one replacement per byte.
  EXPECT_EQ(events[0].transfer_requested().target_number(), "3\xef\xbf\xbd\xef\xbf\xbd" "0");
  EXPECT_TRUE(parsed.ParseFromString(events[0].SerializeAsString()));
}

}  // namespace
}  // namespace linegate::signaling::dialog
