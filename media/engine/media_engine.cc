#include "media/engine/media_engine.h"

#include <sys/resource.h>

#include <algorithm>

#include "common/log.h"
#include "media/dsp/call_progress.h"
#include "media/tdm/tdm_service.h"

namespace linegate::media::engine {
namespace {

constexpr uint32_t kNoChannel = 0xffffffffu;
constexpr size_t kReceiveBurst = 64;
// Type 2 caller ID (GR-30, ETSI EN 300 659-2): the CPE alerting signal lasts 75-85 ms;
// the phone acknowledges within 160 ms; data follows without channel seizure, after a
// mark signal of 80 bits.
constexpr uint32_t kCasSamples = 80 * 8;
constexpr uint32_t kAckWindowSamples = 160 * 8;
// A DTMF acknowledgement lasts 55-65 ms; one that does not end this long after it
// started is not one.
constexpr uint32_t kAckMaxSamples = 200 * 8;
constexpr uint16_t kType2MarkBits = 80;
constexpr float kCasLevelDbm0 = -18.0f;  // each tone (GR-30: -14 to -32 dBm)

int16_t Saturate(int32_t sample) { return static_cast<int16_t>(std::clamp<int32_t>(sample, -32768, 32767)); }
// Frames written ahead on every to-line ring, so that the tdm always finds one even
// when this process wakes late: media.tdm_lead_ms (20 ms by default), at least two
// frames and at most half the ring.
uint32_t ToLineLead(uint32_t frame_ms, uint32_t lead_ms, uint32_t ring_depth) {
  const uint32_t ms = lead_ms == 0 ? 20 : lead_ms;
  return std::clamp<uint32_t>((ms + frame_ms - 1) / frame_ms, 2, ring_depth / 2);
}

std::optional<dsp::CallProgressTone> ToneOf(v1::ToneKind kind) {
  switch (kind) {
    case v1::TONE_KIND_DIAL:
      return dsp::CallProgressTone::kDial;
    case v1::TONE_KIND_RINGBACK:
      return dsp::CallProgressTone::kRingback;
    case v1::TONE_KIND_BUSY:
      return dsp::CallProgressTone::kBusy;
    case v1::TONE_KIND_CONGESTION:
      return dsp::CallProgressTone::kCongestion;
    case v1::TONE_KIND_CALL_WAITING:
      return dsp::CallProgressTone::kCallWaiting;
    default:
      return std::nullopt;
  }
}

}  // namespace

MediaEngine::MediaEngine(const config::v1::Config& config, uint32_t shard,
                         std::unique_ptr<packetio::PacketIo> io, EngineEvents& events, const Clock& clock)
    : config_(config), shard_(shard), io_(std::move(io)), events_(&events), clock_(&clock) {}

MediaEngine::~MediaEngine() {
  for (Channel& channel : channels_) {
    for (auto& leg : channel.legs) {
      if (leg) ClosePorts(*leg);
    }
  }
}

Result<std::unique_ptr<MediaEngine>> MediaEngine::Create(const config::v1::Config& config, uint32_t shard,
                                                         std::unique_ptr<packetio::PacketIo> io,
                                                         EngineEvents& events, const Clock& clock) {
  if (shard >= std::max<uint32_t>(1, config.media().process_count())) {
    return Error{"shard " + std::to_string(shard) + " does not exist: media.process_count is " +
                 std::to_string(config.media().process_count())};
  }
  std::unique_ptr<MediaEngine> engine(new MediaEngine(config, shard, std::move(io), events, clock));
  if (Status built = engine->BuildChannels(); !built) return Error{built.error()};
  return engine;
}

Status MediaEngine::BuildChannels() {
  lines_ = ShardLines(config_, shard_);
  ports_ = ShardPorts(config_, shard_);
  if (ports_.last <= ports_.first) {
    return Error{"media.rtp_port_min..rtp_port_max leaves no port pair for shard " + std::to_string(shard_)};
  }
  next_port_ = ports_.first;
  frame_samples_ = config_.tdm().frame_ms() * 8;
  from_frame_.resize(frame_samples_);
  to_frame_.resize(frame_samples_);
  leg_frame_.resize(frame_samples_);
  burst_.resize(kReceiveBurst);
  const std::string prefix = tdm::TdmBusPrefix(config_);
  uint32_t first_line = 1;
  for (int card = 0; card < config_.tdm().cards_size(); ++card) {
    const uint32_t count = config_.tdm().cards(card).fxs_ports() + config_.tdm().cards(card).fxo_ports();
    const uint32_t begin = std::max(first_line, lines_.first);
    const uint32_t end = std::min(first_line + count, lines_.first + lines_.count);
    if (begin < end) {
      CardView view;
      view.card = static_cast<uint32_t>(card);
      view.first_line = begin;
      view.first_channel = begin - first_line;
      view.count = end - begin;
      auto name = tdmbus::RegionName(prefix, static_cast<uint32_t>(card));
      if (!name) return Error{name.error()};
      view.region_name = *name;
      for (uint32_t line = begin; line < end; ++line) {
        Channel& channel = channels_.emplace_back();
        channel.line = line;
        channel.view = static_cast<uint32_t>(views_.size());
        channel.channel = view.first_channel + (line - begin);
        channel.fxo = channel.channel >= config_.tdm().cards(card).fxs_ports();
        if (channel.fxo) {
          channel.fsk_receiver = std::make_unique<dsp::CallerIdReceiver>();
          channel.dtmf_receiver = std::make_unique<dsp::DtmfCallerIdReceiver>();
          // The exchange's tones are the country's whose tones the gateway plays
          // (calls.tone_country, checked by the configuration; US if unset).
          const auto country = dsp::ParseCountry(config_.calls().tone_country());
          channel.busy_detector = std::make_unique<dsp::BusyToneDetector>(
              dsp::BusyToneDetectorConfig{.country = country.value_or(dsp::Country::kUs)});
        }
      }
      views_.push_back(std::move(view));
    }
    first_line += count;
  }
  log::Info("shard lines", {{"shard", shard_},
                            {"first_line", lines_.first},
                            {"lines", lines_.count},
                            {"ports", std::to_string(ports_.first) + "-" + std::to_string(ports_.last)}});
  return Status::Ok();
}

void MediaEngine::TryAttach(TimePoint now) {
  if (now < next_attach_) return;
  next_attach_ = now + std::chrono::milliseconds(100);
  ++counters_.attach_attempts;
  bool all = true;
  for (size_t index = 0; index < views_.size(); ++index) {
    CardView& view = views_[index];
    if (view.view) continue;
    tdmbus::AttachFailure failure = tdmbus::AttachFailure::kNone;
    auto attached = tdmbus::ShardView::Attach(view.region_name, view.first_channel, view.count, &failure);
    if (!attached) {
      all = false;
      // Absent or not ready: the tdm process is starting; retried every 100 ms, logged
      // once in a while.
      if (failure == tdmbus::AttachFailure::kIncompatible || counters_.attach_attempts % 50 == 1) {
        log::Warn("TDM bus not attached yet", {{"region", view.region_name}, {"error", attached.error()}});
      }
      continue;
    }
    if (attached->geometry().frame_samples != frame_samples_) {
      log::Error("TDM bus frame size differs from the configuration",
                 {{"region", view.region_name}, {"frame_samples", attached->geometry().frame_samples}});
      all = false;
      continue;
    }
    view.view.emplace(std::move(*attached));
    view.processed_ticks = view.view->frame_counter();
    const uint32_t lead =
        ToLineLead(config_.tdm().frame_ms(), config_.media().tdm_lead_ms(), view.view->geometry().ring_depth);
    for (Channel& channel : channels_) {
      if (channel.view != index) continue;
      auto reader = view.view->FromLineReader(channel.channel);
      auto writer = view.view->ToLineWriter(channel.channel);
      if (!reader || !writer) {
        log::Error("TDM bus channel refused", {{"line", channel.line}});
        continue;
      }
      channel.from_line.emplace(*reader);
      channel.to_line.emplace(*writer);
      // Silence ahead of the clock: the lead the tdm reads from while we are late.
      std::vector<std::byte> silence(view.view->geometry().frame_samples * 2);
      for (uint32_t i = 0; i < lead && channel.to_line->Space() > 0; ++i) channel.to_line->Write(silence);
      if (auto stats = view.view->Stats(channel.channel, tdmbus::Direction::kToLine)) {
        channel.underruns_at_start = stats->underruns;
      }
    }
    log::Info("TDM bus attached", {{"region", view.region_name},
                                   {"first_channel", view.first_channel},
                                   {"channels", view.count},
                                   {"mapped_bytes", view.view->mapped_channel_bytes()}});
  }
  attached_ = all;
}

MediaEngine::Channel* MediaEngine::FindChannel(uint32_t line) {
  if (!lines_.Contains(line)) return nullptr;
  return &channels_[line - lines_.first];
}

Result<std::pair<packetio::FlowId, packetio::FlowId>> MediaEngine::OpenPorts(uint32_t requested_port) {
  auto open_pair = [&](uint32_t port) -> Result<std::pair<packetio::FlowId, packetio::FlowId>> {
    auto rtp = io_->OpenFlow(static_cast<uint16_t>(port));
    if (!rtp) return Error{rtp.error()};
    auto rtcp = io_->OpenFlow(static_cast<uint16_t>(port + 1));
    if (!rtcp) {
      io_->CloseFlow(*rtp);
      return Error{rtcp.error()};
    }
    return std::make_pair(*rtp, *rtcp);
  };
  if (requested_port != 0) {
    if (requested_port % 2 != 0) return Error{"local_port must be even (RTCP uses the port above)"};
    return open_pair(requested_port);
  }
  // Next free pair of the shard's slice, round robin so that a port just released is
  // not reused at once (late packets of the old call would land in the new one).
  const uint32_t pairs = (ports_.last - ports_.first + 1) / 2;
  for (uint32_t attempt = 0; attempt < pairs; ++attempt) {
    const uint32_t port = next_port_;
    next_port_ += 2;
    if (next_port_ + 1 > ports_.last) next_port_ = ports_.first;
    auto flows = open_pair(port);
    if (flows) return flows;
  }
  return Error{"no free RTP port pair in " + std::to_string(ports_.first) + "-" +
               std::to_string(ports_.last)};
}

void MediaEngine::ClosePorts(RtpSession& session) {
  for (packetio::FlowId flow : {session.rtp_flow(), session.rtcp_flow()}) {
    if (flow < flow_to_channel_.size()) flow_to_channel_[flow] = kNoChannel;
    io_->CloseFlow(flow);
  }
}

Result<v1::CreateSessionReply> MediaEngine::CreateSession(const v1::SessionParams& params) {
  Channel* channel = FindChannel(params.line());
  if (channel == nullptr) {
    return Error{"line " + std::to_string(params.line()) + " is not in this shard (lines " +
                 std::to_string(lines_.first) + "-" + std::to_string(lines_.first + lines_.count - 1) + ")"};
  }
  if (params.leg() >= kLegs) return Error{"leg must be 0 or 1"};
  const uint32_t leg = params.leg();
  if (channel->legs[leg]) {
    return Error{"line " + std::to_string(params.line()) + " already has a session on leg " +
                 std::to_string(leg)};
  }
  auto settings = ResolveSettings(params, frame_samples_);
  if (!settings) return Error{settings.error()};
  settings->echo_tail_ms = config_.media().echo_canceller_tail_ms();
  auto flows = OpenPorts(params.local_port());
  if (!flows) return Error{flows.error()};
  auto session = RtpSession::Create(*settings, frame_samples_, *io_, flows->first, flows->second, *clock_,
                                    random_, *events_);
  if (!session) {
    io_->CloseFlow(flows->first);
    io_->CloseFlow(flows->second);
    return Error{session.error()};
  }
  const size_t needed = std::max(flows->first, flows->second) + 1;
  if (flow_to_channel_.size() < needed) flow_to_channel_.resize(needed, kNoChannel);
  const uint32_t index = static_cast<uint32_t>(channel - channels_.data());
  flow_to_channel_[flows->first] = index * kLegs + leg;
  flow_to_channel_[flows->second] = index * kLegs + leg;
  const bool first_leg = channel->leg_count == 0;
  channel->legs[leg] = std::move(*session);
  v1::SessionParams recorded = params;
  recorded.set_local_port(io_->LocalPort(flows->first));
  channel->legs[leg]->set_params(recorded);
  UpdateLegRoles(*channel);
  // The session reports the line's digits from now on.
  channel->digit_detection = false;
  // A new call on the exchange line: what was heard before (the last call's busy tone,
  // or dial tone and ringback) is no part of it.
  if (first_leg && channel->busy_detector) channel->busy_detector->Reset();
  if (first_leg && channel->view < views_.size() && views_[channel->view].view) {
    if (auto stats = views_[channel->view].view->Stats(channel->channel, tdmbus::Direction::kToLine)) {
      channel->underruns_at_start = stats->underruns;
    }
  }
  v1::CreateSessionReply reply;
  reply.set_local_address(config_.media().rtp_address());
  reply.set_local_port(io_->LocalPort(flows->first));
  reply.set_media_process(MediaProcessName(shard_));
  log::Info("session created", {{"line", params.line()},
                                {"leg", leg},
                                {"local_port", reply.local_port()},
                                {"remote", settings->remote_rtp.ToString()},
                                {"codec", v1::Codec_Name(params.codec())},
                                {"ptime_ms", settings->ptime_ms}});
  return reply;
}

Status MediaEngine::ModifySession(const v1::SessionParams& params) {
  Channel* channel = FindChannel(params.line());
  if (channel == nullptr || params.leg() >= kLegs || !channel->legs[params.leg()]) {
    return Error{"line " + std::to_string(params.line()) + " has no session on leg " +
                 std::to_string(params.leg())};
  }
  RtpSession& session = *channel->legs[params.leg()];
  auto settings = ResolveSettings(params, frame_samples_);
  if (!settings) return Error{settings.error()};
  if (Status modified = session.Modify(*settings); !modified) return modified;
  v1::SessionParams recorded = params;
  recorded.set_local_port(io_->LocalPort(session.rtp_flow()));
  session.set_params(recorded);
  UpdateLegRoles(*channel);
  log::Info("session modified", {{"line", params.line()},
                                 {"leg", params.leg()},
                                 {"remote", settings->remote_rtp.ToString()},
                                 {"conference", params.conference()}});
  return Status::Ok();
}

void MediaEngine::UpdateLegRoles(Channel& channel) {
  channel.leg_count = 0;
  bool reporter_chosen = false;
  bool conference = true;
  for (uint32_t leg = 0; leg < kLegs; ++leg) {
    conference = conference && channel.legs[leg] && channel.legs[leg]->params().conference();
    if (!channel.legs[leg]) continue;
    ++channel.leg_count;
    // The lowest leg reports the line's digits and fax tones; the other acts on them
    // quietly, so that one key press is one DtmfDetected event.
    channel.legs[leg]->set_report_line_events(!reporter_chosen);
    reporter_chosen = true;
  }
  if (!conference) {
    channel.conference.reset();
  } else if (!channel.conference) {
    // Zeroed: the parties' first frame has nothing of the other yet.
    channel.conference = std::make_unique<std::array<std::array<int16_t, 80>, kLegs>>();
  }
}

void MediaEngine::DeleteLeg(Channel& channel, uint32_t leg, v1::DeleteSessionReply& reply) {
  RtpSession& session = *channel.legs[leg];
  session.SendBye();
  io_->Flush();
  session.FillStats(*reply.add_final_stats());
  ClosePorts(session);
  channel.legs[leg].reset();
  UpdateLegRoles(channel);
  log::Info("session deleted", {{"line", channel.line}, {"leg", leg}});
}

Result<v1::DeleteSessionReply> MediaEngine::DeleteSession(uint32_t line, uint32_t leg, bool all_legs) {
  v1::DeleteSessionReply reply;
  if (line == 0) {
    for (Channel& channel : channels_) {
      for (uint32_t l = 0; l < kLegs; ++l) {
        if (channel.legs[l]) DeleteLeg(channel, l, reply);
      }
    }
    return reply;
  }
  Channel* channel = FindChannel(line);
  if (channel == nullptr) return Error{"line " + std::to_string(line) + " has no session"};
  if (all_legs) {
    if (channel->leg_count == 0) return Error{"line " + std::to_string(line) + " has no session"};
    for (uint32_t l = 0; l < kLegs; ++l) {
      if (channel->legs[l]) DeleteLeg(*channel, l, reply);
    }
    return reply;
  }
  if (leg >= kLegs || !channel->legs[leg]) {
    return Error{"line " + std::to_string(line) + " has no session on leg " + std::to_string(leg)};
  }
  DeleteLeg(*channel, leg, reply);
  return reply;
}

uint64_t MediaEngine::MissedDeadlines() const {
  uint64_t missed = 0;
  for (const Channel& channel : channels_) {
    if (channel.leg_count == 0 || channel.view >= views_.size() || !views_[channel.view].view) continue;
    if (auto stats = views_[channel.view].view->Stats(channel.channel, tdmbus::Direction::kToLine)) {
      missed += stats->underruns - channel.underruns_at_start;
    }
  }
  return missed;
}

size_t MediaEngine::session_count() const {
  size_t sessions = 0;
  for (const Channel& channel : channels_) sessions += channel.leg_count;
  return sessions;
}

void MediaEngine::ListSessions(v1::ListSessionsReply& reply) const {
  for (const Channel& channel : channels_) {
    for (const auto& leg : channel.legs) {
      if (!leg) continue;
      v1::SessionStats* stats = reply.add_sessions();
      leg->FillStats(*stats);
      // The line's ring: both legs report the same count.
      if (channel.view < views_.size() && views_[channel.view].view) {
        if (auto ring = views_[channel.view].view->Stats(channel.channel, tdmbus::Direction::kToLine)) {
          stats->set_missed_deadlines(ring->underruns - channel.underruns_at_start);
        }
      }
    }
  }
  v1::ShardStats* shard = reply.add_shards();
  shard->set_process(MediaProcessName(shard_));
  shard->set_first_line(lines_.first);
  shard->set_line_count(lines_.count);
  shard->set_ticks(counters_.ticks);
  shard->set_missed_deadlines(MissedDeadlines());
  shard->set_sessions(static_cast<uint32_t>(session_count()));
  shard->set_packet_io(io_->backend_name());
  for (const auto& counter : io_->ListCounters())
    (*shard->mutable_packet_io_counters())[counter.name] = counter.value;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    shard->set_cpu_seconds(cpu_s);
  }
}

Status MediaEngine::PlayTone(const v1::PlayToneRequest& request) {
  Channel* channel = FindChannel(request.line());
  if (channel == nullptr) return Error{"line " + std::to_string(request.line()) + " is not in this shard"};
  if (request.stop() || request.tone() == v1::TONE_KIND_UNSPECIFIED) {
    channel->tone_active = false;
    return Status::Ok();
  }
  auto tone = ToneOf(request.tone());
  if (!tone) return Error{"unknown tone"};
  auto country = dsp::ParseCountry(request.country().empty() ? "US" : request.country());
  if (!country) return Error{"country '" + request.country() + "' has no tone profile (US, UK, DE, FR)"};
  const dsp::CallProgressToneSpec spec = dsp::GetCallProgressTone(*country, *tone);
  channel->tone.Configure(spec.tone, spec.cadence);
  channel->tone_active = true;
  log::Info("tone", {{"line", request.line()},
                     {"tone", dsp::CallProgressToneName(*tone)},
                     {"country", dsp::CountryName(*country)}});
  return Status::Ok();
}

Status MediaEngine::SendCallerId(const v1::SendCallerIdRequest& request) {
  Channel* channel = FindChannel(request.line());
  if (channel == nullptr) return Error{"line " + std::to_string(request.line()) + " is not in this shard"};
  dsp::CallerIdInfo info;
  if (!info.number.Assign(request.caller_id().number())) return Error{"caller ID number is too long"};
  if (!info.name.Assign(request.caller_id().name())) return Error{"caller ID name is too long"};
  if (request.caller_id().number().empty()) info.number_absence = dsp::CallerIdAbsence::kUnavailable;
  dsp::CallerIdStandard standard = dsp::CallerIdStandard::kBell202;
  switch (request.caller_id().standard()) {
    case ::linegate::tdm::v1::CALLER_ID_STANDARD_V23:
      standard = dsp::CallerIdStandard::kV23;
      break;
    case ::linegate::tdm::v1::CALLER_ID_STANDARD_DTMF:
      standard = dsp::CallerIdStandard::kDtmf;
      break;
    default:
      break;
  }
  if (request.off_hook()) {
    if (standard == dsp::CallerIdStandard::kDtmf) return Error{"type 2 (off-hook) caller ID is FSK only"};
    // Off-hook the phone is listening already: no channel seizure, a short mark signal.
    dsp::CallerIdGeneratorConfig type2;
    type2.seizure_bits = 0;
    type2.mark_bits = kType2MarkBits;
    channel->caller_id.set_config(type2);
  } else {
    channel->caller_id.set_config(dsp::CallerIdGeneratorConfig{});
  }
  if (!channel->caller_id.Start(info, dsp::CallerIdFormat::kMdmf, standard)) {
    return Error{"caller ID cannot be sent in " + std::string(dsp::CallerIdStandardName(standard)) +
                 " (number digits only for DTMF)"};
  }
  channel->caller_id_pending = true;
  channel->caller_id_active = false;
  channel->type2 = Type2Phase::kIdle;
  channel->caller_id_due = clock_->Now() + std::chrono::milliseconds(request.delay_ms());
  log::Info("caller ID queued", {{"line", request.line()},
                                 {"standard", dsp::CallerIdStandardName(standard)},
                                 {"off_hook", request.off_hook()},
                                 {"delay_ms", request.delay_ms()}});
  if (request.off_hook()) {
    channel->caller_id_pending = false;
    channel->cas.Configure(dsp::ToneSpec::Dual(2130.0f, kCasLevelDbm0, 2750.0f, kCasLevelDbm0));
    channel->type2 = Type2Phase::kAlert;
    // delay_ms counts towards the alert, as it does towards an on-hook burst.
    channel->type2_remaining = kCasSamples + request.delay_ms() * 8;
    if (!channel->digit_detector) channel->digit_detector = std::make_unique<dsp::DtmfDetector>();
  }
  return Status::Ok();
}

Status MediaEngine::SendDigits(const v1::SendDigitsRequest& request) {
  Channel* channel = FindChannel(request.line());
  if (channel == nullptr) return Error{"line " + std::to_string(request.line()) + " is not in this shard"};
  if (request.digits().empty()) return Error{"no digits to send"};
  if (request.on_ms() > 1000 || request.off_ms() > 1000) return Error{"on_ms and off_ms are at most 1000"};
  dsp::DtmfGeneratorConfig dtmf;
  if (request.on_ms() != 0) dtmf.on_ms = static_cast<uint16_t>(request.on_ms());
  if (request.off_ms() != 0) dtmf.off_ms = static_cast<uint16_t>(request.off_ms());
  channel->digits.Clear();
  channel->digits.set_config(dtmf);
  if (!channel->digits.Queue(request.digits())) {
    channel->digits_active = false;
    return Error{"digits must be 0-9 * # A-D or ',' (pause), at most " +
                 std::to_string(dsp::DtmfGenerator::kCapacity)};
  }
  // The digits replace a tone for good: the exchange must not hear dial tone after them.
  channel->tone_active = false;
  channel->digits_active = true;
  log::Info("sending digits", {{"line", request.line()}, {"digits", request.digits()}});
  return Status::Ok();
}

Status MediaEngine::SetDigitDetection(uint32_t line, bool enable) {
  Channel* channel = FindChannel(line);
  if (channel == nullptr) return Error{"line " + std::to_string(line) + " is not in this shard"};
  if (enable && channel->leg_count > 0) {
    return Error{"line " + std::to_string(line) + " has a session: its session reports the digits"};
  }
  if (enable && !channel->digit_detector) channel->digit_detector = std::make_unique<dsp::DtmfDetector>();
  if (enable && !channel->digit_detection) {
    channel->digit_detector->Reset();
  }
  channel->digit_detection = enable;
  log::Info("digit detection", {{"line", line}, {"enable", enable}});
  return Status::Ok();
}

void MediaEngine::ReceivePackets(TimePoint now) {
  // Bounded: at most 16 bursts per poll, so a flood cannot starve the TDM frames.
  for (int round = 0; round < 16; ++round) {
    const size_t n = io_->Receive(burst_);
    for (size_t i = 0; i < n; ++i) {
      const packetio::Packet& packet = burst_[i];
      ++counters_.packets_in;
      const uint32_t index =
          packet.flow < flow_to_channel_.size() ? flow_to_channel_[packet.flow] : kNoChannel;
      RtpSession* leg = index == kNoChannel ? nullptr : channels_[index / kLegs].legs[index % kLegs].get();
      if (leg == nullptr) {
        ++counters_.packets_unknown_flow;
        continue;
      }
      RtpSession& session = *leg;
      if (packet.flow == session.rtp_flow()) {
        session.OnRtpPacket(packet, now);
      } else {
        session.OnRtcpPacket(packet, now);
      }
    }
    if (n < burst_.size()) break;
  }
}

void MediaEngine::ProcessChannelFrame(Channel& channel, uint64_t sample_clock, TimePoint now) {
  // From the line.
  uint64_t sequence = 0;
  const std::byte* from = channel.from_line->BeginRead(&sequence);
  const bool from_valid = from != nullptr;
  if (from_valid) {
    std::memcpy(from_frame_.data(), from, frame_samples_ * sizeof(int16_t));
    channel.from_line->EndRead();
  }
  // One detector serves the acknowledgement and dialled digits, never both in a frame.
  const bool awaiting_ack = channel.type2 == Type2Phase::kAwaitAck;
  if (awaiting_ack && from_valid) DetectLineDigits(channel, true);
  if (channel.type2 != Type2Phase::kIdle && channel.leg_count > 0) {
    // Type 2 under way: the parties hear nothing from the line (the acknowledgement
    // digit must not reach them, as audio, telephone-event or DtmfDetected).
    std::fill(from_frame_.begin(), from_frame_.end(), int16_t{0});
  }
  std::span<int16_t> out(to_frame_);
  if (channel.leg_count > 0 && from_valid && channel.busy_detector &&
      channel.busy_detector->Process(from_frame_)) {
    events_->OnBusyTone(
        channel.line, channel.busy_detector->tone() == dsp::CallProgressTone::kBusy ? "busy" : "congestion");
  }
  if (channel.leg_count > 0) {
    ProcessLegs(channel, sample_clock, now, from_valid, out);
  } else {
    if (from_valid) {
      if (channel.fxo) {
        // An idle exchange line: listen for the caller ID it sends around the first ring.
        if (channel.fsk_receiver->Process(from_frame_) && channel.fsk_receiver->result().accepted()) {
          events_->OnCallerId(channel.line, channel.fsk_receiver->result());
        }
        if (channel.dtmf_receiver->Process(from_frame_) && channel.dtmf_receiver->result().accepted()) {
          events_->OnCallerId(channel.line, channel.dtmf_receiver->result());
        }
      }
      if (channel.digit_detection && !awaiting_ack) DetectLineDigits(channel, false);
    }
    std::fill(out.begin(), out.end(), int16_t{0});
  }
  // Then what plays over the sessions' audio.
  if (channel.digits_active) {
    channel.digits.Generate(out);
    if (channel.digits.finished()) {
      channel.digits_active = false;
      events_->OnDigitsSent(channel.line);
    }
  } else if (channel.tone_active) {
    channel.tone.Generate(out);
  }
  if (channel.caller_id_pending && now >= channel.caller_id_due) {
    channel.caller_id_pending = false;
    channel.caller_id_active = true;
  }
  if (channel.type2 != Type2Phase::kIdle) {
    GenerateType2(channel, out);
  } else if (channel.caller_id_active) {
    channel.caller_id.Generate(out);
    if (channel.caller_id.done()) channel.caller_id_active = false;
  }
  std::byte* slot = channel.to_line->BeginWrite();
  if (slot != nullptr) {
    std::memcpy(slot, out.data(), frame_samples_ * sizeof(int16_t));
    channel.to_line->CommitWrite();
  }
}

void MediaEngine::ProcessLegs(Channel& channel, uint64_t sample_clock, TimePoint now, bool from_valid,
                              std::span<int16_t> out) {
  RtpSession* const first = channel.legs[0].get();
  RtpSession* const second = channel.legs[1].get();
  if (channel.leg_count == 1) {
    // One leg (either): exactly the single-session path.
    RtpSession& session = first != nullptr ? *first : *second;
    if (from_valid) session.FromLine(from_frame_, sample_clock, now);
    session.ToLine(out);
    return;
  }
  // Two legs. In a conference each leg also sends the other's party, as played out in
  // the previous frame (the line's frame of this tick is not mixed yet when the legs
  // send; 10 ms more delay on the party-to-party path, none on the line's).
  auto* const conference = channel.conference.get();
  const std::span<const int16_t> frame(from_frame_);
  if (from_valid) {
    first->FromLine(frame, sample_clock, now,
                    conference != nullptr ? std::span<const int16_t>((*conference)[1].data(), frame_samples_)
                                          : std::span<const int16_t>());
    second->FromLine(frame, sample_clock, now,
                     conference != nullptr ? std::span<const int16_t>((*conference)[0].data(), frame_samples_)
                                           : std::span<const int16_t>());
  }
  // The line hears both: a leg that does not receive plays silence (RtpSession::ToLine).
  first->ToLine(out);
  std::span<int16_t> other(leg_frame_);
  second->ToLine(other);
  if (conference != nullptr) {
    std::copy(out.begin(), out.end(), (*conference)[0].begin());
    std::copy(other.begin(), other.end(), (*conference)[1].begin());
  }
  for (uint32_t i = 0; i < frame_samples_; ++i) out[i] = Saturate(int32_t{out[i]} + int32_t{other[i]});
  // What the line was sent is what comes back as echo.
  first->SetEchoReference(out);
  second->SetEchoReference(out);
}

void MediaEngine::DetectLineDigits(Channel& channel, bool type2_ack) {
  std::array<dsp::DtmfEvent, 4> detected;
  const size_t n = channel.digit_detector->Process(from_frame_, detected);
  for (size_t i = 0; i < n; ++i) {
    const dsp::DtmfEvent& event = detected[i];
    if (type2_ack) {
      // GR-30: 'A' (Bell 202 phones) or 'D' (ETSI and some others). The data follows
      // once the acknowledgement has ended.
      if (event.digit != 'A' && event.digit != 'D') continue;
      if (event.type == dsp::DtmfEventType::kStart) {
        // Heard in time: now it has to end (within kAckMaxSamples).
        channel.type2_remaining = kAckMaxSamples;
      } else {
        channel.type2 = Type2Phase::kData;
        channel.caller_id_active = true;
      }
      continue;
    }
    if (event.type == dsp::DtmfEventType::kStart) {
      channel.digit_start_sample = event.sample;
    } else {
      const uint64_t samples = event.sample - std::min(event.sample, channel.digit_start_sample);
      events_->OnDtmf(channel.line, event.digit, static_cast<uint32_t>(samples / 8), false);
    }
  }
}

void MediaEngine::GenerateType2(Channel& channel, std::span<int16_t> out) {
  const uint32_t frame = static_cast<uint32_t>(out.size());
  switch (channel.type2) {
    case Type2Phase::kIdle:
      return;
    case Type2Phase::kAlert: {
      // The party's audio is muted from the alert to the end of the data (GR-30); during
      // the request's delay before the alert it still plays.
      const uint32_t delay =
          channel.type2_remaining > kCasSamples ? channel.type2_remaining - kCasSamples : 0;
      if (delay >= frame) {
        channel.type2_remaining -= frame;
        return;
      }
      std::fill(out.begin(), out.end(), int16_t{0});
      const uint32_t alert = std::min(frame - delay, channel.type2_remaining - delay);
      channel.cas.Generate(out.subspan(delay, alert));
      channel.type2_remaining -= std::min(channel.type2_remaining, frame);
      if (channel.type2_remaining > 0) return;
      if (config_.tdm().driver() == config::v1::TDM_DRIVER_SIM) {
        // The simulated phone does not acknowledge: it decodes whatever follows.
        channel.type2 = Type2Phase::kData;
        channel.caller_id_active = true;
      } else {
        channel.type2 = Type2Phase::kAwaitAck;
        channel.type2_remaining = kAckWindowSamples;
        channel.digit_detector->Reset();
      }
      return;
    }
    case Type2Phase::kAwaitAck:
      std::fill(out.begin(), out.end(), int16_t{0});
      channel.type2_remaining -= std::min(channel.type2_remaining, frame);
      if (channel.type2_remaining == 0) {
        // No acknowledgement: the phone has no type 2 display (or was not listening);
        // sending the data now would only be noise in the user's ear.
        log::Info("type 2 caller ID not acknowledged; not sent", {{"line", channel.line}});
        channel.caller_id.Stop();
        channel.type2 = Type2Phase::kIdle;
        if (!channel.digit_detection && channel.digit_detector) channel.digit_detector->Reset();
      }
      return;
    case Type2Phase::kData:
      channel.caller_id.Generate(out);
      if (channel.caller_id.done()) {
        channel.caller_id_active = false;
        channel.type2 = Type2Phase::kIdle;
      }
      return;
  }
}

void MediaEngine::ProcessFrames(TimePoint now) {
  for (size_t index = 0; index < views_.size(); ++index) {
    CardView& view = views_[index];
    if (!view.view) continue;
    if (view.view->CheckWriter() == tdmbus::WriterChange::kRetired) {
      // The tdm replaced the region (other geometry): attach again.
      log::Warn("TDM bus region retired; attaching again", {{"region", view.region_name}});
      view.view.reset();
      for (Channel& channel : channels_) {
        if (channel.view != index) continue;
        channel.from_line.reset();
        channel.to_line.reset();
      }
      attached_ = false;
      ++counters_.reattachments;
      continue;
    }
    const uint64_t ticks = view.view->frame_counter();
    // Every tick clocked since the last poll, at most a ring's worth (older frames
    // were overwritten; the readers resync by themselves).
    uint64_t due = ticks - view.processed_ticks;
    if (due > view.view->geometry().ring_depth) {
      view.processed_ticks = ticks - view.view->geometry().ring_depth;
      due = view.view->geometry().ring_depth;
    }
    for (uint64_t tick = 0; tick < due; ++tick) {
      const uint64_t sample_clock = (view.processed_ticks + tick) * frame_samples_;
      for (Channel& channel : channels_) {
        if (channel.view != index || !channel.from_line) continue;
        ProcessChannelFrame(channel, sample_clock, now);
        ++counters_.frames;
      }
      ++counters_.ticks;
    }
    view.processed_ticks += due;
  }
}

void MediaEngine::Poll() {
  const TimePoint now = clock_->Now();
  ++counters_.polls;
  if (!attached_) TryAttach(now);
  ReceivePackets(now);
  ProcessFrames(now);
  // RTCP and timeouts have 10 ms resolution at most: a busy-polling loop (DPDK) calls
  // Poll far more often, and this walk over every session would then dominate.
  if (now - last_housekeeping_ >= std::chrono::milliseconds(10)) {
    last_housekeeping_ = now;
    const uint64_t sample_clock = views_.empty() ? 0 : views_[0].processed_ticks * frame_samples_;
    for (Channel& channel : channels_) {
      if (channel.leg_count == 0) continue;
      for (auto& leg : channel.legs) {
        if (leg) leg->Housekeeping(now, sample_clock);
      }
    }
  }
  io_->Flush();
}

}  // namespace linegate::media::engine
