// linegate: the single entry point. `linegate run -c FILE` becomes linegate-control
// (exec, so that signals and the exit code are control's own).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: linegate run -c FILE      start the gateway (control supervises the rest)\n"
    "       linegate check -c FILE    validate a configuration file\n"
    "       linegate version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "version" || command == "--version") {
    std::printf("linegate %s\n", LINEGATE_VERSION);
    return 0;
  }
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command != "run" && command != "check") {
    std::fprintf(stderr, "linegate: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string control = (ec ? std::filesystem::path(".") : self.parent_path()) / "linegate-control";
  std::vector<char*> args;
  args.push_back(const_cast<char*>(control.c_str()));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  static char check_flag[] = "--check";
  if (command == "check") args.push_back(check_flag);
  args.push_back(nullptr);
  execv(control.c_str(), args.data());
  std::fprintf(stderr, "linegate: cannot run %s: %s\n", control.c_str(), std::strerror(errno));
  return 1;
}
