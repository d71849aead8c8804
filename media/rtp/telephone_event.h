#pragma once
// RFC 4733 telephone-events: DTMF digits (and flash) carried as named events in the
// audio stream's RTP session, instead of as tones in the audio (RFC 4734 3 codes).
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    |     event     |E|R| volume    |          duration             |
//
// An event is identified by its RTP timestamp, the sample clock at its start; every
// packet of it carries that timestamp and the duration so far, in timestamp units
// (RFC 4733 2.3, 2.5.1). The first packet has the marker bit; the last has E and is
// sent three times (2.5.1.4). An event longer than 0xFFFF samples (8.2 s at 8 kHz) is
// sent as segments: the segment's last packet reports 0xFFFF without E, and the next
// segment starts at the old timestamp + 0xFFFF, without marker (2.5.1.3).
//
// TelephoneEventSender turns key-down/key-up into those packets; it shares the SSRC,
// sequence numbers and timestamp clock of the audio stream through RtpSender.
// TelephoneEventReceiver turns received packets back into begin/end notices, robust to
// the loss of any packet including all of an event's end packets.
//
// Per packet nothing allocates, locks, reads a clock or makes a system call: the
// sender is driven by the sample clock the caller passes, the receiver by the arrival
// time the caller passes; both are fixed-size objects.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/clock.h"
#include "common/result.h"
#include "media/rtp/rtp_header.h"
#include "media/rtp/rtp_sender.h"

namespace linegate::media::rtp {

inline constexpr size_t kTelephoneEventPayloadSize = 4;
// Event codes of RFC 4734 3.2: 0-9, * = 10, # = 11, A-D = 12-15, flash = 16.
inline constexpr uint8_t kTelephoneEventStar = 10;
inline constexpr uint8_t kTelephoneEventPound = 11;
inline constexpr uint8_t kTelephoneEventFlash = 16;
// Largest duration one packet can carry; a longer event is segmented (RFC 4733 2.5.1.3).
inline constexpr uint32_t kMaxEventSegmentDuration = 0xFFFF;
// Volume is a level of 0 to -63 dBm0 with the sign dropped (RFC 4733 2.3.4).
inline constexpr uint8_t kMaxTelephoneEventVolume = 63;

// The event code of a DTMF digit ('0'-'9', '*', '#', 'A'-'D' or 'a'-'d') or of '!' for
// flash (the dial-string convention); nullopt for anything else.
std::optional<uint8_t> TelephoneEventForDigit(char digit);
// The inverse: '0'-'9', '*', '#', 'A'-'D', '!' for events 0-16, '\0' for other codes.
char DigitForTelephoneEvent(uint8_t event);

// One 4-octet event block (RFC 4733 2.3).
struct TelephoneEventPayload {
  uint8_t event = 0;
  bool end = false;
  uint8_t volume = 0;  // 0..63, i.e. 0 to -63 dBm0
  uint16_t duration = 0;
};

// Reads the first event block. False if the payload is shorter than one block. The R
// bit is ignored (2.3.3); further blocks (2.5.1.5) are the caller's to count.
bool ParseTelephoneEventPayload(std::span<const uint8_t> payload, TelephoneEventPayload& out);
// Writes one block into `out`; returns 4, or 0 if `out` is shorter or volume > 63.
size_t WriteTelephoneEventPayload(const TelephoneEventPayload& payload, std::span<uint8_t> out);

// ---------------------------------------------------------------------------------
// Sending

struct TelephoneEventSenderConfig {
  uint8_t payload_type = 101;  // dynamic, from the SDP rtpmap telephone-event/8000
  // Time between updates of a running event and between the repeats of its final
  // packet (2.5.1, 2.5.1.4): usually the audio packet time.
  uint32_t update_interval_samples = 160;
  // Default volume of the events, 0..63 (-dBm0). DTMF power is what a detector measured;
  // flash has no volume and is always sent with 0 (RFC 4734 3.2).
  uint8_t volume = 10;
  // How many times the final packet of an event or segment goes out (2.5.1.4).
  uint8_t final_packet_count = 3;
};

// What the sender wants sent next: one RTP packet's marker, timestamp and payload.
struct TelephoneEventPacket {
  bool marker = false;
  uint64_t timestamp_sample_clock = 0;  // start of the event (segment) on the sample clock
  std::array<uint8_t, kTelephoneEventPayloadSize> payload{};
};

struct TelephoneEventSenderStats {
  uint64_t events = 0;
  uint64_t segments = 0;             // continuation segments started (2.5.1.3)
  uint64_t packets = 0;              // updates + final packets handed out
  uint64_t final_packets = 0;        // of which final packets (E, or 0xFFFF of a segment)
  uint64_t rejected_key_events = 0;  // key-down/up refused (see KeyDown, KeyUp)
  uint64_t finals_abandoned = 0;     // repeats dropped because kMaxPendingFinals were pending
};

// State machine of one direction's events, driven by the media loop:
//
//   kIdle --KeyDown--> kKeyDown --KeyUp--> kIdle (its final packets pending)
//                        |  ^
//                        +--+ KeyDown of the next event ends this one at that instant
//
// An event's final packet and its repeats are kept in a small list of pending finals,
// sent at the update interval, independently of the next event, which can start at
// once. Each call of NextPacket hands out at most one packet; the caller loops until
// it returns nothing, once per packet time. While sending() is true the audio stream
// sends nothing: the tone must not also reach the far end in the audio (RFC 4733 2.5.1),
// where it would be detected a second time.
class TelephoneEventSender {
 public:
  static constexpr size_t kMaxPendingFinals = 4;
  static constexpr size_t kPacketSize = kRtpFixedHeaderSize + kTelephoneEventPayloadSize;

  enum class State : uint8_t { kIdle, kKeyDown };

  // Invalid: payload type > 127, update interval 0, volume > 63, final packet count 0.
  static Result<TelephoneEventSender> Create(const TelephoneEventSenderConfig& config);

  // A key went down at `sample_clock` (the sample clock of RtpSender: the position of
  // the tone's start in the audio). A key still down is released at that instant.
  // False (nothing changes, counted) if the instant is before the previous event's end
  // or equal to its start (timestamps must tell events apart and not go back), or the
  // volume is above 63.
  bool KeyDown(uint8_t event, uint64_t sample_clock);
  bool KeyDown(uint8_t event, uint64_t sample_clock, uint8_t volume);
  // The key went up at `sample_clock`. False (counted) if no key is down or the instant
  // is before the key went down.
  bool KeyUp(uint64_t sample_clock);

  // The next packet due at `now` (the sample clock of the audio sent so far), or
  // nullopt (also while `now` is before the key-down instant). Durations in updates
  // are `now` minus the segment start; in the final
  // packet, the key-up instant minus it. An event that has not been sent yet when its
  // key goes up is announced by its final packet alone, with the marker.
  std::optional<TelephoneEventPacket> NextPacket(uint64_t now);

  // The same, written as a complete RTP packet through `rtp` (same SSRC and sequence
  // space as the audio). Returns its length, or 0 if nothing is due or `out` is shorter
  // than kPacketSize (nothing is consumed then).
  size_t BuildNextPacket(uint64_t now, RtpSender& rtp, std::span<uint8_t> out);

  State state() const { return state_; }
  // An event is in progress or final packets are still due: suppress audio.
  bool sending() const { return state_ == State::kKeyDown || pending_count_ > 0; }
  const TelephoneEventSenderStats& stats() const { return stats_; }
  const TelephoneEventSenderConfig& config() const { return config_; }

 private:
  explicit TelephoneEventSender(const TelephoneEventSenderConfig& config) : config_(config) {}

  // A segment's or event's last packet, still to be sent `remaining` more times.
  struct PendingFinal {
    uint64_t segment_start = 0;
    uint64_t due = 0;
    uint16_t duration = 0;
    uint8_t event = 0;
    uint8_t volume = 0;
    uint8_t remaining = 0;
    bool end = false;
    bool marker = false;
  };

  void AddPendingFinal(uint16_t duration, bool end, uint64_t due);
  // Closes the 0xFFFF segments of the key-down event that end before `instant`; their
  // final packets are due at once.
  void SplitSegments(uint64_t instant);
  void EndKeyDown(uint64_t sample_clock);
  TelephoneEventPacket MakePacket(bool marker, uint64_t segment_start, uint8_t event, uint8_t volume,
                                  bool end, uint16_t duration) const;
  uint64_t NextDue(uint64_t due, uint64_t now) const;

  TelephoneEventSenderConfig config_;
  State state_ = State::kIdle;
  // The key-down event.
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint64_t event_start_ = 0;
  uint64_t segment_start_ = 0;
  uint64_t update_due_ = 0;
  bool marker_pending_ = false;  // its first packet has not gone out yet
  // Events must not go back in time: the latest start or end handed over.
  bool has_history_ = false;
  uint64_t latest_instant_ = 0;

  std::array<PendingFinal, kMaxPendingFinals> pending_{};
  size_t pending_count_ = 0;
  TelephoneEventSenderStats stats_;
};

// ---------------------------------------------------------------------------------
// Receiving

struct TelephoneEventReceiverConfig {
  uint32_t clock_rate_hz = 8000;
  // An event with no packet for this long ends (all its end packets were lost). Longer
  // than a few update intervals (senders use 20-50 ms), short enough that a held key
  // is not reported long after it was released.
  Duration end_timeout = std::chrono::milliseconds(200);
};

enum class TelephoneEventEdge : uint8_t { kBegin, kEnd };

// Why an event ended.
enum class TelephoneEventEndCause : uint8_t {
  kNone = 0,       // (a begin notice)
  kEndBit,         // a packet with E arrived
  kTimeout,        // no packet for end_timeout: its end packets were lost
  kNextEvent,      // a later event's packet arrived first
  kSourceChanged,  // a packet from another SSRC
};

struct TelephoneEventNotice {
  TelephoneEventEdge edge = TelephoneEventEdge::kBegin;
  TelephoneEventEndCause cause = TelephoneEventEndCause::kNone;
  uint8_t event = 0;
  char digit = '\0';  // DigitForTelephoneEvent(event)
  uint8_t volume = 0;
  uint32_t timestamp = 0;  // RTP timestamp of the event's start (its first segment)
  // Begin: the duration in the first packet received; End: the whole event's, over all
  // segments (the last one known when it did not end by its E bit).
  uint32_t duration_samples = 0;
  uint32_t duration_ms = 0;
  bool marker_seen = false;  // Begin: the event's first packet (with M) arrived
};

// What OnPacket made of a packet; values index counter arrays.
enum class TelephoneEventVerdict : uint8_t {
  kBegan = 0,  // a new event (maybe ended at once by the same packet's E bit)
  kUpdated,    // the running event's duration grew
  kEnded,      // the running event's E bit
  kSegment,    // the next segment of a long event (2.5.2.3)
  kDuplicate,  // nothing new: a repeated final packet or a duplicate update
  kReordered,  // an older update of the running event (smaller duration), ignored
  kStale,      // an event older than the latest one (late or ended), ignored
  kMalformed,  // shorter than one event block
};
inline constexpr size_t kTelephoneEventVerdictCount = 8;
const char* TelephoneEventVerdictName(TelephoneEventVerdict verdict);

// Tracks one source's events and queues begin/end notices, at most kNoticeCapacity
// between drains (one packet produces at most three: the previous event's end, the new
// event's begin, and its end).
//
//   kIdle --packet, new timestamp--> kActive --E bit / timeout / newer event--> kIdle
//                                    kActive --ts = start + 0xFFFF, same event--> kActive
//
// Events are told apart by RTP timestamp (RFC 4733 2.5.2), never by the marker bit,
// whose packet may be lost; packets whose timestamp is older than the latest event's
// are stale. Timestamps compare in serial number arithmetic (they wrap).
class TelephoneEventReceiver {
 public:
  static constexpr size_t kNoticeCapacity = 16;

  enum class State : uint8_t { kIdle, kActive };

  explicit TelephoneEventReceiver(const TelephoneEventReceiverConfig& config = {});

  // A packet of the telephone-event payload type, arrived at `now`.
  TelephoneEventVerdict OnPacket(const RtpHeaderView& packet, TimePoint now);
  TelephoneEventVerdict OnPacket(uint32_t ssrc, uint32_t timestamp, bool marker,
                                 std::span<const uint8_t> payload, TimePoint now);
  // Ends the running event if no packet arrived for end_timeout. Call once per tick.
  void Poll(TimePoint now);

  // The oldest notice not yet taken, or nullopt.
  std::optional<TelephoneEventNotice> PopNotice();
  size_t pending_notices() const { return notice_count_; }

  State state() const { return state_; }
  uint64_t verdict_count(TelephoneEventVerdict verdict) const {
    return verdicts_[static_cast<size_t>(verdict)];
  }
  uint64_t notices_dropped() const { return notices_dropped_; }
  uint64_t extra_blocks() const { return extra_blocks_; }  // packets with > 1 block

 private:
  void Begin(uint32_t ssrc, uint32_t timestamp, bool marker, const TelephoneEventPayload& block,
             TimePoint now);
  void End(TelephoneEventEndCause cause);
  void Push(const TelephoneEventNotice& notice);
  TelephoneEventVerdict Count(TelephoneEventVerdict verdict);
  uint32_t ToMs(uint32_t samples) const;

  TelephoneEventReceiverConfig config_;
  State state_ = State::kIdle;
  // Latest event seen (running or ended): packets older than it are stale.
  bool has_latest_ = false;
  uint32_t ssrc_ = 0;
  uint32_t latest_timestamp_ = 0;  // of its current segment
  // The running event.
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint32_t start_timestamp_ = 0;   // of its first segment
  uint32_t earlier_segments_ = 0;  // samples in the segments before the current one
  uint16_t segment_duration_ = 0;  // largest duration seen in the current segment
  TimePoint last_packet_{};

  std::array<TelephoneEventNotice, kNoticeCapacity> notices_{};
  size_t notice_head_ = 0;
  size_t notice_count_ = 0;
  std::array<uint64_t, kTelephoneEventVerdictCount> verdicts_{};
  uint64_t notices_dropped_ = 0;
  uint64_t extra_blocks_ = 0;
};

const char* TelephoneEventEndCauseName(TelephoneEventEndCause cause);

}  // namespace linegate::media::rtp
