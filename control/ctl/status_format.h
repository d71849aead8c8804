#pragma once
// Rendering of control's replies for operators (linegatectl).

#include <string>

#include "linegate/process/v1/process.pb.h"

namespace linegate::control::ctl {

// "850ms", "12.3s", "4m05s", "3h12m", "2d04h"
std::string FormatDuration(int64_t ms);
// The status table: a header line, then one row per process.
std::string FormatStatus(const process::v1::StatusReply& status);

}  // namespace linegate::control::ctl
