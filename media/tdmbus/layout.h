#pragma once
// The shared-memory TDM bus layout: the one header that both the tdm process (creator,
// clock owner) and the media processes compile. Everything that lives in the shared
// region is a plain, trivially copyable, standard-layout struct of fixed-width integers;
// the fields that two processes touch concurrently are accessed only through
// std::atomic_ref (see AtomicLoad/AtomicStore below), so the bytes in memory are the
// same whatever compiler or standard library built either side.
//
// Region (one per card), offsets in bytes:
//
//   0            RegionHeader        identity (2 lines, written once) + clock (1 line)
//   4096         channel 0           RingLayout to_line   | RingLayout from_line
//   4096+S       channel 1           ...
//   ...          channel N-1
//
// Ring (one per channel and direction, single producer, single consumer):
//
//   +0    ProducerLine   head, frames_dropped          written by the producer only
//   +64   ConsumerLine   tail, underruns, skipped, ... written by the consumer only
//   +128  slot 0         FrameSlotHeader{sequence} + samples, padded to 64
//   ...   slot depth-1
//
// Every stride is a multiple of the cache line, so no two rings (and no two channels)
// share a line, and the producer and the consumer of one ring never write the same line.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace linegate::media::tdmbus {

inline constexpr std::size_t kCacheLine = 64;

// Bumped whenever any struct below, a stride rule or the protocol changes. A build that
// disagrees refuses to attach ("layout version 2, expected 1").
inline constexpr uint32_t kLayoutVersion = 1;

// "LGTDMBUS" as little-endian bytes: readable in a hex dump of /dev/shm.
inline constexpr uint64_t kMagic = 0x5355424d4454474cull;

// The channel array starts one page in, so that a media process can map its shard of
// channels separately from the header with a page-aligned mmap offset.
inline constexpr uint64_t kChannelsOffset = 4096;

// Slots start with this sequence number until their first write, so that a slot that was
// never written can never be mistaken for frame 0.
inline constexpr uint64_t kNoSequence = ~uint64_t{0};

// 8 kHz sampling; frames of 1..10 ms.
inline constexpr uint32_t kSampleRateHz = 8000;
inline constexpr uint32_t kMinFrameSamples = 8;
inline constexpr uint32_t kMaxFrameSamples = 80;
inline constexpr uint32_t kMinRingDepth = 2;
inline constexpr uint32_t kMaxRingDepth = 4096;
inline constexpr uint32_t kMaxChannels = 8192;
inline constexpr uint64_t kMaxRegionBytes = uint64_t{1} << 30;

enum class SampleFormat : uint32_t {
  kUnspecified = 0,
  kMulaw = 1,     // G.711 mu-law, one byte per sample
  kAlaw = 2,      // G.711 A-law, one byte per sample
  kLinear16 = 3,  // signed 16-bit linear PCM, host byte order (both sides share the host)
};

enum class Direction : uint32_t {
  kToLine = 0,    // media writes, tdm reads
  kFromLine = 1,  // tdm writes, media reads
};

enum class RegionState : uint32_t {
  kUnset = 0,
  kReady = 1,
  // The creator replaced this region (geometry change) or removed it: attached readers
  // must re-attach by name.
  kRetired = 2,
};

// What a card's bus carries; chosen by the tdm side from the configuration.
struct Geometry {
  uint32_t channel_count = 0;
  uint32_t frame_samples = 0;  // samples per frame at 8 kHz: 8 = 1 ms .. 80 = 10 ms
  uint32_t ring_depth = 0;     // frames per ring, a power of two
  SampleFormat sample_format = SampleFormat::kUnspecified;

  friend bool operator==(const Geometry&, const Geometry&) = default;
};

// ---- Shared structs ----------------------------------------------------------------

// Written once by the creator before the magic is published; read-only afterwards.
struct RegionIdentity {
  // The first 16 bytes are frozen across all layout versions so that any build can read
  // them and say precisely what is wrong.
  uint64_t magic;  // atomic: 0 until the creator has initialised everything else
  uint32_t layout_version;
  uint32_t header_size;  // sizeof(RegionHeader)
  // Sizes of the fixed structs, so that a build with a different struct layout but the
  // same version number (a bad merge, a different ABI) is refused too.
  uint32_t ring_control_size;  // sizeof(RingControl)
  uint32_t slot_header_size;   // sizeof(FrameSlotHeader)
  uint32_t channel_count;
  uint32_t frame_samples;
  uint32_t ring_depth;
  uint32_t sample_format;  // SampleFormat
  uint32_t slot_stride;
  uint32_t reserved0;
  uint64_t ring_stride;
  uint64_t channel_stride;
  uint64_t channels_offset;
  uint64_t region_size;
  uint64_t reserved1[6];
};

// Written by the creator (tdm) only; every field is atomic.
struct alignas(kCacheLine) RegionClock {
  // Frames of the 8 kHz clock elapsed since the region was created; advanced with
  // release semantics after the tdm has written that tick's frame on every channel, so a
  // reader that loads it with acquire sees all of those frames.
  uint64_t frame_counter;
  // CLOCK_MONOTONIC of the last tick, as given by the tdm (system-wide on Linux, so a
  // reader can tell a stalled writer without keeping its own history).
  uint64_t last_tick_ns;
  // Incremented each time a tdm process (re)takes the region: a reader that sees it
  // change knows the writer restarted (frames were missed, the clock may have jumped).
  uint64_t generation;
  uint32_t state;  // RegionState
  uint32_t creator_pid;
  uint64_t reserved[4];
};

struct RegionHeader {
  RegionIdentity identity;
  RegionClock clock;
};

// Written by the ring's producer only.
struct alignas(kCacheLine) ProducerLine {
  // Sequence number of the next frame to be written; every frame the producer accounts
  // for (written or dropped) advances it by one.
  uint64_t head;
  // Frames not written because the consumer was a whole ring behind (overrun).
  uint64_t frames_dropped;
  uint64_t reserved[6];
};

// Written by the ring's consumer only.
struct alignas(kCacheLine) ConsumerLine {
  // Sequence number of the next frame to be read; slots below it are free for reuse.
  uint64_t tail;
  uint64_t underruns;       // reads that found no frame
  uint64_t frames_skipped;  // sequence numbers the consumer never got (dropped, lapped, downtime)
  uint64_t resyncs;         // jumps to the writer's position (lapped, or re-attached)
  uint64_t reserved[4];
};

struct RingControl {
  ProducerLine producer;
  ConsumerLine consumer;
};

// The fixed part of a slot; frame_samples * BytesPerSample() sample bytes follow.
struct FrameSlotHeader {
  uint64_t sequence;
};

// ---- Static checks -----------------------------------------------------------------

template <typename T>
inline constexpr bool kSharedType = std::is_trivially_copyable_v<T>&& std::is_standard_layout_v<T>;

static_assert(kSharedType<RegionIdentity> && kSharedType<RegionClock> && kSharedType<RegionHeader>);
static_assert(kSharedType<ProducerLine> && kSharedType<ConsumerLine> && kSharedType<RingControl>);
static_assert(kSharedType<FrameSlotHeader>);

static_assert(offsetof(RegionIdentity, magic) == 0);
static_assert(offsetof(RegionIdentity, layout_version) == 8);
static_assert(offsetof(RegionIdentity, header_size) == 12);
static_assert(sizeof(RegionIdentity) == 2 * kCacheLine);
static_assert(sizeof(RegionClock) == kCacheLine && alignof(RegionClock) == kCacheLine);
static_assert(offsetof(RegionHeader, clock) == 2 * kCacheLine);
static_assert(sizeof(RegionHeader) == 3 * kCacheLine);
static_assert(sizeof(RegionHeader) <= kChannelsOffset);

static_assert(sizeof(ProducerLine) == kCacheLine && alignof(ProducerLine) == kCacheLine);
static_assert(sizeof(ConsumerLine) == kCacheLine && alignof(ConsumerLine) == kCacheLine);
static_assert(offsetof(RingControl, consumer) == kCacheLine);  // head and tail never share a line
static_assert(sizeof(RingControl) == 2 * kCacheLine);
static_assert(sizeof(FrameSlotHeader) == 8);

// Fields shared between processes are plain uint64_t/uint32_t accessed through
// atomic_ref; they must be lock-free (a lock would live in one process's memory) and
// naturally aligned.
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);
static_assert(alignof(uint64_t) >= std::atomic_ref<uint64_t>::required_alignment);
static_assert(alignof(uint32_t) >= std::atomic_ref<uint32_t>::required_alignment);

// ---- Atomic access to shared fields ------------------------------------------------

template <typename T>
inline T AtomicLoad(const T& field, std::memory_order order) {
  // atomic_ref needs a non-const T; the load does not write.
  return std::atomic_ref<T>(const_cast<T&>(field)).load(order);
}

template <typename T>
inline void AtomicStore(T& field, T value, std::memory_order order) {
  std::atomic_ref<T>(field).store(value, order);
}

// Increments a counter that has a single writer: a load and a store, not a locked
// read-modify-write, because nobody else writes it.
inline void BumpCounter(uint64_t& field, uint64_t by = 1) {
  AtomicStore(field, AtomicLoad(field, std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// ---- Geometry arithmetic (identical on both sides) ---------------------------------

constexpr uint64_t RoundUp(uint64_t value, uint64_t to) { return (value + to - 1) / to * to; }

constexpr uint32_t BytesPerSample(SampleFormat format) {
  switch (format) {
    case SampleFormat::kMulaw:
    case SampleFormat::kAlaw:
      return 1;
    case SampleFormat::kLinear16:
      return 2;
    case SampleFormat::kUnspecified:
      break;
  }
  return 0;
}

constexpr uint32_t FrameBytes(const Geometry& g) { return g.frame_samples * BytesPerSample(g.sample_format); }

// Slots are padded to whole cache lines so that the producer filling slot k+1 does not
// invalidate the line the consumer is reading slot k from.
constexpr uint32_t SlotStride(const Geometry& g) {
  return static_cast<uint32_t>(RoundUp(sizeof(FrameSlotHeader) + FrameBytes(g), kCacheLine));
}

constexpr uint64_t RingStride(const Geometry& g) {
  return sizeof(RingControl) + uint64_t{g.ring_depth} * SlotStride(g);
}

constexpr uint64_t ChannelStride(const Geometry& g) { return 2 * RingStride(g); }

constexpr uint64_t ChannelOffset(const Geometry& g, uint32_t channel) {
  return kChannelsOffset + uint64_t{channel} * ChannelStride(g);
}

constexpr uint64_t RingOffset(const Geometry& g, uint32_t channel, Direction direction) {
  return ChannelOffset(g, channel) + static_cast<uint32_t>(direction) * RingStride(g);
}

constexpr uint64_t RegionSize(const Geometry& g) { return ChannelOffset(g, g.channel_count); }

constexpr bool IsPowerOfTwo(uint32_t v) { return std::has_single_bit(v); }

static_assert(SlotStride({1, 80, 8, SampleFormat::kMulaw}) == 128);
static_assert(SlotStride({1, 80, 8, SampleFormat::kLinear16}) == 192);
static_assert(SlotStride({1, 8, 8, SampleFormat::kAlaw}) == 64);
static_assert(RingStride({1, 80, 8, SampleFormat::kMulaw}) % kCacheLine == 0);

}  // namespace linegate::media::tdmbus
