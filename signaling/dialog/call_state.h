#pragma once
// The states of one call (one INVITE dialog, RFC 3261 12-15) as the CallAgent drives
// it, and which moves between them are legal. The agent refuses (logs and counts) any
// other move, so a message arriving out of turn cannot bend a call into a state the
// code after it does not expect.

#include <array>
#include <cstdint>
#include <string_view>

namespace linegate::signaling::dialog {

enum class CallState : uint8_t {
  kCalling,      // UAC: INVITE sent, nothing but 100 back yet
  kProceeding,   // UAS: INVITE received, not answered; UAC: 1xx without a To tag
  kEarly,        // early dialog: a 1xx with a To tag sent (UAS) or received (UAC)
  kConfirmed,    // 2xx sent or received: the dialog is established
  kTerminating,  // CANCEL or BYE sent, waiting for its outcome
  kTerminated,   // released; the agent forgets the call
};

std::string_view CallStateName(CallState state);  // "calling", "proceeding", ...

struct CallTransition {
  CallState from;
  CallState to;
};

// clang-format off
inline constexpr std::array<CallTransition, 15> kCallTransitions = {{
    {CallState::kCalling,     CallState::kProceeding},   // UAC: 1xx without tag
    {CallState::kCalling,     CallState::kEarly},        // UAC: 1xx with tag
    {CallState::kCalling,     CallState::kConfirmed},    // UAC: 2xx
    {CallState::kCalling,     CallState::kTerminating},  // UAC: EndCall (CANCEL deferred)
    {CallState::kCalling,     CallState::kTerminated},   // UAC: failure, timeout
    {CallState::kProceeding,  CallState::kEarly},        // 1xx with tag
    {CallState::kProceeding,  CallState::kConfirmed},    // 2xx
    {CallState::kProceeding,  CallState::kTerminating},  // UAC: CANCEL sent
    {CallState::kProceeding,  CallState::kTerminated},   // failure, CANCEL received, rejected
    {CallState::kEarly,       CallState::kConfirmed},
    {CallState::kEarly,       CallState::kTerminating},
    {CallState::kEarly,       CallState::kTerminated},
    {CallState::kConfirmed,   CallState::kTerminating},  // BYE sent
    {CallState::kConfirmed,   CallState::kTerminated},   // BYE received
    {CallState::kTerminating, CallState::kTerminated},
}};
// clang-format on

constexpr bool IsLegalTransition(CallState from, CallState to) {
  for (const CallTransition& t : kCallTransitions) {
    if (t.from == from && t.to == to) return true;
  }
  return false;
}

}  // namespace linegate::signaling::dialog
