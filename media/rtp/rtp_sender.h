#pragma once
// The sending side of one RTP session (RFC 3550 5.1, RFC 3551 4.1): SSRC, sequence
// numbers and timestamps, the marker bit, and the counts an RTCP SR reports (6.4.1).
//
// Randomness comes in through RandomSource (STYLE.md practice 3): the SSRC, the first
// sequence number and the timestamp offset are random (RFC 3550 5.1, 8.1) and tests fix
// them. Only construction and ChangeSsrc() draw from it; per packet nothing allocates,
// locks or makes a system call.

#include <cstddef>
#include <cstdint>
#include <span>

#include "media/rtp/rtp_header.h"

namespace linegate::media::rtp {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint32_t NextUint32() = 0;
};

// std::random_device (the kernel's generator); for services, not for tests.
class SystemRandomSource final : public RandomSource {
 public:
  uint32_t NextUint32() override;
};

struct RtpSenderConfig {
  uint8_t payload_type = 0;  // PCMU (RFC 3551 6)
};

class RtpSender {
 public:
  RtpSender(const RtpSenderConfig& config, RandomSource& random);

  // Writes header + payload into `out` and returns the packet length, or 0 if `out` is
  // too short (nothing is consumed then). `sample_clock` is the position of the first
  // payload sample on the sender's sample clock (the TDM frame counter times the frame
  // size); the RTP timestamp is that plus a random offset (5.1).
  //
  // The payload is G.711: one octet per sample, so the next packet's sample clock is
  // expected at sample_clock + payload.size().
  //
  // The marker is set on the first packet of a talk spurt (RFC 3551 4.1): the first
  // packet of the session, any packet the caller flags, and any packet whose sample
  // clock does not follow on from the previous one (sending resumed after silence
  // suppression).
  size_t BuildPacket(uint64_t sample_clock, std::span<const uint8_t> payload, bool talk_spurt_start,
                     std::span<uint8_t> out);

  // A packet of another payload format in the same stream: RFC 4733 telephone-events
  // share the audio's SSRC, sequence numbers and timestamp clock, but carry their own
  // timestamp (the event's start, `timestamp_sample_clock`) and marker. Counted in the
  // SR counts like audio (6.4.1). The next audio packet starts a talk spurt (its marker
  // is set), since the audio was suppressed meanwhile. Returns the packet length, or 0
  // if `out` is too short (nothing is consumed then).
  size_t BuildNonAudioPacket(uint8_t payload_type, uint64_t timestamp_sample_clock, bool marker,
                             std::span<const uint8_t> payload, std::span<uint8_t> out);

  // A new random SSRC after a collision (RFC 3550 8.2); counts restart (6.4.1).
  void ChangeSsrc();

  uint32_t ssrc() const { return ssrc_; }
  uint16_t next_sequence() const { return sequence_; }
  uint32_t timestamp_offset() const { return timestamp_offset_; }
  // RTP timestamp of a position on the sample clock (for the SR, 6.4.1).
  uint32_t RtpTimestamp(uint64_t sample_clock) const {
    return timestamp_offset_ + static_cast<uint32_t>(sample_clock);
  }
  // RFC 3550 6.4.1 sender's packet and octet counts (payload octets only).
  uint32_t packet_count() const { return packet_count_; }
  uint32_t octet_count() const { return octet_count_; }
  bool has_sent() const { return has_sent_; }

 private:
  RandomSource* random_;
  uint8_t payload_type_;
  uint32_t ssrc_;
  uint16_t sequence_;
  uint32_t timestamp_offset_;
  uint64_t next_sample_clock_ = 0;
  bool audio_continues_ = false;  // the last packet was audio: the next may follow on
  uint32_t packet_count_ = 0;
  uint32_t octet_count_ = 0;
  bool has_sent_ = false;
};

}  // namespace linegate::media::rtp
