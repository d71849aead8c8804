#pragma once
// The UA core for INVITE dialogs (RFC 3261 12-15, RFC 3264, RFC 3515): one CallAgent
// holds every call of the gateway, each with its dialog and its offer/answer state,
// and turns call-control requests (call.proto) into SIP and what the far end does into
// CallEvents.
//
// It sits above the transaction layer: SipStack (the TransactionUser) hands it the
// requests, responses, timeouts and stray ACKs/2xx that belong to calls. It sends its
// requests in client transactions, its responses through server transactions, and the
// two messages that live outside transactions itself: the ACK for a 2xx and the
// retransmissions of its own 2xx (RFC 3261 13.2.2.4, 13.3.1.4; the layer follows
// RFC 3261/6026 and terminates INVITE transactions on a 2xx).
//
// Single-threaded, on the scheduler's thread, like the transaction layer.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/scheduler.h"
#include "linegate/signaling/v1/call.pb.h"
#include "media/codec/codec.h"
#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_client.h"
#include "signaling/auth/random_source.h"
#include "signaling/dialog/call_state.h"
#include "signaling/sip/sip_message.h"
#include "signaling/transaction/transaction_layer.h"
#include "signaling/transaction/transaction_user.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::dialog {

struct CallAgentConfig {
  std::string domain;  // From/To/Request-URI host; empty: the destination's address
  std::string user_agent;
  // Offered and accepted codecs in preference order.
  std::vector<media::codec::CodecId> codecs = {media::codec::CodecId::kPcmu, media::codec::CodecId::kPcma};
  std::optional<uint8_t> telephone_event_pt = 101;  // nullopt: DTMF in-band only
  uint32_t ptime_ms = 20;
  // T1 and T2 pace our 2xx retransmissions; 64*T1 is how long we wait for an ACK.
  transaction::TransactionTimers timers;
  // The longest an incoming INVITE waits for control's final answer (or its Expires,
  // if shorter); then 480 (487 for Expires) and `released`.
  Duration unanswered_limit = std::chrono::minutes(5);
  // RFC 3262: our INVITEs require reliable provisional responses (calls.prack); they
  // always say we support them, and we PRACK every reliable one.
  bool require_100rel = false;
  // RFC 4028 session interval we ask for (and the most we grant); 0: session timers off.
  uint32_t session_expires_s = 1800;
  // RFC 4028 4: the smallest interval we accept (Min-SE); 90 is the RFC's floor.
  uint32_t min_se_s = 90;
};

// What the agent needs from the process around it.
struct CallAgentHooks {
  std::function<void(const signaling::v1::CallEvent&)> on_event;
  // The proxy a proxy set currently uses; nullopt: no such set.
  std::function<std::optional<transport::Destination>(std::string_view proxy_set)> proxy_of;
  // Credentials answering 401/407 for calls of a line; empty: none.
  std::function<std::vector<auth::Credentials>(uint32_t line)> credentials_for;
};

struct CallAgentCounters {
  uint64_t incoming_calls = 0;
  uint64_t outgoing_calls = 0;
  uint64_t rejected_offers = 0;  // 488
  uint64_t unknown_dialog = 0;   // 481
  uint64_t illegal_transitions = 0;
  uint64_t ack_timeouts = 0;
  uint64_t session_timeouts = 0;  // RFC 4028: not refreshed in time
};

// Methods answered by the agent (to go into Allow) and the extensions it supports.
inline constexpr std::string_view kCallMethods =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, NOTIFY, INFO, PRACK";
inline constexpr std::string_view kCallExtensions = "100rel, replaces, timer";

// Why a call-control request was refused; the service turns it into a bus error.
struct CallRefusal {
  enum class Kind : uint8_t { kNotFound, kInvalidArgument, kUnavailable };
  Kind kind;
  std::string message;
};
using CallOutcome = std::optional<CallRefusal>;  // nullopt: accepted

class CallAgent {
 public:
  // scheduler, transactions, transport and random must outlive the agent. transport is
  // the one under the layer: ACKs for 2xx and 2xx retransmissions go through it.
  CallAgent(Scheduler& scheduler, transaction::TransactionLayer& transactions,
            transport::Transport& transport, auth::RandomSource& random, CallAgentConfig config,
            CallAgentHooks hooks);
  ~CallAgent();
  CallAgent(const CallAgent&) = delete;
  CallAgent& operator=(const CallAgent&) = delete;

  // --- From the transaction user ---
  // Whether a request of this method (that passed the UAS checks) is the agent's: every
  // dialog-forming or in-dialog method except OPTIONS, which SipStack answers itself.
  static bool Serves(std::string_view method);
  void OnRequest(const transaction::IncomingRequest& request);
  void OnStrayAck(const sip::Message& ack, const transport::Received& received);
  // Returns false when the response belongs to no call.
  bool OnStrayResponse(const sip::Message& response, const transport::Received& received);
  // These return false when the transaction is not the agent's.
  bool OnResponse(transaction::TransactionId transaction, const sip::Message& response);
  bool OnTimeout(transaction::TransactionId transaction, transaction::TransactionKind kind);
  bool OnTransportError(transaction::TransactionId transaction, std::string_view error);

  // --- From call control (call.proto); errors become bus errors ---
  // Sets sip_call_id to the Call-ID of the INVITE sent.
  CallOutcome PlaceCall(const signaling::v1::PlaceCallRequest& request, std::string& sip_call_id);
  CallOutcome AnswerCall(const signaling::v1::AnswerCallRequest& request);
  CallOutcome EndCall(const signaling::v1::EndCallRequest& request);
  CallOutcome UpdateMedia(const signaling::v1::UpdateMediaRequest& request);
  CallOutcome TransferCall(const signaling::v1::TransferCallRequest& request);
  signaling::v1::DialogListReply ListDialogs() const;

  size_t size() const { return calls_.size(); }
  const CallAgentCounters& counters() const { return counters_; }

  struct Call;  // defined in call_agent.cc

 private:
  enum class Purpose : uint8_t { kInvite, kReInvite, kBye, kCancel, kRefer, kNotify, kOther };
  struct Owned {
    std::string call_ref;
    Purpose purpose = Purpose::kOther;
    // In-dialog requests: enough to send the request again with credentials after a
    // 401/407 (RFC 3261 22.2), once.
    std::string method;
    std::string uri;
    std::string extra_headers;
    std::string content_type;
    std::string body;
    bool answered_challenge = false;
  };

  Call* Find(std::string_view call_ref);
  Call* FindByDialog(std::string_view call_id, std::string_view local_tag, std::string_view remote_tag);
  Call* FindByInviteTransaction(transaction::TransactionId transaction);
  void SetState(Call& call, CallState to);
  void Publish(const Call& call, signaling::v1::CallEvent& event);
  // The transfer we asked for by REFER: a NOTIFY's sipfrag status, or its end.
  void PublishTransferProgress(const Call& call, uint32_t status, bool final);
  void Release(Call& call, uint32_t status, std::string_view reason, bool by_remote);
  void Forget(Call& call);

  bool OnFailure(transaction::TransactionId transaction, bool timeout, std::string_view error);

  // UAS.
  void OnInvite(const transaction::IncomingRequest& request);
  void OnCancel(const transaction::IncomingRequest& request);
  // The final non-2xx answer to the call's unanswered INVITE.
  void RejectInvite(Call& call, uint16_t status, std::string_view reason,
                    std::string_view extra_headers = "");
  // The SIP URI of a transfer or forwarding target given as a number or a URI; nullopt
  // when it is neither.
  std::optional<std::string> TargetUri(const Call& call, const std::string& target) const;
  void OnAnswerLimit(const std::string& call_ref, bool invite_expired);
  void OnInDialogRequest(Call& call, const transaction::IncomingRequest& request);
  void OnReOffer(Call& call, const transaction::IncomingRequest& request);
  void OnRefer(Call& call, const transaction::IncomingRequest& request);
  void OnPrack(Call& call, const transaction::IncomingRequest& request);
  // The 1xx/2xx to the stored INVITE (AnswerCall, or a provisional that waited for
  // the PRACK of the previous reliable one).
  CallOutcome SendAnswer(Call& call, uint16_t status);
  // RFC 3262 3: a reliable provisional, retransmitted until its PRACK.
  void StartReliableProvisional(Call& call, std::string response);
  void RetransmitReliable(const std::weak_ptr<bool>& alive, const std::string& call_ref, uint64_t serial);
  void StopReliableProvisional(Call& call);
  void OnNotify(Call& call, const transaction::IncomingRequest& request);
  void Reply(const transaction::IncomingRequest& request, uint16_t status, std::string_view reason,
             std::string_view to_tag, std::string_view extra_headers = {}, std::string_view body = {});
  std::string BuildUasResponse(const sip::Message& request, const transport::Received& received,
                               uint16_t status, std::string_view reason, std::string_view to_tag,
                               std::string_view extra_headers, std::string_view body);
  void Start2xxRetransmission(Call& call, std::string response, uint32_t cseq);
  void Retransmit2xx(const std::string& call_ref, uint64_t serial);
  void On2xxNotAcked(const std::string& call_ref, uint64_t serial);
  void Stop2xxRetransmission(Call& call);

  // UAC.
  Status SendInvite(Call& call);
  void OnInviteResponse(Call& call, const sip::Message& response);
  void OnInvite2xx(Call& call, const sip::Message& response);
  void OnChallenge(Call& call, const sip::Message& response);
  void OnReInviteResponse(Call& call, const sip::Message& response);
  void LearnDialog(Call& call, const sip::Message& response);
  void SendCancelNow(Call& call);
  void AckAndByeStray(Call& call, const sip::Message& response);
  void SendReInvite(Call& call);
  void OfferIfWanted(Call& call);

  // RFC 4028 session timers.
  std::string SessionExpiresHeaders(const Call& call, bool in_response) const;
  void ArmSessionTimer(Call& call);
  void OnSessionTimer(const std::string& call_ref, uint64_t serial);

  // In-dialog requests of ours.
  // `answers_challenge`: extra_headers carry the answer to a challenge of an earlier
  // copy; otherwise cached credentials are attached (RFC 3261 22.3).
  Result<transaction::TransactionId> SendInDialog(Call& call, std::string_view method, Purpose purpose,
                                                  std::string_view extra_headers,
                                                  std::string_view content_type, std::string_view body,
                                                  bool answers_challenge = false);
  bool RetryWithCredentials(Call& call, transaction::TransactionId transaction, const Owned& owned,
                            const sip::Message& response);
  void SendBye(Call& call);
  void SendAck(Call& call, uint32_t cseq, std::string_view body_type, std::string_view body);
  void NotifyTransferor(const std::string& transferor_ref, uint16_t status, std::string_view reason,
                        bool final);

  Scheduler& scheduler_;
  transaction::TransactionLayer& transactions_;
  transport::Transport& transport_;
  auth::RandomSource& random_;
  CallAgentConfig config_;
  CallAgentHooks hooks_;
  CallAgentCounters counters_;

  std::map<std::string, std::unique_ptr<Call>, std::less<>> calls_;
  // Calls by Call-ID (more than one: a call of ours looped back to us, or forks).
  std::multimap<std::string, Call*, std::less<>> by_call_id_;
  std::map<transaction::TransactionId, Owned> owned_;
  uint64_t next_incoming_ = 1;
  uint64_t next_serial_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Stored requests are parsed again into this (a Message is large; one per agent).
  std::unique_ptr<sip::Message> scratch_;
};

}  // namespace linegate::signaling::dialog
