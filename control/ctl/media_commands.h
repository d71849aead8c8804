#pragma once
// linegatectl's line, port and media commands (see kMediaUsage). Kept apart from the
// process and registration commands in main.cc.

#include <optional>
#include <string>
#include <vector>

#include "common/bus/client.h"
#include "common/clock.h"

namespace linegate::control::ctl {

extern const char* const kMediaUsage;

// Runs `command` with its arguments; nullopt when the command is not one of these.
// Returns the exit code: 0 ok, 2 usage, 3 the request failed.
std::optional<int> RunMediaCommand(const std::string& command, const std::vector<std::string>& args,
                                   bus::Client& client, Duration timeout);

}  // namespace linegate::control::ctl
