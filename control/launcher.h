#pragma once
// Starts supervised processes with fork/exec. Each child gets its own process group
// (terminal signals go to control only, which then stops the children in order),
// an unblocked signal mask, and PR_SET_PDEATHSIG so that it dies with control even
// if control is killed with SIGKILL.

#include "control/supervisor.h"

namespace linegate::control {

class ForkExecLauncher final : public ProcessLauncher {
 public:
  Result<int> Spawn(const ProcessSpec& spec) override;
  void Signal(int pid, int signal) override;
};

}  // namespace linegate::control
