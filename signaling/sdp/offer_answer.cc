// RFC 3264 offer/answer for one audio stream; see offer_answer.h and README.md.

#include "signaling/sdp/offer_answer.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace linegate::signaling::sdp {
namespace {

namespace codec = media::codec;

constexpr std::string_view kTelephoneEvent = "telephone-event";
// Events 0-15: the DTMF digits, all linegate sends or reads from a line (RFC 4733 3.2).
constexpr std::string_view kTelephoneEventFmtp = "0-15";
// Our Opus runs narrow-band at 8 kHz (media/codec): tell the peer not to send more
// (RFC 7587 6.1).
constexpr std::string_view kOpusFmtp = "maxplaybackrate=8000;sprop-maxcapturerate=8000";
// Annex B is off in our G.729 (media/codec/codec.h CodecOptions).
constexpr std::string_view kG729Fmtp = "annexb=no";
// The packet times the media process runs (media.proto SessionParams.ptime_ms).
constexpr std::array<uint32_t, 4> kMediaPtimes = {10, 20, 30, 40};

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Lower(x) == Lower(y); });
}

std::optional<uint8_t> PayloadType(std::string_view format) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(format.data(), format.data() + format.size(), value);
  if (ec != std::errc() || ptr != format.data() + format.size() || format.empty() || value > 127)
    return std::nullopt;
  return static_cast<uint8_t>(value);
}

AddrType AddrTypeOf(std::string_view address) {
  return address.find(':') != std::string_view::npos ? AddrType::kIp6 : AddrType::kIp4;
}

bool IsUnspecifiedAddress(const Connection& c) {
  return (c.addr_type == AddrType::kIp4 && c.address == "0.0.0.0") ||
         (c.addr_type == AddrType::kIp6 && c.address == "::");
}

// The codec payload type `pt` stands for in `m`: its rtpmap when there is one (the
// channel count must match, so opus/48000 without /2 is not Opus), else the RFC 3551
// static assignment.
std::optional<codec::CodecId> CodecOf(const MediaDescription& m, uint8_t pt) {
  if (const RtpMap* map = m.FindRtpMap(pt)) {
    const auto id = codec::FindCodec(map->encoding, map->clock_rate);
    if (!id) return std::nullopt;
    const uint8_t channels = map->channels == 0 ? 1 : map->channels;
    if (channels != codec::GetCodecInfo(*id).rtpmap_channels) return std::nullopt;
    return id;
  }
  for (const codec::CodecInfo& info : codec::AllCodecs()) {
    if (info.static_payload_type == pt) return info.id;
  }
  return std::nullopt;
}

// The telephone-event payload type of `m` at `clock_rate` (RFC 4733 2.1: the event
// clock is the audio codec's clock), first in format order.
std::optional<uint8_t> TelephoneEventOf(const MediaDescription& m, uint32_t clock_rate) {
  for (const std::string& format : m.formats) {
    const auto pt = PayloadType(format);
    if (!pt) continue;
    const RtpMap* map = m.FindRtpMap(*pt);
    if (map && map->clock_rate == clock_rate && EqualsIgnoringCase(map->encoding, kTelephoneEvent)) return pt;
  }
  return std::nullopt;
}

bool IsMediaPtime(const codec::CodecInfo& info, uint32_t ptime) {
  return std::find(kMediaPtimes.begin(), kMediaPtimes.end(), ptime) != kMediaPtimes.end() &&
         codec::IsValidFrameSize(info, ptime * codec::kSamplesPer10Ms / 10);
}

// What we send: the peer's a=ptime when we can run it, else ours if within its
// a=maxptime, else the longest packet time we run within a=maxptime, else 20 ms.
uint32_t ChoosePtime(const codec::CodecInfo& info, const MediaDescription& remote, uint32_t local_ptime) {
  if (remote.ptime_ms && IsMediaPtime(info, *remote.ptime_ms)) return *remote.ptime_ms;
  const uint32_t max = remote.maxptime_ms.value_or(UINT32_MAX);
  if (IsMediaPtime(info, local_ptime) && local_ptime <= max) return local_ptime;
  for (auto it = kMediaPtimes.rbegin(); it != kMediaPtimes.rend(); ++it) {
    if (*it <= max && IsMediaPtime(info, *it)) return *it;
  }
  return 20;
}

// The direction a peer declared for media `index`, with c=0.0.0.0 read as "do not
// send to me" (RFC 3264 8.4 for RFC 2543 peers).
Direction PeerDirection(const SessionDescription& sdp, size_t index) {
  const Direction declared = sdp.MediaDirection(index);
  const Connection* c = sdp.MediaConnection(index);
  if (c && IsUnspecifiedAddress(*c)) return MakeDirection(Sends(declared), false);
  return declared;
}

void AddCodec(MediaDescription& m, const codec::CodecInfo& info, uint8_t pt) {
  m.formats.push_back(std::to_string(pt));
  m.rtpmaps.push_back(
      {.payload_type = pt,
       .encoding = std::string(info.rtpmap_name),
       .clock_rate = info.rtp_clock_rate_hz,
       .channels = static_cast<uint8_t>(info.rtpmap_channels == 1 ? 0 : info.rtpmap_channels)});
  if (info.id == codec::CodecId::kG729) m.fmtps.push_back({std::to_string(pt), std::string(kG729Fmtp)});
  if (info.id == codec::CodecId::kOpus) m.fmtps.push_back({std::to_string(pt), std::string(kOpusFmtp)});
}

void AddTelephoneEvent(MediaDescription& m, uint8_t pt, uint32_t clock_rate) {
  m.formats.push_back(std::to_string(pt));
  m.rtpmaps.push_back({.payload_type = pt,
                       .encoding = std::string(kTelephoneEvent),
                       .clock_rate = clock_rate,
                       .channels = 0});
  m.fmtps.push_back({std::to_string(pt), std::string(kTelephoneEventFmtp)});
}

SessionDescription LocalSkeleton(const LocalConfig& config) {
  SessionDescription sdp;
  sdp.session_name = "linegate";
  sdp.connection =
      Connection{.addr_type = AddrTypeOf(config.address), .address = config.address, .suffix = {}};
  return sdp;
}

Status CheckConfig(const LocalConfig& config) {
  if (config.address.empty()) return Error{"no local RTP address"};
  if (config.codecs.empty()) return Error{"no codec configured"};
  if (config.port == 0 || config.port % 2 != 0) return Error{"local RTP port must be even and not 0"};
  return Status::Ok();
}

}  // namespace

bool IsHold(const SessionDescription& sdp, size_t index) { return !Receives(PeerDirection(sdp, index)); }

LocalOrigin::LocalOrigin(uint64_t session_id, std::string address, std::string username)
    : origin_{.username = std::move(username),
              .session_id = session_id,
              .session_version = 1,
              .addr_type = AddrTypeOf(address),
              .address = std::move(address)},
      version_(1) {}

void LocalOrigin::Stamp(SessionDescription& sdp) {
  sdp.origin = Origin{};
  if (last_ && !(*last_ == sdp)) ++version_;
  last_ = sdp;
  sdp.origin = origin_;
  sdp.origin.session_version = version_;
}

Result<SessionDescription> BuildOffer(const LocalConfig& config, LocalOrigin& origin) {
  if (Status s = CheckConfig(config); !s) return Error{s.error()};
  if (config.opus_pt < 96 || config.opus_pt > 127) return Error{"Opus payload type must be dynamic (96-127)"};
  if (config.telephone_event_pt && (*config.telephone_event_pt < 96 || *config.telephone_event_pt > 127 ||
                                    *config.telephone_event_pt == config.opus_pt))
    return Error{"telephone-event payload type must be dynamic (96-127) and differ from Opus's"};
  SessionDescription sdp = LocalSkeleton(config);
  MediaDescription m;
  m.media = "audio";
  m.port = config.port;
  m.proto = "RTP/AVP";
  for (size_t i = 0; i < config.codecs.size(); ++i) {
    const codec::CodecId id = config.codecs[i];
    if (std::find(config.codecs.begin(), config.codecs.begin() + static_cast<std::ptrdiff_t>(i), id) !=
        config.codecs.begin() + static_cast<std::ptrdiff_t>(i))
      continue;  // listed twice
    const codec::CodecInfo& info = codec::GetCodecInfo(id);
    AddCodec(m, info, info.static_payload_type.value_or(config.opus_pt));
  }
  if (config.telephone_event_pt) AddTelephoneEvent(m, *config.telephone_event_pt, 8000);
  m.ptime_ms = config.ptime_ms;
  m.direction = config.direction;
  sdp.media.push_back(std::move(m));
  origin.Stamp(sdp);
  return sdp;
}

Result<Answer> BuildAnswer(const SessionDescription& offer, const LocalConfig& config, LocalOrigin& origin) {
  if (Status s = CheckConfig(config); !s) return Error{s.error()};
  if (offer.media.empty()) return Error{"offer has no media"};
  Answer answer{.sdp = LocalSkeleton(config), .negotiated = {}};
  answer.sdp.timing = offer.timing;  // RFC 3264 6: the answer's t= equals the offer's
  bool accepted = false;
  std::string why = "no audio stream offered";

  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& om = offer.media[i];
    MediaDescription am;
    am.media = om.media;
    am.proto = om.proto;
    // A rejected stream: port 0 and one of the offered formats (RFC 3264 6).
    am.formats.push_back(om.formats.empty() ? "0" : om.formats.front());
    const Connection* connection = offer.MediaConnection(i);
    const bool audio = om.media == "audio" && om.proto == "RTP/AVP" && om.port != 0 && connection;
    if (accepted || !audio) {
      if (!accepted && om.media == "audio" && om.port != 0)
        why = "audio stream " + std::to_string(i + 1) + " uses " + om.proto + ", only RTP/AVP is supported";
      answer.sdp.media.push_back(std::move(am));
      continue;
    }

    // The codec is the first of OUR list that the offer contains, not the offer's
    // first: the gateway's list encodes the line side (G.711 reaches the TDM line
    // without transcoding loss or CPU, and the operator orders it per trunk), and
    // RFC 3264 6.1 leaves the choice to the answerer. We answer that one codec only
    // (plus telephone-event), so the media process, which runs one codec per session,
    // is never sent another.
    std::optional<codec::CodecId> chosen;
    uint8_t chosen_pt = 0;
    for (const codec::CodecId id : config.codecs) {
      for (const std::string& format : om.formats) {
        const auto pt = PayloadType(format);
        if (pt && CodecOf(om, *pt) == id) {
          chosen = id;
          chosen_pt = *pt;  // the offerer's number, dynamic or static (RFC 3264 6.1)
          break;
        }
      }
      if (chosen) break;
    }
    if (!chosen) {
      why = "no common codec in audio stream " + std::to_string(i + 1);
      answer.sdp.media.push_back(std::move(am));
      continue;
    }
    const codec::CodecInfo& info = codec::GetCodecInfo(*chosen);
    const Direction offered = PeerDirection(offer, i);
    const Direction ours = MakeDirection(Receives(offered) && Sends(config.direction),
                                         Sends(offered) && Receives(config.direction));

    am.port = config.port;
    am.formats.clear();
    AddCodec(am, info, chosen_pt);
    std::optional<uint8_t> te;
    if (config.telephone_event_pt) te = TelephoneEventOf(om, info.rtp_clock_rate_hz);
    if (te) AddTelephoneEvent(am, *te, info.rtp_clock_rate_hz);
    am.ptime_ms = config.ptime_ms;
    am.direction = ours;
    answer.sdp.media.push_back(std::move(am));

    answer.negotiated = Negotiated{.media_index = i,
                                   .codec = *chosen,
                                   .payload_type = chosen_pt,
                                   .ptime_ms = ChoosePtime(info, om, config.ptime_ms),
                                   .telephone_event_pt = te,
                                   .direction = ours,
                                   .remote_addr_type = connection->addr_type,
                                   .remote_address = connection->address,
                                   .remote_port = om.port,
                                   .remote_hold = !Receives(offered)};
    accepted = true;
  }
  if (!accepted) return Error{why};
  origin.Stamp(answer.sdp);
  return answer;
}

Result<Negotiated> ProcessAnswer(const SessionDescription& offer, const SessionDescription& answer,
                                 const LocalConfig& config) {
  if (answer.media.size() != offer.media.size()) {
    return Error{"answer has " + std::to_string(answer.media.size()) + " m= lines, the offer had " +
                 std::to_string(offer.media.size())};
  }
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& om = offer.media[i];
    const MediaDescription& am = answer.media[i];
    if (om.media != "audio" || !om.IsRtp() || om.port == 0) continue;
    if (am.port == 0) return Error{"the peer rejected audio stream " + std::to_string(i + 1)};
    if (am.media != om.media || am.proto != om.proto)
      return Error{"answer stream " + std::to_string(i + 1) + " is not " + om.media + " " + om.proto};
    const Connection* connection = answer.MediaConnection(i);
    if (!connection) return Error{"no connection address for answered stream " + std::to_string(i + 1)};

    // The first format of the answer (the answerer's preference) that is a codec we
    // offered, under the same payload type, and still configured.
    std::optional<codec::CodecId> chosen;
    uint8_t chosen_pt = 0;
    for (const std::string& format : am.formats) {
      const auto pt = PayloadType(format);
      if (!pt) continue;
      const auto id = am.FindRtpMap(*pt) ? CodecOf(am, *pt) : CodecOf(om, *pt);
      const bool offered = std::find(om.formats.begin(), om.formats.end(), format) != om.formats.end() &&
                           CodecOf(om, *pt) == id;
      if (id && offered &&
          std::find(config.codecs.begin(), config.codecs.end(), *id) != config.codecs.end()) {
        chosen = id;
        chosen_pt = *pt;
        break;
      }
    }
    if (!chosen) return Error{"the answer holds no codec we offered in stream " + std::to_string(i + 1)};
    const codec::CodecInfo& info = codec::GetCodecInfo(*chosen);
    std::optional<uint8_t> te;
    if (config.telephone_event_pt) {
      // Answerers that reuse our number may omit the rtpmap; read it from the offer then.
      te = TelephoneEventOf(am, info.rtp_clock_rate_hz);
      if (!te) {
        const auto offered_te = TelephoneEventOf(om, info.rtp_clock_rate_hz);
        if (offered_te && !am.FindRtpMap(*offered_te) &&
            std::find(am.formats.begin(), am.formats.end(), std::to_string(*offered_te)) != am.formats.end())
          te = offered_te;
      }
    }
    const Direction offered = offer.MediaDirection(i);
    const Direction answered = PeerDirection(answer, i);
    return Negotiated{.media_index = i,
                      .codec = *chosen,
                      .payload_type = chosen_pt,
                      .ptime_ms = ChoosePtime(info, am, config.ptime_ms),
                      .telephone_event_pt = te,
                      .direction = MakeDirection(Sends(offered) && Receives(answered),
                                                 Receives(offered) && Sends(answered)),
                      .remote_addr_type = connection->addr_type,
                      .remote_address = connection->address,
                      .remote_port = am.port,
                      .remote_hold = !Receives(answered)};
  }
  return Error{"the offer holds no audio stream"};
}

}  // namespace linegate::signaling::sdp
