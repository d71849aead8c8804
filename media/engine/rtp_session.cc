#include "media/engine/rtp_session.h"

#include <algorithm>

#include "common/log.h"
#include "media/dsp/dtmf.h"
#include "media/dsp/g711.h"
#include "media/rtp/ntp_time.h"
#include "media/rtp/rtcp.h"
#include "media/rtp/rtp_header.h"

namespace linegate::media::engine {
namespace {

// The dynamic payload type most peers offer Opus on, when the request names none.
constexpr uint8_t kOpusDefaultPayloadType = 111;

uint32_t SamplesToMs(uint64_t samples) { return static_cast<uint32_t>(samples / 8); }

}  // namespace

Result<SessionSettings> ResolveSettings(const v1::SessionParams& params, uint32_t frame_samples) {
  SessionSettings settings;
  settings.line = params.line();
  if (params.remote_port() == 0 || params.remote_port() > 65534) {
    return Error{"remote_port must be 1..65534 (RTCP goes to the port above)"};
  }
  auto remote =
      packetio::Endpoint::Parse(params.remote_address(), static_cast<uint16_t>(params.remote_port()));
  if (!remote) return Error{"remote_address: " + remote.error()};
  settings.remote_rtp = *remote;
  settings.remote_rtcp = *remote;
  settings.remote_rtcp.port = static_cast<uint16_t>(params.remote_port() + 1);
  switch (params.codec()) {
    case v1::CODEC_UNSPECIFIED:
    case v1::CODEC_PCMU:
      settings.codec = codec::CodecId::kPcmu;
      settings.law = rtp::G711Law::kUlaw;
      break;
    case v1::CODEC_PCMA:
      settings.codec = codec::CodecId::kPcma;
      settings.law = rtp::G711Law::kAlaw;
      break;
    case v1::CODEC_G722:
      settings.codec = codec::CodecId::kG722;
      break;
    case v1::CODEC_G729:
      settings.codec = codec::CodecId::kG729;
      break;
    case v1::CODEC_OPUS:
      settings.codec = codec::CodecId::kOpus;
      break;
    default:
      return Error{"codec " + std::to_string(params.codec()) + " is not supported"};
  }
  const codec::CodecInfo& info = codec::GetCodecInfo(settings.codec);
  settings.rtp_clock_hz = info.rtp_clock_rate_hz;
  settings.payload_type = info.static_payload_type.value_or(kOpusDefaultPayloadType);
  if (params.payload_type() != 0) {
    if (params.payload_type() > 127) return Error{"payload_type must be 0..127"};
    settings.payload_type = static_cast<uint8_t>(params.payload_type());
  }
  settings.ptime_ms = params.ptime_ms() == 0 ? 20 : params.ptime_ms();
  const uint32_t frame_ms = frame_samples / 8;
  if (settings.ptime_ms > 60 || settings.ptime_ms % frame_ms != 0) {
    return Error{"ptime_ms " + std::to_string(settings.ptime_ms) + " must be a multiple of the TDM frame (" +
                 std::to_string(frame_ms) + " ms) and at most 60"};
  }
  if (!codec::IsValidFrameSize(info, settings.ptime_ms * 8)) {
    return Error{"ptime_ms " + std::to_string(settings.ptime_ms) + " is not a frame size of " +
                 std::string(info.rtpmap_name)};
  }
  const uint32_t te = params.telephone_event_pt() == 0 ? 101 : params.telephone_event_pt();
  if (te < 96 || te > 127) return Error{"telephone_event_pt must be a dynamic type, 96..127"};
  if (te == settings.payload_type) return Error{"telephone_event_pt equals the audio payload type"};
  settings.telephone_event_pt = static_cast<uint8_t>(te);
  settings.rfc4733 = params.dtmf_mode() != v1::DTMF_MODE_INBAND;
  if (settings.rtp_clock_hz != 8000) {
    // Telephone-events share the audio's timestamp clock: with Opus that would be
    // telephone-event/48000, which this gateway does not send.
    if (params.dtmf_mode() == v1::DTMF_MODE_RFC4733) {
      return Error{"dtmf_mode rfc4733 needs an 8 kHz RTP clock; with " + std::string(info.rtpmap_name) +
                   " use inband"};
    }
    settings.rfc4733 = false;
  }
  switch (params.direction()) {
    case v1::DIRECTION_SENDONLY:
      settings.receive = false;
      break;
    case v1::DIRECTION_RECVONLY:
      settings.send = false;
      break;
    case v1::DIRECTION_INACTIVE:
      settings.send = settings.receive = false;
      break;
    default:
      break;
  }
  settings.rtp_timeout_ms = params.rtp_timeout_ms();
  return settings;
}

Result<std::unique_ptr<RtpSession>> RtpSession::Create(const SessionSettings& settings,
                                                       uint32_t frame_samples, packetio::PacketIo& io,
                                                       packetio::FlowId rtp_flow, packetio::FlowId rtcp_flow,
                                                       const Clock& clock, rtp::RandomSource& random,
                                                       SessionEvents& events) {
  rtp::JitterBufferConfig jb;
  jb.law = settings.law;
  jb.frame_samples = frame_samples;
  auto jitter_buffer = rtp::JitterBuffer::Create(jb, clock);
  if (!jitter_buffer) return Error{"jitter buffer: " + jitter_buffer.error()};
  std::unique_ptr<RtpSession> session(new RtpSession(settings, frame_samples, io, rtp_flow, rtcp_flow, clock,
                                                     random, events, std::move(*jitter_buffer)));
  rtp::TelephoneEventSenderConfig te;
  te.payload_type = settings.telephone_event_pt;
  te.update_interval_samples = settings.ptime_ms * 8;
  auto sender = rtp::TelephoneEventSender::Create(te);
  if (!sender) return Error{"telephone-event sender: " + sender.error()};
  session->event_sender_ = std::move(*sender);
  if (Status made = session->MakeCodecs(); !made) return Error{made.error()};
  if (settings.echo_tail_ms > 0) {
    auto echo = codec::EchoCanceller::Create(
        {.tail_ms = static_cast<int>(settings.echo_tail_ms), .frame_samples = frame_samples});
    if (!echo) return Error{"echo canceller: " + echo.error()};
    session->echo_.emplace(std::move(*echo));
  }
  return session;
}

Status RtpSession::MakeCodecs() {
  encoder_.reset();
  decoder_.reset();
  if (settings_.codec == codec::CodecId::kPcmu || settings_.codec == codec::CodecId::kPcma)
    return Status::Ok();
  auto encoder = codec::MakeEncoder(settings_.codec);
  if (!encoder) return Error{"encoder: " + encoder.error()};
  auto decoder = codec::MakeDecoder(settings_.codec);
  if (!decoder) return Error{"decoder: " + decoder.error()};
  encoder_ = std::move(*encoder);
  decoder_ = std::move(*decoder);
  return Status::Ok();
}

RtpSession::RtpSession(const SessionSettings& settings, uint32_t frame_samples, packetio::PacketIo& io,
                       packetio::FlowId rtp_flow, packetio::FlowId rtcp_flow, const Clock& clock,
                       rtp::RandomSource& random, SessionEvents& events, rtp::JitterBuffer jitter_buffer)
    : settings_(settings),
      frame_samples_(frame_samples),
      frames_per_packet_(settings.ptime_ms * 8 / frame_samples),
      io_(&io),
      rtp_flow_(rtp_flow),
      rtcp_flow_(rtcp_flow),
      clock_(&clock),
      events_(&events),
      sender_(rtp::RtpSenderConfig{settings.payload_type}, random),
      event_sender_(*rtp::TelephoneEventSender::Create({})),
      jitter_buffer_(std::move(jitter_buffer)),
      receive_stats_(settings.rtp_clock_hz) {
  cname_ = "linegate-line" + std::to_string(settings.line);
  created_ = clock.Now();
  last_receive_ = created_;
  // The first report goes out soon (the peer learns our SSRC and CNAME), then every
  // interval, spread by line so that sessions created together do not report together.
  next_rtcp_ = created_ + std::chrono::milliseconds(500 + (settings.line * 37) % 1000);
}

Status RtpSession::Modify(const SessionSettings& settings) {
  const bool codec_changed = settings.codec != settings_.codec;
  if (codec_changed) {
    rtp::JitterBufferConfig jb = jitter_buffer_.config();
    jb.law = settings.law;
    auto jitter_buffer = rtp::JitterBuffer::Create(jb, *clock_);
    if (!jitter_buffer) return Error{"jitter buffer: " + jitter_buffer.error()};
    jitter_buffer_ = std::move(*jitter_buffer);
  }
  if (settings.ptime_ms != settings_.ptime_ms ||
      settings.telephone_event_pt != settings_.telephone_event_pt) {
    rtp::TelephoneEventSenderConfig te;
    te.payload_type = settings.telephone_event_pt;
    te.update_interval_samples = settings.ptime_ms * 8;
    auto sender = rtp::TelephoneEventSender::Create(te);
    if (!sender) return Error{"telephone-event sender: " + sender.error()};
    event_sender_ = std::move(*sender);
  }
  // The audio payload type lives in the RTP sender; keep its SSRC and sequence.
  const uint32_t echo_tail_ms = settings_.echo_tail_ms;  // fixed at creation
  settings_ = settings;
  settings_.echo_tail_ms = echo_tail_ms;
  if (codec_changed) {
    if (Status made = MakeCodecs(); !made) return made;
    receive_stats_ = rtp::ReceiveStatistics(settings.rtp_clock_hz);
  }
  frames_per_packet_ = settings.ptime_ms * 8 / frame_samples_;
  payload_samples_ = 0;
  next_marker_ = true;
  timeout_reported_ = false;
  last_receive_ = clock_->Now();
  return Status::Ok();
}

uint8_t* RtpSession::TxBuffer() {
  uint8_t* buffer = io_->AllocateTx();
  if (buffer != nullptr) return buffer;
  // The burst is full: send what is queued and carry on (rare: more packets in one poll
  // than the transmit burst holds). nullptr only if the backend has no buffer at all.
  io_->Flush();
  return io_->AllocateTx();
}

void RtpSession::Send(packetio::FlowId flow, const packetio::Endpoint& to, std::span<const uint8_t> bytes) {
  uint8_t* buffer = TxBuffer();
  if (buffer == nullptr) return;
  std::copy(bytes.begin(), bytes.end(), buffer);
  io_->QueueTx(packetio::Packet{buffer, static_cast<uint32_t>(bytes.size()), flow, to});
}

void RtpSession::SendAudio(uint64_t sample_clock, bool marker) {
  uint8_t* buffer = TxBuffer();
  if (buffer == nullptr) return;
  // Built in place in the transmit buffer: header and payload, no intermediate copy.
  const size_t length =
      sender_.BuildPacket(sample_clock, std::span<const uint8_t>(payload_.data(), payload_samples_), marker,
                          std::span<uint8_t>(buffer, packetio::PacketIo::kBufferSize));
  if (length == 0) return;
  io_->QueueTx(packetio::Packet{buffer, static_cast<uint32_t>(length), rtp_flow_, settings_.remote_rtp});
  ++packets_sent_;
}

void RtpSession::FromLine(std::span<const int16_t> line_frame, uint64_t sample_clock, TimePoint,
                          std::span<const int16_t> conference) {
  last_sample_clock_ = sample_clock;
  std::span<const int16_t> frame = line_frame;
  if (echo_ && echo_->enabled() && line_frame.size() == echo_output_.size()) {
    // What came back from the line minus the echo of what we sent it.
    echo_->Process(echo_reference_, line_frame, echo_output_);
    frame = echo_output_;
  }
  if (!pass_through_) CheckFaxTones(frame, line_fax_, report_line_events_);
  if (dtmf_base_unset_) {
    dtmf_base_ = sample_clock;
    dtmf_base_unset_ = false;
  }
  std::array<dsp::DtmfEvent, 4> detected;
  const size_t n = dtmf_detector_.Process(frame, detected);
  for (size_t i = 0; i < n; ++i) {
    const dsp::DtmfEvent& event = detected[i];
    const uint64_t at = dtmf_base_ + event.sample;
    if (event.type == dsp::DtmfEventType::kStart) {
      dtmf_start_ = at;
      if (settings_.rfc4733 && settings_.send) {
        if (auto code = rtp::TelephoneEventForDigit(event.digit))
          event_sender_.KeyDown(*code, std::min(at, sample_clock));
      }
    } else {
      if (settings_.rfc4733 && settings_.send) event_sender_.KeyUp(std::min(at, sample_clock + frame.size()));
      ++dtmf_sent_;
      if (report_line_events_) {
        events_->OnDtmf(settings_.line, event.digit, SamplesToMs(at - std::min(at, dtmf_start_)), false);
      }
    }
  }
  if (!settings_.send) return;
  if (!conference.empty() && conference.size() == frame.size() && frame.size() <= conference_mix_.size()) {
    for (size_t i = 0; i < frame.size(); ++i) {
      const int32_t sum = int32_t{frame[i]} + int32_t{conference[i]};
      conference_mix_[i] = static_cast<int16_t>(std::clamp<int32_t>(sum, -32768, 32767));
    }
    frame = std::span<const int16_t>(conference_mix_.data(), frame.size());
  }

  if (payload_samples_ == 0) payload_clock_ = sample_clock;
  if (encoder_) {
    std::copy(frame.begin(), frame.end(), pcm_.begin() + payload_samples_);
  } else {
    std::span<uint8_t> into(payload_.data() + payload_samples_, frame.size());
    if (settings_.law == rtp::G711Law::kUlaw) {
      dsp::EncodeUlaw(frame, into);
    } else {
      dsp::EncodeAlaw(frame, into);
    }
  }
  payload_samples_ += static_cast<uint32_t>(frame.size());
  const uint64_t frame_end = sample_clock + frame.size();

  // Telephone-events go out at their own pace (the packet time) while a digit lasts;
  // the audio of those packet times is muted (RFC 4733 2.5.1).
  std::array<uint8_t, rtp::TelephoneEventSender::kPacketSize> event_packet;
  while (size_t length = event_sender_.BuildNextPacket(frame_end, sender_, event_packet)) {
    Send(rtp_flow_, settings_.remote_rtp, std::span<const uint8_t>(event_packet.data(), length));
    ++packets_sent_;
  }
  if (payload_samples_ < frames_per_packet_ * frame_samples_) return;
  if (event_sender_.sending()) {
    next_marker_ = true;  // audio resumes with a new talk spurt
  } else if (encoder_) {
    SendEncoded(payload_clock_, next_marker_);
    next_marker_ = false;
  } else {
    SendAudio(payload_clock_, next_marker_);
    next_marker_ = false;
  }
  payload_samples_ = 0;
}

void RtpSession::SendEncoded(uint64_t sample_clock, bool marker) {
  const size_t bytes = encoder_->Encode(std::span<const int16_t>(pcm_.data(), payload_samples_), payload_);
  if (bytes == 0) return;  // nothing to send (silence suppression) or refused (counted by the codec)
  uint8_t* buffer = TxBuffer();
  if (buffer == nullptr) return;
  // The RTP clock of the codec (48 kHz for Opus) runs at a whole multiple of the TDM's.
  const uint64_t rtp_clock = sample_clock * (settings_.rtp_clock_hz / 8000);
  const size_t length = sender_.BuildNonAudioPacket(
      settings_.payload_type, rtp_clock, marker, std::span<const uint8_t>(payload_.data(), bytes),
      std::span<uint8_t>(buffer, packetio::PacketIo::kBufferSize));
  if (length == 0) return;
  io_->QueueTx(packetio::Packet{buffer, static_cast<uint32_t>(length), rtp_flow_, settings_.remote_rtp});
  ++packets_sent_;
}

void RtpSession::CheckFaxTones(std::span<const int16_t> frame, dsp::FaxToneDetector& detector, bool report) {
  std::array<dsp::FaxToneEvent, 2> found;
  const size_t n = detector.Process(frame, found);
  for (size_t i = 0; i < n; ++i)
    EnterPassThrough(found[i].tone == dsp::FaxTone::kCed ? "CED" : "CNG", report);
}

void RtpSession::EnterPassThrough(const char* tone, bool report) {
  if (pass_through_) return;
  pass_through_ = true;
  // A fax or modem needs the signal as it is: no echo canceller (it would treat the
  // modem's own echo as the line's), and a fixed jitter buffer (time stretching and
  // concealment corrupt modulated data).
  if (echo_) echo_->Disable();
  rtp::JitterBufferConfig jb = jitter_buffer_.config();
  jb.mode = rtp::JitterBufferMode::kFixed;
  if (auto fixed = rtp::JitterBuffer::Create(jb, *clock_)) jitter_buffer_ = std::move(*fixed);
  if (encoder_) {
    log::Warn("fax tone on a compressed codec: pass-through needs G.711 (a re-INVITE by call control)",
              {{"line", settings_.line}, {"codec", codec::GetCodecInfo(settings_.codec).rtpmap_name}});
  }
  if (report) events_->OnFaxTone(settings_.line, tone);
}

void RtpSession::ToLine(std::span<int16_t> frame) {
  if (!settings_.receive) {
    std::fill(frame.begin(), frame.end(), int16_t{0});
    return;
  }
  jitter_buffer_.Get(frame);
  if (!pass_through_) CheckFaxTones(frame, network_fax_, true);
  if (dtmf_playing_) dtmf_player_.Generate(frame);
  if (frame.size() == echo_reference_.size()) std::copy(frame.begin(), frame.end(), echo_reference_.begin());
}

void RtpSession::SetEchoReference(std::span<const int16_t> frame) {
  if (frame.size() == echo_reference_.size()) std::copy(frame.begin(), frame.end(), echo_reference_.begin());
}

void RtpSession::HandleEventNotices() {
  while (auto notice = event_receiver_.PopNotice()) {
    if (notice->edge == rtp::TelephoneEventEdge::kBegin) {
      if (auto tones = dsp::DtmfDigitFrequencies(notice->digit)) {
        // Played at the level a keypad sends (-9/-7 dBm0) whatever volume the peer
        // reported: the line's detector expects a keypad.
        dtmf_player_.Configure(dsp::ToneSpec::Dual(tones->low_hz, -9.0f, tones->high_hz, -7.0f));
        dtmf_playing_ = true;
      }
    } else {
      dtmf_playing_ = false;
      ++dtmf_received_;
      events_->OnDtmf(settings_.line, notice->digit, notice->duration_ms, true);
    }
  }
}

void RtpSession::OnRtpPacket(const packetio::Packet& packet, TimePoint now) {
  rtp::RtpHeaderView view;
  if (rtp::ParseRtpHeader(std::span<const uint8_t>(packet.data, packet.length), view) !=
      rtp::RtpParseStatus::kOk) {
    ++malformed_packets_;
    return;
  }
  last_receive_ = now;
  timeout_reported_ = false;
  ++packets_received_;
  if (view.payload_type == settings_.telephone_event_pt) {
    receive_stats_.OnPacket(view.ssrc, view.sequence, view.timestamp, now);
    if (settings_.receive) {
      event_receiver_.OnPacket(view, now);
      HandleEventNotices();
    }
    return;
  }
  if (view.payload_type != settings_.payload_type) {
    ++unknown_payload_packets_;
    return;
  }
  receive_stats_.OnPacket(view.ssrc, view.sequence, view.timestamp, now);
  if (!settings_.receive) return;
  if (!decoder_) {
    jitter_buffer_.Insert(view);
    return;
  }
  // Other codecs are decoded on arrival and buffered as mu-law on the 8 kHz clock, so
  // that one jitter buffer and its G.711 concealment serve every codec. Costs: a mu-law
  // quantisation (~38 dB SNR) and, for a reordered packet, a decoder fed out of order.
  std::array<int16_t, codec::kMaxFrameSamples> pcm;
  const size_t samples = decoder_->Decode(view.payload, pcm);
  if (samples == 0) {
    ++malformed_packets_;
    return;
  }
  std::array<uint8_t, codec::kMaxFrameSamples> ulaw;
  dsp::EncodeUlaw(std::span<const int16_t>(pcm.data(), samples), std::span<uint8_t>(ulaw.data(), samples));
  const uint32_t timestamp_8k = view.timestamp / (settings_.rtp_clock_hz / 8000);
  jitter_buffer_.Insert(view.ssrc, timestamp_8k, view.marker, std::span<const uint8_t>(ulaw.data(), samples));
}

void RtpSession::OnRtcpPacket(const packetio::Packet& packet, TimePoint now) {
  rtp::RtcpCompound compound;
  if (rtp::ParseRtcp(std::span<const uint8_t>(packet.data, packet.length), compound) !=
      rtp::RtcpParseStatus::kOk) {
    ++malformed_packets_;
    return;
  }
  ++rtcp_received_;
  if (compound.has_sender_report && compound.reporter_ssrc == receive_stats_.ssrc()) {
    receive_stats_.OnSenderReport(compound.sender_info.ntp, now);
  }
  for (const rtp::ReportBlock& block : compound.blocks()) {
    if (block.ssrc != sender_.ssrc()) continue;
    remote_report_ = block;
    const uint32_t arrival = rtp::NtpFromSystemClock(std::chrono::system_clock::now()).Compact();
    if (auto rtt = rtp::RoundTripTime(arrival, block.lsr, block.dlsr)) rtt_ = *rtt;
  }
}

void RtpSession::SendRtcp(TimePoint now, uint64_t sample_clock, bool bye) {
  std::array<uint8_t, 512> buffer;
  rtp::RtcpWriter writer(buffer);
  std::array<rtp::ReportBlock, 1> blocks;
  size_t block_count = 0;
  if (auto block = receive_stats_.MakeReportBlock(now)) blocks[block_count++] = *block;
  if (sender_.has_sent()) {
    rtp::SenderInfo info;
    info.ntp = rtp::NtpFromSystemClock(std::chrono::system_clock::now());
    info.rtp_timestamp = sender_.RtpTimestamp(sample_clock);
    info.packet_count = sender_.packet_count();
    info.octet_count = sender_.octet_count();
    writer.AddSenderReport(sender_.ssrc(), info,
                           std::span<const rtp::ReportBlock>(blocks.data(), block_count));
  } else {
    writer.AddReceiverReport(sender_.ssrc(), std::span<const rtp::ReportBlock>(blocks.data(), block_count));
  }
  writer.AddSdesCname(sender_.ssrc(), cname_);
  if (bye) {
    const uint32_t ssrc = sender_.ssrc();
    writer.AddBye(std::span<const uint32_t>(&ssrc, 1), "session deleted");
  }
  Send(rtcp_flow_, settings_.remote_rtcp, writer.bytes());
  ++rtcp_sent_;
}

void RtpSession::Housekeeping(TimePoint now, uint64_t sample_clock) {
  event_receiver_.Poll(now);
  HandleEventNotices();
  if (now >= next_rtcp_) {
    SendRtcp(now, sample_clock, false);
    next_rtcp_ = now + std::chrono::milliseconds(kRtcpIntervalMs);
  }
  if (settings_.rtp_timeout_ms > 0 && settings_.receive && !timeout_reported_ &&
      now - last_receive_ >= std::chrono::milliseconds(settings_.rtp_timeout_ms)) {
    timeout_reported_ = true;
    events_->OnRtpTimeout(settings_.line, static_cast<uint32_t>(ToMillis(now - last_receive_)));
  }
}

void RtpSession::SendBye() { SendRtcp(clock_->Now(), last_sample_clock_, true); }

void RtpSession::FillStats(v1::SessionStats& stats) const {
  stats.set_line(settings_.line);
  stats.set_leg(params_.leg());
  *stats.mutable_params() = params_;
  stats.set_local_port(io_->LocalPort(rtp_flow_));
  stats.set_packets_sent(packets_sent_);
  stats.set_packets_received(packets_received_);
  stats.set_packets_lost(receive_stats_.valid() ? receive_stats_.cumulative_lost() : 0);
  const uint32_t expected = receive_stats_.valid() ? receive_stats_.expected() : 0;
  stats.set_loss_percent(expected > 0 ? 100.0 * receive_stats_.cumulative_lost() / expected : 0.0);
  stats.set_jitter_ms(receive_stats_.jitter() * 1000.0 / settings_.rtp_clock_hz);
  stats.set_rtt_ms(rtt_ ? std::chrono::duration<double, std::milli>(*rtt_).count() : 0.0);
  const rtp::JitterBufferStats& jb = jitter_buffer_.stats();
  stats.set_frames_concealed(jb.frames_concealed);
  stats.set_frames_silence(jb.frames_silence);
  stats.set_late_packets(jb.late);
  stats.set_duplicate_packets(jb.duplicates);
  stats.set_reordered_packets(receive_stats_.reordered_packets());
  stats.set_jitter_buffer_ms(jitter_buffer_.target_delay_samples() / 8);
  stats.set_dtmf_sent(dtmf_sent_);
  stats.set_dtmf_received(dtmf_received_);
  stats.set_codec(std::string(codec::GetCodecInfo(settings_.codec).rtpmap_name));
  stats.set_fax_pass_through(pass_through_);
  stats.set_echo_canceller(echo_.has_value() && echo_->enabled());
  stats.set_remote(settings_.remote_rtp.ToString());
  if (remote_report_) {
    stats.set_remote_jitter_ms(remote_report_->jitter * 1000 / settings_.rtp_clock_hz);
    stats.set_remote_lost(remote_report_->cumulative_lost);
  }
}

}  // namespace linegate::media::engine
