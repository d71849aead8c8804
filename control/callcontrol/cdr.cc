#include "control/callcontrol/cdr.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

namespace linegate::callcontrol {

// ---------------------------------------------------------------- quality estimate

namespace {

struct CodecImpairment {
  double ie;              // equipment impairment factor, G.113 Appendix I
  double bpl_plc;         // packet-loss robustness factor with concealment
  double bpl_no_plc;      // ... without concealment
  double algorithmic_ms;  // frame look-ahead and processing beyond the packet time
};

std::optional<CodecImpairment> ImpairmentFor(std::string_view codec) {
  std::string c;
  for (char ch : codec) {
    if (ch != '.' && ch != '-' && ch != '_' && ch != ' ')
      c += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (c == "PCMU" || c == "PCMA" || c == "G711" || c == "G711U" || c == "G711A")
    return CodecImpairment{0, 25.1, 4.3, 0.125};
  if (c == "G729" || c == "G729A" || c == "G729AB") return CodecImpairment{11, 19.0, 19.0, 5};
  if (c == "G723" || c == "G7231") return CodecImpairment{15, 16.1, 16.1, 7.5};
  return std::nullopt;
}

}  // namespace

std::optional<QualityEstimate> EstimateQuality(const QualityInput& input) {
  const std::optional<CodecImpairment> codec = ImpairmentFor(input.codec);
  if (!codec) return std::nullopt;
  QualityEstimate q;
  // Ro - Is with every G.107 default value (Table 3) is 93.2; the default talker-echo
  // and listener-echo terms of Id are inside that figure, so only Idd is added here.
  constexpr double kDefaultR = 93.2;
  // Mouth-to-ear delay Ta: network one-way delay + packetization + codec look-ahead +
  // a jitter buffer sized at twice the measured jitter (our assumption, not G.107).
  q.mouth_to_ear_ms = std::max(0.0, input.one_way_delay_ms) + std::max(0, input.ptime_ms) +
                      codec->algorithmic_ms + 2 * std::max(0.0, input.jitter_ms);
  // G.107 delay impairment Idd (absolute delay), with mT = 100 ms, sT = 1:
  //   X = log2(Ta / 100),  Idd = 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2)  for Ta > 100.
  if (q.mouth_to_ear_ms > 100) {
    const double x = std::log10(q.mouth_to_ear_ms / 100) / std::log10(2.0);
    q.id = 25 * (std::pow(1 + std::pow(x, 6), 1.0 / 6) - 3 * std::pow(1 + std::pow(x / 3, 6), 1.0 / 6) + 2);
  }
  // G.107 effective equipment impairment with packet loss:
  //   Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)
  const double ppl = std::clamp(input.loss_percent, 0.0, 100.0);
  const double bpl = input.plc ? codec->bpl_plc : codec->bpl_no_plc;
  const double burst = input.burst_ratio > 0 ? input.burst_ratio : 1.0;
  q.ie_eff = codec->ie + (95 - codec->ie) * ppl / (ppl / burst + bpl);
  // R = Ro - Is - Id - Ie,eff + A, with A = 0.
  q.r_factor = kDefaultR - q.id - q.ie_eff;
  // G.107 Annex B: MOS_CQE from R.
  const double r = q.r_factor;
  if (r < 0) {
    q.mos = 1.0;
  } else if (r > 100) {
    q.mos = 4.5;
  } else {
    q.mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  }
  return q;
}

// ---------------------------------------------------------------- record

double CdrRecord::LossPercent() const {
  const uint64_t expected = rtp_packets_received + rtp_packets_lost;
  return expected == 0 ? 0.0 : 100.0 * static_cast<double>(rtp_packets_lost) / static_cast<double>(expected);
}

void CdrRecord::FillQualityEstimate() {
  QualityInput in;
  in.codec = codec;
  in.ptime_ms = ptime_ms;
  in.loss_percent = LossPercent();
  in.jitter_ms = jitter_ms;
  in.one_way_delay_ms = one_way_delay_ms;
  if (auto q = EstimateQuality(in)) {
    r_factor = std::round(q->r_factor * 10) / 10;
    mos = std::round(q->mos * 100) / 100;
  } else {
    r_factor.reset();
    mos.reset();
  }
}

namespace {

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;  // UTF-8 passes through
        }
    }
  }
  out += '"';
}

void AppendDouble(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  out += buf;
}

class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  ~JsonObject() { out_ += '}'; }
  JsonObject(const JsonObject&) = delete;
  JsonObject& operator=(const JsonObject&) = delete;
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendString(out_, key);
    out_ += ':';
  }
  void Str(std::string_view key, std::string_view v) {
    Key(key);
    AppendString(out_, v);
  }
  void Int(std::string_view key, int64_t v) {
    Key(key);
    out_ += std::to_string(v);
  }
  void Uint(std::string_view key, uint64_t v) {
    Key(key);
    out_ += std::to_string(v);
  }
  void TimeOrNull(std::string_view key, int64_t v) {
    Key(key);
    out_ += v == 0 ? std::string("null") : std::to_string(v);
  }
  void Num(std::string_view key, std::optional<double> v) {
    Key(key);
    if (v) {
      AppendDouble(out_, *v);
    } else {
      out_ += "null";
    }
  }
  void Release(std::string_view key, const CdrRelease& r) {
    Key(key);
    out_ += "{\"sip_code\":" + std::to_string(r.sip_code) +
            ",\"q850_cause\":" + std::to_string(r.q850_cause) + "}";
  }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

std::string CdrRecord::ToJson() const {
  std::string out;
  out.reserve(512);
  {
    JsonObject o(out);
    o.Str("call_id", call_id);
    o.Str("leg", leg == CdrLeg::kTel ? "tel" : "ip");
    o.Str("direction", direction == CdrDirection::kTelToIp ? "tel-to-ip" : "ip-to-tel");
    o.Str("caller", caller);
    o.Str("callee", callee);
    o.Int("line", line);
    o.TimeOrNull("setup_ms", setup_ms);
    o.TimeOrNull("alert_ms", alert_ms);
    o.TimeOrNull("connect_ms", connect_ms);
    o.TimeOrNull("release_ms", release_ms);
    o.Int("duration_ms", connect_ms != 0 && release_ms >= connect_ms ? release_ms - connect_ms : 0);
    o.Str("released_by", released_by);
    o.Release("tel_release", tel_release);
    o.Release("ip_release", ip_release);
    o.Str("codec", codec);
    o.Int("ptime_ms", ptime_ms);
    o.Uint("rtp_packets_sent", rtp_packets_sent);
    o.Uint("rtp_packets_received", rtp_packets_received);
    o.Uint("rtp_packets_lost", rtp_packets_lost);
    o.Num("loss_percent", std::round(LossPercent() * 100) / 100);
    o.Num("jitter_ms", jitter_ms);
    o.Num("one_way_delay_ms", one_way_delay_ms);
    o.Num("r_factor", r_factor);
    o.Num("mos", mos);
  }
  return out;
}

// ---------------------------------------------------------------- writer

CdrWriter::CdrWriter(CdrWriterConfig config) : config_(std::move(config)) {}

Result<std::unique_ptr<CdrWriter>> CdrWriter::Open(CdrWriterConfig config) {
  if (config.path.empty()) return Error{"cdr writer: empty path"};
  if (config.max_files < 1) return Error{"cdr writer: max_files must be >= 1"};
  if (config.max_file_bytes == 0) return Error{"cdr writer: max_file_bytes must be > 0"};
  if (config.max_queued == 0) return Error{"cdr writer: max_queued must be > 0"};
  std::unique_ptr<CdrWriter> writer(new CdrWriter(std::move(config)));
  if (Status s = writer->OpenFile(); !s) return Error{s.error()};
  if (writer->config_.syslog) {
    // openlog keeps the pointer: config_ lives as long as the writer.
    openlog(writer->config_.syslog_ident.c_str(), LOG_PID | LOG_NDELAY, LOG_LOCAL0);
  }
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

Status CdrWriter::OpenFile() {
  fd_ = ::open(config_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return Error{"cdr writer: open " + config_.path + ": " + std::strerror(errno)};
  struct stat st {};
  file_size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return Status::Ok();
}

CdrWriter::~CdrWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    if (config_.fsync != FsyncPolicy::kNever) ::fsync(fd_);
    ::close(fd_);
  }
  if (config_.syslog) closelog();
}

bool CdrWriter::Submit(const CdrRecord& record) {
  std::string line = record.ToJson();
  line += '\n';
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= config_.max_queued) {
      ++stats_.dropped;
      return false;
    }
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
  return true;
}

void CdrWriter::Flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

CdrWriterStats CdrWriter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CdrWriter::Run() {
  std::vector<std::string> batch;
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();
    WriteBatch(batch);
    batch.clear();
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

bool CdrWriter::WriteAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
    file_size_ += static_cast<uint64_t>(n);
  }
  return true;
}

void CdrWriter::Rotate() {
  if (config_.fsync != FsyncPolicy::kNever) ::fsync(fd_);
  ::close(fd_);
  fd_ = -1;
  auto name = [this](int i) { return i == 0 ? config_.path : config_.path + "." + std::to_string(i); };
  if (config_.max_files == 1) {
    ::unlink(config_.path.c_str());
  } else {
    // The oldest (.max_files-1) is overwritten by rename.
    for (int i = config_.max_files - 2; i >= 0; --i) ::rename(name(i).c_str(), name(i + 1).c_str());
  }
  if (Status s = OpenFile(); !s) {
    std::lock_guard lock(mu_);
    ++stats_.write_errors;
    return;
  }
  std::lock_guard lock(mu_);
  ++stats_.rotations;
}

void CdrWriter::WriteBatch(std::vector<std::string>& lines) {
  // Lines are gathered into one buffer per file so a batch costs one write(2) unless it
  // crosses a rotation; a record is never split across files.
  if (fd_ < 0) (void)OpenFile();  // a failed rotation left no file: try again
  std::string buffer;
  uint64_t written = 0, errors = 0;
  auto flush_buffer = [&](uint64_t count) {
    if (buffer.empty()) return;
    if (fd_ >= 0 && WriteAll(buffer)) {
      written += count;
    } else {
      errors += count;
    }
    buffer.clear();
  };
  uint64_t pending = 0;
  for (const std::string& line : lines) {
    if (file_size_ + buffer.size() > 0 && file_size_ + buffer.size() + line.size() > config_.max_file_bytes) {
      flush_buffer(pending);
      pending = 0;
      if (fd_ >= 0) Rotate();
    }
    buffer += line;
    ++pending;
    if (config_.syslog) {
      ::syslog(LOG_INFO, "%.*s", static_cast<int>(line.size() - 1), line.data());
    }
  }
  flush_buffer(pending);
  if (config_.fsync == FsyncPolicy::kEveryBatch && fd_ >= 0) ::fsync(fd_);
  std::lock_guard lock(mu_);
  stats_.written += written;
  stats_.write_errors += errors;
}

}  // namespace linegate::callcontrol
