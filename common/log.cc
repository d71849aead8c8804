#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

namespace linegate::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::string g_prefix = "process=linegate shard=-";
std::shared_ptr<spdlog::logger> g_logger;

spdlog::logger& Logger() {
  if (!g_logger) {
    g_logger = spdlog::stderr_logger_st("linegate");
    // Timestamp only: the rest of the line is formatted here in logfmt.
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %v", spdlog::pattern_time_type::utc);
    g_logger->set_level(spdlog::level::trace);
    g_logger->flush_on(spdlog::level::trace);
  }
  return *g_logger;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendValue(std::string& out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append("\\x");
          static constexpr char kHex[] = "0123456789abcdef";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void Init(std::string_view process, int shard, Level level) {
  g_prefix = "process=";
  g_prefix.append(process);
  g_prefix.append(" shard=");
  g_prefix.append(shard < 0 ? std::string("-") : std::to_string(shard));
  SetLevel(level);
}

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level CurrentLevel() { return g_level.load(std::memory_order_relaxed); }
bool Enabled(Level level) { return level >= CurrentLevel(); }

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kCritical:
      return "critical";
  }
  return "info";
}

std::optional<Level> ParseLevel(std::string_view name) {
  for (Level l :
       {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kCritical}) {
    if (name == LevelName(l)) return l;
  }
  if (name == "warning") return Level::kWarn;
  return std::nullopt;
}

Level FromProto(config::v1::LogLevel level) {
  switch (level) {
    case config::v1::LOG_LEVEL_TRACE:
      return Level::kTrace;
    case config::v1::LOG_LEVEL_DEBUG:
      return Level::kDebug;
    case config::v1::LOG_LEVEL_WARN:
      return Level::kWarn;
    case config::v1::LOG_LEVEL_ERROR:
      return Level::kError;
    case config::v1::LOG_LEVEL_CRITICAL:
      return Level::kCritical;
    default:
      return Level::kInfo;
  }
}

config::v1::LogLevel ToProto(Level level) {
  switch (level) {
    case Level::kTrace:
      return config::v1::LOG_LEVEL_TRACE;
    case Level::kDebug:
      return config::v1::LOG_LEVEL_DEBUG;
    case Level::kInfo:
      return config::v1::LOG_LEVEL_INFO;
    case Level::kWarn:
      return config::v1::LOG_LEVEL_WARN;
    case Level::kError:
      return config::v1::LOG_LEVEL_ERROR;
    case Level::kCritical:
      return config::v1::LOG_LEVEL_CRITICAL;
  }
  return config::v1::LOG_LEVEL_INFO;
}

std::string FormatLine(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line = g_prefix;
  line.append(" level=");
  line.append(LevelName(level));
  line.append(" msg=");
  AppendValue(line, message);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    AppendValue(line, f.value);
  }
  return line;
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  Logger().info(FormatLine(level, message, fields));
}

}  // namespace linegate::log
