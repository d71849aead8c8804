#include "signaling/signaling_service.h"

#include "common/bus/envelope.h"
#include "common/bus/utf8.h"
#include "common/log.h"

namespace linegate::signaling {
namespace {

v1::RegistrationKind KindToProto(registration::EntityKind kind) {
  switch (kind) {
    case registration::EntityKind::kGateway:
      return v1::REGISTRATION_KIND_GATEWAY;
    case registration::EntityKind::kEndpoint:
      return v1::REGISTRATION_KIND_ENDPOINT;
    case registration::EntityKind::kAccount:
      return v1::REGISTRATION_KIND_ACCOUNT;
  }
  return v1::REGISTRATION_KIND_UNSPECIFIED;
}

v1::RegistrationState StateToProto(registration::RegistrationState state) {
  switch (state) {
    case registration::RegistrationState::kUnregistered:
      return v1::REGISTRATION_STATE_UNREGISTERED;
    case registration::RegistrationState::kRegistering:
      return v1::REGISTRATION_STATE_REGISTERING;
    case registration::RegistrationState::kRegistered:
      return v1::REGISTRATION_STATE_REGISTERED;
    case registration::RegistrationState::kUnregistering:
      return v1::REGISTRATION_STATE_UNREGISTERING;
    case registration::RegistrationState::kFailed:
      return v1::REGISTRATION_STATE_FAILED;
  }
  return v1::REGISTRATION_STATE_UNSPECIFIED;
}

bus::v1::ErrorCode ToErrorCode(dialog::CallRefusal::Kind kind) {
  switch (kind) {
    case dialog::CallRefusal::Kind::kNotFound:
      return bus::v1::ERROR_CODE_NOT_FOUND;
    case dialog::CallRefusal::Kind::kInvalidArgument:
      return bus::v1::ERROR_CODE_INVALID_ARGUMENT;
    case dialog::CallRefusal::Kind::kUnavailable:
      return bus::v1::ERROR_CODE_UNAVAILABLE;
  }
  return bus::v1::ERROR_CODE_INTERNAL;
}

}  // namespace

v1::RegistrationStatus ToProto(const registration::RegistrationStatus& status, TimePoint now) {
  v1::RegistrationStatus out;
  out.set_id(status.id);
  out.set_kind(KindToProto(status.kind));
  out.set_aor(status.aor);
  out.set_state(StateToProto(status.state));
  if (status.expires_at && *status.expires_at > now) {
    out.set_expires_in_s(std::chrono::duration_cast<std::chrono::seconds>(*status.expires_at - now).count());
  }
  out.set_last_status(static_cast<uint32_t>(status.last_status_code));
  out.set_last_reason(status.last_reason);
  out.set_registrar(status.proxy);
  return out;
}

SignalingService::SignalingService(process::ProcessAgent& agent) : agent_(agent) {
  RegisterBusHandlers();
  RegisterCallHandlers();
}

Status SignalingService::Configure(const config::v1::Config& config) {
  if (stack_) {
    if (config.signaling().SerializeAsString() != signaling_.SerializeAsString()) {
      log::Warn("signaling configuration changed; it takes effect after a restart of linegate-signaling");
    }
    return Status::Ok();
  }
  signaling_ = config.signaling();
  auto stack = SipStack::Create(signaling_, agent_.reactor());
  if (!stack) return Error{stack.error()};
  stack_ = std::move(*stack);
  stack_->registrations().set_listener([this](const registration::RegistrationStatus& status) {
    v1::RegistrationStateChanged event;
    *event.mutable_status() = ToProto(status, agent_.reactor().clock().Now());
    auto previous = last_state_.find(status.id);
    event.set_previous(previous == last_state_.end() ? v1::REGISTRATION_STATE_UNSPECIFIED : previous->second);
    last_state_[status.id] = event.status().state();
    bus::MakeUtf8Fields(event);  // the registrar's reason phrase is its own text
    // The registration client logs each transition itself; here it becomes an event.
    agent_.client().Publish(event);
  });
  const auto all = stack_->registrations().StatusAll();
  log::Info("signaling configured", {{"listen_address", signaling_.listen_address()},
                                     {"sip_port", signaling_.sip_port()},
                                     {"registrations", all.size()}});
  stack_->StartCalls(config.calls(), [this](const v1::CallEvent& event) { agent_.client().Publish(event); });
  stack_->registrations().RegisterAll();
  return Status::Ok();
}

std::vector<std::string> SignalingService::Targets(const std::string& target) const {
  std::vector<std::string> ids;
  for (const auto& status : stack_->registrations().StatusAll()) {
    if (target == "all" || target.empty() || status.id == target) ids.push_back(status.id);
  }
  return ids;
}

void SignalingService::RegisterBusHandlers() {
  auto& dispatcher = agent_.client().dispatcher();
  dispatcher.OnRequest<v1::RegistrationListRequest>(
      [this](const v1::RegistrationListRequest&, const bus::v1::Envelope&, const bus::Replier& replier) {
        v1::RegistrationListReply reply;
        if (stack_) {
          const TimePoint now = agent_.reactor().clock().Now();
          for (const auto& status : stack_->registrations().StatusAll())
            *reply.add_registrations() = ToProto(status, now);
          bus::MakeUtf8Fields(reply);
        }
        replier.Reply(reply);
      });
  auto command = [this](const std::string& target, bool do_register, const bus::Replier& replier) {
    if (!stack_) {
      replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "signaling is not configured yet");
      return;
    }
    auto ids = Targets(target);
    if (ids.empty()) {
      replier.Fail(bus::v1::ERROR_CODE_NOT_FOUND, "no registration named '" + target + "'");
      return;
    }
    v1::RegistrationCommandReply reply;
    for (const std::string& id : ids) {
      Status done =
          do_register ? stack_->registrations().Register(id) : stack_->registrations().Unregister(id);
      if (done.ok()) {
        reply.add_affected(id);
      } else {
        log::Warn("registration command refused", {{"id", id}, {"error", done.error()}});
      }
    }
    replier.Reply(reply);
  };
  dispatcher.OnRequest<v1::RegisterRequest>(
      [command](const v1::RegisterRequest& r, const bus::v1::Envelope&, const bus::Replier& replier) {
        command(r.target(), true, replier);
      });
  dispatcher.OnRequest<v1::UnregisterRequest>(
      [command](const v1::UnregisterRequest& r, const bus::v1::Envelope&, const bus::Replier& replier) {
        command(r.target(), false, replier);
      });
}

void SignalingService::RegisterCallHandlers() {
  auto& dispatcher = agent_.client().dispatcher();
  // Runs `act` on the call agent and replies with `reply` or the refusal as a bus error.
  auto serve = [this](const bus::Replier& replier, const google::protobuf::Message& reply, auto act) {
    if (!stack_ || stack_->calls() == nullptr) {
      replier.Fail(bus::v1::ERROR_CODE_UNAVAILABLE, "signaling is not configured yet");
      return;
    }
    dialog::CallOutcome outcome = act(*stack_->calls());
    if (outcome) {
      replier.Fail(ToErrorCode(outcome->kind), outcome->message);
      return;
    }
    replier.Reply(reply);
  };
  dispatcher.OnRequest<v1::PlaceCallRequest>([serve](const v1::PlaceCallRequest& request,
                                                     const bus::v1::Envelope&, const bus::Replier& replier) {
    v1::PlaceCallReply reply;
    serve(replier, reply,
          [&](dialog::CallAgent& calls) { return calls.PlaceCall(request, *reply.mutable_sip_call_id()); });
  });
  dispatcher.OnRequest<v1::AnswerCallRequest>(
      [serve](const v1::AnswerCallRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        serve(replier, v1::AnswerCallReply(),
              [&](dialog::CallAgent& calls) { return calls.AnswerCall(request); });
      });
  dispatcher.OnRequest<v1::EndCallRequest>(
      [serve](const v1::EndCallRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        serve(replier, v1::EndCallReply(), [&](dialog::CallAgent& calls) { return calls.EndCall(request); });
      });
  dispatcher.OnRequest<v1::UpdateMediaRequest>(
      [serve](const v1::UpdateMediaRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        serve(replier, v1::UpdateMediaReply(),
              [&](dialog::CallAgent& calls) { return calls.UpdateMedia(request); });
      });
  dispatcher.OnRequest<v1::TransferCallRequest>(
      [serve](const v1::TransferCallRequest& request, const bus::v1::Envelope&, const bus::Replier& replier) {
        serve(replier, v1::TransferCallReply(),
              [&](dialog::CallAgent& calls) { return calls.TransferCall(request); });
      });
  dispatcher.OnRequest<v1::DialogListRequest>(
      [this](const v1::DialogListRequest&, const bus::v1::Envelope&, const bus::Replier& replier) {
        if (!stack_ || stack_->calls() == nullptr) {
          replier.Reply(v1::DialogListReply());
          return;
        }
        replier.Reply(stack_->calls()->ListDialogs());
      });
}

void SignalingService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::SignalingDetail* detail = heartbeat.mutable_signaling();
  detail->set_listen_address(signaling_.listen_address());
  uint32_t port = signaling_.sip_port();
  if (stack_) {
    if (auto local = stack_->transports().LocalAddress(transport::Protocol::kUdp)) port = local->port();
  }
  detail->set_sip_port(port);
}

}  // namespace linegate::signaling
