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
  for (Channel& channel : channels_) ClosePorts(channel);
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

void MediaEngine::ClosePorts(Channel& channel) {
  if (!channel.session) return;
  for (packetio::FlowId flow : {channel.session->rtp_flow(), channel.session->rtcp_flow()}) {
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
  if (channel->session) return Error{"line " + std::to_string(params.line()) + " already has a session"};
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
  flow_to_channel_[flows->first] = index;
  flow_to_channel_[flows->second] = index;
  channel->session = std::move(*session);
  v1::SessionParams recorded = params;
  recorded.set_local_port(io_->LocalPort(flows->first));
  channel->session->set_params(recorded);
  if (channel->view < views_.size() && views_[channel->view].view) {
    if (auto stats = views_[channel->view].view->Stats(channel->channel, tdmbus::Direction::kToLine)) {
      channel->underruns_at_start = stats->underruns;
    }
  }
  v1::CreateSessionReply reply;
  reply.set_local_address(config_.media().rtp_address());
  reply.set_local_port(io_->LocalPort(flows->first));
  reply.set_media_process(MediaProcessName(shard_));
  log::Info("session created", {{"line", params.line()},
                                {"local_port", reply.local_port()},
                                {"remote", settings->remote_rtp.ToString()},
                                {"codec", v1::Codec_Name(params.codec())},
                                {"ptime_ms", settings->ptime_ms}});
  return reply;
}

Status MediaEngine::ModifySession(const v1::SessionParams& params) {
  Channel* channel = FindChannel(params.line());
  if (channel == nullptr || !channel->session) {
    return Error{"line " + std::to_string(params.line()) + " has no session"};
  }
  auto settings = ResolveSettings(params, frame_samples_);
  if (!settings) return Error{settings.error()};
  if (Status modified = channel->session->Modify(*settings); !modified) return modified;
  v1::SessionParams recorded = params;
  recorded.set_local_port(io_->LocalPort(channel->session->rtp_flow()));
  channel->session->set_params(recorded);
  log::Info("session modified", {{"line", params.line()}, {"remote", settings->remote_rtp.ToString()}});
  return Status::Ok();
}

Result<v1::DeleteSessionReply> MediaEngine::DeleteSession(uint32_t line) {
  v1::DeleteSessionReply reply;
  bool found = false;
  for (Channel& channel : channels_) {
    if (!channel.session || (line != 0 && channel.line != line)) continue;
    found = true;
    channel.session->SendBye();
    io_->Flush();
    channel.session->FillStats(*reply.add_final_stats());
    ClosePorts(channel);
    channel.session.reset();
    log::Info("session deleted", {{"line", channel.line}});
  }
  if (!found && line != 0) return Error{"line " + std::to_string(line) + " has no session"};
  return reply;
}

uint64_t MediaEngine::MissedDeadlines() const {
  uint64_t missed = 0;
  for (const Channel& channel : channels_) {
    if (!channel.session || channel.view >= views_.size() || !views_[channel.view].view) continue;
    if (auto stats = views_[channel.view].view->Stats(channel.channel, tdmbus::Direction::kToLine)) {
      missed += stats->underruns - channel.underruns_at_start;
    }
  }
  return missed;
}

size_t MediaEngine::session_count() const {
  return static_cast<size_t>(std::count_if(
      channels_.begin(), channels_.end(), [](const Channel& channel) { return channel.session != nullptr; }));
}

void MediaEngine::ListSessions(v1::ListSessionsReply& reply) const {
  for (const Channel& channel : channels_) {
    if (!channel.session) continue;
    v1::SessionStats* stats = reply.add_sessions();
    channel.session->FillStats(*stats);
    if (channel.view < views_.size() && views_[channel.view].view) {
      if (auto ring = views_[channel.view].view->Stats(channel.channel, tdmbus::Direction::kToLine)) {
        stats->set_missed_deadlines(ring->underruns - channel.underruns_at_start);
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
  if (!channel->caller_id.Start(info, dsp::CallerIdFormat::kMdmf, standard)) {
    return Error{"caller ID cannot be sent in " + std::string(dsp::CallerIdStandardName(standard)) +
                 " (number digits only for DTMF)"};
  }
  channel->caller_id_pending = true;
  channel->caller_id_active = false;
  channel->caller_id_due = clock_->Now() + std::chrono::milliseconds(request.delay_ms());
  log::Info("caller ID queued", {{"line", request.line()},
                                 {"standard", dsp::CallerIdStandardName(standard)},
                                 {"delay_ms", request.delay_ms()}});
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
      if (index == kNoChannel || !channels_[index].session) {
        ++counters_.packets_unknown_flow;
        continue;
      }
      RtpSession& session = *channels_[index].session;
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
  if (from != nullptr) {
    std::memcpy(from_frame_.data(), from, frame_samples_ * sizeof(int16_t));
    channel.from_line->EndRead();
    if (channel.session) {
      channel.session->FromLine(from_frame_, sample_clock, now);
    } else if (channel.fxo) {
      // An idle exchange line: listen for the caller ID it sends around the first ring.
      if (channel.fsk_receiver->Process(from_frame_) && channel.fsk_receiver->result().accepted()) {
        events_->OnCallerId(channel.line, channel.fsk_receiver->result());
      }
      if (channel.dtmf_receiver->Process(from_frame_) && channel.dtmf_receiver->result().accepted()) {
        events_->OnCallerId(channel.line, channel.dtmf_receiver->result());
      }
    }
  }
  // To the line: the session's audio, then what plays over it.
  std::span<int16_t> out(to_frame_);
  if (channel.session) {
    channel.session->ToLine(out);
  } else {
    std::fill(out.begin(), out.end(), int16_t{0});
  }
  if (channel.tone_active) channel.tone.Generate(out);
  if (channel.caller_id_pending && now >= channel.caller_id_due) {
    channel.caller_id_pending = false;
    channel.caller_id_active = true;
  }
  if (channel.caller_id_active) {
    channel.caller_id.Generate(out);
    if (channel.caller_id.done()) channel.caller_id_active = false;
  }
  std::byte* slot = channel.to_line->BeginWrite();
  if (slot != nullptr) {
    std::memcpy(slot, out.data(), frame_samples_ * sizeof(int16_t));
    channel.to_line->CommitWrite();
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
      if (channel.session) channel.session->Housekeeping(now, sample_clock);
    }
  }
  io_->Flush();
}

}  // namespace linegate::media::engine
