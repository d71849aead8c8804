#include "media/rtp/rtcp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace linegate::media::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

ReportBlock Block(uint32_t ssrc, int32_t lost) {
  ReportBlock b;
  b.ssrc = ssrc;
  b.fraction_lost = 25;
  b.cumulative_lost = lost;
  b.extended_highest_sequence = 0x00012345;
  b.jitter = 77;
  b.lsr = 0xB7052000;
  b.dlsr = 0x00054000;
  return b;
}

TEST(Rtcp, SenderReportSdesByeRoundTrip) {
  const SenderInfo info{{0xE1234567, 0x89ABCDEF}, 0x11223344, 1000, 160000};
  const ReportBlock blocks[] = {Block(0xAAAA0001, 5), Block(0xAAAA0002, -3)};
  const uint32_t bye[] = {0x0BADF00D};
  Bytes buffer(512);
  RtcpWriter writer(buffer);
  ASSERT_TRUE(writer.AddSenderReport(0x0BADF00D, info, blocks));
  ASSERT_TRUE(writer.AddSdesCname(0x0BADF00D, "line17@gw1.example.net"));
  ASSERT_TRUE(writer.AddBye(bye, "hangup"));
  // SR 4+4+20+48 = 76; SDES 4 + (4+2+22+4)&~3 = 36; BYE 4+4+(1+6+3)&~3 = 16.
  EXPECT_EQ(writer.size(), 76u + 36u + 16u);

  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(writer.bytes(), c), RtcpParseStatus::kOk);
  EXPECT_EQ(c.packet_count, 3u);
  EXPECT_TRUE(c.has_sender_report);
  EXPECT_EQ(c.reporter_ssrc, 0x0BADF00Du);
  EXPECT_EQ(c.sender_info, info);
  ASSERT_EQ(c.report_block_count, 2u);
  EXPECT_EQ(c.report_blocks[0], blocks[0]);
  EXPECT_EQ(c.report_blocks[1], blocks[1]);
  ASSERT_EQ(c.cname_count, 1u);
  EXPECT_EQ(c.cnames[0].ssrc, 0x0BADF00Du);
  EXPECT_EQ(c.cnames[0].cname, "line17@gw1.example.net");
  EXPECT_TRUE(c.has_bye);
  ASSERT_EQ(c.bye_ssrc_count, 1u);
  EXPECT_EQ(c.bye_ssrcs[0], 0x0BADF00Du);
  EXPECT_EQ(c.bye_reason, "hangup");
}

TEST(Rtcp, ReceiverReportExactBytes) {
  ReportBlock b;
  b.ssrc = 0x05060708;
  b.fraction_lost = 0x80;
  b.cumulative_lost = -2;  // 24-bit two's complement 0xFFFFFE
  b.extended_highest_sequence = 0x0001000A;
  b.jitter = 0x10;
  b.lsr = 0x11121314;
  b.dlsr = 0x15161718;
  Bytes buffer(64);
  RtcpWriter writer(buffer);
  ASSERT_TRUE(writer.AddReceiverReport(0x01020304, std::span<const ReportBlock>(&b, 1)));
  ASSERT_TRUE(writer.AddSdesCname(0x01020304, "ab"));
  const Bytes expected = {
      0x81, 0xC9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04,  // RR, RC=1, 8 words
      0x05, 0x06, 0x07, 0x08, 0x80, 0xFF, 0xFF, 0xFE,  // SSRC_1, fraction, cumulative
      0x00, 0x01, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x10,  // extended highest, jitter
      0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // LSR, DLSR
      0x81, 0xCA, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04,  // SDES, SC=1, 4 words
      0x01, 0x02, 'a',  'b',  0x00, 0x00, 0x00, 0x00,  // CNAME "ab", END + padding
  };
  EXPECT_EQ(Bytes(writer.bytes().begin(), writer.bytes().end()), expected);
  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(writer.bytes(), c), RtcpParseStatus::kOk);
  EXPECT_FALSE(c.has_sender_report);
  EXPECT_EQ(c.report_blocks[0].cumulative_lost, -2);
  EXPECT_EQ(c.report_blocks[0], b);
}

TEST(Rtcp, EmptyReceiverReportAndByeWithoutReason) {
  Bytes buffer(64);
  RtcpWriter writer(buffer);
  ASSERT_TRUE(writer.AddReceiverReport(42, {}));
  const uint32_t ssrcs[] = {42, 43};
  ASSERT_TRUE(writer.AddBye(ssrcs));
  EXPECT_EQ(writer.size(), 8u + 12u);
  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(writer.bytes(), c), RtcpParseStatus::kOk);
  EXPECT_EQ(c.reporter_ssrc, 42u);
  EXPECT_EQ(c.report_block_count, 0u);
  EXPECT_EQ(c.bye_ssrc_count, 2u);
  EXPECT_TRUE(c.bye_reason.empty());
}

TEST(Rtcp, MoreThan31SourcesSpanTwoReportsAndCapacityIsCounted) {
  std::vector<ReportBlock> blocks;
  for (uint32_t i = 0; i < 36; ++i) blocks.push_back(Block(i, 0));
  Bytes buffer(2048);
  RtcpWriter writer(buffer);
  EXPECT_FALSE(writer.AddReceiverReport(1, blocks)) << "RC has 5 bits";
  EXPECT_EQ(writer.size(), 0u);
  ASSERT_TRUE(writer.AddReceiverReport(1, std::span(blocks).first(31)));
  ASSERT_TRUE(writer.AddReceiverReport(1, std::span(blocks).subspan(31)));
  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(writer.bytes(), c), RtcpParseStatus::kOk);
  EXPECT_EQ(c.report_block_count, 31u);
  EXPECT_EQ(c.report_blocks_dropped, 5u);
  EXPECT_EQ(c.report_blocks[30].ssrc, 30u);
}

TEST(Rtcp, WriterRefusesWhatDoesNotFitOrIsInvalid) {
  Bytes buffer(40);
  RtcpWriter writer(buffer);
  EXPECT_FALSE(writer.AddSdesCname(1, "x")) << "a compound starts with SR or RR";
  EXPECT_FALSE(writer.AddBye({}));
  const ReportBlock blocks[] = {Block(1, 0), Block(2, 0)};
  EXPECT_FALSE(writer.AddSenderReport(1, {}, blocks)) << "76 bytes into 40";
  EXPECT_EQ(writer.size(), 0u);
  ASSERT_TRUE(writer.AddReceiverReport(1, std::span(blocks).first(1)));  // 32 bytes
  EXPECT_FALSE(writer.AddSdesCname(1, "abc"));                           // 16 more: no room
  EXPECT_EQ(writer.size(), 32u);
  EXPECT_FALSE(writer.AddSdesCname(1, ""));
  EXPECT_FALSE(writer.AddSdesCname(1, std::string(256, 'x')));
  EXPECT_FALSE(writer.AddBye({}, std::string(256, 'x')));
  ASSERT_TRUE(writer.AddBye({}));  // 4 bytes: BYE with no sources
  EXPECT_EQ(writer.size(), 36u);
}

TEST(Rtcp, SkipsUnknownPacketTypes) {
  Bytes packet = {0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 9,                      // RR, no blocks
                  0x80, 0xCC, 0x00, 0x02, 0, 0, 0, 9, 'n', 'a', 'm', 'e',  // APP
                  0x81, 0xCD, 0x00, 0x02, 0, 0, 0, 9, 0,   0,   0,   1};   // RTPFB (RFC 4585)
  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(packet, c), RtcpParseStatus::kOk);
  EXPECT_EQ(c.packet_count, 3u);
  EXPECT_EQ(c.unknown_packets, 2u);
}

TEST(Rtcp, PaddingOnTheLastPacket) {
  Bytes packet = {0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 9, 0xA1, 0xCB,
                  0x00, 0x02, 0,    0,    0, 5, 0, 0, 0,    4};  // BYE, SC=1, 4 bytes padding
  RtcpCompound c;
  ASSERT_EQ(ParseRtcp(packet, c), RtcpParseStatus::kOk);
  EXPECT_EQ(c.bye_ssrc_count, 1u);
  EXPECT_TRUE(c.bye_reason.empty());
}

struct MalformedCase {
  std::string name;
  Bytes packet;
  RtcpParseStatus status;
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class RtcpMalformedTest : public testing::TestWithParam<MalformedCase> {};

TEST_P(RtcpMalformedTest, Rejected) {
  RtcpCompound c;
  const RtcpParseStatus status = ParseRtcp(GetParam().packet, c);
  EXPECT_EQ(status, GetParam().status) << RtcpParseStatusName(status);
}

const Bytes kRr = {0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 9};

Bytes After(const Bytes& head, std::initializer_list<uint8_t> tail) {
  Bytes out = head;
  out.insert(out.end(), tail);
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RtcpMalformedTest,
    testing::Values(
        MalformedCase{"empty", {}, RtcpParseStatus::kTruncated},
        MalformedCase{"three_bytes", {0x80, 0xC9, 0x00}, RtcpParseStatus::kTruncated},
        MalformedCase{
            "length_beyond_datagram", {0x80, 0xC9, 0x00, 0x02, 0, 0, 0, 9}, RtcpParseStatus::kTruncated},
        MalformedCase{"trailing_partial_header", After(kRr, {0x80, 0xCA}), RtcpParseStatus::kTruncated},
        MalformedCase{"trailing_bytes_not_a_packet", After(kRr, {0x80, 0xCA, 0x00, 0x05}),
                      RtcpParseStatus::kTruncated},
        MalformedCase{"version_1", {0x40, 0xC9, 0x00, 0x01, 0, 0, 0, 9}, RtcpParseStatus::kBadVersion},
        MalformedCase{"second_packet_version_0", After(kRr, {0x00, 0xCB, 0x00, 0x00}),
                      RtcpParseStatus::kBadVersion},
        MalformedCase{"starts_with_sdes",
                      {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 0},
                      RtcpParseStatus::kNotReport},
        MalformedCase{"starts_with_bye", {0x81, 0xCB, 0x00, 0x01, 0, 0, 0, 9}, RtcpParseStatus::kNotReport},
        MalformedCase{"starts_with_app",
                      {0x80, 0xCC, 0x00, 0x02, 0, 0, 0, 9, 'n', 'a', 'm', 'e'},
                      RtcpParseStatus::kNotReport},
        MalformedCase{
            "rtp_packet", {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1}, RtcpParseStatus::kNotReport},
        MalformedCase{
            "padding_on_first_packet", {0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 4}, RtcpParseStatus::kBadPadding},
        MalformedCase{"padding_not_on_last",
                      After(After(kRr, {0xA0, 0xCB, 0x00, 0x01, 0, 0, 0, 4}), {0x80, 0xCB, 0, 0}),
                      RtcpParseStatus::kBadPadding},
        MalformedCase{"padding_count_zero", After(kRr, {0xA0, 0xCB, 0x00, 0x01, 0, 0, 0, 0}),
                      RtcpParseStatus::kBadPadding},
        MalformedCase{"padding_count_too_big", After(kRr, {0xA0, 0xCB, 0x00, 0x01, 0, 0, 0, 5}),
                      RtcpParseStatus::kBadPadding},
        MalformedCase{
            "rr_count_beyond_length", {0x81, 0xC9, 0x00, 0x01, 0, 0, 0, 9}, RtcpParseStatus::kBadReportCount},
        MalformedCase{"sr_too_short_for_sender_info",
                      {0x80, 0xC8, 0x00, 0x01, 0, 0, 0, 9},
                      RtcpParseStatus::kBadReportCount},
        MalformedCase{"sdes_chunk_missing", After(kRr, {0x81, 0xCA, 0x00, 0x00}), RtcpParseStatus::kBadSdes},
        MalformedCase{"sdes_no_end_item", After(kRr, {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 9, 1, 2, 'a', 'b'}),
                      RtcpParseStatus::kBadSdes},
        MalformedCase{"sdes_item_overflow", After(kRr, {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 9, 1, 9, 'a', 'b'}),
                      RtcpParseStatus::kBadSdes},
        MalformedCase{"sdes_item_length_octet_missing",
                      After(kRr, {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 9, 1, 1, 'a', 7}),
                      RtcpParseStatus::kBadSdes},
        MalformedCase{"sdes_two_chunks_one_present",
                      After(kRr, {0x82, 0xCA, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 0}),
                      RtcpParseStatus::kBadSdes},
        MalformedCase{"bye_count_beyond_length", After(kRr, {0x82, 0xCB, 0x00, 0x01, 0, 0, 0, 9}),
                      RtcpParseStatus::kBadBye},
        MalformedCase{"bye_reason_overflow",
                      After(kRr, {0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 9, 9, 'a', 'b', 'c'}),
                      RtcpParseStatus::kBadBye}),
    [](const testing::TestParamInfo<MalformedCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace linegate::media::rtp
