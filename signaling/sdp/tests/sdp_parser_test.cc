#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "signaling/sdp/sdp.h"
#include "signaling/sdp/tests/sdp_examples.h"

namespace linegate::signaling::sdp {
namespace {

using testing::kAsteriskLike;
using testing::kBaresipLike;
using testing::kIpv6;
using testing::kPolycomLike;

SessionDescription MustParse(const std::string& text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : SessionDescription{};
}

// The error message for `text`, which must not parse.
std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? std::string() : r.error();
}

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

TEST(SdpParser, PolycomLike) {
  const SessionDescription s = MustParse(kPolycomLike);
  EXPECT_EQ(s.origin.username, "-");
  EXPECT_EQ(s.origin.session_id, 1700000001u);
  EXPECT_EQ(s.origin.session_version, 1700000001u);
  EXPECT_EQ(s.origin.address, "192.0.2.51");
  EXPECT_EQ(s.session_name, "Polycom IP Phone");
  ASSERT_TRUE(s.connection);
  EXPECT_EQ(s.connection->addr_type, AddrType::kIp4);
  EXPECT_EQ(s.connection->address, "192.0.2.51");
  EXPECT_EQ(s.timing, "0 0");
  EXPECT_EQ(s.direction, Direction::kSendRecv);
  ASSERT_EQ(s.media.size(), 1u);
  const MediaDescription& m = s.media[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.port, 2222);
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(m.formats, (std::vector<std::string>{"9", "102", "0", "8", "18", "127"}));
  ASSERT_EQ(m.rtpmaps.size(), 6u);
  ASSERT_NE(m.FindRtpMap(102), nullptr);
  EXPECT_EQ(m.FindRtpMap(102)->encoding, "G7221");
  EXPECT_EQ(m.FindRtpMap(102)->clock_rate, 16000u);
  EXPECT_EQ(m.FindRtpMap(102)->channels, 0);
  ASSERT_NE(m.FindFmtp("18"), nullptr);
  EXPECT_EQ(m.FindFmtp("18")->parameters, "annexb=no");
  EXPECT_EQ(m.ptime_ms, 20u);
  EXPECT_FALSE(m.direction);
  EXPECT_EQ(s.MediaDirection(0), Direction::kSendRecv);
  EXPECT_EQ(s.MediaConnection(0), &*s.connection);
}

TEST(SdpParser, AsteriskLike) {
  const SessionDescription s = MustParse(kAsteriskLike);
  EXPECT_EQ(s.session_name, "Asterisk PBX 20.5.0");
  ASSERT_EQ(s.other_lines.size(), 1u);
  EXPECT_EQ(s.other_lines[0].type, 'b');
  EXPECT_EQ(s.other_lines[0].value, "CT:384");
  const MediaDescription& m = s.media[0];
  EXPECT_EQ(m.port, 17424);
  EXPECT_EQ(m.maxptime_ms, 150u);
  EXPECT_FALSE(m.ptime_ms);
  EXPECT_EQ(m.direction, Direction::kSendRecv);
  EXPECT_EQ(m.FindFmtp("101")->parameters, "0-16");
}

TEST(SdpParser, BaresipLikeWithOpusVideoAndLfLineEnds) {
  const SessionDescription s = MustParse(kBaresipLike);
  ASSERT_EQ(s.media.size(), 2u);
  const MediaDescription& audio = s.media[0];
  const RtpMap* opus = audio.FindRtpMap(96);
  ASSERT_NE(opus, nullptr);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2);
  EXPECT_EQ(audio.FindFmtp("96")->parameters, "stereo=0;sprop-stereo=0;useinbandfec=1");
  ASSERT_TRUE(audio.rtcp);
  EXPECT_EQ(audio.rtcp->port, 10629);
  EXPECT_FALSE(audio.rtcp->connection);
  ASSERT_EQ(audio.attributes.size(), 2u);  // unknown attributes kept in order
  EXPECT_EQ(audio.attributes[0].name, "label");
  EXPECT_EQ(audio.attributes[0].value, "1");
  EXPECT_EQ(audio.attributes[1].name, "ssrc");
  EXPECT_EQ(audio.attributes[1].value, "2749938271 cname:xyz");
  ASSERT_EQ(audio.other_lines.size(), 1u);
  EXPECT_EQ(audio.other_lines[0].value, "AS:64");
  EXPECT_EQ(s.media[1].media, "video");
  EXPECT_EQ(s.media[1].port, 10630);
}

TEST(SdpParser, Ipv6MediaLevelConnection) {
  const SessionDescription s = MustParse(kIpv6);
  EXPECT_EQ(s.origin.addr_type, AddrType::kIp6);
  EXPECT_FALSE(s.connection);
  const Connection* c = s.MediaConnection(0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->addr_type, AddrType::kIp6);
  EXPECT_EQ(c->address, "2001:db8::10");
}

TEST(SdpParser, MediaConnectionOverridesSession) {
  const SessionDescription s =
      MustParse(kHead + "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.99\r\nm=audio 4002 RTP/AVP 0\r\n");
  EXPECT_EQ(s.MediaConnection(0)->address, "192.0.2.99");
  EXPECT_EQ(s.MediaConnection(1)->address, "192.0.2.1");
}

TEST(SdpParser, DirectionsAtSessionAndMediaLevel) {
  const SessionDescription s =
      MustParse(kHead + "a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n" +
                "m=audio 4002 RTP/AVP 0\r\na=recvonly\r\n" + "m=audio 4004 RTP/AVP 0\r\na=inactive\r\n");
  EXPECT_EQ(s.direction, Direction::kSendOnly);
  EXPECT_EQ(s.MediaDirection(0), Direction::kSendOnly);
  EXPECT_EQ(s.MediaDirection(1), Direction::kRecvOnly);
  EXPECT_EQ(s.MediaDirection(2), Direction::kInactive);
  EXPECT_EQ(MustParse(kHead + "m=audio 4000 RTP/AVP 0\r\n").MediaDirection(0), Direction::kSendRecv);
}

TEST(SdpParser, RejectedStreamNeedsNoConnection) {
  const std::string text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 31\r\n";
  const SessionDescription s = MustParse(text);
  EXPECT_EQ(s.media[0].port, 0);
  EXPECT_EQ(s.MediaConnection(0), nullptr);
}

TEST(SdpParser, NonRtpFormatsMulticastPortCountAndRtcpAddress) {
  const SessionDescription s = MustParse(
      kHead + "m=image 5004 udptl t38\r\nm=audio 6000/2 RTP/AVP 0\r\nc=IN IP4 233.252.0.1/127/3\r\n" +
      "a=rtcp:53020 IN IP6 2001:db8::1\r\n");
  EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"t38"}));
  EXPECT_EQ(s.media[1].port_count, 2);
  EXPECT_EQ(s.media[1].connection->address, "233.252.0.1");
  EXPECT_EQ(s.media[1].connection->suffix, "127/3");
  EXPECT_EQ(s.media[1].rtcp->port, 53020);
  EXPECT_EQ(s.media[1].rtcp->connection->addr_type, AddrType::kIp6);
}

TEST(SdpParser, OtherLinesAndAttributesKept) {
  const SessionDescription s = MustParse(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=x\r\ni=info\r\nu=http://example.com/\r\n"
      "e=a@example.com\r\np=+1 555\r\nc=IN IP4 192.0.2.1\r\nb=AS:80\r\nt=1 2\r\nr=604800 3600 0\r\n"
      "t=3 4\r\nz=2882844526 -1h\r\nk=prompt\r\na=group:BUNDLE 0\r\na=tool\r\na=empty:\r\n"
      "m=audio 4000 RTP/AVP 0\r\ni=voice\r\nk=clear:x\r\n");
  EXPECT_EQ(s.timing, "1 2");
  EXPECT_EQ(s.other_lines.size(), 9u);
  ASSERT_EQ(s.attributes.size(), 3u);
  EXPECT_FALSE(s.attributes[1].has_value);
  EXPECT_TRUE(s.attributes[2].has_value);
  EXPECT_EQ(s.attributes[2].value, "");
  EXPECT_EQ(s.media[0].other_lines.size(), 2u);
}

TEST(SdpParser, ToleratesTrailingSpaceEmptyLinesAndNoFinalLineEnd) {
  const SessionDescription s = MustParse(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1 \r\n\r\ns=-\nc=IN IP4 192.0.2.1\r\n"
      "t=0 0\r\nm=audio 4000 RTP/AVP 0 \r\na=ptime:30");
  EXPECT_EQ(s.origin.address, "192.0.2.1");
  EXPECT_EQ(s.media[0].formats.size(), 1u);
  EXPECT_EQ(s.media[0].ptime_ms, 30u);
}

TEST(SdpParser, RoundTrip) {
  for (const std::string& text : {kPolycomLike, kAsteriskLike, kBaresipLike, kIpv6}) {
    const SessionDescription first = MustParse(text);
    const std::string written = Serialize(first);
    const SessionDescription second = MustParse(written);
    EXPECT_EQ(first, second) << written;
    EXPECT_EQ(Serialize(second), written);
  }
}

TEST(SdpParser, RoundTripOfOutOfOrderLines) {
  const SessionDescription first = MustParse(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nk=prompt\r\nt=1 2\r\nb=AS:1\r\nz=0 -1h\r\nt=3 4\r\n"
      "c=IN IP4 192.0.2.1\r\ni=late\r\nm=audio 4000 RTP/AVP 0\r\nk=clear:x\r\nb=AS:2\r\ni=voice\r\n");
  const std::string written = Serialize(first);
  EXPECT_EQ(MustParse(written), first) << written;
  EXPECT_EQ(written,
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\ni=late\r\nc=IN IP4 192.0.2.1\r\nb=AS:1\r\nt=1 2\r\n"
            "t=3 4\r\nk=prompt\r\nz=0 -1h\r\nm=audio 4000 RTP/AVP 0\r\ni=voice\r\nk=clear:x\r\nb=AS:2\r\n");
}

// Every seed of the fuzz corpus parses and round-trips.
TEST(SdpParser, SeedCorpusParses) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LINEGATE_TESTDATA_DIR "/sdp-corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const SessionDescription s = MustParse(text);
    EXPECT_EQ(MustParse(Serialize(s)), s) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 8u);
}

TEST(SdpParser, SerializeWritesCrlfInRfcOrder) {
  EXPECT_EQ(Serialize(MustParse(kAsteriskLike)),
            "v=0\r\n"
            "o=root 1048573311 1048573311 IN IP4 198.51.100.7\r\n"
            "s=Asterisk PBX 20.5.0\r\n"
            "c=IN IP4 198.51.100.7\r\n"
            "b=CT:384\r\n"
            "t=0 0\r\n"
            "m=audio 17424 RTP/AVP 0 8 3 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:3 GSM/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-16\r\n"
            "a=maxptime:150\r\n"
            "a=sendrecv\r\n");
}

struct BadCase {
  std::string text;
  std::string error;  // the expected message, or its beginning
};

TEST(SdpParser, ErrorsNameTheLine) {
  const std::string o = "o=- 1 1 IN IP4 192.0.2.1\r\n";
  const std::string pre = "v=0\r\n" + o + "s=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";  // lines 1-5
  const BadCase cases[] = {
      {"", "empty SDP (no v= line)"},
      {"o=- 1 1 IN IP4 1.2.3.4\r\n", "line 1 (o=): the first line must be v="},
      {"v=1\r\n", "line 1 (v=): unsupported version (only v=0)"},
      {"v=0\r\nhello\r\n", "line 2: not of the form <type>=<value>"},
      {"v=0\r\nV=0\r\n", "line 2: not of the form <type>=<value>"},
      {"v=0\r\nx=1\r\n", "line 2 (x=): unknown line type"},
      {"v=0\r\no=- 1 IN IP4 1.2.3.4\r\n", "line 2 (o=): expected o=<username>"},
      {"v=0\r\no=- abc 1 IN IP4 1.2.3.4\r\n", "line 2 (o=): session id is not a 64-bit number"},
      {"v=0\r\no=- 1 99999999999999999999 IN IP4 1.2.3.4\r\n", "line 2 (o=): session version is not"},
      {"v=0\r\no=- 1 1 ATM IP4 1.2.3.4\r\n", "line 2 (o=): network type is not IN"},
      {"v=0\r\no=- 1 1 IN IP5 1.2.3.4\r\n", "line 2 (o=): address type is not IP4 or IP6"},
      {"v=0\r\n" + o + o, "line 3 (o=): duplicate o= line"},
      {"v=0\r\n" + o + "s=\r\n", "line 3 (s=): empty session name (use s=-)"},
      {"v=0\r\n" + o, "missing s= line"},
      {"v=0\r\ns=-\r\n", "missing o= line"},
      {"v=0\r\n" + o + "s=-\r\nc=IN IP4\r\n", "line 4 (c=): expected c=IN <IP4|IP6> <address>"},
      {"v=0\r\n" + o + "s=-\r\nc=IN IP6 192.0.2.1\r\n", "line 4 (c=): bad address"},
      {"v=0\r\n" + o + "s=-\r\nc=IN IP4 1.2.3.4/\r\n", "line 4 (c=): bad multicast TTL or count"},
      {"v=0\r\n" + o + "s=-\r\nt=0\r\n", "line 4 (t=): expected t=<start> <stop>"},
      {pre + "m=audio 70000 RTP/AVP 0\r\n", "line 6 (m=): port is not a number from 0 to 65535"},
      {pre + "m=audio 4000 RTP/AVP\r\n", "line 6 (m=): expected m=<media> <port> <proto> <format>..."},
      {pre + "m=audio 4000 RTP/AVP 0 128\r\n", "line 6 (m=): bad format '128' (RTP payload types are 0-127)"},
      {pre + "m=audio 4000/0 RTP/AVP 0\r\n", "line 6 (m=): bad port count"},
      {pre + "m=audio 4000 RTP/AVP 0\r\no=- 1 1 IN IP4 1.2.3.4\r\n", "line 7 (o=): o= inside a media"},
      {pre + "m=audio 4000 RTP/AVP 0\r\nt=0 0\r\n", "line 7 (t=): t= inside a media description"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", "line 7 (a=): expected a=rtpmap:"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n",
       "line 7 (a=): rtpmap payload type is not"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/0\r\n", "line 7 (a=): rtpmap clock rate is not"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/0\r\n", "line 7 (a=): rtpmap channels"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:0 PCMA/8000\r\n",
       "line 8 (a=): duplicate rtpmap for payload type 0"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n",
       "line 7 (a=): a=ptime is not a number of milliseconds"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=ptime:0\r\n", "line 7 (a=): a=ptime is not a number"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=ptime:20\r\na=ptime:30\r\n", "line 8 (a=): duplicate a=ptime"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=maxptime:-1\r\n", "line 7 (a=): a=maxptime is not"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n",
       "line 8 (a=): more than one direction attribute"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=sendonly:x\r\n", "line 7 (a=): a=sendonly takes no value"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtcp:x\r\n", "line 7 (a=): expected a=rtcp:<port>"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=rtcp:9 IN IP4\r\n", "line 7 (a=): expected a=rtcp:<port>"},
      {pre + "m=audio 4000 RTP/AVP 0\r\na=fmtp:\r\n", "line 7 (a=): expected a=fmtp:<format> <parameters>"},
      {pre + "a=\r\n", "line 6 (a=): bad attribute name"},
      {pre + "a=a b\r\n", "line 6 (a=): bad attribute name"},
      {"v=0\r\n" + o + "s=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
       "line 5 (m=): no c= line for this media and none at session level"},
      {"v=0\r\n" + o + "m=audio 4000 RTP/AVP 0\r\n", "line 3 (m=): m= before the o= and s= lines"},
      {"v=0\r\n" + o + "s=-\r\nr=1 2 3\r\n", "line 4 (r=): r= before any t= line"},
      {std::string("v=0\r\ns=a\0b\r\n", 12), "line 2: NUL or CR inside the line"},
      {"v=0\r\ns=a\rb\r\n", "line 2: NUL or CR inside the line"},
  };
  for (const BadCase& c : cases) {
    const std::string error = ErrorOf(c.text);
    EXPECT_EQ(error.substr(0, c.error.size()), c.error) << "input: " << c.text;
  }
}

TEST(SdpParser, Limits) {
  EXPECT_EQ(ErrorOf(std::string(16 * 1024 + 1, 'a')), "SDP larger than 16384 octets");
  EXPECT_EQ(ErrorOf("v=0\r\ns=" + std::string(1030, 'x') + "\r\n"), "line 2: longer than 1024 octets");
  std::string many = kHead;
  for (int i = 0; i < 300; ++i) many += "a=x\r\n";
  EXPECT_EQ(ErrorOf(many), "line 257: more than 256 lines");
  std::string media = kHead;
  for (int i = 0; i < 17; ++i) media += "m=audio 4000 RTP/AVP 0\r\n";
  EXPECT_EQ(ErrorOf(media), "line 22 (m=): more than 16 media descriptions");
  std::string formats = kHead + "m=audio 4000 RTP/AVP";
  for (int i = 0; i < 65; ++i) formats += " 0";
  EXPECT_EQ(ErrorOf(formats), "line 6 (m=): more than 64 formats");
  // Custom limits apply.
  EXPECT_FALSE(Parse(kPolycomLike, ParseLimits{.max_lines = 5}).ok());
}

}  // namespace
}  // namespace linegate::signaling::sdp
