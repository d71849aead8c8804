#pragma once
// Vocabulary of the RFC 3261 section 17 transaction layer: the four kinds of
// transaction, their states and events with printable names, the timer values and the
// counters. The state tables themselves are in transaction_table.h.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/clock.h"

namespace linegate::signaling::transaction {

// Names a transaction for the transaction user; never 0, never reused by one layer.
using TransactionId = uint64_t;

enum class TransactionKind : uint8_t {
  kInviteClient,     // RFC 3261 17.1.1
  kNonInviteClient,  // RFC 3261 17.1.2
  kInviteServer,     // RFC 3261 17.2.1
  kNonInviteServer,  // RFC 3261 17.2.2
};
inline constexpr size_t kTransactionKindCount = 4;
std::string_view TransactionKindName(TransactionKind kind);  // "invite_client", ...
inline bool IsClient(TransactionKind kind) {
  return kind == TransactionKind::kInviteClient || kind == TransactionKind::kNonInviteClient;
}

// The union of the states of the four machines (RFC 3261 figures 5 to 8); each machine
// uses a subset.
enum class TransactionState : uint8_t {
  kCalling,     // INVITE client
  kTrying,      // non-INVITE client and server
  kProceeding,  // all four
  kCompleted,   // all four
  kConfirmed,   // INVITE server
  kTerminated,  // all four; the layer destroys the transaction on entering it
};
inline constexpr size_t kTransactionStateCount = 6;
std::string_view TransactionStateName(TransactionState state);  // "Calling", ...

enum class TransactionEvent : uint8_t {
  kStart,           // the transaction was created (request sent / request received)
  kProvisional,     // client: a 1xx arrived
  kSuccess,         // client: a 2xx arrived
  kFailure,         // client: a 300-699 arrived
  kCancelSent,      // INVITE client: the TU sent a CANCEL for it (RFC 3261 9.1)
  kRetransmission,  // server: the request arrived again
  kAck,             // INVITE server: an ACK matched it
  kTuProvisional,   // server: the TU passed a 1xx
  kTuSuccess,       // server: the TU passed a 2xx
  kTuFailure,       // server: the TU passed a 300-699
  kTimerA,
  kTimerB,
  kTimerD,
  kTimerE,
  kTimerF,
  kTimerK,
  kTimerG,
  kTimerH,
  kTimerI,
  kTimerJ,
  kTimerTrying,     // INVITE server: 200 ms without a TU response (RFC 3261 17.2.1)
  kTransportError,  // a send failed (RFC 3261 17.1.4, 17.2.4)
};
inline constexpr size_t kTransactionEventCount = 22;
std::string_view TransactionEventName(TransactionEvent event);  // "timer_a", "ack", ...

// RFC 3261 17.1.1.1 and table 4. T1 is the RTT estimate, T2 the cap on non-INVITE
// request and INVITE response retransmit intervals, T4 how long a message may stay in
// the network. Timer D is "at least 32 s" for unreliable transports (17.1.1.2).
struct TransactionTimers {
  Duration t1 = std::chrono::milliseconds(500);
  Duration t2 = std::chrono::seconds(4);
  Duration t4 = std::chrono::seconds(5);
  Duration timer_d = std::chrono::seconds(32);
};

// RFC 3261 17.2.1: an INVITE server transaction sends 100 Trying itself when the TU
// has not answered within 200 ms.
inline constexpr Duration kTryingDelay = std::chrono::milliseconds(200);

// Counters of one transaction layer, declared once; ForEach exports them by name.
#define LINEGATE_TRANSACTION_COUNTERS(COUNTER) \
  COUNTER(invite_client_created)               \
  COUNTER(invite_client_terminated)            \
  COUNTER(non_invite_client_created)           \
  COUNTER(non_invite_client_terminated)        \
  COUNTER(invite_server_created)               \
  COUNTER(invite_server_terminated)            \
  COUNTER(non_invite_server_created)           \
  COUNTER(non_invite_server_terminated)        \
  COUNTER(retransmissions_sent)                \
  COUNTER(retransmissions_absorbed)            \
  COUNTER(timeouts)                            \
  COUNTER(transport_errors)                    \
  COUNTER(illegal_events)                      \
  COUNTER(overload_rejections)                 \
  COUNTER(overload_send_refusals)              \
  COUNTER(stray_responses)                     \
  COUNTER(stray_acks)                          \
  COUNTER(malformed_rejected)                  \
  COUNTER(malformed_dropped)

struct TransactionCounters {
#define LINEGATE_TRANSACTION_COUNTER_FIELD(name) uint64_t name = 0;
  LINEGATE_TRANSACTION_COUNTERS(LINEGATE_TRANSACTION_COUNTER_FIELD)
#undef LINEGATE_TRANSACTION_COUNTER_FIELD

  uint64_t& Created(TransactionKind kind);
  uint64_t& Terminated(TransactionKind kind);
  uint64_t Created(TransactionKind kind) const {
    return const_cast<TransactionCounters*>(this)->Created(kind);
  }
  uint64_t Terminated(TransactionKind kind) const {
    return const_cast<TransactionCounters*>(this)->Terminated(kind);
  }

  // fn(std::string_view name, uint64_t value) for every counter, in declaration order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
#define LINEGATE_TRANSACTION_COUNTER_VISIT(name) fn(std::string_view(#name), name);
    LINEGATE_TRANSACTION_COUNTERS(LINEGATE_TRANSACTION_COUNTER_VISIT)
#undef LINEGATE_TRANSACTION_COUNTER_VISIT
  }
};

}  // namespace linegate::signaling::transaction
