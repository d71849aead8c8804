#include "control/ctl/status_format.h"

#include <fmt/format.h>

#include "control/supervisor.h"

namespace linegate::control::ctl {
namespace {

std::string Detail(const process::v1::ProcessStatus& p) {
  switch (p.detail_case()) {
    case process::v1::ProcessStatus::kTdm: {
      int fxs = 0;
      int fxo = 0;
      for (const auto& line : p.tdm().lines()) (line.type() == process::v1::LINE_TYPE_FXS ? fxs : fxo)++;
      std::string driver = p.tdm().driver();
      if (driver.rfind("TDM_DRIVER_", 0) == 0) driver = driver.substr(11);
      for (char& c : driver) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return fmt::format("driver={} lines={} fxs={} fxo={}", driver, p.tdm().lines_size(), fxs, fxo);
    }
    case process::v1::ProcessStatus::kMedia:
      return fmt::format("shards={}", p.media().shard_count());
    case process::v1::ProcessStatus::kSignaling:
      return fmt::format("sip={}:{}", p.signaling().listen_address(), p.signaling().sip_port());
    default:
      return p.last_exit().empty() ? "" : "last-exit=\"" + p.last_exit() + "\"";
  }
}

}  // namespace

std::string FormatDuration(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  const int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string FormatStatus(const process::v1::StatusReply& status) {
  std::string out =
      fmt::format("gateway {}: {} (up {})\n", status.gateway(), status.degraded() ? "DEGRADED" : "healthy",
                  FormatDuration(status.uptime_ms()));
  out += fmt::format("{:<12} {:>5} {:>8} {:<13} {:>8} {:>8} {:>9}  {}\n", "PROCESS", "SHARD", "PID", "STATE",
                     "UPTIME", "RESTARTS", "HEARTBEAT", "DETAIL");
  for (const auto& p : status.processes()) {
    const bool sharded = p.kind() == process::v1::PROCESS_KIND_MEDIA;
    std::string detail = Detail(p);
    if (!p.supervised() && p.kind() != process::v1::PROCESS_KIND_CONTROL) detail = "attached " + detail;
    out += fmt::format("{:<12} {:>5} {:>8} {:<13} {:>8} {:>8} {:>9}  {}\n", p.name(),
                       sharded ? std::to_string(p.shard()) : "-", p.pid() ? std::to_string(p.pid()) : "-",
                       StateName(p.state()), FormatDuration(p.uptime_ms()), p.restart_count(),
                       FormatDuration(p.last_heartbeat_age_ms()), detail);
  }
  return out;
}

std::string FormatRegistrations(const signaling::v1::RegistrationListReply& list) {
  auto lower_suffix = [](std::string name, std::string_view prefix) {
    if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  };
  std::string out = fmt::format("{:<16} {:<8} {:<28} {:<13} {:>8} {:<24} {}\n", "ID", "KIND", "AOR", "STATE",
                                "EXPIRES", "LAST", "REGISTRAR");
  for (const auto& r : list.registrations()) {
    const std::string last = r.last_status() == 0 && r.last_reason().empty()
                                 ? "-"
                                 : fmt::format("{} {}", r.last_status(), r.last_reason());
    const bool registered = r.state() == signaling::v1::REGISTRATION_STATE_REGISTERED;
    out += fmt::format("{:<16} {:<8} {:<28} {:<13} {:>8} {:<24} {}\n", r.id(),
                       lower_suffix(signaling::v1::RegistrationKind_Name(r.kind()), "REGISTRATION_KIND_"),
                       r.aor(),
                       lower_suffix(signaling::v1::RegistrationState_Name(r.state()), "REGISTRATION_STATE_"),
                       registered ? FormatDuration(r.expires_in_s() * 1000) : "-", last,
                       r.registrar().empty() ? "-" : r.registrar());
  }
  return out;
}

std::string FormatCalls(const signaling::v1::CallListReply& list) {
  if (list.calls_size() == 0) return "no calls\n";
  std::string out = fmt::format("{:<10} {:>4}  {:<9}  {:<22} {:<16} {:<16} {:>8}  {:<6} {}\n", "CALL", "LINE",
                                "DIRECTION", "STATE", "CALLING", "CALLED", "DURATION", "CODEC", "REMOTE");
  for (const auto& call : list.calls()) {
    out += fmt::format(
        "{:<10} {:>4}  {:<9}  {:<22} {:<16} {:<16} {:>8}  {:<6} {}\n", call.call_ref(), call.line(),
        call.direction(), call.state(), call.calling_number(), call.called_number(),
        call.duration_ms() > 0 ? FormatDuration(call.duration_ms()) : "-",
        call.codec().empty() ? "-" : call.codec(), call.remote_media().empty() ? "-" : call.remote_media());
  }
  return out;
}

}  // namespace linegate::control::ctl
