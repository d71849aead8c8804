#pragma once
// Rendering of control's replies for operators (linegatectl).

#include <string>

#include "linegate/process/v1/process.pb.h"
#include "linegate/signaling/v1/call.pb.h"
#include "linegate/signaling/v1/registration.pb.h"

namespace linegate::control::ctl {

// "850ms", "12.3s", "4m05s", "3h12m", "2d04h"
std::string FormatDuration(int64_t ms);
// The status table: a header line, then one row per process.
std::string FormatStatus(const process::v1::StatusReply& status);
// One row per registration: id, kind, AOR, state, expiry, last response, registrar.
std::string FormatRegistrations(const signaling::v1::RegistrationListReply& list);
// One row per call: ref, line, direction, state, calling, called, duration, codec,
// remote media; "no calls" when there is none.
std::string FormatCalls(const signaling::v1::CallListReply& list);

}  // namespace linegate::control::ctl
