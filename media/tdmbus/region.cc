#include "media/tdmbus/region.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace linegate::media::tdmbus {
namespace {

// Region names are host-wide; keep them to characters that need no quoting in logs,
// systemd units or `ls /dev/shm`.
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

Status ValidateName(const std::string& name) {
  // POSIX: one leading slash and no other; NAME_MAX for the /dev/shm entry.
  if (name.size() < 2 || name.size() > 255 || name[0] != '/') {
    return Error{fmt::format("tdmbus region name \"{}\" must be '/' followed by 1..254 characters", name)};
  }
  for (std::size_t i = 1; i < name.size(); ++i) {
    if (!IsNameChar(name[i])) {
      return Error{fmt::format("tdmbus region name \"{}\" has a character other than [A-Za-z0-9._-]", name)};
    }
  }
  return Status::Ok();
}

std::string Prefix(const std::string& name) { return fmt::format("tdmbus region {}: ", name); }

Error SystemError(const std::string& name, const char* call) {
  return Error{fmt::format("{}{} failed: {}", Prefix(name), call, std::strerror(errno))};
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

uint64_t PageSize() { return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)); }

Result<detail::Mapping> Map(const std::string& name, int fd, uint64_t offset, uint64_t length,
                            int protection) {
  // MAP_POPULATE: take the page faults now rather than on the first frames of a call.
  void* address =
      ::mmap(nullptr, length, protection, MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(offset));
  if (address == MAP_FAILED) {
    return SystemError(name, "mmap");
  }
  return detail::Mapping(static_cast<std::byte*>(address), length);
}

RingRef MakeRing(std::byte* base, const Geometry& g) {
  return RingRef{
      .control = reinterpret_cast<RingControl*>(base),
      .slots = base + sizeof(RingControl),
      .depth = g.ring_depth,
      .slot_stride = SlotStride(g),
      .frame_bytes = FrameBytes(g),
  };
}

// Checks a published header against this build. On success fills *geometry.
Status ValidateHeader(const std::string& name, const RegionHeader& header, uint64_t object_size,
                      Geometry* geometry, AttachFailure* failure) {
  const RegionIdentity& id = header.identity;
  // Acquire pairs with the creator's release of the magic: everything else in the
  // header (and every ring) was initialised before it.
  const uint64_t magic = AtomicLoad(id.magic, std::memory_order_acquire);
  if (magic == 0) {
    *failure = AttachFailure::kNotReady;
    return Error{Prefix(name) + "not ready (its creator is still initialising it)"};
  }
  *failure = AttachFailure::kIncompatible;
  if (magic != kMagic) {
    return Error{fmt::format("{}bad magic {:#018x}, expected {:#018x}", Prefix(name), magic, kMagic)};
  }
  if (id.layout_version != kLayoutVersion) {
    return Error{
        fmt::format("{}layout version {}, expected {}", Prefix(name), id.layout_version, kLayoutVersion)};
  }
  const struct {
    const char* what;
    uint64_t found;
    uint64_t expected;
  } sizes[] = {
      {"header size", id.header_size, sizeof(RegionHeader)},
      {"ring control size", id.ring_control_size, sizeof(RingControl)},
      {"frame slot header size", id.slot_header_size, sizeof(FrameSlotHeader)},
  };
  for (const auto& size : sizes) {
    if (size.found != size.expected) {
      return Error{fmt::format("{}{} {}, expected {}", Prefix(name), size.what, size.found, size.expected)};
    }
  }
  const Geometry g{
      .channel_count = id.channel_count,
      .frame_samples = id.frame_samples,
      .ring_depth = id.ring_depth,
      .sample_format = static_cast<SampleFormat>(id.sample_format),
  };
  if (Status valid = ValidateGeometry(g); !valid) {
    return Error{Prefix(name) + valid.error()};
  }
  const struct {
    const char* what;
    uint64_t found;
    uint64_t expected;
  } strides[] = {
      {"slot stride", id.slot_stride, SlotStride(g)},
      {"ring stride", id.ring_stride, RingStride(g)},
      {"channel stride", id.channel_stride, ChannelStride(g)},
      {"channels offset", id.channels_offset, kChannelsOffset},
      {"region size", id.region_size, RegionSize(g)},
  };
  for (const auto& stride : strides) {
    if (stride.found != stride.expected) {
      return Error{
          fmt::format("{}{} {}, expected {}", Prefix(name), stride.what, stride.found, stride.expected)};
    }
  }
  if (object_size < id.region_size) {
    return Error{fmt::format("{}region size {} but the object has only {} bytes", Prefix(name),
                             id.region_size, object_size)};
  }
  if (AtomicLoad(header.clock.state, std::memory_order_acquire) !=
      static_cast<uint32_t>(RegionState::kReady)) {
    // Retired: the creator is replacing it; the new region will appear under the name.
    *failure = AttachFailure::kNotReady;
    return Error{Prefix(name) + "retired by its creator (being replaced)"};
  }
  *failure = AttachFailure::kNone;
  *geometry = g;
  return Status::Ok();
}

// Opens an existing region and maps its header; the descriptor stays open for mapping
// the part the caller needs.
Status OpenExisting(const std::string& name, int open_flags, UniqueFd* fd_out, uint64_t* size_out,
                    detail::Mapping* header_out, int header_protection, AttachFailure* failure) {
  const int fd = ::shm_open(name.c_str(), open_flags, 0);
  if (fd < 0) {
    *failure = errno == ENOENT ? AttachFailure::kAbsent : AttachFailure::kSystem;
    return errno == ENOENT ? Error{Prefix(name) + "does not exist"} : SystemError(name, "shm_open");
  }
  fd_out->Reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *failure = AttachFailure::kSystem;
    return SystemError(name, "fstat");
  }
  *size_out = static_cast<uint64_t>(st.st_size);
  if (*size_out < sizeof(RegionHeader)) {
    // Created but not yet sized: the creator is between shm_open and ftruncate.
    *failure = AttachFailure::kNotReady;
    return Error{Prefix(name) + "not ready (its creator is still initialising it)"};
  }
  Result<detail::Mapping> header = Map(name, fd, 0, sizeof(RegionHeader), header_protection);
  if (!header) {
    *failure = AttachFailure::kSystem;
    return Error{header.error()};
  }
  *header_out = std::move(header).value();
  return Status::Ok();
}

}  // namespace

// ---- detail::Mapping ---------------------------------------------------------------

namespace detail {
Mapping::~Mapping() { Reset(); }

Mapping::Mapping(Mapping&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)), length_(std::exchange(other.length_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    address_ = std::exchange(other.address_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

void Mapping::Reset() {
  if (address_ != nullptr) {
    ::munmap(address_, length_);
    address_ = nullptr;
    length_ = 0;
  }
}
}  // namespace detail

// ---- Free functions ----------------------------------------------------------------

Result<std::string> RegionName(std::string_view prefix, uint32_t card_index) {
  std::string name = fmt::format("/{}.card{}", prefix, card_index);
  if (prefix.empty()) {
    return Error{"tdmbus region prefix is empty"};
  }
  if (Status valid = ValidateName(name); !valid) {
    return Error{valid.error()};
  }
  return name;
}

Status ValidateGeometry(const Geometry& g) {
  if (g.channel_count < 1 || g.channel_count > kMaxChannels) {
    return Error{fmt::format("channel count {} out of range 1..{}", g.channel_count, kMaxChannels)};
  }
  if (g.frame_samples < kMinFrameSamples || g.frame_samples > kMaxFrameSamples) {
    return Error{fmt::format("frame of {} samples out of range {}..{} (1..10 ms at 8 kHz)", g.frame_samples,
                             kMinFrameSamples, kMaxFrameSamples)};
  }
  if (!IsPowerOfTwo(g.ring_depth) || g.ring_depth < kMinRingDepth || g.ring_depth > kMaxRingDepth) {
    return Error{fmt::format("ring depth {} is not a power of two in {}..{}", g.ring_depth, kMinRingDepth,
                             kMaxRingDepth)};
  }
  if (BytesPerSample(g.sample_format) == 0) {
    return Error{fmt::format("sample format {} unknown", static_cast<uint32_t>(g.sample_format))};
  }
  if (RegionSize(g) > kMaxRegionBytes) {
    return Error{fmt::format("region of {} bytes exceeds the limit of {}", RegionSize(g), kMaxRegionBytes)};
  }
  return Status::Ok();
}

// ---- CardRegion ----------------------------------------------------------------------

namespace {

// Builds a fresh region in a newly created, empty object and publishes it.
Result<detail::Mapping> Initialise(const std::string& name, int fd, const Geometry& g,
                                   const CreateOptions& options) {
  // shm_open applied the umask; the group must be able to attach.
  if (::fchmod(fd, options.mode) != 0) {
    return SystemError(name, "fchmod");
  }
  const uint64_t size = RegionSize(g);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return SystemError(name, "ftruncate");
  }
  Result<detail::Mapping> mapping = Map(name, fd, 0, size, PROT_READ | PROT_WRITE);
  if (!mapping) {
    return mapping;
  }
  // ftruncate zero-filled the object: indices and counters start at 0 and the magic is
  // 0 ("not ready") until the end.
  std::byte* base = mapping->address();
  auto* header = reinterpret_cast<RegionHeader*>(base);
  RegionIdentity& id = header->identity;
  id.layout_version = kLayoutVersion;
  id.header_size = sizeof(RegionHeader);
  id.ring_control_size = sizeof(RingControl);
  id.slot_header_size = sizeof(FrameSlotHeader);
  id.channel_count = g.channel_count;
  id.frame_samples = g.frame_samples;
  id.ring_depth = g.ring_depth;
  id.sample_format = static_cast<uint32_t>(g.sample_format);
  id.slot_stride = SlotStride(g);
  id.ring_stride = RingStride(g);
  id.channel_stride = ChannelStride(g);
  id.channels_offset = kChannelsOffset;
  id.region_size = size;
  header->clock.generation = 1;
  header->clock.state = static_cast<uint32_t>(RegionState::kReady);
  header->clock.creator_pid = static_cast<uint32_t>(::getpid());
  for (uint32_t channel = 0; channel < g.channel_count; ++channel) {
    for (Direction direction : {Direction::kToLine, Direction::kFromLine}) {
      const RingRef ring = MakeRing(base + RingOffset(g, channel, direction), g);
      for (uint32_t slot = 0; slot < g.ring_depth; ++slot) {
        ring.SlotFor(slot)->sequence = kNoSequence;
      }
    }
  }
  // Published last, with release: a reader that acquires the magic sees all of the above.
  AtomicStore(id.magic, kMagic, std::memory_order_release);
  return mapping;
}

enum class TakeOverOutcome { kTaken, kReplace, kError };

// A region already exists under the name: a previous tdm process left it. Take it over
// if it is ours in every respect, otherwise report that it must be replaced.
TakeOverOutcome TryTakeOver(const std::string& name, const Geometry& g, detail::Mapping* mapping,
                            Error* error) {
  UniqueFd fd(-1);
  uint64_t size = 0;
  detail::Mapping header_mapping;
  AttachFailure failure = AttachFailure::kNone;
  Status opened = OpenExisting(name, O_RDWR, &fd, &size, &header_mapping, PROT_READ | PROT_WRITE, &failure);
  if (!opened) {
    if (failure == AttachFailure::kAbsent) {
      return TakeOverOutcome::kReplace;  // removed meanwhile: create afresh
    }
    if (failure == AttachFailure::kSystem) {
      *error = Error{opened.error()};
      return TakeOverOutcome::kError;
    }
    return TakeOverOutcome::kReplace;  // never finished initialising
  }
  auto* header = reinterpret_cast<RegionHeader*>(header_mapping.address());
  Geometry existing;
  if (Status valid = ValidateHeader(name, *header, size, &existing, &failure); !valid) {
    // Another layout, a crashed initialisation or already retired: readers of another
    // layout cannot be told (they see the clock stop); replace it.
    return TakeOverOutcome::kReplace;
  }
  if (existing != g) {
    // Same layout, other geometry (the configuration changed): tell attached readers to
    // re-attach, then replace.
    AtomicStore(header->clock.state, static_cast<uint32_t>(RegionState::kRetired), std::memory_order_release);
    return TakeOverOutcome::kReplace;
  }
  Result<detail::Mapping> whole = Map(name, fd.get(), 0, RegionSize(g), PROT_READ | PROT_WRITE);
  if (!whole) {
    *error = Error{whole.error()};
    return TakeOverOutcome::kError;
  }
  auto* live = reinterpret_cast<RegionHeader*>(whole->address());
  AtomicStore(live->clock.creator_pid, static_cast<uint32_t>(::getpid()), std::memory_order_relaxed);
  AtomicStore(live->clock.generation, AtomicLoad(live->clock.generation, std::memory_order_relaxed) + 1,
              std::memory_order_release);
  *mapping = std::move(whole).value();
  return TakeOverOutcome::kTaken;
}

}  // namespace

Result<CardRegion> CardRegion::Create(const std::string& name, const Geometry& geometry,
                                      const CreateOptions& options) {
  if (Status valid = ValidateName(name); !valid) {
    return Error{valid.error()};
  }
  if (Status valid = ValidateGeometry(geometry); !valid) {
    return Error{Prefix(name) + valid.error()};
  }
  // Two rounds: the second follows the removal of a region that could not be taken over.
  for (int round = 0; round < 2; ++round) {
    const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, options.mode);
    if (fd >= 0) {
      UniqueFd owned(fd);
      Result<detail::Mapping> mapping = Initialise(name, fd, geometry, options);
      if (!mapping) {
        ::shm_unlink(name.c_str());  // leave no half-built region behind
        return Error{mapping.error()};
      }
      return CardRegion(name, geometry, std::move(mapping).value(), /*resumed=*/false);
    }
    if (errno != EEXIST) {
      return SystemError(name, "shm_open");
    }
    detail::Mapping mapping;
    Error error;
    switch (TryTakeOver(name, geometry, &mapping, &error)) {
      case TakeOverOutcome::kTaken:
        return CardRegion(name, geometry, std::move(mapping), /*resumed=*/true);
      case TakeOverOutcome::kError:
        return error;
      case TakeOverOutcome::kReplace:
        if (::shm_unlink(name.c_str()) != 0 && errno != ENOENT) {
          return SystemError(name, "shm_unlink");
        }
        break;
    }
  }
  return Error{Prefix(name) + "could not be created: another process keeps creating it"};
}

CardRegion::CardRegion(std::string name, const Geometry& geometry, detail::Mapping mapping, bool resumed)
    : name_(std::move(name)), geometry_(geometry), mapping_(std::move(mapping)), resumed_(resumed) {}

uint64_t CardRegion::generation() const {
  return AtomicLoad(header()->clock.generation, std::memory_order_relaxed);
}

RingRef CardRegion::Ring(uint32_t channel, Direction direction) const {
  return MakeRing(mapping_.address() + RingOffset(geometry_, channel, direction), geometry_);
}

Result<FrameWriter> CardRegion::FromLineWriter(uint32_t channel) const {
  if (channel >= geometry_.channel_count) {
    return Error{fmt::format("{}channel {} outside the region's {} channels", Prefix(name_), channel,
                             geometry_.channel_count)};
  }
  return FrameWriter(Ring(channel, Direction::kFromLine));
}

Result<FrameReader> CardRegion::ToLineReader(uint32_t channel, ResumeFrom from) const {
  if (channel >= geometry_.channel_count) {
    return Error{fmt::format("{}channel {} outside the region's {} channels", Prefix(name_), channel,
                             geometry_.channel_count)};
  }
  return FrameReader(Ring(channel, Direction::kToLine), from);
}

Result<RingStats> CardRegion::Stats(uint32_t channel, Direction direction) const {
  if (channel >= geometry_.channel_count) {
    return Error{fmt::format("{}channel {} outside the region's {} channels", Prefix(name_), channel,
                             geometry_.channel_count)};
  }
  return ReadRingStats(*Ring(channel, direction).control);
}

Status CardRegion::Unlink() {
  if (mapping_.address() == nullptr) {
    return Error{Prefix(name_) + "already unlinked"};
  }
  AtomicStore(header()->clock.state, static_cast<uint32_t>(RegionState::kRetired), std::memory_order_release);
  mapping_.Reset();
  if (::shm_unlink(name_.c_str()) != 0) {
    return SystemError(name_, "shm_unlink");
  }
  return Status::Ok();
}

// ---- ShardView -----------------------------------------------------------------------

Result<ShardView> ShardView::Attach(const std::string& name, uint32_t first_channel, uint32_t channel_count,
                                    AttachFailure* failure) {
  AttachFailure ignored = AttachFailure::kNone;
  if (failure == nullptr) {
    failure = &ignored;
  }
  *failure = AttachFailure::kIncompatible;
  if (Status valid = ValidateName(name); !valid) {
    return Error{valid.error()};
  }
  if (channel_count == 0) {
    return Error{Prefix(name) + "empty shard"};
  }
  UniqueFd fd(-1);
  uint64_t size = 0;
  ShardView view;
  // The header is mapped read-only: only the tdm writes it.
  if (Status opened = OpenExisting(name, O_RDWR, &fd, &size, &view.header_mapping_, PROT_READ, failure);
      !opened) {
    return Error{opened.error()};
  }
  if (Status valid = ValidateHeader(name, *view.header(), size, &view.geometry_, failure); !valid) {
    return Error{valid.error()};
  }
  const uint64_t end = uint64_t{first_channel} + channel_count;
  if (end > view.geometry_.channel_count) {
    *failure = AttachFailure::kIncompatible;
    return Error{fmt::format("{}shard [{}, {}) outside the region's {} channels", Prefix(name), first_channel,
                             end, view.geometry_.channel_count)};
  }
  // Map only the shard's channels; mmap offsets must be page-aligned, so the first and
  // last pages may hold parts of neighbouring channels, which Ring() never hands out.
  const uint64_t begin = ChannelOffset(view.geometry_, first_channel);
  const uint64_t map_offset = begin / PageSize() * PageSize();
  const uint64_t map_length = ChannelOffset(view.geometry_, static_cast<uint32_t>(end)) - map_offset;
  Result<detail::Mapping> channels = Map(name, fd.get(), map_offset, map_length, PROT_READ | PROT_WRITE);
  if (!channels) {
    *failure = AttachFailure::kSystem;
    return Error{channels.error()};
  }
  view.name_ = name;
  view.first_channel_ = first_channel;
  view.channel_count_ = channel_count;
  view.channels_ = std::move(channels).value();
  view.channels_map_offset_ = map_offset;
  view.seen_generation_ = view.generation();
  *failure = AttachFailure::kNone;
  return view;
}

Status ShardView::CheckChannel(uint32_t channel) const {
  if (channel < first_channel_ || channel - first_channel_ >= channel_count_) {
    return Error{fmt::format("{}channel {} outside shard [{}, {})", Prefix(name_), channel, first_channel_,
                             uint64_t{first_channel_} + channel_count_)};
  }
  return Status::Ok();
}

RingRef ShardView::Ring(uint32_t channel, Direction direction) const {
  return MakeRing(channels_.address() + (RingOffset(geometry_, channel, direction) - channels_map_offset_),
                  geometry_);
}

Result<FrameWriter> ShardView::ToLineWriter(uint32_t channel) const {
  if (Status in_shard = CheckChannel(channel); !in_shard) {
    return Error{in_shard.error()};
  }
  return FrameWriter(Ring(channel, Direction::kToLine));
}

Result<FrameReader> ShardView::FromLineReader(uint32_t channel, ResumeFrom from) const {
  if (Status in_shard = CheckChannel(channel); !in_shard) {
    return Error{in_shard.error()};
  }
  return FrameReader(Ring(channel, Direction::kFromLine), from);
}

Result<RingStats> ShardView::Stats(uint32_t channel, Direction direction) const {
  if (Status in_shard = CheckChannel(channel); !in_shard) {
    return Error{in_shard.error()};
  }
  return ReadRingStats(*Ring(channel, direction).control);
}

WriterChange ShardView::CheckWriter() {
  if (AtomicLoad(header()->clock.state, std::memory_order_acquire) !=
      static_cast<uint32_t>(RegionState::kReady)) {
    return WriterChange::kRetired;
  }
  const uint64_t generation = this->generation();
  if (generation != seen_generation_) {
    seen_generation_ = generation;
    return WriterChange::kRestarted;
  }
  return WriterChange::kNone;
}

}  // namespace linegate::media::tdmbus
