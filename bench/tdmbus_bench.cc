// Shared-memory TDM bus: cost of the per-frame path (see media/tdmbus/README.md).
//   BM_WriteReadOneChannel   write + read of one frame on one ring, one thread
//   BM_Tick1024Channels      one 10 ms tick: a frame written and read on each of 1024 channels
//   BM_CrossCore             producer and consumer threads on two cores, lossless

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "media/tdmbus/region.h"

namespace linegate::media::tdmbus {
namespace {

// A real region in /dev/shm, removed at the end of the benchmark.
class BenchRegion {
 public:
  explicit BenchRegion(const Geometry& geometry)
      : name_("/lgbench." + std::to_string(::getpid()) + "." + std::to_string(counter_++)),
        tdm_(CardRegion::Create(name_, geometry)),
        media_(ShardView::Attach(name_, 0, geometry.channel_count)) {}
  ~BenchRegion() {
    if (tdm_.ok()) {
      (void)tdm_->Unlink();
    }
  }
  bool ok(benchmark::State& state) {
    if (!tdm_.ok()) {
      state.SkipWithError(tdm_.error().c_str());
      return false;
    }
    if (!media_.ok()) {
      state.SkipWithError(media_.error().c_str());
      return false;
    }
    return true;
  }
  CardRegion& tdm() { return *tdm_; }
  ShardView& media() { return *media_; }

 private:
  static inline int counter_ = 0;
  std::string name_;
  Result<CardRegion> tdm_;
  Result<ShardView> media_;
};

constexpr Geometry OneChannel(uint32_t frame_samples) {
  return Geometry{1, frame_samples, 8, SampleFormat::kMulaw};
}

void BM_WriteReadOneChannel(benchmark::State& state) {
  BenchRegion region(OneChannel(static_cast<uint32_t>(state.range(0))));
  if (!region.ok(state)) {
    return;
  }
  FrameWriter writer = *region.tdm().FromLineWriter(0);
  FrameReader reader = *region.media().FromLineReader(0);
  std::vector<std::byte> in(writer.frame_bytes(), std::byte{0x55});
  std::vector<std::byte> out(writer.frame_bytes());
  for (auto _ : state) {
    writer.Write(in);
    std::optional<uint64_t> sequence = reader.Read(out);
    benchmark::DoNotOptimize(sequence);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WriteReadOneChannel)->Arg(8)->Arg(80);

void BM_WriteReadOneChannelZeroCopy(benchmark::State& state) {
  BenchRegion region(OneChannel(80));
  if (!region.ok(state)) {
    return;
  }
  FrameWriter writer = *region.tdm().FromLineWriter(0);
  FrameReader reader = *region.media().FromLineReader(0);
  uint64_t sum = 0;
  for (auto _ : state) {
    std::byte* slot = writer.BeginWrite();
    slot[0] = std::byte{1};
    writer.CommitWrite();
    uint64_t sequence = 0;
    const std::byte* samples = reader.BeginRead(&sequence);
    sum += static_cast<uint64_t>(samples[0]) + sequence;
    reader.EndRead();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WriteReadOneChannelZeroCopy);

// One tick of a 1024-channel card with 10 ms G.711 frames: every channel gets one frame
// written and one read. items = channel-frames; ns_per_channel_frame is the inverse rate.
void BM_Tick1024Channels(benchmark::State& state) {
  constexpr uint32_t kChannels = 1024;
  BenchRegion region(Geometry{kChannels, 80, 8, SampleFormat::kMulaw});
  if (!region.ok(state)) {
    return;
  }
  std::vector<FrameWriter> writers;
  std::vector<FrameReader> readers;
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    writers.push_back(*region.tdm().FromLineWriter(ch));
    readers.push_back(*region.media().FromLineReader(ch));
  }
  std::vector<std::byte> in(80, std::byte{0x55});
  std::vector<std::byte> out(80);
  uint64_t now_ns = 0;
  for (auto _ : state) {
    for (uint32_t ch = 0; ch < kChannels; ++ch) {
      writers[ch].Write(in);
    }
    region.tdm().Tick(now_ns += 10'000'000);
    for (uint32_t ch = 0; ch < kChannels; ++ch) {
      std::optional<uint64_t> sequence = readers[ch].Read(out);
      benchmark::DoNotOptimize(sequence);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kChannels);
  state.counters["ns_per_channel_frame"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kChannels,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Tick1024Channels);

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
}

// Producer on CPU 0 (this thread), consumer on CPU 1; the producer waits for space, so
// this measures the line transfers of head, tail and slots between cores.
void BM_CrossCore(benchmark::State& state) {
  constexpr uint64_t kBatch = 1024;
  BenchRegion region(Geometry{1, 80, static_cast<uint32_t>(state.range(0)), SampleFormat::kMulaw});
  if (!region.ok(state)) {
    return;
  }
  FrameWriter writer = *region.tdm().FromLineWriter(0);
  FrameReader reader = *region.media().FromLineReader(0);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> consumed{0};
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  std::thread consumer([&] {
    if (cpus > 1) {
      PinToCpu(1);
    }
    std::vector<std::byte> out(80);
    uint64_t count = 0;
    // Read what is there in a batch, as a media loop does once per tick; polling with
    // Read() alone would count an underrun on every empty poll.
    while (!stop.load(std::memory_order_relaxed) || reader.Available() > 0) {
      for (uint32_t n = reader.Available(); n > 0; --n) {
        count += reader.Read(out).has_value();
      }
    }
    consumed = count;
  });
  cpu_set_t saved;
  (void)::pthread_getaffinity_np(::pthread_self(), sizeof(saved), &saved);
  if (cpus > 1) {
    PinToCpu(0);
  }
  std::vector<std::byte> in(80, std::byte{0x55});
  uint32_t space = 0;
  for (auto _ : state) {
    for (uint64_t i = 0; i < kBatch; ++i) {
      // Look at the consumer's line only when the known space is used up.
      while (space == 0) {
        space = writer.Space();
      }
      writer.Write(in);
      --space;
    }
  }
  stop = true;
  consumer.join();
  (void)::pthread_setaffinity_np(::pthread_self(), sizeof(saved), &saved);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  if (consumed.load() != state.iterations() * kBatch) {
    state.SkipWithError("consumer lost frames");
  }
}
BENCHMARK(BM_CrossCore)->Arg(8)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace linegate::media::tdmbus
