// The per-tick path allocates nothing: WaitForTick and Tick over many ticks with events
// arriving (ELAST on reads, POLLPRI on poll, ring trip and hang-up ioctls) while operator
// new is counted. The device here is a minimal allocation-free stand-in for the kernel
// (the FakeDahdiDevice records calls and queues blocks, which allocates by itself).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "media/tdm/dahdi/tests/dahdi_test_util.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace linegate::media::tdm::dahdi {
namespace {

// Channels 1..4 (FXS, FXS, FXO, FXO); every read gives a block; every 7th read of each
// descriptor first answers ELAST with an event waiting, and poll shows POLLPRI on
// descriptor 13 every 5th call.
class StreamingDevice final : public DahdiDevice {
 public:
  int Open(const char*, int) override { return next_fd_++; }
  int Close(int) override { return 0; }
  int Ioctl(int fd, unsigned long request, void* arg, size_t) override {
    const int channel = fd - 9;  // descriptors 10.. are channels 1..
    switch (request) {
      case DAHDI_GET_PARAMS: {
        auto& params = *static_cast<dahdi_params*>(arg);
        params.sigtype = channel <= 2 ? DAHDI_SIG_FXOKS : DAHDI_SIG_FXSKS;
        params.curlaw = DAHDI_LAW_MULAW;
        return 0;
      }
      case DAHDI_GETEVENT: {
        int& event = *static_cast<int*>(arg);
        event = pending_[channel] > 0 ? next_event_[channel] : DAHDI_EVENT_NONE;
        if (pending_[channel] > 0) {
          --pending_[channel];
          next_event_[channel] =
              next_event_[channel] == DAHDI_EVENT_RINGOFFHOOK ? DAHDI_EVENT_ONHOOK : DAHDI_EVENT_RINGOFFHOOK;
        }
        return 0;
      }
      case DAHDI_HOOK:
        ++hooks;
        return *static_cast<int*>(arg) == DAHDI_RING ? -EINPROGRESS : 0;
      default:
        return 0;
    }
  }
  ssize_t Read(int fd, std::span<uint8_t> buffer) override {
    const int channel = fd - 9;
    if (++reads_[channel] % 7 == 0 && pending_[channel] == 0) {
      pending_[channel] = 1;
      return -ELAST;
    }
    std::fill(buffer.begin(), buffer.end(), static_cast<uint8_t>(reads_[channel]));
    return static_cast<ssize_t>(buffer.size());
  }
  ssize_t Write(int, std::span<const uint8_t> data) override { return static_cast<ssize_t>(data.size()); }
  int Poll(std::span<pollfd> fds, int) override {
    ++polls_;
    for (pollfd& p : fds) {
      p.revents = static_cast<short>(p.events & POLLIN);
      if (p.fd == 13 && polls_ % 5 == 0) {
        pending_[4] = 2;
        p.revents = static_cast<short>(p.revents | POLLPRI);
      }
    }
    return static_cast<int>(fds.size());
  }

  uint64_t hooks = 0;

 private:
  int next_fd_ = 10;
  std::array<uint64_t, 5> reads_{};
  std::array<int, 5> pending_{};
  std::array<int, 5> next_event_{0, DAHDI_EVENT_RINGOFFHOOK, DAHDI_EVENT_RINGOFFHOOK, DAHDI_EVENT_RINGOFFHOOK,
                                 DAHDI_EVENT_RINGOFFHOOK};
  uint64_t polls_ = 0;
};

TEST(DahdiAllocationTest, TicksDoNotAllocate) {
  for (AudioMode mode : {AudioMode::kLinear, AudioMode::kLaw}) {
    StreamingDevice device;
    ManualClock clock;
    DahdiCardConfig config = testing::TypicalConfig();
    config.audio = mode;
    auto opened = DahdiCard::Open(device, clock, config);
    ASSERT_TRUE(opened.ok()) << opened.error();
    DahdiCard& card = **opened;
    testing::BufferAudio audio(4, 80);
    audio.to_line_present[1] = false;  // underruns too
    std::array<LineEvent, 16> events;

    g_allocations = 0;
    g_counting = true;
    for (int tick = 0; tick < 500; ++tick) {
      if (tick % 50 == 0) (void)card.line(0).Apply(LineCommand::RingStart(sim::kUsRingCadence));
      const DahdiCard::Wait wait = card.WaitForTick(20);
      if (wait == DahdiCard::Wait::kTickDue) card.Tick(audio, audio);
      for (uint32_t ch = 0; ch < card.channel_count(); ++ch) (void)card.line(ch).PollEvents(events);
      clock.Advance(std::chrono::milliseconds(10));
    }
    g_counting = false;

    EXPECT_EQ(g_allocations.load(), 0u);
    EXPECT_EQ(card.ticks(), 500u);
    EXPECT_GT(card.line(0).stats().event_interruptions, 50u);
    EXPECT_GT(card.line(0).stats().events, 50u);
    EXPECT_GT(card.line(3).stats().events, 100u);
    EXPECT_GT(device.hooks, 10u) << "ring trip and hang-up ioctls happened";
    EXPECT_EQ(card.line(1).stats().underruns, 500u);
    EXPECT_EQ(card.failed_channels(), 0u);
  }

  // The counter counts.
  g_allocations = 0;
  g_counting = true;
  auto* p = new std::vector<int>(10);
  g_counting = false;
  delete p;
  EXPECT_GE(g_allocations.load(), 1u);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
