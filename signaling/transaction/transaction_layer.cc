#include "signaling/transaction/transaction_layer.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <span>

#include "common/log.h"
#include "signaling/sip/sip_serializer.h"
#include "signaling/transaction/transaction_messages.h"

namespace linegate::signaling::transaction {
namespace {

// A transaction runs at most one timer of each role at a time: the retransmit timer
// (A, E or G), the transaction timeout (B, F or H), the wait in Completed/Confirmed
// (D, K, I or J) and the 100 Trying delay.
enum TimerSlot : uint8_t { kRetransmitSlot, kTimeoutSlot, kWaitSlot, kTryingSlot, kTimerSlotCount };

TimerSlot SlotOf(TransactionEvent event) {
  switch (event) {
    case TransactionEvent::kTimerA:
    case TransactionEvent::kTimerE:
    case TransactionEvent::kTimerG:
      return kRetransmitSlot;
    case TransactionEvent::kTimerB:
    case TransactionEvent::kTimerF:
    case TransactionEvent::kTimerH:
      return kTimeoutSlot;
    case TransactionEvent::kTimerD:
    case TransactionEvent::kTimerK:
    case TransactionEvent::kTimerI:
    case TransactionEvent::kTimerJ:
      return kWaitSlot;
    default:
      return kTryingSlot;
  }
}

[[noreturn]] void Impossible(std::string_view what) {
  log::Critical("sip transaction: impossible state", {{"what", what}});
  std::abort();
}

sip::Transport Framing(bool reliable) {
  return reliable ? sip::Transport::kStream : sip::Transport::kDatagram;
}

std::string Hex64(uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[value & 0xf];
    value >>= 4;
  }
  return out;
}

}  // namespace

struct TransactionLayer::Transaction {
  TransactionId id = 0;
  TransactionKind kind = TransactionKind::kNonInviteClient;
  TransactionState state = TransactionState::kTerminated;
  std::string key;
  std::string method;
  transport::Destination destination;
  bool reliable = false;
  // The request as sent (client, with our Via) or as received (server): its only copy.
  std::string request;
  // Client: the ACK for a non-2xx final. Server: the last response sent.
  std::string reply;
  // INVITE server: To tag of the last response, which an RFC 2543 ACK must carry (17.2.3).
  std::string response_to_tag;
  Duration interval{};  // current interval of timer A, E or G
  std::array<Scheduler::TimerId, kTimerSlotCount> timers{};
  uint64_t transitions = 0;
  std::optional<TransactionEvent> immediate;  // a timer of zero length, fired after the row
  bool transport_failed = false;
  std::string transport_error;
};

struct TransactionLayer::EventInput {
  const sip::Message* message = nullptr;  // the response (client) or the new request (server)
  const transport::Received* received = nullptr;
  std::string* response = nullptr;  // the TU's response, moved into the transaction
  std::string_view response_to_tag;
  TransactionId cancelled_invite = 0;
};

// Every public entry point and timer callback holds one; the outermost frees the
// transactions terminated meanwhile.
class TransactionLayer::EntryGuard {
 public:
  explicit EntryGuard(TransactionLayer& layer) : layer_(layer) { ++layer_.depth_; }
  ~EntryGuard() {
    if (--layer_.depth_ == 0) layer_.graveyard_.clear();
  }
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;

 private:
  TransactionLayer& layer_;
};

// While a TU call (SendRequest, SendCancel, Respond) runs a transaction, a transport
// error of that transaction is returned to the caller instead of called back.
class TransactionLayer::SyncScope {
 public:
  SyncScope(TransactionLayer& layer, TransactionId transaction)
      : layer_(layer),
        saved_transaction_(layer.sync_transaction_),
        saved_error_(std::move(layer.sync_error_)) {
    layer_.sync_transaction_ = transaction;
    layer_.sync_error_.reset();
  }
  ~SyncScope() {
    layer_.sync_transaction_ = saved_transaction_;
    layer_.sync_error_ = std::move(saved_error_);
  }
  SyncScope(const SyncScope&) = delete;
  SyncScope& operator=(const SyncScope&) = delete;
  const std::optional<std::string>& error() const { return layer_.sync_error_; }

 private:
  TransactionLayer& layer_;
  TransactionId saved_transaction_;
  std::optional<std::string> saved_error_;
};

TransactionLayer::TransactionLayer(Scheduler& scheduler, transport::Transport& transport,
                                   TransactionUser& user, RandomFunction random,
                                   TransactionLayerConfig config)
    : scheduler_(scheduler),
      transport_(transport),
      user_(user),
      random_(std::move(random)),
      config_(config),
      incoming_(std::make_unique<sip::Message>()),
      scratch_(std::make_unique<sip::Message>()) {}

TransactionLayer::~TransactionLayer() {
  for (auto& [key, transaction] : by_key_) {
    for (Scheduler::TimerId& timer : transaction->timers) {
      if (timer != 0) scheduler_.Cancel(timer);
      timer = 0;
    }
  }
}

// ---------------------------------------------------------------------------------
// Receiving.

void TransactionLayer::OnReceived(const transport::Received& received) {
  EntryGuard guard(*this);
  // The transport's receive loop calls this, never a TU callback.
  if (receiving_) Impossible("OnReceived re-entered");
  receiving_ = true;
  sip::Message& message = *incoming_;
  const std::string_view data(received.bytes.data(), received.bytes.size());
  const sip::ParseResult result =
      sip::Parse(data, Framing(transport::IsReliable(received.protocol)), message);
  if (!result.ok()) {
    RejectMalformed(message, result, received);
  } else if (const sip::ParseStatus check = sip::CheckRequiredHeaders(message); !check.ok()) {
    sip::ParseResult failed;
    failed.status = check;
    failed.headers_complete = true;
    RejectMalformed(message, failed, received);
  } else {
    OnMessage(message, received);
  }
  receiving_ = false;
}

void TransactionLayer::OnMessage(const sip::Message& message, const transport::Received& received) {
  EntryGuard guard(*this);
  if (message.top_via() == nullptr || message.cseq() == nullptr) {
    ++counters_.malformed_dropped;
    return;
  }
  if (message.is_request()) {
    HandleRequest(message, received);
  } else {
    HandleResponse(message, received);
  }
}

void TransactionLayer::HandleResponse(const sip::Message& response, const transport::Received& received) {
  // RFC 3261 17.1.3: top Via branch and CSeq method.
  ClientKey(response.top_via()->branch, response.cseq()->method, key_);
  auto it = by_key_.find(key_);
  if (it == by_key_.end()) {
    ++counters_.stray_responses;
    user_.OnStrayResponse(response, received);
    return;
  }
  const uint16_t status = response.status_code();
  TransactionEvent event;
  if (status >= 100 && status < 200) {
    event = TransactionEvent::kProvisional;
  } else if (status >= 200 && status < 300) {
    event = TransactionEvent::kSuccess;
  } else if (status >= 300 && status < 700) {
    event = TransactionEvent::kFailure;
  } else {
    ++counters_.malformed_dropped;
    return;
  }
  EventInput input;
  input.message = &response;
  input.received = &received;
  (void)Dispatch(*it->second, event, input);
}

TransactionLayer::Transaction* TransactionLayer::FindServer(const sip::Message& request,
                                                            std::string_view method, bool is_ack) {
  auto lookup = [&](std::string_view to_tag) -> Transaction* {
    if (!ServerKey(request, method, to_tag, key_)) return nullptr;
    auto it = by_key_.find(key_);
    return it == by_key_.end() ? nullptr : it->second.get();
  };
  if (HasMagicCookie(request.top_via()->branch)) return lookup({});
  // RFC 2543 (17.2.3): the To tag takes part. An ACK carries the tag of the response:
  // it equals the INVITE's own tag for a re-INVITE and the INVITE had none otherwise.
  const std::string_view to_tag = request.to() == nullptr ? std::string_view() : request.to()->tag;
  if (!is_ack) return lookup(to_tag);
  for (std::string_view invite_tag : {to_tag, std::string_view()}) {
    Transaction* transaction = lookup(invite_tag);
    if (transaction != nullptr && transaction->response_to_tag == to_tag) return transaction;
    if (to_tag.empty()) break;
  }
  return nullptr;
}

void TransactionLayer::HandleRequest(const sip::Message& request, const transport::Received& received) {
  const bool is_ack = request.method() == "ACK";
  const bool is_invite = request.method() == "INVITE";
  if (Transaction* existing = FindServer(request, is_ack ? "INVITE" : request.method(), is_ack)) {
    EventInput input;
    input.message = &request;
    input.received = &received;
    (void)Dispatch(*existing, is_ack ? TransactionEvent::kAck : TransactionEvent::kRetransmission, input);
    return;
  }
  if (is_ack) {
    ++counters_.stray_acks;
    user_.OnStrayAck(request, received);
    return;
  }
  if (by_key_.size() >= config_.max_transactions) {
    RejectOverload(request, received);
    return;
  }
  const std::string_view to_tag = request.to() == nullptr ? std::string_view() : request.to()->tag;
  auto transaction = std::make_unique<Transaction>();
  transaction->kind = is_invite ? TransactionKind::kInviteServer : TransactionKind::kNonInviteServer;
  if (!ServerKey(request, request.method(), to_tag, transaction->key))
    Impossible("server key of a checked request");
  transaction->method = std::string(request.method());
  transaction->destination = ResponseDestination(*request.top_via(), received);
  transaction->reliable = transport::IsReliable(received.protocol);
  transaction->request = std::string(request.raw());

  EventInput input;
  input.message = &request;
  input.received = &received;
  if (request.method() == "CANCEL") {
    // RFC 3261 9.2: the INVITE it cancels matches as the CANCEL would, method aside.
    Transaction* invite = FindServer(request, "INVITE", false);
    if (invite != nullptr && invite->kind == TransactionKind::kInviteServer)
      input.cancelled_invite = invite->id;
  }
  Transaction& created = Insert(std::move(transaction));
  (void)Dispatch(created, TransactionEvent::kStart, input);
}

void TransactionLayer::RejectMalformed(const sip::Message& message, const sip::ParseResult& result,
                                       const transport::Received& received) {
  const sip::Rejection rejection = sip::DecideRejection(message, result);
  if (rejection.action != sip::Rejection::Action::kRespond) {
    ++counters_.malformed_dropped;
    return;
  }
  // The Via may be what is malformed; sent-by is enough to address the answer.
  sip::Via via;
  std::string_view element;
  sip::HeaderValueIterator vias(message, sip::HeaderId::kVia);
  if (!vias.Next(element) || !sip::ParseViaSentBy(element, via).ok()) {
    ++counters_.malformed_dropped;
    return;
  }
  ++counters_.malformed_rejected;
  SendStateless(message, received, via, rejection.status, rejection.reason, {});
}

void TransactionLayer::RejectOverload(const sip::Message& request, const transport::Received& received) {
  ++counters_.overload_rejections;
  // RFC 3261 21.5.4 and 20.33: 503 with Retry-After, so that the client tries elsewhere
  // or later instead of retransmitting into the overload.
  std::string retry_after = "Retry-After: " + std::to_string(config_.overload_retry_after_seconds) + "\r\n";
  SendStateless(request, received, *request.top_via(), 503, "Service Unavailable", retry_after);
  log::Debug("sip transaction: overload, 503 sent",
             {{"call_id", request.call_id()}, {"limit", config_.max_transactions}});
}

void TransactionLayer::SendStateless(const sip::Message& request, const transport::Received& received,
                                     const sip::Via& sent_by, uint16_t status, std::string_view reason,
                                     std::string_view extra_header) {
  const std::string tag = NewTag();
  response_buffer_.resize(std::max(response_buffer_.size(), request.raw().size() + tag.size() + 256));
  response_buffer_.resize(response_buffer_.size() + extra_header.size());
  std::optional<size_t> size = sip::BuildResponse(request, status, reason, tag, response_buffer_, extra_header);
  if (!size) {
    log::Warn("sip transaction: stateless response not built", {{"status", status}});
    return;
  }
  const Status sent =
      transport_.Send(ResponseDestination(sent_by, received), std::span<const char>(response_buffer_.data(), *size));
  if (!sent.ok()) log::Debug("sip transaction: stateless response not sent", {{"error", sent.error()}});
}

void TransactionLayer::OnSendError(const transport::SendError& error) {
  EntryGuard guard(*this);
  std::vector<TransactionId> affected;
  for (const auto& [id, transaction] : by_id_) {
    const transport::Destination& destination = transaction->destination;
    if (destination.protocol != error.protocol) continue;
    const bool same_connection = error.connection_id != 0 && destination.connection_id == error.connection_id;
    if (!same_connection && !(destination.address == error.remote)) continue;
    // Only where the machine sends (figures 5-8); a ringing INVITE client, say, has
    // nothing in flight and waits for its response on another connection.
    if (FindTransition(transaction->kind, transaction->state, TransactionEvent::kTransportError) == nullptr)
      continue;
    affected.push_back(id);
  }
  std::sort(affected.begin(), affected.end());  // oldest first, whatever the hash order
  for (TransactionId id : affected) {
    // An earlier TU callback may have ended or moved it.
    Transaction* transaction = Find(id);
    if (transaction == nullptr ||
        FindTransition(transaction->kind, transaction->state, TransactionEvent::kTransportError) == nullptr) {
      continue;
    }
    transaction->transport_error = error.reason;
    (void)Dispatch(*transaction, TransactionEvent::kTransportError, EventInput());
  }
}

// ---------------------------------------------------------------------------------
// Client API.

std::string TransactionLayer::NewBranch() {
  std::string branch(kMagicCookie);
  branch.append(Hex64(random_()));
  branch.append(Hex64(random_()));
  return branch;
}

std::string TransactionLayer::NewTag() { return Hex64(random_()); }

Result<TransactionId> TransactionLayer::SendRequest(std::string_view request,
                                                    const transport::Destination& destination) {
  EntryGuard guard(*this);
  if (by_key_.size() >= config_.max_transactions) {
    ++counters_.overload_send_refusals;
    return Error{"transaction limit reached"};
  }
  const std::optional<transport::SocketAddress> local = transport_.LocalAddress(destination.protocol);
  if (!local)
    return Error{"no local address for " + std::string(transport::ProtocolName(destination.protocol))};
  const std::string branch = NewBranch();
  std::optional<std::string> bytes = InsertTopVia(request, destination.protocol, local->ToString(), branch);
  if (!bytes) return Error{"request has no request line"};
  const bool reliable = transport::IsReliable(destination.protocol);
  sip::Message& message = *scratch_;
  if (const sip::ParseResult parsed = sip::Parse(*bytes, Framing(reliable), message); !parsed.ok()) {
    return Error{"request does not parse: " + std::string(parsed.reason())};
  }
  if (!message.is_request()) return Error{"not a request"};
  if (const sip::ParseStatus check = sip::CheckRequiredHeaders(message); !check.ok()) {
    return Error{std::string(check.reason())};
  }
  if (message.method() == "ACK")
    return Error{"ACK is not sent in a client transaction (RFC 3261 17.1.1.3, 13.2.2.4)"};
  if (message.method() == "CANCEL") return Error{"CANCEL goes through SendCancel (RFC 3261 9.1)"};

  auto transaction = std::make_unique<Transaction>();
  transaction->kind =
      message.method() == "INVITE" ? TransactionKind::kInviteClient : TransactionKind::kNonInviteClient;
  transaction->method = std::string(message.method());
  ClientKey(branch, transaction->method, transaction->key);
  if (by_key_.contains(transaction->key)) return Error{"branch collision"};
  transaction->destination = destination;
  transaction->reliable = reliable;
  transaction->request = std::move(*bytes);

  Transaction& created = Insert(std::move(transaction));
  const TransactionId id = created.id;
  SyncScope sync(*this, id);
  (void)Dispatch(created, TransactionEvent::kStart, EventInput());
  if (sync.error()) return Error{"transport: " + *sync.error()};
  return id;
}

Result<TransactionId> TransactionLayer::SendCancel(TransactionId invite_id) {
  EntryGuard guard(*this);
  Transaction* invite = Find(invite_id);
  if (invite == nullptr) return Error{"no such transaction"};
  if (invite->kind != TransactionKind::kInviteClient) return Error{"not an INVITE client transaction"};
  // RFC 3261 9.1: only once a provisional response arrived and no final one did.
  if (FindTransition(invite->kind, invite->state, TransactionEvent::kCancelSent) == nullptr) {
    ReportIllegal(*invite, TransactionEvent::kCancelSent);
    return Error{"CANCEL not allowed in state " + std::string(TransactionStateName(invite->state))};
  }
  if (by_key_.size() >= config_.max_transactions) {
    ++counters_.overload_send_refusals;
    return Error{"transaction limit reached"};
  }
  std::optional<std::string> cancel = BuildCancel(Reparse(invite->request, invite->reliable));
  if (!cancel) Impossible("CANCEL from a request the layer built");
  auto transaction = std::make_unique<Transaction>();
  transaction->kind = TransactionKind::kNonInviteClient;
  transaction->method = "CANCEL";
  ClientKey(scratch_->top_via()->branch, transaction->method, transaction->key);
  if (by_key_.contains(transaction->key)) return Error{"CANCEL already sent"};
  transaction->destination = invite->destination;
  transaction->reliable = invite->reliable;
  transaction->request = std::move(*cancel);

  (void)Dispatch(*invite, TransactionEvent::kCancelSent, EventInput());
  Transaction& created = Insert(std::move(transaction));
  const TransactionId id = created.id;
  SyncScope sync(*this, id);
  (void)Dispatch(created, TransactionEvent::kStart, EventInput());
  if (sync.error()) return Error{"transport: " + *sync.error()};
  return id;
}

// ---------------------------------------------------------------------------------
// Server API.

Status TransactionLayer::Respond(TransactionId id, std::string response) {
  EntryGuard guard(*this);
  Transaction* transaction = Find(id);
  if (transaction == nullptr) return Error{"no such transaction"};
  if (IsClient(transaction->kind)) return Error{"not a server transaction"};
  const sip::Message& message = Reparse(response, transaction->reliable);
  if (message.raw().empty() || message.is_request()) return Error{"not a SIP response"};
  if (message.cseq() == nullptr || message.cseq()->method != transaction->method) {
    return Error{"CSeq method differs from the transaction's"};
  }
  const uint16_t status = message.status_code();
  TransactionEvent event = TransactionEvent::kTuFailure;
  if (status < 200) {
    event = TransactionEvent::kTuProvisional;
  } else if (status < 300) {
    event = TransactionEvent::kTuSuccess;
  }
  const std::string to_tag(message.to() == nullptr ? std::string_view() : message.to()->tag);
  EventInput input;
  input.response = &response;
  input.response_to_tag = to_tag;
  SyncScope sync(*this, id);
  if (!Dispatch(*transaction, event, input)) {
    return Error{"response " + std::to_string(status) + " not allowed in state " +
                 std::string(TransactionStateName(transaction->state))};
  }
  if (sync.error()) return Error{"transport: " + *sync.error()};
  return Status::Ok();
}

Status TransactionLayer::Respond(TransactionId id, uint16_t status, std::string_view reason,
                                 std::string_view to_tag) {
  EntryGuard guard(*this);
  Transaction* transaction = Find(id);
  if (transaction == nullptr) return Error{"no such transaction"};
  if (IsClient(transaction->kind)) return Error{"not a server transaction"};
  const sip::Message& request = Reparse(transaction->request, transaction->reliable);
  response_buffer_.resize(std::max(response_buffer_.size(), request.raw().size() + to_tag.size() + 256));
  std::optional<size_t> size = sip::BuildResponse(request, status, reason, to_tag, response_buffer_);
  if (!size) return Error{"response not built (status, reason or tag invalid)"};
  return Respond(id, std::string(response_buffer_.data(), *size));
}

std::optional<TransactionState> TransactionLayer::StateOf(TransactionId id) const {
  const Transaction* transaction = Find(id);
  return transaction == nullptr ? std::nullopt : std::optional<TransactionState>(transaction->state);
}

std::optional<TransactionKind> TransactionLayer::KindOf(TransactionId id) const {
  const Transaction* transaction = Find(id);
  return transaction == nullptr ? std::nullopt : std::optional<TransactionKind>(transaction->kind);
}

// ---------------------------------------------------------------------------------
// The state tables.

TransactionLayer::Transaction* TransactionLayer::Find(TransactionId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

TransactionLayer::Transaction& TransactionLayer::Insert(std::unique_ptr<Transaction> transaction) {
  transaction->id = next_id_++;
  transaction->state = InitialState(transaction->kind);
  ++counters_.Created(transaction->kind);
  Transaction& ref = *transaction;
  // Callers looked the key up first (server) or checked it (client).
  if (!by_key_.emplace(ref.key, std::move(transaction)).second) Impossible("duplicate transaction key");
  by_id_.emplace(ref.id, &ref);
  return ref;
}

bool TransactionLayer::Dispatch(Transaction& transaction, TransactionEvent event, const EventInput& input) {
  std::optional<TransactionEvent> next = event;
  const EventInput empty;
  const EventInput* current_input = &input;
  bool first = true;
  while (next) {
    const TransactionEvent current = *next;
    next.reset();
    const Transition* row = FindTransition(transaction.kind, transaction.state, current);
    if (row == nullptr) {
      ReportIllegal(transaction, current);
      return !first;
    }
    // The state changes before the actions run, so that a TU callback among them sees
    // (and may drive) the new state. If it does, this row's remaining actions are stale.
    const uint64_t transition = ++transaction.transitions;
    if (log::Enabled(log::Level::kTrace)) {
      log::Trace("sip transaction", {{"id", transaction.id},
                                     {"kind", TransactionKindName(transaction.kind)},
                                     {"state", TransactionStateName(transaction.state)},
                                     {"event", TransactionEventName(current)},
                                     {"next", TransactionStateName(row->next)}});
    }
    transaction.state = row->next;
    for (TransactionAction action : row->actions) {
      if (action == TransactionAction::kNone) break;
      Run(transaction, action, *current_input);
      if (transaction.transitions != transition) return true;
    }
    if (transaction.state == TransactionState::kTerminated) {
      // A send in a row that terminates anyway (the 2xx of an INVITE server): the TU
      // still has to hear of it.
      if (transaction.transport_failed) ReportTransportError(transaction);
      Destroy(transaction);
      return true;
    }
    if (transaction.transport_failed) {
      transaction.transport_failed = false;
      next = TransactionEvent::kTransportError;
    } else if (transaction.immediate) {
      next = transaction.immediate;
      transaction.immediate.reset();
    }
    current_input = &empty;
    first = false;
  }
  return true;
}

void TransactionLayer::ReportIllegal(const Transaction& transaction, TransactionEvent event) {
  ++counters_.illegal_events;
  log::Warn("sip transaction: illegal event", {{"id", transaction.id},
                                               {"kind", TransactionKindName(transaction.kind)},
                                               {"state", TransactionStateName(transaction.state)},
                                               {"event", TransactionEventName(event)}});
}

void TransactionLayer::Run(Transaction& t, TransactionAction action, const EventInput& input) {
  const TransactionTimers& timers = config_.timers;
  const Duration timeout = 64 * timers.t1;  // timers B, F, H, J (RFC 3261 table 4)
  switch (action) {
    case TransactionAction::kNone:
      return;
    case TransactionAction::kSendRequest:
      Send(t, t.request, false);
      return;
    case TransactionAction::kRetransmitRequest:
      Send(t, t.request, true);
      return;
    case TransactionAction::kPassResponse:
      if (input.message == nullptr) Impossible("pass_response without a response");
      user_.OnResponse(t.id, *input.message);
      return;
    case TransactionAction::kSendAck: {
      if (input.message == nullptr) Impossible("send_ack without a response");
      std::optional<std::string> ack = BuildAckForFailure(Reparse(t.request, t.reliable), *input.message);
      if (!ack) Impossible("ACK from a request the layer built");
      t.reply = std::move(*ack);
      Send(t, t.reply, false);
      return;
    }
    case TransactionAction::kResendAck:
      Send(t, t.reply, true);
      return;
    case TransactionAction::kStartTimerA:
    case TransactionAction::kStartTimerE:
    case TransactionAction::kStartTimerG:
      // RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1: retransmissions only on unreliable transports.
      if (t.reliable) return;
      t.interval = timers.t1;
      Arm(t,
          action == TransactionAction::kStartTimerA   ? TransactionEvent::kTimerA
          : action == TransactionAction::kStartTimerE ? TransactionEvent::kTimerE
                                                      : TransactionEvent::kTimerG,
          t.interval);
      return;
    case TransactionAction::kDoubleTimerA:
      t.interval *= 2;  // 17.1.1.2: A doubles without a cap; B ends it
      Arm(t, TransactionEvent::kTimerA, t.interval);
      return;
    case TransactionAction::kDoubleTimerE:
      t.interval = std::min(2 * t.interval, timers.t2);  // 17.1.2.2
      Arm(t, TransactionEvent::kTimerE, t.interval);
      return;
    case TransactionAction::kTimerEAtT2:
      t.interval = timers.t2;  // 17.1.2.2: in Proceeding, every T2
      Arm(t, TransactionEvent::kTimerE, t.interval);
      return;
    case TransactionAction::kDoubleTimerG:
      t.interval = std::min(2 * t.interval, timers.t2);  // 17.2.1
      Arm(t, TransactionEvent::kTimerG, t.interval);
      return;
    case TransactionAction::kCancelTimerA:
      Disarm(t, TransactionEvent::kTimerA);
      return;
    case TransactionAction::kCancelTimerE:
      Disarm(t, TransactionEvent::kTimerE);
      return;
    case TransactionAction::kCancelTimerG:
      Disarm(t, TransactionEvent::kTimerG);
      return;
    case TransactionAction::kStartTimerB:
      Arm(t, TransactionEvent::kTimerB, timeout);
      return;
    case TransactionAction::kCancelTimerB:
      Disarm(t, TransactionEvent::kTimerB);
      return;
    case TransactionAction::kStartTimerF:
      Arm(t, TransactionEvent::kTimerF, timeout);
      return;
    case TransactionAction::kCancelTimerF:
      Disarm(t, TransactionEvent::kTimerF);
      return;
    case TransactionAction::kStartTimerH:
      Arm(t, TransactionEvent::kTimerH, timeout);
      return;
    case TransactionAction::kCancelTimerH:
      Disarm(t, TransactionEvent::kTimerH);
      return;
    case TransactionAction::kStartTimerD:
      Arm(t, TransactionEvent::kTimerD, t.reliable ? Duration::zero() : timers.timer_d);
      return;
    case TransactionAction::kStartTimerK:
      Arm(t, TransactionEvent::kTimerK, t.reliable ? Duration::zero() : timers.t4);
      return;
    case TransactionAction::kStartTimerI:
      Arm(t, TransactionEvent::kTimerI, t.reliable ? Duration::zero() : timers.t4);
      return;
    case TransactionAction::kStartTimerJ:
      Arm(t, TransactionEvent::kTimerJ, t.reliable ? Duration::zero() : timeout);
      return;
    case TransactionAction::kStartTimerTrying:
      Arm(t, TransactionEvent::kTimerTrying, kTryingDelay);
      return;
    case TransactionAction::kCancelTimerTrying:
      Disarm(t, TransactionEvent::kTimerTrying);
      return;
    case TransactionAction::kPassRequest: {
      if (input.message == nullptr || input.received == nullptr) Impossible("pass_request without a request");
      IncomingRequest request{.transaction = t.id,
                              .kind = t.kind,
                              .message = *input.message,
                              .received = *input.received,
                              .cancelled_invite = input.cancelled_invite};
      user_.OnRequest(request);
      return;
    }
    case TransactionAction::kSendResponse:
      if (input.response == nullptr) Impossible("send_response without a response");
      t.reply = std::move(*input.response);
      t.response_to_tag = std::string(input.response_to_tag);
      Send(t, t.reply, false);
      return;
    case TransactionAction::kResendResponse:
      // Nothing yet (an INVITE retransmitted within 200 ms): absorbed silently.
      if (!t.reply.empty()) Send(t, t.reply, true);
      return;
    case TransactionAction::kSendTrying: {
      const sip::Message& request = Reparse(t.request, t.reliable);
      response_buffer_.resize(std::max(response_buffer_.size(), request.raw().size() + 256));
      std::optional<size_t> size = sip::BuildResponse(request, 100, "Trying", {}, response_buffer_);
      if (!size) Impossible("100 Trying for a request that parsed");
      t.reply.assign(response_buffer_.data(), *size);
      Send(t, t.reply, false);
      return;
    }
    case TransactionAction::kAbsorb:
      ++counters_.retransmissions_absorbed;
      return;
    case TransactionAction::kNotifyTimeout:
      ++counters_.timeouts;
      user_.OnTimeout(t.id, t.kind);
      return;
    case TransactionAction::kNotifyTransportError:
      ReportTransportError(t);
      return;
  }
}

void TransactionLayer::ReportTransportError(Transaction& t) {
  t.transport_failed = false;
  ++counters_.transport_errors;
  log::Info("sip transaction: transport error", {{"id", t.id},
                                                 {"kind", TransactionKindName(t.kind)},
                                                 {"destination", t.destination.address.ToString()},
                                                 {"error", t.transport_error}});
  if (t.id == sync_transaction_) {
    sync_error_ = t.transport_error;
  } else {
    user_.OnTransportError(t.id, t.kind, t.transport_error);
  }
}

void TransactionLayer::Send(Transaction& t, const std::string& bytes, bool retransmission) {
  const Status sent = transport_.Send(t.destination, std::span<const char>(bytes.data(), bytes.size()));
  if (!sent.ok()) {
    t.transport_failed = true;
    t.transport_error = sent.error();
    return;
  }
  if (retransmission) ++counters_.retransmissions_sent;
}

void TransactionLayer::Arm(Transaction& t, TransactionEvent event, Duration delay) {
  Disarm(t, event);
  if (delay <= Duration::zero()) {
    t.immediate = event;  // zero on reliable transports: fires right after this row
    return;
  }
  t.timers[SlotOf(event)] = scheduler_.Schedule(delay, [this, id = t.id, event] { OnTimer(id, event); });
}

void TransactionLayer::Disarm(Transaction& t, TransactionEvent event) {
  Scheduler::TimerId& timer = t.timers[SlotOf(event)];
  if (timer != 0) scheduler_.Cancel(timer);
  timer = 0;
}

void TransactionLayer::OnTimer(TransactionId id, TransactionEvent event) {
  EntryGuard guard(*this);
  Transaction* transaction = Find(id);
  if (transaction == nullptr) Impossible("timer of a destroyed transaction");
  transaction->timers[SlotOf(event)] = 0;
  (void)Dispatch(*transaction, event, EventInput());
}

void TransactionLayer::Destroy(Transaction& t) {
  for (Scheduler::TimerId& timer : t.timers) {
    if (timer != 0) scheduler_.Cancel(timer);
    timer = 0;
  }
  t.immediate.reset();
  ++counters_.Terminated(t.kind);
  by_id_.erase(t.id);
  auto it = by_key_.find(t.key);
  if (it == by_key_.end() || it->second.get() != &t) Impossible("transaction missing from its map");
  graveyard_.push_back(std::move(it->second));
  by_key_.erase(it);
}

const sip::Message& TransactionLayer::Reparse(const std::string& bytes, bool reliable) {
  const sip::ParseResult result = sip::Parse(bytes, Framing(reliable), *scratch_);
  if (!result.ok()) {
    // raw() empty tells the caller the bytes did not parse.
    *scratch_ = sip::Message();
  }
  return *scratch_;
}

}  // namespace linegate::signaling::transaction
