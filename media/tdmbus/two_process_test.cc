// The real thing: two processes, one region. The parent plays the tdm (writes from-line
// frames, reads to-line frames), a forked child plays a media process attached by name
// to all channels. Every sequence number and every sample is checked on both sides.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <vector>

#include "media/tdmbus/region.h"
#include "media/tdmbus/test_util.h"

namespace linegate::media::tdmbus {
namespace {

using testing::FillPattern;
using testing::MatchesPattern;
using testing::NameCleanup;
using testing::UniqueRegionName;

constexpr uint32_t kChannels = 8;
constexpr uint64_t kFramesPerChannel = 100'000;
// A deep ring: when the machine is loaded and the two processes take turns on a core,
// each turn moves up to a ring per channel, so few turns are needed.
constexpr Geometry kGeometry{kChannels, 80, 1024, SampleFormat::kLinear16};
constexpr uint8_t kFromLineSalt = 0x3c;
constexpr uint8_t kToLineSalt = 0xc3;

// A bound so that a broken ring cannot hang the test, not a speed requirement: speed is
// measured by bench/tdmbus_bench.cc. Generous because CI runs debug and sanitizer
// builds on two loaded cores.
constexpr auto kTimeLimit = std::chrono::seconds(60);

// Child exit codes, so that the parent can say what went wrong.
enum ChildStatus : int {
  kChildOk = 0,
  kChildAttachFailed = 10,
  kChildBadSequence = 11,
  kChildBadSamples = 12,
  kChildTimedOut = 13,
  kChildWriterChanged = 14,
};

// One side's work on all channels: write `writers` with `write_salt`, read `readers`
// expecting `read_salt`, until kFramesPerChannel each way or the deadline. Returns a
// ChildStatus-like code (kChildOk on success).
int Exchange(std::array<FrameWriter, kChannels>& writers, std::array<FrameReader, kChannels>& readers,
             uint8_t write_salt, uint8_t read_salt, std::chrono::steady_clock::time_point deadline) {
  std::vector<std::byte> frame(FrameBytes(kGeometry));
  std::array<uint64_t, kChannels> written{};
  std::array<uint64_t, kChannels> read{};
  uint64_t done = 0;
  while (done < 2 * kChannels) {
    bool progress = false;
    done = 0;
    for (uint32_t ch = 0; ch < kChannels; ++ch) {
      // Never drop: this test checks every frame, so the writer waits for space.
      if (written[ch] < kFramesPerChannel && writers[ch].Space() > 0) {
        std::byte* slot = writers[ch].BeginWrite();
        FillPattern({slot, frame.size()}, ch, writers[ch].next_sequence(), write_salt);
        writers[ch].CommitWrite();
        ++written[ch];
        progress = true;
      }
      if (read[ch] < kFramesPerChannel && readers[ch].Available() > 0) {
        std::optional<uint64_t> sequence = readers[ch].Read(frame);
        if (!sequence || *sequence != read[ch]) {
          return kChildBadSequence;
        }
        if (!MatchesPattern(frame, ch, *sequence, read_salt)) {
          return kChildBadSamples;
        }
        ++read[ch];
        progress = true;
      }
      done += (written[ch] == kFramesPerChannel) + (read[ch] == kFramesPerChannel);
    }
    if (!progress) {
      if (std::chrono::steady_clock::now() > deadline) {
        return kChildTimedOut;
      }
      ::sched_yield();  // two processes may share one core
    }
  }
  return kChildOk;
}

int ChildMain(const std::string& name, std::chrono::steady_clock::time_point deadline) {
  Result<ShardView> view = ShardView::Attach(name, 0, kChannels);
  if (!view) {
    return kChildAttachFailed;
  }
  std::array<FrameWriter, kChannels> writers;
  std::array<FrameReader, kChannels> readers;
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    Result<FrameWriter> writer = view->ToLineWriter(ch);
    // The parent may already have written: start from the first frame, not the newest.
    Result<FrameReader> reader = view->FromLineReader(ch, ResumeFrom::kLastConsumed);
    if (!writer || !reader) {
      return kChildAttachFailed;
    }
    writers[ch] = *writer;
    readers[ch] = *reader;
  }
  const int status = Exchange(writers, readers, kToLineSalt, kFromLineSalt, deadline);
  if (status == kChildOk && view->CheckWriter() != WriterChange::kNone) {
    return kChildWriterChanged;
  }
  return status;
}

TEST(TwoProcessTest, EveryFrameCrossesBothWaysIntact) {
  NameCleanup name(UniqueRegionName("fork"));
  Result<CardRegion> tdm = CardRegion::Create(name.name(), kGeometry);
  ASSERT_TRUE(tdm.ok()) << tdm.error();
  std::array<FrameWriter, kChannels> writers;
  std::array<FrameReader, kChannels> readers;
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    writers[ch] = *tdm->FromLineWriter(ch);
    readers[ch] = *tdm->ToLineReader(ch, ResumeFrom::kLastConsumed);
  }

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + kTimeLimit;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No gtest in the child: report through the exit status only.
    ::_exit(ChildMain(name.name(), deadline));
  }
  const int parent_status = Exchange(writers, readers, kFromLineSalt, kToLineSalt, deadline);
  if (parent_status != kChildOk) {
    ::kill(child, SIGKILL);
  }
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  const auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(parent_status, kChildOk);
  ASSERT_TRUE(WIFEXITED(wait_status)) << "child died with signal " << WTERMSIG(wait_status);
  EXPECT_EQ(WEXITSTATUS(wait_status), kChildOk);
  EXPECT_LT(elapsed, kTimeLimit);
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    for (Direction direction : {Direction::kFromLine, Direction::kToLine}) {
      const RingStats stats = *tdm->Stats(ch, direction);
      EXPECT_EQ(stats.head, kFramesPerChannel);
      EXPECT_EQ(stats.tail, kFramesPerChannel);
      EXPECT_EQ(stats.frames_dropped, 0u);
      EXPECT_EQ(stats.frames_skipped, 0u);
    }
  }
  std::printf("two processes: %llu frames each way on %u channels in %lld ms\n",
              static_cast<unsigned long long>(kFramesPerChannel), kChannels,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

}  // namespace
}  // namespace linegate::media::tdmbus
