#include "control/callcontrol/cdr.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace linegate::callcontrol {
namespace {

namespace fs = std::filesystem;

double Mos(std::string codec, double loss, double jitter = 0, double delay = 0, bool plc = true) {
  QualityInput in;
  in.codec = std::move(codec);
  in.loss_percent = loss;
  in.jitter_ms = jitter;
  in.one_way_delay_ms = delay;
  in.plc = plc;
  auto q = EstimateQuality(in);
  EXPECT_TRUE(q.has_value());
  return q ? q->mos : 0;
}

TEST(QualityTest, G711MosForZeroOneAndFivePercentLoss) {
  QualityInput in;
  in.codec = "PCMU";
  auto q = EstimateQuality(in);
  ASSERT_TRUE(q);
  EXPECT_NEAR(q->r_factor, 93.2, 0.01);
  EXPECT_NEAR(q->mos, 4.41, 0.01);
  EXPECT_DOUBLE_EQ(q->id, 0);  // 20.1 ms mouth-to-ear: below 100 ms
  const double m0 = Mos("PCMA", 0), m1 = Mos("PCMA", 1), m5 = Mos("PCMA", 5);
  EXPECT_GT(m1, 4.2);
  EXPECT_LT(m1, 4.4);
  EXPECT_GT(m5, 3.6);
  EXPECT_LT(m5, 4.1);
  EXPECT_GT(m0, m1);
  EXPECT_GT(m1, m5);
  // Without concealment G.711 degrades much faster (Bpl 4.3).
  EXPECT_LT(Mos("G.711", 1, 0, 0, /*plc=*/false), 3.9);
  EXPECT_LT(Mos("G.711", 5, 0, 0, /*plc=*/false), 2.5);
}

TEST(QualityTest, CodecDelayAndJitter) {
  EXPECT_NEAR(Mos("G729", 0), 4.1, 0.1);  // Ie = 11: R = 82.2
  EXPECT_LT(Mos("G729", 0), Mos("PCMU", 0));
  EXPECT_LT(Mos("G723", 0), Mos("G729", 0));
  // 200 ms one way: Ta 220 ms, Idd about 5 (R ~ 88); 400 ms: Idd about 26.
  EXPECT_LT(Mos("PCMU", 0, 0, 200), 4.3);
  EXPECT_GT(Mos("PCMU", 0, 0, 200), 3.9);
  EXPECT_LT(Mos("PCMU", 0, 0, 400), 3.7);
  // Jitter enlarges the jitter buffer and so the delay.
  EXPECT_LT(Mos("PCMU", 0, 60, 100), Mos("PCMU", 0, 0, 100));
  EXPECT_FALSE(EstimateQuality(QualityInput{"opus", 20, 0, 0, 0, true, 1.0}));
  // Everything lost: floor of the MOS scale.
  EXPECT_NEAR(Mos("PCMU", 100, 0, 0, false), 1.0, 0.3);
}

CdrRecord Sample() {
  CdrRecord r;
  r.call_id = "a84b4c76e66710@gw\"1\"";
  r.leg = CdrLeg::kIp;
  r.direction = CdrDirection::kIpToTel;
  r.caller = "+97236100201";
  r.callee = "201";
  r.line = 3;
  r.setup_ms = 1767225600000;
  r.alert_ms = 1767225600400;
  r.connect_ms = 1767225605000;
  r.release_ms = 1767225665000;
  r.released_by = "tel";
  r.tel_release = {0, 16};
  r.ip_release = {0, 16};
  r.codec = "PCMA";
  r.rtp_packets_sent = 3000;
  r.rtp_packets_received = 2970;
  r.rtp_packets_lost = 30;
  r.jitter_ms = 4.5;
  r.one_way_delay_ms = 30;
  return r;
}

TEST(CdrRecordTest, JsonHasEveryFieldAndEscapes) {
  CdrRecord r = Sample();
  EXPECT_DOUBLE_EQ(r.LossPercent(), 1.0);
  const std::string before = r.ToJson();
  EXPECT_NE(before.find("\"r_factor\":null"), std::string::npos) << before;
  r.FillQualityEstimate();
  ASSERT_TRUE(r.mos);
  EXPECT_GT(*r.mos, 4.1);
  EXPECT_LT(*r.mos, 4.4);
  const std::string json = r.ToJson();
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_EQ(json.find('\n'), std::string::npos);
  for (const char* piece : {"\"call_id\":\"a84b4c76e66710@gw\\\"1\\\"\"",
                            "\"leg\":\"ip\"",
                            "\"direction\":\"ip-to-tel\"",
                            "\"caller\":\"+97236100201\"",
                            "\"callee\":\"201\"",
                            "\"line\":3",
                            "\"setup_ms\":1767225600000",
                            "\"alert_ms\":1767225600400",
                            "\"connect_ms\":1767225605000",
                            "\"release_ms\":1767225665000",
                            "\"duration_ms\":60000",
                            "\"released_by\":\"tel\"",
                            "\"tel_release\":{\"sip_code\":0,\"q850_cause\":16}",
                            "\"ip_release\":{\"sip_code\":0,\"q850_cause\":16}",
                            "\"codec\":\"PCMA\"",
                            "\"rtp_packets_sent\":3000",
                            "\"rtp_packets_received\":2970",
                            "\"rtp_packets_lost\":30",
                            "\"loss_percent\":1",
                            "\"jitter_ms\":4.5",
                            "\"mos\":4."}) {
    EXPECT_NE(json.find(piece), std::string::npos) << piece << "\n" << json;
  }
  CdrRecord failed;
  failed.caller = "a\nb\x01";
  failed.setup_ms = 5;
  failed.ip_release = {486, 17};
  const std::string f = failed.ToJson();
  EXPECT_NE(f.find("\"caller\":\"a\\nb\\u0001\""), std::string::npos) << f;
  EXPECT_NE(f.find("\"connect_ms\":null"), std::string::npos);
  EXPECT_NE(f.find("\"duration_ms\":0"), std::string::npos);
  EXPECT_NE(f.find("\"ip_release\":{\"sip_code\":486,\"q850_cause\":17}"), std::string::npos);
}

class CdrWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/callcontrol_cdr_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> Lines(const fs::path& p) {
    std::vector<std::string> lines;
    std::ifstream in(p);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  fs::path dir_;
};

TEST_F(CdrWriterTest, WritesJsonLines) {
  CdrWriterConfig config;
  config.path = dir_ / "cdr.jsonl";
  auto w = CdrWriter::Open(config);
  ASSERT_TRUE(w.ok()) << w.error();
  CdrRecord r = Sample();
  for (int i = 0; i < 3; ++i) {
    r.call_id = "call-" + std::to_string(i);
    EXPECT_TRUE((*w)->Submit(r));
  }
  (*w)->Flush();
  EXPECT_EQ((*w)->stats().written, 3u);
  const auto lines = Lines(config.path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], r.ToJson());
  w->reset();  // closing appends nothing; reopening appends
  auto again = CdrWriter::Open(config);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Submit(r));
  again->reset();  // the destructor drains the queue
  EXPECT_EQ(Lines(config.path).size(), 4u);
}

TEST_F(CdrWriterTest, RotatesBySizeAndKeepsNFiles) {
  CdrRecord r = Sample();
  r.call_id = "call-100";
  const size_t line_size = r.ToJson().size() + 1;
  CdrWriterConfig config;
  config.path = dir_ / "cdr.jsonl";
  config.max_file_bytes = 3 * line_size;  // three records per file
  config.max_files = 3;
  config.fsync = FsyncPolicy::kEveryBatch;
  auto w = CdrWriter::Open(config);
  ASSERT_TRUE(w.ok()) << w.error();
  for (int i = 0; i < 14; ++i) {
    r.call_id = "call-" + std::to_string(100 + i);  // same length for every record
    ASSERT_TRUE((*w)->Submit(r));
    if (i % 4 == 0) (*w)->Flush();  // mix single writes and batches
  }
  (*w)->Flush();
  const CdrWriterStats stats = (*w)->stats();
  EXPECT_EQ(stats.written, 14u);
  EXPECT_EQ(stats.rotations, 4u);  // files of 3,3,3,3,2 records
  EXPECT_EQ(stats.write_errors, 0u);
  // Kept: live (12,13), .1 (9..11), .2 (6..8); .3 never exists.
  const auto live = Lines(config.path);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_NE(live[1].find("call-113"), std::string::npos);
  const auto one = Lines(config.path + ".1");
  ASSERT_EQ(one.size(), 3u);
  EXPECT_NE(one[0].find("call-109"), std::string::npos);
  const auto two = Lines(config.path + ".2");
  ASSERT_EQ(two.size(), 3u);
  EXPECT_NE(two[0].find("call-106"), std::string::npos);
  EXPECT_FALSE(fs::exists(config.path + ".3"));
  for (const auto& p : fs::directory_iterator(dir_)) EXPECT_LE(fs::file_size(p), config.max_file_bytes);
}

TEST_F(CdrWriterTest, SingleFileTruncatesOnRotation) {
  CdrRecord r = Sample();
  CdrWriterConfig config;
  config.path = dir_ / "cdr.jsonl";
  config.max_file_bytes = 1;  // every record alone; an oversized record is still written
  config.max_files = 1;
  auto w = CdrWriter::Open(config);
  ASSERT_TRUE(w.ok());
  r.call_id = "first";
  (*w)->Submit(r);
  (*w)->Flush();
  r.call_id = "second";
  (*w)->Submit(r);
  (*w)->Flush();
  const auto lines = Lines(config.path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("second"), std::string::npos);
  EXPECT_FALSE(fs::exists(config.path + ".1"));
}

TEST_F(CdrWriterTest, FullQueueDropsInsteadOfBlocking) {
  CdrWriterConfig config;
  config.path = dir_ / "cdr.jsonl";
  config.max_queued = 1;
  auto w = CdrWriter::Open(config);
  ASSERT_TRUE(w.ok());
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) accepted += (*w)->Submit(Sample()) ? 1 : 0;
  (*w)->Flush();
  const CdrWriterStats stats = (*w)->stats();
  EXPECT_EQ(stats.written + stats.dropped, 2000u);
  EXPECT_EQ(stats.written, static_cast<uint64_t>(accepted));
  EXPECT_EQ(Lines(config.path).size(), static_cast<size_t>(accepted));
}

TEST_F(CdrWriterTest, RejectsBadConfig) {
  CdrWriterConfig config;
  EXPECT_FALSE(CdrWriter::Open(config).ok());
  config.path = dir_ / "no" / "such" / "dir" / "cdr.jsonl";
  EXPECT_FALSE(CdrWriter::Open(config).ok());
  config.path = dir_ / "cdr.jsonl";
  config.max_files = 0;
  EXPECT_FALSE(CdrWriter::Open(config).ok());
}

}  // namespace
}  // namespace linegate::callcontrol
