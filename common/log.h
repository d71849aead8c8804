#pragma once
// Structured logging: one line per event, logfmt style, to stderr (journald takes
// stderr under systemd):
//   2026-11-27T10:11:46.123456Z process=media-1 shard=1 level=info msg="..." key=value
// The level can be changed at run time (control forwards SetLogLevelRequest).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "linegate/config/v1/config.pb.h"

namespace linegate::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kCritical };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename Int, typename = std::enable_if_t<std::is_arithmetic_v<Int>>>
  Field(std::string_view k, Int v) : key(k), value(std::to_string(v)) {}
  std::string_view key;
  std::string value;
};

// shard < 0: the process has no shard.
void Init(std::string_view process, int shard, Level level);
void SetLevel(Level level);
Level CurrentLevel();
bool Enabled(Level level);

void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Trace(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kTrace, m, f); }
inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }
inline void Critical(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kCritical, m, f);
}

// Conversions with the configuration enum and the names operators type.
Level FromProto(config::v1::LogLevel level);
config::v1::LogLevel ToProto(Level level);
std::optional<Level> ParseLevel(std::string_view name);  // "info", "debug", ...
std::string_view LevelName(Level level);

// Formats one line without the timestamp (exposed for tests).
std::string FormatLine(Level level, std::string_view message, std::initializer_list<Field> fields);

}  // namespace linegate::log
