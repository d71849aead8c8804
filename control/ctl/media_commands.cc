#include "control/ctl/media_commands.h"

#include <charconv>
#include <cstdio>

#include "common/bus/envelope.h"
#include "control/ctl/request.h"
#include "linegate/media/v1/media.pb.h"
#include "linegate/tdm/v1/line.pb.h"

namespace linegate::control::ctl {

const char* const kMediaUsage =
    "  line N TEXT...             drive the simulated far end of line N (sim driver): offhook,\n"
    "                             onhook, flash, dial DIGITS, pulse DIGITS, play FILE, tone HZ\n"
    "                             [DBM0], tone off, record FILE [MS], record stop, listen [MS],\n"
    "                             status; on FXO lines also ring, answer, hangup, ...\n"
    "  port N ring [--cadence MS,MS,...] [--cid-number X] [--cid-name Y]\n"
    "              [--cid-standard bell202|v23|dtmf]\n"
    "  port N stop-ring | polarity normal|reversed | seize | release | mwi on|off\n"
    "                             commands to the gateway's port N\n"
    "  media create LINE --remote ADDR:PORT [--codec pcmu|pcma|g722|g729|opus] [--ptime MS]\n"
    "              [--pt N] [--dtmf rfc4733|inband] [--te-pt N] [--direction sendrecv|sendonly|\n"
    "              recvonly|inactive] [--timeout-ms N] [--leg 0|1] [--conference]\n"
    "                             open an RTP session on LINE (leg 0 unless --leg); prints the\n"
    "                             local port\n"
    "  media modify LINE ...      change a session (same options)\n"
    "  media delete LINE|all [--leg 0|1]\n"
    "                             close sessions (every leg of LINE unless --leg; RTCP BYE);\n"
    "                             prints final statistics\n"
    "  media list [--json]        sessions with statistics, and per media process totals\n"
    "  media tone LINE dial|ringback|busy|congestion|call-waiting|stop [--country US|UK|DE|FR]\n";

namespace {

int Usage(const std::string& why) {
  std::fprintf(stderr, "linegatectl: %s\n", why.c_str());
  return 2;
}

std::optional<uint32_t> ParseUint(const std::string& text) {
  uint32_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Join(const std::vector<std::string>& words, size_t from) {
  std::string text;
  for (size_t i = from; i < words.size(); ++i) text += (i > from ? " " : "") + words[i];
  return text;
}

int RunLine(const std::vector<std::string>& args, bus::Client& client, Duration timeout) {
  if (args.size() < 2) return Usage("line: N and a command are required");
  auto line = ParseUint(args[0]);
  if (!line || *line == 0) return Usage("line: '" + args[0] + "' is not a line number");
  tdm::v1::LineScriptRequest request;
  request.set_line(*line);
  request.set_text(Join(args, 1));
  auto reply = Ask<tdm::v1::LineScriptReply>(client, request, timeout);
  if (!reply) return 3;
  std::printf("%s\n", reply->text().c_str());
  return reply->text().rfind("error", 0) == 0 ? 3 : 0;
}

int RunPort(const std::vector<std::string>& args, bus::Client& client, Duration timeout) {
  if (args.size() < 2) return Usage("port: N and a command are required");
  auto line = ParseUint(args[0]);
  if (!line || *line == 0) return Usage("port: '" + args[0] + "' is not a line number");
  tdm::v1::PortCommandRequest request;
  request.set_line(*line);
  const std::string& verb = args[1];
  size_t i = 2;
  if (verb == "ring") {
    request.mutable_ring();
    for (; i < args.size(); ++i) {
      const std::string& option = args[i];
      if (i + 1 >= args.size()) return Usage("port ring: " + option + " needs a value");
      const std::string& value = args[++i];
      if (option == "--cadence") {
        size_t start = 0;
        while (start <= value.size()) {
          const size_t comma = value.find(',', start);
          auto ms =
              ParseUint(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
          if (!ms) return Usage("port ring: --cadence takes milliseconds separated by commas");
          request.mutable_ring()->add_segments_ms(*ms);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      } else if (option == "--cid-number") {
        request.mutable_caller_id()->set_number(value);
      } else if (option == "--cid-name") {
        request.mutable_caller_id()->set_name(value);
      } else if (option == "--cid-standard") {
        if (value == "bell202") {
          request.mutable_caller_id()->set_standard(tdm::v1::CALLER_ID_STANDARD_BELL202);
        } else if (value == "v23") {
          request.mutable_caller_id()->set_standard(tdm::v1::CALLER_ID_STANDARD_V23);
        } else if (value == "dtmf") {
          request.mutable_caller_id()->set_standard(tdm::v1::CALLER_ID_STANDARD_DTMF);
        } else {
          return Usage("port ring: --cid-standard is bell202, v23 or dtmf");
        }
      } else {
        return Usage("port ring: unknown option '" + option + "'");
      }
    }
  } else if (verb == "stop-ring") {
    request.set_stop_ring(true);
  } else if (verb == "polarity") {
    if (i >= args.size() || (args[i] != "normal" && args[i] != "reversed")) {
      return Usage("port polarity: normal or reversed");
    }
    request.set_reverse_polarity(args[i++] == "reversed");
  } else if (verb == "seize") {
    request.set_seize(true);
  } else if (verb == "release") {
    request.set_release(true);
  } else if (verb == "mwi") {
    if (i >= args.size() || (args[i] != "on" && args[i] != "off")) return Usage("port mwi: on or off");
    request.set_message_waiting(args[i++] == "on");
  } else {
    return Usage("port: unknown command '" + verb + "'");
  }
  if (verb != "ring" && i < args.size()) return Usage("port " + verb + ": too many arguments");
  auto reply = Ask<tdm::v1::PortCommandReply>(client, request, timeout);
  if (!reply) return 3;
  std::printf("%s\n", reply->result().c_str());
  return 0;
}

// Parses the options of media create/modify into `params`; an error text on failure.
std::string ParseSessionOptions(const std::vector<std::string>& args, size_t i,
                                media::v1::SessionParams& params) {
  for (; i < args.size(); ++i) {
    const std::string& option = args[i];
    if (option == "--conference") {
      params.set_conference(true);
      continue;
    }
    if (i + 1 >= args.size()) return option + " needs a value";
    const std::string& value = args[++i];
    if (option == "--remote") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) return "--remote is ADDRESS:PORT";
      std::string address = value.substr(0, colon);
      if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
        address = address.substr(1, address.size() - 2);
      }
      auto port = ParseUint(value.substr(colon + 1));
      if (!port) return "--remote: bad port";
      params.set_remote_address(address);
      params.set_remote_port(*port);
    } else if (option == "--codec") {
      if (value == "pcmu") {
        params.set_codec(media::v1::CODEC_PCMU);
      } else if (value == "pcma") {
        params.set_codec(media::v1::CODEC_PCMA);
      } else if (value == "g722") {
        params.set_codec(media::v1::CODEC_G722);
      } else if (value == "g729") {
        params.set_codec(media::v1::CODEC_G729);
      } else if (value == "opus") {
        params.set_codec(media::v1::CODEC_OPUS);
      } else {
        return "--codec is pcmu, pcma, g722, g729 or opus";
      }
    } else if (option == "--dtmf") {
      if (value == "rfc4733") {
        params.set_dtmf_mode(media::v1::DTMF_MODE_RFC4733);
      } else if (value == "inband") {
        params.set_dtmf_mode(media::v1::DTMF_MODE_INBAND);
      } else {
        return "--dtmf is rfc4733 or inband";
      }
    } else if (option == "--direction") {
      if (value == "sendrecv") {
        params.set_direction(media::v1::DIRECTION_SENDRECV);
      } else if (value == "sendonly") {
        params.set_direction(media::v1::DIRECTION_SENDONLY);
      } else if (value == "recvonly") {
        params.set_direction(media::v1::DIRECTION_RECVONLY);
      } else if (value == "inactive") {
        params.set_direction(media::v1::DIRECTION_INACTIVE);
      } else {
        return "--direction is sendrecv, sendonly, recvonly or inactive";
      }
    } else {
      auto number = ParseUint(value);
      if (!number) return option + " takes a number";
      if (option == "--ptime") {
        params.set_ptime_ms(*number);
      } else if (option == "--pt") {
        params.set_payload_type(*number);
      } else if (option == "--te-pt") {
        params.set_telephone_event_pt(*number);
      } else if (option == "--timeout-ms") {
        params.set_rtp_timeout_ms(*number);
      } else if (option == "--leg") {
        if (*number > 1) return "--leg is 0 or 1";
        params.set_leg(*number);
      } else {
        return "unknown option '" + option + "'";
      }
    }
  }
  return {};
}

std::string FormatStats(const media::v1::ListSessionsReply& list) {
  std::string text;
  char row[320];
  std::snprintf(row, sizeof(row), "%-5s %-6s %-5s %-22s %9s %9s %7s %7s %8s %7s %6s\n", "LINE", "PORT",
                "CODEC", "REMOTE", "SENT", "RECEIVED", "LOST", "LOSS%", "JITTERms", "RTTms", "MISSED");
  text += row;
  for (const auto& s : list.sessions()) {
    std::snprintf(row, sizeof(row), "%-5u %-6u %-5s %-22s %9llu %9llu %7lld %7.2f %8.2f %7.1f %6llu\n",
                  s.line(), s.local_port(), s.codec().c_str(), s.remote().c_str(),
                  static_cast<unsigned long long>(s.packets_sent()),
                  static_cast<unsigned long long>(s.packets_received()),
                  static_cast<long long>(s.packets_lost()), s.loss_percent(), s.jitter_ms(), s.rtt_ms(),
                  static_cast<unsigned long long>(s.missed_deadlines()));
    text += row;
  }
  for (const auto& shard : list.shards()) {
    std::snprintf(row, sizeof(row),
                  "%s: lines %u-%u, %u sessions, %llu ticks, %llu missed deadlines, cpu %.2f s\n",
                  shard.process().c_str(), shard.first_line(), shard.first_line() + shard.line_count() - 1,
                  shard.sessions(), static_cast<unsigned long long>(shard.ticks()),
                  static_cast<unsigned long long>(shard.missed_deadlines()), shard.cpu_seconds());
    text += row;
  }
  return text;
}

int RunMedia(const std::vector<std::string>& args, bus::Client& client, Duration timeout) {
  if (args.empty()) return Usage("media: a command is required (create, modify, delete, list, tone)");
  const std::string& verb = args[0];
  if (verb == "list") {
    const bool json = args.size() > 1 && args[1] == "--json";
    if (args.size() > (json ? 2u : 1u)) return Usage("media list: unknown argument");
    auto list = Ask<media::v1::ListSessionsReply>(client, media::v1::ListSessionsRequest(), timeout);
    if (!list) return 3;
    std::fputs((json ? ToJson(*list) : FormatStats(*list)).c_str(), stdout);
    return 0;
  }
  if (args.size() < 2) return Usage("media " + verb + ": LINE is required");
  std::optional<uint32_t> line =
      args[1] == "all" && verb == "delete" ? std::optional<uint32_t>(0) : ParseUint(args[1]);
  if (!line) return Usage("media " + verb + ": '" + args[1] + "' is not a line number");
  if (verb == "create" || verb == "modify") {
    media::v1::SessionParams params;
    params.set_line(*line);
    if (std::string error = ParseSessionOptions(args, 2, params); !error.empty()) {
      return Usage("media " + verb + ": " + error);
    }
    if (verb == "create") {
      if (params.remote_address().empty()) return Usage("media create: --remote is required");
      media::v1::CreateSessionRequest request;
      *request.mutable_params() = params;
      auto reply = Ask<media::v1::CreateSessionReply>(client, request, timeout);
      if (!reply) return 3;
      std::printf("line %u: session on %s:%u (%s)\n", *line, reply->local_address().c_str(),
                  reply->local_port(), reply->media_process().c_str());
      return 0;
    }
    media::v1::ModifySessionRequest request;
    *request.mutable_params() = params;
    if (!Ask<media::v1::ModifySessionReply>(client, request, timeout)) return 3;
    std::printf("line %u: session modified\n", *line);
    return 0;
  }
  if (verb == "delete") {
    media::v1::DeleteSessionRequest request;
    request.set_line(*line);
    request.set_all_legs(true);
    if (args.size() == 4 && args[2] == "--leg") {
      auto leg = ParseUint(args[3]);
      if (!leg || *leg > 1) return Usage("media delete: --leg is 0 or 1");
      request.set_leg(*leg);
      request.set_all_legs(false);
    } else if (args.size() > 2) {
      return Usage("media delete: unknown arguments (only --leg 0|1)");
    }
    auto reply = Ask<media::v1::DeleteSessionReply>(client, request, timeout);
    if (!reply) return 3;
    media::v1::ListSessionsReply final_stats;
    for (const auto& stats : reply->final_stats()) *final_stats.add_sessions() = stats;
    std::fputs(FormatStats(final_stats).c_str(), stdout);
    return 0;
  }
  if (verb == "tone") {
    if (args.size() < 3) return Usage("media tone: LINE and a tone are required");
    media::v1::PlayToneRequest request;
    request.set_line(*line);
    const std::string& tone = args[2];
    if (tone == "dial") {
      request.set_tone(media::v1::TONE_KIND_DIAL);
    } else if (tone == "ringback") {
      request.set_tone(media::v1::TONE_KIND_RINGBACK);
    } else if (tone == "busy") {
      request.set_tone(media::v1::TONE_KIND_BUSY);
    } else if (tone == "congestion") {
      request.set_tone(media::v1::TONE_KIND_CONGESTION);
    } else if (tone == "call-waiting") {
      request.set_tone(media::v1::TONE_KIND_CALL_WAITING);
    } else if (tone == "stop") {
      request.set_stop(true);
    } else {
      return Usage("media tone: unknown tone '" + tone + "'");
    }
    if (args.size() == 5 && args[3] == "--country") {
      request.set_country(args[4]);
    } else if (args.size() != 3) {
      return Usage("media tone: unexpected arguments");
    }
    if (!Ask<media::v1::PlayToneReply>(client, request, timeout)) return 3;
    std::printf("ok\n");
    return 0;
  }
  return Usage("media: unknown command '" + verb + "'");
}

}  // namespace

std::optional<int> RunMediaCommand(const std::string& command, const std::vector<std::string>& args,
                                   bus::Client& client, Duration timeout) {
  if (command == "line") return RunLine(args, client, timeout);
  if (command == "port") return RunPort(args, client, timeout);
  if (command == "media") return RunMedia(args, client, timeout);
  return std::nullopt;
}

}  // namespace linegate::control::ctl
