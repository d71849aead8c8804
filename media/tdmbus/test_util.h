#pragma once
// Helpers shared by the tdmbus tests: unique region names, sample patterns that make a
// torn or misdelivered frame visible, and ring memory outside shared memory.

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "media/tdmbus/layout.h"
#include "media/tdmbus/ring.h"

namespace linegate::media::tdmbus::testing {

// Unique per process and call, so parallel ctest runs never share a region.
inline std::string UniqueRegionName(std::string_view tag) {
  static std::atomic<int> counter{0};
  return fmt::format("/lgtest.{}.{}.{}", ::getpid(), tag, counter.fetch_add(1));
}

// Removes the name at scope exit, whatever the test did with it.
class NameCleanup {
 public:
  explicit NameCleanup(std::string name) : name_(std::move(name)) {}
  ~NameCleanup() { ::shm_unlink(name_.c_str()); }
  NameCleanup(const NameCleanup&) = delete;
  NameCleanup& operator=(const NameCleanup&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Every byte depends on the sequence number, the channel and a per-direction salt, so a
// frame from the wrong sequence, channel or direction, or half of two frames, fails.
inline std::byte PatternByte(uint32_t channel, uint64_t sequence, uint32_t index, uint8_t salt) {
  const auto seq_byte = static_cast<uint8_t>(sequence >> (8 * (index % 8)));
  return static_cast<std::byte>(seq_byte ^ static_cast<uint8_t>(index * 29u + channel * 17u + salt));
}

inline void FillPattern(std::span<std::byte> frame, uint32_t channel, uint64_t sequence, uint8_t salt) {
  for (uint32_t i = 0; i < frame.size(); ++i) {
    frame[i] = PatternByte(channel, sequence, i, salt);
  }
}

inline bool MatchesPattern(std::span<const std::byte> frame, uint32_t channel, uint64_t sequence,
                           uint8_t salt) {
  for (uint32_t i = 0; i < frame.size(); ++i) {
    if (frame[i] != PatternByte(channel, sequence, i, salt)) {
      return false;
    }
  }
  return true;
}

// One ring in ordinary, cache-line-aligned memory, initialised as the creator would.
class HeapRing {
 public:
  explicit HeapRing(const Geometry& geometry) : geometry_(geometry) {
    const std::size_t size = RingStride(geometry);
    memory_.reset(static_cast<std::byte*>(::operator new[](size, std::align_val_t{kCacheLine})));
    std::memset(memory_.get(), 0, size);
    ring_ = RingRef{
        .control = reinterpret_cast<RingControl*>(memory_.get()),
        .slots = memory_.get() + sizeof(RingControl),
        .depth = geometry.ring_depth,
        .slot_stride = SlotStride(geometry),
        .frame_bytes = FrameBytes(geometry),
    };
    for (uint32_t slot = 0; slot < geometry.ring_depth; ++slot) {
      ring_.SlotFor(slot)->sequence = kNoSequence;
    }
  }

  const RingRef& ring() const { return ring_; }
  RingStats stats() const { return ReadRingStats(*ring_.control); }

 private:
  struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{kCacheLine}); }
  };
  Geometry geometry_;
  std::unique_ptr<std::byte, AlignedDelete> memory_;
  RingRef ring_;
};

}  // namespace linegate::media::tdmbus::testing
