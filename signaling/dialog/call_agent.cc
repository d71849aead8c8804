#include "signaling/dialog/call_agent.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/bus/utf8.h"
#include "common/log.h"
#include "signaling/registration/request_builder.h"
#include "signaling/sdp/offer_answer.h"
#include "signaling/sdp/sdp.h"
#include "signaling/sdp/session_params.h"
#include "signaling/sip/sip_serializer.h"
#include "signaling/transaction/transaction_messages.h"
#include "signaling/transport/via_routing.h"

namespace linegate::signaling::dialog {

namespace pb = linegate::signaling::v1;
using transaction::TransactionId;

std::string_view CallStateName(CallState state) {
  switch (state) {
    case CallState::kCalling:
      return "calling";
    case CallState::kProceeding:
      return "proceeding";
    case CallState::kEarly:
      return "early";
    case CallState::kConfirmed:
      return "confirmed";
    case CallState::kTerminating:
      return "terminating";
    case CallState::kTerminated:
      return "terminated";
  }
  return "unknown";
}

struct CallAgent::Call {
  std::string call_ref;
  bool outgoing = false;
  CallState state = CallState::kCalling;
  uint32_t line = 0;

  // The dialog (RFC 3261 12.1): its id, the header values our requests carry, the
  // remote target and route set, and both CSeq spaces.
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_header;   // From of our requests (To of the INVITE we answer), with our tag
  std::string remote_header;  // To of our requests, with their tag once known
  std::string local_uri;
  std::string remote_uri;
  std::string remote_target;
  std::vector<std::string> route_set;
  uint32_t local_cseq = 0;
  uint32_t remote_cseq = 0;
  transport::Destination peer;  // where the INVITE went / came from: the fallback next hop
  std::string contact;          // our Contact value

  // Offer/answer (RFC 3264).
  sdp::LocalConfig media;
  bool have_media = false;  // control gave us LocalMedia
  std::unique_ptr<sdp::LocalOrigin> origin;
  std::optional<sdp::SessionDescription> remote_offer;  // an offer we answer in the 2xx
  std::optional<sdp::SessionDescription> our_offer;     // our offer still waiting for its answer
  std::optional<sdp::Negotiated> negotiated;

  // UAS: the INVITE being answered, kept as bytes (the parsed view dies with the callback).
  TransactionId invite_server = 0;
  std::string invite_raw;
  transport::Protocol invite_protocol = transport::Protocol::kUdp;
  transport::SocketAddress invite_source;
  transport::Destination response_destination;

  // Our 2xx to an INVITE or re-INVITE, retransmitted until the ACK (RFC 3261 13.3.1.4).
  std::string pending_2xx;
  uint32_t pending_2xx_cseq = 0;
  uint64_t pending_2xx_serial = 0;
  Duration retransmit_interval{};
  Scheduler::TimerId retransmit_timer = 0;
  Scheduler::TimerId ack_timer = 0;
  bool bye_after_ack = false;  // RFC 3261 15: the callee's BYE waits for the ACK

  // UAC: our INVITE and its authentication.
  TransactionId invite_client = 0;
  std::string request_uri;
  std::string invite_body;
  std::string replaces;
  std::vector<auth::AuthorizationHeader> invite_auth;
  std::unique_ptr<auth::DigestClient> digest;
  bool provisional_received = false;
  bool cancel_wanted = false;
  bool cancel_sent = false;
  // RFC 3262: UAC: RSeq of the last reliable provisional PRACKed; UAS: of the last
  // reliable provisional sent.
  uint32_t last_rseq = 0;
  // UAS (the INVITE required 100rel): the reliable provisional waiting for its PRACK,
  // retransmitted like a 2xx, and a provisional control asked for meanwhile.
  bool reliable_provisionals = false;
  std::string pending_reliable;
  uint64_t reliable_serial = 0;
  Duration reliable_interval{};
  Scheduler::TimerId reliable_timer = 0;
  Scheduler::TimerId reliable_giveup = 0;
  uint16_t queued_provisional = 0;
  // The ACK of the 2xx we accepted, sent again for each retransmission of that 2xx.
  std::string ack;
  uint32_t ack_cseq = 0;
  transport::Destination ack_destination;
  // 2xx from other forks (RFC 3261 13.2.2.4): their To tag and the ACK we sent them.
  std::map<std::string, std::pair<std::string, transport::Destination>, std::less<>> forks;

  // Our re-INVITE (UpdateMedia).
  TransactionId reinvite_client = 0;
  // UpdateMedia arrived during another offer/answer exchange: offer when it ends.
  bool reoffer_wanted = false;
  Scheduler::TimerId reinvite_retry = 0;
  // A re-INVITE from the far end that we answered and whose ACK is outstanding.
  bool reinvite_server_pending = false;

  // REFER (RFC 3515). transferor_ref: on a call placed for a REFER, the call whose
  // transferor gets our NOTIFYs. refer_subscription: on the transferred call, an
  // accepted REFER whose implicit subscription is active.
  std::string transferor_ref;
  bool refer_subscription = false;

  // RFC 4028 session timer: the interval agreed (0: none), who refreshes, and the
  // timer that refreshes (ours) or ends the session (theirs).
  uint32_t session_interval = 0;
  bool we_refresh = false;
  bool peer_supports_timer = false;
  uint32_t requested_interval = 0;  // UAC: Session-Expires of our INVITE
  bool retried_422 = false;
  Scheduler::TimerId session_timer = 0;
  uint64_t session_serial = 0;

  // UAS: ends the wait for control's final answer (OnAnswerLimit).
  Scheduler::TimerId answer_timer = 0;

  // A release we owe control when the pending CANCEL or BYE completes.
  bool release_pending = false;
};

namespace {

constexpr std::string_view kSdpType = "application/sdp";
constexpr std::string_view kSipfragType = "message/sipfrag;version=2.0";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view ReasonFor(uint16_t status) {
  switch (status) {
    case 180:
      return "Ringing";
    case 183:
      return "Session Progress";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 480:
      return "Temporarily Unavailable";
    case 481:
      return "Call/Transaction Does Not Exist";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 491:
      return "Request Pending";
    case 500:
      return "Server Internal Error";
    case 503:
      return "Service Unavailable";
    case 603:
      return "Decline";
    default:
      return status < 300 ? "OK" : "Error";
  }
}

// A reason phrase control handed us goes on a status line: one line, no control octets.
std::string SafeReason(std::string_view reason, uint16_t status) {
  std::string out;
  for (char c : reason) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out.push_back(c);
  }
  if (Trim(out).empty()) return std::string(ReasonFor(status));
  return out;
}

bool HasSdp(const sip::Message& message) {
  const sip::ContentType* type = message.content_type();
  return !message.body().empty() && type != nullptr && EqualsIgnoreCase(type->type, "application") &&
         EqualsIgnoreCase(type->subtype, "sdp");
}

// The first Contact's URI, empty when absent or malformed.
std::string ContactUri(const sip::Message& message) {
  sip::HeaderValueIterator contacts(message, sip::HeaderId::kContact);
  std::string_view element;
  if (!contacts.Next(element)) return "";
  sip::Contact contact;
  if (!sip::ParseContact(Trim(element), contact) || contact.wildcard) return "";
  return std::string(contact.address.uri.text);
}

std::vector<std::string> RecordRoutes(const sip::Message& message) {
  std::vector<std::string> routes;
  sip::HeaderValueIterator values(message, sip::HeaderId::kRecordRoute);
  std::string_view element;
  while (values.Next(element)) {
    if (!Trim(element).empty()) routes.emplace_back(Trim(element));
  }
  return routes;
}

// A display name as received ("\"Alice\"" or Alice) without quotes and escapes.
std::string Unquote(std::string_view display) {
  display = Trim(display);
  if (display.size() < 2 || display.front() != '"' || display.back() != '"') return std::string(display);
  std::string out;
  for (size_t i = 1; i + 1 < display.size(); ++i) {
    if (display[i] == '\\' && i + 2 < display.size()) ++i;
    out.push_back(display[i]);
  }
  return out;
}

// RFC 3261 25.1 quoted-string: a display name control gave us, with '"' and '\'
// escaped and control octets dropped so that it can never break the header.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string UriHost(const transport::SocketAddress& address) {
  return address.family() == AF_INET6 ? "[" + address.HostString() + "]" : address.HostString();
}

std::string HostPort(const transport::SocketAddress& address) {
  return UriHost(address) + ":" + std::to_string(address.port());
}

// "host:port", "[v6]:port", or a bare numeric host (port 5060).
std::optional<transport::SocketAddress> ParseHostPort(std::string_view text) {
  std::string_view host = text;
  uint16_t port = 5060;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port_text = text.substr(close + 2);
    }
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      host = text;  // a bare IPv6 address
    } else {
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
  }
  if (!port_text.empty()) {
    uint32_t value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<uint32_t>(c - '0');
      if (value > 65535) return std::nullopt;
    }
    if (value == 0) return std::nullopt;
    port = static_cast<uint16_t>(value);
  }
  return transport::SocketAddress::Parse(host, port);
}

// Where a request to `uri_text` (a URI, or a name-addr from a route set) goes: its host
// when numeric, else `fallback` (the peer of the INVITE; names are not resolved here).
transport::Destination NextHop(std::string_view uri_text, const transport::Destination& fallback) {
  transport::Destination destination = fallback;
  sip::NameAddr name_addr;
  if (!sip::ParseNameAddr(Trim(uri_text), name_addr) || !name_addr.uri.IsSip()) return destination;
  std::string_view host = name_addr.uri.host;
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  const uint16_t default_port = name_addr.uri.scheme == sip::UriScheme::kSips ? 5061 : 5060;
  auto address =
      transport::SocketAddress::Parse(host, name_addr.uri.has_port ? name_addr.uri.port : default_port);
  if (!address) return destination;
  if (!(*address == fallback.address)) destination.connection_id = 0;
  destination.address = *address;
  return destination;
}

sdp::Direction FromProtoDirection(linegate::media::v1::Direction direction) {
  switch (direction) {
    case linegate::media::v1::DIRECTION_SENDONLY:
      return sdp::Direction::kSendOnly;
    case linegate::media::v1::DIRECTION_RECVONLY:
      return sdp::Direction::kRecvOnly;
    case linegate::media::v1::DIRECTION_INACTIVE:
      return sdp::Direction::kInactive;
    default:
      return sdp::Direction::kSendRecv;
  }
}

// The response's bytes with a body: BuildResponse ends in "Content-Length: 0" and an
// empty line, which become the body's type and length.
std::string WithBody(std::string message, std::string_view content_type, std::string_view body) {
  if (body.empty()) return message;
  constexpr std::string_view kEmpty = "Content-Length: 0\r\n\r\n";
  if (message.size() >= kEmpty.size() &&
      message.compare(message.size() - kEmpty.size(), kEmpty.size(), kEmpty) == 0) {
    message.resize(message.size() - kEmpty.size());
  }
  message.append("Content-Type: ").append(content_type).append("\r\n");
  message.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  message.append(body);
  return message;
}

// "SIP/2.0 180 Ringing" -> 180; 0 when the sipfrag has no status line.
uint32_t SipfragStatus(std::string_view body) {
  constexpr std::string_view kPrefix = "SIP/2.0 ";
  if (body.substr(0, kPrefix.size()) != kPrefix) return 0;
  uint32_t status = 0;
  for (size_t i = kPrefix.size(); i < body.size() && i < kPrefix.size() + 3; ++i) {
    if (body[i] < '0' || body[i] > '9') return 0;
    status = status * 10 + static_cast<uint32_t>(body[i] - '0');
  }
  return status >= 100 && status < 700 ? status : 0;
}

// RFC 3261 19.1.1: characters escaped in a URI header value (for ?Replaces=).
std::string EscapeUriHeaderValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || std::strchr("-_.!~*'()[]/?:+$", c) != nullptr) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string UnescapeText(std::string_view text) {
  std::string buffer(text.size(), '\0');
  auto decoded = sip::Unescape(text, std::span<char>(buffer.data(), buffer.size()));
  return decoded ? std::string(*decoded) : std::string(text);
}

// The tag parameter's value in a Replaces value ("call-id;to-tag=a;from-tag=b").
std::string_view ReplacesParam(std::string_view value, std::string_view name) {
  size_t at = 0;
  while ((at = value.find(';', at)) != std::string_view::npos) {
    ++at;
    std::string_view rest = Trim(value.substr(at));
    if (rest.size() > name.size() && EqualsIgnoreCase(rest.substr(0, name.size()), name) &&
        rest[name.size()] == '=') {
      std::string_view param = rest.substr(name.size() + 1);
      return Trim(param.substr(0, param.find(';')));
    }
  }
  return {};
}

// Whether a Supported or Require header lists `tag`.
bool HasOptionTag(const sip::Message& message, sip::HeaderId id, std::string_view tag) {
  sip::HeaderValueIterator values(message, id);
  std::string_view element;
  while (values.Next(element)) {
    if (EqualsIgnoreCase(Trim(element), tag)) return true;
  }
  return false;
}

uint32_t ParseSeconds(std::string_view text) {
  text = Trim(text);
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = std::min<uint64_t>(value * 10 + static_cast<uint64_t>(text[i] - '0'), UINT32_MAX);
  }
  return i == 0 ? 0 : static_cast<uint32_t>(value);
}

// RFC 4028 4: Session-Expires = delta-seconds *(;se-params), se-params holding
// refresher=uac|uas.
struct SessionExpires {
  uint32_t seconds = 0;
  std::string_view refresher;  // "uac", "uas" or empty
};
std::optional<SessionExpires> ParseSessionExpires(const sip::Message& message) {
  const sip::HeaderField* field = message.FindHeader(sip::HeaderId::kSessionExpires);
  if (field == nullptr) return std::nullopt;
  SessionExpires out;
  std::string_view value = field->value;
  out.seconds = ParseSeconds(value.substr(0, value.find(';')));
  if (out.seconds == 0) return std::nullopt;
  for (std::string_view param : {"uac", "uas"}) {
    const std::string needle = "refresher=" + std::string(param);
    for (size_t at = value.find(';'); at != std::string_view::npos; at = value.find(';', at + 1)) {
      std::string_view rest = Trim(value.substr(at + 1));
      if (rest.size() >= needle.size() && EqualsIgnoreCase(rest.substr(0, needle.size()), needle)) {
        out.refresher = param == "uac" ? "uac" : "uas";
      }
    }
  }
  return out;
}

uint32_t MinSe(const sip::Message& message) {
  const sip::HeaderField* field = message.FindHeader("Min-SE");
  return field == nullptr ? 0
                          : ParseSeconds(std::string_view(field->value).substr(0, field->value.find(';')));
}

}  // namespace

CallAgent::CallAgent(Scheduler& scheduler, transaction::TransactionLayer& transactions,
                     transport::Transport& transport, auth::RandomSource& random, CallAgentConfig config,
                     CallAgentHooks hooks)
    : scheduler_(scheduler),
      transactions_(transactions),
      transport_(transport),
      random_(random),
      config_(std::move(config)),
      hooks_(std::move(hooks)),
      scratch_(std::make_unique<sip::Message>()) {}

CallAgent::~CallAgent() {
  *alive_ = false;
  for (auto& [ref, call] : calls_) {
    scheduler_.Cancel(call->retransmit_timer);
    scheduler_.Cancel(call->ack_timer);
    scheduler_.Cancel(call->reinvite_retry);
    scheduler_.Cancel(call->session_timer);
    scheduler_.Cancel(call->answer_timer);
    scheduler_.Cancel(call->reliable_timer);
    scheduler_.Cancel(call->reliable_giveup);
  }
}

bool CallAgent::Serves(std::string_view method) {
  return method == "INVITE" || method == "BYE" || method == "CANCEL" || method == "UPDATE" ||
         method == "REFER" || method == "NOTIFY" || method == "INFO" || method == "PRACK";
}

// ---------------------------------------------------------------------------------
// Bookkeeping

CallAgent::Call* CallAgent::Find(std::string_view call_ref) {
  auto it = calls_.find(call_ref);
  return it == calls_.end() ? nullptr : it->second.get();
}

CallAgent::Call* CallAgent::FindByDialog(std::string_view call_id, std::string_view local_tag,
                                         std::string_view remote_tag) {
  auto [begin, end] = by_call_id_.equal_range(call_id);
  for (auto it = begin; it != end; ++it) {
    Call* call = it->second;
    if (call->local_tag != local_tag) continue;
    // Before the dialog is confirmed (UAC) the remote tag may not be known yet.
    if (remote_tag.empty() || call->remote_tag.empty() || call->remote_tag == remote_tag) return call;
  }
  return nullptr;
}

CallAgent::Call* CallAgent::FindByInviteTransaction(TransactionId transaction) {
  for (auto& [ref, call] : calls_) {
    if (call->invite_server == transaction) return call.get();
  }
  return nullptr;
}

void CallAgent::SetState(Call& call, CallState to) {
  if (call.state == to) return;
  if (!IsLegalTransition(call.state, to)) {
    ++counters_.illegal_transitions;
    log::Warn("call: illegal state transition",
              {{"call_ref", call.call_ref}, {"from", CallStateName(call.state)}, {"to", CallStateName(to)}});
    return;
  }
  log::Debug("call: state",
             {{"call_ref", call.call_ref}, {"from", CallStateName(call.state)}, {"to", CallStateName(to)}});
  call.state = to;
}

void CallAgent::Publish(const Call& call, pb::CallEvent& event) {
  event.set_call_ref(call.call_ref);
  bus::MakeUtf8Fields(event);
  if (hooks_.on_event) hooks_.on_event(event);
}

void CallAgent::Release(Call& call, uint32_t status, std::string_view reason, bool by_remote) {
  pb::CallEvent event;
  pb::CallReleased* released = event.mutable_released();
  released->set_status(status);
  released->set_reason(std::string(reason));
  released->set_by_remote(by_remote);
  // A call placed for a REFER reports its end to the transferor (RFC 3515 2.4.5).
  if (!call.transferor_ref.empty() && call.state != CallState::kConfirmed) {
    const uint16_t final_status = status == 0 ? 487 : static_cast<uint16_t>(status);
    NotifyTransferor(call.transferor_ref, final_status, reason.empty() ? ReasonFor(final_status) : reason,
                     true);
    call.transferor_ref.clear();
  }
  Publish(call, event);
  Forget(call);
}

void CallAgent::Forget(Call& call) {
  SetState(call, CallState::kTerminated);
  scheduler_.Cancel(call.retransmit_timer);
  scheduler_.Cancel(call.ack_timer);
  scheduler_.Cancel(call.reinvite_retry);
  scheduler_.Cancel(call.session_timer);
  scheduler_.Cancel(call.answer_timer);
  scheduler_.Cancel(call.reliable_timer);
  scheduler_.Cancel(call.reliable_giveup);
  // Transactions still running (a BYE, a CANCEL) finish without anyone to tell.
  for (auto it = owned_.begin(); it != owned_.end();) {
    it = it->second.call_ref == call.call_ref ? owned_.erase(it) : std::next(it);
  }
  auto [begin, end] = by_call_id_.equal_range(call.call_id);
  for (auto it = begin; it != end; ++it) {
    if (it->second == &call) {
      by_call_id_.erase(it);
      break;
    }
  }
  calls_.erase(call.call_ref);  // `call` is gone from here on
}

// ---------------------------------------------------------------------------------
// Responses of ours (UAS)

std::string CallAgent::BuildUasResponse(const sip::Message& request, const transport::Received& received,
                                        uint16_t status, std::string_view reason, std::string_view to_tag,
                                        std::string_view extra_headers, std::string_view body) {
  std::vector<char> buffer(request.raw().size() + extra_headers.size() + 512);
  auto size = sip::BuildResponse(request, status, reason, to_tag, buffer, extra_headers);
  if (!size) return "";
  std::string response(buffer.data(), *size);
  transport::StampTopVia(response, received.source);
  return WithBody(std::move(response), kSdpType, body);
}

void CallAgent::Reply(const transaction::IncomingRequest& request, uint16_t status, std::string_view reason,
                      std::string_view to_tag, std::string_view extra_headers, std::string_view body) {
  std::string response =
      BuildUasResponse(request.message, request.received, status, reason, to_tag, extra_headers, body);
  if (response.empty()) {
    log::Warn("call: response not built", {{"status", status}});
    return;
  }
  Status sent = transactions_.Respond(request.transaction, std::move(response));
  if (!sent.ok()) log::Debug("call: response not sent", {{"status", status}, {"error", sent.error()}});
}

void CallAgent::Start2xxRetransmission(Call& call, std::string response, uint32_t cseq) {
  scheduler_.Cancel(call.retransmit_timer);
  scheduler_.Cancel(call.ack_timer);
  call.pending_2xx = std::move(response);
  call.pending_2xx_cseq = cseq;
  call.pending_2xx_serial = next_serial_++;
  call.retransmit_interval = config_.timers.t1;
  std::weak_ptr<bool> alive = alive_;
  const std::string ref = call.call_ref;
  const uint64_t serial = call.pending_2xx_serial;
  // Over TCP/TLS the transport delivers the 2xx; only the wait for the ACK remains.
  if (!transport::IsReliable(call.response_destination.protocol)) {
    call.retransmit_timer = scheduler_.Schedule(call.retransmit_interval, [this, alive, ref, serial] {
      if (alive.lock() && *alive.lock()) Retransmit2xx(ref, serial);
    });
  }
  call.ack_timer = scheduler_.Schedule(64 * config_.timers.t1, [this, alive, ref, serial] {
    if (alive.lock() && *alive.lock()) On2xxNotAcked(ref, serial);
  });
}

void CallAgent::Retransmit2xx(const std::string& call_ref, uint64_t serial) {
  Call* call = Find(call_ref);
  if (call == nullptr || call->pending_2xx.empty() || call->pending_2xx_serial != serial) return;
  Status sent = transport_.Send(call->response_destination, call->pending_2xx);
  if (!sent.ok()) log::Debug("call: 2xx retransmission failed", {{"error", sent.error()}});
  call->retransmit_interval = std::min(2 * call->retransmit_interval, config_.timers.t2);
  std::weak_ptr<bool> alive = alive_;
  call->retransmit_timer = scheduler_.Schedule(call->retransmit_interval, [this, alive, call_ref, serial] {
    if (alive.lock() && *alive.lock()) Retransmit2xx(call_ref, serial);
  });
}

void CallAgent::On2xxNotAcked(const std::string& call_ref, uint64_t serial) {
  Call* call = Find(call_ref);
  if (call == nullptr || call->pending_2xx.empty() || call->pending_2xx_serial != serial) return;
  ++counters_.ack_timeouts;
  Stop2xxRetransmission(*call);
  // RFC 3261 13.3.1.4: the dialog is confirmed, but the session ends with a BYE.
  log::Info("call: no ACK for our 2xx", {{"call_ref", call_ref}});
  call->bye_after_ack = false;
  SendBye(*call);
  Release(*call, 408, "No ACK", true);
}

void CallAgent::Stop2xxRetransmission(Call& call) {
  scheduler_.Cancel(call.retransmit_timer);
  scheduler_.Cancel(call.ack_timer);
  call.retransmit_timer = 0;
  call.ack_timer = 0;
  call.pending_2xx.clear();
}

// ---------------------------------------------------------------------------------
// Requests from the far end

void CallAgent::OnRequest(const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  const std::string_view method = message.method();
  if (method == "CANCEL") {
    OnCancel(request);
    return;
  }
  const std::string_view to_tag = message.to() ? message.to()->tag : std::string_view();
  if (to_tag.empty()) {
    if (method == "INVITE") {
      OnInvite(request);
      return;
    }
    ++counters_.unknown_dialog;
    Reply(request, 481, ReasonFor(481), "");
    return;
  }
  const std::string_view from_tag = message.from() ? message.from()->tag : std::string_view();
  Call* call = FindByDialog(message.call_id(), to_tag, from_tag);
  if (call == nullptr || call->state == CallState::kTerminated) {
    ++counters_.unknown_dialog;
    Reply(request, 481, ReasonFor(481), "");
    return;
  }
  OnInDialogRequest(*call, request);
}

void CallAgent::OnInvite(const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  // RFC 3261 8.2.2.2: the same INVITE by another path (or a late copy after our 2xx,
  // RFC 6026) carries a From tag and Call-ID we already serve.
  const std::string_view from_tag = message.from() ? message.from()->tag : std::string_view();
  auto [same_begin, same_end] = by_call_id_.equal_range(message.call_id());
  for (auto same = same_begin; same != same_end; ++same) {
    Call* existing = same->second;
    if (existing->outgoing || existing->remote_tag != from_tag) continue;
    if (!existing->pending_2xx.empty() && message.cseq() &&
        message.cseq()->number == existing->pending_2xx_cseq) {
      Status sent = transactions_.Respond(request.transaction, existing->pending_2xx);
      if (!sent.ok()) log::Debug("call: 2xx not resent", {{"error", sent.error()}});
    } else {
      Reply(request, 482, "Loop Detected", "");
    }
    return;
  }

  auto call = std::make_unique<Call>();
  call->call_ref = "s-" + std::to_string(next_incoming_++);
  call->outgoing = false;
  call->state = CallState::kProceeding;
  auto tag = registration::RandomHex(random_, 8);
  if (!tag) {
    Reply(request, 500, ReasonFor(500), "");
    return;
  }
  call->local_tag = *tag;

  std::optional<transport::SocketAddress> local = transport_.LocalAddress(request.received.protocol);
  const std::string warn_agent = local ? HostPort(*local) : "linegate";

  // RFC 3264 6: the offer must leave something we accept, else 488 and control never
  // hears of the call. LocalMedia is not known yet (control allocates it when it
  // accepts the call): negotiate against a placeholder address now, answer for real
  // when control answers.
  if (!message.body().empty()) {
    auto offer = sdp::Parse(message.body());
    if (!offer) {
      ++counters_.rejected_offers;
      Reply(request, 488, ReasonFor(488), call->local_tag,
            "Warning: 399 " + warn_agent + " \"Malformed SDP\"\r\n");
      return;
    }
    sdp::LocalConfig probe;
    probe.codecs = config_.codecs;
    probe.telephone_event_pt = config_.telephone_event_pt;
    probe.ptime_ms = config_.ptime_ms;
    probe.address = "0.0.0.0";
    probe.port = 2;
    sdp::LocalOrigin probe_origin(1, probe.address);
    auto answer = sdp::BuildAnswer(*offer, probe, probe_origin);
    if (!answer) {
      ++counters_.rejected_offers;
      log::Info("call: offer refused", {{"call_id", message.call_id()}, {"why", answer.error()}});
      Reply(request, 488, ReasonFor(488), call->local_tag,
            "Warning: 305 " + warn_agent + " \"Incompatible media format\"\r\n");
      return;
    }
    call->negotiated = answer->negotiated;
    call->remote_offer = std::move(*offer);
  }

  // RFC 4028 9: the session interval and refresher of the 2xx, decided now so that an
  // interval below our Min-SE is refused (422) before control hears of the call.
  if (config_.session_expires_s != 0) {
    call->peer_supports_timer = HasOptionTag(message, sip::HeaderId::kSupported, "timer") ||
                                HasOptionTag(message, sip::HeaderId::kRequire, "timer");
    const std::optional<SessionExpires> se = ParseSessionExpires(message);
    if (se && se->seconds < config_.min_se_s) {
      Reply(request, 422, "Session Interval Too Small", call->local_tag,
            "Min-SE: " + std::to_string(config_.min_se_s) + "\r\n");
      return;
    }
    // We may shorten the interval asked for, not below the Min-SE of the request.
    const uint32_t floor = std::max(config_.min_se_s, MinSe(message));
    call->session_interval =
        std::max(floor, se ? std::min(se->seconds, config_.session_expires_s) : config_.session_expires_s);
    // The caller's choice of refresher stands; else the caller refreshes if it can.
    const bool uac_refreshes =
        se && !se->refresher.empty() ? se->refresher == "uac" : call->peer_supports_timer;
    call->we_refresh = !uac_refreshes;
  }

  // RFC 3262: only a caller that requires reliable provisionals gets them.
  call->reliable_provisionals = HasOptionTag(message, sip::HeaderId::kRequire, "100rel");

  call->call_id = std::string(message.call_id());
  call->remote_tag = std::string(from_tag);
  const sip::HeaderField* from = message.FindHeader(sip::HeaderId::kFrom);
  const sip::HeaderField* to = message.FindHeader(sip::HeaderId::kTo);
  call->remote_header = from ? std::string(from->value) : "";
  call->local_header = (to ? std::string(to->value) : "") + ";tag=" + call->local_tag;
  call->remote_uri = message.from() ? std::string(message.from()->uri.text) : "";
  call->local_uri = message.to() ? std::string(message.to()->uri.text) : "";
  call->remote_target = ContactUri(message);
  call->route_set = RecordRoutes(message);  // UAS: in order (RFC 3261 12.1.1)
  call->remote_cseq = message.cseq() ? message.cseq()->number : 0;
  call->invite_server = request.transaction;
  call->invite_raw = std::string(message.raw());
  call->invite_protocol = request.received.protocol;
  call->invite_source = request.received.source;
  call->peer.protocol = request.received.protocol;
  call->peer.address = request.received.source;
  call->peer.connection_id = request.received.connection_id;
  if (message.top_via()) {
    call->response_destination = transaction::ResponseDestination(*message.top_via(), request.received);
  } else {
    call->response_destination = call->peer;
  }
  if (local) {
    const std::string_view user = message.request_uri().user;
    call->contact =
        "<sip:" + (user.empty() ? std::string() : std::string(user) + "@") + HostPort(*local) +
        (request.received.protocol == transport::Protocol::kUdp
             ? ""
             : ";transport=" + std::string(registration::TransportParam(request.received.protocol))) +
        ">";
  }

  pb::CallEvent event;
  pb::IncomingCall* incoming = event.mutable_incoming();
  incoming->set_called_number(UnescapeText(message.request_uri().user));
  if (message.from()) {
    incoming->set_calling_number(UnescapeText(message.from()->uri.user));
    incoming->set_calling_name(Unquote(message.from()->display_name));
  }
  if (message.to()) incoming->set_to_number(UnescapeText(message.to()->uri.user));
  incoming->set_source_ip(request.received.source.HostString());
  incoming->set_sip_call_id(call->call_id);
  if (call->negotiated) *incoming->mutable_media() = sdp::ToSessionParams(*call->negotiated, 0);
  // RFC 3891: an INVITE that replaces one of our dialogs (attended transfer to us).
  if (const sip::HeaderField* replaces = message.FindHeader("Replaces")) {
    const std::string_view value = Trim(replaces->value);
    const std::string_view replaced_call_id = Trim(value.substr(0, value.find(';')));
    // to-tag names the dialog's tag at the receiver of Replaces: ours.
    Call* replaced =
        FindByDialog(replaced_call_id, ReplacesParam(value, "to-tag"), ReplacesParam(value, "from-tag"));
    if (replaced == nullptr) {
      Reply(request, 481, ReasonFor(481), call->local_tag);
      return;
    }
    incoming->set_replaces_call_ref(replaced->call_ref);
  }
  ++counters_.incoming_calls;
  Call& stored = *call;
  by_call_id_.emplace(call->call_id, call.get());
  calls_.emplace(call->call_ref, std::move(call));
  log::Info("call: incoming", {{"call_ref", stored.call_ref},
                               {"call_id", stored.call_id},
                               {"from", request.received.source.ToString()}});
  // Control answers every call it hears of; if it never does (it restarted, or lost
  // the event), the INVITE's Expires or our ceiling ends the wait.
  const Duration limit = config_.unanswered_limit;
  const bool by_expires = message.expires() && std::chrono::seconds(*message.expires()) < limit;
  const Duration wait = by_expires ? Duration(std::chrono::seconds(*message.expires())) : limit;
  std::weak_ptr<bool> alive = alive_;
  const std::string ref = stored.call_ref;
  stored.answer_timer = scheduler_.Schedule(wait, [this, alive, ref, by_expires] {
    if (alive.lock() && *alive.lock()) OnAnswerLimit(ref, by_expires);
  });
  Publish(stored, event);
}

void CallAgent::OnCancel(const transaction::IncomingRequest& request) {
  Call* call = request.cancelled_invite != 0 ? FindByInviteTransaction(request.cancelled_invite) : nullptr;
  if (request.cancelled_invite == 0) {
    // RFC 3261 9.2: nothing to cancel (unknown, or already answered finally).
    Reply(request, 481, ReasonFor(481), "");
    return;
  }
  // The 200 to the CANCEL and the 487 to the INVITE carry the same To tag (9.2).
  const std::string tag = call ? call->local_tag : std::string();
  Reply(request, 200, "OK", tag);
  if (call == nullptr) {
    Status sent = transactions_.Respond(request.cancelled_invite, 487, ReasonFor(487), "");
    if (!sent.ok()) log::Debug("call: 487 not sent", {{"error", sent.error()}});
    return;
  }
  RejectInvite(*call, 487, ReasonFor(487));
  Release(*call, 487, ReasonFor(487), true);
}

void CallAgent::RejectInvite(Call& call, uint16_t status, std::string_view reason,
                             std::string_view extra_headers) {
  if (call.invite_server == 0) return;
  const TransactionId transaction = call.invite_server;
  call.invite_server = 0;
  if (!sip::Parse(
           call.invite_raw,
           transport::IsReliable(call.invite_protocol) ? sip::Transport::kStream : sip::Transport::kDatagram,
           *scratch_)
           .ok()) {
    return;
  }
  transport::Received received;
  received.source = call.invite_source;
  received.protocol = call.invite_protocol;
  std::string response =
      BuildUasResponse(*scratch_, received, status, reason, call.local_tag, extra_headers, "");
  Status sent = transactions_.Respond(transaction, std::move(response));
  if (!sent.ok()) log::Debug("call: final response not sent", {{"status", status}, {"error", sent.error()}});
}

void CallAgent::OnAnswerLimit(const std::string& call_ref, bool invite_expired) {
  Call* call = Find(call_ref);
  if (call == nullptr || call->outgoing || call->invite_server == 0) return;
  call->answer_timer = 0;
  if (invite_expired) {
    // RFC 3261 13.3.1: the INVITE's Expires passed without a final answer.
    RejectInvite(*call, 487, ReasonFor(487));
    Release(*call, 487, "INVITE expired", true);
    return;
  }
  log::Warn("call: control never answered", {{"call_ref", call_ref}});
  RejectInvite(*call, 480, ReasonFor(480));
  Release(*call, 480, "No answer from call control", false);
}

void CallAgent::OnInDialogRequest(Call& call, const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  const std::string_view method = message.method();
  // RFC 3261 12.2.2: requests out of CSeq order are refused (ACK and CANCEL share the
  // INVITE's number and never come here).
  if (message.cseq()) {
    if (call.remote_cseq != 0 && message.cseq()->number <= call.remote_cseq && method != "ACK") {
      Reply(request, 500, "Out of Order", call.local_tag);
      return;
    }
    call.remote_cseq = message.cseq()->number;
  }
  if (method == "BYE") {
    Reply(request, 200, "OK", call.local_tag);
    // RFC 3261 15.1.2: a BYE on an early dialog ends the INVITE with 487.
    if (call.state != CallState::kConfirmed) RejectInvite(call, 487, ReasonFor(487));
    Release(call, 0, "", true);
    return;
  }
  if (method == "INVITE" || method == "UPDATE") {
    OnReOffer(call, request);
    return;
  }
  if (method == "REFER") {
    OnRefer(call, request);
    return;
  }
  if (method == "PRACK") {
    OnPrack(call, request);
    return;
  }
  if (method == "NOTIFY") {
    OnNotify(call, request);
    return;
  }
  // INFO (RFC 6086) and OPTIONS in a dialog: accepted; no INFO package is acted on.
  Reply(request, 200, "OK", call.local_tag);
}

void CallAgent::OnReOffer(Call& call, const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  const bool is_invite = message.method() == "INVITE";
  // RFC 3261 14.2: a re-INVITE while ours is pending is 491; while one of theirs still
  // waits for its ACK, 500 with Retry-After.
  if (call.reinvite_client != 0 || call.our_offer) {
    Reply(request, 491, ReasonFor(491), call.local_tag);
    return;
  }
  if (!call.pending_2xx.empty() || call.state != CallState::kConfirmed) {
    if (!is_invite && call.state != CallState::kConfirmed) {
      // RFC 3311: UPDATE on an early dialog is allowed; this gateway sends no early
      // offers it could update, so it refuses it.
      Reply(request, 491, ReasonFor(491), call.local_tag);
      return;
    }
    Reply(request, 500, ReasonFor(500), call.local_tag, "Retry-After: 1\r\n");
    return;
  }
  if (std::string target = ContactUri(message); !target.empty()) call.remote_target = target;  // 12.2.2

  std::string body;
  const std::optional<sdp::Negotiated> before = call.negotiated;
  if (HasSdp(message)) {
    auto offer = sdp::Parse(message.body());
    if (!offer) {
      Reply(request, 488, ReasonFor(488), call.local_tag);
      return;
    }
    sdp::LocalConfig config = call.media;
    // The codec in use first: a re-offer that still lists it keeps it (no needless
    // codec change on hold/resume).
    if (call.negotiated) {
      auto& codecs = config.codecs;
      auto it = std::find(codecs.begin(), codecs.end(), call.negotiated->codec);
      if (it != codecs.end()) std::rotate(codecs.begin(), it, it + 1);
    }
    auto answer = sdp::BuildAnswer(*offer, config, *call.origin);
    if (!answer) {
      log::Info("call: re-offer refused", {{"call_ref", call.call_ref}, {"why", answer.error()}});
      Reply(request, 488, ReasonFor(488), call.local_tag);
      return;
    }
    call.negotiated = answer->negotiated;
    body = sdp::Serialize(answer->sdp);
  } else if (is_invite) {
    // RFC 3264 / 3261 14.2: a re-INVITE without SDP asks for our offer in the 2xx.
    auto offer = sdp::BuildOffer(call.media, *call.origin);
    if (!offer) {
      Reply(request, 500, ReasonFor(500), call.local_tag);
      return;
    }
    body = sdp::Serialize(*offer);
    call.our_offer = std::move(*offer);
  }
  // RFC 4028 10: a successful re-INVITE or UPDATE refreshes the session; its
  // Session-Expires may move the interval (never below our Min-SE) and the refresher.
  if (call.session_interval != 0) {
    if (auto se = ParseSessionExpires(message)) {
      call.session_interval = std::max(se->seconds, config_.min_se_s);
      if (se->refresher == "uac") call.we_refresh = false;
      if (se->refresher == "uas") call.we_refresh = true;
    }
    ArmSessionTimer(call);
  }
  std::string extra = "Contact: " + call.contact + "\r\n" + SessionExpiresHeaders(call, true);
  std::string response = BuildUasResponse(message, request.received, 200, "OK", call.local_tag, extra, body);
  if (is_invite) {
    Status sent = transactions_.Respond(request.transaction, response);
    if (!sent.ok()) log::Debug("call: 2xx not sent", {{"error", sent.error()}});
    call.response_destination = message.top_via()
                                    ? transaction::ResponseDestination(*message.top_via(), request.received)
                                    : call.peer;
    call.reinvite_server_pending = true;
    Start2xxRetransmission(call, std::move(response), message.cseq() ? message.cseq()->number : 0);
  } else {
    Status sent = transactions_.Respond(request.transaction, std::move(response));
    if (!sent.ok()) log::Debug("call: 2xx not sent", {{"error", sent.error()}});
  }
  // A session refresh repeats the offer unchanged: no news to control then.
  if (HasSdp(message) && call.negotiated && !(before && *before == *call.negotiated)) {
    pb::CallEvent event;
    *event.mutable_media_changed()->mutable_media() = sdp::ToSessionParams(*call.negotiated, 0);
    Publish(call, event);
  }
}

void CallAgent::OnPrack(Call& call, const transaction::IncomingRequest& request) {
  // RFC 3262 7.2: RAck = response-num CSeq-num Method of the provisional acknowledged.
  const sip::HeaderField* rack = request.message.FindHeader("RAck");
  const uint32_t rseq = rack == nullptr ? 0 : ParseSeconds(rack->value);
  if (call.pending_reliable.empty() || rseq != call.last_rseq) {
    Reply(request, 481, ReasonFor(481), call.local_tag);
    return;
  }
  Reply(request, 200, "OK", call.local_tag);
  StopReliableProvisional(call);
  if (call.queued_provisional != 0 && call.invite_server != 0) {
    const uint16_t status = call.queued_provisional;
    call.queued_provisional = 0;
    CallOutcome sent = SendAnswer(call, status);
    if (sent)
      log::Debug("call: queued provisional not sent", {{"call_ref", call.call_ref}, {"why", sent->message}});
  }
}

void CallAgent::StartReliableProvisional(Call& call, std::string response) {
  StopReliableProvisional(call);
  call.pending_reliable = std::move(response);
  call.reliable_serial = next_serial_++;
  call.reliable_interval = config_.timers.t1;
  std::weak_ptr<bool> alive = alive_;
  const std::string ref = call.call_ref;
  const uint64_t serial = call.reliable_serial;
  if (!transport::IsReliable(call.response_destination.protocol)) {
    call.reliable_timer = scheduler_.Schedule(
        call.reliable_interval, [this, alive, ref, serial] { RetransmitReliable(alive, ref, serial); });
  }
  call.reliable_giveup = scheduler_.Schedule(64 * config_.timers.t1, [this, alive, ref, serial] {
    if (!alive.lock() || !*alive.lock()) return;
    Call* c = Find(ref);
    if (c == nullptr || c->reliable_serial != serial || c->pending_reliable.empty()) return;
    // RFC 3262 3: no PRACK in 64*T1: the INVITE is rejected with a 5xx.
    StopReliableProvisional(*c);
    RejectInvite(*c, 500, "Reliable Provisional Not Acknowledged");
    Release(*c, 500, "No PRACK", true);
  });
}

void CallAgent::RetransmitReliable(const std::weak_ptr<bool>& alive, const std::string& call_ref,
                                   uint64_t serial) {
  if (!alive.lock() || !*alive.lock()) return;
  Call* call = Find(call_ref);
  if (call == nullptr || call->reliable_serial != serial || call->pending_reliable.empty()) return;
  Status sent = transport_.Send(call->response_destination, call->pending_reliable);
  if (!sent.ok()) log::Debug("call: reliable provisional not resent", {{"error", sent.error()}});
  // RFC 3262 3: the interval doubles, without the T2 cap of 2xx retransmissions.
  call->reliable_interval *= 2;
  call->reliable_timer = scheduler_.Schedule(call->reliable_interval, [this, alive, call_ref, serial] {
    RetransmitReliable(alive, call_ref, serial);
  });
}

void CallAgent::StopReliableProvisional(Call& call) {
  scheduler_.Cancel(call.reliable_timer);
  scheduler_.Cancel(call.reliable_giveup);
  call.reliable_timer = 0;
  call.reliable_giveup = 0;
  call.pending_reliable.clear();
}

void CallAgent::OnRefer(Call& call, const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  const sip::HeaderField* refer_to = message.FindHeader(sip::HeaderId::kReferTo);
  sip::NameAddr target;
  if (refer_to == nullptr || !sip::ParseNameAddr(Trim(refer_to->value), target)) {
    Reply(request, 400, "Bad Refer-To", call.local_tag);
    return;
  }
  if (call.state != CallState::kConfirmed) {
    Reply(request, 481, ReasonFor(481), call.local_tag);  // RFC 3515 needs a dialog to notify in
    return;
  }
  Reply(request, 202, ReasonFor(202), call.local_tag);
  call.refer_subscription = true;
  pb::CallEvent event;
  pb::CallTransferRequested* transfer = event.mutable_transfer_requested();
  transfer->set_target_number(UnescapeText(target.uri.user));
  std::string_view uri = target.uri.text;
  transfer->set_target_uri(std::string(uri.substr(0, uri.find('?'))));
  // Refer-To: <sip:b@host?Replaces=call%40id%3Bto-tag%3D1%3Bfrom-tag%3D2>
  std::string_view headers = target.uri.headers;
  while (!headers.empty()) {
    const std::string_view header = headers.substr(0, headers.find('&'));
    constexpr std::string_view kReplaces = "Replaces=";
    if (header.size() > kReplaces.size() && EqualsIgnoreCase(header.substr(0, kReplaces.size()), kReplaces)) {
      transfer->set_replaces(UnescapeText(header.substr(kReplaces.size())));
    }
    if (header.size() == headers.size()) break;
    headers.remove_prefix(header.size() + 1);
  }
  Publish(call, event);
}

void CallAgent::OnNotify(Call& call, const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  const sip::HeaderField* event_header = message.FindHeader(sip::HeaderId::kEvent);
  if (event_header == nullptr || !EqualsIgnoreCase(Trim(event_header->value).substr(0, 5), "refer")) {
    Reply(request, 489, "Bad Event", call.local_tag);
    return;
  }
  Reply(request, 200, "OK", call.local_tag);
  const sip::HeaderField* state = message.FindHeader("Subscription-State");
  const bool final = state != nullptr && EqualsIgnoreCase(Trim(state->value).substr(0, 10), "terminated");
  PublishTransferProgress(call, SipfragStatus(message.body()), final);
}

void CallAgent::PublishTransferProgress(const Call& call, uint32_t status, bool final) {
  pb::CallEvent event;
  pb::CallTransferProgress* progress = event.mutable_transfer_progress();
  progress->set_status(status);
  progress->set_final(final);
  Publish(call, event);
}

void CallAgent::OnStrayAck(const sip::Message& ack, const transport::Received&) {
  const std::string_view to_tag = ack.to() ? ack.to()->tag : std::string_view();
  const std::string_view from_tag = ack.from() ? ack.from()->tag : std::string_view();
  Call* call = FindByDialog(ack.call_id(), to_tag, from_tag);
  if (call == nullptr || call->pending_2xx.empty()) return;
  if (!ack.cseq() || ack.cseq()->number != call->pending_2xx_cseq) return;
  Stop2xxRetransmission(*call);
  call->reinvite_server_pending = false;
  if (call->our_offer) {
    // The answer to the offer of our 2xx (RFC 3264 / 3261 13.2.1).
    std::optional<sdp::Negotiated> negotiated;
    if (HasSdp(ack)) {
      auto answer = sdp::Parse(ack.body());
      if (answer) {
        auto processed = sdp::ProcessAnswer(*call->our_offer, *answer, call->media);
        if (processed) negotiated = *processed;
      }
    }
    call->our_offer.reset();
    if (!negotiated) {
      log::Info("call: no usable answer in ACK", {{"call_ref", call->call_ref}});
      SendBye(*call);
      Release(*call, 488, "No usable SDP answer in ACK", true);
      return;
    }
    call->negotiated = *negotiated;
    pb::CallEvent event;
    *event.mutable_media_changed()->mutable_media() = sdp::ToSessionParams(*negotiated, 0);
    Publish(*call, event);
  }
  if (call->bye_after_ack) {
    call->bye_after_ack = false;
    SendBye(*call);
    return;
  }
  OfferIfWanted(*call);
}

// ---------------------------------------------------------------------------------
// Call control: incoming calls

CallOutcome CallAgent::AnswerCall(const pb::AnswerCallRequest& request) {
  Call* call = Find(request.call_ref());
  if (call == nullptr) return CallRefusal{CallRefusal::Kind::kNotFound, "no call " + request.call_ref()};
  if (call->outgoing || (call->state != CallState::kProceeding && call->state != CallState::kEarly)) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument,
                       "call " + call->call_ref + " is not an unanswered incoming call"};
  }
  const uint32_t status = request.status();
  if (status != 180 && status != 183 && status != 200) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument, "status must be 180, 183 or 200"};
  }
  if (request.has_media() && request.media().port() != 0) {
    call->media.codecs = config_.codecs;
    call->media.telephone_event_pt = config_.telephone_event_pt;
    call->media.ptime_ms = config_.ptime_ms;
    call->media.address = request.media().address();
    call->media.port = static_cast<uint16_t>(request.media().port());
    call->media.direction = FromProtoDirection(request.media().direction());
    call->have_media = true;
    if (!call->origin) {
      auto session_id = registration::RandomHex(random_, 4);
      call->origin = std::make_unique<sdp::LocalOrigin>(
          session_id ? std::stoull(*session_id, nullptr, 16) : 1, call->media.address);
    }
  }
  if ((status == 183 || status == 200) && !call->have_media) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument, "183 and 200 need the local media"};
  }
  return SendAnswer(*call, static_cast<uint16_t>(status));
}

CallOutcome CallAgent::SendAnswer(Call& call_in, uint16_t status) {
  Call* call = &call_in;
  const bool reliable = status < 200 && call->reliable_provisionals;
  if (reliable && !call->pending_reliable.empty()) {
    // RFC 3262 3: one unacknowledged reliable provisional at a time; the latest waits.
    call->queued_provisional = status;
    return std::nullopt;
  }
  // The SDP: the answer to their offer, or (INVITE without SDP, 200 only) our offer.
  std::string body;
  if (status != 180 && call->remote_offer) {
    auto answer = sdp::BuildAnswer(*call->remote_offer, call->media, *call->origin);
    if (!answer) return CallRefusal{CallRefusal::Kind::kInvalidArgument, "no SDP answer: " + answer.error()};
    call->negotiated = answer->negotiated;
    body = sdp::Serialize(answer->sdp);
  } else if (status == 200) {
    auto offer = sdp::BuildOffer(call->media, *call->origin);
    if (!offer) return CallRefusal{CallRefusal::Kind::kInvalidArgument, "no SDP offer: " + offer.error()};
    body = sdp::Serialize(*offer);
    call->our_offer = std::move(*offer);
  }

  if (!sip::Parse(
           call->invite_raw,
           transport::IsReliable(call->invite_protocol) ? sip::Transport::kStream : sip::Transport::kDatagram,
           *scratch_)
           .ok()) {
    return CallRefusal{CallRefusal::Kind::kUnavailable, "stored INVITE unreadable"};
  }
  const sip::Message& invite = *scratch_;
  // RFC 3261 12.1.1: the dialog-forming response copies Record-Route and names our
  // Contact.
  std::string extra;
  for (const sip::HeaderField& field : invite.headers()) {
    if (field.id == sip::HeaderId::kRecordRoute)
      extra.append("Record-Route: ").append(field.value).append("\r\n");
  }
  if (!call->contact.empty()) extra.append("Contact: ").append(call->contact).append("\r\n");
  if (status == 200) {
    extra.append("Allow: ").append(kCallMethods).append("\r\n");
    extra.append("Supported: ").append(kCallExtensions).append("\r\n");
    extra.append(SessionExpiresHeaders(*call, true));
  }
  if (reliable) {
    extra.append("Require: 100rel\r\nRSeq: ").append(std::to_string(call->last_rseq + 1)).append("\r\n");
  }
  if (!config_.user_agent.empty()) extra.append("Server: ").append(config_.user_agent).append("\r\n");
  transport::Received received;
  received.source = call->invite_source;
  received.protocol = call->invite_protocol;
  std::string response =
      BuildUasResponse(invite, received, static_cast<uint16_t>(status),
                       ReasonFor(static_cast<uint16_t>(status)), call->local_tag, extra, body);
  const uint32_t cseq = invite.cseq() ? invite.cseq()->number : 0;
  Status sent = transactions_.Respond(call->invite_server, response);
  if (!sent.ok()) {
    return CallRefusal{CallRefusal::Kind::kUnavailable, "response not sent: " + sent.error()};
  }
  if (reliable) {
    ++call->last_rseq;
    StartReliableProvisional(*call, std::move(response));
  }
  if (status == 200) {
    StopReliableProvisional(*call);
    call->queued_provisional = 0;
    SetState(*call, CallState::kConfirmed);
    call->invite_server = 0;  // the transaction ended with the 2xx
    scheduler_.Cancel(call->answer_timer);
    call->answer_timer = 0;
    Start2xxRetransmission(*call, std::move(response), cseq);
    ArmSessionTimer(*call);
  } else {
    SetState(*call, CallState::kEarly);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// Call control: outgoing calls

CallOutcome CallAgent::PlaceCall(const pb::PlaceCallRequest& request, std::string& sip_call_id) {
  using Kind = CallRefusal::Kind;
  if (request.call_ref().empty() || Find(request.call_ref()) != nullptr) {
    return CallRefusal{Kind::kInvalidArgument, "call_ref '" + request.call_ref() + "' is empty or in use"};
  }
  if (!registration::IsValidUserPart(request.called_number())) {
    return CallRefusal{Kind::kInvalidArgument,
                       "called number '" + request.called_number() + "' is not a SIP user"};
  }
  if (!request.calling_number().empty() && !registration::IsValidUserPart(request.calling_number())) {
    return CallRefusal{Kind::kInvalidArgument,
                       "calling number '" + request.calling_number() + "' is not a SIP user"};
  }
  std::optional<transport::Destination> destination;
  if (hooks_.proxy_of) destination = hooks_.proxy_of(request.destination());
  if (!destination) {
    auto address = ParseHostPort(request.destination());
    if (!address) {
      return CallRefusal{Kind::kNotFound, "destination '" + request.destination() +
                                              "' is neither a proxy set nor a numeric host:port"};
    }
    destination = transport::Destination{};
    destination->address = *address;
  }
  std::optional<transport::SocketAddress> local = transport_.LocalAddress(destination->protocol);
  if (!local) return CallRefusal{Kind::kUnavailable, "no local address for the destination's transport"};

  auto call = std::make_unique<Call>();
  call->call_ref = request.call_ref();
  call->outgoing = true;
  call->state = CallState::kCalling;
  call->line = request.line();
  call->peer = *destination;
  // Without a domain the destination names itself; a port other than 5060 is part of it.
  std::string host = config_.domain;
  if (host.empty()) {
    host =
        destination->address.port() == 5060 ? UriHost(destination->address) : HostPort(destination->address);
  }
  auto tag = registration::RandomHex(random_, 8);
  auto id = registration::RandomHex(random_, 16);
  auto session_id = registration::RandomHex(random_, 4);
  if (!tag || !id || !session_id) return CallRefusal{Kind::kUnavailable, "no randomness"};
  call->local_tag = *tag;
  call->call_id = *id + "@" + UriHost(*local);
  const std::string calling = request.calling_number().empty() ? "anonymous" : request.calling_number();
  call->local_uri = "sip:" + calling + "@" + host;
  call->remote_uri = "sip:" + request.called_number() + "@" + host;
  call->request_uri = call->remote_uri;
  call->local_header = (request.calling_name().empty() ? "" : Quote(request.calling_name()) + " ") + "<" +
                       call->local_uri + ">;tag=" + call->local_tag;
  call->remote_header = "<" + call->remote_uri + ">";
  call->contact = "<sip:" + calling + "@" + HostPort(*local) +
                  (destination->protocol == transport::Protocol::kUdp
                       ? ""
                       : ";transport=" + std::string(registration::TransportParam(destination->protocol))) +
                  ">";
  call->local_cseq = 1;
  call->replaces = request.replaces();
  call->transferor_ref = request.transferred_from();
  call->requested_interval =
      config_.session_expires_s == 0 ? 0 : std::max(config_.session_expires_s, config_.min_se_s);

  call->media.codecs = config_.codecs;
  call->media.telephone_event_pt = config_.telephone_event_pt;
  call->media.ptime_ms = config_.ptime_ms;
  call->media.address = request.media().address();
  call->media.port = static_cast<uint16_t>(request.media().port());
  call->media.direction = FromProtoDirection(request.media().direction());
  call->have_media = true;
  call->origin =
      std::make_unique<sdp::LocalOrigin>(std::stoull(*session_id, nullptr, 16), call->media.address);
  auto offer = sdp::BuildOffer(call->media, *call->origin);
  if (!offer) return CallRefusal{Kind::kInvalidArgument, "no SDP offer: " + offer.error()};
  call->invite_body = sdp::Serialize(*offer);
  call->our_offer = std::move(*offer);

  Status sent = SendInvite(*call);
  if (!sent.ok()) return CallRefusal{Kind::kUnavailable, "INVITE not sent: " + sent.error()};
  ++counters_.outgoing_calls;
  sip_call_id = call->call_id;
  Call& stored = *call;
  by_call_id_.emplace(call->call_id, call.get());
  calls_.emplace(call->call_ref, std::move(call));
  log::Info(
      "call: outgoing",
      {{"call_ref", stored.call_ref}, {"call_id", stored.call_id}, {"to", stored.peer.address.ToString()}});
  if (!stored.transferor_ref.empty()) NotifyTransferor(stored.transferor_ref, 100, "Trying", false);
  return std::nullopt;
}

Status CallAgent::SendInvite(Call& call) {
  std::string out;
  out.reserve(1024 + call.invite_body.size());
  out.append("INVITE ").append(call.request_uri).append(" SIP/2.0\r\n");
  out.append("Max-Forwards: ").append(std::to_string(registration::kMaxForwards)).append("\r\n");
  out.append("From: ").append(call.local_header).append("\r\n");
  out.append("To: ").append(call.remote_header).append("\r\n");
  out.append("Call-ID: ").append(call.call_id).append("\r\n");
  out.append("CSeq: ").append(std::to_string(call.local_cseq)).append(" INVITE\r\n");
  out.append("Contact: ").append(call.contact).append("\r\n");
  out.append("Allow: ").append(kCallMethods).append("\r\n");
  out.append("Supported: ").append(kCallExtensions).append("\r\n");
  if (config_.require_100rel) out.append("Require: 100rel\r\n");
  if (!call.replaces.empty()) out.append("Replaces: ").append(call.replaces).append("\r\n");
  if (call.requested_interval != 0) {
    // RFC 4028 7.1: the interval we want; the UAS picks the refresher.
    out.append("Session-Expires: ").append(std::to_string(call.requested_interval)).append("\r\n");
    out.append("Min-SE: ").append(std::to_string(config_.min_se_s)).append("\r\n");
  }
  if (!config_.user_agent.empty()) out.append("User-Agent: ").append(config_.user_agent).append("\r\n");
  for (const auth::AuthorizationHeader& header : call.invite_auth) {
    out.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  out.append("Content-Type: ").append(kSdpType).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(call.invite_body.size())).append("\r\n\r\n");
  out.append(call.invite_body);
  auto id = transactions_.SendRequest(out, call.peer);
  if (!id) return Error{id.error()};
  call.invite_client = *id;
  call.provisional_received = false;
  owned_[*id].call_ref = call.call_ref;
  owned_[*id].purpose = Purpose::kInvite;
  return Status::Ok();
}

void CallAgent::LearnDialog(Call& call, const sip::Message& response) {
  if (response.to() == nullptr || response.to()->tag.empty()) return;
  call.remote_tag = std::string(response.to()->tag);
  if (const sip::HeaderField* to = response.FindHeader(sip::HeaderId::kTo))
    call.remote_header = std::string(to->value);
  if (std::string target = ContactUri(response); !target.empty()) call.remote_target = target;
  // UAC: the route set is the Record-Route of the response, reversed (RFC 3261 12.1.2).
  call.route_set = RecordRoutes(response);
  std::reverse(call.route_set.begin(), call.route_set.end());
}

void CallAgent::OnInviteResponse(Call& call, const sip::Message& response) {
  const uint16_t status = response.status_code();
  if (status < 200) {
    call.provisional_received = true;
    if (call.cancel_wanted && !call.cancel_sent) {
      SendCancelNow(call);  // RFC 3261 9.1: the deferred CANCEL may go now
      return;
    }
    if (status == 100 || call.state == CallState::kTerminating) return;
    const bool tagged = response.to() != nullptr && !response.to()->tag.empty();
    if (tagged) {
      LearnDialog(call, response);
      SetState(call, CallState::kEarly);
    } else {
      SetState(call, CallState::kProceeding);
    }
    if (tagged && HasOptionTag(response, sip::HeaderId::kRequire, "100rel")) {
      // RFC 3262 4: PRACK each reliable provisional once, in RSeq order; a repeated
      // one (its PRACK is on its way) or one out of order is dropped, event and all.
      const sip::HeaderField* rseq_header = response.FindHeader("RSeq");
      const uint32_t rseq = rseq_header == nullptr ? 0 : ParseSeconds(rseq_header->value);
      if (rseq == 0 || (call.last_rseq != 0 && rseq != call.last_rseq + 1)) return;
      call.last_rseq = rseq;
      const uint32_t invite_cseq = response.cseq() ? response.cseq()->number : call.local_cseq;
      (void)SendInDialog(call, "PRACK", Purpose::kOther,
                         "RAck: " + std::to_string(rseq) + " " + std::to_string(invite_cseq) + " INVITE\r\n",
                         "", "");
    }
    pb::CallEvent event;
    pb::CallProgress* progress = event.mutable_progress();
    progress->set_status(status == 180 || status == 183 ? status : (HasSdp(response) ? 183 : 180));
    if (HasSdp(response) && call.our_offer) {
      auto answer = sdp::Parse(response.body());
      if (answer) {
        auto negotiated = sdp::ProcessAnswer(*call.our_offer, *answer, call.media);
        if (negotiated) {
          call.negotiated = *negotiated;
          *progress->mutable_media() = sdp::ToSessionParams(*negotiated, 0);
        }
      }
    }
    Publish(call, event);
    return;
  }
  owned_.erase(call.invite_client);
  call.invite_client = 0;
  if (status != 401 && status != 407 && call.digest &&
      call.digest->state() != auth::DigestClientState::kFailed) {
    call.digest->OnAccepted();  // RFC 3261 22.3: the credentials may serve later requests
  }
  if (status < 300) {
    OnInvite2xx(call, response);
    return;
  }
  if (status == 422 && call.state != CallState::kTerminating && !call.retried_422 &&
      call.requested_interval != 0 && MinSe(response) > call.requested_interval) {
    // RFC 4028 7.4: retry once with the Min-SE the UAS asks for.
    call.retried_422 = true;
    call.requested_interval = MinSe(response);
    ++call.local_cseq;
    Status sent = SendInvite(call);
    if (!sent.ok()) Release(call, 503, "Transport failure", true);
    return;
  }
  if ((status == 401 || status == 407) && call.state != CallState::kTerminating) {
    OnChallenge(call, response);
    return;
  }
  if (call.state == CallState::kTerminating) {
    Release(call, status, response.reason_phrase(), false);
    return;
  }
  Release(call, status, response.reason_phrase(), true);
}

void CallAgent::OnChallenge(Call& call, const sip::Message& response) {
  const uint16_t status = response.status_code();
  const std::string reason(response.reason_phrase());
  if (!call.digest) {
    std::vector<auth::Credentials> credentials;
    if (hooks_.credentials_for) credentials = hooks_.credentials_for(call.line);
    if (credentials.empty()) {
      log::Info("call: challenged, no credentials for the line",
                {{"call_ref", call.call_ref}, {"line", call.line}});
      Release(call, status, reason, true);
      return;
    }
    call.digest = std::make_unique<auth::DigestClient>(std::move(credentials), random_);
  }
  std::vector<std::string_view> challenges;
  const sip::HeaderId id =
      status == 401 ? sip::HeaderId::kWwwAuthenticate : sip::HeaderId::kProxyAuthenticate;
  for (const sip::HeaderField& field : response.headers()) {
    if (field.id == id) challenges.push_back(field.value);
  }
  // The DigestClient refuses a second non-stale challenge for a realm it answered:
  // the credentials were wrong, and the call fails with that status.
  auto headers =
      call.digest->OnChallenge(status, challenges, auth::DigestRequest{"INVITE", call.request_uri, ""});
  if (!headers) {
    log::Info("call: authentication failed", {{"call_ref", call.call_ref}, {"why", headers.error()}});
    Release(call, status, reason, true);
    return;
  }
  // RFC 3261 22.2: the retry is a new transaction: same Call-ID, From tag, CSeq + 1.
  call.invite_auth = std::move(*headers);
  ++call.local_cseq;
  Status sent = SendInvite(call);
  if (!sent.ok()) Release(call, 503, "Transport failure", true);
}

void CallAgent::SendAck(Call& call, uint32_t cseq, std::string_view body_type, std::string_view body) {
  const transport::Destination destination =
      NextHop(call.route_set.empty() ? call.remote_target : call.route_set.front(), call.peer);
  std::optional<transport::SocketAddress> local = transport_.LocalAddress(destination.protocol);
  std::string out;
  out.reserve(768 + body.size());
  const std::string& target = call.remote_target.empty() ? call.request_uri : call.remote_target;
  out.append("ACK ").append(target).append(" SIP/2.0\r\n");
  for (const std::string& route : call.route_set) out.append("Route: ").append(route).append("\r\n");
  out.append("Max-Forwards: ").append(std::to_string(registration::kMaxForwards)).append("\r\n");
  out.append("From: ").append(call.local_header).append("\r\n");
  out.append("To: ").append(call.remote_header).append("\r\n");
  out.append("Call-ID: ").append(call.call_id).append("\r\n");
  out.append("CSeq: ").append(std::to_string(cseq)).append(" ACK\r\n");
  // RFC 3261 22.1: the ACK for a 2xx carries the INVITE's credentials.
  for (const auth::AuthorizationHeader& header : call.invite_auth) {
    out.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  if (!body.empty()) out.append("Content-Type: ").append(body_type).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  auto with_via = transaction::InsertTopVia(out, destination.protocol, local ? HostPort(*local) : "0.0.0.0",
                                            transactions_.NewBranch());
  if (!with_via) return;
  Status sent = transport_.Send(destination, *with_via);
  if (!sent.ok()) log::Debug("call: ACK not sent", {{"call_ref", call.call_ref}, {"error", sent.error()}});
  call.ack = std::move(*with_via);
  call.ack_cseq = cseq;
  call.ack_destination = destination;
}

void CallAgent::OnInvite2xx(Call& call, const sip::Message& response) {
  LearnDialog(call, response);
  const uint32_t cseq = response.cseq() ? response.cseq()->number : call.local_cseq;
  SendAck(call, cseq, "", "");
  if (call.state == CallState::kTerminating) {
    // The 2xx crossed our CANCEL (RFC 3261 9.1): the call exists now and ends with BYE.
    call.cancel_wanted = false;
    SendBye(call);
    Release(call, 0, "", false);
    return;
  }
  SetState(call, CallState::kConfirmed);
  // RFC 4028 7.2: the 2xx's Session-Expires is the interval; without it there is no
  // session timer (the UAS does not support it).
  if (auto se = ParseSessionExpires(response); se && call.requested_interval != 0) {
    call.session_interval = se->seconds;
    call.we_refresh = se->refresher != "uas";
    call.peer_supports_timer = true;
    ArmSessionTimer(call);
  }
  std::optional<sdp::Negotiated> negotiated = call.negotiated;  // an early answer (183) stands
  if (HasSdp(response) && call.our_offer) {
    auto answer = sdp::Parse(response.body());
    if (answer) {
      auto processed = sdp::ProcessAnswer(*call.our_offer, *answer, call.media);
      if (processed) negotiated = *processed;
    }
  }
  call.our_offer.reset();
  if (!negotiated) {
    log::Info("call: 2xx without a usable answer", {{"call_ref", call.call_ref}});
    SendBye(call);
    Release(call, 488, "No usable SDP answer", true);
    return;
  }
  call.negotiated = *negotiated;
  if (!call.transferor_ref.empty()) {
    NotifyTransferor(call.transferor_ref, response.status_code(), response.reason_phrase(), true);
    call.transferor_ref.clear();
  }
  pb::CallEvent event;
  *event.mutable_answered()->mutable_media() = sdp::ToSessionParams(*negotiated, 0);
  Publish(call, event);
}

void CallAgent::SendCancelNow(Call& call) {
  auto cancel = transactions_.SendCancel(call.invite_client);
  call.cancel_sent = true;
  if (!cancel) {
    log::Debug("call: CANCEL not sent", {{"call_ref", call.call_ref}, {"error", cancel.error()}});
    return;
  }
  owned_[*cancel].call_ref = call.call_ref;
  owned_[*cancel].purpose = Purpose::kCancel;
}

void CallAgent::AckAndByeStray(Call& call, const sip::Message& response) {
  // A 2xx from a fork other than the one we took (RFC 3261 13.2.2.4): ACK it and end
  // that dialog with BYE; the first 2xx wins.
  const std::string tag(response.to() ? response.to()->tag : std::string_view());
  auto known = call.forks.find(tag);
  if (known != call.forks.end()) {
    Status sent = transport_.Send(known->second.second, known->second.first);
    if (!sent.ok()) log::Debug("call: fork ACK not resent", {{"error", sent.error()}});
    return;
  }
  Call fork;
  fork.call_ref = call.call_ref;
  fork.call_id = call.call_id;
  fork.local_tag = call.local_tag;
  fork.local_header = call.local_header;
  fork.request_uri = call.request_uri;
  fork.peer = call.peer;
  fork.contact = call.contact;
  fork.invite_auth = call.invite_auth;
  fork.local_cseq = response.cseq() ? response.cseq()->number : call.local_cseq;
  LearnDialog(fork, response);
  SendAck(fork, fork.local_cseq, "", "");
  call.forks[tag] = {fork.ack, fork.ack_destination};
  fork.state = CallState::kConfirmed;
  // Nobody waits for this BYE's outcome: the fork never was a call of control's.
  (void)SendInDialog(fork, "BYE", Purpose::kOther, "", "", "");
  log::Info("call: forked 2xx ended", {{"call_ref", call.call_ref}, {"to_tag", tag}});
}

bool CallAgent::OnStrayResponse(const sip::Message& response, const transport::Received&) {
  if (!response.cseq() || response.cseq()->method != "INVITE" || response.status_code() < 200 ||
      response.status_code() >= 300) {
    return false;
  }
  const std::string_view from_tag = response.from() ? response.from()->tag : std::string_view();
  const std::string_view to_tag = response.to() ? response.to()->tag : std::string_view();
  auto [begin, end] = by_call_id_.equal_range(response.call_id());
  for (auto it = begin; it != end; ++it) {
    Call* call = it->second;
    if (call->local_tag != from_tag) continue;
    if (call->remote_tag == to_tag && !call->ack.empty() && call->ack_cseq == response.cseq()->number) {
      // A retransmission of the 2xx we took: its ACK was lost (RFC 3261 13.2.2.4).
      Status sent = transport_.Send(call->ack_destination, call->ack);
      if (!sent.ok()) log::Debug("call: ACK not resent", {{"error", sent.error()}});
      return true;
    }
    if (call->outgoing && call->remote_tag != to_tag) {
      AckAndByeStray(*call, response);
      return true;
    }
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------
// In-dialog requests of ours

Result<TransactionId> CallAgent::SendInDialog(Call& call, std::string_view method, Purpose purpose,
                                              std::string_view extra_headers, std::string_view content_type,
                                              std::string_view body, bool answers_challenge) {
  const transport::Destination destination =
      NextHop(call.route_set.empty() ? call.remote_target : call.route_set.front(), call.peer);
  ++call.local_cseq;
  const std::string& target = call.remote_target.empty() ? call.request_uri : call.remote_target;
  std::string credentials;
  if (call.digest && !answers_challenge) {
    auto cached = call.digest->PrepareRequest(auth::DigestRequest{method, target, body});
    if (cached) {
      for (const auth::AuthorizationHeader& header : *cached) {
        credentials.append(header.name).append(": ").append(header.value).append("\r\n");
      }
    }
  }
  std::string out;
  out.reserve(768 + extra_headers.size() + body.size());
  out.append(method).append(" ").append(target).append(" SIP/2.0\r\n");
  for (const std::string& route : call.route_set) out.append("Route: ").append(route).append("\r\n");
  out.append("Max-Forwards: ").append(std::to_string(registration::kMaxForwards)).append("\r\n");
  out.append("From: ").append(call.local_header).append("\r\n");
  out.append("To: ").append(call.remote_header).append("\r\n");
  out.append("Call-ID: ").append(call.call_id).append("\r\n");
  out.append("CSeq: ").append(std::to_string(call.local_cseq)).append(" ").append(method).append("\r\n");
  if (!call.contact.empty() && method != "BYE") out.append("Contact: ").append(call.contact).append("\r\n");
  if (!config_.user_agent.empty()) out.append("User-Agent: ").append(config_.user_agent).append("\r\n");
  out.append(extra_headers);
  out.append(credentials);
  if (!body.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  auto id = transactions_.SendRequest(out, destination);
  if (!id) {
    log::Debug("call: request not sent",
               {{"call_ref", call.call_ref}, {"method", method}, {"error", id.error()}});
    return Error{id.error()};
  }
  if (purpose != Purpose::kOther) {
    owned_[*id] = Owned{.call_ref = call.call_ref,
                        .purpose = purpose,
                        .method = std::string(method),
                        .uri = target,
                        .extra_headers = std::string(extra_headers),
                        .content_type = std::string(content_type),
                        .body = std::string(body),
                        .answered_challenge = answers_challenge};
  }
  return *id;
}

bool CallAgent::RetryWithCredentials(Call& call, TransactionId transaction, const Owned& owned,
                                     const sip::Message& response) {
  const uint16_t status = response.status_code();
  if (!call.digest) {
    std::vector<auth::Credentials> credentials;
    if (hooks_.credentials_for) credentials = hooks_.credentials_for(call.line);
    if (credentials.empty()) return false;
    call.digest = std::make_unique<auth::DigestClient>(std::move(credentials), random_);
  }
  std::vector<std::string_view> challenges;
  const sip::HeaderId id =
      status == 401 ? sip::HeaderId::kWwwAuthenticate : sip::HeaderId::kProxyAuthenticate;
  for (const sip::HeaderField& field : response.headers()) {
    if (field.id == id) challenges.push_back(field.value);
  }
  if (call.digest->state() == auth::DigestClientState::kFailed) call.digest->Reset();
  const auth::DigestRequest request{owned.method, owned.uri, owned.body};
  auto headers = call.digest->OnChallenge(status, challenges, request);
  if (!headers) {
    // The cached credentials we attached were challenged without stale=true: servers
    // forget nonces that way. Start afresh once (this request answers no challenge yet).
    call.digest->Reset();
    headers = call.digest->OnChallenge(status, challenges, request);
  }
  if (!headers) {
    log::Info("call: in-dialog authentication failed",
              {{"call_ref", call.call_ref}, {"method", owned.method}, {"why", headers.error()}});
    return false;
  }
  std::string extra = owned.extra_headers;
  for (const auth::AuthorizationHeader& header : *headers) {
    extra.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  auto retry = SendInDialog(call, owned.method, owned.purpose, extra, owned.content_type, owned.body, true);
  if (!retry) return false;
  owned_.erase(transaction);
  if (owned.purpose == Purpose::kReInvite) call.reinvite_client = *retry;
  return true;
}

void CallAgent::SendBye(Call& call) { (void)SendInDialog(call, "BYE", Purpose::kBye, "", "", ""); }

void CallAgent::NotifyTransferor(const std::string& transferor_ref, uint16_t status, std::string_view reason,
                                 bool final) {
  Call* transferor = Find(transferor_ref);
  if (transferor == nullptr || !transferor->refer_subscription || transferor->state != CallState::kConfirmed)
    return;
  // RFC 3515 2.4.4-2.4.5: the implicit subscription's state and the new call's status.
  const std::string headers = "Event: refer\r\nSubscription-State: " +
                              std::string(final ? "terminated;reason=noresource" : "active;expires=60") +
                              "\r\n";
  const std::string body = "SIP/2.0 " + std::to_string(status) + " " + SafeReason(reason, status) + "\r\n";
  (void)SendInDialog(*transferor, "NOTIFY", Purpose::kNotify, headers, kSipfragType, body);
  if (final) transferor->refer_subscription = false;
}

void CallAgent::SendReInvite(Call& call) {
  call.reinvite_retry = 0;
  auto offer = sdp::BuildOffer(call.media, *call.origin);
  if (!offer) {
    log::Warn("call: no re-offer", {{"call_ref", call.call_ref}, {"error", offer.error()}});
    return;
  }
  const std::string body = sdp::Serialize(*offer);
  call.our_offer = std::move(*offer);
  const std::string extra = "Allow: " + std::string(kCallMethods) +
                            "\r\nSupported: " + std::string(kCallExtensions) + "\r\n" +
                            SessionExpiresHeaders(call, false);
  auto id = SendInDialog(call, "INVITE", Purpose::kReInvite, extra, kSdpType, body);
  if (!id) {
    call.our_offer.reset();
    return;
  }
  call.reinvite_client = *id;
}

void CallAgent::OnReInviteResponse(Call& call, const sip::Message& response) {
  const uint16_t status = response.status_code();
  if (status < 200) return;
  owned_.erase(call.reinvite_client);
  call.reinvite_client = 0;
  if (status < 300) {
    SendAck(call, response.cseq() ? response.cseq()->number : call.local_cseq, "", "");
    if (std::string target = ContactUri(response); !target.empty()) call.remote_target = target;
    std::optional<sdp::Negotiated> negotiated;
    if (HasSdp(response) && call.our_offer) {
      auto answer = sdp::Parse(response.body());
      if (answer) {
        auto processed = sdp::ProcessAnswer(*call.our_offer, *answer, call.media);
        if (processed) negotiated = *processed;
      }
    }
    call.our_offer.reset();
    // RFC 4028 7.4: a 2xx to any re-INVITE of ours refreshes the session; it may adjust
    // the interval.
    if (call.session_interval != 0) {
      if (auto se = ParseSessionExpires(response)) {
        call.session_interval = se->seconds;
        call.we_refresh = se->refresher != "uas";
      }
      ArmSessionTimer(call);
    }
    if (!negotiated) {
      log::Info("call: re-INVITE 2xx without a usable answer", {{"call_ref", call.call_ref}});
      return;
    }
    const bool changed = !call.negotiated || !(*call.negotiated == *negotiated);
    call.negotiated = *negotiated;
    if (changed) {  // a session refresh with the same media is no news to control
      pb::CallEvent event;
      *event.mutable_media_changed()->mutable_media() = sdp::ToSessionParams(*negotiated, 0);
      Publish(call, event);
    }
    OfferIfWanted(call);
    return;
  }
  call.our_offer.reset();
  if (status == 491) {
    call.reoffer_wanted = false;  // the retry carries the latest LocalMedia
    // RFC 3261 14.1: glare. The owner of the Call-ID (who sent the first INVITE) waits
    // 2.1-4 s, the other side 0-2 s, then offers again.
    const double unit = registration::RandomUnit(random_).value_or(0.5);
    const double seconds = call.outgoing ? 2.1 + unit * 1.9 : unit * 2.0;
    std::weak_ptr<bool> alive = alive_;
    const std::string ref = call.call_ref;
    call.reinvite_retry = scheduler_.Schedule(
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)), [this, alive, ref] {
          if (!alive.lock() || !*alive.lock()) return;
          Call* again = Find(ref);
          if (again != nullptr && again->state == CallState::kConfirmed) SendReInvite(*again);
        });
    return;
  }
  // RFC 3261 14.1: a failed re-INVITE leaves the session as it was; 481 and 408 mean
  // the dialog is gone (12.2.1.2).
  log::Info("call: re-INVITE refused", {{"call_ref", call.call_ref}, {"status", status}});
  if (status == 481 || status == 408) {
    SendBye(call);
    Release(call, status, response.reason_phrase(), true);
    return;
  }
  OfferIfWanted(call);
}

void CallAgent::OfferIfWanted(Call& call) {
  if (!call.reoffer_wanted || call.state != CallState::kConfirmed) return;
  call.reoffer_wanted = false;
  SendReInvite(call);
}

// ---------------------------------------------------------------------------------
// Client transaction outcomes

bool CallAgent::OnResponse(TransactionId transaction, const sip::Message& response) {
  auto it = owned_.find(transaction);
  if (it == owned_.end()) return false;
  const Owned owned = it->second;
  Call* call = Find(owned.call_ref);
  if (call == nullptr) {
    owned_.erase(it);
    return true;
  }
  const uint16_t status = response.status_code();
  if (owned.purpose != Purpose::kInvite && owned.purpose != Purpose::kCancel && status >= 200) {
    if ((status == 401 || status == 407) && !owned.answered_challenge &&
        RetryWithCredentials(*call, transaction, owned, response)) {
      return true;
    }
    if (status != 401 && status != 407 && call->digest &&
        call->digest->state() != auth::DigestClientState::kFailed) {
      call->digest->OnAccepted();
    }
  }
  switch (owned.purpose) {
    case Purpose::kInvite:
      OnInviteResponse(*call, response);
      break;
    case Purpose::kReInvite:
      OnReInviteResponse(*call, response);
      break;
    case Purpose::kBye:
      if (status >= 200) {
        owned_.erase(transaction);
        if (call->release_pending) Release(*call, 0, "", false);
      }
      break;
    case Purpose::kRefer:
      if (status >= 200) {
        owned_.erase(transaction);
        // A refused REFER ends the transfer; the far end's NOTIFYs report a 2xx one.
        if (status >= 300) PublishTransferProgress(*call, status, true);
      }
      break;
    case Purpose::kCancel:
    case Purpose::kNotify:
    case Purpose::kOther:
      if (status >= 200) owned_.erase(transaction);
      break;
  }
  return true;
}

bool CallAgent::OnTimeout(TransactionId transaction, transaction::TransactionKind) {
  return OnFailure(transaction, true, "");
}

bool CallAgent::OnTransportError(TransactionId transaction, std::string_view error) {
  return OnFailure(transaction, false, error);
}

bool CallAgent::OnFailure(TransactionId transaction, bool timeout, std::string_view error) {
  auto it = owned_.find(transaction);
  if (it == owned_.end()) return false;
  const Owned owned = it->second;
  owned_.erase(it);
  Call* call = Find(owned.call_ref);
  if (call == nullptr) return true;
  // RFC 3261 8.1.3.1: a timeout counts as 408; a transport failure as 503.
  const uint32_t status = timeout ? 408 : 503;
  const std::string reason = timeout ? "Request Timeout" : "Transport failure: " + std::string(error);
  switch (owned.purpose) {
    case Purpose::kInvite:
      call->invite_client = 0;
      Release(*call, call->state == CallState::kTerminating ? 487 : status, reason,
              call->state != CallState::kTerminating);
      break;
    case Purpose::kReInvite:
      call->reinvite_client = 0;
      call->our_offer.reset();
      SendBye(*call);
      Release(*call, status, reason, true);
      break;
    case Purpose::kBye:
      if (call->release_pending) Release(*call, 0, "", false);
      break;
    case Purpose::kRefer:
      PublishTransferProgress(*call, status, true);
      break;
    case Purpose::kCancel:
    case Purpose::kNotify:
    case Purpose::kOther:
      break;
  }
  return true;
}

// ---------------------------------------------------------------------------------
// Call control: both directions

// A number becomes sip:number@<our domain, else the peer's address>; a URI stays.
std::optional<std::string> CallAgent::TargetUri(const Call& call, const std::string& target) const {
  if (target.rfind("sip:", 0) == 0 || target.rfind("sips:", 0) == 0 || target.rfind("tel:", 0) == 0) {
    return target;
  }
  if (!registration::IsValidUserPart(target)) return std::nullopt;
  const std::string host = config_.domain.empty() ? UriHost(call.peer.address) : config_.domain;
  return "sip:" + target + "@" + host;
}

CallOutcome CallAgent::EndCall(const pb::EndCallRequest& request) {
  Call* call = Find(request.call_ref());
  if (call == nullptr) return CallRefusal{CallRefusal::Kind::kNotFound, "no call " + request.call_ref()};
  switch (call->state) {
    case CallState::kTerminating:
    case CallState::kTerminated:
      return std::nullopt;  // already on its way out
    case CallState::kCalling:
    case CallState::kProceeding:
    case CallState::kEarly:
      if (!call->outgoing) {
        const uint16_t status = request.status() >= 300 && request.status() < 700
                                    ? static_cast<uint16_t>(request.status())
                                    : uint16_t{480};
        const std::string reason = SafeReason(request.reason(), status);
        // Call forwarding (RFC 3261 21.3.3): a 3xx names where to call instead.
        std::string extra;
        if (status < 400 && !request.contact().empty()) {
          auto target = TargetUri(*call, request.contact());
          if (!target) {
            return CallRefusal{CallRefusal::Kind::kInvalidArgument,
                               "contact '" + request.contact() + "' is not a SIP user"};
          }
          extra = "Contact: <" + *target + ">\r\n";
        }
        RejectInvite(*call, status, reason, extra);
        Release(*call, status, reason, false);
        return std::nullopt;
      }
      // RFC 3261 9.1: CANCEL only once a provisional response arrived.
      SetState(*call, CallState::kTerminating);
      call->cancel_wanted = true;
      if (call->provisional_received) SendCancelNow(*call);
      return std::nullopt;
    case CallState::kConfirmed:
      SetState(*call, CallState::kTerminating);
      call->release_pending = true;
      if (!call->pending_2xx.empty() && !call->outgoing && call->reinvite_server_pending == false) {
        call->bye_after_ack = true;  // RFC 3261 15: not before the ACK (or its timeout)
        return std::nullopt;
      }
      SendBye(*call);
      return std::nullopt;
  }
  return std::nullopt;
}

CallOutcome CallAgent::UpdateMedia(const pb::UpdateMediaRequest& request) {
  Call* call = Find(request.call_ref());
  if (call == nullptr) return CallRefusal{CallRefusal::Kind::kNotFound, "no call " + request.call_ref()};
  if (call->state != CallState::kConfirmed || !call->origin) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument, "call " + call->call_ref + " is not established"};
  }
  call->media.address = request.media().address();
  call->media.port = static_cast<uint16_t>(request.media().port());
  call->media.direction = FromProtoDirection(request.media().direction());
  if (call->reinvite_retry != 0) return std::nullopt;  // the pending glare retry offers the new media
  if (call->reinvite_client != 0 || call->our_offer || !call->pending_2xx.empty()) {
    // RFC 3264 4: one exchange at a time. The new LocalMedia is offered as soon as the
    // current exchange ends (our re-INVITE answered, or their 2xx ACKed).
    call->reoffer_wanted = true;
    return std::nullopt;
  }
  SendReInvite(*call);
  if (call->reinvite_client == 0) return CallRefusal{CallRefusal::Kind::kUnavailable, "re-INVITE not sent"};
  return std::nullopt;
}

CallOutcome CallAgent::TransferCall(const pb::TransferCallRequest& request) {
  Call* call = Find(request.call_ref());
  if (call == nullptr) return CallRefusal{CallRefusal::Kind::kNotFound, "no call " + request.call_ref()};
  if (call->state != CallState::kConfirmed) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument, "call " + call->call_ref + " is not established"};
  }
  auto uri = TargetUri(*call, request.target());
  if (!uri) {
    return CallRefusal{CallRefusal::Kind::kInvalidArgument,
                       "target '" + request.target() + "' is not a SIP user"};
  }
  std::string target = *uri;
  if (!request.replaces_call_ref().empty()) {
    Call* consultation = Find(request.replaces_call_ref());
    if (consultation == nullptr || consultation->remote_tag.empty()) {
      return CallRefusal{CallRefusal::Kind::kNotFound, "no dialog for call " + request.replaces_call_ref()};
    }
    // RFC 3891 3: to-tag and from-tag as seen by the UA that gets the Replaces (the
    // consultation call's far end): its tag is our remote tag.
    const std::string replaces = consultation->call_id + ";to-tag=" + consultation->remote_tag +
                                 ";from-tag=" + consultation->local_tag;
    target += "?Replaces=" + EscapeUriHeaderValue(replaces);
  }
  const std::string headers = "Refer-To: <" + target + ">\r\nReferred-By: <" + call->local_uri + ">\r\n";
  auto id = SendInDialog(*call, "REFER", Purpose::kRefer, headers, "", "");
  if (!id) return CallRefusal{CallRefusal::Kind::kUnavailable, "REFER not sent: " + id.error()};
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// RFC 4028 session timers

std::string CallAgent::SessionExpiresHeaders(const Call& call, bool in_response) const {
  if (call.session_interval == 0) return "";
  // The refresher is named from the roles of this request: in a response, the UAC is
  // the far end; in a request of ours, we are the UAC.
  const bool uac_refreshes = in_response ? !call.we_refresh : call.we_refresh;
  std::string out = "Session-Expires: " + std::to_string(call.session_interval) +
                    ";refresher=" + (uac_refreshes ? "uac" : "uas") + "\r\n";
  // RFC 4028 9: a 2xx that names a refresher to a UAC that supports timers requires it.
  if (in_response && call.peer_supports_timer) out += "Require: timer\r\n";
  return out;
}

void CallAgent::ArmSessionTimer(Call& call) {
  scheduler_.Cancel(call.session_timer);
  call.session_timer = 0;
  if (call.session_interval == 0) return;
  const uint32_t interval = call.session_interval;
  // RFC 4028 10: the refresher refreshes at half the interval; the other side ends the
  // session when it sees no refresh by the interval minus min(32 s, interval / 3).
  const uint32_t delay_s = call.we_refresh ? interval / 2 : interval - std::min<uint32_t>(32, interval / 3);
  call.session_serial = next_serial_++;
  std::weak_ptr<bool> alive = alive_;
  const std::string ref = call.call_ref;
  const uint64_t serial = call.session_serial;
  call.session_timer = scheduler_.Schedule(std::chrono::seconds(delay_s), [this, alive, ref, serial] {
    if (alive.lock() && *alive.lock()) OnSessionTimer(ref, serial);
  });
}

void CallAgent::OnSessionTimer(const std::string& call_ref, uint64_t serial) {
  Call* call = Find(call_ref);
  if (call == nullptr || call->session_serial != serial) return;
  call->session_timer = 0;
  if (call->state != CallState::kConfirmed) return;
  if (call->we_refresh) {
    // The refresh is a re-INVITE with the unchanged offer (same o= version, RFC 3264
    // 8); one already in progress refreshes the session as well.
    if (call->reinvite_client == 0 && call->reinvite_retry == 0 && !call->our_offer) SendReInvite(*call);
    return;
  }
  ++counters_.session_timeouts;
  log::Info("call: session not refreshed", {{"call_ref", call_ref}, {"interval_s", call->session_interval}});
  SendBye(*call);
  Release(*call, 408, "Session timer expired", true);
}

pb::DialogListReply CallAgent::ListDialogs() const {
  pb::DialogListReply reply;
  for (const auto& [ref, call] : calls_) {
    pb::DialogInfo* info = reply.add_dialogs();
    info->set_call_ref(call->call_ref);
    info->set_sip_call_id(call->call_id);
    const CallState state = call->state == CallState::kProceeding ? CallState::kCalling : call->state;
    info->set_state(std::string(CallStateName(state)));
    info->set_local_uri(call->local_uri);
    info->set_remote_uri(call->remote_uri);
    info->set_outgoing(call->outgoing);
  }
  bus::MakeUtf8Fields(reply);
  return reply;
}

}  // namespace linegate::signaling::dialog
