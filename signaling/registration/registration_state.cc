#include "signaling/registration/registration_state.h"

namespace linegate::signaling::registration {

std::string_view StateName(RegistrationState state) {
  switch (state) {
    case RegistrationState::kUnregistered:
      return "unregistered";
    case RegistrationState::kRegistering:
      return "registering";
    case RegistrationState::kRegistered:
      return "registered";
    case RegistrationState::kUnregistering:
      return "unregistering";
    case RegistrationState::kFailed:
      return "failed";
  }
  return "unknown-state";
}

std::string_view EventName(RegistrationEvent event) {
  switch (event) {
    case RegistrationEvent::kRegisterCommand:
      return "register-command";
    case RegistrationEvent::kUnregisterCommand:
      return "unregister-command";
    case RegistrationEvent::kRegisterOk:
      return "register-ok";
    case RegistrationEvent::kUnregisterOk:
      return "unregister-ok";
    case RegistrationEvent::kChallenge:
      return "challenge";
    case RegistrationEvent::kAuthFailed:
      return "auth-failed";
    case RegistrationEvent::kIntervalTooBrief:
      return "interval-too-brief";
    case RegistrationEvent::kRejected:
      return "rejected";
    case RegistrationEvent::kRetryableFailure:
      return "retryable-failure";
    case RegistrationEvent::kRetriesExhausted:
      return "retries-exhausted";
    case RegistrationEvent::kRefreshTimer:
      return "refresh-timer";
    case RegistrationEvent::kRetryTimer:
      return "retry-timer";
    case RegistrationEvent::kBindingExpired:
      return "binding-expired";
  }
  return "unknown-event";
}

std::string_view ActionName(RegistrationAction action) {
  switch (action) {
    case RegistrationAction::kNone:
      return "none";
    case RegistrationAction::kQueueRegister:
      return "queue-register";
    case RegistrationAction::kSendRegister:
      return "send-register";
    case RegistrationAction::kResend:
      return "resend";
    case RegistrationAction::kArmRefresh:
      return "arm-refresh";
    case RegistrationAction::kRetryLater:
      return "retry-later";
    case RegistrationAction::kFail:
      return "fail";
    case RegistrationAction::kStartUnregister:
      return "start-unregister";
    case RegistrationAction::kSendUnregister:
      return "send-unregister";
    case RegistrationAction::kFinishUnregister:
      return "finish-unregister";
    case RegistrationAction::kCancelTimers:
      return "cancel-timers";
  }
  return "unknown-action";
}

std::optional<RegistrationTransition> FindTransition(RegistrationState from, RegistrationEvent event) {
  for (const RegistrationTransition& t : kRegistrationTransitions) {
    if (t.from == from && t.event == event) return t;
  }
  return std::nullopt;
}

}  // namespace linegate::signaling::registration
