#pragma once
// The per-frame path of the TDM bus: one producer and one consumer per ring, in
// different processes. No lock, no allocation, no system call; everything is inline.
//
// Overrun policy: the producer never overwrites a slot the consumer has not released.
// When the consumer is a whole ring behind, the producer drops the new frame (counted)
// but still consumes its sequence number, so sequence numbers stay tied to the clock.
// The consumer notices that it was lapped (head - tail > depth) and jumps to the
// producer's position, discarding the stale backlog (counted), so latency after a stall
// returns to the minimum instead of staying a ring long. Because a slot is never
// written while it may be read, readers (zero-copy ones included) never see a torn
// frame and the data needs no atomics: the head/tail release/acquire pairs order it.
//
// Every slot carries the sequence number it was written with; a consumer checks it, so
// a frame the producer dropped or skipped is detected and counted, never misread.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "media/tdmbus/layout.h"

namespace linegate::media::tdmbus {

// Addresses of one ring inside a mapped region (or any memory laid out the same way).
struct RingRef {
  RingControl* control = nullptr;
  std::byte* slots = nullptr;  // slot 0
  uint32_t depth = 0;
  uint32_t slot_stride = 0;
  uint32_t frame_bytes = 0;

  FrameSlotHeader* SlotFor(uint64_t sequence) const {
    return reinterpret_cast<FrameSlotHeader*>(slots + (sequence & (depth - 1)) * slot_stride);
  }
  static std::byte* Samples(FrameSlotHeader* slot) { return reinterpret_cast<std::byte*>(slot + 1); }
};

// Where a consumer starts when it attaches.
enum class ResumeFrom {
  // The producer's current position: frames written while this consumer was away are
  // counted as skipped. The right choice for live audio after a restart.
  kWriterPosition,
  // Where the previous consumer of this ring stopped (the tail kept in shared memory);
  // still subject to the lapped check on the first read.
  kLastConsumed,
};

class FrameWriter {
 public:
  FrameWriter() = default;
  // Resumes after whatever the previous producer of this ring committed, so that a
  // restarted producer continues the sequence.
  explicit FrameWriter(const RingRef& ring)
      : ring_(ring),
        head_(AtomicLoad(ring.control->producer.head, std::memory_order_acquire)),
        cached_tail_(AtomicLoad(ring.control->consumer.tail, std::memory_order_acquire)) {}

  bool valid() const { return ring_.control != nullptr; }
  uint32_t frame_bytes() const { return ring_.frame_bytes; }
  // Sequence number the next frame will get.
  uint64_t next_sequence() const { return head_; }

  // Frames that can be written now without a drop. Reads the consumer's line.
  uint32_t Space() {
    cached_tail_ = AtomicLoad(ring_.control->consumer.tail, std::memory_order_acquire);
    const uint64_t backlog = head_ - cached_tail_;  // above depth once frames were dropped
    return backlog >= ring_.depth ? 0 : static_cast<uint32_t>(ring_.depth - backlog);
  }

  // Copy path. samples.size() must be frame_bytes(). Returns false if the frame was
  // dropped because the consumer is a whole ring behind.
  bool Write(std::span<const std::byte> samples) {
    std::byte* slot = BeginWrite();
    if (slot == nullptr) [[unlikely]] {
      return false;
    }
    std::memcpy(slot, samples.data(), ring_.frame_bytes);
    CommitWrite();
    return true;
  }

  // Zero-copy path: returns the sample bytes of the slot for frame next_sequence(), to
  // be filled and then committed. Returns nullptr if the consumer is a whole ring behind;
  // that frame is then counted as dropped and its sequence number consumed. Calling
  // BeginWrite again without CommitWrite returns the same slot.
  std::byte* BeginWrite() {
    if (head_ - cached_tail_ >= ring_.depth) [[unlikely]] {
      // Only refresh the consumer's line when the ring looks full: one cross-core line
      // transfer per ring's worth of frames in steady state.
      cached_tail_ = AtomicLoad(ring_.control->consumer.tail, std::memory_order_acquire);
      if (head_ - cached_tail_ >= ring_.depth) {
        BumpCounter(ring_.control->producer.frames_dropped);
        Publish(head_ + 1);
        return nullptr;
      }
    }
    return RingRef::Samples(ring_.SlotFor(head_));
  }

  void CommitWrite() {
    ring_.SlotFor(head_)->sequence = head_;
    Publish(head_ + 1);
  }

  // Moves the sequence forward without writing, e.g. to realign a restarted producer
  // with the clock. The consumer counts the skipped frames. Never moves backwards.
  void SkipTo(uint64_t sequence) {
    if (sequence > head_) {
      Publish(sequence);
    }
  }

 private:
  void Publish(uint64_t head) {
    head_ = head;
    // Release: the slot contents and sequence written above become visible to a
    // consumer that acquires the head.
    AtomicStore(ring_.control->producer.head, head_, std::memory_order_release);
  }

  RingRef ring_;
  uint64_t head_ = 0;
  uint64_t cached_tail_ = 0;
};

class FrameReader {
 public:
  FrameReader() = default;
  FrameReader(const RingRef& ring, ResumeFrom from) : ring_(ring) {
    tail_ = AtomicLoad(ring.control->consumer.tail, std::memory_order_relaxed);
    cached_head_ = AtomicLoad(ring.control->producer.head, std::memory_order_acquire);
    if (from == ResumeFrom::kWriterPosition && cached_head_ > tail_) {
      JumpTo(cached_head_);
    }
  }

  bool valid() const { return ring_.control != nullptr; }
  uint32_t frame_bytes() const { return ring_.frame_bytes; }
  // Sequence number of the next frame this reader expects.
  uint64_t next_sequence() const { return tail_; }

  // Frames readable now (an upper bound: a frame the producer dropped in a race with
  // this reader is discovered, and skipped, when its slot is reached). 0 when lapped.
  uint32_t Available() {
    cached_head_ = AtomicLoad(ring_.control->producer.head, std::memory_order_acquire);
    const uint64_t backlog = cached_head_ - tail_;
    return backlog > ring_.depth ? 0 : static_cast<uint32_t>(backlog);
  }

  // Copy path: copies the next frame into out (frame_bytes() long) and returns its
  // sequence number, or nullopt if there is none (underrun or resync; counted).
  std::optional<uint64_t> Read(std::span<std::byte> out) {
    uint64_t sequence = 0;
    const std::byte* samples = BeginRead(&sequence);
    if (samples == nullptr) {
      return std::nullopt;
    }
    std::memcpy(out.data(), samples, ring_.frame_bytes);
    EndRead();
    return sequence;
  }

  // Zero-copy path: returns the next frame's samples (and its sequence number), valid
  // until EndRead; the producer will not touch the slot before then. nullptr if there
  // is no frame: an underrun, or a resync after being lapped (each counted).
  const std::byte* BeginRead(uint64_t* sequence) {
    for (;;) {
      if (tail_ == cached_head_) {
        cached_head_ = AtomicLoad(ring_.control->producer.head, std::memory_order_acquire);
        if (tail_ == cached_head_) {
          BumpCounter(ring_.control->consumer.underruns);
          return nullptr;
        }
      }
      if (cached_head_ - tail_ > ring_.depth) [[unlikely]] {
        // Lapped: everything still in the ring is older than a ring; start again at the
        // producer's position with the newest frames.
        JumpTo(cached_head_);
        return nullptr;
      }
      FrameSlotHeader* slot = ring_.SlotFor(tail_);
      if (slot->sequence == tail_) [[likely]] {
        *sequence = tail_;
        return RingRef::Samples(slot);
      }
      // The producer dropped or skipped this frame: count it and look at the next one.
      BumpCounter(ring_.control->consumer.frames_skipped);
      Release(tail_ + 1);
    }
  }

  void EndRead() { Release(tail_ + 1); }

  // Discards the backlog and continues with the next frame the producer writes, e.g.
  // after the producer restarted.
  void SkipToNewest() {
    cached_head_ = AtomicLoad(ring_.control->producer.head, std::memory_order_acquire);
    if (cached_head_ > tail_) {
      JumpTo(cached_head_);
    }
  }

 private:
  void JumpTo(uint64_t sequence) {
    BumpCounter(ring_.control->consumer.frames_skipped, sequence - tail_);
    BumpCounter(ring_.control->consumer.resyncs);
    Release(sequence);
  }

  void Release(uint64_t tail) {
    tail_ = tail;
    // Release: our reads of the slot complete before the producer may reuse it.
    AtomicStore(ring_.control->consumer.tail, tail_, std::memory_order_release);
  }

  RingRef ring_;
  uint64_t tail_ = 0;
  uint64_t cached_head_ = 0;
};

// A snapshot of a ring's counters, for metrics and tests.
struct RingStats {
  uint64_t head = 0;
  uint64_t tail = 0;
  uint64_t frames_dropped = 0;
  uint64_t underruns = 0;
  uint64_t frames_skipped = 0;
  uint64_t resyncs = 0;
};

inline RingStats ReadRingStats(const RingControl& control) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  return RingStats{
      .head = AtomicLoad(control.producer.head, kRelaxed),
      .tail = AtomicLoad(control.consumer.tail, kRelaxed),
      .frames_dropped = AtomicLoad(control.producer.frames_dropped, kRelaxed),
      .underruns = AtomicLoad(control.consumer.underruns, kRelaxed),
      .frames_skipped = AtomicLoad(control.consumer.frames_skipped, kRelaxed),
      .resyncs = AtomicLoad(control.consumer.resyncs, kRelaxed),
  };
}

}  // namespace linegate::media::tdmbus
