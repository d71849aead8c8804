#include "common/process/realtime.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace linegate::process {

Status ApplyRealtimePriority(uint32_t priority) {
  if (priority == 0) return Status::Ok();
  sched_param param{};
  param.sched_priority = static_cast<int>(priority);
  if (::sched_setscheduler(0, SCHED_FIFO, &param) != 0) {
    const int error = errno;
    return Error{"SCHED_FIFO priority " + std::to_string(priority) + " refused: " + std::strerror(error) +
                 (error == EPERM
                      ? " (needs CAP_SYS_NICE, or LimitRTPRIO / CPUSchedulingPolicy=fifo in the systemd unit)"
                      : "")};
  }
  return Status::Ok();
}

}  // namespace linegate::process
