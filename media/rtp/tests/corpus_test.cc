// The fuzz seed corpora stay meaningful: every valid-* seed parses and every invalid-*
// seed is rejected, so the fuzzers start from both sides of each check.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/rtp/rtcp.h"
#include "media/rtp/rtp_header.h"

namespace linegate::media::rtp {
namespace {

std::vector<std::pair<std::string, std::vector<uint8_t>>> ReadSeeds(const std::string& dir) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    seeds.emplace_back(
        entry.path().filename().string(),
        std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  }
  return seeds;
}

TEST(CorpusSeeds, RtcpSeedsParseOrFailAsNamed) {
  const auto seeds = ReadSeeds(std::string(LINEGATE_RTP_CORPUS_DIR) + "/corpus");
  ASSERT_GE(seeds.size(), 10u);
  for (const auto& [name, bytes] : seeds) {
    RtcpCompound c;
    const RtcpParseStatus status = ParseRtcp(bytes, c);
    if (name.starts_with("valid-")) {
      EXPECT_EQ(status, RtcpParseStatus::kOk) << name << ": " << RtcpParseStatusName(status);
    } else if (name.starts_with("invalid-")) {
      EXPECT_NE(status, RtcpParseStatus::kOk) << name;
    }
  }
}

TEST(CorpusSeeds, RtpSeedsParseOrFailAsNamed) {
  const auto seeds = ReadSeeds(std::string(LINEGATE_RTP_CORPUS_DIR) + "/rtp_corpus");
  ASSERT_GE(seeds.size(), 10u);
  for (const auto& [name, bytes] : seeds) {
    RtpHeaderView view;
    const RtpParseStatus status = ParseRtpHeader(bytes, view);
    if (name.starts_with("valid-")) {
      EXPECT_EQ(status, RtpParseStatus::kOk) << name << ": " << RtpParseStatusName(status);
    } else if (name.starts_with("invalid-")) {
      EXPECT_NE(status, RtpParseStatus::kOk) << name;
    }
  }
}

}  // namespace
}  // namespace linegate::media::rtp
