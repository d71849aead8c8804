// Region lifecycle over real POSIX shared memory: create/attach, refusal of foreign or
// unfinished regions with exact messages, shard views, restarts of either side.

#include "media/tdmbus/region.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "media/tdmbus/test_util.h"

namespace linegate::media::tdmbus {
namespace {

using testing::FillPattern;
using testing::MatchesPattern;
using testing::NameCleanup;
using testing::UniqueRegionName;

constexpr Geometry kGeometry{16, 80, 8, SampleFormat::kMulaw};
constexpr uint8_t kFromLineSalt = 0x11;
constexpr uint8_t kToLineSalt = 0x22;

// Maps the named object read-write and lets a test corrupt it, as another build would.
void PokeRegion(const std::string& name, const std::function<void(RegionHeader&)>& poke) {
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  void* address = ::mmap(nullptr, sizeof(RegionHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(address, MAP_FAILED);
  poke(*static_cast<RegionHeader*>(address));
  ::munmap(address, sizeof(RegionHeader));
}

CardRegion MustCreate(const std::string& name, const Geometry& geometry = kGeometry) {
  Result<CardRegion> region = CardRegion::Create(name, geometry);
  EXPECT_TRUE(region.ok()) << region.error();
  return std::move(region).value();
}

ShardView MustAttach(const std::string& name, uint32_t first, uint32_t count) {
  Result<ShardView> view = ShardView::Attach(name, first, count);
  EXPECT_TRUE(view.ok()) << view.error();
  return std::move(view).value();
}

template <typename T>
T Must(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.error();
  return std::move(result).value();
}

void WriteFrames(FrameWriter& writer, uint32_t channel, uint8_t salt, int count) {
  std::vector<std::byte> frame(writer.frame_bytes());
  for (int i = 0; i < count; ++i) {
    FillPattern(frame, channel, writer.next_sequence(), salt);
    ASSERT_TRUE(writer.Write(frame));
  }
}

void ExpectFrame(FrameReader& reader, uint32_t channel, uint8_t salt, uint64_t sequence) {
  std::vector<std::byte> frame(reader.frame_bytes());
  std::optional<uint64_t> got = reader.Read(frame);
  ASSERT_TRUE(got.has_value()) << "expected frame " << sequence;
  EXPECT_EQ(*got, sequence);
  EXPECT_TRUE(MatchesPattern(frame, channel, sequence, salt));
}

TEST(RegionTest, TdmAndMediaExchangeFramesBothWays) {
  NameCleanup name(UniqueRegionName("roundtrip"));
  CardRegion tdm = MustCreate(name.name());
  EXPECT_FALSE(tdm.resumed());
  EXPECT_EQ(tdm.generation(), 1u);
  ShardView media = MustAttach(name.name(), 4, 4);
  EXPECT_EQ(media.geometry(), kGeometry);

  FrameWriter from_line = Must(tdm.FromLineWriter(5));
  FrameReader media_in = Must(media.FromLineReader(5));
  FrameWriter to_line = Must(media.ToLineWriter(6));
  FrameReader tdm_in = Must(tdm.ToLineReader(6));

  WriteFrames(from_line, 5, kFromLineSalt, 3);
  tdm.Tick(1'000'000);
  EXPECT_EQ(media.frame_counter(), 1u);
  EXPECT_EQ(media.last_tick_ns(), 1'000'000u);
  WriteFrames(to_line, 6, kToLineSalt, 2);
  for (uint64_t s = 0; s < 3; ++s) {
    ExpectFrame(media_in, 5, kFromLineSalt, s);
  }
  ExpectFrame(tdm_in, 6, kToLineSalt, 0);
  ExpectFrame(tdm_in, 6, kToLineSalt, 1);

  // Both sides see the same counters: they live in the region.
  const RingStats seen_by_tdm = Must(tdm.Stats(5, Direction::kFromLine));
  const RingStats seen_by_media = Must(media.Stats(5, Direction::kFromLine));
  EXPECT_EQ(seen_by_tdm.head, 3u);
  EXPECT_EQ(seen_by_tdm.tail, 3u);
  EXPECT_EQ(seen_by_media.tail, seen_by_tdm.tail);
  // Other channels untouched.
  EXPECT_EQ(Must(tdm.Stats(4, Direction::kFromLine)).head, 0u);
  EXPECT_EQ(media.CheckWriter(), WriterChange::kNone);
}

TEST(RegionTest, ObjectIsGroupShareable) {
  NameCleanup name(UniqueRegionName("mode"));
  const mode_t old_umask = ::umask(077);
  CardRegion tdm = MustCreate(name.name());
  ::umask(old_umask);
  const int fd = ::shm_open(name.name().c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), RegionSize(kGeometry));
}

TEST(RegionTest, AttachToAbsentRegion) {
  const std::string name = UniqueRegionName("absent");
  AttachFailure failure = AttachFailure::kNone;
  Result<ShardView> view = ShardView::Attach(name, 0, 1, &failure);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), "tdmbus region " + name + ": does not exist");
  EXPECT_EQ(failure, AttachFailure::kAbsent);
}

TEST(RegionTest, AttachBeforeCreatorFinishedSeesNotReady) {
  // Reproduce the creator's intermediate states by hand: created but not sized, then
  // sized (zero-filled) but not published.
  NameCleanup name(UniqueRegionName("notready"));
  const int fd = ::shm_open(name.name().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  const std::string not_ready =
      "tdmbus region " + name.name() + ": not ready (its creator is still initialising it)";
  AttachFailure failure = AttachFailure::kNone;
  Result<ShardView> view = ShardView::Attach(name.name(), 0, 1, &failure);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), not_ready);
  EXPECT_EQ(failure, AttachFailure::kNotReady);

  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(RegionSize(kGeometry))), 0);
  ::close(fd);
  view = ShardView::Attach(name.name(), 0, 1, &failure);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), not_ready);
  EXPECT_EQ(failure, AttachFailure::kNotReady);

  // A tdm starting now replaces the half-built leftover.
  CardRegion tdm = MustCreate(name.name());
  EXPECT_FALSE(tdm.resumed());
  EXPECT_TRUE(ShardView::Attach(name.name(), 0, 1).ok());
}

TEST(RegionTest, MismatchedBuildIsRefusedWithExactMessage) {
  NameCleanup name(UniqueRegionName("mismatch"));
  CardRegion tdm = MustCreate(name.name());
  const std::string prefix = "tdmbus region " + name.name() + ": ";
  struct Case {
    std::function<void(RegionHeader&)> poke;
    std::string message;
  };
  const Case cases[] = {
      {[](RegionHeader& h) { h.identity.magic = 0x1122334455667788; },
       "bad magic 0x1122334455667788, expected 0x5355424d4454474c"},
      {[](RegionHeader& h) { h.identity.layout_version = 2; }, "layout version 2, expected 1"},
      {[](RegionHeader& h) { h.identity.header_size = 256; }, "header size 256, expected 192"},
      {[](RegionHeader& h) { h.identity.ring_control_size = 192; }, "ring control size 192, expected 128"},
      {[](RegionHeader& h) { h.identity.slot_header_size = 16; }, "frame slot header size 16, expected 8"},
      {[](RegionHeader& h) { h.identity.frame_samples = 100; },
       "frame of 100 samples out of range 8..80 (1..10 ms at 8 kHz)"},
      {[](RegionHeader& h) { h.identity.slot_stride = 64; }, "slot stride 64, expected 128"},
      {[](RegionHeader& h) { h.identity.channel_stride += 64; }, "channel stride 2368, expected 2304"},
      {[](RegionHeader& h) { h.identity.region_size *= 2; }, "region size 81920, expected 40960"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    RegionHeader saved{};
    PokeRegion(name.name(), [&](RegionHeader& h) {
      saved = h;
      c.poke(h);
    });
    AttachFailure failure = AttachFailure::kNone;
    Result<ShardView> view = ShardView::Attach(name.name(), 0, 1, &failure);
    ASSERT_FALSE(view.ok());
    EXPECT_EQ(view.error(), prefix + c.message);
    EXPECT_EQ(failure, AttachFailure::kIncompatible);
    PokeRegion(name.name(), [&](RegionHeader& h) { h = saved; });
    EXPECT_TRUE(ShardView::Attach(name.name(), 0, 1).ok());
  }
}

TEST(RegionTest, ShardViewCoversOnlyItsChannels) {
  NameCleanup name(UniqueRegionName("shard"));
  const Geometry geometry{12, 80, 8, SampleFormat::kMulaw};
  CardRegion tdm = MustCreate(name.name(), geometry);
  const std::string prefix = "tdmbus region " + name.name() + ": ";

  Result<ShardView> beyond = ShardView::Attach(name.name(), 8, 8);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error(), prefix + "shard [8, 16) outside the region's 12 channels");
  Result<ShardView> empty = ShardView::Attach(name.name(), 0, 0);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), prefix + "empty shard");
  Result<ShardView> overflow = ShardView::Attach(name.name(), 0xffffffffu, 2);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error(), prefix + "shard [4294967295, 4294967297) outside the region's 12 channels");

  ShardView shard = MustAttach(name.name(), 4, 4);
  EXPECT_EQ(shard.ToLineWriter(3).error(), prefix + "channel 3 outside shard [4, 8)");
  EXPECT_EQ(shard.FromLineReader(8).error(), prefix + "channel 8 outside shard [4, 8)");
  EXPECT_EQ(shard.Stats(100, Direction::kToLine).error(), prefix + "channel 100 outside shard [4, 8)");
  EXPECT_EQ(tdm.FromLineWriter(12).error(), prefix + "channel 12 outside the region's 12 channels");
  EXPECT_EQ(tdm.ToLineReader(12).error(), prefix + "channel 12 outside the region's 12 channels");
  // Only the shard's pages are mapped, not the region.
  EXPECT_LT(shard.mapped_channel_bytes(), RegionSize(geometry) - kChannelsOffset);
  EXPECT_GE(shard.mapped_channel_bytes(), 4 * ChannelStride(geometry));

  // The last shard of the card, ending exactly at the region's end, works end to end.
  ShardView last = MustAttach(name.name(), 8, 4);
  FrameWriter tdm_writer = Must(tdm.FromLineWriter(11));
  FrameReader last_reader = Must(last.FromLineReader(11));
  WriteFrames(tdm_writer, 11, kFromLineSalt, 2);
  ExpectFrame(last_reader, 11, kFromLineSalt, 0);
  ExpectFrame(last_reader, 11, kFromLineSalt, 1);
  // And frames of the boundary channel 7 (first shard) and 8 (last shard) stay apart.
  FrameWriter w7 = Must(shard.ToLineWriter(7));
  FrameWriter w8 = Must(last.ToLineWriter(8));
  WriteFrames(w7, 7, kToLineSalt, 1);
  WriteFrames(w8, 8, kToLineSalt, 1);
  FrameReader r7 = Must(tdm.ToLineReader(7, ResumeFrom::kLastConsumed));
  FrameReader r8 = Must(tdm.ToLineReader(8, ResumeFrom::kLastConsumed));
  ExpectFrame(r7, 7, kToLineSalt, 0);
  ExpectFrame(r8, 8, kToLineSalt, 0);
}

TEST(RegionTest, RestartedMediaProcessResumesBySequence) {
  NameCleanup name(UniqueRegionName("mediarestart"));
  CardRegion tdm = MustCreate(name.name());
  FrameWriter tdm_writer = Must(tdm.FromLineWriter(2));
  {
    ShardView media = MustAttach(name.name(), 0, 8);
    FrameReader reader = Must(media.FromLineReader(2));
    FrameWriter writer = Must(media.ToLineWriter(2));
    WriteFrames(tdm_writer, 2, kFromLineSalt, 5);
    for (uint64_t s = 0; s < 5; ++s) {
      ExpectFrame(reader, 2, kFromLineSalt, s);
    }
    WriteFrames(writer, 2, kToLineSalt, 3);
  }                                              // the media process dies: its mappings go
  WriteFrames(tdm_writer, 2, kFromLineSalt, 5);  // 5..9 while it is away

  ShardView media = MustAttach(name.name(), 0, 8);
  FrameReader reader = Must(media.FromLineReader(2));
  EXPECT_EQ(reader.next_sequence(), 10u);
  RingStats stats = Must(media.Stats(2, Direction::kFromLine));
  EXPECT_EQ(stats.frames_skipped, 5u);
  EXPECT_EQ(stats.resyncs, 1u);
  WriteFrames(tdm_writer, 2, kFromLineSalt, 1);
  ExpectFrame(reader, 2, kFromLineSalt, 10);

  // Its to-line writer continues the sequence where the dead one stopped.
  FrameWriter writer = Must(media.ToLineWriter(2));
  EXPECT_EQ(writer.next_sequence(), 3u);
}

TEST(RegionTest, RestartedTdmTakesOverAndBumpsGeneration) {
  NameCleanup name(UniqueRegionName("tdmrestart"));
  std::optional<ShardView> media;
  {
    CardRegion tdm = MustCreate(name.name());
    media.emplace(MustAttach(name.name(), 0, 16));
    FrameWriter writer = Must(tdm.FromLineWriter(0));
    for (int tick = 0; tick < 3; ++tick) {
      WriteFrames(writer, 0, kFromLineSalt, 1);
      tdm.Tick(static_cast<uint64_t>(tick));
    }
  }  // the tdm process dies without unlinking
  FrameReader reader = Must(media->FromLineReader(0, ResumeFrom::kLastConsumed));
  EXPECT_EQ(media->CheckWriter(), WriterChange::kNone);

  CardRegion tdm = MustCreate(name.name());
  EXPECT_TRUE(tdm.resumed());
  EXPECT_EQ(tdm.generation(), 2u);
  EXPECT_EQ(tdm.frame_counter(), 3u);
  EXPECT_EQ(media->CheckWriter(), WriterChange::kRestarted);
  EXPECT_EQ(media->CheckWriter(), WriterChange::kNone);  // reported once

  FrameWriter writer = Must(tdm.FromLineWriter(0));
  EXPECT_EQ(writer.next_sequence(), 3u);
  WriteFrames(writer, 0, kFromLineSalt, 1);
  for (uint64_t s = 0; s < 4; ++s) {
    ExpectFrame(reader, 0, kFromLineSalt, s);  // one continuous sequence across the restart
  }
}

TEST(RegionTest, GeometryChangeRetiresTheOldRegion) {
  NameCleanup name(UniqueRegionName("retire"));
  std::optional<CardRegion> old_tdm(MustCreate(name.name()));
  ShardView media = MustAttach(name.name(), 0, 4);
  old_tdm.reset();

  const Geometry smaller_frames{16, 40, 8, SampleFormat::kMulaw};
  CardRegion tdm = MustCreate(name.name(), smaller_frames);
  EXPECT_FALSE(tdm.resumed());
  EXPECT_EQ(tdm.generation(), 1u);
  EXPECT_EQ(media.CheckWriter(), WriterChange::kRetired);
  // The old mapping stays valid until dropped; a fresh attach sees the new geometry.
  EXPECT_TRUE(media.FromLineReader(0).ok());
  ShardView fresh = MustAttach(name.name(), 0, 4);
  EXPECT_EQ(fresh.geometry(), smaller_frames);
  EXPECT_EQ(fresh.CheckWriter(), WriterChange::kNone);
}

TEST(RegionTest, RegionOfAnotherLayoutIsReplaced) {
  NameCleanup name(UniqueRegionName("foreign"));
  { CardRegion old_tdm = MustCreate(name.name()); }
  PokeRegion(name.name(), [](RegionHeader& h) { h.identity.layout_version = 7; });
  CardRegion tdm = MustCreate(name.name());
  EXPECT_FALSE(tdm.resumed());
  EXPECT_TRUE(ShardView::Attach(name.name(), 0, 1).ok());
}

TEST(RegionTest, UnlinkRetiresAndRemovesTheName) {
  NameCleanup name(UniqueRegionName("unlink"));
  CardRegion tdm = MustCreate(name.name());
  ShardView media = MustAttach(name.name(), 0, 1);
  ASSERT_TRUE(tdm.Unlink().ok());
  EXPECT_EQ(media.CheckWriter(), WriterChange::kRetired);
  AttachFailure failure = AttachFailure::kNone;
  EXPECT_FALSE(ShardView::Attach(name.name(), 0, 1, &failure).ok());
  EXPECT_EQ(failure, AttachFailure::kAbsent);
  EXPECT_EQ(tdm.Unlink().error(), "tdmbus region " + name.name() + ": already unlinked");
}

TEST(RegionTest, CreateRefusesBadNamesAndGeometry) {
  EXPECT_EQ(CardRegion::Create("noslash", kGeometry).error(),
            "tdmbus region name \"noslash\" must be '/' followed by 1..254 characters");
  EXPECT_EQ(CardRegion::Create("/x", {16, 80, 6, SampleFormat::kMulaw}).error(),
            "tdmbus region /x: ring depth 6 is not a power of two in 2..4096");
}

}  // namespace
}  // namespace linegate::media::tdmbus
