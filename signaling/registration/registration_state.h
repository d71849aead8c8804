#pragma once
// The registration state machine of one entity (RFC 3261 section 10.2) as an explicit
// table of (state, event) -> (next state, action). RegistrationClient classifies every
// command, response and timer into an event, looks the pair up and runs the action; a
// pair without a row is illegal: logged, counted and otherwise ignored.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace linegate::signaling::registration {

enum class RegistrationState : uint8_t {
  kUnregistered,   // no binding, nothing scheduled
  kRegistering,    // no confirmed binding; a REGISTER is queued, in flight or waiting to retry
  kRegistered,     // binding confirmed until expires_at; refreshes keep this state
  kUnregistering,  // an Expires: 0 REGISTER is queued, in flight or waiting to retry
  kFailed,         // the registrar refused (403/404/other 4xx-6xx, authentication); see README
};
inline constexpr int kRegistrationStateCount = 5;

enum class RegistrationEvent : uint8_t {
  kRegisterCommand,
  kUnregisterCommand,
  kRegisterOk,        // 2xx to a REGISTER with Expires > 0
  kUnregisterOk,      // 2xx to Expires: 0, or nothing was ever sent that needs removing
  kChallenge,         // 401/407 answered by the DigestClient (stale ones included)
  kAuthFailed,        // 401/407 that cannot or must not be answered again
  kIntervalTooBrief,  // 423 with a usable Min-Expires (RFC 3261 10.2.8)
  kRejected,          // 403, 404 and other final failures not retried automatically
  kRetryableFailure,  // 408, 5xx, timeout, transport error
  kRetriesExhausted,  // an unregistration that keeps failing: give up, it expires anyway
  kRefreshTimer,      // time to refresh the binding (RFC 3261 10.2.4)
  kRetryTimer,        // backoff over, or long retry after a failure
  kBindingExpired,    // the granted interval ran out before a refresh succeeded
};
inline constexpr int kRegistrationEventCount = 13;

enum class RegistrationAction : uint8_t {
  kNone,
  kQueueRegister,     // a new REGISTER cycle through the pacer (initial, after a failure)
  kSendRegister,      // a new REGISTER cycle now (refresh, retry timer)
  kResend,            // the same request again now: with credentials, or a raised Expires
  kArmRefresh,        // binding granted: arm the refresh and expiry timers
  kRetryLater,        // fail over to the next proxy (paced) or back off
  kFail,              // record the failure, arm the long retry if configured
  kStartUnregister,   // drop timers and queue, send Expires: 0 (or finish: nothing bound)
  kSendUnregister,    // retry the Expires: 0 REGISTER
  kFinishUnregister,  // no binding any more: drop timers and state
  kCancelTimers,
};

std::string_view StateName(RegistrationState state);
std::string_view EventName(RegistrationEvent event);
std::string_view ActionName(RegistrationAction action);

struct RegistrationTransition {
  RegistrationState from;
  RegistrationEvent event;
  RegistrationState to;
  RegistrationAction action;
};

// clang-format off
inline constexpr std::array<RegistrationTransition, 34> kRegistrationTransitions = {{
    // from                             event                                  to                                action
    {RegistrationState::kUnregistered,  RegistrationEvent::kRegisterCommand,   RegistrationState::kRegistering,   RegistrationAction::kQueueRegister},
    {RegistrationState::kUnregistered,  RegistrationEvent::kUnregisterCommand, RegistrationState::kUnregistered,  RegistrationAction::kNone},

    {RegistrationState::kRegistering,   RegistrationEvent::kRegisterCommand,   RegistrationState::kRegistering,   RegistrationAction::kNone},
    {RegistrationState::kRegistering,   RegistrationEvent::kUnregisterCommand, RegistrationState::kUnregistering, RegistrationAction::kStartUnregister},
    {RegistrationState::kRegistering,   RegistrationEvent::kRegisterOk,        RegistrationState::kRegistered,    RegistrationAction::kArmRefresh},
    {RegistrationState::kRegistering,   RegistrationEvent::kChallenge,         RegistrationState::kRegistering,   RegistrationAction::kResend},
    {RegistrationState::kRegistering,   RegistrationEvent::kAuthFailed,        RegistrationState::kFailed,        RegistrationAction::kFail},
    {RegistrationState::kRegistering,   RegistrationEvent::kIntervalTooBrief,  RegistrationState::kRegistering,   RegistrationAction::kResend},
    {RegistrationState::kRegistering,   RegistrationEvent::kRejected,          RegistrationState::kFailed,        RegistrationAction::kFail},
    {RegistrationState::kRegistering,   RegistrationEvent::kRetryableFailure,  RegistrationState::kRegistering,   RegistrationAction::kRetryLater},
    {RegistrationState::kRegistering,   RegistrationEvent::kRetryTimer,        RegistrationState::kRegistering,   RegistrationAction::kSendRegister},

    {RegistrationState::kRegistered,    RegistrationEvent::kRegisterCommand,   RegistrationState::kRegistered,    RegistrationAction::kNone},
    {RegistrationState::kRegistered,    RegistrationEvent::kUnregisterCommand, RegistrationState::kUnregistering, RegistrationAction::kStartUnregister},
    {RegistrationState::kRegistered,    RegistrationEvent::kRegisterOk,        RegistrationState::kRegistered,    RegistrationAction::kArmRefresh},
    {RegistrationState::kRegistered,    RegistrationEvent::kChallenge,         RegistrationState::kRegistered,    RegistrationAction::kResend},
    {RegistrationState::kRegistered,    RegistrationEvent::kAuthFailed,        RegistrationState::kFailed,        RegistrationAction::kFail},
    {RegistrationState::kRegistered,    RegistrationEvent::kIntervalTooBrief,  RegistrationState::kRegistered,    RegistrationAction::kResend},
    {RegistrationState::kRegistered,    RegistrationEvent::kRejected,          RegistrationState::kFailed,        RegistrationAction::kFail},
    {RegistrationState::kRegistered,    RegistrationEvent::kRetryableFailure,  RegistrationState::kRegistered,    RegistrationAction::kRetryLater},
    {RegistrationState::kRegistered,    RegistrationEvent::kRefreshTimer,      RegistrationState::kRegistered,    RegistrationAction::kSendRegister},
    {RegistrationState::kRegistered,    RegistrationEvent::kRetryTimer,        RegistrationState::kRegistered,    RegistrationAction::kSendRegister},
    {RegistrationState::kRegistered,    RegistrationEvent::kBindingExpired,    RegistrationState::kRegistering,   RegistrationAction::kNone},

    {RegistrationState::kUnregistering, RegistrationEvent::kRegisterCommand,   RegistrationState::kRegistering,   RegistrationAction::kQueueRegister},
    {RegistrationState::kUnregistering, RegistrationEvent::kUnregisterCommand, RegistrationState::kUnregistering, RegistrationAction::kNone},
    {RegistrationState::kUnregistering, RegistrationEvent::kUnregisterOk,      RegistrationState::kUnregistered,  RegistrationAction::kFinishUnregister},
    {RegistrationState::kUnregistering, RegistrationEvent::kChallenge,         RegistrationState::kUnregistering, RegistrationAction::kResend},
    {RegistrationState::kUnregistering, RegistrationEvent::kAuthFailed,        RegistrationState::kUnregistered,  RegistrationAction::kFinishUnregister},
    {RegistrationState::kUnregistering, RegistrationEvent::kRejected,          RegistrationState::kUnregistered,  RegistrationAction::kFinishUnregister},
    {RegistrationState::kUnregistering, RegistrationEvent::kRetryableFailure,  RegistrationState::kUnregistering, RegistrationAction::kRetryLater},
    {RegistrationState::kUnregistering, RegistrationEvent::kRetriesExhausted,  RegistrationState::kUnregistered,  RegistrationAction::kFinishUnregister},
    {RegistrationState::kUnregistering, RegistrationEvent::kRetryTimer,        RegistrationState::kUnregistering, RegistrationAction::kSendUnregister},

    {RegistrationState::kFailed,        RegistrationEvent::kRegisterCommand,   RegistrationState::kRegistering,   RegistrationAction::kQueueRegister},
    {RegistrationState::kFailed,        RegistrationEvent::kUnregisterCommand, RegistrationState::kUnregistered,  RegistrationAction::kCancelTimers},
    {RegistrationState::kFailed,        RegistrationEvent::kRetryTimer,        RegistrationState::kRegistering,   RegistrationAction::kQueueRegister},
}};
// clang-format on

std::optional<RegistrationTransition> FindTransition(RegistrationState from, RegistrationEvent event);

}  // namespace linegate::signaling::registration
