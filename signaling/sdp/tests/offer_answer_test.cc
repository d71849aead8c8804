#include "signaling/sdp/offer_answer.h"

#include <gtest/gtest.h>

#include <string>

#include "signaling/sdp/sdp.h"
#include "signaling/sdp/session_params.h"
#include "signaling/sdp/tests/sdp_examples.h"

namespace linegate::signaling::sdp {
namespace {

using media::codec::CodecId;
namespace pb = linegate::media::v1;

SessionDescription MustParse(const std::string& text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : SessionDescription{};
}

LocalConfig Config(std::vector<CodecId> codecs = {CodecId::kPcmu, CodecId::kPcma}) {
  LocalConfig c;
  c.codecs = std::move(codecs);
  c.address = "192.0.2.1";
  c.port = 40000;
  return c;
}

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n";

Answer MustAnswer(const std::string& offer, const LocalConfig& config) {
  LocalOrigin origin(7, config.address);
  auto r = BuildAnswer(MustParse(offer), config, origin);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : Answer{};
}

std::string AnswerError(const std::string& offer, const LocalConfig& config) {
  LocalOrigin origin(7, config.address);
  auto r = BuildAnswer(MustParse(offer), config, origin);
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : r.error();
}

TEST(Offer, FromLocalConfig) {
  LocalConfig config = Config({CodecId::kOpus, CodecId::kG722, CodecId::kPcmu, CodecId::kG729});
  config.ptime_ms = 20;
  LocalOrigin origin(1234, config.address);
  auto offer = BuildOffer(config, origin);
  ASSERT_TRUE(offer.ok()) << offer.error();
  EXPECT_EQ(Serialize(*offer),
            "v=0\r\n"
            "o=linegate 1234 1 IN IP4 192.0.2.1\r\n"
            "s=linegate\r\n"
            "c=IN IP4 192.0.2.1\r\n"
            "t=0 0\r\n"
            "m=audio 40000 RTP/AVP 111 9 0 18 101\r\n"
            "a=rtpmap:111 opus/48000/2\r\n"
            "a=rtpmap:9 G722/8000\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:18 G729/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:111 maxplaybackrate=8000;sprop-maxcapturerate=8000\r\n"
            "a=fmtp:18 annexb=no\r\n"
            "a=fmtp:101 0-15\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n");
  // It parses back to itself.
  EXPECT_EQ(MustParse(Serialize(*offer)), *offer);
}

TEST(Offer, Ipv6AndNoTelephoneEvent) {
  LocalConfig config = Config({CodecId::kPcma});
  config.address = "2001:db8::1";
  config.telephone_event_pt = std::nullopt;
  LocalOrigin origin(1, config.address);
  auto offer = BuildOffer(config, origin);
  ASSERT_TRUE(offer.ok());
  EXPECT_EQ(offer->origin.addr_type, AddrType::kIp6);
  EXPECT_EQ(offer->connection->addr_type, AddrType::kIp6);
  EXPECT_EQ(offer->media[0].formats, (std::vector<std::string>{"8"}));
}

TEST(Offer, ConfigErrors) {
  LocalOrigin origin(1, "192.0.2.1");
  LocalConfig c = Config({});
  EXPECT_EQ(BuildOffer(c, origin).error(), "no codec configured");
  c = Config();
  c.address.clear();
  EXPECT_EQ(BuildOffer(c, origin).error(), "no local RTP address");
  c = Config();
  c.port = 0;
  EXPECT_FALSE(BuildOffer(c, origin).ok());
  c = Config();
  c.telephone_event_pt = 8;
  EXPECT_FALSE(BuildOffer(c, origin).ok());
}

TEST(Versioning, IncrementsOnlyOnChange) {
  LocalConfig config = Config();
  LocalOrigin origin(99, config.address);
  auto first = BuildOffer(config, origin);
  auto same = BuildOffer(config, origin);
  ASSERT_TRUE(first.ok() && same.ok());
  EXPECT_EQ(first->origin.session_id, 99u);
  EXPECT_EQ(first->origin.session_version, 1u);
  EXPECT_EQ(same->origin.session_version, 1u);  // unchanged re-offer (session refresh)
  config.direction = Direction::kSendOnly;      // hold
  auto hold = BuildOffer(config, origin);
  EXPECT_EQ(hold->origin.session_version, 2u);
  auto hold_again = BuildOffer(config, origin);
  EXPECT_EQ(hold_again->origin.session_version, 2u);
  config.direction = Direction::kSendRecv;  // resume
  auto resume = BuildOffer(config, origin);
  EXPECT_EQ(resume->origin.session_version, 3u);
  EXPECT_EQ(resume->origin.session_id, 99u);
}

TEST(Answer, OurPreferenceOrderAndOfferersPayloadTypes) {
  // The Polycom-like offer lists G.722 first; we prefer PCMA then PCMU.
  const Answer a = MustAnswer(testing::kPolycomLike, Config({CodecId::kPcma, CodecId::kPcmu}));
  EXPECT_EQ(a.negotiated.codec, CodecId::kPcma);
  EXPECT_EQ(a.negotiated.payload_type, 8);
  EXPECT_EQ(a.negotiated.telephone_event_pt, 127);  // the offerer's number
  EXPECT_EQ(a.negotiated.remote_address, "192.0.2.51");
  EXPECT_EQ(a.negotiated.remote_port, 2222);
  EXPECT_EQ(a.negotiated.ptime_ms, 20u);
  EXPECT_EQ(a.negotiated.direction, Direction::kSendRecv);
  EXPECT_FALSE(a.negotiated.remote_hold);
  EXPECT_EQ(Serialize(a.sdp),
            "v=0\r\n"
            "o=linegate 7 1 IN IP4 192.0.2.1\r\n"
            "s=linegate\r\n"
            "c=IN IP4 192.0.2.1\r\n"
            "t=0 0\r\n"
            "m=audio 40000 RTP/AVP 8 127\r\n"
            "a=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:127 telephone-event/8000\r\n"
            "a=fmtp:127 0-15\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n");
}

TEST(Answer, DynamicPayloadTypeKeptForOpus) {
  const Answer a = MustAnswer(testing::kBaresipLike, Config({CodecId::kOpus, CodecId::kPcmu}));
  EXPECT_EQ(a.negotiated.codec, CodecId::kOpus);
  EXPECT_EQ(a.negotiated.payload_type, 96);
  EXPECT_EQ(a.negotiated.telephone_event_pt, 97);  // telephone-event/48000 matches Opus's clock
  const MediaDescription& m = a.sdp.media[0];
  EXPECT_EQ(m.formats, (std::vector<std::string>{"96", "97"}));
  EXPECT_EQ(*m.FindRtpMap(96), (RtpMap{96, "opus", 48000, 2}));
  EXPECT_EQ(m.FindRtpMap(97)->clock_rate, 48000u);
  // The video stream is rejected with port 0, same media and proto.
  ASSERT_EQ(a.sdp.media.size(), 2u);
  EXPECT_EQ(a.sdp.media[1].media, "video");
  EXPECT_EQ(a.sdp.media[1].port, 0);
  EXPECT_EQ(a.sdp.media[1].proto, "RTP/AVP");
  EXPECT_EQ(a.sdp.media[1].formats, (std::vector<std::string>{"100"}));
}

TEST(Answer, TelephoneEventAtAnotherClockIsNotUsed) {
  // telephone-event/48000 is offered only; with PCMU chosen DTMF stays in-band.
  const Answer a = MustAnswer(testing::kBaresipLike, Config({CodecId::kPcmu}));
  EXPECT_EQ(a.negotiated.codec, CodecId::kPcmu);
  EXPECT_FALSE(a.negotiated.telephone_event_pt);
  EXPECT_EQ(a.sdp.media[0].formats, (std::vector<std::string>{"0"}));
}

TEST(Answer, StaticTypesWithoutRtpmapAndDynamicPcmu) {
  Answer a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 18 0\r\n", Config({CodecId::kG729, CodecId::kPcmu}));
  EXPECT_EQ(a.negotiated.codec, CodecId::kG729);
  EXPECT_EQ(a.negotiated.payload_type, 18);
  EXPECT_EQ(a.sdp.media[0].FindFmtp("18")->parameters, "annexb=no");
  // A static codec under a dynamic number keeps the offerer's number.
  a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 98\r\na=rtpmap:98 pcmu/8000\r\n", Config());
  EXPECT_EQ(a.negotiated.codec, CodecId::kPcmu);
  EXPECT_EQ(a.negotiated.payload_type, 98);
  // opus/48000 without the /2 the RFC requires is not taken for Opus.
  EXPECT_EQ(
      AnswerError(kHead + "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000\r\n", Config({CodecId::kOpus})),
      "no common codec in audio stream 1");
}

TEST(Answer, NoTelephoneEventWhenNotOffered) {
  const Answer a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\n", Config());
  EXPECT_FALSE(a.negotiated.telephone_event_pt);
  EXPECT_EQ(ToSessionParams(a.negotiated, 3).dtmf_mode(), pb::DTMF_MODE_INBAND);
}

TEST(Answer, NoTelephoneEventWhenNotConfigured) {
  LocalConfig config = Config();
  config.telephone_event_pt = std::nullopt;
  const Answer a = MustAnswer(testing::kAsteriskLike, config);
  EXPECT_FALSE(a.negotiated.telephone_event_pt);
}

TEST(Answer, Ptime) {
  LocalConfig config = Config();
  config.ptime_ms = 20;
  // The offerer's ptime is what we send; ours is what we ask for.
  Answer a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\na=ptime:30\r\n", config);
  EXPECT_EQ(a.negotiated.ptime_ms, 30u);
  EXPECT_EQ(a.sdp.media[0].ptime_ms, 20u);
  // A ptime the media process cannot run: ours.
  a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\na=ptime:25\r\n", config);
  EXPECT_EQ(a.negotiated.ptime_ms, 20u);
  // maxptime below ours: the longest that fits.
  a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\na=maxptime:10\r\n", config);
  EXPECT_EQ(a.negotiated.ptime_ms, 10u);
  config.ptime_ms = 40;
  a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\na=maxptime:35\r\n", config);
  EXPECT_EQ(a.negotiated.ptime_ms, 30u);
  // Opus has no 30 ms frame.
  a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=ptime:30\r\n",
                 Config({CodecId::kOpus}));
  EXPECT_EQ(a.negotiated.ptime_ms, 20u);
}

TEST(Answer, DirectionRfc3264Section61) {
  struct Case {
    std::string offered;  // attribute line, empty for none
    Direction local;
    Direction answered;
    bool remote_hold;
  } cases[] = {
      {"", Direction::kSendRecv, Direction::kSendRecv, false},
      {"a=sendrecv\r\n", Direction::kSendRecv, Direction::kSendRecv, false},
      {"a=sendonly\r\n", Direction::kSendRecv, Direction::kRecvOnly, true},
      {"a=recvonly\r\n", Direction::kSendRecv, Direction::kSendOnly, false},
      {"a=inactive\r\n", Direction::kSendRecv, Direction::kInactive, true},
      {"a=sendrecv\r\n", Direction::kSendOnly, Direction::kSendOnly, false},  // we hold
      {"a=sendonly\r\n", Direction::kSendOnly, Direction::kInactive, true},
      {"a=sendrecv\r\n", Direction::kInactive, Direction::kInactive, false},
  };
  for (const Case& c : cases) {
    LocalConfig config = Config();
    config.direction = c.local;
    const Answer a = MustAnswer(kHead + "m=audio 5000 RTP/AVP 0\r\n" + c.offered, config);
    EXPECT_EQ(a.negotiated.direction, c.answered) << c.offered << " local " << DirectionName(c.local);
    EXPECT_EQ(a.sdp.media[0].direction, c.answered);
    EXPECT_EQ(a.negotiated.remote_hold, c.remote_hold) << c.offered;
  }
  // Session-level direction applies to the media.
  const Answer a = MustAnswer(kHead + "a=sendonly\r\nm=audio 5000 RTP/AVP 0\r\n", Config());
  EXPECT_EQ(a.negotiated.direction, Direction::kRecvOnly);
}

TEST(Answer, HoldForms) {
  const std::string old_hold =
      "v=0\r\no=- 1 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
  EXPECT_TRUE(IsHold(MustParse(old_hold), 0));
  EXPECT_TRUE(IsHold(MustParse(kHead + "m=audio 5000 RTP/AVP 0\r\na=sendonly\r\n"), 0));
  EXPECT_TRUE(IsHold(MustParse(kHead + "m=audio 5000 RTP/AVP 0\r\na=inactive\r\n"), 0));
  EXPECT_FALSE(IsHold(MustParse(kHead + "m=audio 5000 RTP/AVP 0\r\na=recvonly\r\n"), 0));
  EXPECT_FALSE(IsHold(MustParse(kHead + "m=audio 5000 RTP/AVP 0\r\n"), 0));
  // c=0.0.0.0 with sendrecv: we do not send, answer recvonly.
  const Answer a = MustAnswer(old_hold, Config());
  EXPECT_TRUE(a.negotiated.remote_hold);
  EXPECT_EQ(a.negotiated.direction, Direction::kRecvOnly);
  EXPECT_EQ(a.negotiated.remote_address, "0.0.0.0");
}

TEST(Answer, Ipv6Offer) {
  const Answer a = MustAnswer(testing::kIpv6, Config({CodecId::kPcmu, CodecId::kPcma}));
  EXPECT_EQ(a.negotiated.remote_addr_type, AddrType::kIp6);
  EXPECT_EQ(a.negotiated.remote_address, "2001:db8::10");
  EXPECT_EQ(a.negotiated.codec, CodecId::kPcmu);
  EXPECT_EQ(a.negotiated.payload_type, 0);
  EXPECT_EQ(a.negotiated.telephone_event_pt, 101);
}

TEST(Answer, RejectedStreams) {
  // Only the first usable audio stream is accepted; image, SRTP, a disabled stream and
  // a second audio stream get port 0, in offer order.
  const Answer a = MustAnswer(kHead +
                                  "m=image 6000 udptl t38\r\n"
                                  "m=audio 6002 RTP/SAVP 0\r\n"
                                  "m=audio 0 RTP/AVP 8\r\n"
                                  "m=audio 6004 RTP/AVP 0\r\n"
                                  "m=audio 6006 RTP/AVP 0\r\n",
                              Config());
  ASSERT_EQ(a.sdp.media.size(), 5u);
  EXPECT_EQ(a.negotiated.media_index, 3u);
  EXPECT_EQ(a.negotiated.remote_port, 6004);
  const uint16_t ports[] = {0, 0, 0, 40000, 0};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a.sdp.media[i].port, ports[i]) << i;
  EXPECT_EQ(a.sdp.media[0].formats, (std::vector<std::string>{"t38"}));
  EXPECT_EQ(a.sdp.media[1].proto, "RTP/SAVP");
  // The answer parses (a rejected stream needs no c=).
  EXPECT_EQ(MustParse(Serialize(a.sdp)), a.sdp);
}

TEST(Answer, NotAcceptableErrors) {
  EXPECT_EQ(AnswerError(kHead + "m=audio 5000 RTP/AVP 3 97\r\na=rtpmap:97 iLBC/8000\r\n", Config()),
            "no common codec in audio stream 1");
  EXPECT_EQ(AnswerError(kHead + "m=video 5000 RTP/AVP 31\r\n", Config()), "no audio stream offered");
  EXPECT_EQ(AnswerError(kHead + "m=audio 5000 RTP/SAVP 0\r\n", Config()),
            "audio stream 1 uses RTP/SAVP, only RTP/AVP is supported");
  EXPECT_EQ(AnswerError(kHead, Config()), "offer has no media");
}

TEST(Answer, TimingCopiedAndVersioningOnReAnswer) {
  LocalConfig config = Config();
  LocalOrigin origin(5, config.address);
  const SessionDescription offer = MustParse(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=3034423619 0\r\n"
      "m=audio 5000 RTP/AVP 0\r\n");
  auto first = BuildAnswer(offer, config, origin);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->sdp.timing, "3034423619 0");
  auto again = BuildAnswer(offer, config, origin);
  EXPECT_EQ(again->sdp.origin.session_version, 1u);
  SessionDescription hold = offer;
  hold.media[0].direction = Direction::kSendOnly;
  auto held = BuildAnswer(hold, config, origin);
  EXPECT_EQ(held->sdp.origin.session_version, 2u);
}

// ---- the answer to our offer ----

struct Exchange {
  LocalConfig config = Config({CodecId::kOpus, CodecId::kPcmu, CodecId::kPcma});
  LocalOrigin origin{1, "192.0.2.1"};
  SessionDescription offer;
  Exchange() { offer = *BuildOffer(config, origin); }
  Result<Negotiated> Process(const std::string& answer) {
    return ProcessAnswer(offer, MustParse(answer), config);
  }
};

TEST(ProcessAnswer, AcceptsAnswerersChoice) {
  Exchange x;
  auto n = x.Process(kHead +
                     "m=audio 7000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->codec, CodecId::kPcma);  // the answerer's first
  EXPECT_EQ(n->payload_type, 8);
  EXPECT_EQ(n->telephone_event_pt, 101);
  EXPECT_EQ(n->ptime_ms, 30u);
  EXPECT_EQ(n->remote_address, "192.0.2.9");
  EXPECT_EQ(n->remote_port, 7000);
  EXPECT_EQ(n->direction, Direction::kSendRecv);
}

TEST(ProcessAnswer, OpusWithoutRtpmapInAnswerUsesOurs) {
  Exchange x;
  auto n = x.Process(kHead + "m=audio 7000 RTP/AVP 111 101\r\n");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->codec, CodecId::kOpus);
  EXPECT_EQ(n->payload_type, 111);
  EXPECT_FALSE(n->telephone_event_pt);  // ours is at 8000, Opus runs at 48000
}

TEST(ProcessAnswer, TelephoneEventWithoutRtpmapInAnswer) {
  Exchange x;
  auto n = x.Process(kHead + "m=audio 7000 RTP/AVP 0 101\r\n");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->telephone_event_pt, 101);
}

TEST(ProcessAnswer, Directions) {
  Exchange x;
  EXPECT_EQ(x.Process(kHead + "m=audio 7000 RTP/AVP 0\r\na=recvonly\r\n")->direction, Direction::kSendOnly);
  EXPECT_EQ(x.Process(kHead + "m=audio 7000 RTP/AVP 0\r\na=sendonly\r\n")->direction, Direction::kRecvOnly);
  EXPECT_TRUE(x.Process(kHead + "m=audio 7000 RTP/AVP 0\r\na=inactive\r\n")->remote_hold);
  // Our hold offer answered recvonly.
  x.config.direction = Direction::kSendOnly;
  x.offer = *BuildOffer(x.config, x.origin);
  auto n = x.Process(kHead + "m=audio 7000 RTP/AVP 0\r\na=recvonly\r\n");
  EXPECT_EQ(n->direction, Direction::kSendOnly);
  EXPECT_FALSE(n->remote_hold);
}

TEST(ProcessAnswer, Errors) {
  Exchange x;
  EXPECT_EQ(x.Process(kHead + "m=audio 0 RTP/AVP 0\r\n").error(), "the peer rejected audio stream 1");
  EXPECT_EQ(x.Process(kHead + "m=audio 7000 RTP/AVP 18\r\n").error(),
            "the answer holds no codec we offered in stream 1");
  EXPECT_EQ(x.Process(kHead + "m=audio 7000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n").error(),
            "answer has 2 m= lines, the offer had 1");
  // Our PCMU under another number is not what we offered.
  EXPECT_FALSE(x.Process(kHead + "m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000\r\n").ok());
}

TEST(ProcessAnswer, RoundTripWithOurOwnAnswer) {
  Exchange x;
  LocalConfig peer = Config({CodecId::kPcma, CodecId::kOpus});
  peer.address = "192.0.2.77";
  peer.port = 50000;
  LocalOrigin peer_origin(2, peer.address);
  auto answer = BuildAnswer(MustParse(Serialize(x.offer)), peer, peer_origin);
  ASSERT_TRUE(answer.ok());
  auto n = ProcessAnswer(x.offer, MustParse(Serialize(answer->sdp)), x.config);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->codec, CodecId::kPcma);
  EXPECT_EQ(n->telephone_event_pt, 101);
  EXPECT_EQ(n->remote_address, "192.0.2.77");
  EXPECT_EQ(n->remote_port, 50000);
}

// ---- SessionParams ----

TEST(SessionParams, FromNegotiated) {
  const Answer a = MustAnswer(testing::kBaresipLike, Config({CodecId::kOpus}));
  const pb::SessionParams p = ToSessionParams(a.negotiated, 12);
  EXPECT_EQ(p.line(), 12u);
  EXPECT_EQ(p.remote_address(), "203.0.113.5");
  EXPECT_EQ(p.remote_port(), 10628u);
  EXPECT_EQ(p.codec(), pb::CODEC_OPUS);
  EXPECT_EQ(p.payload_type(), 96u);
  EXPECT_EQ(p.ptime_ms(), 20u);
  EXPECT_EQ(p.telephone_event_pt(), 97u);
  EXPECT_EQ(p.dtmf_mode(), pb::DTMF_MODE_RFC4733);
  EXPECT_EQ(p.direction(), pb::DIRECTION_SENDRECV);
  EXPECT_EQ(p.local_port(), 0u);
}

TEST(SessionParams, EnumMappings) {
  EXPECT_EQ(ToProtoCodec(CodecId::kPcmu), pb::CODEC_PCMU);
  EXPECT_EQ(ToProtoCodec(CodecId::kPcma), pb::CODEC_PCMA);
  EXPECT_EQ(ToProtoCodec(CodecId::kG722), pb::CODEC_G722);
  EXPECT_EQ(ToProtoCodec(CodecId::kG729), pb::CODEC_G729);
  EXPECT_EQ(ToProtoCodec(CodecId::kOpus), pb::CODEC_OPUS);
  EXPECT_EQ(ToProtoDirection(Direction::kSendRecv), pb::DIRECTION_SENDRECV);
  EXPECT_EQ(ToProtoDirection(Direction::kSendOnly), pb::DIRECTION_SENDONLY);
  EXPECT_EQ(ToProtoDirection(Direction::kRecvOnly), pb::DIRECTION_RECVONLY);
  EXPECT_EQ(ToProtoDirection(Direction::kInactive), pb::DIRECTION_INACTIVE);
  // Hold: our recvonly reaches the media process.
  Negotiated n;
  n.direction = Direction::kRecvOnly;
  n.remote_address = "0.0.0.0";
  EXPECT_EQ(ToSessionParams(n, 1).direction(), pb::DIRECTION_RECVONLY);
}

}  // namespace
}  // namespace linegate::signaling::sdp
