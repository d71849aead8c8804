#pragma once
// The RFC 3261 section 17 transaction layer: owns every client and server transaction
// of one signaling engine, matches incoming messages to them, runs their state tables
// (transaction_table.h) on the Scheduler's timers and sends through the Transport.
// Single-threaded: every call, including the timer callbacks, comes from the thread
// that runs the Scheduler.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/scheduler.h"
#include "signaling/sip/sip_message.h"
#include "signaling/transaction/transaction_table.h"
#include "signaling/transaction/transaction_types.h"
#include "signaling/transaction/transaction_user.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::transaction {

struct TransactionLayerConfig {
  TransactionTimers timers;
  // Live transactions at most; a new request beyond it is answered 503 statelessly and
  // SendRequest fails (overload protection, RFC 3261 21.5.4).
  // Transactions in the table, finished ones included: a non-INVITE client transaction
  // over UDP stays for Timer K (T4, 5 s) after its response to absorb retransmissions,
  // so at N requests per second about 5 N are held. 200,000 leaves room for 20,000
  // registrations per second (two transactions each); a finished one holds little.
  size_t max_transactions = 200000;
  uint32_t overload_retry_after_seconds = 5;  // Retry-After of those 503s (20.33)
};

// 64 unpredictable bits per call; branch ids and stateless To tags are made of them.
using RandomFunction = std::function<uint64_t()>;

class TransactionLayer {
 public:
  TransactionLayer(Scheduler& scheduler, transport::Transport& transport, TransactionUser& user,
                   RandomFunction random, TransactionLayerConfig config = TransactionLayerConfig());
  // Cancels the timers of the transactions still alive; tells nobody.
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // --- Receiving (RFC 3261 17.1.3, 17.2.3, 18.1.2, 18.2.1) ---
  // One framed message from a transport. Malformed requests are answered 400/505 without
  // a transaction (RFC 3261 8.2, RFC 4475); malformed responses and ACKs are dropped.
  void OnReceived(const transport::Received& received);
  // The same for a message the caller already parsed successfully and checked with
  // CheckRequiredHeaders.
  void OnMessage(const sip::Message& message, const transport::Received& received);

  // A stream transport's failure found after Send returned (connect refused or timed
  // out, TLS handshake failed, connection closed with data queued): every transaction
  // that sends to that connection or address and can fail there gets a transport error
  // (RFC 3261 17.1.4, 17.2.4). Wire it to the stream transport's SendErrorHandler.
  void OnSendError(const transport::SendError& error);

  // --- Client transactions ---
  // Sends request (complete, Content-Length included, without this hop's Via) to
  // destination in a new client transaction. The layer adds the top Via: sent-by from
  // Transport::LocalAddress, a new branch, rport. ACK and CANCEL are refused: the ACK
  // for a 2xx is sent by the TU outside any transaction (RFC 3261 13.2.2.4), the ACK for
  // a non-2xx by the transaction, and CANCEL by SendCancel. A transport error on the
  // first send fails the call and no callback follows.
  Result<TransactionId> SendRequest(std::string_view request, const transport::Destination& destination);
  // RFC 3261 9.1: CANCEL for an INVITE client transaction that got a provisional
  // response and no final one, in its own non-INVITE client transaction (same branch,
  // same destination). If the INVITE then gets no final response within 64*T1, the TU
  // gets OnTimeout for it.
  Result<TransactionId> SendCancel(TransactionId invite);
  // z9hG4bK + 32 hex digits (RFC 3261 8.1.1.7), for the TU's ACKs to 2xx.
  std::string NewBranch();

  // --- Server transactions ---
  // Passes the TU's response (complete bytes) to a server transaction; the transaction
  // keeps it for retransmission. Fails (and changes nothing) when the transaction is gone,
  // the bytes are not a response to its method, or the state table does not allow it
  // (e.g. a second final response); fails after terminating the transaction when the
  // transport refuses it.
  Status Respond(TransactionId transaction, std::string response);
  // Convenience: status line, Via, From, To (+ to_tag when the request's To has none and
  // status > 100), Call-ID, CSeq of the request, no body (RFC 3261 8.2.6).
  Status Respond(TransactionId transaction, uint16_t status, std::string_view reason,
                 std::string_view to_tag);

  // --- Observers ---
  size_t size() const { return by_key_.size(); }
  std::optional<TransactionState> StateOf(TransactionId transaction) const;
  std::optional<TransactionKind> KindOf(TransactionId transaction) const;
  const TransactionCounters& counters() const { return counters_; }
  const TransactionLayerConfig& config() const { return config_; }

 private:
  struct Transaction;
  struct EventInput;
  class EntryGuard;
  class SyncScope;

  void HandleRequest(const sip::Message& request, const transport::Received& received);
  void HandleResponse(const sip::Message& response, const transport::Received& received);
  Transaction* FindServer(const sip::Message& request, std::string_view method, bool is_ack);
  Transaction* Find(TransactionId transaction) const;
  Transaction& Insert(std::unique_ptr<Transaction> transaction);
  void RejectMalformed(const sip::Message& message, const sip::ParseResult& result,
                       const transport::Received& received);
  void RejectOverload(const sip::Message& request, const transport::Received& received);
  void SendStateless(const sip::Message& request, const transport::Received& received,
                     const sip::Via& sent_by, uint16_t status, std::string_view reason,
                     std::string_view extra_header);

  // Runs the table: returns false when event is illegal in the current state.
  bool Dispatch(Transaction& transaction, TransactionEvent event, const EventInput& input);
  void Run(Transaction& transaction, TransactionAction action, const EventInput& input);
  void ReportIllegal(const Transaction& transaction, TransactionEvent event);
  void ReportTransportError(Transaction& transaction);
  void Send(Transaction& transaction, const std::string& bytes, bool retransmission);
  void Arm(Transaction& transaction, TransactionEvent event, Duration delay);
  void Disarm(Transaction& transaction, TransactionEvent event);
  void OnTimer(TransactionId transaction, TransactionEvent event);
  void Destroy(Transaction& transaction);
  const sip::Message& Reparse(const std::string& bytes, bool reliable);
  std::string NewTag();

  Scheduler& scheduler_;
  transport::Transport& transport_;
  TransactionUser& user_;
  RandomFunction random_;
  TransactionLayerConfig config_;
  TransactionCounters counters_;

  // Owner, keyed by the match key (transaction_messages.h); by_id_ indexes the same.
  std::unordered_map<std::string, std::unique_ptr<Transaction>> by_key_;
  std::unordered_map<TransactionId, Transaction*> by_id_;
  // Terminated transactions stay here until the outermost call into the layer returns,
  // so that a TU callback cannot pull one from under the code that called it.
  std::vector<std::unique_ptr<Transaction>> graveyard_;
  int depth_ = 0;
  TransactionId next_id_ = 1;

  // A transport error of this transaction inside a TU call is returned, not called back.
  TransactionId sync_transaction_ = 0;
  std::optional<std::string> sync_error_;

  // Reused buffers: the receive path parses into incoming_ (about 8 KiB, so not on the
  // stack); messages the layer rereads (its own copies) go to scratch_, never across a TU
  // callback.
  std::unique_ptr<sip::Message> incoming_;
  std::unique_ptr<sip::Message> scratch_;
  bool receiving_ = false;
  std::string key_;
  std::vector<char> response_buffer_;
};

}  // namespace linegate::signaling::transaction
