// libFuzzer target for the INVITE dialog layer: a CallAgent over a real TransactionLayer
// (recording transport, manual clock) is fed a short script of SIP datagrams, and a
// scripted call control reacts to its events, so that every path from the wire (SDP
// offers and answers, Refer-To, Replaces, Session-Expires, RSeq/RAck, sipfrag...) to
// the dialog state and back can be reached. No input may crash, leak, trip UBSan or
// run away; the agent's own invariants are checked after every step.
//
// Input layout:
//   byte 0      control flags (kAnswer*, kTransfer..., see below)
//   byte 1      more flags (100rel, short session timers, forwarding...)
//   the rest    up to kMaxDatagrams SIP messages separated by "\n-----\n", each
//               delivered as UDP from 127.0.0.1:5099 after its placeholders are
//               replaced from what the agent last sent:
//                 $via     top Via of our last request    $callid  its Call-ID
//                 $from    its From     $to  its To       $cseq    its CSeq
//                 $tag     our tag (From tag of our last request or To tag of our
//                          last response, whichever came later)
//                 $rseq    the RSeq of our last reliable provisional
//                 $ivia $icseq  Via and CSeq of our last INVITE
//               so that scripts can answer our INVITEs/REFERs/NOTIFYs and talk in
//               the dialogs we create.
// Between datagrams the clock moves 100 ms (or 33 s with kLongSteps, so that
// transaction and 2xx timers fire); after the script it runs out every timer.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/scheduler.h"
#include "signaling/dialog/call_agent.h"
#include "signaling/dialog/tests/call_agent_harness.h"
#include "signaling/transaction/transaction_layer.h"

namespace dialog = linegate::signaling::dialog;
namespace harness = linegate::signaling::dialog::harness;
namespace transaction = linegate::signaling::transaction;
namespace transport = linegate::signaling::transport;
namespace pb = linegate::signaling::v1;
namespace mpb = linegate::media::v1;

namespace {

constexpr size_t kMaxDatagrams = 8;
constexpr std::string_view kSeparator = "\n-----\n";

// Byte 0.
constexpr uint8_t kAnswerMask = 0x03;  // incoming: 0 nothing, 1 180, 2 180+200, 3 183(SDP)+200
constexpr uint8_t kPlaceOnTransfer = 0x04;    // transfer_requested: PlaceCall transferred_from
constexpr uint8_t kUpdateMedia = 0x08;        // after datagram 2: UpdateMedia (hold) every call
constexpr uint8_t kTransfer = 0x10;           // after datagram 3: TransferCall the first call
constexpr uint8_t kEndAll = 0x20;             // after the script: EndCall every call
constexpr uint8_t kPlaceFirst = 0x40;         // before the script: PlaceCall c-1 via "main"
constexpr uint8_t kLongSteps = 0x80;          // 33 s between datagrams instead of 100 ms
// Byte 1.
constexpr uint8_t kRequire100rel = 0x01;
constexpr uint8_t kShortSessionTimer = 0x02;  // session_expires_s = min_se_s = 90
constexpr uint8_t kAnswerSendonly = 0x04;     // our answers/updates say sendonly
constexpr uint8_t kForward = 0x08;            // incoming: 302 to "500" instead of answering
constexpr uint8_t kEndFirstEarly = 0x10;      // after datagram 1: EndCall the first call (486)
constexpr uint8_t kAttended = 0x20;           // TransferCall with replaces_call_ref of another call

std::string HeaderOf(std::string_view message, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  const size_t head_end = message.find("\r\n\r\n");
  size_t at = message.find(key);
  if (at == std::string_view::npos || at >= head_end) return "";
  at += key.size();
  return std::string(message.substr(at, message.find("\r\n", at) - at));
}

std::string TagOf(std::string_view header_value) {
  const size_t at = header_value.find(";tag=");
  if (at == std::string_view::npos) return "";
  const size_t end = header_value.find(';', at + 5);
  return std::string(header_value.substr(at + 5, end == std::string_view::npos ? end : end - at - 5));
}

struct Learned {
  std::string via, callid, from, to, cseq, tag, rseq;
  std::string invite_via, invite_cseq;  // of our last INVITE
};

void Learn(const std::vector<harness::Sent>& sent, Learned& learned) {
  for (const harness::Sent& s : sent) {
    const std::string_view bytes = s.bytes;
    if (bytes.rfind("SIP/2.0 ", 0) == 0) {
      const std::string tag = TagOf(HeaderOf(bytes, "To"));
      if (!tag.empty()) learned.tag = tag;
      const std::string rseq = HeaderOf(bytes, "RSeq");
      if (!rseq.empty()) learned.rseq = rseq;
    } else {
      learned.via = HeaderOf(bytes, "Via");
      learned.callid = HeaderOf(bytes, "Call-ID");
      learned.from = HeaderOf(bytes, "From");
      learned.to = HeaderOf(bytes, "To");
      learned.cseq = HeaderOf(bytes, "CSeq");
      const std::string tag = TagOf(learned.from);
      if (!tag.empty()) learned.tag = tag;
      if (bytes.rfind("INVITE ", 0) == 0) {
        learned.invite_via = learned.via;
        learned.invite_cseq = learned.cseq;
      }
    }
  }
}

std::string Substitute(std::string_view text, const Learned& learned) {
  static constexpr std::pair<std::string_view, std::string Learned::*> kNames[] = {
      {"$via", &Learned::via},   {"$callid", &Learned::callid}, {"$from", &Learned::from},
      {"$to", &Learned::to},     {"$cseq", &Learned::cseq},     {"$tag", &Learned::tag},
      {"$rseq", &Learned::rseq}, {"$ivia", &Learned::invite_via}, {"$icseq", &Learned::invite_cseq},
  };
  std::string out;
  out.reserve(text.size() + 64);
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '$') {
      for (const auto& [name, member] : kNames) {
        if (text.substr(i, name.size()) == name) {
          out += learned.*member;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// LINEGATE_FUZZ_TRACE=1: print what the agent sends and publishes (for writing seeds).
bool Trace() {
  static const bool trace = std::getenv("LINEGATE_FUZZ_TRACE") != nullptr;
  return trace;
}

pb::LocalMedia Media(uint32_t port, bool sendonly) {
  pb::LocalMedia media;
  media.set_address("192.0.2.20");
  media.set_port(port);
  media.set_direction(sendonly ? mpb::DIRECTION_SENDONLY : mpb::DIRECTION_UNSPECIFIED);
  return media;
}

class Harness {
 public:
  Harness(uint8_t flags, uint8_t flags2)
      : flags_(flags),
        flags2_(flags2),
        layer_(scheduler_, transport_, user_, [this] { return ++random_counter_; }),
        agent_(scheduler_, layer_, transport_, random_, Config(flags2), Hooks()) {
    user_.agent = &agent_;
  }

  void Deliver(std::string_view script_datagram) {
    const std::string text = Substitute(script_datagram, learned_);
    if (Trace()) std::fprintf(stderr, "deliver: %s\n", text.substr(0, text.find('\r')).c_str());
    transport::Received received;
    received.bytes = std::span<const char>(text.data(), text.size());
    received.protocol = transport::Protocol::kUdp;
    received.source = *transport::SocketAddress::Parse("127.0.0.1", 5099);
    received.local = *transport::SocketAddress::Parse("192.0.2.10", 5060);
    layer_.OnReceived(received);
    Settle();
  }

  void Advance(linegate::Duration d) {
    scheduler_.Advance(d);
    Settle();
  }

  // Control's scripted moves at points of the script.
  void AfterDatagram(size_t index) {
    if (index == 1 && (flags2_ & kEndFirstEarly) && !calls_.empty()) {
      pb::EndCallRequest end;
      end.set_call_ref(*calls_.begin());
      end.set_status(486);
      (void)agent_.EndCall(end);
    }
    if (index == 2 && (flags_ & kUpdateMedia)) {
      for (const std::string& ref : std::vector<std::string>(calls_.begin(), calls_.end())) {
        pb::UpdateMediaRequest update;
        update.set_call_ref(ref);
        *update.mutable_media() = Media(30010, true);
        (void)agent_.UpdateMedia(update);
      }
    }
    if (index == 3 && (flags_ & kTransfer) && !calls_.empty()) {
      pb::TransferCallRequest transfer;
      transfer.set_call_ref(*calls_.begin());
      transfer.set_target("400");
      if ((flags2_ & kAttended) && calls_.size() > 1) transfer.set_replaces_call_ref(*calls_.rbegin());
      (void)agent_.TransferCall(transfer);
    }
    Settle();
  }

  void Start() {
    if (flags_ & kPlaceFirst) Place("c-1", "");
    Settle();
  }

  void Finish() {
    if (flags_ & kEndAll) {
      for (const std::string& ref : std::vector<std::string>(calls_.begin(), calls_.end())) {
        pb::EndCallRequest end;
        end.set_call_ref(ref);
        (void)agent_.EndCall(end);
      }
      Settle();
    }
    // Run out the timers: transaction timers, 2xx retransmission, session refreshes.
    for (int i = 0; i < 8; ++i) Advance(std::chrono::seconds(40));
    CheckInvariants();
  }

 private:
  static dialog::CallAgentConfig Config(uint8_t flags2) {
    dialog::CallAgentConfig config;
    config.domain = "example.com";
    config.user_agent = "linegate-fuzz";
    config.codecs = {linegate::media::codec::CodecId::kPcmu, linegate::media::codec::CodecId::kPcma};
    config.telephone_event_pt = 101;
    config.require_100rel = (flags2 & kRequire100rel) != 0;
    if (flags2 & kShortSessionTimer) config.session_expires_s = 90;
    config.unanswered_limit = std::chrono::seconds(120);
    return config;
  }

  dialog::CallAgentHooks Hooks() {
    dialog::CallAgentHooks hooks;
    hooks.on_event = [this](const pb::CallEvent& event) {
      // Events cross the bus to call control: whatever the peer sent, they must
      // serialize to something control can parse (proto3 strings must be UTF-8).
      pb::CallEvent again;
      if (!again.ParseFromString(event.SerializeAsString())) std::abort();
      events_.push_back(event);
    };
    hooks.proxy_of = [](std::string_view name) -> std::optional<transport::Destination> {
      if (name != "main") return std::nullopt;
      transport::Destination d;
      d.address = *transport::SocketAddress::Parse("127.0.0.1", 5099);
      return d;
    };
    hooks.credentials_for = [](uint32_t line) -> std::vector<linegate::signaling::auth::Credentials> {
      if (line != 1) return {};
      return {linegate::signaling::auth::Credentials::FromPassword("2000", "secret")};
    };
    return hooks;
  }

  void Place(const std::string& ref, const std::string& transferred_from, const std::string& number = "300") {
    pb::PlaceCallRequest request;
    request.set_call_ref(ref);
    request.set_line(1);
    request.set_calling_number("2000");
    request.set_calling_name("Line One");
    request.set_called_number(number);
    request.set_destination("main");
    request.set_transferred_from(transferred_from);
    *request.mutable_media() = Media(30002, false);
    std::string call_id;
    if (!agent_.PlaceCall(request, call_id).has_value()) calls_.insert(ref);
  }

  // Takes what was sent (learning tags and branches for the next datagrams) and lets
  // control react to the events, as it would from the bus: after the agent returned.
  void Settle() {
    for (int rounds = 0; rounds < 4; ++rounds) {
      if (Trace()) {
        for (const harness::Sent& sent : transport_.sent) {
          std::fprintf(stderr, "  sent: %s\n", sent.bytes.substr(0, sent.bytes.find('\r')).c_str());
        }
        for (const pb::CallEvent& event : events_) std::fprintf(stderr, "  event: %s\n", event.ShortDebugString().c_str());
      }
      Learn(transport_.sent, learned_);
      transport_.sent.clear();
      if (events_.empty()) break;
      std::deque<pb::CallEvent> events = std::move(events_);
      events_.clear();
      for (const pb::CallEvent& event : events) React(event);
    }
    transport_.sent.clear();
    CheckInvariants();
  }

  void React(const pb::CallEvent& event) {
    const std::string& ref = event.call_ref();
    if (event.has_incoming()) {
      calls_.insert(ref);
      if (flags2_ & kForward) {
        pb::EndCallRequest end;
        end.set_call_ref(ref);
        end.set_status(302);
        end.set_contact("500");
        (void)agent_.EndCall(end);
        return;
      }
      const bool sendonly = (flags2_ & kAnswerSendonly) != 0;
      switch (flags_ & kAnswerMask) {
        case 0:
          break;
        case 1:
          Answer(ref, 180, sendonly, false);
          break;
        case 2:
          Answer(ref, 180, sendonly, false);
          Answer(ref, 200, sendonly, true);
          break;
        case 3:
          Answer(ref, 183, sendonly, true);
          Answer(ref, 200, sendonly, true);
          break;
      }
    } else if (event.has_released()) {
      calls_.erase(ref);
    } else if (event.has_transfer_requested() && (flags_ & kPlaceOnTransfer)) {
      const std::string number = event.transfer_requested().target_number();
      Place("t-" + std::to_string(++placed_), ref, number.empty() ? "300" : number);
    }
  }

  void Answer(const std::string& ref, uint32_t status, bool sendonly, bool with_media) {
    pb::AnswerCallRequest answer;
    answer.set_call_ref(ref);
    answer.set_status(status);
    if (with_media) *answer.mutable_media() = Media(30000, sendonly);
    (void)agent_.AnswerCall(answer);
  }

  void CheckInvariants() {
    // Every call the agent holds is listed, and none in a state it cannot be in.
    const pb::DialogListReply list = agent_.ListDialogs();
    if (static_cast<size_t>(list.dialogs_size()) != agent_.size()) std::abort();
    pb::DialogListReply again;
    if (!again.ParseFromString(list.SerializeAsString())) std::abort();
    for (const pb::DialogInfo& info : list.dialogs()) {
      if (info.state() == "terminated") std::abort();
    }
    if (agent_.size() > 64) std::abort();
  }

  uint8_t flags_;
  uint8_t flags2_;
  linegate::ManualScheduler scheduler_;
  harness::RecordingTransport transport_;
  harness::ForwardingUser user_;
  uint64_t random_counter_ = 0;
  transaction::TransactionLayer layer_;
  harness::SeededRandom random_;
  dialog::CallAgent agent_;
  std::deque<pb::CallEvent> events_;
  std::set<std::string> calls_;
  Learned learned_;
  uint32_t placed_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    linegate::log::SetLevel(linegate::log::Level::kCritical);  // the agent logs every odd message
    return true;
  }();
  (void)quiet;
  if (size < 2 || size > 16384) return 0;
  const uint8_t flags = data[0];
  const uint8_t flags2 = data[1];
  std::string_view script(reinterpret_cast<const char*>(data + 2), size - 2);

  Harness harness(flags, flags2);
  harness.Start();
  const auto step = (flags & kLongSteps) ? std::chrono::milliseconds(33000) : std::chrono::milliseconds(100);
  for (size_t index = 0; index < kMaxDatagrams && !script.empty(); ++index) {
    const size_t cut = script.find(kSeparator);
    const std::string_view datagram = script.substr(0, cut);
    script = cut == std::string_view::npos ? std::string_view() : script.substr(cut + kSeparator.size());
    // Scripts are written with "\n" line ends; SIP wants CRLF, so convert bare LFs
    // (the fuzzer can still produce anything, including bare CRs).
    std::string wire;
    wire.reserve(datagram.size() + 64);
    for (size_t i = 0; i < datagram.size(); ++i) {
      if (datagram[i] == '\n' && (i == 0 || datagram[i - 1] != '\r')) wire += '\r';
      wire += datagram[i];
    }
    harness.Deliver(wire);
    harness.AfterDatagram(index);
    harness.Advance(step);
  }
  harness.Finish();
  return 0;
}
