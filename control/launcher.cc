#include "control/launcher.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <vector>

namespace linegate::control {

Result<int> ForkExecLauncher::Spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error{"no command for " + spec.name};
  // Everything the child needs is prepared before fork: only async-signal-safe calls
  // happen between fork and exec.
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return Error{std::string("fork failed: ") + strerror(errno)};
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);  // control died before the line above
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return static_cast<int>(pid);
}

void ForkExecLauncher::Signal(int pid, int signal) {
  if (pid > 0) kill(pid, signal);
}

}  // namespace linegate::control
