#include "common/bus/dispatcher.h"

#include <vector>

#include "common/log.h"

namespace linegate::bus {

void Replier::Reply(const google::protobuf::Message& message) const {
  if (state_->replied) return;
  state_->replied = true;
  state_->send(MakeEnvelope(v1::MESSAGE_KIND_REPLY, state_->correlation_id, state_->source, message));
}

void Replier::Forward(const google::protobuf::Any& payload) const {
  if (state_->replied) return;
  state_->replied = true;
  v1::Envelope envelope;
  envelope.set_protocol_version(kProtocolVersion);
  envelope.set_kind(v1::MESSAGE_KIND_REPLY);
  envelope.set_correlation_id(state_->correlation_id);
  envelope.set_source(state_->source);
  *envelope.mutable_payload() = payload;
  state_->send(envelope);
}

void Replier::Fail(v1::ErrorCode code, std::string message) const {
  if (state_->replied) return;
  state_->replied = true;
  state_->send(MakeErrorReply(state_->correlation_id, state_->source, code, std::move(message)));
}

uint64_t Dispatcher::Track(TimePoint deadline, ReplyCallback callback) {
  uint64_t id = next_correlation_id_++;
  pending_.emplace(id, Pending{deadline, std::move(callback)});
  return id;
}

ReplyCallback Dispatcher::Untrack(uint64_t correlation_id) {
  auto it = pending_.find(correlation_id);
  if (it == pending_.end()) return nullptr;
  ReplyCallback callback = std::move(it->second.callback);
  pending_.erase(it);
  return callback;
}

void Dispatcher::ExpireDue(TimePoint now) {
  std::vector<uint64_t> expired;
  for (const auto& [id, pending] : pending_) {
    if (pending.deadline <= now) expired.push_back(id);
  }
  for (uint64_t id : expired) {
    ReplyCallback callback = Untrack(id);
    if (callback) callback(MakeErrorReply(id, self_name_, v1::ERROR_CODE_TIMEOUT, "request timed out"));
  }
}

void Dispatcher::FailAll(v1::ErrorCode code, const std::string& message) {
  std::map<uint64_t, Pending> failed;
  failed.swap(pending_);
  for (auto& [id, pending] : failed) pending.callback(MakeErrorReply(id, self_name_, code, message));
}

bool Dispatcher::Dispatch(const v1::Envelope& envelope, const Replier::Send& send_reply) {
  const std::string type(PayloadType(envelope));
  switch (envelope.kind()) {
    case v1::MESSAGE_KIND_REQUEST: {
      Replier replier(send_reply, envelope.correlation_id(), self_name_);
      auto it = request_handlers_.find(type);
      if (it == request_handlers_.end()) {
        replier.Fail(v1::ERROR_CODE_UNKNOWN_TYPE, "no handler for request type '" + type + "'");
        return false;
      }
      it->second(envelope, replier);
      return true;
    }
    case v1::MESSAGE_KIND_REPLY: {
      ReplyCallback callback = Untrack(envelope.correlation_id());
      if (!callback) {
        // Late reply after a timeout: harmless, but worth a trace.
        log::Debug("reply without a request in flight",
                   {{"correlation_id", envelope.correlation_id()}, {"from", envelope.source()}});
        return false;
      }
      callback(envelope);
      return true;
    }
    case v1::MESSAGE_KIND_EVENT: {
      auto it = event_handlers_.find(type);
      if (it == event_handlers_.end()) {
        if (!any_event_handler_) return false;
        any_event_handler_(envelope);
        return true;
      }
      it->second(envelope);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace linegate::bus
