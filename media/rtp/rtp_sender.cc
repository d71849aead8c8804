#include "media/rtp/rtp_sender.h"

#include <cstring>
#include <random>

namespace linegate::media::rtp {

uint32_t SystemRandomSource::NextUint32() {
  static thread_local std::random_device device;
  return device();
}

RtpSender::RtpSender(const RtpSenderConfig& config, RandomSource& random)
    : random_(&random),
      payload_type_(config.payload_type),
      ssrc_(random.NextUint32()),
      sequence_(static_cast<uint16_t>(random.NextUint32())),
      timestamp_offset_(random.NextUint32()) {}

void RtpSender::ChangeSsrc() {
  const uint32_t old = ssrc_;
  do {
    ssrc_ = random_->NextUint32();
  } while (ssrc_ == old);
  packet_count_ = 0;
  octet_count_ = 0;
}

size_t RtpSender::BuildPacket(uint64_t sample_clock, std::span<const uint8_t> payload, bool talk_spurt_start,
                              std::span<uint8_t> out) {
  const bool gap = sample_clock != next_sample_clock_;
  RtpHeaderFields fields;
  fields.marker = talk_spurt_start || !audio_continues_ || gap;
  fields.payload_type = payload_type_;
  fields.sequence = sequence_;
  fields.timestamp = RtpTimestamp(sample_clock);
  fields.ssrc = ssrc_;
  if (out.size() < kRtpFixedHeaderSize + payload.size()) [[unlikely]] {
    return 0;
  }
  const size_t header = WriteRtpHeader(fields, out);
  if (header == 0) [[unlikely]] {
    return 0;
  }
  if (!payload.empty()) std::memcpy(out.data() + header, payload.data(), payload.size());
  ++sequence_;  // wraps modulo 2^16 (5.1)
  ++packet_count_;
  octet_count_ += static_cast<uint32_t>(payload.size());
  next_sample_clock_ = sample_clock + payload.size();
  has_sent_ = true;
  audio_continues_ = true;
  return header + payload.size();
}

size_t RtpSender::BuildNonAudioPacket(uint8_t payload_type, uint64_t timestamp_sample_clock, bool marker,
                                      std::span<const uint8_t> payload, std::span<uint8_t> out) {
  RtpHeaderFields fields;
  fields.marker = marker;
  fields.payload_type = payload_type;
  fields.sequence = sequence_;
  fields.timestamp = RtpTimestamp(timestamp_sample_clock);
  fields.ssrc = ssrc_;
  if (out.size() < kRtpFixedHeaderSize + payload.size()) [[unlikely]] {
    return 0;
  }
  const size_t header = WriteRtpHeader(fields, out);
  if (header == 0) [[unlikely]] {
    return 0;
  }
  if (!payload.empty()) std::memcpy(out.data() + header, payload.data(), payload.size());
  ++sequence_;
  ++packet_count_;
  octet_count_ += static_cast<uint32_t>(payload.size());
  has_sent_ = true;
  audio_continues_ = false;
  return header + payload.size();
}

}  // namespace linegate::media::rtp
