#include "signaling/transaction/transaction_table.h"

namespace linegate::signaling::transaction {
namespace {

// One row per line: the tables are read as tables.
// clang-format off
using A = TransactionAction;
using E = TransactionEvent;
using S = TransactionState;

// RFC 3261 17.1.1.2, figure 5. 2xx terminates at once (the TU sends the ACK and absorbs
// 2xx retransmissions itself); RFC 6026's Accepted state is not implemented.
// Proceeding has no timer B: an INVITE that is ringing waits for its final response
// until the TU cancels it; after the CANCEL, 64*T1 bounds the wait (RFC 3261 9.1).
constexpr Transition kInviteClient[] = {
    {S::kCalling, E::kStart, S::kCalling, {A::kSendRequest, A::kStartTimerA, A::kStartTimerB}},
    {S::kCalling, E::kTimerA, S::kCalling, {A::kRetransmitRequest, A::kDoubleTimerA}},
    {S::kCalling, E::kTimerB, S::kTerminated, {A::kNotifyTimeout}},
    {S::kCalling, E::kProvisional, S::kProceeding, {A::kCancelTimerA, A::kCancelTimerB, A::kPassResponse}},
    {S::kCalling, E::kSuccess, S::kTerminated, {A::kPassResponse}},
    {S::kCalling, E::kFailure, S::kCompleted, {A::kCancelTimerA, A::kCancelTimerB, A::kStartTimerD, A::kSendAck, A::kPassResponse}},
    {S::kCalling, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    {S::kProceeding, E::kProvisional, S::kProceeding, {A::kPassResponse}},
    {S::kProceeding, E::kSuccess, S::kTerminated, {A::kPassResponse}},
    {S::kProceeding, E::kFailure, S::kCompleted, {A::kCancelTimerB, A::kStartTimerD, A::kSendAck, A::kPassResponse}},
    {S::kProceeding, E::kCancelSent, S::kProceeding, {A::kStartTimerB}},
    {S::kProceeding, E::kTimerB, S::kTerminated, {A::kNotifyTimeout}},
    {S::kCompleted, E::kFailure, S::kCompleted, {A::kAbsorb, A::kResendAck}},
    {S::kCompleted, E::kTimerD, S::kTerminated, {}},
    {S::kCompleted, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
};

// RFC 3261 17.1.2.2, figure 6.
constexpr Transition kNonInviteClient[] = {
    {S::kTrying, E::kStart, S::kTrying, {A::kSendRequest, A::kStartTimerE, A::kStartTimerF}},
    {S::kTrying, E::kTimerE, S::kTrying, {A::kRetransmitRequest, A::kDoubleTimerE}},
    {S::kTrying, E::kTimerF, S::kTerminated, {A::kNotifyTimeout}},
    {S::kTrying, E::kProvisional, S::kProceeding, {A::kPassResponse}},
    {S::kTrying, E::kSuccess, S::kCompleted, {A::kCancelTimerE, A::kCancelTimerF, A::kStartTimerK, A::kPassResponse}},
    {S::kTrying, E::kFailure, S::kCompleted, {A::kCancelTimerE, A::kCancelTimerF, A::kStartTimerK, A::kPassResponse}},
    {S::kTrying, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    {S::kProceeding, E::kTimerE, S::kProceeding, {A::kRetransmitRequest, A::kTimerEAtT2}},
    {S::kProceeding, E::kTimerF, S::kTerminated, {A::kNotifyTimeout}},
    {S::kProceeding, E::kProvisional, S::kProceeding, {A::kPassResponse}},
    {S::kProceeding, E::kSuccess, S::kCompleted, {A::kCancelTimerE, A::kCancelTimerF, A::kStartTimerK, A::kPassResponse}},
    {S::kProceeding, E::kFailure, S::kCompleted, {A::kCancelTimerE, A::kCancelTimerF, A::kStartTimerK, A::kPassResponse}},
    {S::kProceeding, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    {S::kCompleted, E::kSuccess, S::kCompleted, {A::kAbsorb}},
    {S::kCompleted, E::kFailure, S::kCompleted, {A::kAbsorb}},
    {S::kCompleted, E::kTimerK, S::kTerminated, {}},
};

// RFC 3261 17.2.1, figure 7. The Trying timer is started before the TU sees the
// request, so that a TU answering inside the callback cancels it. A 2xx terminates at
// once (the TU retransmits it, 13.3.1.4); RFC 6026's Accepted state is not implemented.
constexpr Transition kInviteServer[] = {
    {S::kProceeding, E::kStart, S::kProceeding, {A::kStartTimerTrying, A::kPassRequest}},
    {S::kProceeding, E::kTimerTrying, S::kProceeding, {A::kSendTrying}},
    {S::kProceeding, E::kRetransmission, S::kProceeding, {A::kAbsorb, A::kResendResponse}},
    {S::kProceeding, E::kTuProvisional, S::kProceeding, {A::kCancelTimerTrying, A::kSendResponse}},
    {S::kProceeding, E::kTuSuccess, S::kTerminated, {A::kCancelTimerTrying, A::kSendResponse}},
    {S::kProceeding, E::kTuFailure, S::kCompleted, {A::kCancelTimerTrying, A::kStartTimerG, A::kStartTimerH, A::kSendResponse}},
    {S::kProceeding, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    {S::kCompleted, E::kRetransmission, S::kCompleted, {A::kAbsorb, A::kResendResponse}},
    {S::kCompleted, E::kTimerG, S::kCompleted, {A::kResendResponse, A::kDoubleTimerG}},
    {S::kCompleted, E::kTimerH, S::kTerminated, {A::kNotifyTimeout}},
    {S::kCompleted, E::kAck, S::kConfirmed, {A::kCancelTimerG, A::kCancelTimerH, A::kStartTimerI}},
    {S::kCompleted, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    // 17.2.1: "absorb any additional ACK messages"; a late INVITE copy is absorbed too,
    // since the ACK shows the final response arrived.
    {S::kConfirmed, E::kAck, S::kConfirmed, {A::kAbsorb}},
    {S::kConfirmed, E::kRetransmission, S::kConfirmed, {A::kAbsorb}},
    {S::kConfirmed, E::kTimerI, S::kTerminated, {}},
};

// RFC 3261 17.2.2, figure 8. No automatic 100 Trying (17.2.2: only for INVITE).
constexpr Transition kNonInviteServer[] = {
    {S::kTrying, E::kStart, S::kTrying, {A::kPassRequest}},
    {S::kTrying, E::kRetransmission, S::kTrying, {A::kAbsorb}},
    {S::kTrying, E::kTuProvisional, S::kProceeding, {A::kSendResponse}},
    {S::kTrying, E::kTuSuccess, S::kCompleted, {A::kStartTimerJ, A::kSendResponse}},
    {S::kTrying, E::kTuFailure, S::kCompleted, {A::kStartTimerJ, A::kSendResponse}},
    {S::kProceeding, E::kRetransmission, S::kProceeding, {A::kAbsorb, A::kResendResponse}},
    {S::kProceeding, E::kTuProvisional, S::kProceeding, {A::kSendResponse}},
    {S::kProceeding, E::kTuSuccess, S::kCompleted, {A::kStartTimerJ, A::kSendResponse}},
    {S::kProceeding, E::kTuFailure, S::kCompleted, {A::kStartTimerJ, A::kSendResponse}},
    {S::kProceeding, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
    {S::kCompleted, E::kRetransmission, S::kCompleted, {A::kAbsorb, A::kResendResponse}},
    {S::kCompleted, E::kTimerJ, S::kTerminated, {}},
    {S::kCompleted, E::kTransportError, S::kTerminated, {A::kNotifyTransportError}},
};

// clang-format on

}  // namespace

std::span<const Transition> TransitionTable(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kInviteClient:
      return kInviteClient;
    case TransactionKind::kNonInviteClient:
      return kNonInviteClient;
    case TransactionKind::kInviteServer:
      return kInviteServer;
    case TransactionKind::kNonInviteServer:
      return kNonInviteServer;
  }
  return {};
}

const Transition* FindTransition(TransactionKind kind, TransactionState state, TransactionEvent event) {
  for (const Transition& row : TransitionTable(kind)) {
    if (row.state == state && row.event == event) return &row;
  }
  return nullptr;
}

TransactionState InitialState(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kInviteClient:
      return TransactionState::kCalling;
    case TransactionKind::kNonInviteClient:
    case TransactionKind::kNonInviteServer:
      return TransactionState::kTrying;
    case TransactionKind::kInviteServer:
      return TransactionState::kProceeding;
  }
  return TransactionState::kTerminated;
}

std::string_view TransactionKindName(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kInviteClient:
      return "invite_client";
    case TransactionKind::kNonInviteClient:
      return "non_invite_client";
    case TransactionKind::kInviteServer:
      return "invite_server";
    case TransactionKind::kNonInviteServer:
      return "non_invite_server";
  }
  return "?";
}

std::string_view TransactionStateName(TransactionState state) {
  switch (state) {
    case TransactionState::kCalling:
      return "Calling";
    case TransactionState::kTrying:
      return "Trying";
    case TransactionState::kProceeding:
      return "Proceeding";
    case TransactionState::kCompleted:
      return "Completed";
    case TransactionState::kConfirmed:
      return "Confirmed";
    case TransactionState::kTerminated:
      return "Terminated";
  }
  return "?";
}

std::string_view TransactionEventName(TransactionEvent event) {
  switch (event) {
    case TransactionEvent::kStart:
      return "start";
    case TransactionEvent::kProvisional:
      return "provisional";
    case TransactionEvent::kSuccess:
      return "success";
    case TransactionEvent::kFailure:
      return "failure";
    case TransactionEvent::kCancelSent:
      return "cancel_sent";
    case TransactionEvent::kRetransmission:
      return "retransmission";
    case TransactionEvent::kAck:
      return "ack";
    case TransactionEvent::kTuProvisional:
      return "tu_provisional";
    case TransactionEvent::kTuSuccess:
      return "tu_success";
    case TransactionEvent::kTuFailure:
      return "tu_failure";
    case TransactionEvent::kTimerA:
      return "timer_a";
    case TransactionEvent::kTimerB:
      return "timer_b";
    case TransactionEvent::kTimerD:
      return "timer_d";
    case TransactionEvent::kTimerE:
      return "timer_e";
    case TransactionEvent::kTimerF:
      return "timer_f";
    case TransactionEvent::kTimerK:
      return "timer_k";
    case TransactionEvent::kTimerG:
      return "timer_g";
    case TransactionEvent::kTimerH:
      return "timer_h";
    case TransactionEvent::kTimerI:
      return "timer_i";
    case TransactionEvent::kTimerJ:
      return "timer_j";
    case TransactionEvent::kTimerTrying:
      return "timer_trying";
    case TransactionEvent::kTransportError:
      return "transport_error";
  }
  return "?";
}

std::string_view TransactionActionName(TransactionAction action) {
  switch (action) {
    case TransactionAction::kNone:
      return "none";
    case TransactionAction::kSendRequest:
      return "send_request";
    case TransactionAction::kRetransmitRequest:
      return "retransmit_request";
    case TransactionAction::kPassResponse:
      return "pass_response";
    case TransactionAction::kSendAck:
      return "send_ack";
    case TransactionAction::kResendAck:
      return "resend_ack";
    case TransactionAction::kStartTimerA:
      return "start_timer_a";
    case TransactionAction::kDoubleTimerA:
      return "double_timer_a";
    case TransactionAction::kCancelTimerA:
      return "cancel_timer_a";
    case TransactionAction::kStartTimerB:
      return "start_timer_b";
    case TransactionAction::kCancelTimerB:
      return "cancel_timer_b";
    case TransactionAction::kStartTimerD:
      return "start_timer_d";
    case TransactionAction::kStartTimerE:
      return "start_timer_e";
    case TransactionAction::kDoubleTimerE:
      return "double_timer_e";
    case TransactionAction::kTimerEAtT2:
      return "timer_e_at_t2";
    case TransactionAction::kCancelTimerE:
      return "cancel_timer_e";
    case TransactionAction::kStartTimerF:
      return "start_timer_f";
    case TransactionAction::kCancelTimerF:
      return "cancel_timer_f";
    case TransactionAction::kStartTimerK:
      return "start_timer_k";
    case TransactionAction::kPassRequest:
      return "pass_request";
    case TransactionAction::kSendResponse:
      return "send_response";
    case TransactionAction::kResendResponse:
      return "resend_response";
    case TransactionAction::kSendTrying:
      return "send_trying";
    case TransactionAction::kStartTimerTrying:
      return "start_timer_trying";
    case TransactionAction::kCancelTimerTrying:
      return "cancel_timer_trying";
    case TransactionAction::kStartTimerG:
      return "start_timer_g";
    case TransactionAction::kDoubleTimerG:
      return "double_timer_g";
    case TransactionAction::kCancelTimerG:
      return "cancel_timer_g";
    case TransactionAction::kStartTimerH:
      return "start_timer_h";
    case TransactionAction::kCancelTimerH:
      return "cancel_timer_h";
    case TransactionAction::kStartTimerI:
      return "start_timer_i";
    case TransactionAction::kStartTimerJ:
      return "start_timer_j";
    case TransactionAction::kAbsorb:
      return "absorb";
    case TransactionAction::kNotifyTimeout:
      return "notify_timeout";
    case TransactionAction::kNotifyTransportError:
      return "notify_transport_error";
  }
  return "?";
}

uint64_t& TransactionCounters::Created(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kInviteClient:
      return invite_client_created;
    case TransactionKind::kNonInviteClient:
      return non_invite_client_created;
    case TransactionKind::kInviteServer:
      return invite_server_created;
    case TransactionKind::kNonInviteServer:
      break;
  }
  return non_invite_server_created;
}

uint64_t& TransactionCounters::Terminated(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kInviteClient:
      return invite_client_terminated;
    case TransactionKind::kNonInviteClient:
      return non_invite_client_terminated;
    case TransactionKind::kInviteServer:
      return invite_server_terminated;
    case TransactionKind::kNonInviteServer:
      break;
  }
  return non_invite_server_terminated;
}

}  // namespace linegate::signaling::transaction
