#include "media/rtp/jitter_buffer.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "media/dsp/g711.h"
#include "media/rtp/receive_stats.h"

namespace linegate::media::rtp {

namespace {

// Below about -50 dBm0 (RMS 51 against the 0 dBm0 RMS of 16141, media/dsp/levels.h) a
// frame counts as silence, where a skipped or repeated frame is inaudible.
constexpr int64_t kQuietMeanSquare = 51 * 51;

int32_t Serial(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }  // a - b, modulo 2^32

std::string Describe(const char* what, uint32_t value) {
  return std::string(what) + " " + std::to_string(value);
}

}  // namespace

const char* InsertResultName(InsertResult result) {
  switch (result) {
    case InsertResult::kAccepted:
      return "accepted";
    case InsertResult::kDuplicate:
      return "duplicate";
    case InsertResult::kLate:
      return "late";
    case InsertResult::kResynced:
      return "resynced";
    case InsertResult::kHeld:
      return "held";
    case InsertResult::kEmpty:
      return "empty";
    case InsertResult::kOversized:
      return "oversized";
  }
  return "unknown";
}

const char* FrameKindName(FrameKind kind) {
  switch (kind) {
    case FrameKind::kReal:
      return "real";
    case FrameKind::kConcealed:
      return "concealed";
    case FrameKind::kSilence:
      return "silence";
  }
  return "unknown";
}

Result<JitterBuffer> JitterBuffer::Create(const JitterBufferConfig& config, const Clock& clock) {
  const JitterBufferConfig& c = config;
  if (c.frame_samples < 8 || c.frame_samples > kMaxFrameSamples) {
    return Error{Describe("jitter buffer: frame_samples must be 8..160, got", c.frame_samples)};
  }
  if (c.capacity_samples < 512 || c.capacity_samples > (1u << 20) ||
      !std::has_single_bit(c.capacity_samples)) {
    return Error{Describe("jitter buffer: capacity_samples must be a power of two in 512..1048576, got",
                          c.capacity_samples)};
  }
  if (c.max_packet_samples == 0 || c.max_packet_samples > c.capacity_samples / 4) {
    return Error{
        Describe("jitter buffer: max_packet_samples must be 1..capacity/4, got", c.max_packet_samples)};
  }
  const uint32_t max_delay = c.mode == JitterBufferMode::kFixed ? c.fixed_delay_samples : c.max_delay_samples;
  // Room for the deepest delay, a packet beyond it, and the jump confirmation window.
  if (2 * (static_cast<uint64_t>(max_delay) + c.max_packet_samples + c.frame_samples) > c.capacity_samples) {
    return Error{
        Describe("jitter buffer: capacity_samples must be at least 2 * (max delay + max packet + frame) =",
                 2 * (max_delay + c.max_packet_samples + c.frame_samples))};
  }
  if (c.mode == JitterBufferMode::kAdaptive &&
      (c.min_delay_samples > c.max_delay_samples || c.initial_delay_samples < c.min_delay_samples ||
       c.initial_delay_samples > c.max_delay_samples)) {
    return Error{std::string("jitter buffer: need min_delay <= initial_delay <= max_delay")};
  }
  if (c.decrease_shift > 16 || c.jitter_factor_q4 > 64 * 16) {
    return Error{std::string("jitter buffer: decrease_shift <= 16 and jitter_factor_q4 <= 1024")};
  }
  return JitterBuffer(config, clock);
}

JitterBuffer::JitterBuffer(const JitterBufferConfig& config, const Clock& clock)
    : clock_(&clock),
      config_(config),
      mask_(config.capacity_samples - 1),
      octets_(config.capacity_samples, 0),
      present_(config.capacity_samples / 64, 0),
      held_payload_(config.max_packet_samples, 0) {
  const uint32_t initial =
      config.mode == JitterBufferMode::kFixed ? config.fixed_delay_samples : config.initial_delay_samples;
  target_q8_ = static_cast<int64_t>(initial) << 8;
  delay_avg_q8_ = target_q8_;
  slip_threshold_ = config.slip_threshold_samples != 0
                        ? config.slip_threshold_samples
                        : std::max(config.frame_samples, config.fixed_delay_samples / 2);
  origin_ = clock.Now();
}

uint32_t JitterBuffer::buffered_samples() const {
  if (!synced_) return 0;
  const int32_t ahead = Serial(highest_end_ts_, play_ts_);
  return ahead > 0 ? static_cast<uint32_t>(ahead) : 0;
}

// --- presence bitmap ------------------------------------------------------------------

// Calls f(word_index, mask) for the slots of [timestamp, timestamp + n), n <= capacity.
// The capacity is a multiple of 64, so a word never straddles the end of the ring.
template <typename F>
static void ForEachWord(uint32_t mask, uint32_t timestamp, uint32_t n, F f) {
  uint32_t index = timestamp & mask;
  while (n > 0) {
    const uint32_t bit = index & 63;
    const uint32_t take = std::min(64 - bit, n);
    const uint64_t bits = take == 64 ? ~0ull : ((1ull << take) - 1) << bit;
    f(index >> 6, bits);
    index = (index + take) & mask;
    n -= take;
  }
}

uint32_t JitterBuffer::CountPresent(uint32_t timestamp, uint32_t n) const {
  uint32_t count = 0;
  ForEachWord(mask_, timestamp, n, [&](uint32_t word, uint64_t bits) {
    count += static_cast<uint32_t>(std::popcount(present_[word] & bits));
  });
  return count;
}

void JitterBuffer::ClearPresent(uint32_t timestamp, uint32_t n) {
  ForEachWord(mask_, timestamp, n, [&](uint32_t word, uint64_t bits) { present_[word] &= ~bits; });
}

bool JitterBuffer::Store(uint32_t timestamp, std::span<const uint8_t> payload) {
  // Samples already played are not stored (a partly late packet keeps its tail).
  const int32_t offset = Serial(timestamp, play_ts_);
  const uint32_t skip = offset < 0 ? static_cast<uint32_t>(-offset) : 0;
  if (skip >= payload.size()) return false;
  const uint32_t first = timestamp + skip;
  const uint32_t n = static_cast<uint32_t>(payload.size()) - skip;
  const uint32_t index = first & mask_;
  const uint32_t until_end = config_.capacity_samples - index;
  const uint8_t* src = payload.data() + skip;
  if (n <= until_end) {
    std::memcpy(octets_.data() + index, src, n);
  } else {
    std::memcpy(octets_.data() + index, src, until_end);
    std::memcpy(octets_.data(), src + until_end, n - until_end);
  }
  bool fresh = false;
  ForEachWord(mask_, first, n, [&](uint32_t word, uint64_t bits) {
    fresh |= (bits & ~present_[word]) != 0;
    present_[word] |= bits;
  });
  if (Serial(first + n, highest_end_ts_) > 0) highest_end_ts_ = first + n;
  return fresh;
}

void JitterBuffer::Decode(uint32_t timestamp, std::span<int16_t> out) const {
  const uint32_t n = static_cast<uint32_t>(out.size());
  if (config_.law == G711Law::kUlaw) {
    for (uint32_t i = 0; i < n; ++i) out[i] = dsp::DecodeUlaw(octets_[(timestamp + i) & mask_]);
  } else {
    for (uint32_t i = 0; i < n; ++i) out[i] = dsp::DecodeAlaw(octets_[(timestamp + i) & mask_]);
  }
}

bool JitterBuffer::IsQuiet(std::span<const int16_t> frame) const {
  int64_t sum = 0;
  for (int16_t s : frame) sum += static_cast<int32_t>(s) * s;
  return sum < kQuietMeanSquare * static_cast<int64_t>(frame.size());
}

// --- insert ---------------------------------------------------------------------------

// Packet headroom is measured against a continuous playout point, the frame boundary
// plus the time since the last Get(). Before the first Get() the phase is unknown: half
// a frame is assumed, so the anchor is off by at most half a frame.
int32_t JitterBuffer::SamplesSinceGet(TimePoint now) const {
  if (!have_get_) return static_cast<int32_t>(config_.frame_samples / 2);
  return static_cast<int32_t>(ToTimestampUnits(now - last_get_, kSampleRateHz));
}

// How far ahead of the playout point a packet that arrives now must be put for its
// headroom to be the target: the target plus the time since the last Get(), rounded to
// whole frames so that frames start on packet boundaries (when the packet duration is a
// multiple of the frame) instead of mixing two packets, or a packet and a gap.
int32_t JitterBuffer::AnchorLead(TimePoint now) const {
  const int32_t n = static_cast<int32_t>(config_.frame_samples);
  const int32_t lead = static_cast<int32_t>(target_q8_ >> 8) + SamplesSinceGet(now);
  return std::max(n, (lead + n / 2 - 1) / n * n);  // to the nearest frame, ties down
}

void JitterBuffer::Resync(uint32_t ssrc, uint32_t timestamp, TimePoint now) {
  std::fill(present_.begin(), present_.end(), 0);
  synced_ = true;
  ssrc_ = ssrc;
  // The first packet of the new timeline plays after the current target delay.
  play_ts_ = timestamp - static_cast<uint32_t>(AnchorLead(now));
  highest_end_ts_ = timestamp;
  delay_avg_q8_ = target_q8_;
  have_transit_ = false;
  held_.valid = false;
}

InsertResult JitterBuffer::Insert(const RtpHeaderView& packet) {
  return Insert(packet.ssrc, packet.timestamp, packet.marker, packet.payload);
}

InsertResult JitterBuffer::Insert(uint32_t ssrc, uint32_t timestamp, bool marker,
                                  std::span<const uint8_t> payload) {
  if (payload.empty()) [[unlikely]] {
    ++stats_.empty;
    return InsertResult::kEmpty;
  }
  if (payload.size() > config_.max_packet_samples) [[unlikely]] {
    ++stats_.oversized;
    return InsertResult::kOversized;
  }
  const TimePoint now = clock_->Now();
  if (!synced_) [[unlikely]] {
    Resync(ssrc, timestamp, now);
    return InsertInWindow(timestamp, marker, payload, now, true);
  }
  if (ssrc != ssrc_) [[unlikely]] {
    // A new source (re-INVITE, transfer, sender restart): its timeline is unrelated.
    ++stats_.ssrc_changes;
    if (held_.valid) ++stats_.jumps_discarded;
    Resync(ssrc, timestamp, now);
    InsertInWindow(timestamp, marker, payload, now, true);
    return InsertResult::kResynced;
  }
  const int32_t offset = Serial(timestamp, play_ts_);
  const int32_t capacity = static_cast<int32_t>(config_.capacity_samples);
  const int32_t length = static_cast<int32_t>(payload.size());
  if (offset < -capacity || offset + length > capacity) [[unlikely]] {
    return HandleJump(ssrc, timestamp, marker, payload, now);
  }
  if (held_.valid) {
    // An in-window packet after a held one: the held one was a stray.
    held_.valid = false;
    ++stats_.jumps_discarded;
  }
  return InsertInWindow(timestamp, marker, payload, now, true);
}

// A packet outside the ring's window: either the sender's timeline jumped (restart
// without a new SSRC, a long silence-suppressed gap, a splice) or a stray. With nothing
// buffered there is nothing to lose: resync at once. Otherwise hold it until a second
// packet confirms the new timeline, so that one corrupt or stale packet cannot flush
// the audio being played.
InsertResult JitterBuffer::HandleJump(uint32_t ssrc, uint32_t timestamp, bool marker,
                                      std::span<const uint8_t> payload, TimePoint now) {
  if (buffered_samples() == 0) {
    ++stats_.timestamp_jumps;
    if (held_.valid) ++stats_.jumps_discarded;
    Resync(ssrc, timestamp, now);
    InsertInWindow(timestamp, marker, payload, now, true);
    return InsertResult::kResynced;
  }
  const int32_t confirm_window = static_cast<int32_t>(config_.capacity_samples / 4);
  if (held_.valid) {
    const int32_t distance = Serial(timestamp, held_.timestamp);
    if (distance != 0 && distance >= -confirm_window && distance <= confirm_window) {
      ++stats_.timestamp_jumps;
      const Held held = held_;
      // Anchored on the packet that arrived now, so that its headroom is the target;
      // the held one (earlier) keeps whatever headroom it still has.
      Resync(ssrc, timestamp, now);
      InsertInWindow(held.timestamp, held.marker, {held_payload_.data(), held.length}, now, true);
      InsertInWindow(timestamp, marker, payload, now, true);
      return InsertResult::kResynced;
    }
    ++stats_.jumps_discarded;  // replaced by this one
  }
  held_ = {true, ssrc, timestamp, marker, static_cast<uint32_t>(payload.size())};
  std::memcpy(held_payload_.data(), payload.data(), payload.size());
  ++stats_.jumps_held;
  return InsertResult::kHeld;
}

InsertResult JitterBuffer::InsertInWindow(uint32_t timestamp, bool marker, std::span<const uint8_t> payload,
                                          TimePoint now, bool count) {
  int32_t offset = Serial(timestamp, play_ts_);
  const int32_t length = static_cast<int32_t>(payload.size());
  const bool adaptive = config_.mode == JitterBufferMode::kAdaptive;
  if (offset + length <= 0) {
    ++stats_.late;
    UpdateDelay(offset, timestamp, now, true);
    return InsertResult::kLate;
  }
  if (offset + length > static_cast<int32_t>(config_.capacity_samples)) [[unlikely]] {
    return InsertResult::kLate;  // only reachable for the second packet of a confirmed jump
  }
  // RFC 3551 4.1: the marker starts a talk spurt. With nothing buffered, the silence
  // before it can be lengthened or shortened at will: restart timing at the target.
  if (adaptive && marker && buffered_samples() == 0) {
    const int32_t wanted = AnchorLead(now);
    if (offset != wanted) {
      ClearPresent(play_ts_, config_.capacity_samples);
      play_ts_ = timestamp - static_cast<uint32_t>(wanted);
      offset = wanted;
      delay_avg_q8_ = target_q8_;
      ++stats_.talkspurt_realigns;
    }
  }
  if (!Store(timestamp, payload)) {
    ++stats_.duplicates;
    return InsertResult::kDuplicate;
  }
  UpdateDelay(offset, timestamp, now, false);
  if (count) ++stats_.packets_accepted;
  return InsertResult::kAccepted;
}

// Delay estimation, per packet:
//  - headroom: how long before its playout the packet's first sample arrived,
//    `offset` minus the samples already elapsed of the current tick;
//  - jitter: RFC 3550 A.8 on the injected clock (one spike is capped at the maximum
//    delay so that it cannot saturate the estimate for minutes);
//  - target: jitter_factor * jitter + one frame, within [min, max]; it rises at once and
//    falls by 1/2^decrease_shift of the excess per packet (about 10 s at 50 packets/s);
//  - a late packet raises the target at once by how late it was.
void JitterBuffer::UpdateDelay(int32_t offset, uint32_t timestamp, TimePoint now, bool late) {
  const int32_t headroom = offset - SamplesSinceGet(now);
  const uint32_t local = ToTimestampUnits(now - origin_, kSampleRateHz);
  const uint32_t transit = local - timestamp;
  if (have_transit_) {
    const int32_t d_signed = Serial(transit, last_transit_);
    uint32_t d = d_signed < 0 ? 0u - static_cast<uint32_t>(d_signed) : static_cast<uint32_t>(d_signed);
    d = std::min(d, config_.max_delay_samples);
    jitter_q4_ = jitter_q4_ + d - ((jitter_q4_ + 8) >> 4);
  }
  last_transit_ = transit;
  have_transit_ = true;
  if (config_.mode != JitterBufferMode::kAdaptive) {
    if (!late) delay_avg_q8_ += ((static_cast<int64_t>(headroom) << 8) - delay_avg_q8_) >> 4;
    return;
  }
  const int64_t min_q8 = static_cast<int64_t>(config_.min_delay_samples) << 8;
  const int64_t max_q8 = static_cast<int64_t>(config_.max_delay_samples) << 8;
  if (late) {
    const int64_t needed = delay_avg_q8_ + (static_cast<int64_t>(-headroom + config_.frame_samples) << 8);
    target_q8_ = std::clamp(std::max(target_q8_, needed), min_q8, max_q8);
    return;
  }
  delay_avg_q8_ += ((static_cast<int64_t>(headroom) << 8) - delay_avg_q8_) >> 4;
  // jitter (Q4) * factor (Q4) is already Q8.
  const int64_t raw_q8 = std::clamp(
      static_cast<int64_t>(jitter_q4_) * config_.jitter_factor_q4 + (int64_t{config_.frame_samples} << 8),
      min_q8, max_q8);
  if (raw_q8 > target_q8_) {
    target_q8_ = raw_q8;
  } else {
    target_q8_ -= (target_q8_ - raw_q8) >> config_.decrease_shift;
  }
}

// --- get ------------------------------------------------------------------------------

void JitterBuffer::Advance(uint32_t samples) {
  ClearPresent(play_ts_, samples);
  play_ts_ += samples;
}

FrameInfo JitterBuffer::Finish(FrameInfo info, std::span<const int16_t> out) {
  switch (info.kind) {
    case FrameKind::kReal:
      ++stats_.frames_real;
      break;
    case FrameKind::kConcealed:
      ++stats_.frames_concealed;
      break;
    case FrameKind::kSilence:
      ++stats_.frames_silence;
      break;
  }
  if (info.adjustment == PlayoutAdjustment::kStretched) ++stats_.frames_stretched;
  if (info.adjustment == PlayoutAdjustment::kShrunk) ++stats_.frames_shrunk;
  if (config_.mode == JitterBufferMode::kFixed) std::copy(out.begin(), out.end(), last_frame_.begin());
  return info;
}

// Plays the frame at the playout point and advances past it.
FrameInfo JitterBuffer::PlayFrame(std::span<int16_t> out, FrameInfo info) {
  const uint32_t n = config_.frame_samples;
  const bool adaptive = config_.mode == JitterBufferMode::kAdaptive;
  info.timestamp = play_ts_;
  const uint32_t present = CountPresent(play_ts_, n);
  if (present == n) {
    Decode(play_ts_, out);
    if (adaptive) plc_.OnGoodFrame(out);
    info.kind = FrameKind::kReal;
  } else if (present == 0) {
    if (adaptive && plc_.Conceal(out)) {
      info.kind = FrameKind::kConcealed;
    } else {
      std::fill(out.begin(), out.end(), int16_t{0});
      info.kind = FrameKind::kSilence;
    }
  } else {
    // Part of the frame arrived: real samples where present, synthetic elsewhere.
    std::array<int16_t, kMaxFrameSamples> synthetic{};
    std::span<int16_t> fill(synthetic.data(), n);
    if (adaptive) {
      plc_.Conceal(fill);
    }
    Decode(play_ts_, out);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t slot = (play_ts_ + i) & mask_;
      if (((present_[slot >> 6] >> (slot & 63)) & 1) == 0) out[i] = fill[i];
    }
    info.kind = FrameKind::kConcealed;
  }
  Advance(n);
  return info;
}

FrameInfo JitterBuffer::Get(std::span<int16_t> out) {
  const uint32_t n = config_.frame_samples;
  if (out.size() != n) [[unlikely]] {
    std::abort();  // the caller's frame size disagrees with the configuration
  }
  last_get_ = clock_->Now();
  have_get_ = true;
  FrameInfo info;
  if (!synced_) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return Finish(info, out);
  }
  ++frames_since_adjust_;
  const int64_t error = (delay_avg_q8_ - target_q8_) >> 8;
  const int64_t frame = n;

  if (config_.mode == JitterBufferMode::kFixed) {
    // Controlled slip (as on a T1/E1 line): a whole frame dropped or repeated, only when
    // the delay has drifted past the threshold, so modems see one event, not many.
    if (error > static_cast<int64_t>(slip_threshold_)) {
      Advance(n);
      delay_avg_q8_ -= frame << 8;
      info.adjustment = PlayoutAdjustment::kShrunk;
    } else if (error < -static_cast<int64_t>(slip_threshold_)) {
      std::copy_n(last_frame_.begin(), n, out.begin());
      delay_avg_q8_ += frame << 8;
      info.adjustment = PlayoutAdjustment::kStretched;
      info.kind = FrameKind::kConcealed;
      info.timestamp = play_ts_;
      return Finish(info, out);
    }
    return Finish(PlayFrame(out, info), out);
  }

  const uint32_t present = CountPresent(play_ts_, n);
  bool quiet = present == 0;
  if (present == n) {
    Decode(play_ts_, out);
    quiet = IsQuiet(out);
  }
  const bool speech_adjust_allowed = frames_since_adjust_ >= config_.speech_adjust_interval_frames;
  if (error > frame) {
    if (quiet) {
      // Too much delay, and this frame is silence (or missing): drop it unheard.
      Advance(n);
      delay_avg_q8_ -= frame << 8;
      info.adjustment = PlayoutAdjustment::kShrunk;
    } else if (speech_adjust_allowed && present == n && CountPresent(play_ts_ + n, n) == n) {
      // In speech: merge this frame and the next into one, cross-fading from the first
      // to the second so that both ends join their neighbours.
      std::array<int16_t, kMaxFrameSamples> next{};
      Decode(play_ts_ + n, std::span<int16_t>(next.data(), n));
      for (uint32_t i = 0; i < n; ++i) {
        const int32_t w = static_cast<int32_t>(((i + 1) << 15) / (n + 1));
        out[i] = static_cast<int16_t>((out[i] * ((1 << 15) - w) + next[i] * w) >> 15);
      }
      plc_.OnGoodFrame(out);
      info.timestamp = play_ts_;
      Advance(2 * n);
      delay_avg_q8_ -= frame << 8;
      frames_since_adjust_ = 0;
      info.kind = FrameKind::kReal;
      info.adjustment = PlayoutAdjustment::kShrunk;
      return Finish(info, out);
    }
  } else if (error < -frame) {
    if (quiet || speech_adjust_allowed) {
      // Too little delay: play a frame without advancing. In silence, quiet is
      // repeated; in speech the concealer continues the pitch periods, and its blend
      // joins the real signal again on the next frame.
      info.timestamp = play_ts_;
      info.adjustment = PlayoutAdjustment::kStretched;
      if (!quiet) frames_since_adjust_ = 0;
      info.kind = plc_.Conceal(out) ? FrameKind::kConcealed : FrameKind::kSilence;
      delay_avg_q8_ += frame << 8;
      return Finish(info, out);
    }
  }
  return Finish(PlayFrame(out, info), out);
}

}  // namespace linegate::media::rtp
