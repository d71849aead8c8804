// Two threads on one ring, as the tdm and a media process are on two cores. Built under
// ThreadSanitizer these check the memory ordering of the head/tail protocol.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "media/tdmbus/ring.h"
#include "media/tdmbus/test_util.h"

namespace linegate::media::tdmbus {
namespace {

using testing::FillPattern;
using testing::HeapRing;
using testing::MatchesPattern;

constexpr uint64_t kFrames = 1'000'000;
constexpr uint32_t kChannel = 3;
constexpr uint8_t kSalt = 0x77;
constexpr Geometry kGeometry{1, 80, 16, SampleFormat::kMulaw};
constexpr auto kTimeLimit = std::chrono::seconds(120);

TEST(StressTest, LosslessProducerConsumerThreads) {
  HeapRing heap(kGeometry);
  std::atomic<bool> producer_timed_out{false};
  const auto deadline = std::chrono::steady_clock::now() + kTimeLimit;

  std::thread producer([&] {
    FrameWriter writer(heap.ring());
    while (writer.next_sequence() < kFrames) {
      if (writer.Space() == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          producer_timed_out = true;
          return;
        }
        std::this_thread::yield();
        continue;
      }
      std::byte* slot = writer.BeginWrite();
      FillPattern({slot, FrameBytes(kGeometry)}, kChannel, writer.next_sequence(), kSalt);
      writer.CommitWrite();
    }
  });

  FrameReader reader(heap.ring(), ResumeFrom::kLastConsumed);
  uint64_t expected = 0;
  uint64_t bad_sequence = 0;
  uint64_t bad_samples = 0;
  while (expected < kFrames && std::chrono::steady_clock::now() < deadline) {
    uint64_t sequence = 0;
    const std::byte* samples = reader.BeginRead(&sequence);
    if (samples == nullptr) {
      std::this_thread::yield();
      continue;
    }
    bad_sequence += sequence != expected;
    bad_samples += !MatchesPattern({samples, FrameBytes(kGeometry)}, kChannel, sequence, kSalt);
    reader.EndRead();
    expected = sequence + 1;
  }
  producer.join();

  EXPECT_FALSE(producer_timed_out);
  EXPECT_EQ(expected, kFrames);
  EXPECT_EQ(bad_sequence, 0u);
  EXPECT_EQ(bad_samples, 0u);
  const RingStats stats = heap.stats();
  EXPECT_EQ(stats.frames_dropped, 0u);
  EXPECT_EQ(stats.frames_skipped, 0u);
  EXPECT_EQ(stats.head, kFrames);
  EXPECT_EQ(stats.tail, kFrames);
}

// The producer never waits, as the tdm never waits for a slow media process: frames are
// dropped and the reader resyncs, but nothing it receives is torn, duplicated or out of
// order, and every sequence number is accounted for on both sides.
TEST(StressTest, NonBlockingProducerNeverTearsFrames) {
  HeapRing heap(kGeometry);
  std::atomic<bool> reader_ready{false};
  std::atomic<bool> producer_done{false};
  const auto deadline = std::chrono::steady_clock::now() + kTimeLimit;

  std::thread producer([&] {
    FrameWriter writer(heap.ring());
    std::vector<std::byte> frame(FrameBytes(kGeometry));
    while (!reader_ready) {
      std::this_thread::yield();
    }
    while (writer.next_sequence() < kFrames) {
      FillPattern(frame, kChannel, writer.next_sequence(), kSalt);
      writer.Write(frame);
      // A real tdm writes one frame per tick. Unpaced, and with both threads sharing one
      // core on a loaded machine, the producer would run whole time slices alone and the
      // reader would only ever find itself lapped; yielding every half ring lets the two
      // interleave on one core as well as on two.
      if (writer.next_sequence() % (kGeometry.ring_depth / 2) == 0) {
        std::this_thread::yield();
      }
    }
    producer_done = true;
  });

  FrameReader reader(heap.ring(), ResumeFrom::kLastConsumed);
  reader_ready = true;
  std::vector<std::byte> frame(FrameBytes(kGeometry));
  uint64_t received = 0;
  uint64_t out_of_order = 0;
  uint64_t bad_samples = 0;
  uint64_t last = 0;
  bool any = false;
  int slow = 0;
  while (reader.next_sequence() < kFrames && std::chrono::steady_clock::now() < deadline) {
    std::optional<uint64_t> sequence = reader.Read(frame);
    if (!sequence) {
      std::this_thread::yield();
      continue;
    }
    out_of_order += any && *sequence <= last;
    bad_samples += !MatchesPattern(frame, kChannel, *sequence, kSalt);
    last = *sequence;
    any = true;
    ++received;
    // Be a slow reader now and then, so that the producer laps us.
    if (++slow % 1000 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  producer.join();

  EXPECT_TRUE(producer_done);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(bad_samples, 0u);
  EXPECT_GT(received, 0u);
  const RingStats stats = heap.stats();
  EXPECT_EQ(stats.head, kFrames);
  EXPECT_EQ(stats.tail, kFrames);
  // The slow phases must really have lapped the reader, or this test proves nothing.
  EXPECT_GT(stats.frames_dropped, 0u);
  EXPECT_GT(stats.resyncs, 0u);
  EXPECT_LE(received, stats.head - stats.frames_dropped);  // only written frames arrive
  EXPECT_EQ(received + stats.frames_skipped, kFrames);     // every sequence accounted for
  std::printf(
      "non-blocking: %llu received, %llu dropped by the writer, %llu skipped, %llu resyncs, %llu underruns\n",
      static_cast<unsigned long long>(received), static_cast<unsigned long long>(stats.frames_dropped),
      static_cast<unsigned long long>(stats.frames_skipped), static_cast<unsigned long long>(stats.resyncs),
      static_cast<unsigned long long>(stats.underruns));
}

}  // namespace
}  // namespace linegate::media::tdmbus
