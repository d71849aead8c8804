#include "control/media_router.h"

#include "common/bus/envelope.h"
#include "common/log.h"
#include "linegate/tdm/v1/line.pb.h"
#include "media/shard_map.h"

namespace linegate::control {
namespace {

// How long before the first silent interval of a ring the caller ID waits (GR-30:
// at least 500 ms after the first ring ends; ETSI EN 300 659-1 likewise after the
// first ring).
constexpr uint32_t kCallerIdAfterRingMs = 600;

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

void MediaRouter::Relay(const std::string& peer, const google::protobuf::Message& request,
                        const bus::Replier& replier) {
  server_.Request(peer, request, timeout(), [replier](const bus::v1::Envelope& reply) {
    if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
      replier.Fail(reply.error().code(), reply.error().message());
      return;
    }
    replier.Forward(reply.payload());
  });
}

void MediaRouter::RegisterHandlers(bus::Dispatcher& dispatcher) {
  dispatcher.OnRequest<tdm::v1::LineScriptRequest>(
      [this](const tdm::v1::LineScriptRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { Relay("tdm", request, replier); });
  dispatcher.OnRequest(tdm::v1::PortCommandRequest::descriptor()->full_name(),
                       [this](const bus::v1::Envelope& envelope, const bus::Replier& replier) {
                         HandlePortCommand(envelope, replier);
                       });
  dispatcher.OnRequest<media::v1::CreateSessionRequest>(
      [this](const media::v1::CreateSessionRequest& request, const bus::v1::Envelope&,
             const bus::Replier& replier) { CreateSession(request, replier); });
  dispatcher.OnRequest<media::v1::ModifySessionRequest>([this](const media::v1::ModifySessionRequest& request,
                                                               const bus::v1::Envelope&,
                                                               const bus::Replier& replier) {
    std::string peer, error;
    if (!MediaOf(request.params().line(), peer, error))
      return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
    auto it = sessions_.find(request.params().line());
    if (it == sessions_.end()) {
      return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND,
                          "line " + std::to_string(request.params().line()) + " has no session");
    }
    media::v1::ModifySessionRequest forwarded = request;
    forwarded.mutable_params()->set_local_port(it->second.local_port());
    const uint32_t line = request.params().line();
    server_.Request(peer, forwarded, timeout(),
                    [this, replier, forwarded, line](const bus::v1::Envelope& reply) {
                      if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
                        replier.Fail(reply.error().code(), reply.error().message());
                        return;
                      }
                      sessions_[line] = forwarded.params();
                      replier.Forward(reply.payload());
                    });
  });
  dispatcher.OnRequest<media::v1::DeleteSessionRequest>([this](const media::v1::DeleteSessionRequest& request,
                                                               const bus::v1::Envelope&,
                                                               const bus::Replier& replier) {
    std::vector<std::string> peers;
    if (request.line() == 0) {
      for (uint32_t shard = 0; shard < std::max<uint32_t>(1, config_.media().process_count()); ++shard) {
        peers.push_back(media::MediaProcessName(shard));
      }
      sessions_.clear();
    } else {
      std::string peer, error;
      if (!MediaOf(request.line(), peer, error)) return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
      // Forgotten whatever media answers: an operator deleting a session wants it gone,
      // also from the table a restarted media process would get back.
      sessions_.erase(request.line());
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
      server_.Request(peer, request, timeout(), [gather, replier, single](const bus::v1::Envelope& reply) {
        if (auto deleted = bus::Unpack<media::v1::DeleteSessionReply>(reply)) {
          for (const auto& stats : deleted->final_stats()) *gather->reply.add_final_stats() = stats;
        } else {
          gather->error = deleted.error();
        }
        if (--gather->waiting > 0) return;
        if (single && !gather->error.empty()) {
          replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, gather->error);
        } else {
          replier.Reply(gather->reply);
        }
      });
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
  dispatcher.OnRequest<media::v1::PlayToneRequest>([this](const media::v1::PlayToneRequest& request,
                                                          const bus::v1::Envelope&,
                                                          const bus::Replier& replier) {
    std::string peer, error;
    if (!MediaOf(request.line(), peer, error)) return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
    Relay(peer, request, replier);
  });
  dispatcher.OnRequest<media::v1::SendCallerIdRequest>([this](const media::v1::SendCallerIdRequest& request,
                                                              const bus::v1::Envelope&,
                                                              const bus::Replier& replier) {
    std::string peer, error;
    if (!MediaOf(request.line(), peer, error)) return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
    Relay(peer, request, replier);
  });
}

void MediaRouter::CreateSession(const media::v1::CreateSessionRequest& request, const bus::Replier& replier) {
  std::string peer, error;
  if (!MediaOf(request.params().line(), peer, error))
    return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
  const uint32_t line = request.params().line();
  server_.Request(peer, request, timeout(), [this, replier, request, line](const bus::v1::Envelope& reply) {
    auto created = bus::Unpack<media::v1::CreateSessionReply>(reply);
    if (!created) {
      replier.Fail(reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED ? reply.error().code()
                                                                           : bus::v1::ERROR_CODE_INTERNAL,
                   created.error());
      return;
    }
    media::v1::SessionParams params = request.params();
    params.set_local_port(created->local_port());
    sessions_[line] = params;
    replier.Reply(*created);
  });
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
  for (const auto& [line, params] : sessions_) {
    if (media::ShardOfLine(config_, line) != static_cast<int>(shard)) continue;
    media::v1::CreateSessionRequest request;
    *request.mutable_params() = params;
    ++count;
    server_.Request(peer, request, timeout(), [line = line, peer](const bus::v1::Envelope& reply) {
      auto created = bus::Unpack<media::v1::CreateSessionReply>(reply);
      if (!created && created.error().find("already has a session") == std::string::npos) {
        log::Error("session not restored", {{"line", line}, {"process", peer}, {"error", created.error()}});
      }
    });
  }
  if (count > 0) log::Info("restoring sessions", {{"process", peer}, {"sessions", count}});
}

void MediaRouter::HandlePortCommand(const bus::v1::Envelope& envelope, const bus::Replier& replier) {
  tdm::v1::PortCommandRequest request;
  if (!envelope.payload().UnpackTo(&request)) {
    return replier.Fail(bus::v1::ERROR_CODE_INVALID_ARGUMENT,
                        "payload does not decode as PortCommandRequest");
  }
  const bool caller_id = request.command_case() == tdm::v1::PortCommandRequest::kRing &&
                         (!request.caller_id().number().empty() || !request.caller_id().name().empty());
  if (!caller_id) return Relay("tdm", request, replier);
  std::string peer, error;
  if (!MediaOf(request.line(), peer, error)) return replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, error);
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
    server_.Request(peer, cid, timeout(),
                    [this, replier, request, ring_after_ms](const bus::v1::Envelope& reply) {
                      if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
                        replier.Fail(reply.error().code(), reply.error().message());
                        return;
                      }
                      reactor_.AddTimer(std::chrono::milliseconds(ring_after_ms),
                                        [this, replier, request] { Relay("tdm", request, replier); });
                    });
    return;
  }
  // FSK: ring first, then the caller ID in the first silent interval.
  uint32_t first_ring_ms = 2000;
  if (request.ring().segments_ms_size() > 0) first_ring_ms = request.ring().segments_ms(0);
  cid.set_delay_ms(first_ring_ms + kCallerIdAfterRingMs);
  server_.Request("tdm", request, timeout(), [this, replier, peer, cid](const bus::v1::Envelope& reply) {
    if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
      replier.Fail(reply.error().code(), reply.error().message());
      return;
    }
    const google::protobuf::Any ring_reply = reply.payload();
    server_.Request(peer, cid, timeout(), [replier, ring_reply](const bus::v1::Envelope& cid_reply) {
      if (cid_reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) {
        replier.Fail(cid_reply.error().code(),
                     "ringing, but caller ID refused: " + cid_reply.error().message());
        return;
      }
      replier.Forward(ring_reply);
    });
  });
}

}  // namespace linegate::control
