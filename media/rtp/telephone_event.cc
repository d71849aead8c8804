#include "media/rtp/telephone_event.h"

#include <algorithm>
#include <string_view>

namespace linegate::media::rtp {
namespace {

// RFC 4734 3.2: the order of the codes is the order of this string.
constexpr std::string_view kEventDigits = "0123456789*#ABCD!";

// Timestamps wrap: a is later than b when the difference, read as signed, is positive
// (RFC 3550 serial number arithmetic).
int32_t TimestampDifference(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

}  // namespace

std::optional<uint8_t> TelephoneEventForDigit(char digit) {
  if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
  const size_t index = kEventDigits.find(digit);
  if (index == std::string_view::npos) return std::nullopt;
  return static_cast<uint8_t>(index);
}

char DigitForTelephoneEvent(uint8_t event) {
  return event < kEventDigits.size() ? kEventDigits[event] : '\0';
}

bool ParseTelephoneEventPayload(std::span<const uint8_t> payload, TelephoneEventPayload& out) {
  if (payload.size() < kTelephoneEventPayloadSize) return false;
  out.event = payload[0];
  out.end = (payload[1] & 0x80) != 0;
  out.volume = payload[1] & 0x3F;
  out.duration = LoadBe16(payload.data() + 2);
  return true;
}

size_t WriteTelephoneEventPayload(const TelephoneEventPayload& payload, std::span<uint8_t> out) {
  if (out.size() < kTelephoneEventPayloadSize || payload.volume > kMaxTelephoneEventVolume) return 0;
  out[0] = payload.event;
  out[1] = static_cast<uint8_t>((payload.end ? 0x80 : 0x00) | payload.volume);  // R = 0 (2.3.3)
  StoreBe16(out.data() + 2, payload.duration);
  return kTelephoneEventPayloadSize;
}

// --- Sender --------------------------------------------------------------------------

Result<TelephoneEventSender> TelephoneEventSender::Create(const TelephoneEventSenderConfig& config) {
  if (config.payload_type > 127) return Error{"telephone-event payload type must be 0..127"};
  if (config.update_interval_samples == 0) return Error{"telephone-event update interval must not be 0"};
  if (config.volume > kMaxTelephoneEventVolume) return Error{"telephone-event volume must be 0..63 (-dBm0)"};
  if (config.final_packet_count == 0) return Error{"telephone-event final packet count must be at least 1"};
  return TelephoneEventSender(config);
}

bool TelephoneEventSender::KeyDown(uint8_t event, uint64_t sample_clock) {
  return KeyDown(event, sample_clock, config_.volume);
}

bool TelephoneEventSender::KeyDown(uint8_t event, uint64_t sample_clock, uint8_t volume) {
  // A start at the previous event's start would give both the same timestamp, and the
  // receiver could not tell them apart.
  const bool goes_back = has_history_ && (sample_clock < latest_instant_ || sample_clock == event_start_);
  if (goes_back || volume > kMaxTelephoneEventVolume) [[unlikely]] {
    ++stats_.rejected_key_events;
    return false;
  }
  if (state_ == State::kKeyDown) EndKeyDown(sample_clock);
  state_ = State::kKeyDown;
  event_ = event;
  volume_ = event == kTelephoneEventFlash ? 0 : volume;
  event_start_ = sample_clock;
  segment_start_ = sample_clock;
  update_due_ = sample_clock;
  marker_pending_ = true;
  has_history_ = true;
  latest_instant_ = sample_clock;
  ++stats_.events;
  return true;
}

bool TelephoneEventSender::KeyUp(uint64_t sample_clock) {
  if (state_ != State::kKeyDown || sample_clock < segment_start_) [[unlikely]] {
    ++stats_.rejected_key_events;
    return false;
  }
  EndKeyDown(sample_clock);
  return true;
}

void TelephoneEventSender::EndKeyDown(uint64_t sample_clock) {
  SplitSegments(sample_clock);
  AddPendingFinal(static_cast<uint16_t>(sample_clock - segment_start_), true, sample_clock);
  state_ = State::kIdle;
  latest_instant_ = sample_clock;
}

void TelephoneEventSender::SplitSegments(uint64_t instant) {
  // A segment is closed only once the event has outlasted it: an event ending exactly
  // at 0xFFFF samples is one segment whose final packet carries E.
  // A poll before the key-down instant (`now` behind the detector's report) has
  // nothing to split.
  while (instant > segment_start_ && instant - segment_start_ > kMaxEventSegmentDuration) {
    AddPendingFinal(static_cast<uint16_t>(kMaxEventSegmentDuration), false, instant);
    segment_start_ += kMaxEventSegmentDuration;
    latest_instant_ = segment_start_;  // the event cannot end before a segment it announced
    ++stats_.segments;
  }
}

void TelephoneEventSender::AddPendingFinal(uint16_t duration, bool end, uint64_t due) {
  if (pending_count_ == kMaxPendingFinals) [[unlikely]] {
    // Only when the caller does not poll for several events: drop the oldest repeats.
    std::move(pending_.begin() + 1, pending_.end(), pending_.begin());
    --pending_count_;
    ++stats_.finals_abandoned;
  }
  PendingFinal& final_packet = pending_[pending_count_++];
  final_packet.segment_start = segment_start_;
  final_packet.due = due;
  final_packet.duration = duration;
  final_packet.event = event_;
  final_packet.volume = volume_;
  final_packet.remaining = config_.final_packet_count;
  final_packet.end = end;
  // An event whose key went up before anything was sent: its final packet is also its
  // first, and carries the marker (the first transmission only).
  final_packet.marker = marker_pending_;
  marker_pending_ = false;
}

uint64_t TelephoneEventSender::NextDue(uint64_t due, uint64_t now) const {
  // Never a burst of catch-up packets after a late poll: stale updates say nothing,
  // and repeats sent together are lost together.
  const uint64_t next = due + config_.update_interval_samples;
  return next > now ? next : now + config_.update_interval_samples;
}

TelephoneEventPacket TelephoneEventSender::MakePacket(bool marker, uint64_t segment_start, uint8_t event,
                                                      uint8_t volume, bool end, uint16_t duration) const {
  TelephoneEventPacket packet;
  packet.marker = marker;
  packet.timestamp_sample_clock = segment_start;
  WriteTelephoneEventPayload({.event = event, .end = end, .volume = volume, .duration = duration},
                             packet.payload);
  return packet;
}

std::optional<TelephoneEventPacket> TelephoneEventSender::NextPacket(uint64_t now) {
  if (state_ == State::kKeyDown) SplitSegments(now);

  // The earliest pending final (the first of equals: they were added in order).
  size_t earliest = pending_count_;
  for (size_t i = 0; i < pending_count_; ++i) {
    if (pending_[i].due <= now && (earliest == pending_count_ || pending_[i].due < pending_[earliest].due)) {
      earliest = i;
    }
  }
  const bool update_is_due = state_ == State::kKeyDown && update_due_ <= now;

  // Finals belong to older events or segments than the update: on a tie they go first.
  if (earliest < pending_count_ && (!update_is_due || pending_[earliest].due <= update_due_)) {
    PendingFinal& final_packet = pending_[earliest];
    const TelephoneEventPacket packet =
        MakePacket(final_packet.marker, final_packet.segment_start, final_packet.event, final_packet.volume,
                   final_packet.end, final_packet.duration);
    final_packet.marker = false;
    if (--final_packet.remaining == 0) {
      std::move(pending_.begin() + static_cast<ptrdiff_t>(earliest) + 1,
                pending_.begin() + static_cast<ptrdiff_t>(pending_count_),
                pending_.begin() + static_cast<ptrdiff_t>(earliest));
      --pending_count_;
    } else {
      final_packet.due = NextDue(final_packet.due, now);
    }
    ++stats_.packets;
    ++stats_.final_packets;
    return packet;
  }
  if (update_is_due) {
    // now - segment_start_ <= 0xFFFF after SplitSegments.
    const TelephoneEventPacket packet = MakePacket(marker_pending_, segment_start_, event_, volume_, false,
                                                   static_cast<uint16_t>(now - segment_start_));
    marker_pending_ = false;
    update_due_ = NextDue(update_due_, now);
    ++stats_.packets;
    return packet;
  }
  return std::nullopt;
}

size_t TelephoneEventSender::BuildNextPacket(uint64_t now, RtpSender& rtp, std::span<uint8_t> out) {
  if (out.size() < kPacketSize) [[unlikely]] {
    return 0;
  }
  const std::optional<TelephoneEventPacket> packet = NextPacket(now);
  if (!packet) return 0;
  return rtp.BuildNonAudioPacket(config_.payload_type, packet->timestamp_sample_clock, packet->marker,
                                 packet->payload, out);
}

// --- Receiver ------------------------------------------------------------------------

TelephoneEventReceiver::TelephoneEventReceiver(const TelephoneEventReceiverConfig& config) : config_(config) {
  if (config_.clock_rate_hz == 0) config_.clock_rate_hz = 8000;
}

TelephoneEventVerdict TelephoneEventReceiver::OnPacket(const RtpHeaderView& packet, TimePoint now) {
  return OnPacket(packet.ssrc, packet.timestamp, packet.marker, packet.payload, now);
}

TelephoneEventVerdict TelephoneEventReceiver::OnPacket(uint32_t ssrc, uint32_t timestamp, bool marker,
                                                       std::span<const uint8_t> payload, TimePoint now) {
  TelephoneEventPayload block;
  if (!ParseTelephoneEventPayload(payload, block)) [[unlikely]] {
    return Count(TelephoneEventVerdict::kMalformed);
  }
  if (payload.size() > kTelephoneEventPayloadSize) [[unlikely]] {
    ++extra_blocks_;
  }
  if (has_latest_ && ssrc != ssrc_) [[unlikely]] {
    // A new source has its own timeline: nothing of the old one's applies.
    if (state_ == State::kActive) End(TelephoneEventEndCause::kSourceChanged);
    has_latest_ = false;
  }
  if (!has_latest_) {
    Begin(ssrc, timestamp, marker, block, now);
    return Count(TelephoneEventVerdict::kBegan);
  }

  const int32_t age = TimestampDifference(timestamp, latest_timestamp_);
  if (age < 0) {
    // An earlier event (or segment): its repeats, or updates overtaken by a newer event.
    return Count(TelephoneEventVerdict::kStale);
  }
  if (age == 0) {
    if (state_ != State::kActive) {
      // The event already ended: the repeats of its final packet (2.5.1.4), or packets
      // arriving after its timeout.
      return Count(TelephoneEventVerdict::kDuplicate);
    }
    if (block.event != event_) [[unlikely]] {
      return Count(TelephoneEventVerdict::kMalformed);  // two events under one timestamp
    }
    last_packet_ = now;
    if (block.end) {
      // The final duration is the sender's last word, even below an update's: a key-up
      // reported late by its detector ends the tone before the last update's instant.
      segment_duration_ = block.duration;
      End(TelephoneEventEndCause::kEndBit);
      return Count(TelephoneEventVerdict::kEnded);
    }
    if (block.duration > segment_duration_) {
      segment_duration_ = block.duration;
      return Count(TelephoneEventVerdict::kUpdated);
    }
    return Count(block.duration == segment_duration_ ? TelephoneEventVerdict::kDuplicate
                                                     : TelephoneEventVerdict::kReordered);
  }

  // A later timestamp: the next segment of the running event (2.5.2.3), or a new event.
  if (state_ == State::kActive && block.event == event_ &&
      static_cast<uint32_t>(age) == kMaxEventSegmentDuration) {
    earlier_segments_ += kMaxEventSegmentDuration;
    latest_timestamp_ = timestamp;
    segment_duration_ = block.duration;
    last_packet_ = now;
    if (block.end) {
      End(TelephoneEventEndCause::kEndBit);
      return Count(TelephoneEventVerdict::kEnded);
    }
    return Count(TelephoneEventVerdict::kSegment);
  }
  if (state_ == State::kActive) End(TelephoneEventEndCause::kNextEvent);
  Begin(ssrc, timestamp, marker, block, now);
  return Count(TelephoneEventVerdict::kBegan);
}

void TelephoneEventReceiver::Poll(TimePoint now) {
  if (state_ == State::kActive && now - last_packet_ >= config_.end_timeout) {
    End(TelephoneEventEndCause::kTimeout);
  }
}

void TelephoneEventReceiver::Begin(uint32_t ssrc, uint32_t timestamp, bool marker,
                                   const TelephoneEventPayload& block, TimePoint now) {
  has_latest_ = true;
  ssrc_ = ssrc;
  latest_timestamp_ = timestamp;
  start_timestamp_ = timestamp;
  event_ = block.event;
  volume_ = block.volume;
  earlier_segments_ = 0;
  segment_duration_ = block.duration;
  last_packet_ = now;
  state_ = State::kActive;

  TelephoneEventNotice notice;
  notice.edge = TelephoneEventEdge::kBegin;
  notice.event = event_;
  notice.digit = DigitForTelephoneEvent(event_);
  notice.volume = volume_;
  notice.timestamp = timestamp;
  notice.duration_samples = block.duration;
  notice.duration_ms = ToMs(block.duration);
  notice.marker_seen = marker;
  Push(notice);
  // Only the final packets of a short event arrived: it began and ended.
  if (block.end) End(TelephoneEventEndCause::kEndBit);
}

void TelephoneEventReceiver::End(TelephoneEventEndCause cause) {
  TelephoneEventNotice notice;
  notice.edge = TelephoneEventEdge::kEnd;
  notice.cause = cause;
  notice.event = event_;
  notice.digit = DigitForTelephoneEvent(event_);
  notice.volume = volume_;
  notice.timestamp = start_timestamp_;
  notice.duration_samples = earlier_segments_ + segment_duration_;
  notice.duration_ms = ToMs(notice.duration_samples);
  Push(notice);
  state_ = State::kIdle;
}

void TelephoneEventReceiver::Push(const TelephoneEventNotice& notice) {
  if (notice_count_ == kNoticeCapacity) [[unlikely]] {
    ++notices_dropped_;
    return;
  }
  notices_[(notice_head_ + notice_count_) % kNoticeCapacity] = notice;
  ++notice_count_;
}

std::optional<TelephoneEventNotice> TelephoneEventReceiver::PopNotice() {
  if (notice_count_ == 0) return std::nullopt;
  const TelephoneEventNotice notice = notices_[notice_head_];
  notice_head_ = (notice_head_ + 1) % kNoticeCapacity;
  --notice_count_;
  return notice;
}

TelephoneEventVerdict TelephoneEventReceiver::Count(TelephoneEventVerdict verdict) {
  ++verdicts_[static_cast<size_t>(verdict)];
  return verdict;
}

uint32_t TelephoneEventReceiver::ToMs(uint32_t samples) const {
  return static_cast<uint32_t>(static_cast<uint64_t>(samples) * 1000 / config_.clock_rate_hz);
}

const char* TelephoneEventVerdictName(TelephoneEventVerdict verdict) {
  switch (verdict) {
    case TelephoneEventVerdict::kBegan:
      return "began";
    case TelephoneEventVerdict::kUpdated:
      return "updated";
    case TelephoneEventVerdict::kEnded:
      return "ended";
    case TelephoneEventVerdict::kSegment:
      return "segment";
    case TelephoneEventVerdict::kDuplicate:
      return "duplicate";
    case TelephoneEventVerdict::kReordered:
      return "reordered";
    case TelephoneEventVerdict::kStale:
      return "stale";
    case TelephoneEventVerdict::kMalformed:
      return "malformed";
  }
  return "unknown";
}

const char* TelephoneEventEndCauseName(TelephoneEventEndCause cause) {
  switch (cause) {
    case TelephoneEventEndCause::kNone:
      return "none";
    case TelephoneEventEndCause::kEndBit:
      return "end_bit";
    case TelephoneEventEndCause::kTimeout:
      return "timeout";
    case TelephoneEventEndCause::kNextEvent:
      return "next_event";
    case TelephoneEventEndCause::kSourceChanged:
      return "source_changed";
  }
  return "unknown";
}

}  // namespace linegate::media::rtp
