#include "signaling/uas_core.h"

#include <gtest/gtest.h>

#include <string>

namespace linegate::signaling {
namespace {

std::string Request(std::string_view method, std::string_view uri, std::string_view extra = "",
                    std::string_view body = "") {
  std::string text = std::string(method) + " " + std::string(uri) +
                     " SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
                     "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
                     "Call-ID: c1\r\nCSeq: 1 " +
                     std::string(method) + "\r\nMax-Forwards: 70\r\n" + std::string(extra);
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  return text;
}

std::string WithMaxForwardsZero(std::string text) {
  text.replace(text.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  return text;
}

struct Case {
  const char* name;
  std::string text;
  uint16_t status;     // 0: accepted
  const char* header;  // expected in extra_headers, or ""
};

class UasCheck : public ::testing::TestWithParam<Case> {};

TEST_P(UasCheck, Verdict) {
  const Case& c = GetParam();
  sip::Message message;
  ASSERT_TRUE(sip::Parse(c.text, sip::Transport::kDatagram, message).ok()) << c.text;
  UasVerdict verdict = CheckRequest(message);
  EXPECT_EQ(verdict.status, c.status) << verdict.reason;
  EXPECT_NE(verdict.extra_headers.find(c.header), std::string::npos) << verdict.extra_headers;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3261, UasCheck,
    ::testing::Values(
        Case{"Options", Request("OPTIONS", "sip:gw@example.com"), 0, ""},
        Case{"Invite", Request("INVITE", "sip:100@example.com"), 0, ""},
        Case{"UnknownMethod", Request("NEWMETHOD", "sip:gw@example.com"), 501, "Allow: INVITE"},
        Case{"KnownButNotServed", Request("SUBSCRIBE", "sip:gw@example.com"), 405, "Allow: "},
        Case{"UnsupportedScheme", Request("INVITE", "im:user@example.com"), 416, ""},
        Case{"TelUriAccepted", Request("INVITE", "tel:+15551234567"), 0, ""},
        Case{"RequireUnknown", Request("INVITE", "sip:1@example.com", "Require: nothingweknow, foo\r\n"), 420,
             "Unsupported: nothingweknow, foo"},
        Case{"RequireReplacesSupported", Request("INVITE", "sip:1@example.com", "Require: replaces\r\n"), 0,
             ""},
        Case{"Require100relSupported", Request("INVITE", "sip:1@example.com", "Require: 100rel\r\n"), 0, ""},
        Case{"RequireTimerSupported", Request("INVITE", "sip:1@example.com", "Require: timer\r\n"), 0, ""},
        Case{"ReferServed", Request("REFER", "sip:1@example.com"), 0, ""},
        Case{"NotifySipfrag",
             Request("NOTIFY", "sip:1@example.com", "Content-Type: message/sipfrag;version=2.0\r\n",
                     "SIP/2.0 200 OK\r\n"),
             0, ""},
        Case{
            "InviteSipfragRefused",
            Request("INVITE", "sip:1@example.com", "Content-Type: message/sipfrag\r\n", "SIP/2.0 200 OK\r\n"),
            415, "Accept: application/sdp"},
        Case{"MaxForwardsZero", WithMaxForwardsZero(Request("INVITE", "sip:1@example.com")), 483, ""},
        Case{"OptionsWithMaxForwardsZero", WithMaxForwardsZero(Request("OPTIONS", "sip:gw@example.com")), 0,
             ""},
        Case{"BodyNotSdp", Request("INVITE", "sip:1@example.com", "Content-Type: text/plain\r\n", "hello"),
             415, "Accept: application/sdp"},
        Case{"EncodedSdp",
             Request("INVITE", "sip:1@example.com",
                     "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", "v=0\r\n"),
             415, "Accept-Encoding: identity"},
        Case{"AcceptWithoutSdp", Request("INVITE", "sip:1@example.com", "Accept: text/nonsense\r\n"), 406,
             "Accept: application/sdp"},
        Case{"AcceptWithWildcard",
             Request("INVITE", "sip:1@example.com", "Accept: text/plain, application/*\r\n"), 0, ""},
        Case{"Sdp", Request("INVITE", "sip:1@example.com", "Content-Type: application/sdp\r\n", "v=0\r\n"), 0,
             ""}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

TEST(UasAnswer, OptionsIs200WithAllowInviteIs480) {
  sip::Message options;
  std::string text = Request("OPTIONS", "sip:gw@example.com");
  ASSERT_TRUE(sip::Parse(text, sip::Transport::kDatagram, options).ok());
  UasVerdict verdict = AnswerRequest(options);
  EXPECT_EQ(verdict.status, 200);
  EXPECT_NE(verdict.extra_headers.find(
                "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, NOTIFY, INFO, PRACK"),
            std::string::npos);
  sip::Message invite;
  std::string invite_text = Request("INVITE", "sip:1@example.com");
  ASSERT_TRUE(sip::Parse(invite_text, sip::Transport::kDatagram, invite).ok());
  EXPECT_EQ(AnswerRequest(invite).status, 480);
  sip::Message bye;
  std::string bye_text = Request("BYE", "sip:1@example.com");
  ASSERT_TRUE(sip::Parse(bye_text, sip::Transport::kDatagram, bye).ok());
  EXPECT_EQ(AnswerRequest(bye).status, 481);
}

}  // namespace
}  // namespace linegate::signaling
