// The per-frame protocol on one ring, in ordinary memory: wrap-around, sequence
// continuity, underruns, overruns and resync, zero-copy, restart of either side.

#include "media/tdmbus/ring.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/tdmbus/test_util.h"

namespace linegate::media::tdmbus {
namespace {

using testing::FillPattern;
using testing::HeapRing;
using testing::MatchesPattern;

constexpr uint32_t kChannel = 5;
constexpr uint8_t kSalt = 0x5a;

class RingTest : public ::testing::Test {
 protected:
  explicit RingTest(Geometry geometry = {1, 80, 4, SampleFormat::kMulaw})
      : geometry_(geometry), heap_(geometry), frame_(FrameBytes(geometry)) {}

  bool WriteFrame(FrameWriter& writer) {
    FillPattern(frame_, kChannel, writer.next_sequence(), kSalt);
    return writer.Write(frame_);
  }

  // Reads one frame and checks that it carries the expected sequence and pattern.
  void ExpectFrame(FrameReader& reader, uint64_t expected_sequence) {
    std::vector<std::byte> out(FrameBytes(geometry_));
    std::optional<uint64_t> sequence = reader.Read(out);
    ASSERT_TRUE(sequence.has_value()) << "expected frame " << expected_sequence;
    EXPECT_EQ(*sequence, expected_sequence);
    EXPECT_TRUE(MatchesPattern(out, kChannel, expected_sequence, kSalt)) << "frame " << expected_sequence;
  }

  void ExpectNoFrame(FrameReader& reader) {
    std::vector<std::byte> out(FrameBytes(geometry_));
    EXPECT_EQ(reader.Read(out), std::nullopt);
  }

  Geometry geometry_;
  HeapRing heap_;
  std::vector<std::byte> frame_;
};

TEST_F(RingTest, WrapsAroundManyTimesKeepingOrderAndContents) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  uint64_t next_read = 0;
  // Bursts of 3 on a ring of 4: every slot index is hit at every phase.
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(WriteFrame(writer));
    }
    EXPECT_EQ(reader.Available(), 3u);
    for (int i = 0; i < 3; ++i) {
      ExpectFrame(reader, next_read++);
    }
  }
  EXPECT_EQ(writer.next_sequence(), 120u);
  const RingStats stats = heap_.stats();
  EXPECT_EQ(stats.head, 120u);
  EXPECT_EQ(stats.tail, 120u);
  EXPECT_EQ(stats.frames_dropped, 0u);
  EXPECT_EQ(stats.frames_skipped, 0u);
  EXPECT_EQ(stats.underruns, 0u);
}

TEST_F(RingTest, FullRingIsReadCompletelyWithContinuousSequence) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  uint64_t next_read = 0;
  for (int round = 0; round < 5; ++round) {
    EXPECT_EQ(writer.Space(), 4u);
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(WriteFrame(writer));
    }
    EXPECT_EQ(writer.Space(), 0u);
    EXPECT_EQ(reader.Available(), 4u);  // a full ring is not a lapped one
    for (int i = 0; i < 4; ++i) {
      ExpectFrame(reader, next_read++);
    }
    EXPECT_EQ(reader.Available(), 0u);
  }
  EXPECT_EQ(heap_.stats().frames_skipped, 0u);
}

TEST_F(RingTest, UnderrunsAreCountedAndNeverBlock) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  ExpectNoFrame(reader);
  ExpectNoFrame(reader);
  EXPECT_EQ(reader.Available(), 0u);  // peeking does not count
  EXPECT_EQ(heap_.stats().underruns, 2u);
  ASSERT_TRUE(WriteFrame(writer));
  ExpectFrame(reader, 0);
  ExpectNoFrame(reader);
  EXPECT_EQ(heap_.stats().underruns, 3u);
  EXPECT_EQ(heap_.stats().resyncs, 0u);
}

TEST_F(RingTest, WriterLappingSlowReaderDropsAndReaderResyncsToNewest) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  // Three rings' worth while the reader sleeps: 4 fit, 8 are dropped, none blocks.
  int written = 0;
  for (int i = 0; i < 12; ++i) {
    written += WriteFrame(writer) ? 1 : 0;
  }
  EXPECT_EQ(written, 4);
  EXPECT_EQ(writer.next_sequence(), 12u);
  EXPECT_EQ(writer.Space(), 0u);
  EXPECT_EQ(heap_.stats().frames_dropped, 8u);
  EXPECT_EQ(reader.Available(), 0u);  // lapped: nothing worth reading

  // The next read notices the lap and discards the stale backlog...
  ExpectNoFrame(reader);
  RingStats stats = heap_.stats();
  EXPECT_EQ(stats.resyncs, 1u);
  EXPECT_EQ(stats.frames_skipped, 12u);
  EXPECT_EQ(stats.underruns, 0u);
  EXPECT_EQ(reader.next_sequence(), 12u);

  // ...and continues with the newest frames, by sequence.
  ASSERT_TRUE(WriteFrame(writer));
  ASSERT_TRUE(WriteFrame(writer));
  ExpectFrame(reader, 12);
  ExpectFrame(reader, 13);
  stats = heap_.stats();
  EXPECT_EQ(stats.head, stats.tail);
  // Every sequence number is accounted for exactly once on each side.
  EXPECT_EQ(stats.head, 4u + stats.frames_dropped + 2u);
  EXPECT_EQ(stats.tail, 2u + stats.frames_skipped);
}

TEST_F(RingTest, MissingSlotInsideBacklogIsSkippedBySequence) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  ASSERT_TRUE(WriteFrame(writer));  // 0
  ASSERT_TRUE(WriteFrame(writer));  // 1
  writer.SkipTo(3);                 // 2 never written: its slot still says "no frame"
  ASSERT_TRUE(WriteFrame(writer));  // 3
  ExpectFrame(reader, 0);
  ExpectFrame(reader, 1);
  ExpectFrame(reader, 3);
  EXPECT_EQ(heap_.stats().frames_skipped, 1u);

  // Same after a wrap, where the slot holds an older frame (seq 2 - 4 + 4k) instead.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(WriteFrame(writer));  // 4..7
  }
  for (uint64_t s = 4; s < 8; ++s) {
    ExpectFrame(reader, s);
  }
  writer.SkipTo(9);                 // slot of 8 still holds frame 4
  ASSERT_TRUE(WriteFrame(writer));  // 9
  ExpectFrame(reader, 9);
  EXPECT_EQ(heap_.stats().frames_skipped, 2u);
  writer.SkipTo(5);  // never backwards
  EXPECT_EQ(writer.next_sequence(), 10u);
}

TEST_F(RingTest, ZeroCopySlotIsNotReusedUntilReleased) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);

  std::byte* slot = writer.BeginWrite();
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(writer.BeginWrite(), slot);  // idempotent until committed
  FillPattern({slot, frame_.size()}, kChannel, 0, kSalt);
  writer.CommitWrite();

  uint64_t sequence = 99;
  const std::byte* held = reader.BeginRead(&sequence);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(sequence, 0u);

  // The writer fills the rest of the ring; the slot being read is never handed out.
  for (int i = 0; i < 3; ++i) {
    std::byte* next = writer.BeginWrite();
    ASSERT_NE(next, nullptr);
    EXPECT_NE(next, held);
    FillPattern({next, frame_.size()}, kChannel, writer.next_sequence(), kSalt);
    writer.CommitWrite();
  }
  EXPECT_EQ(writer.BeginWrite(), nullptr);  // frame 4 dropped, not written over frame 0
  EXPECT_TRUE(MatchesPattern({held, frame_.size()}, kChannel, 0, kSalt));
  reader.EndRead();

  ExpectFrame(reader, 1);
  ExpectFrame(reader, 2);
  ExpectFrame(reader, 3);
  ExpectNoFrame(reader);  // 4 was dropped: skipped, then nothing left
  const RingStats stats = heap_.stats();
  EXPECT_EQ(stats.frames_dropped, 1u);
  EXPECT_EQ(stats.frames_skipped, 1u);
  EXPECT_EQ(stats.underruns, 1u);
}

TEST_F(RingTest, RestartedReaderResumesFromWriterOrFromLastConsumed) {
  FrameWriter writer(heap_.ring());
  {
    FrameReader first(heap_.ring(), ResumeFrom::kWriterPosition);
    ASSERT_TRUE(WriteFrame(writer));
    ASSERT_TRUE(WriteFrame(writer));
    ASSERT_TRUE(WriteFrame(writer));
    ExpectFrame(first, 0);
  }                                 // the reader "dies" after consuming frame 0
  ASSERT_TRUE(WriteFrame(writer));  // 3

  {
    FrameReader resumed(heap_.ring(), ResumeFrom::kLastConsumed);
    EXPECT_EQ(resumed.next_sequence(), 1u);
    ExpectFrame(resumed, 1);
  }
  ASSERT_TRUE(WriteFrame(writer));  // 4
  FrameReader live(heap_.ring(), ResumeFrom::kWriterPosition);
  EXPECT_EQ(live.next_sequence(), 5u);  // 2, 3 and 4 were never delivered
  EXPECT_EQ(heap_.stats().frames_skipped, 3u);
  EXPECT_EQ(heap_.stats().resyncs, 1u);
  ExpectNoFrame(live);
  ASSERT_TRUE(WriteFrame(writer));
  ExpectFrame(live, 5);
}

TEST_F(RingTest, RestartedWriterContinuesTheSequence) {
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  {
    FrameWriter first(heap_.ring());
    ASSERT_TRUE(WriteFrame(first));
    ASSERT_TRUE(WriteFrame(first));
    // Crash in the middle of a zero-copy write: the slot is filled, never committed.
    std::byte* slot = first.BeginWrite();
    ASSERT_NE(slot, nullptr);
    FillPattern({slot, frame_.size()}, kChannel, 1234, kSalt);
  }
  FrameWriter second(heap_.ring());
  EXPECT_EQ(second.next_sequence(), 2u);
  ASSERT_TRUE(WriteFrame(second));
  ExpectFrame(reader, 0);
  ExpectFrame(reader, 1);
  ExpectFrame(reader, 2);  // the uncommitted frame never showed
}

class LinearRingTest : public RingTest {
 protected:
  LinearRingTest() : RingTest({1, 80, 8, SampleFormat::kLinear16}) {}
};

TEST_F(LinearRingTest, CarriesSixteenBitFrames) {
  FrameWriter writer(heap_.ring());
  FrameReader reader(heap_.ring(), ResumeFrom::kWriterPosition);
  EXPECT_EQ(writer.frame_bytes(), 160u);
  for (uint64_t s = 0; s < 20; ++s) {
    ASSERT_TRUE(WriteFrame(writer));
    ExpectFrame(reader, s);
  }
}

}  // namespace
}  // namespace linegate::media::tdmbus
