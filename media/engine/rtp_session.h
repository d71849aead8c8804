#pragma once
// One RTP session on one line: what the media process does per TDM frame and per
// packet for a call. Everything is allocated in Create; the per-frame and per-packet
// calls allocate nothing, lock nothing and make no system call (packets go out through
// the PacketIo's transmit burst, flushed once per engine poll).
//
// Per TDM frame (frame_samples at 8 kHz):
//   from the line:  in-band DTMF detection -> (RFC 4733 mode: digits become
//                   telephone-events and the audio is muted meanwhile) -> G.711 encode ->
//                   an RTP packet every ptime
//   to the line:    jitter buffer (adaptive, PLC) -> RFC 4733 digits received are played
//                   as DTMF tones over it
// Per packet: RTP to the jitter buffer, receive statistics or the telephone-event
// receiver; RTCP to the statistics (RTT, the peer's view of our stream).

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "linegate/media/v1/media.pb.h"
#include "media/codec/codec.h"
#include "media/codec/echo_canceller.h"
#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/fax_tone_detector.h"
#include "media/dsp/oscillator.h"
#include "media/packetio/packet_io.h"
#include "media/rtp/jitter_buffer.h"
#include "media/rtp/receive_stats.h"
#include "media/rtp/rtp_sender.h"
#include "media/rtp/telephone_event.h"

namespace linegate::media::engine {

// A session's settings, checked and resolved from the bus request.
struct SessionSettings {
  uint32_t line = 0;
  packetio::Endpoint remote_rtp;
  packetio::Endpoint remote_rtcp;
  codec::CodecId codec = codec::CodecId::kPcmu;
  // G.711 goes straight into the jitter buffer; other codecs are decoded on arrival
  // and held there as mu-law (see OnRtpPacket).
  rtp::G711Law law = rtp::G711Law::kUlaw;
  uint32_t rtp_clock_hz = 8000;
  uint8_t payload_type = 0;
  uint32_t ptime_ms = 20;
  uint8_t telephone_event_pt = 101;
  bool rfc4733 = true;
  bool send = true;
  bool receive = true;
  uint32_t rtp_timeout_ms = 0;
  uint32_t echo_tail_ms = 64;  // 0: no echo canceller
};

// Checks a request against the frame size; messages name the field.
Result<SessionSettings> ResolveSettings(const v1::SessionParams& params, uint32_t frame_samples);

// What a session reports upwards (DTMF, timeouts), collected by the engine.
class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  virtual void OnDtmf(uint32_t line, char digit, uint32_t duration_ms, bool from_rtp) = 0;
  virtual void OnRtpTimeout(uint32_t line, uint32_t silent_ms) = 0;
  virtual void OnFaxTone(uint32_t line, const char* tone) = 0;
  // Caller ID decoded on an FXO line (the engine's, not a session's).
  virtual void OnCallerId(uint32_t line, const dsp::CallerIdResult& result) = 0;
  // The digits of MediaEngine::SendDigits have all been played to the line.
  virtual void OnDigitsSent(uint32_t line) = 0;
  // An FXO line with a session heard the exchange's busy or reorder tone ("busy",
  // "congestion"): the far end has hung up.
  virtual void OnBusyTone(uint32_t line, const char* tone) = 0;
};

class RtpSession {
 public:
  static constexpr uint32_t kRtcpIntervalMs = 5000;

  static Result<std::unique_ptr<RtpSession>> Create(const SessionSettings& settings, uint32_t frame_samples,
                                                    packetio::PacketIo& io, packetio::FlowId rtp_flow,
                                                    packetio::FlowId rtcp_flow, const Clock& clock,
                                                    rtp::RandomSource& random, SessionEvents& events);

  // Applies new settings that keep the ports (remote, direction, payload types, DTMF
  // mode). A codec change restarts the jitter buffer.
  Status Modify(const SessionSettings& settings);

  // Per TDM frame. sample_clock: the frame's position on the TDM clock, in samples.
  // `conference`: audio added to what is sent after the echo canceller and the DTMF
  // detector have seen the line's own audio (a three-way call: the other leg's party);
  // empty for none.
  void FromLine(std::span<const int16_t> frame, uint64_t sample_clock, TimePoint now,
                std::span<const int16_t> conference = {});
  void ToLine(std::span<int16_t> frame);
  // A line with two legs hears their mix: the engine gives each leg's echo canceller
  // that mix as its reference, after ToLine (which sets the leg's own playout).
  void SetEchoReference(std::span<const int16_t> frame);
  // Whether digits and fax tones detected in the line's audio are reported upwards.
  // Both legs of a line detect them (each sends its own telephone-events and switches
  // to pass-through itself), only one reports them.
  void set_report_line_events(bool report) { report_line_events_ = report; }
  // Per received datagram on this session's ports.
  void OnRtpPacket(const packetio::Packet& packet, TimePoint now);
  void OnRtcpPacket(const packetio::Packet& packet, TimePoint now);
  // Once per engine poll: RTCP reports, RTP timeout.
  void Housekeeping(TimePoint now, uint64_t sample_clock);
  // An RTCP BYE, sent when the session is deleted.
  void SendBye();

  void FillStats(v1::SessionStats& stats) const;
  // The request the session runs with (local port filled in), reported with its stats.
  void set_params(const v1::SessionParams& params) { params_ = params; }
  const v1::SessionParams& params() const { return params_; }
  const SessionSettings& settings() const { return settings_; }
  packetio::FlowId rtp_flow() const { return rtp_flow_; }
  packetio::FlowId rtcp_flow() const { return rtcp_flow_; }

 private:
  RtpSession(const SessionSettings& settings, uint32_t frame_samples, packetio::PacketIo& io,
             packetio::FlowId rtp_flow, packetio::FlowId rtcp_flow, const Clock& clock,
             rtp::RandomSource& random, SessionEvents& events, rtp::JitterBuffer jitter_buffer);
  void SendAudio(uint64_t sample_clock, bool marker);
  void SendTelephoneEvent(uint64_t sample_clock);
  void SendRtcp(TimePoint now, uint64_t sample_clock, bool bye);
  void SendEncoded(uint64_t sample_clock, bool marker);
  void CheckFaxTones(std::span<const int16_t> frame, dsp::FaxToneDetector& detector, bool report);
  void EnterPassThrough(const char* tone, bool report);
  Status MakeCodecs();
  void Send(packetio::FlowId flow, const packetio::Endpoint& to, std::span<const uint8_t> bytes);
  uint8_t* TxBuffer();
  void HandleEventNotices();

  SessionSettings settings_;
  v1::SessionParams params_;
  uint32_t frame_samples_;
  uint32_t frames_per_packet_;
  packetio::PacketIo* io_;
  packetio::FlowId rtp_flow_;
  packetio::FlowId rtcp_flow_;
  const Clock* clock_;
  SessionEvents* events_;

  // Sending.
  rtp::RtpSender sender_;
  std::array<uint8_t, codec::kMaxPayloadBytes> payload_{};  // G.711 bytes, or another codec's frame
  std::array<int16_t, 480> pcm_{};                          // up to 60 ms awaiting a non-G.711 encoder
  std::unique_ptr<codec::Encoder> encoder_;                 // non-G.711 only
  std::unique_ptr<codec::Decoder> decoder_;
  std::optional<codec::EchoCanceller> echo_;
  std::array<int16_t, 80> echo_reference_{};  // the last frame sent to the line
  std::array<int16_t, 80> echo_output_{};
  std::array<int16_t, 80> conference_mix_{};  // line audio plus the other leg's party
  bool report_line_events_ = true;
  dsp::FaxToneDetector line_fax_;
  dsp::FaxToneDetector network_fax_;
  bool pass_through_ = false;
  uint32_t payload_samples_ = 0;
  uint64_t payload_clock_ = 0;  // sample clock of the payload's first sample
  bool next_marker_ = true;
  dsp::DtmfDetector dtmf_detector_;
  rtp::TelephoneEventSender event_sender_;
  // The detector counts samples from its first frame; dtmf_base_ maps them to the clock.
  uint64_t dtmf_base_ = 0;
  bool dtmf_base_unset_ = true;
  uint64_t dtmf_start_ = 0;
  uint64_t last_sample_clock_ = 0;
  std::string cname_;
  uint64_t packets_sent_ = 0;
  uint64_t dtmf_sent_ = 0;

  // Receiving.
  rtp::JitterBuffer jitter_buffer_;
  rtp::ReceiveStatistics receive_stats_;
  rtp::TelephoneEventReceiver event_receiver_;
  dsp::ToneGenerator dtmf_player_;
  bool dtmf_playing_ = false;
  uint64_t packets_received_ = 0;
  uint64_t unknown_payload_packets_ = 0;
  uint64_t malformed_packets_ = 0;
  uint64_t rtcp_received_ = 0;
  uint64_t rtcp_sent_ = 0;
  uint64_t dtmf_received_ = 0;
  TimePoint last_receive_{};
  bool timeout_reported_ = false;
  TimePoint created_{};

  // RTCP.
  TimePoint next_rtcp_{};
  std::optional<Duration> rtt_;
  std::optional<rtp::ReportBlock> remote_report_;
};

}  // namespace linegate::media::engine
