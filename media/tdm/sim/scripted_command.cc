#include "media/tdm/sim/scripted_command.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <span>
#include <vector>

#include "media/tdm/sim/sim_exchange_line.h"
#include "media/tdm/sim/sim_phone.h"

namespace linegate::media::tdm::sim {
namespace {

constexpr size_t kMaxCommandLength = 1024;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Blank-separated words; a word that starts with '"' runs to the next '"' (see the
// header for the rules).
Result<std::vector<std::string_view>> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    if (i == text.size()) break;
    if (text[i] == '"') {
      const size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return Error{fmt::format("unterminated quote at byte {}: a quoted word must end with '\"'", i)};
      }
      if (close + 1 < text.size() && !IsBlank(text[close + 1])) {
        return Error{fmt::format("closing quote at byte {} must be followed by a blank", close)};
      }
      if (close == i + 1) return Error{fmt::format("empty quoted word at byte {}", i)};
      words.push_back(text.substr(i + 1, close - i - 1));
      i = close + 1;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && !IsBlank(text[i])) ++i;
    words.push_back(text.substr(start, i - start));
  }
  return words;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

Result<double> ParseNumber(std::string_view word, std::string_view what) {
  double value = 0.0;
  const char* end = word.data() + word.size();
  // from_chars does not take a leading '+'; accept it, as people write "+3".
  const char* begin = !word.empty() && word[0] == '+' ? word.data() + 1 : word.data();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return Error{fmt::format("{} '{}' is not a number", what, word)};
  }
  return value;
}

constexpr std::string_view kRingOptionList =
    "--cid-number N, --cid-name NAME and --cid-standard bell202|v23|dtmf";
constexpr std::array<std::string_view, 3> kRingOptions = {"--cid-number", "--cid-name", "--cid-standard"};

bool IsRingOption(std::string_view word) {
  for (const std::string_view option : kRingOptions) {
    if (EqualsIgnoreCase(word, option)) return true;
  }
  return false;
}

bool IsCallerIdNumberChar(char c, bool dtmf) {
  if (c >= '0' && c <= '9') return true;
  return !dtmf && (c == '*' || c == '#' || c == '+');
}

// `ring [--cid-number N] [--cid-name NAME] [--cid-standard bell202|v23|dtmf]`.
Status ParseRingOptions(std::span<const std::string_view> args, ScriptedCommand& command) {
  std::array<std::optional<std::string_view>, kRingOptions.size()> values;  // as kRingOptions
  for (size_t i = 0; i < args.size(); ++i) {
    size_t which = kRingOptions.size();
    for (size_t k = 0; k < kRingOptions.size(); ++k) {
      if (EqualsIgnoreCase(args[i], kRingOptions[k])) which = k;
    }
    if (which == kRingOptions.size()) {
      return Error{fmt::format("'ring' does not take '{}'; its options are {}", args[i], kRingOptionList)};
    }
    const std::string_view option = kRingOptions[which];
    if (values[which]) return Error{fmt::format("{} given twice", option)};
    if (i + 1 == args.size() || IsRingOption(args[i + 1])) {
      return Error{fmt::format("{} needs a value", option)};
    }
    values[which] = args[++i];
  }
  const std::optional<std::string_view>& number = values[0];
  const std::optional<std::string_view>& name = values[1];
  const std::optional<std::string_view>& standard = values[2];
  if (!number && !name) {
    if (standard) return Error{"--cid-standard needs --cid-number or --cid-name"};
    return Status::Ok();
  }

  dsp::CallerIdStandard chosen = dsp::CallerIdStandard::kBell202;
  if (standard) {
    bool known = false;
    for (const dsp::CallerIdStandard s :
         {dsp::CallerIdStandard::kBell202, dsp::CallerIdStandard::kV23, dsp::CallerIdStandard::kDtmf}) {
      if (EqualsIgnoreCase(*standard, dsp::CallerIdStandardName(s))) {
        chosen = s;
        known = true;
      }
    }
    if (!known) return Error{fmt::format("caller ID standard '{}' is not bell202, v23 or dtmf", *standard)};
  }
  const bool dtmf = chosen == dsp::CallerIdStandard::kDtmf;

  dsp::CallerIdInfo info;
  if (number) {
    if (number->size() > dsp::kMaxCallerIdNumber) {
      return Error{fmt::format("caller ID number '{}' is longer than {} characters", *number,
                               dsp::kMaxCallerIdNumber)};
    }
    for (const char c : *number) {
      if (!IsCallerIdNumberChar(c, dtmf)) {
        return Error{fmt::format("caller ID number '{}' may hold only {}", *number,
                                 dtmf ? "0-9 with --cid-standard dtmf" : "0-9 * # +")};
      }
    }
    (void)info.number.Assign(*number);  // fits: checked above
  }
  if (name) {
    if (dtmf) return Error{"DTMF caller ID carries no name: drop --cid-name, or use bell202 or v23"};
    if (name->size() > dsp::kMaxCallerIdName) {
      return Error{fmt::format("caller ID name is longer than {} characters", dsp::kMaxCallerIdName)};
    }
    for (const char c : *name) {
      if (c < 0x20 || c > 0x7E) return Error{"caller ID name may hold only printable ASCII characters"};
    }
    (void)info.name.Assign(*name);
  }
  command.caller_id = info;
  command.caller_id_standard = chosen;
  return Status::Ok();
}

struct VerbSpec {
  std::string_view word;
  std::string_view second;  // a required keyword after the verb, or empty
  ScriptedVerb verb;
};

// Verbs with a keyword come before the bare verb so that "ring stop" wins over "ring".
// clang-format off: one verb a line
constexpr std::array<VerbSpec, 20> kVerbs = {{
    {"offhook", "", ScriptedVerb::kOffHook}, {"onhook", "", ScriptedVerb::kOnHook},
    {"flash", "", ScriptedVerb::kFlash},     {"dial", "", ScriptedVerb::kDial},
    {"pulse", "", ScriptedVerb::kPulse},     {"ring", "stop", ScriptedVerb::kRingStop},
    {"ring", "", ScriptedVerb::kRing},       {"answer", "", ScriptedVerb::kAnswer},
    {"hangup", "", ScriptedVerb::kHangUp},   {"reverse", "", ScriptedVerb::kReverse},
    {"busy", "", ScriptedVerb::kBusy},       {"loopback", "", ScriptedVerb::kLoopback},
    {"play", "", ScriptedVerb::kPlay},       {"tone", "off", ScriptedVerb::kToneOff},
    {"tone", "", ScriptedVerb::kTone},       {"record", "stop", ScriptedVerb::kRecordStop},
    {"record", "", ScriptedVerb::kRecord},   {"listen", "", ScriptedVerb::kListen},
    {"stop", "", ScriptedVerb::kStop},       {"status", "", ScriptedVerb::kStatus},
}};
// clang-format on

std::string Ok(std::string_view what) { return fmt::format("ok: {}", what); }
std::string Err(std::string_view what) { return fmt::format("error: {}", what); }
std::string Done(const Status& status, std::string_view what) {
  return status.ok() ? Ok(what) : Err(status.error());
}

// Commands both kinds of line share; nullopt when the verb is not one of them.
template <typename Line>
std::optional<std::string> ExecuteShared(Line& line, const ScriptedCommand& c) {
  switch (c.verb) {
    case ScriptedVerb::kPlay:
      return Done(line.PlayWavFile(c.argument), "playing " + c.argument);
    case ScriptedVerb::kTone: {
      const double level = c.level.value_or(kDefaultToneDbm0);
      return Done(line.PlayTone(*c.number, level),
                  fmt::format("playing {:g} Hz at {:g} dBm0", *c.number, level));
    }
    case ScriptedVerb::kToneOff:
      line.StopPlaying();
      return Ok("stopped playing");
    case ScriptedVerb::kListen: {
      const double ms = c.number.value_or(kDefaultListenMs);
      if (ms < 1 || ms > AudioMonitor::kMaxWindowMs) {
        return Err(
            fmt::format("listen window {:g} ms out of range 1..{} ms", ms, AudioMonitor::kMaxWindowMs));
      }
      Result<ListenReport> report = line.Listen(static_cast<uint32_t>(ms));
      if (!report.ok()) return Err(report.error());
      return Ok(FormatListenReport(*report));
    }
    case ScriptedVerb::kStatus:
      return Ok(line.Describe());
    default:
      return std::nullopt;
  }
}

std::string WrongLine(const ScriptedCommand& c, std::string_view kind) {
  return Err(fmt::format("'{}' does not apply to {}", ScriptedVerbName(c.verb), kind));
}

}  // namespace

std::string_view ScriptedVerbName(ScriptedVerb verb) {
  for (const VerbSpec& spec : kVerbs) {
    if (spec.verb == verb) {
      // "ring stop" etc.: the names of the two-word verbs.
      switch (verb) {
        case ScriptedVerb::kRingStop:
          return "ring stop";
        case ScriptedVerb::kToneOff:
          return "tone off";
        case ScriptedVerb::kRecordStop:
          return "record stop";
        default:
          return spec.word;
      }
    }
  }
  return "?";
}

Result<ScriptedCommand> ParseScriptedCommand(std::string_view text) {
  if (text.size() > kMaxCommandLength)
    return Error{fmt::format("command longer than {} bytes", kMaxCommandLength)};
  Result<std::vector<std::string_view>> split = SplitWords(text);
  if (!split.ok()) return Error{split.error()};
  const std::vector<std::string_view>& words = *split;
  if (words.empty()) return Error{"empty command"};
  const VerbSpec* spec = nullptr;
  for (const VerbSpec& candidate : kVerbs) {
    if (!EqualsIgnoreCase(words[0], candidate.word)) continue;
    if (!candidate.second.empty() && (words.size() < 2 || !EqualsIgnoreCase(words[1], candidate.second)))
      continue;
    spec = &candidate;
    break;
  }
  if (spec == nullptr) {
    return Error{fmt::format(
        "unknown command '{}'; expected offhook, onhook, flash, dial, pulse, ring, answer, hangup, busy, "
        "reverse, loopback, play, tone, record, listen, stop or status",
        words[0])};
  }
  ScriptedCommand command;
  command.verb = spec->verb;
  // The words after the verb (and its keyword).
  const std::span<const std::string_view> args =
      std::span<const std::string_view>(words).subspan(spec->second.empty() ? 1 : 2);
  const std::string_view name = ScriptedVerbName(spec->verb);
  const auto arity = [&](size_t min, size_t max) -> Status {
    if (args.size() < min || args.size() > max) {
      if (min == max && min == 0) return Error{fmt::format("'{}' takes no arguments", name)};
      return Error{fmt::format("'{}' takes {}{} argument{}", name,
                               min == max ? "" : fmt::format("{} to ", min), max, max == 1 ? "" : "s")};
    }
    return Status::Ok();
  };

  switch (command.verb) {
    case ScriptedVerb::kOffHook:
    case ScriptedVerb::kOnHook:
    case ScriptedVerb::kRingStop:
    case ScriptedVerb::kAnswer:
    case ScriptedVerb::kHangUp:
    case ScriptedVerb::kBusy:
    case ScriptedVerb::kReverse:
    case ScriptedVerb::kToneOff:
    case ScriptedVerb::kRecordStop:
    case ScriptedVerb::kStop:
    case ScriptedVerb::kStatus:
      if (Status s = arity(0, 0); !s.ok()) return Error{s.error()};
      break;
    case ScriptedVerb::kRing:
      if (Status s = ParseRingOptions(args, command); !s.ok()) return Error{s.error()};
      break;
    case ScriptedVerb::kDial:
    case ScriptedVerb::kPulse:
    case ScriptedVerb::kPlay:
      if (Status s = arity(1, 1); !s.ok()) return Error{s.error()};
      command.argument = std::string(args[0]);
      break;
    case ScriptedVerb::kFlash:
    case ScriptedVerb::kListen:
      if (Status s = arity(0, 1); !s.ok()) return Error{s.error()};
      if (!args.empty()) {
        Result<double> ms = ParseNumber(args[0], "duration");
        if (!ms.ok()) return Error{ms.error()};
        if (*ms != std::floor(*ms) || *ms <= 0)
          return Error{fmt::format("duration '{}' is not a whole number of ms", args[0])};
        command.number = *ms;
      }
      break;
    case ScriptedVerb::kLoopback:
      if (Status s = arity(1, 1); !s.ok()) return Error{s.error()};
      if (EqualsIgnoreCase(args[0], "on")) {
        command.on = true;
      } else if (!EqualsIgnoreCase(args[0], "off")) {
        return Error{fmt::format("loopback takes 'on' or 'off', not '{}'", args[0])};
      }
      break;
    case ScriptedVerb::kTone: {
      if (Status s = arity(1, 2); !s.ok()) return Error{s.error()};
      Result<double> hz = ParseNumber(args[0], "frequency");
      if (!hz.ok()) return Error{hz.error()};
      command.number = *hz;
      if (args.size() == 2) {
        Result<double> level = ParseNumber(args[1], "level");
        if (!level.ok()) return Error{level.error()};
        command.level = *level;
      }
      break;
    }
    case ScriptedVerb::kRecord:
      if (Status s = arity(1, 2); !s.ok()) return Error{s.error()};
      command.argument = std::string(args[0]);
      if (args.size() == 2) {
        Result<double> seconds = ParseNumber(args[1], "length");
        if (!seconds.ok()) return Error{seconds.error()};
        if (*seconds <= 0) return Error{fmt::format("recording length '{}' must be > 0 s", args[1])};
        command.number = *seconds;
      }
      break;
  }
  return command;
}

std::string ExecuteScriptedCommand(SimPhone& phone, const ScriptedCommand& c) {
  if (std::optional<std::string> shared = ExecuteShared(phone, c)) return *shared;
  switch (c.verb) {
    case ScriptedVerb::kOffHook:
      return Done(phone.OffHook(), "off-hook");
    case ScriptedVerb::kOnHook:
      return Done(phone.OnHook(), "on-hook");
    case ScriptedVerb::kFlash: {
      if (c.number && *c.number > kMaxFlashMs) {
        return Err(
            fmt::format("flash of {:g} ms out of range {}..{} ms", *c.number, kMinFlashMs, kMaxFlashMs));
      }
      const std::optional<uint32_t> ms =
          c.number ? std::optional<uint32_t>(static_cast<uint32_t>(*c.number)) : std::nullopt;
      return Done(phone.Flash(ms), "flash");
    }
    case ScriptedVerb::kDial:
      return Done(phone.DialDtmf(c.argument), "dialling " + c.argument + " (DTMF)");
    case ScriptedVerb::kPulse:
      return Done(phone.DialPulse(c.argument), "dialling " + c.argument + " (pulse)");
    case ScriptedVerb::kRecord: {
      const double seconds = c.number.value_or(kDefaultRecordSeconds);
      if (seconds * 1000 > 3600000) return Err(fmt::format("recording length {:g} s too long", seconds));
      const auto ms = static_cast<uint32_t>(std::lround(seconds * 1000));
      return Done(phone.StartRecording(c.argument, ms),
                  fmt::format("recording to {} for up to {:g} s", c.argument, seconds));
    }
    case ScriptedVerb::kRecordStop: {
      Status stopped = phone.StopRecording();
      return stopped.ok() ? Ok(phone.recorder().last_result()) : Err(stopped.error());
    }
    case ScriptedVerb::kStop: {
      phone.StopPlaying();
      if (phone.recorder().state() == AudioRecorder::State::kIdle) return Ok("stopped playing");
      Status stopped = phone.StopRecording();
      return stopped.ok() ? Ok("stopped playing; " + phone.recorder().last_result()) : Err(stopped.error());
    }
    default:
      return WrongLine(c, "an FXS phone");
  }
}

std::string ExecuteScriptedCommand(SimExchangeLine& line, const ScriptedCommand& c) {
  if (std::optional<std::string> shared = ExecuteShared(line, c)) return *shared;
  switch (c.verb) {
    case ScriptedVerb::kRing: {
      if (!c.caller_id) return Done(line.Ring(), "ringing");
      const ExchangeCallerId caller{*c.caller_id, c.caller_id_standard};
      return Done(line.Ring(std::nullopt, caller),
                  "ringing with caller ID " + FormatCallerId(caller.info, caller.standard));
    }
    case ScriptedVerb::kRingStop:
      return Done(line.StopRinging(), "stopped ringing");
    case ScriptedVerb::kAnswer:
      return Done(line.FarEndAnswer(), "far end answered");
    case ScriptedVerb::kHangUp:
      return Done(line.FarEndHangUp(), "far end hung up");
    case ScriptedVerb::kBusy:
      return Done(line.FarEndHangUp(/*reverse_polarity=*/false), "far end hung up; busy tone only");
    case ScriptedVerb::kReverse:
      line.ReversePolarity();
      return Ok(fmt::format("polarity {}", PolarityName(line.polarity())));
    case ScriptedVerb::kLoopback:
      line.SetLoopback(c.on);
      return Ok(c.on ? "loopback on" : "loopback off");
    case ScriptedVerb::kStop:
      line.StopPlaying();
      return Ok("stopped playing");
    default:
      return WrongLine(c, "an FXO exchange line (use it on a phone line)");
  }
}

}  // namespace linegate::media::tdm::sim
