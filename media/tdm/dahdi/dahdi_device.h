#pragma once
// The seam between the DAHDI card driver and the kernel: the handful of system calls it
// makes on /dev/dahdi/channel. SystemDahdiDevice makes them; FakeDahdiDevice
// (fake_dahdi_device.h) simulates the DAHDI kernel driver's channels for tests.
//
// Every call returns a non-negative result on success and -errno on failure (errno
// itself is never read by callers), so that a fake can answer exactly as the kernel
// does, including DAHDI's ELAST ("an event is pending") on read and write.

#include <dahdi/user.h>
#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace linegate::media::tdm::dahdi {

class DahdiDevice {
 public:
  virtual ~DahdiDevice() = default;

  // A file descriptor, or -errno. `flags` as open(2).
  virtual int Open(const char* path, int flags) = 0;
  virtual int Close(int fd) = 0;
  // `request` is a DAHDI_* ioctl number and `arg` its argument, arg_size bytes (the size
  // the request number encodes; DahdiIoctl below checks it at compile time). Returns the
  // ioctl's non-negative result or -errno.
  virtual int Ioctl(int fd, unsigned long request, void* arg, size_t arg_size) = 0;
  // Bytes transferred, or -errno (-EAGAIN: nothing yet on a non-blocking channel; -ELAST:
  // a signalling event is waiting, fetch it with DAHDI_GETEVENT first).
  virtual ssize_t Read(int fd, std::span<uint8_t> buffer) = 0;
  virtual ssize_t Write(int fd, std::span<const uint8_t> data) = 0;
  // poll(2): the number of descriptors with events, 0 on timeout, or -errno (-EINTR).
  virtual int Poll(std::span<pollfd> fds, int timeout_ms) = 0;
};

// An ioctl whose argument type is checked against the size encoded in the request number
// (_IOC_SIZE), so that passing an int where DAHDI expects a struct does not compile.
template <unsigned long Request, typename Arg>
int DahdiIoctl(DahdiDevice& device, int fd, Arg& arg) {
  static_assert(_IOC_SIZE(Request) == sizeof(Arg), "the argument type does not match the ioctl request");
  return device.Ioctl(fd, Request, &arg, sizeof(Arg));
}

// The real thing: open(2), close(2), ioctl(2), read(2), write(2), poll(2). Stateless.
class SystemDahdiDevice final : public DahdiDevice {
 public:
  int Open(const char* path, int flags) override;
  int Close(int fd) override;
  int Ioctl(int fd, unsigned long request, void* arg, size_t arg_size) override;
  ssize_t Read(int fd, std::span<uint8_t> buffer) override;
  ssize_t Write(int fd, std::span<const uint8_t> data) override;
  int Poll(std::span<pollfd> fds, int timeout_ms) override;
};

}  // namespace linegate::media::tdm::dahdi
