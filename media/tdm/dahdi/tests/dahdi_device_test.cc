// SystemDahdiDevice against ordinary descriptors (there is no DAHDI on this machine):
// results and -errno come back as the seam promises. And the fake's own basics.

#include "media/tdm/dahdi/dahdi_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>

#include "media/tdm/dahdi/fake_dahdi_device.h"

namespace linegate::media::tdm::dahdi {
namespace {

TEST(SystemDahdiDeviceTest, ErrorsComeBackAsNegativeErrno) {
  SystemDahdiDevice device;
  EXPECT_EQ(device.Open("/nonexistent/dahdi/channel", O_RDWR), -ENOENT);
  EXPECT_EQ(device.Close(-1), -EBADF);
  std::array<uint8_t, 4> buffer{};
  EXPECT_EQ(device.Read(-1, buffer), -EBADF);
  EXPECT_EQ(device.Write(-1, buffer), -EBADF);

  const int fd = device.Open("/dev/null", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int channel = 1;
  EXPECT_EQ(DahdiIoctl<DAHDI_SPECIFY>(device, fd, channel), -ENOTTY) << "/dev/null is no DAHDI channel";
  EXPECT_EQ(device.Read(fd, buffer), 0);
  EXPECT_EQ(device.Write(fd, buffer), 4);
  EXPECT_EQ(device.Close(fd), 0);
}

TEST(SystemDahdiDeviceTest, ReadWriteAndPollOnAPipe) {
  SystemDahdiDevice device;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  std::array<uint8_t, 8> in{};
  EXPECT_EQ(device.Read(fds[0], in), -EAGAIN);
  std::array<pollfd, 1> poll_fds{{{fds[0], POLLIN | POLLPRI, 0}}};
  EXPECT_EQ(device.Poll(poll_fds, 0), 0);
  const std::array<uint8_t, 3> out{1, 2, 3};
  EXPECT_EQ(device.Write(fds[1], out), 3);
  EXPECT_EQ(device.Poll(poll_fds, 100), 1);
  EXPECT_EQ(poll_fds[0].revents, POLLIN);
  EXPECT_EQ(device.Read(fds[0], in), 3);
  EXPECT_EQ(in[2], 3);
  EXPECT_EQ(device.Close(fds[0]), 0);
  EXPECT_EQ(device.Close(fds[1]), 0);
}

TEST(FakeDahdiDeviceTest, BehavesAsTheKernelWhereTheDriverDependsOnIt) {
  FakeDahdiDevice fake;
  fake.AddChannel(5, DAHDI_SIG_FXOKS, DAHDI_LAW_ALAW);
  EXPECT_EQ(fake.Open("/dev/dahdi/ctl", O_RDWR), -ENOENT);
  const int fd = fake.Open(FakeDahdiDevice::kChannelPath, O_RDWR | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  std::array<uint8_t, 160> buffer{};
  EXPECT_EQ(fake.Read(fd, buffer), -EINVAL) << "not specified yet";
  int params_as_int = 0;
  EXPECT_EQ(fake.Ioctl(fd, DAHDI_GET_PARAMS, &params_as_int, sizeof(int)), -EFAULT) << "wrong argument size";
  int number = 6;
  EXPECT_EQ(DahdiIoctl<DAHDI_SPECIFY>(fake, fd, number), -EINVAL);
  number = 5;
  EXPECT_EQ(DahdiIoctl<DAHDI_SPECIFY>(fake, fd, number), 0);
  int block = 8;
  EXPECT_EQ(DahdiIoctl<DAHDI_SET_BLOCKSIZE>(fake, fd, block), -EINVAL) << "the kernel's minimum is 16";
  block = 16;
  EXPECT_EQ(DahdiIoctl<DAHDI_SET_BLOCKSIZE>(fake, fd, block), 0);
  EXPECT_EQ(fake.Read(fd, buffer), -EAGAIN);
  fake.CardInterrupt();
  fake.QueueEvent(5, DAHDI_EVENT_ONHOOK);
  EXPECT_EQ(fake.Read(fd, buffer), -ELAST) << "an event comes before the audio";
  EXPECT_EQ(fake.Write(fd, buffer), -ELAST);
  std::array<pollfd, 1> poll_fds{{{fd, POLLIN | POLLPRI | POLLOUT, 0}}};
  EXPECT_EQ(fake.Poll(poll_fds, 0), 1);
  EXPECT_EQ(poll_fds[0].revents, POLLIN | POLLPRI | POLLOUT);
  int event = -1;
  EXPECT_EQ(DahdiIoctl<DAHDI_GETEVENT>(fake, fd, event), 0);
  EXPECT_EQ(event, DAHDI_EVENT_ONHOOK);
  EXPECT_EQ(DahdiIoctl<DAHDI_GETEVENT>(fake, fd, event), 0);
  EXPECT_EQ(event, DAHDI_EVENT_NONE);
  EXPECT_EQ(fake.Read(fd, buffer), 16) << "one block, law bytes";
  int hook = DAHDI_RING;
  EXPECT_EQ(DahdiIoctl<DAHDI_HOOK>(fake, fd, hook), -EINPROGRESS);
  EXPECT_EQ(DahdiIoctl<DAHDI_HOOK>(fake, fd, hook), -EBUSY);
  EXPECT_EQ(fake.Ioctl(fd, DAHDI_CHANNO, &hook, sizeof(int)), -ENOTTY) << "not modelled";
  fake.RemoveChannel(5);
  event = 0;
  EXPECT_EQ(DahdiIoctl<DAHDI_GETEVENT>(fake, fd, event), -ENODEV);
  EXPECT_EQ(event, DAHDI_EVENT_REMOVED);
  EXPECT_EQ(fake.Read(fd, buffer), -ENODEV);
  EXPECT_EQ(fake.Close(fd), 0);
  EXPECT_EQ(fake.Close(fd), -EBADF);
}

}  // namespace
}  // namespace linegate::media::tdm::dahdi
