// EpollPoller: level-triggered readiness, interest changes, unwatching from inside a
// callback, and nesting in a bus::Reactor.

#include "signaling/transport/epoll_poller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "signaling/transport/tests/test_loop.h"

namespace linegate::signaling::transport {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0); }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  int fds[2];
};

TEST(EpollPollerTest, ReportsReadableUntilDrainedAndWritableOnRequest) {
  auto poller = EpollPoller::Create();
  ASSERT_TRUE(poller.ok()) << poller.error();
  Pipe p;
  int readable = 0;
  ASSERT_TRUE((*poller)
                  ->Watch(p.fds[0], kPollReadable,
                          [&](uint32_t events) {
                            if (events & kPollReadable) ++readable;
                          })
                  .ok());
  EXPECT_EQ((*poller)->Dispatch(Duration::zero()), 0);
  ASSERT_EQ(write(p.fds[1], "ab", 2), 2);
  EXPECT_EQ((*poller)->Dispatch(100ms), 1);
  EXPECT_EQ((*poller)->Dispatch(Duration::zero()), 1);  // level-triggered: still readable
  char buffer[2];
  ASSERT_EQ(read(p.fds[0], buffer, 2), 2);
  EXPECT_EQ((*poller)->Dispatch(Duration::zero()), 0);
  EXPECT_EQ(readable, 2);

  int writable = 0;
  ASSERT_TRUE((*poller)
                  ->Watch(p.fds[1], 0,
                          [&](uint32_t events) {
                            if (events & kPollWritable) ++writable;
                          })
                  .ok());
  EXPECT_EQ((*poller)->Dispatch(Duration::zero()), 0);
  ASSERT_TRUE((*poller)->SetInterest(p.fds[1], kPollWritable).ok());
  EXPECT_EQ((*poller)->Dispatch(Duration::zero()), 1);
  EXPECT_EQ(writable, 1);
  EXPECT_FALSE((*poller)->Watch(p.fds[1], kPollReadable, [](uint32_t) {}).ok()) << "double watch";
  EXPECT_FALSE((*poller)->SetInterest(12345, kPollReadable).ok());
}

TEST(EpollPollerTest, UnwatchInsideACallbackDropsPendingEventsOfTheOtherFd) {
  auto poller = EpollPoller::Create();
  ASSERT_TRUE(poller.ok());
  Pipe a, b;
  int calls = 0;
  // Whichever runs first unwatches both; the other's event in the same batch must not run.
  auto unwatch_both = [&](uint32_t) {
    ++calls;
    (*poller)->Unwatch(a.fds[0]);
    (*poller)->Unwatch(b.fds[0]);
  };
  ASSERT_TRUE((*poller)->Watch(a.fds[0], kPollReadable, unwatch_both).ok());
  ASSERT_TRUE((*poller)->Watch(b.fds[0], kPollReadable, unwatch_both).ok());
  ASSERT_EQ(write(a.fds[1], "x", 1), 1);
  ASSERT_EQ(write(b.fds[1], "x", 1), 1);
  (*poller)->Dispatch(100ms);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ((*poller)->watched(), 0u);
}

TEST(EpollPollerTest, NestsInReactor) {
  testing::TestLoop loop;
  Pipe p;
  bool fired = false;
  ASSERT_TRUE(loop.poller().Watch(p.fds[0], kPollReadable, [&](uint32_t) { fired = true; }).ok());
  ASSERT_EQ(write(p.fds[1], "x", 1), 1);
  EXPECT_TRUE(loop.RunUntil([&] { return fired; }, 1s));
  loop.poller().Unwatch(p.fds[0]);
}

}  // namespace
}  // namespace linegate::signaling::transport
