#include "control/runtime_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

namespace linegate::control {

RuntimeDirLock::~RuntimeDirLock() {
  if (fd_ >= 0) close(fd_);
}

Status RuntimeDirLock::Acquire(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"runtime.runtime_dir: cannot create " + dir + ": " + ec.message()};
  std::filesystem::permissions(dir, std::filesystem::perms(0750), std::filesystem::perm_options::replace, ec);
  const std::string path = dir + "/control.lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return Error{"cannot open " + path + ": " + strerror(errno)};
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    return Error{"another linegate-control is running with runtime directory " + dir};
  }
  return Status::Ok();
}

}  // namespace linegate::control
