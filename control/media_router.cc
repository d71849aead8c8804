#include "control/media_router.h"

#include "common/bus/envelope.h"
#include "common/log.h"
#include "media/shard_map.h"

namespace linegate::control {
namespace {

// How long before the first silent interval of a ring the caller ID waits (GR-30:
// at least 500 ms after the first ring ends; ETSI EN 300 659-1 likewise after the
// first ring).
constexpr uint32_t kCallerIdAfterRingMs = 600;

bool Failed(const bus::v1::Envelope& reply) {
  return reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED;
}

bus::v1::Envelope ErrorReply(bus::v1::ErrorCode code, std::string message) {
  return bus::MakeErrorReply(0, "control", code, std::move(message));
}

bus::v1::Envelope SuccessReply(const google::protobuf::Message& payload) {
  return bus::MakeEnvelope(bus::v1::MESSAGE_KIND_REPLY, 0, "control", payload);
}

// Relays a reply (or its error) to an operator's request.
MediaRouter::Done ToReplier(const bus::Replier& replier) {
  return [replier](const bus::v1::Envelope& reply) {
    if (Failed(reply)) return replier.Fail(reply.error().code(), reply.error().message());
    replier.Forward(reply.payload());
  };
}

}  // namespace

MediaRouter::MediaRouter(const config::v1::Config& config, bus::Server& server, bus::Reactor& reactor)
    : config_(config), server_(server), reactor_(reactor) {}

std::chrono::milliseconds MediaRouter::timeout() const {
  return std::chrono::milliseconds(config_.bus().request_timeout_ms());
}

bool MediaRouter::MediaOf(uint32_t line, std::string& peer, std::string& error) const {
  const int shard = media::ShardOfLine(config_, line);
  if (shard < 0) {
    error = "line " + std::to_string(line) + " does not exist (the gateway has " +
            std::to_string(media::TotalLines(config_.tdm())) + " lines)";
    return false;
  }
  peer = media::MediaProcessName(static_cast<uint32_t>(shard));
  return true;
}

void MediaRouter::ToMediaOf(uint32_t line, const google::protobuf::Message& request, Done done) {
  std::string peer, error;
  if (!MediaOf(line, peer, error)) return done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, error));
  server_.Request(peer, request, timeout(), std::move(done));
}

void MediaRouter::RegisterHandlers(bus::Dispatcher& dispatcher) {
  dispatcher.OnRequest<tdm::v1::LineScriptRequest>(
      [this](const tdm::v1::LineScriptRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { LineScript(request, ToReplier(replier)); });
  dispatcher.OnRequest<tdm::v1::PortCommandRequest>(
      [this](const tdm::v1::PortCommandRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { PortCommand(request, ToReplier(replier)); });
  // An operator's session makes the line the operator's: call control leaves it alone
  // (no dial tone at off-hook, no incoming calls) until the operator deletes it.
  dispatcher.OnRequest<media::v1::CreateSessionRequest>([this](const media::v1::CreateSessionRequest& request,
                                                               const bus::v1::Envelope&,
                                                               const bus::Replier& replier) {
    const uint32_t line = request.params().line();
    CreateSession(request, [this, replier, line](const bus::v1::Envelope& reply) {
      if (reply.error().code() == bus::v1::ERROR_CODE_UNSPECIFIED && operator_lines_.insert(line).second &&
          on_operator_line_) {
        on_operator_line_(line, true);
      }
      ToReplier(replier)(reply);
    });
  });
  dispatcher.OnRequest<media::v1::ModifySessionRequest>(
      [this](const media::v1::ModifySessionRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { ModifySession(request, ToReplier(replier)); });
  dispatcher.OnRequest<media::v1::DeleteSessionRequest>([this](const media::v1::DeleteSessionRequest& request,
                                                               const bus::v1::Envelope&,
                                                               const bus::Replier& replier) {
    std::vector<uint32_t> released;
    for (uint32_t line : operator_lines_) {
      if (request.line() == 0 || request.line() == line) released.push_back(line);
    }
    DeleteSession(request, ToReplier(replier));
    for (uint32_t line : released) {
      // A line whose operator session is gone (or one of its legs: the operator is done
      // with it) goes back to call control.
      operator_lines_.erase(line);
      if (on_operator_line_) on_operator_line_(line, false);
    }
  });
  dispatcher.OnRequest<media::v1::ListSessionsRequest>([this](const media::v1::ListSessionsRequest& request,
                                                              const bus::v1::Envelope&,
                                                              const bus::Replier& replier) {
    struct Gather {
      media::v1::ListSessionsReply reply;
      size_t waiting = 0;
    };
    auto gather = std::make_shared<Gather>();
    const uint32_t shards = std::max<uint32_t>(1, config_.media().process_count());
    gather->waiting = shards;
    for (uint32_t shard = 0; shard < shards; ++shard) {
      const std::string peer = media::MediaProcessName(shard);
      server_.Request(peer, request, timeout(), [gather, replier, peer](const bus::v1::Envelope& reply) {
        if (auto listed = bus::Unpack<media::v1::ListSessionsReply>(reply)) {
          for (const auto& stats : listed->sessions()) *gather->reply.add_sessions() = stats;
          for (const auto& shard_stats : listed->shards()) *gather->reply.add_shards() = shard_stats;
        } else {
          media::v1::ShardStats* missing = gather->reply.add_shards();
          missing->set_process(peer + " (" + listed.error() + ")");
        }
        if (--gather->waiting == 0) replier.Reply(gather->reply);
      });
    }
  });
  dispatcher.OnRequest<media::v1::PlayToneRequest>(
      [this](const media::v1::PlayToneRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { PlayTone(request, ToReplier(replier)); });
  dispatcher.OnRequest<media::v1::SendCallerIdRequest>(
      [this](const media::v1::SendCallerIdRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { SendCallerId(request, ToReplier(replier)); });
  dispatcher.OnRequest<media::v1::DigitDetectionRequest>(
      [this](const media::v1::DigitDetectionRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { DigitDetection(request, ToReplier(replier)); });
  dispatcher.OnRequest<media::v1::SendDigitsRequest>(
      [this](const media::v1::SendDigitsRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { SendDigits(request, ToReplier(replier)); });
}

void MediaRouter::CreateSession(const media::v1::CreateSessionRequest& request, Done done) {
  const SessionKey key{request.params().line(), request.params().leg()};
  std::string peer, error;
  if (!MediaOf(key.first, peer, error)) return done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, error));
  server_.Request(peer, request, timeout(), [this, done, request, key](const bus::v1::Envelope& reply) {
    if (auto created = bus::Unpack<media::v1::CreateSessionReply>(reply)) {
      media::v1::SessionParams params = request.params();
      params.set_local_port(created->local_port());
      sessions_[key] = params;
    }
    done(reply);
  });
}

void MediaRouter::ModifySession(const media::v1::ModifySessionRequest& request, Done done) {
  const SessionKey key{request.params().line(), request.params().leg()};
  std::string peer, error;
  if (!MediaOf(key.first, peer, error)) return done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, error));
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    return done(ErrorReply(
        bus::v1::ERROR_CODE_NOT_FOUND,
        "line " + std::to_string(key.first) + " leg " + std::to_string(key.second) + " has no session"));
  }
  media::v1::ModifySessionRequest forwarded = request;
  forwarded.mutable_params()->set_local_port(it->second.local_port());
  server_.Request(peer, forwarded, timeout(), [this, done, forwarded, key](const bus::v1::Envelope& reply) {
    if (!Failed(reply)) sessions_[key] = forwarded.params();
    done(reply);
  });
}

void MediaRouter::DeleteSession(const media::v1::DeleteSessionRequest& request, Done done) {
  std::vector<std::string> peers;
  if (request.line() == 0) {
    for (uint32_t shard = 0; shard < std::max<uint32_t>(1, config_.media().process_count()); ++shard) {
      peers.push_back(media::MediaProcessName(shard));
    }
    sessions_.clear();
  } else {
    std::string peer, error;
    if (!MediaOf(request.line(), peer, error)) return done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, error));
    // Forgotten whatever media answers: whoever deletes a session wants it gone, also
    // from the table a restarted media process would get back.
    if (request.all_legs()) {
      sessions_.erase(SessionKey{request.line(), 0});
      sessions_.erase(SessionKey{request.line(), 1});
    } else {
      sessions_.erase(SessionKey{request.line(), request.leg()});
    }
    peers.push_back(peer);
  }
  struct Gather {
    media::v1::DeleteSessionReply reply;
    size_t waiting = 0;
    std::string error;
  };
  auto gather = std::make_shared<Gather>();
  gather->waiting = peers.size();
  const bool single = request.line() != 0;
  for (const std::string& peer : peers) {
    server_.Request(peer, request, timeout(), [gather, done, single](const bus::v1::Envelope& reply) {
      if (auto deleted = bus::Unpack<media::v1::DeleteSessionReply>(reply)) {
        for (const auto& stats : deleted->final_stats()) *gather->reply.add_final_stats() = stats;
      } else {
        gather->error = deleted.error();
      }
      if (--gather->waiting > 0) return;
      if (single && !gather->error.empty()) {
        done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, gather->error));
      } else {
        done(SuccessReply(gather->reply));
      }
    });
  }
}

void MediaRouter::PlayTone(const media::v1::PlayToneRequest& request, Done done) {
  ToMediaOf(request.line(), request, std::move(done));
}

void MediaRouter::SendCallerId(const media::v1::SendCallerIdRequest& request, Done done) {
  ToMediaOf(request.line(), request, std::move(done));
}

void MediaRouter::DigitDetection(const media::v1::DigitDetectionRequest& request, Done done) {
  ToMediaOf(request.line(), request, std::move(done));
}

void MediaRouter::SendDigits(const media::v1::SendDigitsRequest& request, Done done) {
  ToMediaOf(request.line(), request, std::move(done));
}

void MediaRouter::LineScript(const tdm::v1::LineScriptRequest& request, Done done) {
  server_.Request("tdm", request, timeout(), std::move(done));
}

void MediaRouter::OnProcessState(const process::v1::ProcessStatus& status,
                                 process::v1::ProcessState previous) {
  if (status.kind() != process::v1::PROCESS_KIND_MEDIA) return;
  if (status.state() != process::v1::PROCESS_STATE_RUNNING || previous == process::v1::PROCESS_STATE_RUNNING)
    return;
  RestoreSessions(status.shard());
}

void MediaRouter::RestoreSessions(uint32_t shard) {
  const std::string peer = media::MediaProcessName(shard);
  size_t count = 0;
  for (const auto& [key, params] : sessions_) {
    if (media::ShardOfLine(config_, key.first) != static_cast<int>(shard)) continue;
    media::v1::CreateSessionRequest request;
    *request.mutable_params() = params;
    ++count;
    server_.Request(
        peer, request, timeout(), [line = key.first, leg = key.second, peer](const bus::v1::Envelope& reply) {
          auto created = bus::Unpack<media::v1::CreateSessionReply>(reply);
          if (!created && created.error().find("already has a session") == std::string::npos) {
            log::Error("session not restored",
                       {{"line", line}, {"leg", leg}, {"process", peer}, {"error", created.error()}});
          }
        });
  }
  if (count > 0) log::Info("restoring sessions", {{"process", peer}, {"sessions", count}});
}

void MediaRouter::PortCommand(const tdm::v1::PortCommandRequest& request, Done done) {
  const bool caller_id = request.command_case() == tdm::v1::PortCommandRequest::kRing &&
                         (!request.caller_id().number().empty() || !request.caller_id().name().empty());
  if (!caller_id) return server_.Request("tdm", request, timeout(), std::move(done));
  std::string peer, error;
  if (!MediaOf(request.line(), peer, error)) return done(ErrorReply(bus::v1::ERROR_CODE_NOT_FOUND, error));
  media::v1::SendCallerIdRequest cid;
  cid.set_line(request.line());
  *cid.mutable_caller_id() = request.caller_id();
  if (cid.caller_id().standard() == tdm::v1::CALLER_ID_STANDARD_UNSPECIFIED) {
    cid.mutable_caller_id()->set_standard(tdm::v1::CALLER_ID_STANDARD_BELL202);
  }
  if (cid.caller_id().standard() == tdm::v1::CALLER_ID_STANDARD_DTMF) {
    // DTMF caller ID goes before the first ring: send it now, ring when it is over
    // ("A" + digits + "C", 70 ms on + 70 ms off each, and a pause).
    cid.set_delay_ms(0);
    const uint32_t ring_after_ms = static_cast<uint32_t>(cid.caller_id().number().size() + 2) * 140 + 500;
    server_.Request(
        peer, cid, timeout(), [this, done, request, ring_after_ms](const bus::v1::Envelope& reply) {
          if (Failed(reply)) return done(reply);
          reactor_.AddTimer(std::chrono::milliseconds(ring_after_ms),
                            [this, done, request] { server_.Request("tdm", request, timeout(), done); });
        });
    return;
  }
  // FSK: ring first, then the caller ID in the first silent interval.
  uint32_t first_ring_ms = 2000;
  if (request.ring().segments_ms_size() > 0) first_ring_ms = request.ring().segments_ms(0);
  cid.set_delay_ms(first_ring_ms + kCallerIdAfterRingMs);
  server_.Request("tdm", request, timeout(), [this, done, peer, cid](const bus::v1::Envelope& reply) {
    if (Failed(reply)) return done(reply);
    server_.Request(peer, cid, timeout(), [done, reply](const bus::v1::Envelope& cid_reply) {
      if (Failed(cid_reply)) {
        return done(ErrorReply(cid_reply.error().code(),
                               "ringing, but caller ID refused: " + cid_reply.error().message()));
      }
      done(reply);
    });
  });
}

}  // namespace linegate::control
