#pragma once
// Operator commands for simulated lines (`linegatectl line N <command>`), parsed from
// one line of text and run against a phone or an exchange line; the result is a line
// of text, "ok: ..." or "error: ...". Not the per-frame path.
//
// Phones (FXS):
//   offhook | onhook | flash [MS] | dial DIGITS | pulse DIGITS
// Exchange lines (FXO):
//   ring [--cid-number N] [--cid-name NAME] [--cid-standard bell202|v23|dtmf]
//   ring stop | answer | hangup | busy | reverse | loopback on|off
//   (busy: the far end hung up and the exchange says so with busy tone only, no
//   polarity reversal)
// Both:
//   play FILE | tone HZ [DBM0] | tone off | record FILE [SECONDS] | record stop
//   listen [MS] | stop | status
//
// Words are separated by blanks; verbs, keywords, options and standards are
// case-insensitive. A word that starts with a double quote runs to the next double quote
// and may hold blanks ("LINE GATE", "/tmp/my file.wav"); the closing quote must end the
// word (a blank or the end follows), there are no escapes (a quoted word cannot hold a
// double quote) and it may not be empty. A double quote inside an unquoted word is an
// ordinary character. Defaults: tone level -10 dBm0, record 60 s, listen 500 ms. `stop`
// stops playing and recording.
//
// ring's caller ID options come in any order, each at most once: --cid-number (1..20
// characters 0-9 * # +; 0-9 only for dtmf), --cid-name (1..50 printable ASCII
// characters; not with dtmf), --cid-standard (default bell202; needs a number or a
// name). A caller ID is sent when a number or a name is given (SimExchangeLine::Ring).

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "media/dsp/caller_id.h"

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
  kBusy,
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
  // ring: the caller ID to present, when --cid-number or --cid-name was given.
  std::optional<dsp::CallerIdInfo> caller_id;
  dsp::CallerIdStandard caller_id_standard = dsp::CallerIdStandard::kBell202;
};

Result<ScriptedCommand> ParseScriptedCommand(std::string_view text);

std::string ExecuteScriptedCommand(SimPhone& phone, const ScriptedCommand& command);
std::string ExecuteScriptedCommand(SimExchangeLine& line, const ScriptedCommand& command);

}  // namespace linegate::media::tdm::sim
