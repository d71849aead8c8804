#include "media/rtp/rtp_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace linegate::media::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// 12-byte header with the given first two octets; seq 0x1234, ts 0xA0, SSRC 0xDEADBEEF.
Bytes Header(uint8_t b0, uint8_t b1) { return {b0, b1, 0x12, 0x34, 0, 0, 0, 0xA0, 0xDE, 0xAD, 0xBE, 0xEF}; }

Bytes Prefix(const Bytes& bytes, size_t n) {
  return Bytes(bytes.begin(), bytes.begin() + static_cast<long>(n));
}

struct HeaderCase {
  std::string name;
  Bytes packet;
  RtpParseStatus status;
  size_t header_length = 0;
  size_t payload_size = 0;
};

void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

class RtpHeaderParseTest : public testing::TestWithParam<HeaderCase> {};

TEST_P(RtpHeaderParseTest, Verdict) {
  const HeaderCase& c = GetParam();
  RtpHeaderView view;
  const RtpParseStatus status = ParseRtpHeader(c.packet, view);
  EXPECT_EQ(status, c.status) << RtpParseStatusName(status);
  if (status == RtpParseStatus::kOk) {
    EXPECT_EQ(view.header_length, c.header_length);
    EXPECT_EQ(view.payload.size(), c.payload_size);
    EXPECT_EQ(view.header_length + view.payload.size() + view.padding_length, c.packet.size());
    EXPECT_EQ(view.sequence, 0x1234);
    EXPECT_EQ(view.timestamp, 0xA0u);
    EXPECT_EQ(view.ssrc, 0xDEADBEEFu);
  }
}

const Bytes kPayload4 = {1, 2, 3, 4};

INSTANTIATE_TEST_SUITE_P(
    Table, RtpHeaderParseTest,
    testing::Values(
        HeaderCase{"minimal_pcmu", Concat({Header(0x80, 0x00), kPayload4}), RtpParseStatus::kOk, 12, 4},
        HeaderCase{"no_payload", Header(0x80, 0x00), RtpParseStatus::kOk, 12, 0},
        HeaderCase{"marker_pcma", Concat({Header(0x80, 0x88), kPayload4}), RtpParseStatus::kOk, 12, 4},
        HeaderCase{"two_csrcs", Concat({Header(0x82, 0x00), Bytes(8, 7), kPayload4}), RtpParseStatus::kOk, 20,
                   4},
        HeaderCase{"fifteen_csrcs_exactly", Concat({Header(0x8F, 0x00), Bytes(60, 7)}), RtpParseStatus::kOk,
                   72, 0},
        HeaderCase{"extension_one_word",
                   Concat({Header(0x90, 0x00), {0xBE, 0xDE, 0x00, 0x01}, {9, 9, 9, 9}, kPayload4}),
                   RtpParseStatus::kOk, 20, 4},
        HeaderCase{"extension_zero_words", Concat({Header(0x90, 0x00), {0x10, 0x00, 0x00, 0x00}}),
                   RtpParseStatus::kOk, 16, 0},
        HeaderCase{"padding_three", Concat({Header(0xA0, 0x00), kPayload4, {0, 0, 3}}), RtpParseStatus::kOk,
                   12, 4},
        HeaderCase{"padding_is_whole_payload", Concat({Header(0xA0, 0x00), {0, 0, 0, 4}}),
                   RtpParseStatus::kOk, 12, 0},
        HeaderCase{"csrc_extension_padding",
                   Concat({Header(0xB1, 0x00),
                           {0, 0, 0, 1},
                           {0xBE, 0xDE, 0x00, 0x01},
                           {9, 9, 9, 9},
                           kPayload4,
                           {0, 2}}),
                   RtpParseStatus::kOk, 24, 4},
        HeaderCase{"empty", {}, RtpParseStatus::kTruncated},
        HeaderCase{"eleven_bytes", Prefix(Header(0x80, 0), 11), RtpParseStatus::kTruncated},
        HeaderCase{"version_0", Concat({Header(0x00, 0x00), kPayload4}), RtpParseStatus::kBadVersion},
        HeaderCase{"version_1", Concat({Header(0x40, 0x00), kPayload4}), RtpParseStatus::kBadVersion},
        HeaderCase{"version_3", Concat({Header(0xC0, 0x00), kPayload4}), RtpParseStatus::kBadVersion},
        HeaderCase{"padding_count_zero", Concat({Header(0xA0, 0x00), kPayload4, {0}}),
                   RtpParseStatus::kBadPadding},
        HeaderCase{"padding_overflow", Concat({Header(0xA0, 0x00), kPayload4, {0, 7}}),
                   RtpParseStatus::kBadPadding},
        HeaderCase{"padding_into_header", Concat({Header(0xA0, 0x00), {13}}), RtpParseStatus::kBadPadding},
        HeaderCase{"padding_bit_no_payload", Header(0xA0, 0xEF), RtpParseStatus::kBadPadding},
        HeaderCase{"csrc_overflow", Concat({Header(0x8F, 0x00), Bytes(59, 7)}),
                   RtpParseStatus::kCsrcOverflow},
        HeaderCase{"csrc_one_missing", Concat({Header(0x81, 0x00), {1, 2}}), RtpParseStatus::kCsrcOverflow},
        HeaderCase{"extension_header_missing", Concat({Header(0x90, 0x00), {0xBE, 0xDE}}),
                   RtpParseStatus::kExtensionOverflow},
        HeaderCase{"extension_length_overflow",
                   Concat({Header(0x90, 0x00), {0xBE, 0xDE, 0x00, 0x02}, kPayload4}),
                   RtpParseStatus::kExtensionOverflow},
        HeaderCase{"extension_length_max", Concat({Header(0x90, 0x00), {0xBE, 0xDE, 0xFF, 0xFF}, kPayload4}),
                   RtpParseStatus::kExtensionOverflow},
        HeaderCase{"extension_after_csrcs_overflow", Concat({Header(0x91, 0x00), {0, 0, 0, 1}, {0xBE}}),
                   RtpParseStatus::kExtensionOverflow},
        HeaderCase{"rtcp_sr_on_rtp_port", Concat({Header(0x80, 200), kPayload4}),
                   RtpParseStatus::kRtcpPayloadType},
        HeaderCase{"rtcp_range_low", Concat({Header(0x80, 192), kPayload4}),
                   RtpParseStatus::kRtcpPayloadType},
        HeaderCase{"rtcp_range_high", Concat({Header(0x80, 223), kPayload4}),
                   RtpParseStatus::kRtcpPayloadType},
        HeaderCase{"pt_72_without_marker", Concat({Header(0x80, 72), kPayload4}),
                   RtpParseStatus::kUnexpectedPayloadType},
        HeaderCase{"pt_96_with_marker_ok", Concat({Header(0x80, 0x80 | 96), kPayload4}), RtpParseStatus::kOk,
                   12, 4}),
    [](const testing::TestParamInfo<HeaderCase>& param_info) { return param_info.param.name; });

TEST(RtpHeaderParse, FieldsOfAFullHeader) {
  const Bytes packet = Concat({{0xB2, 0x88, 0xFF, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D},
                               {0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE},
                               {0x10, 0x00, 0x00, 0x01, 0xAA, 0xBB, 0xCC, 0xDD},
                               {0x55, 0x66},
                               {0, 0, 0, 4}});
  RtpHeaderView view;
  ASSERT_EQ(ParseRtpHeader(packet, view), RtpParseStatus::kOk);
  EXPECT_TRUE(view.padding);
  EXPECT_TRUE(view.extension);
  EXPECT_TRUE(view.marker);
  EXPECT_EQ(view.payload_type, 8);
  EXPECT_EQ(view.sequence, 0xFFFF);
  EXPECT_EQ(view.timestamp, 0x01020304u);
  EXPECT_EQ(view.ssrc, 0x0A0B0C0Du);
  ASSERT_EQ(view.csrc_count, 2);
  EXPECT_EQ(view.Csrc(0), 1u);
  EXPECT_EQ(view.Csrc(1), 0xFFFFFFFEu);
  EXPECT_EQ(view.extension_profile, 0x1000);
  ASSERT_EQ(view.extension_data.size(), 4u);
  EXPECT_EQ(view.extension_data[0], 0xAA);
  ASSERT_EQ(view.payload.size(), 2u);
  EXPECT_EQ(view.payload[0], 0x55);
  EXPECT_EQ(view.padding_length, 4);
  // Zero copy: the views point into the packet.
  EXPECT_EQ(view.payload.data(), packet.data() + 28);
}

TEST(RtpHeaderParse, AcceptedPayloadTypes) {
  const PayloadTypeSet g711 = PayloadTypeSet().Add(0).Add(8);
  RtpHeaderView view;
  EXPECT_EQ(ParseRtpHeader(Concat({Header(0x80, 8), kPayload4}), view, g711), RtpParseStatus::kOk);
  EXPECT_EQ(ParseRtpHeader(Concat({Header(0x80, 18), kPayload4}), view, g711),
            RtpParseStatus::kUnexpectedPayloadType);
  EXPECT_EQ(ParseRtpHeader(Concat({Header(0x80, 0x80 | 101), kPayload4}), view, g711),
            RtpParseStatus::kUnexpectedPayloadType);
  EXPECT_TRUE(PayloadTypeSet::AllRtp().Contains(0));
  EXPECT_TRUE(PayloadTypeSet::AllRtp().Contains(63));
  EXPECT_FALSE(PayloadTypeSet::AllRtp().Contains(64));
  EXPECT_FALSE(PayloadTypeSet::AllRtp().Contains(95));
  EXPECT_TRUE(PayloadTypeSet::AllRtp().Contains(96));
  EXPECT_TRUE(PayloadTypeSet::AllRtp().Contains(127));
  EXPECT_FALSE(PayloadTypeSet::AllRtp().Contains(128));
}

TEST(RtpHeaderWriter, RoundTrip) {
  const uint32_t csrcs[] = {0x11111111, 0x22222222, 0x33333333};
  const uint8_t ext[] = {1, 2, 3, 4, 5, 6, 7, 8};
  RtpHeaderFields fields;
  fields.marker = true;
  fields.payload_type = 101;
  fields.sequence = 65535;
  fields.timestamp = 0xFFFFFF00;
  fields.ssrc = 0xCAFEBABE;
  fields.csrcs = csrcs;
  fields.extension = true;
  fields.extension_profile = 0xBEDE;
  fields.extension_data = ext;
  Bytes buffer(64, 0xEE);
  const size_t n = WriteRtpHeader(fields, buffer);
  ASSERT_EQ(n, 12u + 12u + 4u + 8u);
  EXPECT_EQ(RtpHeaderSize(fields), n);
  EXPECT_EQ(buffer[0], 0x93);  // V=2, X, CC=3
  EXPECT_EQ(buffer[1], 0x80 | 101);
  buffer[n] = 0x42;  // one payload octet
  RtpHeaderView view;
  ASSERT_EQ(ParseRtpHeader(std::span<const uint8_t>(buffer.data(), n + 1), view), RtpParseStatus::kOk);
  EXPECT_TRUE(view.marker);
  EXPECT_FALSE(view.padding);
  EXPECT_EQ(view.payload_type, 101);
  EXPECT_EQ(view.sequence, 65535);
  EXPECT_EQ(view.timestamp, 0xFFFFFF00u);
  EXPECT_EQ(view.ssrc, 0xCAFEBABEu);
  ASSERT_EQ(view.csrc_count, 3);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(view.Csrc(i), csrcs[i]);
  EXPECT_EQ(view.extension_profile, 0xBEDE);
  EXPECT_EQ(Bytes(view.extension_data.begin(), view.extension_data.end()), Bytes(ext, ext + 8));
  ASSERT_EQ(view.payload.size(), 1u);
  EXPECT_EQ(view.payload[0], 0x42);
}

TEST(RtpHeaderWriter, MinimalHeaderBytes) {
  RtpHeaderFields fields;
  fields.payload_type = 0;
  fields.sequence = 0x0102;
  fields.timestamp = 0x03040506;
  fields.ssrc = 0x0708090A;
  Bytes buffer(12);
  ASSERT_EQ(WriteRtpHeader(fields, buffer), 12u);
  EXPECT_EQ(buffer, (Bytes{0x80, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A}));
}

TEST(RtpHeaderWriter, RefusesInvalidFieldsAndShortBuffers) {
  RtpHeaderFields fields;
  Bytes buffer(12, 0xEE);
  fields.payload_type = 128;
  EXPECT_EQ(WriteRtpHeader(fields, buffer), 0u);
  fields.payload_type = 0;
  EXPECT_EQ(WriteRtpHeader(fields, std::span<uint8_t>(buffer.data(), 11)), 0u);
  EXPECT_EQ(buffer, Bytes(12, 0xEE));  // nothing written
  const uint32_t sixteen[16] = {};
  fields.csrcs = sixteen;
  EXPECT_EQ(RtpHeaderSize(fields), 0u);
  fields.csrcs = {};
  const uint8_t odd[3] = {};
  fields.extension = true;
  fields.extension_data = odd;
  EXPECT_EQ(RtpHeaderSize(fields), 0u);
  fields.extension = false;
  EXPECT_EQ(RtpHeaderSize(fields), 0u);  // data without the X bit
}

}  // namespace
}  // namespace linegate::media::rtp
