#pragma once
// Call detail records: the record, a voice-quality estimate (simplified ITU-T G.107
// E-model, see EstimateQuality), its JSON-lines form, and a writer that appends records
// to a file with size-based rotation without blocking the call-control thread.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"

namespace linegate::callcontrol {

// ---------------------------------------------------------------- quality estimate

struct QualityInput {
  std::string codec;  // "PCMU", "PCMA", "G711", "G729", "G723" (case-insensitive)
  int ptime_ms = 20;
  double loss_percent = 0;      // packets lost / expected, in percent
  double jitter_ms = 0;         // RFC 3550 interarrival jitter
  double one_way_delay_ms = 0;  // network one-way delay (e.g. RTCP round trip / 2)
  bool plc = true;              // the receiver conceals lost packets
  double burst_ratio = 1.0;     // 1: random loss (BurstR of G.107)
};

struct QualityEstimate {
  double r_factor = 0;
  double mos = 0;              // MOS-CQE, 1.0 .. 4.5
  double ie_eff = 0;           // effective equipment impairment
  double id = 0;               // delay impairment
  double mouth_to_ear_ms = 0;  // Ta used for Id
};

// Narrowband codecs of ITU-T G.113 Appendix I only; nullopt for others (G.722, Opus:
// wideband, outside G.107).
std::optional<QualityEstimate> EstimateQuality(const QualityInput& input);

// ---------------------------------------------------------------- record

enum class CdrLeg { kTel, kIp };
enum class CdrDirection { kTelToIp, kIpToTel };

struct CdrRelease {
  int sip_code = 0;    // SIP final response or 0 (e.g. BYE: 0)
  int q850_cause = 0;  // Q.850 cause value (16 normal clearing, 17 busy, ...) or 0
};

struct CdrRecord {
  std::string call_id;  // SIP Call-ID
  CdrLeg leg = CdrLeg::kTel;
  CdrDirection direction = CdrDirection::kTelToIp;
  std::string caller;
  std::string callee;
  int line = -1;
  // Wall-clock times in ms since the Unix epoch; 0: not reached (written as null).
  int64_t setup_ms = 0;
  int64_t alert_ms = 0;
  int64_t connect_ms = 0;
  int64_t release_ms = 0;
  std::string released_by;  // "tel", "ip" or "gateway"
  CdrRelease tel_release;   // cause seen/sent on the analog side
  CdrRelease ip_release;    // cause seen/sent on the SIP side
  // Media.
  std::string codec;
  int ptime_ms = 20;
  uint64_t rtp_packets_sent = 0;
  uint64_t rtp_packets_received = 0;
  uint64_t rtp_packets_lost = 0;
  double jitter_ms = 0;
  double one_way_delay_ms = 0;
  // Filled by FillQualityEstimate (or left unset: written as null).
  std::optional<double> r_factor;
  std::optional<double> mos;

  // Loss in percent of expected packets (received + lost).
  double LossPercent() const;
  // Computes r_factor and mos from codec, loss, jitter and delay (assumes PLC).
  void FillQualityEstimate();
  // One JSON object, no trailing newline.
  std::string ToJson() const;
};

// ---------------------------------------------------------------- writer

enum class FsyncPolicy {
  kNever,       // leave it to the kernel (a host crash can lose the last ~30 s)
  kOnRotate,    // fsync a file when it is rotated and when the writer closes
  kEveryBatch,  // fsync after every batch written by the writer thread
};

struct CdrWriterConfig {
  std::string path;  // the live file; rotated ones get ".1", ".2", ...
  uint64_t max_file_bytes = 10 * 1024 * 1024;
  int max_files = 5;          // live file + (max_files - 1) rotated; >= 1
  size_t max_queued = 10000;  // records waiting for the writer; beyond: dropped
  FsyncPolicy fsync = FsyncPolicy::kOnRotate;
  bool syslog = false;  // also send each record with syslog(3), LOG_LOCAL0
  std::string syslog_ident = "linegate-cdr";
};

struct CdrWriterStats {
  uint64_t written = 0;
  uint64_t dropped = 0;  // queue full
  uint64_t write_errors = 0;
  uint64_t rotations = 0;
};

class CdrWriter {
 public:
  // Opens (appends to) the file and starts the writer thread.
  static Result<std::unique_ptr<CdrWriter>> Open(CdrWriterConfig config);
  ~CdrWriter();  // writes what is queued, fsyncs (unless kNever), closes
  CdrWriter(const CdrWriter&) = delete;
  CdrWriter& operator=(const CdrWriter&) = delete;

  // Serializes the record in the caller's thread and queues it; never waits for I/O
  // (only for the queue mutex, held for a vector push). False: queue full, dropped.
  bool Submit(const CdrRecord& record);
  // Waits until everything submitted so far is written (tests, shutdown).
  void Flush();
  CdrWriterStats stats() const;

 private:
  explicit CdrWriter(CdrWriterConfig config);
  Status OpenFile();
  void Run();
  void WriteBatch(std::vector<std::string>& lines);
  bool WriteAll(std::string_view data);
  void Rotate();

  const CdrWriterConfig config_;
  int fd_ = -1;
  uint64_t file_size_ = 0;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::vector<std::string> queue_;
  bool stop_ = false;
  bool busy_ = false;  // the writer thread holds a batch
  CdrWriterStats stats_;
  std::thread thread_;
};

}  // namespace linegate::callcontrol
