#pragma once
// The runtime directory holds the ipc:// sockets and a lock that keeps a second
// control from stealing the sockets of a running one.

#include <string>

#include "common/result.h"

namespace linegate::control {

class RuntimeDirLock {
 public:
  RuntimeDirLock() = default;
  ~RuntimeDirLock();
  RuntimeDirLock(const RuntimeDirLock&) = delete;
  RuntimeDirLock& operator=(const RuntimeDirLock&) = delete;

  // Creates the directory (mode 0750, parents too) and takes control.lock in it.
  Status Acquire(const std::string& dir);

 private:
  int fd_ = -1;
};

}  // namespace linegate::control
