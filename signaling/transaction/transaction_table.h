#pragma once
// The four transaction state machines of RFC 3261 section 17 as explicit tables of
// (state, event) -> (next state, actions). A (state, event) pair that is in no row is
// an illegal event: the layer logs and counts it and changes nothing.
//
// Timers that only run on unreliable transports (A, E, G) are started by actions that
// do nothing on reliable ones; timers whose value is zero on reliable transports
// (D, K, I, J) fire at once, so those transactions leave Completed/Confirmed in the
// same call (RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2).

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "signaling/transaction/transaction_types.h"

namespace linegate::signaling::transaction {

enum class TransactionAction : uint8_t {
  kNone = 0,  // filler of unused action slots
  // Client.
  kSendRequest,        // first transmission of the request
  kRetransmitRequest,  // timer A / E fired
  kPassResponse,       // hand the response to the TU
  kSendAck,            // build the ACK for a non-2xx final and send it (17.1.1.3)
  kResendAck,          // a retransmitted non-2xx final: send the same ACK again
  kStartTimerA,        // T1, unreliable only
  kDoubleTimerA,       // 2x the last interval
  kCancelTimerA,
  kStartTimerB,  // 64*T1; also the 64*T1 guard after CANCEL (RFC 3261 9.1)
  kCancelTimerB,
  kStartTimerD,   // timer_d unreliable, 0 reliable
  kStartTimerE,   // T1, unreliable only
  kDoubleTimerE,  // min(2x, T2)
  kTimerEAtT2,    // T2 (Proceeding)
  kCancelTimerE,
  kStartTimerF,  // 64*T1
  kCancelTimerF,
  kStartTimerK,  // T4 unreliable, 0 reliable
  // Server.
  kPassRequest,     // hand the new request to the TU
  kSendResponse,    // send the response the TU passed and keep it as the last one
  kResendResponse,  // send the last response again, if there is one
  kSendTrying,      // build and send 100 Trying (17.2.1)
  kStartTimerTrying,
  kCancelTimerTrying,
  kStartTimerG,   // T1, unreliable only
  kDoubleTimerG,  // min(2x, T2)
  kCancelTimerG,
  kStartTimerH,  // 64*T1
  kCancelTimerH,
  kStartTimerI,  // T4 unreliable, 0 reliable
  kStartTimerJ,  // 64*T1 unreliable, 0 reliable
  // Both.
  kAbsorb,                // a retransmission consumed here (counted)
  kNotifyTimeout,         // TU: timeout (B, F: 408-equivalent; H: no ACK)
  kNotifyTransportError,  // TU: transport error (17.1.4, 17.2.4)
};
std::string_view TransactionActionName(TransactionAction action);

inline constexpr size_t kMaxActionsPerTransition = 5;

struct Transition {
  TransactionState state;
  TransactionEvent event;
  TransactionState next;
  std::array<TransactionAction, kMaxActionsPerTransition> actions;
};

// The table of one machine, in the order the README prints it.
std::span<const Transition> TransitionTable(TransactionKind kind);
// The row for (state, event), or nullptr when the event is illegal in that state.
const Transition* FindTransition(TransactionKind kind, TransactionState state, TransactionEvent event);
// The state a new transaction of this kind starts in (before its kStart event).
TransactionState InitialState(TransactionKind kind);

}  // namespace linegate::signaling::transaction
