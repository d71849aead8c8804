#include "control/calls/call_manager.h"

#include <algorithm>
#include <set>

#include "common/log.h"

namespace linegate::calls {

using callcontrol::CollectState;
using media::v1::ToneKind;
using signaling::v1::CallEvent;

enum class CallManager::Event {
  kOffHook,
  kOnHook,
  kFlash,
  kDigit,
  kTimer,
  kRing,
  kRingStopped,
  kDisconnect,  // FXO: polarity reversal or loop disconnect (the exchange side hung up)
  kAlarm,
  kProgress,
  kAnswered,
  kMediaChanged,
  kReleased,
  kTransferRequested,
  kRtpTimeout,
  kDigitsSent,  // FXO: media has played the number to the exchange
  kBusyTone,    // FXO: the exchange plays busy/reorder tone (the far end hung up)
};

namespace {

std::string_view EventName(CallManager::Event event) {
  using E = CallManager::Event;
  switch (event) {
    case E::kOffHook:
      return "off_hook";
    case E::kOnHook:
      return "on_hook";
    case E::kFlash:
      return "flash";
    case E::kDigit:
      return "digit";
    case E::kTimer:
      return "timer";
    case E::kRing:
      return "ring_detected";
    case E::kRingStopped:
      return "ring_stopped";
    case E::kDisconnect:
      return "disconnect";
    case E::kAlarm:
      return "alarm";
    case E::kProgress:
      return "progress";
    case E::kAnswered:
      return "answered";
    case E::kMediaChanged:
      return "media_changed";
    case E::kReleased:
      return "released";
    case E::kTransferRequested:
      return "transfer_requested";
    case E::kRtpTimeout:
      return "rtp_timeout";
    case E::kDigitsSent:
      return "digits_sent";
    case E::kBusyTone:
      return "busy_tone";
  }
  return "?";
}

// Q.850 cause for the Tel side of a CDR from the SIP status that ended the call
// (RFC 3398 6.2, the other way round); 0 (BYE, CANCEL) is normal clearing.
int Q850Of(int sip) {
  switch (sip) {
    case 0:
    case 200:
    case 487:
      return 16;
    case 404:
    case 484:
      return 1;
    case 486:
    case 600:
      return 17;
    case 408:
    case 480:
      return 19;
    case 503:
      return 34;
    case 403:
    case 603:
      return 21;
    default:
      return sip >= 500 ? 38 : 31;
  }
}

std::string CodecName(media::v1::Codec codec) {
  std::string name = media::v1::Codec_Name(codec);
  if (name.rfind("CODEC_", 0) == 0) name = name.substr(6);
  return name == "UNSPECIFIED" ? "" : name;
}

constexpr auto kFxoRingGap = std::chrono::seconds(8);  // no ring for this long: the caller gave up
// Sending the number should take its digits' time; media's DigitsSent not coming by
// then plus this margin (a media restart lost the digits) connects the call anyway.
constexpr auto kFxoDigitsMargin = std::chrono::seconds(5);
constexpr auto kFxoDigitMs = std::chrono::milliseconds(160);    // media's default 80 on + 80 off
constexpr auto kMakeCallOffHookWait = std::chrono::seconds(3);  // sim phone's off-hook after MakeCall
constexpr uint32_t kDisconnectMs = 800;                         // open-loop disconnect on remote release

}  // namespace

struct CallManager::Call {
  std::string ref;
  uint64_t generation = 0;
  bool outgoing = false;
  uint32_t line = 0;  // 0 while an incoming call rings several lines (ring-all)
  uint32_t leg = 0;
  std::vector<uint32_t> offered_lines;  // incoming: lines ringing for it
  std::string calling, calling_name, called, source_ip, sip_call_id;
  std::string transferred_from;
  std::optional<callcontrol::TelToIpAttempt> attempt;
  std::optional<media::v1::SessionParams> negotiated;  // as signaling reported it
  enum class Session { kNone, kCreating, kUp } session = Session::kNone;
  bool session_dirty = false;  // new params while the creation was in flight
  bool alerted = false;
  bool connected = false;
  bool held = false;
  bool conference = false;
  bool from_consultation = false;  // a call the line's user dialled with another held
  // A second call that must not be heard yet (a waiting call, a REFER's new call while
  // the old one talks): its session waits until it becomes the line's active call.
  bool media_deferred = false;
  int64_t setup_ms = 0, alert_ms = 0, connect_ms = 0;
  TimePoint connected_at{};
};

struct CallManager::Line {
  LineInfo info;
  LineState state = LineState::kIdle;
  std::optional<callcontrol::DigitCollector> collector;
  std::string calls[2];  // call refs by media leg
  uint32_t active_leg = 0;
  std::string ringing_ref;  // the incoming call ringing the phone
  std::optional<TimePoint> deadline;
  ToneKind tone = ToneKind::TONE_KIND_UNSPECIFIED;
  bool detecting = false;
  bool ringing = false;
  int rings = 0;
  std::string pending_ref, pending_number;       // MakeCall waiting for the sim phone's off-hook
  std::string caller_id_number, caller_id_name;  // FXO: what the exchange sent
  bool operator_owned = false;                   // OnOperatorLine
  bool fxo_digits_sent = false;                  // kFxoDialing: the number is being dialled
};

struct CallManager::Input {
  Event event;
  char digit = 0;
  Call* call = nullptr;
  const CallEvent* call_event = nullptr;
};

std::string_view LineStateName(LineState state) {
  switch (state) {
    case LineState::kIdle:
      return "idle";
    case LineState::kDialTone:
      return "dial_tone";
    case LineState::kCollecting:
      return "collecting";
    case LineState::kCalling:
      return "calling";
    case LineState::kRingback:
      return "ringback";
    case LineState::kConnected:
      return "connected";
    case LineState::kRinging:
      return "ringing";
    case LineState::kReleasing:
      return "releasing";
    case LineState::kHeld:
      return "held";
    case LineState::kConsultCalling:
      return "consult_calling";
    case LineState::kTwoCalls:
      return "two_calls";
    case LineState::kConference:
      return "conference";
    case LineState::kCallWaiting:
      return "call_waiting";
    case LineState::kRecall:
      return "recall";
    case LineState::kFxoRinging:
      return "fxo_ringing";
    case LineState::kFxoDialing:
      return "fxo_dialing";
  }
  return "?";
}

// ------------------------------------------------------------------ transition table

namespace {
using S = LineState;
using E = CallManager::Event;
using Handler = void (CallManager::*)(CallManager::Line&, const CallManager::Input&);
struct Transition {
  LineState state;
  CallManager::Event event;
  Handler handler;
};
}  // namespace

void CallManager::Dispatch(Line& line, const Input& in) {
  static const std::vector<Transition> table = {
      // FXS outgoing: dialling.
      {S::kIdle, E::kOffHook, &CallManager::OffHookIdle},
      {S::kIdle, E::kTimer, &CallManager::Ignore},  // a MakeCall whose off-hook never came
      // A line an operator's session owns (OnOperatorLine) is idle to call control.
      {S::kIdle, E::kOnHook, &CallManager::Ignore},
      {S::kIdle, E::kFlash, &CallManager::Ignore},
      {S::kIdle, E::kDigit, &CallManager::Ignore},
      {S::kDialTone, E::kDigit, &CallManager::DigitDialling},
      {S::kCollecting, E::kDigit, &CallManager::DigitDialling},
      {S::kDialTone, E::kTimer, &CallManager::TimerDialling},
      {S::kCollecting, E::kTimer, &CallManager::TimerDialling},
      {S::kDialTone, E::kOnHook, &CallManager::OnHookDialling},
      {S::kCollecting, E::kOnHook, &CallManager::OnHookDialling},
      {S::kDialTone, E::kDisconnect, &CallManager::OnHookDialling},
      {S::kCollecting, E::kDisconnect, &CallManager::OnHookDialling},
      {S::kDialTone, E::kFlash, &CallManager::Ignore},
      {S::kCollecting, E::kFlash, &CallManager::Ignore},
      // Outgoing call in progress and connected calls.
      {S::kCalling, E::kProgress, &CallManager::ProgressOutgoing},
      {S::kRingback, E::kProgress, &CallManager::ProgressOutgoing},
      {S::kCalling, E::kAnswered, &CallManager::AnsweredOutgoing},
      {S::kRingback, E::kAnswered, &CallManager::AnsweredOutgoing},
      {S::kCalling, E::kTimer, &CallManager::TimerOutgoing},
      {S::kRingback, E::kTimer, &CallManager::TimerOutgoing},
      {S::kCalling, E::kReleased, &CallManager::ReleasedActive},
      {S::kRingback, E::kReleased, &CallManager::ReleasedActive},
      {S::kConnected, E::kReleased, &CallManager::ReleasedActive},
      {S::kCalling, E::kOnHook, &CallManager::OnHookActive},
      {S::kRingback, E::kOnHook, &CallManager::OnHookActive},
      {S::kConnected, E::kOnHook, &CallManager::OnHookActive},
      {S::kCalling, E::kDisconnect, &CallManager::DisconnectFxo},
      {S::kRingback, E::kDisconnect, &CallManager::DisconnectFxo},
      {S::kConnected, E::kDisconnect, &CallManager::DisconnectFxo},
      // Exchanges without disconnect supervision say it with busy tone only.
      {S::kConnected, E::kBusyTone, &CallManager::DisconnectFxo},
      {S::kConnected, E::kAnswered, &CallManager::AnsweredOutgoing},    // a REFER's new call
      {S::kConnected, E::kProgress, &CallManager::ProgressBackground},  // a REFER's new call
      {S::kConnected, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kRingback, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kCalling, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kConnected, E::kRtpTimeout, &CallManager::RtpTimeoutActive},
      {S::kConnected, E::kFlash, &CallManager::FlashConnected},
      {S::kConnected, E::kTransferRequested, &CallManager::TransferRequested},
      {S::kConnected, E::kDigit, &CallManager::Ignore},  // pulse digits in a call go nowhere
      {S::kReleasing, E::kOnHook, &CallManager::OnHookReleasing},
      {S::kReleasing, E::kDigit, &CallManager::Ignore},
      {S::kReleasing, E::kFlash, &CallManager::Ignore},
      {S::kReleasing, E::kOffHook, &CallManager::Ignore},  // back on loop after the disconnect
      {S::kReleasing, E::kReleased, &CallManager::ReleasedCallWaiting},
      // FXS incoming.
      {S::kRinging, E::kOffHook, &CallManager::OffHookRinging},
      {S::kRinging, E::kReleased, &CallManager::ReleasedRinging},
      {S::kRinging, E::kTimer, &CallManager::TimerRinging},
      {S::kRinging, E::kMediaChanged, &CallManager::MediaChanged},
      // Hold, consultation, transfer, conference.
      {S::kHeld, E::kFlash, &CallManager::FlashHeld},
      {S::kHeld, E::kDigit, &CallManager::DigitDialling},
      {S::kHeld, E::kTimer, &CallManager::TimerDialling},
      {S::kHeld, E::kOnHook, &CallManager::OnHookHeld},
      {S::kHeld, E::kReleased, &CallManager::ReleasedHeld},
      {S::kHeld, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kConsultCalling, E::kProgress, &CallManager::ProgressConsult},
      {S::kConsultCalling, E::kAnswered, &CallManager::AnsweredConsult},
      {S::kConsultCalling, E::kOnHook, &CallManager::OnHookConsultCalling},
      {S::kConsultCalling, E::kFlash, &CallManager::FlashConsultCalling},
      {S::kConsultCalling, E::kReleased, &CallManager::ReleasedTwoCalls},
      {S::kConsultCalling, E::kTimer, &CallManager::TimerOutgoing},
      {S::kConsultCalling, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kTwoCalls, E::kFlash, &CallManager::FlashTwoCalls},
      {S::kTwoCalls, E::kOnHook, &CallManager::OnHookTwoCalls},
      {S::kTwoCalls, E::kReleased, &CallManager::ReleasedTwoCalls},
      {S::kTwoCalls, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kTwoCalls, E::kRtpTimeout, &CallManager::RtpTimeoutActive},
      {S::kConference, E::kOnHook, &CallManager::OnHookTwoCalls},
      {S::kConference, E::kReleased, &CallManager::ReleasedTwoCalls},
      {S::kConference, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kConference, E::kFlash, &CallManager::Ignore},
      // Call waiting.
      {S::kCallWaiting, E::kFlash, &CallManager::FlashCallWaiting},
      {S::kCallWaiting, E::kReleased, &CallManager::ReleasedCallWaiting},
      {S::kCallWaiting, E::kOnHook, &CallManager::OnHookCallWaiting},
      {S::kCallWaiting, E::kTimer, &CallManager::TimerCallWaiting},
      {S::kCallWaiting, E::kMediaChanged, &CallManager::MediaChanged},
      {S::kRecall, E::kOffHook, &CallManager::OffHookRecall},
      {S::kRecall, E::kReleased, &CallManager::ReleasedRecall},
      {S::kRecall, E::kTimer, &CallManager::TimerRecall},
      {S::kRecall, E::kMediaChanged, &CallManager::MediaChanged},
      // FXO.
      {S::kIdle, E::kRing, &CallManager::RingFxo},
      {S::kFxoRinging, E::kRing, &CallManager::RingFxo},
      {S::kFxoRinging, E::kRingStopped, &CallManager::RingStoppedFxo},
      {S::kFxoRinging, E::kTimer, &CallManager::TimerFxoRinging},
      {S::kIdle, E::kRingStopped, &CallManager::Ignore},
      // The exchange's ring still ending (or one more burst) after we seized the line.
      {S::kDialTone, E::kRingStopped, &CallManager::Ignore},
      {S::kCollecting, E::kRingStopped, &CallManager::Ignore},
      {S::kCalling, E::kRingStopped, &CallManager::Ignore},
      {S::kDialTone, E::kRing, &CallManager::Ignore},
      {S::kCalling, E::kRing, &CallManager::Ignore},
      {S::kFxoDialing, E::kTimer, &CallManager::TimerFxoDialing},
      {S::kFxoDialing, E::kDigitsSent, &CallManager::DigitsSentFxo},
      {S::kFxoDialing, E::kReleased, &CallManager::ReleasedFxoDialing},
      {S::kFxoDialing, E::kDisconnect, &CallManager::Ignore},  // polarity reversal on seizure
      {S::kFxoDialing, E::kMediaChanged, &CallManager::MediaChanged},
  };
  if (in.event == E::kAlarm) {
    // Whatever the line was doing is over: its calls end, the line is idle.
    log::Warn("line alarm: releasing its calls",
              {{"line", line.info.line}, {"state", LineStateName(line.state)}});
    for (auto& ref : line.calls) {
      if (Call* call = FindCall(ref)) EndCall(*call, 503, "line alarm", "gateway");
    }
    if (Call* ringing = FindCall(line.ringing_ref)) {
      auto& offered = ringing->offered_lines;
      offered.erase(std::remove(offered.begin(), offered.end(), line.info.line), offered.end());
      if (offered.empty() && ringing->line == 0) EndCall(*ringing, 503, "line alarm", "gateway");
    }
    GoIdle(line);
    return;
  }
  for (const Transition& t : table) {
    if (t.state == line.state && t.event == in.event) {
      (this->*t.handler)(line, in);
      return;
    }
  }
  log::Warn("unexpected event", {{"line", line.info.line},
                                 {"state", LineStateName(line.state)},
                                 {"event", EventName(in.event)},
                                 {"call_ref", in.call != nullptr ? in.call->ref : std::string()}});
}

// ------------------------------------------------------------------ construction

CallManager::CallManager(const config::v1::Config& config, CallManagerDeps deps)
    : config_(config),
      signaling_(*deps.signaling),
      line_port_(*deps.line),
      cdr_(deps.cdr),
      clock_(*deps.clock),
      wall_clock_(std::move(deps.wall_clock)) {}

CallManager::~CallManager() = default;

Result<std::unique_ptr<CallManager>> CallManager::Create(const config::v1::Config& config,
                                                         CallManagerDeps deps) {
  if (deps.signaling == nullptr || deps.line == nullptr || deps.clock == nullptr) {
    return Error{"call manager: signaling, line port and clock are required"};
  }
  std::unique_ptr<CallManager> manager(new CallManager(config, std::move(deps)));
  if (Status built = manager->Build(); !built) return Error{built.error()};
  return manager;
}

Status CallManager::Build() {
  auto manipulation = callcontrol::NumberManipulation::Create(ManipulationFromConfig(config_.calls()));
  if (!manipulation) return Error{"calls.manipulation: " + manipulation.error()};
  manipulation_.emplace(std::move(*manipulation));
  auto tel_to_ip = callcontrol::TelToIpRouter::Create(TelToIpFromConfig(config_));
  if (!tel_to_ip) return Error{"calls.tel_to_ip_routes: " + tel_to_ip.error()};
  tel_to_ip_.emplace(std::move(*tel_to_ip));
  auto ip_to_tel = callcontrol::IpToTelRouter::Create(IpToTelFromConfig(config_.calls()), [this](int number) {
    Line* line = FindLine(static_cast<uint32_t>(number));
    return line == nullptr || line->state != LineState::kIdle || !line->pending_ref.empty() ||
           line->operator_owned;
  });
  if (!ip_to_tel) return Error{"calls.ip_to_tel_routes: " + ip_to_tel.error()};
  ip_to_tel_.emplace(std::move(*ip_to_tel));
  auto plan =
      callcontrol::DigitCollector::Create(DialPlanFromConfig(config_.calls().dial_plan(), ""), clock_);
  if (!plan) return Error{"calls.dial_plan: " + plan.error()};
  uint32_t total = 0;
  for (const auto& card : config_.tdm().cards()) total += card.fxs_ports() + card.fxo_ports();
  for (uint32_t n = 1; n <= total; ++n) {
    auto line = std::make_unique<Line>();
    line->info = *DescribeLine(config_, n);
    lines_[n] = std::move(line);
  }
  for (const auto& endpoint : config_.signaling().endpoints()) {
    if (!endpoint.phone_number().empty()) line_of_number_[endpoint.phone_number()] = endpoint.line();
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ lookups

CallManager::Call* CallManager::FindCall(const std::string& call_ref) {
  if (call_ref.empty()) return nullptr;
  auto it = calls_.find(call_ref);
  return it == calls_.end() ? nullptr : it->second.get();
}

CallManager::Line* CallManager::FindLine(uint32_t number) {
  auto it = lines_.find(number);
  return it == lines_.end() ? nullptr : it->second.get();
}

CallManager::Call* CallManager::ActiveCall(Line& line) { return FindCall(line.calls[line.active_leg]); }
CallManager::Call* CallManager::OtherCall(Line& line) { return FindCall(line.calls[1 - line.active_leg]); }

const config::v1::Endpoint* CallManager::EndpointOf(uint32_t line) const {
  for (const auto& endpoint : config_.signaling().endpoints()) {
    if (endpoint.line() == line) return &endpoint;
  }
  return nullptr;
}

std::string CallManager::NextCallRef() { return "c-" + std::to_string(next_ref_++); }

bool CallManager::AtCallLimit() const {
  return config_.calls().max_calls() > 0 && calls_.size() >= config_.calls().max_calls();
}

LineState CallManager::line_state(uint32_t number) const {
  auto it = lines_.find(number);
  return it == lines_.end() ? LineState::kIdle : it->second->state;
}

// ------------------------------------------------------------------ events in

void CallManager::OnLineEvent(const tdm::v1::LineEvent& event) {
  Line* line = FindLine(event.line());
  if (line == nullptr) {
    log::Warn("line event for an unknown line", {{"line", event.line()}});
    return;
  }
  Input in{E::kOffHook};
  switch (event.type()) {
    case tdm::v1::LINE_EVENT_TYPE_OFF_HOOK:
      in.event = E::kOffHook;
      break;
    case tdm::v1::LINE_EVENT_TYPE_ON_HOOK:
      in.event = E::kOnHook;
      break;
    case tdm::v1::LINE_EVENT_TYPE_FLASH:
      in.event = E::kFlash;
      break;
    case tdm::v1::LINE_EVENT_TYPE_PULSE_DIGIT:
      if (event.digit().empty()) return;
      in.event = E::kDigit;
      in.digit = event.digit()[0];
      break;
    case tdm::v1::LINE_EVENT_TYPE_RING_DETECTED:
      in.event = E::kRing;
      break;
    case tdm::v1::LINE_EVENT_TYPE_RING_STOPPED:
      in.event = E::kRingStopped;
      break;
    case tdm::v1::LINE_EVENT_TYPE_POLARITY_REVERSAL:
    case tdm::v1::LINE_EVENT_TYPE_LOOP_DISCONNECT:
      in.event = E::kDisconnect;
      break;
    case tdm::v1::LINE_EVENT_TYPE_ALARM:
      in.event = E::kAlarm;
      break;
    default:
      return;  // ALARM_CLEARED: nothing to do, the line is idle since the alarm
  }
  in.call = ActiveCall(*line);
  Dispatch(*line, in);
}

void CallManager::OnDtmf(const media::v1::DtmfDetected& event) {
  // Digits from the network, and the line's in-band digits during a call, are the far
  // end's business; only dialling states collect.
  if (event.from_rtp() || event.digit().empty()) return;
  Line* line = FindLine(event.line());
  if (line == nullptr) return;
  if (line->state != S::kDialTone && line->state != S::kCollecting && line->state != S::kHeld) return;
  Input in{E::kDigit};
  in.digit = event.digit()[0];
  Dispatch(*line, in);
}

void CallManager::OnRtpTimeout(const media::v1::RtpTimeout& event) {
  Line* line = FindLine(event.line());
  if (line == nullptr) return;
  Input in{E::kRtpTimeout};
  in.call = ActiveCall(*line);
  if (in.call == nullptr) return;  // the session outlived its call: nothing to release
  Dispatch(*line, in);
}

void CallManager::OnDigitsSent(const media::v1::DigitsSent& event) {
  Line* line = FindLine(event.line());
  if (line == nullptr || line->state != S::kFxoDialing || !line->fxo_digits_sent) return;
  Input in{E::kDigitsSent};
  in.call = ActiveCall(*line);
  Dispatch(*line, in);
}

void CallManager::OnBusyToneDetected(const media::v1::BusyToneDetected& event) {
  Line* line = FindLine(event.line());
  if (line == nullptr || !line->info.fxo) return;
  log::Info("busy tone from the exchange",
            {{"line", event.line()}, {"tone", event.tone()}, {"state", LineStateName(line->state)}});
  // Only a connected call has a far end whose hang-up it can mean; while dialling it is
  // the exchange's answer to the number, which the caller hears in the call.
  if (line->state != S::kConnected) return;
  Input in{E::kBusyTone};
  in.call = ActiveCall(*line);
  Dispatch(*line, in);
}

void CallManager::OnCallerIdReceived(const media::v1::CallerIdReceived& event) {
  Line* line = FindLine(event.line());
  if (line == nullptr) return;
  line->caller_id_number = event.number();
  line->caller_id_name = event.name();
}

void CallManager::OnCallEvent(const CallEvent& event) {
  if (event.event_case() == CallEvent::kIncoming) return HandleIncoming(event);
  Call* call = FindCall(event.call_ref());
  if (call == nullptr) {
    // Ours no longer: a release we caused, or a late event of a finished call. A REFER
    // we sent that has run its course: end the dialog now.
    if (event.event_case() == CallEvent::kTransferProgress && event.transfer_progress().final()) {
      signaling::v1::EndCallRequest end;
      end.set_call_ref(event.call_ref());
      signaling_.EndCall(end);
    }
    log::Debug("event for a call no longer here", {{"call_ref", event.call_ref()}});
    return;
  }
  Input in{E::kReleased};
  in.call_event = &event;
  switch (event.event_case()) {
    case CallEvent::kProgress:
      in.event = E::kProgress;
      break;
    case CallEvent::kAnswered:
      in.event = E::kAnswered;
      break;
    case CallEvent::kMediaChanged:
      in.event = E::kMediaChanged;
      break;
    case CallEvent::kReleased:
      in.event = E::kReleased;
      break;
    case CallEvent::kTransferRequested:
      in.event = E::kTransferRequested;
      break;
    case CallEvent::kTransferProgress:
      log::Info("transfer progress",
                {{"call_ref", call->ref}, {"status", event.transfer_progress().status()}});
      return;
    default:
      return;
  }
  const std::string ref = call->ref;
  std::vector<uint32_t> lines = call->line != 0 ? std::vector<uint32_t>{call->line} : call->offered_lines;
  for (uint32_t number : lines) {
    Call* still = FindCall(ref);
    Line* line = FindLine(number);
    if (still == nullptr || line == nullptr) break;
    in.call = still;
    Dispatch(*line, in);
  }
}

void CallManager::Poll() {
  const TimePoint now = clock_.Now();
  for (auto& [number, line] : lines_) {
    bool due = line->deadline && *line->deadline <= now;
    if (due) line->deadline.reset();  // one-shot
    if (line->collector && line->collector->deadline() && *line->collector->deadline() <= now) due = true;
    if (!due) continue;
    Input in{E::kTimer};
    in.call = ActiveCall(*line);
    Dispatch(*line, in);
  }
}

void CallManager::OnOperatorLine(uint32_t number, bool owned) {
  Line* line = FindLine(number);
  if (line == nullptr) return;
  line->operator_owned = owned;
  log::Info(owned ? "line taken by an operator session" : "line back to call control", {{"line", number}});
  if (!owned) return;
  switch (line->state) {
    case S::kDialTone:
    case S::kCollecting:
    case S::kReleasing:
      GoIdle(*line);  // no call yet (or none any more): the operator's now
      return;
    case S::kIdle:
      return;
    default:
      log::Warn("operator session on a line in a call",
                {{"line", number}, {"state", LineStateName(line->state)}});
      return;
  }
}

void CallManager::OnSignalingLost() {
  std::vector<std::string> refs;
  for (const auto& [ref, call] : calls_) refs.push_back(ref);
  if (!refs.empty()) log::Warn("signaling lost: releasing every call", {{"calls", refs.size()}});
  for (const std::string& ref : refs) {
    CallEvent lost;
    lost.set_call_ref(ref);
    lost.mutable_released()->set_status(503);
    lost.mutable_released()->set_reason("signaling lost");
    lost.mutable_released()->set_by_remote(false);
    OnCallEvent(lost);
  }
}

// ------------------------------------------------------------------ small effects

void CallManager::Tone(Line& line, ToneKind tone) {
  if (tone == line.tone) return;
  line.tone = tone;
  line_port_.PlayTone(line.info.line, tone);
}

void CallManager::Ring(Line& line, const Call& call) {
  tdm::v1::PortCommandRequest ring;
  ring.set_line(line.info.line);
  ring.mutable_ring();
  // The far end: the caller of an incoming call, the called party of a held outgoing
  // call that rings back (recall).
  ring.mutable_caller_id()->set_number(call.outgoing ? call.called : call.calling);
  ring.mutable_caller_id()->set_name(call.outgoing ? "" : call.calling_name);
  line_port_.PortCommand(ring);
  line.ringing = true;
}

void CallManager::StopRing(Line& line) {
  if (!line.ringing) return;
  line.ringing = false;
  tdm::v1::PortCommandRequest stop;
  stop.set_line(line.info.line);
  stop.set_stop_ring(true);
  line_port_.PortCommand(stop);
}

void CallManager::SetDeadline(Line& line, Duration after) { line.deadline = clock_.Now() + after; }

void CallManager::GoIdle(Line& line) {
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  StopRing(line);
  if (line.detecting) {
    line.detecting = false;
    line_port_.DigitDetection(line.info.line, false);
  }
  line.collector.reset();
  line.deadline.reset();
  line.ringing_ref.clear();
  line.rings = 0;
  line.active_leg = 0;
  line.caller_id_number.clear();
  line.caller_id_name.clear();
  if (line.info.fxo && line.state != S::kIdle && line.state != S::kFxoRinging) {
    tdm::v1::PortCommandRequest release;
    release.set_line(line.info.line);
    release.set_release(true);
    line_port_.PortCommand(release);
  }
  line.state = S::kIdle;
}

void CallManager::ReleaseToTone(Line& line, uint32_t sip_status) {
  if (line.info.fxo) return GoIdle(line);  // no phone to tell: go on-hook towards the exchange
  StopRing(line);
  Tone(line, sip_status >= 400 && sip_status < 500 && sip_status != 408 ? ToneKind::TONE_KIND_BUSY
                                                                        : ToneKind::TONE_KIND_CONGESTION);
  // Calling party control: an open-loop break tells the phone (or an auto-answering
  // simulated phone, or a PBX) that the far end hung up.
  tdm::v1::PortCommandRequest disconnect;
  disconnect.set_line(line.info.line);
  disconnect.set_disconnect_ms(kDisconnectMs);
  line_port_.PortCommand(disconnect);
  line.deadline.reset();
  line.state = S::kReleasing;
}

signaling::v1::LocalMedia CallManager::LocalMediaOf(const Call& call, media::v1::Direction direction) const {
  signaling::v1::LocalMedia local;
  local.set_address(config_.media().rtp_address());
  local.set_port(ReservedRtpPort(config_, call.line, call.leg));
  local.set_direction(direction);
  return local;
}

void CallManager::SetSessionMedia(Call& call, const media::v1::SessionParams& negotiated) {
  call.negotiated = negotiated;
  PushSession(call);
}

void CallManager::PushSession(Call& call) {
  if (!call.negotiated || call.line == 0 || call.media_deferred) return;
  media::v1::SessionParams params = *call.negotiated;
  params.set_line(call.line);
  params.set_leg(call.leg);
  params.set_local_port(ReservedRtpPort(config_, call.line, call.leg));
  params.set_rtp_timeout_ms(config_.calls().rtp_timeout_s() * 1000);
  params.set_conference(call.conference);
  // Held: the line neither hears the held party nor is heard by it.
  if (call.held) params.set_direction(media::v1::DIRECTION_INACTIVE);
  // No RTP is due while we receive nothing by agreement (our hold, or the far end's
  // hold with inactive / sendonly on our side): no timeout then.
  if (params.direction() == media::v1::DIRECTION_INACTIVE ||
      params.direction() == media::v1::DIRECTION_SENDONLY) {
    params.set_rtp_timeout_ms(0);
  }
  switch (call.session) {
    case Call::Session::kUp:
      line_port_.ModifySession(params);
      return;
    case Call::Session::kCreating:
      call.session_dirty = true;
      return;
    case Call::Session::kNone:
      break;
  }
  call.session = Call::Session::kCreating;
  const std::string ref = call.ref;
  const uint64_t generation = call.generation;
  line_port_.CreateSession(params, [this, ref, generation](Result<media::v1::CreateSessionReply> created) {
    Call* owner = FindCall(ref);
    // A call finished meanwhile deleted the session already (media handles a
    // process's requests in order, so the delete came after this create).
    if (owner == nullptr || owner->generation != generation) return;
    if (!created) {
      log::Error("media session not created",
                 {{"call_ref", ref}, {"line", owner->line}, {"error", created.error()}});
      owner->session = Call::Session::kNone;
      return;
    }
    owner->session = Call::Session::kUp;
    if (owner->session_dirty) {
      owner->session_dirty = false;
      PushSession(*owner);
    }
  });
}

void CallManager::Hold(Call& call, bool hold) {
  call.held = hold;
  signaling::v1::UpdateMediaRequest update;
  update.set_call_ref(call.ref);
  *update.mutable_media() =
      LocalMediaOf(call, hold ? media::v1::DIRECTION_SENDONLY : media::v1::DIRECTION_SENDRECV);
  signaling_.UpdateMedia(update);
  PushSession(call);
}

void CallManager::EndCall(Call& call, uint32_t sip_status, const std::string& reason,
                          const std::string& released_by, const std::string& contact) {
  signaling::v1::EndCallRequest end;
  end.set_call_ref(call.ref);
  end.set_status(sip_status);
  end.set_reason(reason);
  end.set_contact(contact);
  signaling_.EndCall(end);
  FinishCall(call.ref, released_by, static_cast<int>(sip_status), reason);
}

void CallManager::FinishCall(const std::string& call_ref, const std::string& released_by, int ip_code,
                             const std::string& reason) {
  auto it = calls_.find(call_ref);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  if (Line* line = FindLine(call->line)) {
    for (auto& ref : line->calls) {
      if (ref == call_ref) ref.clear();
    }
    if (line->ringing_ref == call_ref) line->ringing_ref.clear();
  }
  for (uint32_t offered : call->offered_lines) {
    if (Line* line = FindLine(offered); line != nullptr && line->ringing_ref == call_ref)
      line->ringing_ref.clear();
  }
  callcontrol::CdrRecord record;
  record.call_id = call->sip_call_id.empty() ? call->ref : call->sip_call_id;
  record.leg = callcontrol::CdrLeg::kIp;
  record.direction =
      call->outgoing ? callcontrol::CdrDirection::kTelToIp : callcontrol::CdrDirection::kIpToTel;
  record.caller = call->calling;
  record.callee = call->called;
  record.line = static_cast<int>(call->line);
  record.setup_ms = call->setup_ms;
  record.alert_ms = call->alert_ms;
  record.connect_ms = call->connect_ms;
  record.release_ms = WallNow();
  record.released_by = released_by;
  record.ip_release.sip_code = ip_code;
  record.ip_release.q850_cause = Q850Of(ip_code);
  record.tel_release.q850_cause = Q850Of(ip_code);
  if (call->negotiated) {
    record.codec = CodecName(call->negotiated->codec());
    record.ptime_ms = call->negotiated->ptime_ms() == 0 ? 20 : static_cast<int>(call->negotiated->ptime_ms());
  }
  log::Info("call released", {{"call_ref", call->ref},
                              {"line", call->line},
                              {"calling", call->calling},
                              {"called", call->called},
                              {"cause", ip_code},
                              {"reason", reason},
                              {"by", released_by}});
  if (call->session == Call::Session::kNone) {
    if (cdr_ != nullptr) cdr_->Write(record);
    return;
  }
  const uint32_t leg = call->leg;
  line_port_.DeleteSession(
      call->line, leg, [this, record, leg](Result<media::v1::DeleteSessionReply> deleted) mutable {
        if (deleted) {
          for (const auto& stats : deleted->final_stats()) {
            if (stats.leg() != leg) continue;
            record.rtp_packets_sent = stats.packets_sent();
            record.rtp_packets_received = stats.packets_received();
            record.rtp_packets_lost =
                stats.packets_lost() > 0 ? static_cast<uint64_t>(stats.packets_lost()) : 0;
            record.jitter_ms = stats.jitter_ms();
            record.one_way_delay_ms = stats.rtt_ms() / 2;
            if (!stats.codec().empty()) record.codec = stats.codec();
          }
          if (record.connect_ms != 0) record.FillQualityEstimate();
        } else {
          log::Warn("media session not deleted", {{"call_id", record.call_id}, {"error", deleted.error()}});
        }
        if (cdr_ != nullptr) cdr_->Write(record);
      });
}

void CallManager::FinishReleased(const std::string& call_ref, const Input& in) {
  const signaling::v1::CallReleased& released = in.call_event->released();
  FinishCall(call_ref, released.by_remote() ? "ip" : "gateway", static_cast<int>(released.status()),
             released.reason());
}

// ------------------------------------------------------------------ dialling (FXS outgoing)

void CallManager::StartDialling(Line& line, bool dial_tone) {
  const config::v1::Endpoint* endpoint = EndpointOf(line.info.line);
  auto collector = callcontrol::DigitCollector::Create(
      DialPlanFromConfig(config_.calls().dial_plan(), endpoint != nullptr ? endpoint->hotline_number() : ""),
      clock_);
  if (!collector) {  // Build() checked the plan; only a hot-line number could be bad
    log::Error("dial plan", {{"line", line.info.line}, {"error", collector.error()}});
    return;
  }
  line.collector.emplace(std::move(*collector));
  line.collector->Start();
  if (dial_tone) Tone(line, ToneKind::TONE_KIND_DIAL);
  if (!line.detecting) {
    line.detecting = true;
    line_port_.DigitDetection(line.info.line, true);
  }
}

void CallManager::OffHookIdle(Line& line, const Input&) {
  if (line.info.fxo || line.operator_owned) return;
  if (!line.pending_ref.empty()) {
    // linegatectl call: the simulated phone went off-hook, the number is known.
    const std::string ref = std::exchange(line.pending_ref, "");
    const std::string number = std::exchange(line.pending_number, "");
    line.deadline.reset();
    if (!PlaceOutgoing(line, 0, number, ref, S::kCalling)) ReleaseToTone(line, 503);
    return;
  }
  line.state = S::kDialTone;
  StartDialling(line, true);
  // A hot line without delay dials at once.
  if (line.collector && line.collector->deadline() && *line.collector->deadline() <= clock_.Now()) {
    TimerDialling(line, Input{E::kTimer});
  }
}

void CallManager::DigitDialling(Line& line, const Input& in) {
  if (!line.collector) return;
  if (line.tone == ToneKind::TONE_KIND_DIAL) Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  if (line.state == S::kDialTone) line.state = S::kCollecting;
  if (line.tone == ToneKind::TONE_KIND_CONGESTION) return;  // a failed consultation: only FLASH helps
  const callcontrol::CollectResult& result = line.collector->OnDigit(in.digit);
  if (result.done()) Dialled(line, result);
}

void CallManager::TimerDialling(Line& line, const Input&) {
  if (!line.collector) return;
  const callcontrol::CollectResult& result = line.collector->Poll();
  if (result.done()) Dialled(line, result);
}

void CallManager::Dialled(Line& line, const callcontrol::CollectResult& result) {
  const callcontrol::CollectResult done = result;
  line.collector.reset();
  if (line.detecting) {
    line.detecting = false;
    line_port_.DigitDetection(line.info.line, false);
  }
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  const bool consultation = line.state == S::kHeld;
  if (done.state != CollectState::kComplete || done.number.empty()) {
    log::Info("dialling failed", {{"line", line.info.line},
                                  {"digits", done.number},
                                  {"result", callcontrol::CollectStateName(done.state)}});
    if (consultation) return Tone(line, ToneKind::TONE_KIND_CONGESTION);
    return ReleaseToTone(line, 0);  // congestion (reorder): nothing to call
  }
  if (consultation) {
    const uint32_t leg = line.calls[0].empty() ? 0 : 1;
    if (!PlaceOutgoing(line, leg, done.number, NextCallRef(), S::kConsultCalling)) {
      Tone(line, ToneKind::TONE_KIND_CONGESTION);
    }
    return;
  }
  if (!PlaceOutgoing(line, 0, done.number, NextCallRef(), S::kCalling)) ReleaseToTone(line, 503);
}

void CallManager::OnHookDialling(Line& line, const Input&) { GoIdle(line); }

bool CallManager::PlaceOutgoing(Line& line, uint32_t leg, const std::string& number,
                                const std::string& call_ref, LineState calling_state,
                                const std::string& transferred_from) {
  if (AtCallLimit()) {
    log::Warn("call refused: calls.max_calls reached", {{"line", line.info.line}, {"called", number}});
    return false;
  }
  const config::v1::Endpoint* endpoint = EndpointOf(line.info.line);
  std::string calling = endpoint != nullptr && !endpoint->phone_number().empty()
                            ? endpoint->phone_number()
                            : std::to_string(line.info.line);
  std::string calling_name = endpoint != nullptr ? endpoint->display_name() : "";
  if (line.info.fxo && !line.caller_id_number.empty()) {
    // FXO: the exchange's caller is the calling party.
    calling = line.caller_id_number;
    calling_name = line.caller_id_name;
  }
  const callcontrol::ManipulationResult numbers =
      manipulation_->Apply(callcontrol::CallDirection::kTelToIp, number, calling);
  callcontrol::TelToIpAttempt attempt = tel_to_ip_->Route(numbers.destination, numbers.source);
  if (!attempt.current()) {
    log::Info("no route",
              {{"line", line.info.line}, {"called", numbers.destination}, {"code", attempt.failure_code()}});
    return false;
  }
  if (ReservedRtpPort(config_, line.info.line, leg) == 0) {
    log::Error("no RTP port for the line: media.rtp_port_min..max too small for two ports per line",
               {{"line", line.info.line}});
    return false;
  }
  auto call = std::make_unique<Call>();
  call->ref = call_ref;
  call->generation = next_generation_++;
  call->outgoing = true;
  call->line = line.info.line;
  call->leg = leg;
  call->calling = numbers.source;
  call->calling_name = calling_name;
  call->called = numbers.destination;
  call->transferred_from = transferred_from;
  call->attempt = std::move(attempt);
  call->setup_ms = WallNow();
  Call& placed = *call;
  calls_[call_ref] = std::move(call);
  line.calls[leg] = call_ref;
  if (calling_state == S::kConnected) {
    // A REFER's new call, placed while the line talks on its other leg.
    placed.media_deferred = true;
  } else {
    line.active_leg = leg;
  }
  placed.from_consultation = calling_state == S::kConsultCalling;
  // Before the INVITE: its failure may be reported at once.
  line.state = calling_state;
  SetDeadline(line, std::chrono::seconds(config_.calls().outgoing_setup_timeout_s()));
  log::Info("call setup", {{"call_ref", call_ref},
                           {"line", line.info.line},
                           {"direction", "tel-to-ip"},
                           {"calling", placed.calling},
                           {"called", placed.called},
                           {"route", placed.attempt->current()->rule_name}});
  SendInvite(placed);
  return true;
}

void CallManager::SendInvite(Call& call) {
  const callcontrol::TelToIpTarget& target = *call.attempt->current();
  signaling::v1::PlaceCallRequest place;
  place.set_call_ref(call.ref);
  place.set_line(call.line);
  place.set_calling_number(call.calling);
  place.set_calling_name(call.calling_name);
  place.set_called_number(call.called);
  place.set_destination(target.proxy_set.empty() ? target.address : target.proxy_set);
  *place.mutable_media() = LocalMediaOf(call, media::v1::DIRECTION_UNSPECIFIED);
  place.set_transferred_from(call.transferred_from);
  const std::string ref = call.ref;
  const uint64_t generation = call.generation;
  signaling_.PlaceCall(place, [this, ref, generation](Status placed) {
    if (placed) return;
    Call* owner = FindCall(ref);
    if (owner == nullptr || owner->generation != generation) return;
    // Signaling refused or did not answer: as if the INVITE had failed with 503, so
    // an alternative route is tried.
    CallEvent failed;
    failed.set_call_ref(ref);
    failed.mutable_released()->set_status(503);
    failed.mutable_released()->set_reason(placed.error());
    failed.mutable_released()->set_by_remote(true);
    OnCallEvent(failed);
  });
}

void CallManager::ProgressOutgoing(Line& line, const Input& in) {
  Call& call = *in.call;
  if (!call.alerted) {
    call.alerted = true;
    call.alert_ms = WallNow();
  }
  line.state = S::kRingback;
  if (in.call_event->progress().has_media()) {
    // Early media: the far end plays its own ringback or announcement.
    Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
    SetSessionMedia(call, in.call_event->progress().media());
  } else if (!call.negotiated) {
    Tone(line, ToneKind::TONE_KIND_RINGBACK);
  }
}

void CallManager::AnsweredOutgoing(Line& line, const Input& in) {
  Call& call = *in.call;
  if (line.state == S::kConnected) {
    // The call placed for a REFER answered: it replaces the transferred call.
    Call* old = FindCall(call.transferred_from);
    if (old == nullptr || &call == old) return;
    EndCall(*old, 0, "transferred", "ip");
    line.active_leg = call.leg;
    call.media_deferred = false;
  }
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  call.connected = true;
  call.connect_ms = WallNow();
  call.connected_at = clock_.Now();
  if (in.call_event->answered().has_media()) {
    SetSessionMedia(call, in.call_event->answered().media());
  } else if (call.session == Call::Session::kNone) {
    PushSession(call);  // the SDP came with a 183 while the call was not the line's active one
  }
  line.deadline.reset();
  line.state = S::kConnected;
  log::Info("call connected", {{"call_ref", call.ref}, {"line", line.info.line}});
}

void CallManager::ProgressBackground(Line&, const Input& in) {
  // A call that is not the line's active one (placed for a REFER) rings: noted; its
  // early media waits until it becomes the active call.
  Call& call = *in.call;
  if (!call.alerted) {
    call.alerted = true;
    call.alert_ms = WallNow();
  }
  if (in.call_event->progress().has_media()) call.negotiated = in.call_event->progress().media();
}

void CallManager::TimerOutgoing(Line& line, const Input&) {
  Call* call = FindCall(line.calls[line.active_leg]);
  if (call == nullptr || call->connected) return;
  log::Info("outgoing call not answered in time", {{"call_ref", call->ref}, {"line", line.info.line}});
  // The status only tells the CDR why: an unanswered outgoing call is CANCELled.
  EndCall(*call, 408, "setup timeout", "gateway");
  if (line.state == S::kConsultCalling) {
    line.active_leg = 1 - line.active_leg;
    line.state = S::kHeld;
    return Tone(line, ToneKind::TONE_KIND_CONGESTION);
  }
  ReleaseToTone(line, 408);
}

void CallManager::ReleasedActive(Line& line, const Input& in) {
  Call& call = *in.call;
  const auto& released = in.call_event->released();
  if (&call != ActiveCall(line)) {
    // The call placed for a REFER failed: the transferred call goes on.
    FinishReleased(call.ref, in);
    return;
  }
  if (Call* transfer = OtherCall(line); transfer != nullptr && transfer->transferred_from == call.ref) {
    // The transferor hung up before the call it referred us to answered (allowed after
    // its 202): that call goes on, as an outgoing call of the line.
    FinishReleased(call.ref, in);
    line.active_leg = transfer->leg;
    transfer->media_deferred = false;
    line.state = transfer->alerted ? S::kRingback : S::kCalling;
    if (transfer->alerted && !transfer->negotiated) Tone(line, ToneKind::TONE_KIND_RINGBACK);
    if (transfer->negotiated) PushSession(*transfer);  // its early media
    SetDeadline(line, std::chrono::seconds(config_.calls().outgoing_setup_timeout_s()));
    return;
  }
  if (!call.connected && call.outgoing && call.attempt && released.by_remote()) {
    if (call.attempt->OnFailure(static_cast<int>(released.status()))) {
      // Alternative route: a new INVITE (a new call_ref: the failed dialog is over).
      const std::string old_ref = call.ref;
      auto node = calls_.extract(old_ref);
      node.key() = NextCallRef();
      node.mapped()->ref = node.key();
      node.mapped()->generation = next_generation_++;
      line.calls[call.leg] = node.key();
      Call& retry = *node.mapped();
      calls_.insert(std::move(node));
      // The failed attempt's early media is not the new one's: ringback until the new
      // far end sends its own. An open session is kept (same line, leg and port) and
      // modified when it does.
      retry.negotiated.reset();
      retry.alerted = false;
      retry.alert_ms = 0;
      log::Info("alternative route", {{"call_ref", retry.ref},
                                      {"failed_call_ref", old_ref},
                                      {"status", released.status()},
                                      {"route", retry.attempt->current()->rule_name}});
      Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
      line.state = S::kCalling;
      SendInvite(retry);
      return;
    }
  }
  const uint32_t status = released.status();
  FinishReleased(call.ref, in);
  ReleaseToTone(line, status);
}

void CallManager::OnHookActive(Line& line, const Input&) {
  // Every call of the line ends (a REFER's new call being set up included).
  const std::string refs[2] = {line.calls[0], line.calls[1]};  // EndCall clears the slots
  for (const std::string& ref : refs) {
    if (Call* call = FindCall(ref)) EndCall(*call, 0, "on-hook", "tel");
  }
  GoIdle(line);
}

void CallManager::MediaChanged(Line&, const Input& in) {
  SetSessionMedia(*in.call, in.call_event->media_changed().media());
}

void CallManager::RtpTimeoutActive(Line& line, const Input& in) {
  log::Info("no RTP: releasing the call", {{"call_ref", in.call->ref}, {"line", line.info.line}});
  Call* other = OtherCall(line);
  EndCall(*in.call, 0, "RTP timeout", "gateway");
  if (other != nullptr) {
    // The held call stays: the user gets it back with FLASH.
    line.active_leg = other->leg;
    line.state = S::kHeld;
    return StartDialling(line, true);
  }
  ReleaseToTone(line, 0);
}

void CallManager::OnHookReleasing(Line& line, const Input&) {
  GoIdle(line);
  // A call still on the line (a waiting call, or a held one) rings the phone again.
  for (uint32_t leg = 0; leg < 2; ++leg) {
    Call* call = FindCall(line.calls[leg]);
    if (call == nullptr) continue;
    line.active_leg = leg;
    call->media_deferred = false;             // the phone is on-hook now
    if (call->connected) PushSession(*call);  // a waiting call's session comes with the off-hook
    Ring(line, *call);
    SetDeadline(line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
    if (call->connected) {
      line.state = S::kRecall;
    } else {
      line.ringing_ref = call->ref;
      line.state = S::kRinging;
    }
    return;
  }
}

void CallManager::DisconnectFxo(Line& line, const Input& in) {
  if (!line.info.fxo) return;
  log::Info("exchange side hung up", {{"line", line.info.line}});
  if (in.call != nullptr) EndCall(*in.call, 0, "exchange disconnect", "tel");
  GoIdle(line);
}

void CallManager::Ignore(Line& line, const Input& in) {
  if (in.event == E::kTimer && line.state == S::kIdle && !line.pending_ref.empty()) {
    log::Warn("linegatectl call: the phone did not go off-hook", {{"line", line.info.line}});
    line.pending_ref.clear();
    line.pending_number.clear();
  }
}

// ------------------------------------------------------------------ incoming (IP-to-Tel)

void CallManager::HandleIncoming(const CallEvent& event) {
  const signaling::v1::IncomingCall& incoming = event.incoming();
  if (FindCall(event.call_ref()) != nullptr) return;  // a repeat
  auto refuse = [&](uint32_t status, const std::string& reason) {
    log::Info("incoming call refused", {{"call_ref", event.call_ref()},
                                        {"called", incoming.called_number()},
                                        {"calling", incoming.calling_number()},
                                        {"status", status},
                                        {"reason", reason}});
    signaling::v1::EndCallRequest end;
    end.set_call_ref(event.call_ref());
    end.set_status(status);
    end.set_reason(reason);
    signaling_.EndCall(end);
    WriteUnconnectedCdr(event, static_cast<int>(status), "");
  };
  if (AtCallLimit()) return refuse(503, "calls.max_calls reached");
  if (!incoming.replaces_call_ref().empty() && TakeOver(event)) return;
  const callcontrol::ManipulationResult numbers = manipulation_->Apply(
      callcontrol::CallDirection::kIpToTel, incoming.called_number(), incoming.calling_number());
  callcontrol::IpToTelResult route =
      ip_to_tel_->Route(numbers.destination, numbers.source, incoming.source_ip());
  uint32_t busy_line = 0;  // the one line the call is for, when it is busy
  if (route.kind == callcontrol::IpToTelResult::Kind::kAllBusy && route.rule >= 0 &&
      route.hunt_group.empty()) {
    busy_line = config_.calls().ip_to_tel_routes(route.rule).line();
  }
  if (route.kind == callcontrol::IpToTelResult::Kind::kUnknownNumber) {
    auto it = line_of_number_.find(numbers.destination);
    if (it == line_of_number_.end()) return refuse(404, "Not Found");
    Line* line = FindLine(it->second);
    if (line == nullptr) return refuse(404, "Not Found");
    if (line->state == S::kIdle && line->pending_ref.empty() && !line->operator_owned) {
      route.kind = callcontrol::IpToTelResult::Kind::kLines;
      route.lines = {static_cast<int>(it->second)};
    } else {
      route.kind = callcontrol::IpToTelResult::Kind::kAllBusy;
      route.sip_code = 486;
      busy_line = it->second;
    }
  }
  // Call forwarding (MediaPack's call forward table): a 302 with the target as Contact.
  auto forward = [&](const std::string& target, const char* why) {
    log::Info("incoming call forwarded", {{"call_ref", event.call_ref()},
                                          {"called", numbers.destination},
                                          {"calling", numbers.source},
                                          {"to", target},
                                          {"why", why}});
    signaling::v1::EndCallRequest end;
    end.set_call_ref(event.call_ref());
    end.set_status(302);
    end.set_reason("Moved Temporarily");
    end.set_contact(target);
    signaling_.EndCall(end);
    WriteUnconnectedCdr(event, 302, numbers.destination);
  };
  const uint32_t single_line =
      route.kind == callcontrol::IpToTelResult::Kind::kLines && route.lines.size() == 1
          ? static_cast<uint32_t>(route.lines[0])
          : busy_line;
  if (const config::v1::Endpoint* endpoint = EndpointOf(single_line);
      endpoint != nullptr && !endpoint->forward_unconditional().empty()) {
    return forward(endpoint->forward_unconditional(), "unconditional");
  }
  auto call = std::make_unique<Call>();
  call->ref = event.call_ref();
  call->generation = next_generation_++;
  call->calling = numbers.source;
  call->calling_name = incoming.calling_name();
  call->called = numbers.destination;
  call->source_ip = incoming.source_ip();
  call->sip_call_id = incoming.sip_call_id();
  call->setup_ms = WallNow();
  if (incoming.has_media()) call->negotiated = incoming.media();

  if (route.kind == callcontrol::IpToTelResult::Kind::kAllBusy) {
    Line* line = FindLine(busy_line);
    const config::v1::Endpoint* endpoint = EndpointOf(busy_line);
    const bool waiting = line != nullptr && !line->info.fxo && line->state == S::kConnected &&
                         OtherCall(*line) == nullptr && endpoint != nullptr && endpoint->call_waiting();
    if (!waiting && endpoint != nullptr && !endpoint->forward_busy().empty()) {
      return forward(endpoint->forward_busy(), "busy");
    }
    if (!waiting)
      return refuse(static_cast<uint32_t>(route.sip_code), route.sip_code == 486 ? "Busy Here" : "Busy");
    // Call waiting: the second call waits on the line's other leg.
    Call& placed = *call;
    placed.line = busy_line;
    placed.leg = 1 - line->active_leg;
    placed.media_deferred = true;
    calls_[placed.ref] = std::move(call);
    line->calls[placed.leg] = placed.ref;
    signaling::v1::AnswerCallRequest ringing;
    ringing.set_call_ref(placed.ref);
    ringing.set_status(180);
    signaling_.AnswerCall(ringing);
    placed.alerted = true;
    placed.alert_ms = WallNow();
    Tone(*line, ToneKind::TONE_KIND_CALL_WAITING);
    media::v1::SendCallerIdRequest cid;
    cid.set_line(busy_line);
    cid.mutable_caller_id()->set_number(placed.calling);
    cid.mutable_caller_id()->set_name(placed.calling_name);
    cid.set_off_hook(true);
    line_port_.SendCallerId(cid);
    SetDeadline(*line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
    line->state = S::kCallWaiting;
    log::Info("call setup", {{"call_ref", placed.ref},
                             {"line", busy_line},
                             {"direction", "ip-to-tel"},
                             {"calling", placed.calling},
                             {"called", placed.called},
                             {"call_waiting", "true"}});
    return;
  }
  Call& placed = *call;
  calls_[placed.ref] = std::move(call);
  const bool single = route.lines.size() == 1;
  for (int number : route.lines) placed.offered_lines.push_back(static_cast<uint32_t>(number));
  log::Info("call setup", {{"call_ref", placed.ref},
                           {"line", single ? std::to_string(route.lines[0]) : std::string("ring-all")},
                           {"direction", "ip-to-tel"},
                           {"calling", placed.calling},
                           {"called", placed.called}});
  if (single) {
    Line& line = *FindLine(placed.offered_lines[0]);
    placed.line = line.info.line;
    placed.leg = 0;
    line.calls[0] = placed.ref;
    if (line.info.fxo) {
      // IP-to-Tel over FXO: seize, give the exchange calls.fxo_dial_delay_ms to put
      // its dial tone on, then dial the called number (TimerFxoDialing) and connect
      // once it is out (DigitsSentFxo).
      PushSession(placed);
      tdm::v1::PortCommandRequest seize;
      seize.set_line(line.info.line);
      seize.set_seize(true);
      line_port_.PortCommand(seize);
      SetDeadline(line, std::chrono::milliseconds(config_.calls().fxo_dial_delay_ms()));
      line.fxo_digits_sent = false;
      line.state = S::kFxoDialing;
      return;
    }
  }
  // 180 without SDP, the session comes with the answer: SDP in the 180 would make the
  // caller's phone play the early media (the ringing phone's silent line) instead of
  // its own ringback, and a session open while nobody talks could time out on RTP.
  // The offer is answered in the 200.
  signaling::v1::AnswerCallRequest ringing;
  ringing.set_call_ref(placed.ref);
  ringing.set_status(180);
  signaling_.AnswerCall(ringing);
  placed.alerted = true;
  placed.alert_ms = WallNow();
  for (uint32_t number : placed.offered_lines) {
    Line& line = *FindLine(number);
    line.ringing_ref = placed.ref;
    Ring(line, placed);
    SetDeadline(line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
    line.state = S::kRinging;
  }
}

void CallManager::WriteUnconnectedCdr(const CallEvent& event, int sip_code, const std::string& callee) {
  if (cdr_ == nullptr) return;
  const signaling::v1::IncomingCall& incoming = event.incoming();
  callcontrol::CdrRecord record;
  record.call_id = incoming.sip_call_id().empty() ? event.call_ref() : incoming.sip_call_id();
  record.leg = callcontrol::CdrLeg::kIp;
  record.direction = callcontrol::CdrDirection::kIpToTel;
  record.caller = incoming.calling_number();
  record.callee = callee.empty() ? incoming.called_number() : callee;
  record.line = 0;
  record.setup_ms = WallNow();
  record.release_ms = record.setup_ms;
  record.released_by = "gateway";
  record.ip_release.sip_code = sip_code;
  record.ip_release.q850_cause = Q850Of(sip_code);
  record.tel_release.q850_cause = Q850Of(sip_code);
  cdr_->Write(record);
}

bool CallManager::TakeOver(const CallEvent& event) {
  // RFC 3891: an attended transfer by the far end hands our call to a new caller,
  // whose INVITE replaces it. The new call takes the old one's line and leg, answered
  // at once; the old dialog ends with BYE.
  const signaling::v1::IncomingCall& incoming = event.incoming();
  Call* old = FindCall(incoming.replaces_call_ref());
  if (old == nullptr || old->line == 0 || !old->connected) return false;
  Line* line = FindLine(old->line);
  if (line == nullptr || ActiveCall(*line) != old || line->state != S::kConnected) return false;
  auto call = std::make_unique<Call>();
  Call& replacing = *call;
  replacing.ref = event.call_ref();
  replacing.generation = next_generation_++;
  replacing.calling = incoming.calling_number();
  replacing.calling_name = incoming.calling_name();
  replacing.called = incoming.called_number();
  replacing.source_ip = incoming.source_ip();
  replacing.sip_call_id = incoming.sip_call_id();
  replacing.setup_ms = WallNow();
  replacing.line = old->line;
  replacing.leg = old->leg;
  replacing.offered_lines = {old->line};
  if (incoming.has_media()) replacing.negotiated = incoming.media();
  log::Info("call setup", {{"call_ref", replacing.ref},
                           {"line", replacing.line},
                           {"direction", "ip-to-tel"},
                           {"calling", replacing.calling},
                           {"called", replacing.called},
                           {"replaces", old->ref}});
  EndCall(*old, 0, "replaced", "ip");
  calls_[replacing.ref] = std::move(call);
  line->calls[replacing.leg] = replacing.ref;
  line->active_leg = replacing.leg;
  PushSession(replacing);
  signaling::v1::AnswerCallRequest answer;
  answer.set_call_ref(replacing.ref);
  answer.set_status(200);
  *answer.mutable_media() = LocalMediaOf(replacing, media::v1::DIRECTION_UNSPECIFIED);
  signaling_.AnswerCall(answer);
  replacing.connected = true;
  replacing.connect_ms = WallNow();
  replacing.connected_at = clock_.Now();
  return true;
}

void CallManager::OffHookRinging(Line& line, const Input&) {
  Call* call = FindCall(line.ringing_ref);
  if (call == nullptr) {
    GoIdle(line);
    return OffHookIdle(line, Input{E::kOffHook});
  }
  line.ringing = false;  // the phone's off-hook ends the ringing (tdm trips the ring)
  line.ringing_ref.clear();
  line.deadline.reset();
  for (uint32_t other : call->offered_lines) {
    if (other == line.info.line) continue;
    if (Line* loser = FindLine(other); loser != nullptr && loser->ringing_ref == call->ref) GoIdle(*loser);
  }
  call->offered_lines = {line.info.line};
  if (call->line == 0) {
    call->line = line.info.line;
    call->leg = 0;
    line.calls[0] = call->ref;
  }
  line.active_leg = call->leg;
  if (call->session == Call::Session::kNone) PushSession(*call);  // a recalled waiting call may have one
  signaling::v1::AnswerCallRequest answer;
  answer.set_call_ref(call->ref);
  answer.set_status(200);
  *answer.mutable_media() = LocalMediaOf(*call, media::v1::DIRECTION_UNSPECIFIED);
  signaling_.AnswerCall(answer);
  call->connected = true;
  call->connect_ms = WallNow();
  call->connected_at = clock_.Now();
  line.state = S::kConnected;
  log::Info("call connected", {{"call_ref", call->ref}, {"line", line.info.line}});
}

void CallManager::ReleasedRinging(Line& line, const Input& in) {
  Call& call = *in.call;
  const std::string ref = call.ref;
  auto& offered = call.offered_lines;
  offered.erase(std::remove(offered.begin(), offered.end(), line.info.line), offered.end());
  GoIdle(line);
  if (offered.empty()) {
    FinishReleased(ref, in);
  }
}

void CallManager::TimerRinging(Line& line, const Input&) {
  Call* call = FindCall(line.ringing_ref);
  if (call == nullptr) return GoIdle(line);
  const config::v1::Endpoint* endpoint = EndpointOf(line.info.line);
  const std::vector<uint32_t> offered = call->offered_lines;
  if (offered.size() == 1 && endpoint != nullptr && !endpoint->forward_no_answer().empty()) {
    log::Info("incoming call forwarded",
              {{"call_ref", call->ref}, {"to", endpoint->forward_no_answer()}, {"why", "no answer"}});
    EndCall(*call, 302, "Moved Temporarily", "gateway", endpoint->forward_no_answer());
  } else {
    EndCall(*call, 480, "Temporarily Unavailable", "gateway");
  }
  for (uint32_t number : offered) {
    if (Line* ringing = FindLine(number)) GoIdle(*ringing);
  }
  if (line.state != S::kIdle) GoIdle(line);
}

void CallManager::TimerFxoDialing(Line& line, const Input&) {
  Call* call = ActiveCall(line);
  if (call == nullptr) return GoIdle(line);
  if (line.fxo_digits_sent) {
    log::Warn("FXO: media did not report the digits sent; connecting", {{"line", line.info.line}});
    return ConnectFxo(line);
  }
  // The number to dial is the called number after IP-to-Tel manipulation, in DTMF
  // (anything else, such as a leading '+', cannot be dialled). A call that reached the
  // line by the endpoint's own phone number is for the line itself: nothing to dial,
  // the caller dials the exchange in-band (two-stage).
  std::string digits;
  const config::v1::Endpoint* endpoint = EndpointOf(line.info.line);
  if (endpoint == nullptr || call->called != endpoint->phone_number()) {
    for (char c : call->called) {
      if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) digits += c;
    }
  }
  if (digits.empty()) return ConnectFxo(line);
  log::Info("FXO: dialling the exchange",
            {{"line", line.info.line}, {"call_ref", call->ref}, {"digits", digits}});
  line_port_.SendDigits(line.info.line, digits);
  line.fxo_digits_sent = true;
  SetDeadline(line, kFxoDigitMs * static_cast<int64_t>(digits.size()) + kFxoDigitsMargin);
}

void CallManager::DigitsSentFxo(Line& line, const Input&) {
  if (ActiveCall(line) == nullptr) return GoIdle(line);
  ConnectFxo(line);
}

void CallManager::ConnectFxo(Line& line) {
  Call* call = ActiveCall(line);
  if (call == nullptr) return GoIdle(line);
  line.fxo_digits_sent = false;
  line.deadline.reset();
  signaling::v1::AnswerCallRequest answer;
  answer.set_call_ref(call->ref);
  answer.set_status(200);
  *answer.mutable_media() = LocalMediaOf(*call, media::v1::DIRECTION_UNSPECIFIED);
  signaling_.AnswerCall(answer);
  call->connected = true;
  call->connect_ms = WallNow();
  call->connected_at = clock_.Now();
  line.state = S::kConnected;
}

void CallManager::ReleasedFxoDialing(Line& line, const Input& in) {
  FinishReleased(in.call->ref, in);
  GoIdle(line);
}

// ------------------------------------------------------------------ hold, consultation, conference

void CallManager::FlashConnected(Line& line, const Input& in) {
  if (line.info.fxo || in.call == nullptr) return;
  Hold(*in.call, true);
  line.state = S::kHeld;
  StartDialling(line, true);
}

void CallManager::FlashHeld(Line& line, const Input&) {
  // Back to the held call (abandoning whatever was dialled).
  line.collector.reset();
  if (line.detecting) {
    line.detecting = false;
    line_port_.DigitDetection(line.info.line, false);
  }
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  Call* call = ActiveCall(line);
  if (call == nullptr) call = OtherCall(line);
  if (call == nullptr) return ReleaseToTone(line, 0);
  line.active_leg = call->leg;
  Hold(*call, false);
  line.state = S::kConnected;
}

void CallManager::OnHookHeld(Line& line, const Input&) {
  Call* call = ActiveCall(line);
  if (call == nullptr) call = OtherCall(line);
  GoIdle(line);
  if (call == nullptr) return;
  // Hung up with a call on hold: ring the phone to remind the user.
  line.active_leg = call->leg;
  Ring(line, *call);
  SetDeadline(line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
  line.state = S::kRecall;
}

void CallManager::ReleasedHeld(Line& line, const Input& in) {
  FinishReleased(in.call->ref, in);
  // The user, at dial tone, may still dial a new call.
  if (line.collector && line.collector->state() == CollectState::kCollecting) {
    line.state = S::kCollecting;
  } else if (line.collector) {
    line.state = S::kDialTone;
  } else {
    ReleaseToTone(line, 0);
  }
}

void CallManager::ProgressConsult(Line& line, const Input& in) {
  if (in.call != ActiveCall(line)) return;
  if (in.call_event->progress().has_media()) {
    Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
    SetSessionMedia(*in.call, in.call_event->progress().media());
  } else if (!in.call->negotiated) {
    Tone(line, ToneKind::TONE_KIND_RINGBACK);
  }
  if (!in.call->alerted) {
    in.call->alerted = true;
    in.call->alert_ms = WallNow();
  }
}

void CallManager::AnsweredConsult(Line& line, const Input& in) {
  if (in.call != ActiveCall(line)) return;
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  Call& call = *in.call;
  call.connected = true;
  call.connect_ms = WallNow();
  call.connected_at = clock_.Now();
  if (in.call_event->answered().has_media()) SetSessionMedia(call, in.call_event->answered().media());
  line.deadline.reset();
  line.state = S::kTwoCalls;
}

void CallManager::OnHookConsultCalling(Line& line, const Input&) {
  // Blind transfer: hung up while the consultation call rings: the held party is
  // referred to the number dialled.
  Call* consult = ActiveCall(line);
  Call* held = OtherCall(line);
  if (held != nullptr && consult != nullptr) {
    signaling::v1::TransferCallRequest transfer;
    transfer.set_call_ref(held->ref);
    transfer.set_target(consult->called);
    signaling_.TransferCall(transfer);
    log::Info("blind transfer", {{"call_ref", held->ref}, {"target", consult->called}});
    EndCall(*consult, 0, "transfer", "tel");
    // The REFER's dialog ends when its NOTIFY says the transfer is over (OnCallEvent).
    FinishCall(held->ref, "tel", 0, "transferred");
  } else if (consult != nullptr) {
    EndCall(*consult, 0, "on-hook", "tel");
  } else if (held != nullptr) {
    EndCall(*held, 0, "on-hook", "tel");
  }
  GoIdle(line);
}

void CallManager::FlashConsultCalling(Line& line, const Input&) {
  // Changed one's mind while the consultation call rings: it is cancelled and the
  // held call comes back.
  Call* consult = ActiveCall(line);
  Call* held = OtherCall(line);
  if (consult != nullptr) EndCall(*consult, 0, "consultation abandoned", "tel");
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  line.deadline.reset();
  if (held == nullptr) return ReleaseToTone(line, 0);
  line.active_leg = held->leg;
  Hold(*held, false);
  line.state = S::kConnected;
}

void CallManager::FlashTwoCalls(Line& line, const Input&) {
  Call* active = ActiveCall(line);
  Call* held = OtherCall(line);
  if (active == nullptr || held == nullptr) return;
  if (active->from_consultation) {
    // Three-way conference: both legs mixed, the held call resumed.
    active->conference = true;
    held->conference = true;
    PushSession(*active);
    Hold(*held, false);
    line.state = S::kConference;
    log::Info("conference", {{"line", line.info.line}, {"calls", active->ref + "," + held->ref}});
    return;
  }
  // Call waiting: swap.
  Hold(*active, true);
  line.active_leg = held->leg;
  Hold(*held, false);
}

void CallManager::OnHookTwoCalls(Line& line, const Input&) {
  Call* active = ActiveCall(line);
  Call* held = OtherCall(line);
  if (line.state == S::kTwoCalls && active != nullptr && held != nullptr && active->from_consultation) {
    // Attended transfer: the held party is referred to the consultation call, which
    // its INVITE with Replaces takes over.
    signaling::v1::TransferCallRequest transfer;
    transfer.set_call_ref(held->ref);
    transfer.set_target(active->called);
    transfer.set_replaces_call_ref(active->ref);
    signaling_.TransferCall(transfer);
    log::Info("attended transfer", {{"call_ref", held->ref}, {"replaces", active->ref}});
    FinishCall(active->ref, "tel", 0, "transferred");
    FinishCall(held->ref, "tel", 0, "transferred");
    return GoIdle(line);
  }
  if (line.state == S::kConference) {
    if (active != nullptr) EndCall(*active, 0, "on-hook", "tel");
    if (held != nullptr) EndCall(*held, 0, "on-hook", "tel");
    return GoIdle(line);
  }
  if (active != nullptr) EndCall(*active, 0, "on-hook", "tel");
  GoIdle(line);
  if (held == nullptr) return;
  line.active_leg = held->leg;
  Ring(line, *held);
  SetDeadline(line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
  line.state = S::kRecall;
}

void CallManager::ReleasedTwoCalls(Line& line, const Input& in) {
  Call& gone = *in.call;
  const bool was_active = &gone == ActiveCall(line);
  const uint32_t status = in.call_event->released().status();
  FinishReleased(gone.ref, in);
  Call* remaining = ActiveCall(line);
  if (remaining == nullptr) remaining = OtherCall(line);
  if (remaining == nullptr) return ReleaseToTone(line, status);
  line.active_leg = remaining->leg;
  if (line.state == S::kConference) {
    remaining->conference = false;
    PushSession(*remaining);
    line.state = S::kConnected;
    return;
  }
  if (line.state == S::kConsultCalling && was_active) {
    // The consultation call failed: the tone says why; FLASH returns to the held call.
    Tone(line, status >= 400 && status < 500 ? ToneKind::TONE_KIND_BUSY : ToneKind::TONE_KIND_CONGESTION);
    line.state = S::kHeld;
    return;
  }
  if (remaining->held) {
    // Only the held call is left: dial tone, FLASH takes it back.
    line.state = S::kHeld;
    Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
    return StartDialling(line, true);
  }
  line.state = remaining->connected ? S::kConnected : S::kRingback;
}

void CallManager::FlashCallWaiting(Line& line, const Input&) {
  Call* active = ActiveCall(line);
  Call* waiting = OtherCall(line);
  if (active == nullptr || waiting == nullptr) return;
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  Hold(*active, true);
  line.active_leg = waiting->leg;
  waiting->media_deferred = false;
  PushSession(*waiting);
  signaling::v1::AnswerCallRequest answer;
  answer.set_call_ref(waiting->ref);
  answer.set_status(200);
  *answer.mutable_media() = LocalMediaOf(*waiting, media::v1::DIRECTION_UNSPECIFIED);
  signaling_.AnswerCall(answer);
  waiting->connected = true;
  waiting->connect_ms = WallNow();
  waiting->connected_at = clock_.Now();
  line.deadline.reset();
  line.state = S::kTwoCalls;
  log::Info("call connected",
            {{"call_ref", waiting->ref}, {"line", line.info.line}, {"call_waiting", "true"}});
}

void CallManager::ReleasedCallWaiting(Line& line, const Input& in) {
  Call& gone = *in.call;
  const bool waiting_gone = !gone.connected;
  FinishReleased(gone.ref, in);
  if (line.state == S::kReleasing) return;  // the phone will hang up anyway
  if (waiting_gone) {
    Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
    line.deadline.reset();
    line.state = S::kConnected;
    return;
  }
  // The talking party hung up while another call waits: tone until on-hook, then the
  // waiting call rings (OnHookReleasing). No open-loop break: the phone would take it
  // for a hang-up of everything.
  if (Call* waiting = OtherCall(line)) line.active_leg = waiting->leg;
  line.deadline.reset();
  line.tone = ToneKind::TONE_KIND_UNSPECIFIED;
  Tone(line, ToneKind::TONE_KIND_CONGESTION);
  line.state = S::kReleasing;
}

void CallManager::OnHookCallWaiting(Line& line, const Input&) {
  Call* active = ActiveCall(line);
  Call* waiting = OtherCall(line);
  if (active != nullptr) EndCall(*active, 0, "on-hook", "tel");
  GoIdle(line);
  if (waiting == nullptr) return;
  line.active_leg = waiting->leg;
  line.ringing_ref = waiting->ref;
  waiting->media_deferred = false;  // its session comes with the off-hook
  Ring(line, *waiting);
  SetDeadline(line, std::chrono::seconds(config_.calls().no_answer_timeout_s()));
  line.state = S::kRinging;
}

void CallManager::TimerCallWaiting(Line& line, const Input&) {
  if (Call* waiting = OtherCall(line)) EndCall(*waiting, 480, "Temporarily Unavailable", "gateway");
  Tone(line, ToneKind::TONE_KIND_UNSPECIFIED);
  line.state = S::kConnected;
}

void CallManager::OffHookRecall(Line& line, const Input&) {
  line.ringing = false;
  line.deadline.reset();
  Call* call = ActiveCall(line);
  if (call == nullptr) return GoIdle(line);
  Hold(*call, false);
  line.state = S::kConnected;
}

void CallManager::ReleasedRecall(Line& line, const Input& in) {
  FinishReleased(in.call->ref, in);
  GoIdle(line);
}

void CallManager::TimerRecall(Line& line, const Input&) {
  if (Call* call = ActiveCall(line)) EndCall(*call, 0, "recall not answered", "gateway");
  GoIdle(line);
}

void CallManager::TransferRequested(Line& line, const Input& in) {
  // REFER from the far end: call the target from the same line on the other leg; the
  // new call replaces this one when it answers (AnsweredOutgoing).
  Call& call = *in.call;
  const auto& request = in.call_event->transfer_requested();
  const std::string target = request.target_number().empty() ? request.target_uri() : request.target_number();
  const uint32_t leg = 1 - call.leg;
  if (!line.calls[leg].empty() || !PlaceOutgoing(line, leg, target, NextCallRef(), S::kConnected, call.ref)) {
    log::Warn("transfer not placed", {{"call_ref", call.ref}, {"target", target}});
    return;
  }
  // The talking call stays the active one until the new one answers.
  line.deadline.reset();
}

// ------------------------------------------------------------------ FXO

void CallManager::RingFxo(Line& line, const Input&) {
  if (!line.info.fxo || line.operator_owned) return;
  line.state = S::kFxoRinging;
  ++line.rings;
  SetDeadline(line, kFxoRingGap);
  const int needed = std::max<int>(1, static_cast<int>(config_.calls().fxo_answer_rings()));
  if (line.rings < needed) return;
  tdm::v1::PortCommandRequest seize;
  seize.set_line(line.info.line);
  seize.set_seize(true);
  line_port_.PortCommand(seize);
  line.deadline.reset();
  const config::v1::Endpoint* endpoint = EndpointOf(line.info.line);
  line.state = S::kDialTone;  // seized: GoIdle releases from here on
  if (endpoint != nullptr && !endpoint->fxo_destination().empty()) {
    if (!PlaceOutgoing(line, 0, endpoint->fxo_destination(), NextCallRef(), S::kCalling)) GoIdle(line);
    return;
  }
  // Two-stage: the exchange's caller hears dial tone and dials the SIP number.
  StartDialling(line, true);
}

void CallManager::RingStoppedFxo(Line& line, const Input&) { SetDeadline(line, kFxoRingGap); }

void CallManager::TimerFxoRinging(Line& line, const Input&) { GoIdle(line); }

// ------------------------------------------------------------------ operators

signaling::v1::CallListReply CallManager::ListCalls() const {
  signaling::v1::CallListReply reply;
  const TimePoint now = clock_.Now();
  for (const auto& [ref, call] : calls_) {
    signaling::v1::CallSummary* summary = reply.add_calls();
    summary->set_call_ref(ref);
    summary->set_line(call->line != 0 ? call->line
                                      : (call->offered_lines.empty() ? 0 : call->offered_lines[0]));
    summary->set_direction(call->outgoing ? "tel-to-ip" : "ip-to-tel");
    std::string state(LineStateName(line_state(summary->line())));
    if (call->held) state += " (held)";
    summary->set_state(state);
    summary->set_calling_number(call->calling);
    summary->set_called_number(call->called);
    if (call->connected) summary->set_duration_ms(ToMillis(now - call->connected_at));
    if (call->negotiated) {
      summary->set_codec(CodecName(call->negotiated->codec()));
      if (!call->negotiated->remote_address().empty()) {
        summary->set_remote_media(call->negotiated->remote_address() + ":" +
                                  std::to_string(call->negotiated->remote_port()));
      }
    }
  }
  return reply;
}

Result<std::string> CallManager::MakeCall(uint32_t number, const std::string& dialled) {
  Line* line = FindLine(number);
  if (line == nullptr) return Error{"line " + std::to_string(number) + " does not exist"};
  if (line->info.fxo)
    return Error{"line " + std::to_string(number) + " is an FXO line: calls start from FXS lines"};
  if (!line->info.sim) {
    return Error{"line " + std::to_string(number) + " is a real phone: it has to go off-hook itself"};
  }
  if (line->state != S::kIdle || !line->pending_ref.empty() || line->operator_owned) {
    return Error{"line " + std::to_string(number) + " is busy (" + std::string(LineStateName(line->state)) +
                 ")"};
  }
  if (dialled.empty()) return Error{"no number"};
  line->pending_ref = NextCallRef();
  line->pending_number = dialled;
  SetDeadline(*line, kMakeCallOffHookWait);
  // The simulated phone goes off-hook; its OFF_HOOK event places the call.
  line_port_.LineScript(number, "offhook");
  return line->pending_ref;
}

Status CallManager::Hangup(const std::string& call_ref, uint32_t number) {
  Call* call = FindCall(call_ref);
  if (call == nullptr && number != 0) {
    Line* line = FindLine(number);
    if (line == nullptr) return Error{"line " + std::to_string(number) + " does not exist"};
    call = ActiveCall(*line);
    if (call == nullptr) call = FindCall(line->ringing_ref);
    if (call == nullptr) call = OtherCall(*line);
    if (call == nullptr) return Error{"line " + std::to_string(number) + " has no call"};
  }
  if (call == nullptr) return Error{"no call '" + call_ref + "'"};
  // Ended in signaling first; then the line reacts as to any release not of its doing.
  signaling::v1::EndCallRequest end;
  end.set_call_ref(call->ref);
  end.set_status(call->outgoing || call->connected ? 0 : 480);
  end.set_reason("hangup by operator");
  signaling_.EndCall(end);
  CallEvent released;
  released.set_call_ref(call->ref);
  released.mutable_released()->set_status(0);
  released.mutable_released()->set_reason("hangup by operator");
  released.mutable_released()->set_by_remote(false);
  OnCallEvent(released);
  return Status::Ok();
}

}  // namespace linegate::calls
