#pragma once
// Operator commands for simulated lines (`linegatectl line N <command>`), parsed from
// one line of text and run against a phone or an exchange line; the result is a line
// of text, "ok: ..." or "error: ...". Not the per-frame path.
//
// Phones (FXS):
//   offhook | onhook | flash [MS] | dial DIGITS | pulse DIGITS
// Exchange lines (FXO):
//   ring [stop] | answer | hangup | reverse | loopback on|off
// Both:
//   play FILE | tone HZ [DBM0] | tone off | record FILE [SECONDS] | record stop
//   listen [MS] | stop | status
//
// Words are separated by blanks; verbs and keywords are case-insensitive; a FILE is one
// word (no blanks, no quoting). Defaults: tone level -10 dBm0, record 60 s, listen
// 500 ms. `stop` stops playing and recording.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace linegate::media::tdm::sim {

class SimPhone;
class SimExchangeLine;

enum class ScriptedVerb : uint8_t {
  kOffHook,
  kOnHook,
  kFlash,
  kDial,
  kPulse,
  kRing,
  kRingStop,
  kAnswer,
  kHangUp,
  kReverse,
  kLoopback,
  kPlay,
  kTone,
  kToneOff,
  kRecord,
  kRecordStop,
  kListen,
  kStop,
  kStatus,
};
std::string_view ScriptedVerbName(ScriptedVerb verb);  // as typed: "offhook", "ring stop", ...

inline constexpr double kDefaultToneDbm0 = -10.0;
inline constexpr double kDefaultRecordSeconds = 60.0;
inline constexpr double kDefaultListenMs = 500.0;

struct ScriptedCommand {
  ScriptedVerb verb = ScriptedVerb::kStatus;
  std::string argument;          // digits (dial, pulse) or file (play, record)
  std::optional<double> number;  // flash ms, tone Hz, record s, listen ms
  std::optional<double> level;   // tone dBm0
  bool on = false;               // loopback
};

Result<ScriptedCommand> ParseScriptedCommand(std::string_view text);

std::string ExecuteScriptedCommand(SimPhone& phone, const ScriptedCommand& command);
std::string ExecuteScriptedCommand(SimExchangeLine& line, const ScriptedCommand& command);

}  // namespace linegate::media::tdm::sim
