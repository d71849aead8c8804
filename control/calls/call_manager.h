#pragma once
// Call control of the gateway: one explicit state machine per line, table-driven
// (state x event -> handler, see kTransitions in call_manager.cc), binding a SIP call
// (through signaling), the line (through tdm) and the line's media sessions (through
// media). Every outside effect goes through an injected port, so tests drive it with
// fakes; control_service.cc wires the ports to the bus.
//
// Requests are fire-and-forget except where call control needs the answer (session
// creation, session deletion for the CDR's RTP statistics, placing a call); every
// answer is matched against the call it was for, by call_ref and a generation, so a
// reply that arrives after the call is gone is harmless (a session created for a dead
// call is deleted again).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/callcontrol/cdr.h"
#include "control/callcontrol/digit_map.h"
#include "control/callcontrol/number_manipulation.h"
#include "control/callcontrol/routing.h"
#include "control/calls/call_config.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "linegate/signaling/v1/call.pb.h"
#include "linegate/tdm/v1/line.pb.h"

namespace linegate::calls {

// control -> signaling.
class SignalingPort {
 public:
  virtual ~SignalingPort() = default;
  // `done` gets the reply's error, if any (the call then fails as if with 503).
  virtual void PlaceCall(const signaling::v1::PlaceCallRequest& request,
                         std::function<void(Status)> done) = 0;
  virtual void AnswerCall(const signaling::v1::AnswerCallRequest& request) = 0;
  virtual void EndCall(const signaling::v1::EndCallRequest& request) = 0;
  virtual void UpdateMedia(const signaling::v1::UpdateMediaRequest& request) = 0;
  virtual void TransferCall(const signaling::v1::TransferCallRequest& request) = 0;
};

// control -> media and tdm (MediaRouter in the service).
class LinePort {
 public:
  virtual ~LinePort() = default;
  virtual void CreateSession(const media::v1::SessionParams& params,
                             std::function<void(Result<media::v1::CreateSessionReply>)> done) = 0;
  virtual void ModifySession(const media::v1::SessionParams& params) = 0;
  virtual void DeleteSession(uint32_t line, uint32_t leg,
                             std::function<void(Result<media::v1::DeleteSessionReply>)> done) = 0;
  // TONE_KIND_UNSPECIFIED: stop.
  virtual void PlayTone(uint32_t line, media::v1::ToneKind tone) = 0;
  virtual void SendCallerId(const media::v1::SendCallerIdRequest& request) = 0;
  virtual void PortCommand(const tdm::v1::PortCommandRequest& request) = 0;
  virtual void DigitDetection(uint32_t line, bool enable) = 0;
  virtual void LineScript(uint32_t line, const std::string& text) = 0;
  // DTMF to the line (dialling the exchange on an FXO line); media answers with a
  // DigitsSent event when the last digit has been played.
  virtual void SendDigits(uint32_t line, const std::string& digits) = 0;
};

class CdrSink {
 public:
  virtual ~CdrSink() = default;
  virtual void Write(const callcontrol::CdrRecord& record) = 0;
};

// Wall-clock milliseconds since the Unix epoch (CDR times).
using WallClock = std::function<int64_t()>;

enum class LineState {
  kIdle,
  kDialTone,        // FXS off-hook (or FXO two-stage seized), dial tone, no digit yet
  kCollecting,      // digits so far, tone off
  kCalling,         // INVITE sent, no provisional response yet
  kRingback,        // 180/183 received: ringback tone or early media
  kConnected,       // one call, talking
  kRinging,         // an incoming call rings the phone
  kReleasing,       // the far end is gone: busy/congestion tone until the phone hangs up
  kHeld,            // FLASH: the call is held, dial tone for a consultation call
  kConsultCalling,  // held call + a consultation call being set up on the other leg
  kTwoCalls,        // one call active, the other held (consultation or call waiting)
  kConference,      // both legs mixed (three-way)
  kCallWaiting,     // talking, and a second call waits (call-waiting tone)
  kRecall,          // hung up with a held call: the phone rings again
  kFxoRinging,      // FXO: the exchange rings, counting rings
  kFxoDialing,      // FXO: seized for an IP-to-Tel call, waiting for the exchange's dial tone
};
std::string_view LineStateName(LineState state);

struct CallManagerDeps {
  SignalingPort* signaling = nullptr;
  LinePort* line = nullptr;
  CdrSink* cdr = nullptr;  // may be null: no CDRs
  const Clock* clock = nullptr;
  WallClock wall_clock;
};

class CallManager {
 public:
  // Checks the calls section by building its tables; the config must outlive it.
  static Result<std::unique_ptr<CallManager>> Create(const config::v1::Config& config, CallManagerDeps deps);
  ~CallManager();

  // Events.
  void OnLineEvent(const tdm::v1::LineEvent& event);
  void OnDtmf(const media::v1::DtmfDetected& event);
  void OnRtpTimeout(const media::v1::RtpTimeout& event);
  void OnCallerIdReceived(const media::v1::CallerIdReceived& event);
  void OnDigitsSent(const media::v1::DigitsSent& event);
  void OnBusyToneDetected(const media::v1::BusyToneDetected& event);
  void OnCallEvent(const signaling::v1::CallEvent& event);
  // Runs the timers (dialling, no answer, setup, FXO) against the clock; the service
  // calls it every few tens of ms.
  void Poll();
  // An operator opened a media session on the line (linegatectl media create), or
  // deleted it: while `owned`, call control leaves the line alone (no dial tone at
  // off-hook, busy for incoming calls), so that operators and media tests can use it.
  void OnOperatorLine(uint32_t line, bool owned);
  // Signaling went away (crashed, restarting): its dialogs are gone, so every call is
  // released as if the far end had failed with 503 (the lines get the reorder tone).
  void OnSignalingLost();

  // Operators.
  signaling::v1::CallListReply ListCalls() const;
  Result<std::string> MakeCall(uint32_t line, const std::string& number);
  Status Hangup(const std::string& call_ref, uint32_t line);

  // Tests and diagnostics.
  LineState line_state(uint32_t line) const;
  size_t call_count() const { return calls_.size(); }

  struct Call;
  struct Line;
  enum class Event;
  struct Input;

 private:
  CallManager(const config::v1::Config& config, CallManagerDeps deps);
  Status Build();

  void Dispatch(Line& line, const Input& input);

  // Transition handlers (the table in call_manager.cc names them).
  void OffHookIdle(Line& line, const Input& in);
  void OnHookDialling(Line& line, const Input& in);
  void DigitDialling(Line& line, const Input& in);
  void TimerDialling(Line& line, const Input& in);
  void ProgressOutgoing(Line& line, const Input& in);
  void AnsweredOutgoing(Line& line, const Input& in);
  void ProgressBackground(Line& line, const Input& in);
  void ReleasedActive(Line& line, const Input& in);
  void OnHookActive(Line& line, const Input& in);
  void TimerOutgoing(Line& line, const Input& in);
  void MediaChanged(Line& line, const Input& in);
  void RtpTimeoutActive(Line& line, const Input& in);
  void HangupActive(Line& line, const Input& in);
  void OnHookReleasing(Line& line, const Input& in);
  void OffHookRinging(Line& line, const Input& in);
  void ReleasedRinging(Line& line, const Input& in);
  void TimerRinging(Line& line, const Input& in);
  void HangupRinging(Line& line, const Input& in);
  void FlashConnected(Line& line, const Input& in);
  void FlashHeld(Line& line, const Input& in);
  void OnHookHeld(Line& line, const Input& in);
  void ReleasedHeld(Line& line, const Input& in);
  void ProgressConsult(Line& line, const Input& in);
  void AnsweredConsult(Line& line, const Input& in);
  void OnHookConsultCalling(Line& line, const Input& in);
  void FlashConsultCalling(Line& line, const Input& in);
  void FlashTwoCalls(Line& line, const Input& in);
  void OnHookTwoCalls(Line& line, const Input& in);
  void ReleasedTwoCalls(Line& line, const Input& in);
  void FlashCallWaiting(Line& line, const Input& in);
  void ReleasedCallWaiting(Line& line, const Input& in);
  void OnHookCallWaiting(Line& line, const Input& in);
  void TimerCallWaiting(Line& line, const Input& in);
  void OffHookRecall(Line& line, const Input& in);
  void ReleasedRecall(Line& line, const Input& in);
  void TimerRecall(Line& line, const Input& in);
  void TransferRequested(Line& line, const Input& in);
  void RingFxo(Line& line, const Input& in);
  void RingStoppedFxo(Line& line, const Input& in);
  void TimerFxoRinging(Line& line, const Input& in);
  void TimerFxoDialing(Line& line, const Input& in);
  void ReleasedFxoDialing(Line& line, const Input& in);
  void DigitsSentFxo(Line& line, const Input& in);
  void ConnectFxo(Line& line);
  void DisconnectFxo(Line& line, const Input& in);
  void Ignore(Line& line, const Input& in);

  // Building blocks.
  void StartDialling(Line& line, bool dial_tone);
  void Dialled(Line& line, const callcontrol::CollectResult& result);
  // Tel-to-IP from `line` on `leg`: manipulation, route, PlaceCall; the line enters
  // `calling_state`. False (line untouched) when the call cannot be placed.
  bool PlaceOutgoing(Line& line, uint32_t leg, const std::string& number, const std::string& call_ref,
                     LineState calling_state, const std::string& transferred_from = "");
  void SendInvite(Call& call);
  void HandleIncoming(const signaling::v1::CallEvent& event);
  // The CDR of an incoming call refused or forwarded before any line rang (line 0).
  void WriteUnconnectedCdr(const signaling::v1::CallEvent& event, int sip_code, const std::string& callee);
  // An incoming call with Replaces for a connected call of ours; false: route it normally.
  bool TakeOver(const signaling::v1::CallEvent& event);
  void OfferToLine(Line& line, Call& call, bool ring);
  void SetSessionMedia(Call& call, const media::v1::SessionParams& negotiated);
  void PushSession(Call& call);
  signaling::v1::LocalMedia LocalMediaOf(const Call& call, media::v1::Direction direction) const;
  void Hold(Call& call, bool hold);
  // Ends a call in signaling (when it still exists there), deletes its session and
  // writes its CDR. The call is erased; `line` slots are cleared.
  void EndCall(Call& call, uint32_t sip_status, const std::string& reason, const std::string& released_by,
               const std::string& contact = "");
  void FinishCall(const std::string& call_ref, const std::string& released_by, int ip_code,
                  const std::string& reason = "");
  // FinishCall for a CallReleased event (or its stand-in from Hangup).
  void FinishReleased(const std::string& call_ref, const Input& in);
  // The far end is gone on an FXS line still off-hook: tone and open-loop disconnect.
  void ReleaseToTone(Line& line, uint32_t sip_status);
  void GoIdle(Line& line);
  void Tone(Line& line, media::v1::ToneKind tone);
  void Ring(Line& line, const Call& call);
  void StopRing(Line& line);
  void SetDeadline(Line& line, Duration after);

  Call* FindCall(const std::string& call_ref);
  Call* ActiveCall(Line& line);
  Call* OtherCall(Line& line);
  Line* FindLine(uint32_t line);
  std::string NextCallRef();
  bool AtCallLimit() const;
  const config::v1::Endpoint* EndpointOf(uint32_t line) const;
  int64_t WallNow() const { return wall_clock_ ? wall_clock_() : 0; }

  const config::v1::Config& config_;
  SignalingPort& signaling_;
  LinePort& line_port_;
  CdrSink* cdr_;
  const Clock& clock_;
  WallClock wall_clock_;

  std::optional<callcontrol::NumberManipulation> manipulation_;
  std::optional<callcontrol::TelToIpRouter> tel_to_ip_;
  std::optional<callcontrol::IpToTelRouter> ip_to_tel_;
  std::map<uint32_t, std::unique_ptr<Line>> lines_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::map<std::string, uint32_t> line_of_number_;  // endpoint phone numbers
  uint64_t next_ref_ = 1;
  uint64_t next_generation_ = 1;
};

}  // namespace linegate::calls
