// Layout checks that complement the static_asserts in layout.h: the values both sides
// rely on, spelled out, so that an accidental change to a stride rule fails here.

#include "media/tdmbus/layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "media/tdmbus/region.h"

namespace linegate::media::tdmbus {
namespace {

TEST(LayoutTest, MagicReadsLGTDMBUSInMemory) {
  char bytes[sizeof(kMagic)];
  std::memcpy(bytes, &kMagic, sizeof(kMagic));
  EXPECT_EQ(std::string(bytes, sizeof(bytes)), "LGTDMBUS");
}

TEST(LayoutTest, FrozenPrefixAndLineBoundaries) {
  EXPECT_EQ(offsetof(RegionHeader, identity.magic), 0u);
  EXPECT_EQ(offsetof(RegionHeader, identity.layout_version), 8u);
  EXPECT_EQ(offsetof(RegionHeader, identity.header_size), 12u);
  EXPECT_EQ(offsetof(RegionHeader, clock.frame_counter), 128u);
  EXPECT_EQ(sizeof(RegionHeader), 192u);
  EXPECT_EQ(offsetof(RingControl, producer.head), 0u);
  EXPECT_EQ(offsetof(RingControl, consumer.tail), 64u);
  EXPECT_EQ(sizeof(RingControl), 128u);
}

struct StrideCase {
  Geometry geometry;
  uint32_t slot_stride;
  uint64_t ring_stride;
};

TEST(LayoutTest, StridesArePaddedToCacheLines) {
  const StrideCase cases[] = {
      {{1, 8, 2, SampleFormat::kMulaw}, 64, 128 + 2 * 64},          // 1 ms G.711
      {{1, 56, 8, SampleFormat::kAlaw}, 64, 128 + 8 * 64},          // 8 + 56 = 64 exactly
      {{1, 57, 8, SampleFormat::kAlaw}, 128, 128 + 8 * 128},        // one byte over a line
      {{1, 80, 8, SampleFormat::kMulaw}, 128, 128 + 8 * 128},       // 10 ms G.711
      {{1, 80, 16, SampleFormat::kLinear16}, 192, 128 + 16 * 192},  // 10 ms linear
  };
  for (const StrideCase& c : cases) {
    SCOPED_TRACE(c.geometry.frame_samples);
    EXPECT_EQ(SlotStride(c.geometry), c.slot_stride);
    EXPECT_EQ(RingStride(c.geometry), c.ring_stride);
    EXPECT_EQ(ChannelStride(c.geometry), 2 * c.ring_stride);
    EXPECT_EQ(ChannelStride(c.geometry) % kCacheLine, 0u);
  }
}

TEST(LayoutTest, ChannelAndRingOffsets) {
  const Geometry g{1024, 80, 8, SampleFormat::kMulaw};
  const uint64_t ring = 128 + 8 * 128;
  EXPECT_EQ(ChannelOffset(g, 0), kChannelsOffset);
  EXPECT_EQ(RingOffset(g, 0, Direction::kToLine), kChannelsOffset);
  EXPECT_EQ(RingOffset(g, 0, Direction::kFromLine), kChannelsOffset + ring);
  EXPECT_EQ(RingOffset(g, 3, Direction::kFromLine), kChannelsOffset + 3 * 2 * ring + ring);
  EXPECT_EQ(RegionSize(g), kChannelsOffset + 1024 * 2 * ring);
}

TEST(LayoutTest, ValidateGeometryNamesTheField) {
  struct Case {
    Geometry geometry;
    std::string message;
  };
  const Case cases[] = {
      {{0, 80, 8, SampleFormat::kMulaw}, "channel count 0 out of range 1..8192"},
      {{8193, 80, 8, SampleFormat::kMulaw}, "channel count 8193 out of range 1..8192"},
      {{1, 7, 8, SampleFormat::kMulaw}, "frame of 7 samples out of range 8..80 (1..10 ms at 8 kHz)"},
      {{1, 81, 8, SampleFormat::kMulaw}, "frame of 81 samples out of range 8..80 (1..10 ms at 8 kHz)"},
      {{1, 80, 6, SampleFormat::kMulaw}, "ring depth 6 is not a power of two in 2..4096"},
      {{1, 80, 1, SampleFormat::kMulaw}, "ring depth 1 is not a power of two in 2..4096"},
      {{1, 80, 8192, SampleFormat::kMulaw}, "ring depth 8192 is not a power of two in 2..4096"},
      {{1, 80, 8, SampleFormat::kUnspecified}, "sample format 0 unknown"},
      {{1, 80, 8, static_cast<SampleFormat>(9)}, "sample format 9 unknown"},
      {{8192, 80, 4096, SampleFormat::kLinear16},
       "region of 12887003136 bytes exceeds the limit of 1073741824"},
  };
  for (const Case& c : cases) {
    Status status = ValidateGeometry(c.geometry);
    ASSERT_FALSE(status.ok()) << c.message;
    EXPECT_EQ(status.error(), c.message);
  }
  EXPECT_TRUE(ValidateGeometry({1, 8, 2, SampleFormat::kAlaw}).ok());
  EXPECT_TRUE(ValidateGeometry({8192, 80, 8, SampleFormat::kLinear16}).ok());
}

TEST(LayoutTest, RegionNames) {
  Result<std::string> name = RegionName("linegate", 3);
  ASSERT_TRUE(name.ok()) << name.error();
  EXPECT_EQ(*name, "/linegate.card3");
  EXPECT_EQ(RegionName("", 0).error(), "tdmbus region prefix is empty");
  EXPECT_EQ(RegionName("a/b", 0).error(),
            "tdmbus region name \"/a/b.card0\" has a character other than [A-Za-z0-9._-]");
}

}  // namespace
}  // namespace linegate::media::tdmbus
