#pragma once
// Region management for the shared-memory TDM bus: the tdm process creates (or takes
// over) one POSIX shared-memory object per card; a media process attaches to the
// channels of its shard. These calls make system calls and allocate: they belong to
// start-up, restart and supervision, never to the per-frame path (see ring.h).
//
// Why shm_open and not a file under the runtime directory: a POSIX shared-memory object
// always lives on tmpfs (/dev/shm), so the 8 kHz data path can never cause dirty-page
// writeback to a disk, whatever filesystem an operator chose for the runtime directory;
// and it needs no directory to exist before the tdm starts. The cost is a host-wide
// name space, hence the configurable prefix (one per gateway instance; tests use their
// own). memfd would be private to the creator unless its descriptor is passed around.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "media/tdmbus/layout.h"
#include "media/tdmbus/ring.h"

namespace linegate::media::tdmbus {

// The name of card card_index's region: "/<prefix>.card<N>". The prefix may hold
// letters, digits, '.', '_' and '-'.
Result<std::string> RegionName(std::string_view prefix, uint32_t card_index);

// Checks the ranges in layout.h; the message names the offending field.
Status ValidateGeometry(const Geometry& geometry);

// Why an attach failed, for a caller that retries: kAbsent and kNotReady are worth
// retrying (the tdm has not created the region yet, or is still initialising or
// replacing it); kIncompatible is not (another build, another layout).
enum class AttachFailure { kNone, kAbsent, kNotReady, kIncompatible, kSystem };

// What happened to the region's creator since the previous check.
enum class WriterChange {
  kNone,
  kRestarted,  // a new tdm process took the region over; rings carry on
  kRetired,    // the creator removed or replaced the region: attach again by name
};

namespace detail {
// One mmap, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(std::byte* address, std::size_t length) : address_(address), length_(length) {}
  ~Mapping();
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::byte* address() const { return address_; }
  std::size_t length() const { return length_; }
  void Reset();

 private:
  std::byte* address_ = nullptr;
  std::size_t length_ = 0;
};
}  // namespace detail

struct CreateOptions {
  // Permissions of the shared-memory object (the umask is not applied): the tdm and
  // media processes share a group.
  mode_t mode = 0660;
};

// The tdm side: owns the region of one card, writes the from-line rings, reads the
// to-line rings and drives the clock.
class CardRegion {
 public:
  // Creates the region and publishes its header last, so that a media process attaching
  // meanwhile sees "not ready". If a region of the same layout and geometry is already
  // there (the tdm restarted), takes it over instead: the rings keep their sequence
  // numbers, the generation is incremented so readers can tell. A region of another
  // geometry is retired (attached readers are told) and replaced.
  static Result<CardRegion> Create(const std::string& name, const Geometry& geometry,
                                   const CreateOptions& options = {});

  CardRegion(CardRegion&&) noexcept = default;
  CardRegion& operator=(CardRegion&&) noexcept = default;
  // Unmaps without removing the name: a restarted tdm takes the region over, and the
  // media processes keep their mappings meanwhile.
  ~CardRegion() = default;

  const std::string& name() const { return name_; }
  const Geometry& geometry() const { return geometry_; }
  // True when Create took over a region left by a previous tdm process.
  bool resumed() const { return resumed_; }
  uint64_t generation() const;

  Result<FrameWriter> FromLineWriter(uint32_t channel) const;
  Result<FrameReader> ToLineReader(uint32_t channel, ResumeFrom from = ResumeFrom::kWriterPosition) const;
  Result<RingStats> Stats(uint32_t channel, Direction direction) const;

  // Ends a tick: call after writing this tick's frame on every channel. Per-tick path:
  // two stores, no system call; monotonic_ns comes from the caller's clock.
  void Tick(uint64_t monotonic_ns) {
    RegionClock& clock = header()->clock;
    AtomicStore(clock.last_tick_ns, monotonic_ns, std::memory_order_relaxed);
    AtomicStore(clock.frame_counter, AtomicLoad(clock.frame_counter, std::memory_order_relaxed) + 1,
                std::memory_order_release);
  }
  uint64_t frame_counter() const {
    return AtomicLoad(header()->clock.frame_counter, std::memory_order_relaxed);
  }

  // Marks the region retired (attached readers see WriterChange::kRetired), removes its
  // name and unmaps it. The object itself lives until the last reader unmaps.
  Status Unlink();

 private:
  CardRegion(std::string name, const Geometry& geometry, detail::Mapping mapping, bool resumed);
  RingRef Ring(uint32_t channel, Direction direction) const;
  // Derived from the mapping rather than stored, so a moved-from region holds no pointer.
  RegionHeader* header() const { return reinterpret_cast<RegionHeader*>(mapping_.address()); }

  std::string name_;
  Geometry geometry_;
  detail::Mapping mapping_;
  bool resumed_ = false;
};

// The media side: a view of channels [first_channel, first_channel + channel_count) of
// one card. Only that byte range of the channel array is mapped (read-write), plus the
// header (read-only), so a media process cannot scribble on other shards' channels
// (except those sharing a boundary page, which the view refuses to hand out).
class ShardView {
 public:
  // Refuses a region that is absent, not yet published, retired, of another layout
  // version, built with other struct sizes, or too small for the shard.
  static Result<ShardView> Attach(const std::string& name, uint32_t first_channel, uint32_t channel_count,
                                  AttachFailure* failure = nullptr);

  ShardView(ShardView&&) noexcept = default;
  ShardView& operator=(ShardView&&) noexcept = default;
  ~ShardView() = default;

  const std::string& name() const { return name_; }
  const Geometry& geometry() const { return geometry_; }
  uint32_t first_channel() const { return first_channel_; }
  uint32_t channel_count() const { return channel_count_; }
  // Bytes mapped for the channels (page-rounded): less than the region for a shard.
  std::size_t mapped_channel_bytes() const { return channels_.length(); }

  // channel is the card-wide channel number; it must lie inside the shard.
  Result<FrameWriter> ToLineWriter(uint32_t channel) const;
  Result<FrameReader> FromLineReader(uint32_t channel, ResumeFrom from = ResumeFrom::kWriterPosition) const;
  Result<RingStats> Stats(uint32_t channel, Direction direction) const;

  // The tdm's clock. Acquire: the frames of every tick counted are visible.
  uint64_t frame_counter() const {
    return AtomicLoad(header()->clock.frame_counter, std::memory_order_acquire);
  }
  uint64_t last_tick_ns() const {
    return AtomicLoad(header()->clock.last_tick_ns, std::memory_order_relaxed);
  }
  uint64_t generation() const { return AtomicLoad(header()->clock.generation, std::memory_order_acquire); }

  // Cheap (two loads): call once per tick or per supervision round.
  WriterChange CheckWriter();

 private:
  ShardView() = default;
  Status CheckChannel(uint32_t channel) const;
  RingRef Ring(uint32_t channel, Direction direction) const;
  const RegionHeader* header() const {
    return reinterpret_cast<const RegionHeader*>(header_mapping_.address());
  }

  std::string name_;
  Geometry geometry_;
  uint32_t first_channel_ = 0;
  uint32_t channel_count_ = 0;
  detail::Mapping header_mapping_;  // read-only
  detail::Mapping channels_;
  // Region offset at which channels_ starts (page-aligned).
  uint64_t channels_map_offset_ = 0;
  uint64_t seen_generation_ = 0;
};

}  // namespace linegate::media::tdmbus
