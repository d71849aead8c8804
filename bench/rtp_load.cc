// rtp_load: N RTP streams of 20 ms G.711 on loopback, sent at real-time pace, with
// receive accounting (packets, loss by sequence number, RFC 3550 jitter) on the same
// sockets, and a JSON summary at the end. Used by bench/media_load.py to load a
// gateway's media processes or an RTP relay (rtpengine) and to check what comes back.
//
// Stream i owns one UDP socket bound on 127.0.0.1 (its local port); every ptime it
// sends one packet from that socket to its destination port, and it counts what
// arrives on it. One thread: one timerfd tick per ptime (or per ptime / --groups, each
// tick serving one group of streams), one sendmmsg per stream per tick (a late tick's
// packets for a stream go out in the same call), epoll over every socket and recvmmsg
// to drain a socket, with kernel receive timestamps (SO_TIMESTAMPNS) for the jitter.
// Every buffer is allocated before the first packet.
//
// Only loopback destinations are accepted: this is a load generator.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numbers>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/rtp_load_stats.h"

namespace {

using linegate::bench::kRtpHeaderBytes;
using linegate::bench::PacketKind;
using linegate::bench::ParseRtpHeader;
using linegate::bench::ReceiveStats;
using linegate::bench::RtpHeader;
using linegate::bench::WriteRtpHeader;

constexpr uint32_t kClockRate = 8000;
constexpr double kMaxDurationS = 3600;
constexpr size_t kMaxStreams = 16384;
constexpr uint32_t kMaxCatchUp = 5;  // packets per stream per tick at most; older frames are skipped
constexpr size_t kRxBatch = 32;
constexpr size_t kRxBufferBytes = 2048;
constexpr size_t kEvents = 256;
constexpr uint64_t kTimerTag = ~uint64_t{0};
constexpr uint64_t kSignalTag = ~uint64_t{0} - 1;

const char* const kUsage =
    "usage: rtp_load --duration S (--dest PORT[,PORT...] | --streams-file FILE) [options]\n"
    "\n"
    "  --duration S          seconds of sending (at most 3600); then --drain-ms of receiving\n"
    "  --dest P,P,...        destination ports, one stream each\n"
    "  --streams-file FILE   one stream per line: 'DEST' or 'LOCAL DEST' ('#' comments)\n"
    "  --local-base P        local port of stream i is P + 2i (unless the file names one);\n"
    "                        default: ephemeral ports\n"
    "  --address A           loopback address to bind and send to (127.0.0.0/8; 127.0.0.1)\n"
    "  --pairs               streams 2k and 2k+1 are the two legs of one relayed call: each\n"
    "                        expects the other's SSRC and counts anything else as foreign\n"
    "  --codec pcmu|pcma     payload type 0 or 8 (pcmu)\n"
    "  --pt N                payload type override\n"
    "  --ptime MS            packet interval, 10..60 ms (20); payload = 8 bytes per ms\n"
    "  --payload KIND        silence | tone (1000 Hz, -10 dBm0) | noise (silence)\n"
    "  --groups K            spread the streams over K ticks per ptime (1: all at once)\n"
    "  --drain-ms MS         receive this long after the last send (200)\n"
    "  --rcvbuf BYTES        SO_RCVBUF of every socket (system default)\n"
    "  --seed N              seed of SSRCs, first sequence numbers and timestamps (1)\n"
    "  --per-stream FILE     write per-stream statistics as CSV\n"
    "\n"
    "SIGUSR1 prints a one-line JSON snapshot of the counters; SIGINT or SIGTERM stops early.\n"
    "The summary is one line of JSON on stdout.\n";

struct Options {
  double duration_s = 0;
  std::string address = "127.0.0.1";
  std::vector<std::pair<uint16_t, uint16_t>> streams;  // local (0: any), destination
  uint16_t local_base = 0;
  uint32_t ptime_ms = 20;
  int payload_type = -1;
  bool alaw = false;
  std::string payload = "silence";
  bool pairs = false;
  uint32_t groups = 1;
  uint32_t drain_ms = 200;
  int rcvbuf = 0;
  uint64_t seed = 1;
  std::string per_stream_path;
};

struct Stream {
  int fd = -1;
  uint16_t local_port = 0;
  sockaddr_in dest{};
  uint32_t ssrc = 0;
  uint16_t next_seq = 0;
  uint32_t next_ts = 0;
  uint8_t* packets = nullptr;  // kMaxCatchUp packets, payload written once
  uint64_t sent = 0;
  uint64_t send_errors = 0;
  uint64_t foreign = 0;
  uint64_t rtcp = 0;
  uint64_t invalid = 0;
  ReceiveStats rx{kClockRate};
};

std::optional<uint64_t> ParseNumber(const std::string& text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint16_t> ParsePort(const std::string& text, bool allow_zero) {
  auto value = ParseNumber(text);
  if (!value || *value > 65535 || (*value == 0 && !allow_zero)) return std::nullopt;
  return static_cast<uint16_t>(*value);
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t NowNs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double CpuSeconds(double* user = nullptr, double* system = nullptr) {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double u =
      static_cast<double>(usage.ru_utime.tv_sec) + static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  const double s =
      static_cast<double>(usage.ru_stime.tv_sec) + static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
  if (user) *user = u;
  if (system) *system = s;
  return u + s;
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "rtp_load: %s\n", why.c_str());
  return 2;
}

// Returns an error text, empty on success.
std::string ReadStreamsFile(const std::string& path, Options& options) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) fields.push_back(word);
    if (fields.empty()) continue;
    if (fields.size() > 2) return path + ":" + std::to_string(number) + ": expected 'DEST' or 'LOCAL DEST'";
    auto dest = ParsePort(fields.back(), false);
    auto local = fields.size() == 2 ? ParsePort(fields[0], true) : std::optional<uint16_t>(0);
    if (!dest || !local) return path + ":" + std::to_string(number) + ": bad port";
    options.streams.emplace_back(*local, *dest);
  }
  return {};
}

std::string ParseOptions(int argc, char** argv, Options& options) {
  bool have_duration = false;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--help" || option == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (option == "--pairs") {
      options.pairs = true;
      continue;
    }
    if (i + 1 >= argc) return option + " needs a value";
    const std::string value = argv[++i];
    if (option == "--duration") {
      char* end = nullptr;
      options.duration_s = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(options.duration_s > 0) || options.duration_s > kMaxDurationS) {
        return "--duration is seconds, more than 0 and at most 3600";
      }
      have_duration = true;
    } else if (option == "--dest") {
      size_t start = 0;
      while (start <= value.size()) {
        const size_t comma = std::min(value.find(',', start), value.size());
        auto port = ParsePort(value.substr(start, comma - start), false);
        if (!port) return "--dest: bad port in '" + value + "'";
        options.streams.emplace_back(0, *port);
        start = comma + 1;
      }
    } else if (option == "--streams-file") {
      if (std::string error = ReadStreamsFile(value, options); !error.empty()) return error;
    } else if (option == "--local-base") {
      auto port = ParsePort(value, false);
      if (!port) return "--local-base: bad port";
      options.local_base = *port;
    } else if (option == "--address") {
      options.address = value;
    } else if (option == "--codec") {
      if (value != "pcmu" && value != "pcma") return "--codec is pcmu or pcma";
      options.alaw = value == "pcma";
    } else if (option == "--payload") {
      if (value != "silence" && value != "tone" && value != "noise")
        return "--payload is silence, tone or noise";
      options.payload = value;
    } else if (option == "--per-stream") {
      options.per_stream_path = value;
    } else {
      auto number = ParseNumber(value);
      if (!number) return option + " takes a number";
      if (option == "--pt") {
        if (*number > 127) return "--pt is 0..127";
        options.payload_type = static_cast<int>(*number);
      } else if (option == "--ptime") {
        if (*number < 10 || *number > 60) return "--ptime is 10..60 ms";
        options.ptime_ms = static_cast<uint32_t>(*number);
      } else if (option == "--groups") {
        if (*number < 1 || *number > 1000) return "--groups is 1..1000";
        options.groups = static_cast<uint32_t>(*number);
      } else if (option == "--drain-ms") {
        if (*number > 10000) return "--drain-ms is at most 10000";
        options.drain_ms = static_cast<uint32_t>(*number);
      } else if (option == "--rcvbuf") {
        if (*number > (64u << 20)) return "--rcvbuf is at most 64 MiB";
        options.rcvbuf = static_cast<int>(*number);
      } else if (option == "--seed") {
        options.seed = *number;
      } else {
        return "unknown option '" + option + "'";
      }
    }
  }
  if (!have_duration) return "--duration is required";
  if (options.streams.empty()) return "no streams: give --dest or --streams-file";
  if (options.streams.size() > kMaxStreams) return "at most 16384 streams";
  if (options.pairs && options.streams.size() % 2 != 0) return "--pairs needs an even number of streams";
  if (options.local_base != 0) {
    if (options.local_base + 2 * (options.streams.size() - 1) > 65535)
      return "--local-base: ports run past 65535";
    for (size_t i = 0; i < options.streams.size(); ++i) {
      if (options.streams[i].first == 0)
        options.streams[i].first = static_cast<uint16_t>(options.local_base + 2 * i);
    }
  }
  return {};
}

// Fills one payload of `bytes` octets.
void MakePayload(const Options& options, uint64_t& random, uint8_t* out, size_t bytes) {
  const auto encode = [&](int16_t sample) {
    return options.alaw ? linegate::bench::AlawEncode(sample) : linegate::bench::MulawEncode(sample);
  };
  for (size_t n = 0; n < bytes; ++n) {
    int16_t sample = 0;
    if (options.payload == "tone") {
      // 1000 Hz: a whole number of periods in any multiple of 8 samples, so every
      // packet carries the same bytes. Peak 7000 of 32767 is about -10 dBm0 in G.711.
      sample = static_cast<int16_t>(
          std::lround(7000.0 * std::sin(2 * std::numbers::pi * 1000.0 * n / kClockRate)));
    } else if (options.payload == "noise") {
      sample = static_cast<int16_t>(static_cast<int64_t>(SplitMix(random) % 4001) - 2000);
    }
    out[n] = encode(sample);
  }
}

class Load {
 public:
  explicit Load(Options options) : options_(std::move(options)) {}

  ~Load() {
    for (Stream& stream : streams_) {
      if (stream.fd >= 0) ::close(stream.fd);
    }
    for (int fd : {epoll_fd_, timer_fd_, signal_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  std::string Setup() {
    in_addr address{};
    if (::inet_pton(AF_INET, options_.address.c_str(), &address) != 1)
      return "--address: not an IPv4 address";
    if ((ntohl(address.s_addr) >> 24) != 127) return "--address must be on loopback (127.0.0.0/8)";

    rlimit files{};
    const rlim_t needed = options_.streams.size() + 64;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < needed) {
      files.rlim_cur = std::min(files.rlim_max, needed);
      ::setrlimit(RLIMIT_NOFILE, &files);
    }

    payload_bytes_ = options_.ptime_ms * kClockRate / 1000;
    packet_bytes_ = kRtpHeaderBytes + payload_bytes_;
    samples_per_packet_ = payload_bytes_;
    const uint8_t pt =
        static_cast<uint8_t>(options_.payload_type >= 0 ? options_.payload_type : (options_.alaw ? 8 : 0));

    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return std::string("epoll_create1: ") + std::strerror(errno);

    const size_t n = options_.streams.size();
    streams_.resize(n);
    packet_memory_.assign(n * kMaxCatchUp * packet_bytes_, 0);
    uint64_t random = options_.seed * 0x2545f4914f6cdd1dull + 7;
    std::vector<uint8_t> shared_payload(payload_bytes_);
    MakePayload(options_, random, shared_payload.data(), shared_payload.size());
    for (size_t i = 0; i < n; ++i) {
      Stream& stream = streams_[i];
      stream.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (stream.fd < 0) return std::string("socket: ") + std::strerror(errno);
      const int on = 1;
      ::setsockopt(stream.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
      if (options_.rcvbuf > 0) {
        ::setsockopt(stream.fd, SOL_SOCKET, SO_RCVBUF, &options_.rcvbuf, sizeof(options_.rcvbuf));
      }
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr = address;
      local.sin_port = htons(options_.streams[i].first);
      if (::bind(stream.fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        return "bind " + options_.address + ":" + std::to_string(options_.streams[i].first) + ": " +
               std::strerror(errno);
      }
      socklen_t length = sizeof(local);
      ::getsockname(stream.fd, reinterpret_cast<sockaddr*>(&local), &length);
      stream.local_port = ntohs(local.sin_port);
      stream.dest.sin_family = AF_INET;
      stream.dest.sin_addr = address;
      stream.dest.sin_port = htons(options_.streams[i].second);
      // Distinct SSRCs (a collision would make two streams one source to a relay).
      do {
        stream.ssrc = static_cast<uint32_t>(SplitMix(random));
      } while (stream.ssrc == 0 ||
               std::any_of(streams_.begin(), streams_.begin() + static_cast<ptrdiff_t>(i),
                           [&](const Stream& other) { return other.ssrc == stream.ssrc; }));
      stream.next_seq = static_cast<uint16_t>(SplitMix(random));
      stream.next_ts = static_cast<uint32_t>(SplitMix(random));
      stream.packets = packet_memory_.data() + i * kMaxCatchUp * packet_bytes_;
      for (uint32_t k = 0; k < kMaxCatchUp; ++k) {
        uint8_t* packet = stream.packets + k * packet_bytes_;
        WriteRtpHeader(packet, RtpHeader{pt, false, 0, 0, stream.ssrc});
        if (options_.payload == "noise") {
          MakePayload(options_, random, packet + kRtpHeaderBytes, payload_bytes_);
        } else {
          std::memcpy(packet + kRtpHeaderBytes, shared_payload.data(), payload_bytes_);
        }
      }
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stream.fd, &event) != 0) {
        return std::string("epoll_ctl: ") + std::strerror(errno);
      }
    }
    // The first packet of each stream carries the marker bit (start of a talkspurt).
    first_packet_.assign(n, true);

    // Receive side: one batch of buffers, message headers and control space.
    rx_buffers_.assign(kRxBatch * kRxBufferBytes, 0);
    rx_control_.assign(kRxBatch * kControlBytes, 0);
    rx_messages_.resize(kRxBatch);
    rx_iovecs_.resize(kRxBatch);
    for (size_t k = 0; k < kRxBatch; ++k) {
      rx_iovecs_[k] = iovec{rx_buffers_.data() + k * kRxBufferBytes, kRxBufferBytes};
      rx_messages_[k] = mmsghdr{};
      rx_messages_[k].msg_hdr.msg_iov = &rx_iovecs_[k];
      rx_messages_[k].msg_hdr.msg_iovlen = 1;
    }
    tx_messages_.resize(kMaxCatchUp);
    tx_iovecs_.resize(kMaxCatchUp);

    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd_ < 0) return std::string("timerfd_create: ") + std::strerror(errno);
    epoll_event timer_event{};
    timer_event.events = EPOLLIN;
    timer_event.data.u64 = kTimerTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &timer_event);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
    signal_fd_ = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) return std::string("signalfd: ") + std::strerror(errno);
    epoll_event signal_event{};
    signal_event.events = EPOLLIN;
    signal_event.data.u64 = kSignalTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &signal_event);
    return {};
  }

  void Run() {
    const int64_t period_ns = int64_t{options_.ptime_ms} * 1000000 / options_.groups;
    start_ns_ = NowNs(CLOCK_MONOTONIC);
    cpu_at_start_ = CpuSeconds();
    int64_t send_end_ns = start_ns_ + static_cast<int64_t>(options_.duration_s * 1e9);
    int64_t end_ns = send_end_ns + int64_t{options_.drain_ms} * 1000000;
    // The first tick now, then every period, on absolute times.
    itimerspec spec{};
    spec.it_value.tv_sec = start_ns_ / 1000000000;
    spec.it_value.tv_nsec = start_ns_ % 1000000000;
    spec.it_interval.tv_sec = period_ns / 1000000000;
    spec.it_interval.tv_nsec = period_ns % 1000000000;
    ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
    bool sending = true;
    std::vector<uint32_t> due(options_.groups, 0);
    epoll_event events[kEvents];
    for (;;) {
      int64_t now = NowNs(CLOCK_MONOTONIC);
      if (sending && now >= send_end_ns) {
        sending = false;
        send_end_ns = now;
        itimerspec off{};
        ::timerfd_settime(timer_fd_, 0, &off, nullptr);
      }
      if (now >= end_ns) break;
      const int timeout_ms = static_cast<int>(std::min<int64_t>((end_ns - now) / 1000000 + 1, 100));
      const int ready = ::epoll_wait(epoll_fd_, events, kEvents, timeout_ms);
      if (ready < 0 && errno != EINTR) break;
      for (int e = 0; e < ready; ++e) {
        const uint64_t tag = events[e].data.u64;
        if (tag == kTimerTag) {
          uint64_t expirations = 0;
          if (::read(timer_fd_, &expirations, sizeof(expirations)) != sizeof(expirations) || !sending)
            continue;
          const int64_t tick_now = NowNs(CLOCK_MONOTONIC);
          // Lateness of the newest expiration behind its scheduled time.
          const int64_t scheduled = start_ns_ + static_cast<int64_t>(subticks_ + expirations - 1) * period_ns;
          const double late_ms = static_cast<double>(std::max<int64_t>(0, tick_now - scheduled)) / 1e6;
          tick_late_ms_max_ = std::max(tick_late_ms_max_, late_ms);
          tick_late_ms_sum_ += late_ms;
          ++timer_wakeups_;
          if (expirations > 1) ++late_wakeups_;
          for (uint64_t k = 0; k < expirations; ++k) ++due[(subticks_ + k) % options_.groups];
          subticks_ += expirations;
          for (uint32_t g = 0; g < options_.groups; ++g) {
            if (due[g] == 0) continue;
            for (size_t i = g; i < streams_.size(); i += options_.groups) Send(i, due[g]);
            ticks_ += due[g];
            due[g] = 0;
          }
        } else if (tag == kSignalTag) {
          signalfd_siginfo info{};
          while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
            if (info.ssi_signo == SIGUSR1) {
              PrintSnapshot();
            } else if (sending) {
              // Stop: the current time becomes the end of sending.
              send_end_ns = NowNs(CLOCK_MONOTONIC);
              end_ns = send_end_ns + int64_t{options_.drain_ms} * 1000000;
            } else {
              end_ns = 0;
            }
          }
        } else {
          Drain(static_cast<size_t>(tag));
        }
      }
    }
    send_seconds_ = static_cast<double>(send_end_ns - start_ns_) / 1e9;
    wall_seconds_ = static_cast<double>(NowNs(CLOCK_MONOTONIC) - start_ns_) / 1e9;
  }

  void PrintSummary() const {
    Totals t = Sum();
    double user = 0;
    double system = 0;
    const double cpu = CpuSeconds(&user, &system);
    std::printf(
        "{\"event\": \"summary\", \"streams\": %zu, \"pairs\": %s, \"ptime_ms\": %u, \"packet_bytes\": %zu, "
        "\"groups\": %u, \"duration_s\": %.3f, \"wall_s\": %.3f, "
        "\"sent\": %llu, \"send_errors\": %llu, \"received\": %llu, \"expected\": %llu, \"lost\": %lld, "
        "\"loss_percent\": %.4f, \"reordered\": %llu, \"duplicates\": %llu, \"stray\": %llu, "
        "\"ssrc_changes\": %llu, \"foreign\": %llu, \"rtcp\": %llu, \"invalid\": %llu, "
        "\"streams_receiving\": %zu, \"streams_with_loss\": %zu, "
        "\"jitter_ms_max\": %.3f, \"jitter_ms_mean\": %.3f, \"jitter_ms_peak\": %.3f, "
        "\"ticks\": %llu, \"timer_wakeups\": %llu, \"late_wakeups\": %llu, \"tick_late_ms_max\": %.3f, "
        "\"tick_late_ms_mean\": %.3f, \"frames_skipped\": %llu, \"tx_calls\": %llu, \"rx_calls\": %llu, "
        "\"recv_errors\": %llu, \"cpu_user_s\": %.3f, \"cpu_system_s\": %.3f, \"cpu_s\": %.3f, "
        "\"cpu_run_s\": %.3f}\n",
        streams_.size(), options_.pairs ? "true" : "false", options_.ptime_ms, packet_bytes_, options_.groups,
        send_seconds_, wall_seconds_, U(t.sent), U(t.send_errors), U(t.received), U(t.expected),
        static_cast<long long>(t.lost),
        t.expected ? 100.0 * static_cast<double>(t.lost) / static_cast<double>(t.expected) : 0.0,
        U(t.reordered), U(t.duplicates), U(t.stray), U(t.ssrc_changes), U(t.foreign), U(t.rtcp), U(t.invalid),
        t.receiving, t.with_loss, t.jitter_max,
        t.receiving ? t.jitter_sum / static_cast<double>(t.receiving) : 0.0, t.jitter_peak, U(ticks_),
        U(timer_wakeups_), U(late_wakeups_), tick_late_ms_max_,
        timer_wakeups_ ? tick_late_ms_sum_ / static_cast<double>(timer_wakeups_) : 0.0, U(frames_skipped_),
        U(tx_calls_), U(rx_calls_), U(recv_errors_), user, system, cpu, cpu - cpu_at_start_);
    std::fflush(stdout);
  }

  bool WritePerStream(const std::string& path) const {
    FILE* out = std::fopen(path.c_str(), "w");
    if (!out) return false;
    std::fprintf(out,
                 "stream,local_port,dest_port,ssrc,sent,received,expected,lost,reordered,jitter_ms,"
                 "peak_jitter_ms,foreign,rtcp,ssrc_changes\n");
    for (size_t i = 0; i < streams_.size(); ++i) {
      const Stream& s = streams_[i];
      std::fprintf(out, "%zu,%u,%u,%u,%llu,%llu,%llu,%lld,%llu,%.3f,%.3f,%llu,%llu,%llu\n", i, s.local_port,
                   ntohs(s.dest.sin_port), s.ssrc, U(s.sent), U(s.rx.received()), U(s.rx.expected()),
                   static_cast<long long>(s.rx.lost()), U(s.rx.reordered()), s.rx.jitter_ms(),
                   s.rx.peak_jitter_ms(), U(s.foreign), U(s.rtcp), U(s.rx.ssrc_changes()));
    }
    return std::fclose(out) == 0;
  }

 private:
  static constexpr size_t kControlBytes = CMSG_SPACE(sizeof(timespec)) + 64;

  struct Totals {
    uint64_t sent = 0, send_errors = 0, received = 0, expected = 0, reordered = 0, duplicates = 0, stray = 0;
    uint64_t ssrc_changes = 0, foreign = 0, rtcp = 0, invalid = 0;
    int64_t lost = 0;
    size_t receiving = 0, with_loss = 0;
    double jitter_max = 0, jitter_sum = 0, jitter_peak = 0;
  };

  static unsigned long long U(uint64_t value) { return static_cast<unsigned long long>(value); }

  Totals Sum() const {
    Totals t;
    for (const Stream& s : streams_) {
      t.sent += s.sent;
      t.send_errors += s.send_errors;
      t.received += s.rx.received();
      t.expected += s.rx.expected();
      t.lost += s.rx.lost();
      t.reordered += s.rx.reordered();
      t.duplicates += s.rx.duplicates();
      t.stray += s.rx.stray();
      t.ssrc_changes += s.rx.ssrc_changes();
      t.foreign += s.foreign;
      t.rtcp += s.rtcp;
      t.invalid += s.invalid;
      if (s.rx.active()) {
        ++t.receiving;
        t.jitter_max = std::max(t.jitter_max, s.rx.jitter_ms());
        t.jitter_sum += s.rx.jitter_ms();
        t.jitter_peak = std::max(t.jitter_peak, s.rx.peak_jitter_ms());
      }
      if (s.rx.lost() > 0) ++t.with_loss;
    }
    return t;
  }

  void PrintSnapshot() const {
    Totals t = Sum();
    std::printf(
        "{\"event\": \"snapshot\", \"elapsed_s\": %.6f, \"sent\": %llu, \"received\": %llu, \"lost\": %lld, "
        "\"ticks\": %llu, \"cpu_s\": %.3f}\n",
        static_cast<double>(NowNs(CLOCK_MONOTONIC) - start_ns_) / 1e9, U(t.sent), U(t.received),
        static_cast<long long>(t.lost), U(ticks_), CpuSeconds());
    std::fflush(stdout);
  }

  // Sends `frames` packets of stream i (the frames of a late tick in one call; beyond
  // kMaxCatchUp the oldest frames are skipped: their timestamps pass, their sequence
  // numbers are not used, as a sender that stops and resumes would do).
  void Send(size_t i, uint32_t frames) {
    Stream& stream = streams_[i];
    if (frames > kMaxCatchUp) {
      const uint32_t skipped = frames - kMaxCatchUp;
      stream.next_ts += skipped * samples_per_packet_;
      frames_skipped_ += skipped;
      frames = kMaxCatchUp;
    }
    for (uint32_t k = 0; k < frames; ++k) {
      uint8_t* packet = stream.packets + k * packet_bytes_;
      packet[1] = static_cast<uint8_t>((packet[1] & 0x7f) | (first_packet_[i] ? 0x80 : 0));
      first_packet_[i] = false;
      packet[2] = static_cast<uint8_t>(stream.next_seq >> 8);
      packet[3] = static_cast<uint8_t>(stream.next_seq);
      packet[4] = static_cast<uint8_t>(stream.next_ts >> 24);
      packet[5] = static_cast<uint8_t>(stream.next_ts >> 16);
      packet[6] = static_cast<uint8_t>(stream.next_ts >> 8);
      packet[7] = static_cast<uint8_t>(stream.next_ts);
      ++stream.next_seq;
      stream.next_ts += samples_per_packet_;
      tx_iovecs_[k] = iovec{packet, packet_bytes_};
      mmsghdr& message = tx_messages_[k];
      message = mmsghdr{};
      message.msg_hdr.msg_name = &stream.dest;
      message.msg_hdr.msg_namelen = sizeof(stream.dest);
      message.msg_hdr.msg_iov = &tx_iovecs_[k];
      message.msg_hdr.msg_iovlen = 1;
    }
    uint32_t done = 0;
    while (done < frames) {
      ++tx_calls_;
      const int sent = ::sendmmsg(stream.fd, tx_messages_.data() + done, frames - done, 0);
      if (sent <= 0) {
        // Nothing more can go now (full buffer, unreachable port): counted, not retried.
        stream.send_errors += frames - done;
        break;
      }
      done += static_cast<uint32_t>(sent);
    }
    stream.sent += done;
  }

  void Drain(size_t i) {
    Stream& stream = streams_[i];
    const uint32_t partner_ssrc = options_.pairs ? streams_[i ^ 1].ssrc : 0;
    for (;;) {
      for (size_t k = 0; k < kRxBatch; ++k) {
        msghdr& header = rx_messages_[k].msg_hdr;
        header.msg_control = rx_control_.data() + k * kControlBytes;
        header.msg_controllen = kControlBytes;
        header.msg_flags = 0;
      }
      ++rx_calls_;
      const int count = ::recvmmsg(stream.fd, rx_messages_.data(), kRxBatch, MSG_DONTWAIT, nullptr);
      if (count < 0) {
        // EAGAIN: drained. ECONNREFUSED: an ICMP error from an earlier send; skip it.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
          ++recv_errors_;
        if (errno == ECONNREFUSED || errno == EINTR) continue;
        return;
      }
      int64_t fallback_ns = -1;
      for (int k = 0; k < count; ++k) {
        const mmsghdr& message = rx_messages_[static_cast<size_t>(k)];
        int64_t arrival_ns = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&message.msg_hdr); c;
             c = CMSG_NXTHDR(const_cast<msghdr*>(&message.msg_hdr), c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            arrival_ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
          }
        }
        if (arrival_ns < 0) {
          if (fallback_ns < 0) fallback_ns = NowNs(CLOCK_REALTIME);
          arrival_ns = fallback_ns;
        }
        RtpHeader header;
        switch (ParseRtpHeader(rx_buffers_.data() + static_cast<size_t>(k) * kRxBufferBytes, message.msg_len,
                               header)) {
          case PacketKind::kRtcp:
            ++stream.rtcp;
            break;
          case PacketKind::kInvalid:
            ++stream.invalid;
            break;
          case PacketKind::kRtp:
            if (options_.pairs && header.ssrc != partner_ssrc) {
              ++stream.foreign;
            } else {
              stream.rx.OnPacket(header, arrival_ns);
            }
            break;
        }
      }
      if (static_cast<size_t>(count) < kRxBatch) return;
    }
  }

  Options options_;
  std::vector<Stream> streams_;
  std::vector<uint8_t> packet_memory_;
  std::vector<bool> first_packet_;
  size_t payload_bytes_ = 160;
  size_t packet_bytes_ = 172;
  uint32_t samples_per_packet_ = 160;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int signal_fd_ = -1;

  std::vector<uint8_t> rx_buffers_;
  std::vector<uint8_t> rx_control_;
  std::vector<mmsghdr> rx_messages_;
  std::vector<iovec> rx_iovecs_;
  std::vector<mmsghdr> tx_messages_;
  std::vector<iovec> tx_iovecs_;

  int64_t start_ns_ = 0;
  double cpu_at_start_ = 0;
  double send_seconds_ = 0;
  double wall_seconds_ = 0;
  uint64_t subticks_ = 0;
  uint64_t ticks_ = 0;
  uint64_t timer_wakeups_ = 0;
  uint64_t late_wakeups_ = 0;
  double tick_late_ms_max_ = 0;
  double tick_late_ms_sum_ = 0;
  uint64_t frames_skipped_ = 0;
  uint64_t tx_calls_ = 0;
  uint64_t rx_calls_ = 0;
  uint64_t recv_errors_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (std::string error = ParseOptions(argc, argv, options); !error.empty()) {
    std::fprintf(stderr, "rtp_load: %s\n\n%s", error.c_str(), kUsage);
    return 2;
  }
  Load load(options);
  if (std::string error = load.Setup(); !error.empty()) return Fail(error);
  load.Run();
  load.PrintSummary();
  if (!options.per_stream_path.empty() && !load.WritePerStream(options.per_stream_path)) {
    return Fail("cannot write " + options.per_stream_path);
  }
  return 0;
}
