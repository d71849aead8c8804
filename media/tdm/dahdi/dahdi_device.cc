#include "media/tdm/dahdi/dahdi_device.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace linegate::media::tdm::dahdi {

int SystemDahdiDevice::Open(const char* path, int flags) {
  const int fd = ::open(path, flags);
  return fd < 0 ? -errno : fd;
}

int SystemDahdiDevice::Close(int fd) { return ::close(fd) < 0 ? -errno : 0; }

int SystemDahdiDevice::Ioctl(int fd, unsigned long request, void* arg, size_t /*arg_size*/) {
  const int result = ::ioctl(fd, request, arg);
  return result < 0 ? -errno : result;
}

ssize_t SystemDahdiDevice::Read(int fd, std::span<uint8_t> buffer) {
  const ssize_t n = ::read(fd, buffer.data(), buffer.size());
  return n < 0 ? -errno : n;
}

ssize_t SystemDahdiDevice::Write(int fd, std::span<const uint8_t> data) {
  const ssize_t n = ::write(fd, data.data(), data.size());
  return n < 0 ? -errno : n;
}

int SystemDahdiDevice::Poll(std::span<pollfd> fds, int timeout_ms) {
  const int n = ::poll(fds.data(), fds.size(), timeout_ms);
  return n < 0 ? -errno : n;
}

}  // namespace linegate::media::tdm::dahdi
