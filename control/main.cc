// linegate-control: loads the configuration, binds the bus, and starts and
// supervises signaling, media and tdm.
//
// Exit codes: 0 orderly stop, 1 runtime failure, 2 bad configuration or usage.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/config/config_loader.h"
#include "common/log.h"
#include "control/control_service.h"
#include "control/launcher.h"
#include "control/runtime_dir.h"

namespace {

constexpr const char* kUsage =
    "usage: linegate-control -c FILE [--bin-dir DIR] [--check] [--no-supervise]\n"
    "  -c FILE         configuration file (YAML)\n"
    "  --bin-dir DIR   where linegate-signaling/-media/-tdm are (default: beside this program)\n"
    "  --check         validate the configuration and exit\n"
    "  --no-supervise  start no processes; serve those started on their own (systemd)\n";

std::string SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace linegate;
  std::string config_path;
  std::string bin_dir = SelfDir();
  bool check_only = false;
  bool supervise = true;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--bin-dir" && i + 1 < argc) {
      bin_dir = argv[++i];
    } else if (arg == "--check") {
      check_only = true;
    } else if (arg == "--no-supervise") {
      supervise = false;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "linegate-control: unknown or incomplete option '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "linegate-control: -c FILE is required\n%s", kUsage);
    return 2;
  }
  auto config = config::LoadFile(config_path);
  if (!config) {
    // One line that names file, line and field; nothing has been started.
    std::fprintf(stderr, "linegate: configuration error: %s\n", config.error().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("%s: configuration is valid\n", config_path.c_str());
    return 0;
  }
  log::Init("control", -1, log::FromProto(config->runtime().log_level()));

  control::RuntimeDirLock lock;
  if (Status locked = lock.Acquire(config->runtime().runtime_dir()); !locked.ok()) {
    log::Critical("cannot start", {{"error", locked.error()}});
    return 1;
  }
  control::ForkExecLauncher launcher;
  control::ControlService service(control::ControlOptions{*config, config_path, bin_dir, supervise},
                                  launcher);
  log::Info("starting", {{"config", config_path},
                         {"gateway", config->gateway().name()},
                         {"media_processes", config->media().process_count()},
                         {"pid", static_cast<int>(getpid())}});
  if (Status started = service.Start(); !started.ok()) {
    log::Critical("cannot start", {{"error", started.error()}});
    return 1;
  }
  return service.Run();
}
