#pragma once
// Real-time scheduling for the processes on the 8 kHz clock (tdm, media): a media
// process keeps only runtime.tdm_lead_ms of audio ahead of the tdm, so a wake-up later
// than that loses a frame. Ordinary scheduling on a busy host misses those deadlines
// (docs/PERFORMANCE.md, "Media plane under RTP load"); SCHED_FIFO does not.

#include <cstdint>

#include "common/result.h"

namespace linegate::process {

// priority 0: leaves the scheduling as it is. Otherwise SCHED_FIFO at `priority` for
// every thread of the calling process created afterwards and the caller itself; an
// error (EPERM without CAP_SYS_NICE or an RLIMIT_RTPRIO) names what to change.
Status ApplyRealtimePriority(uint32_t priority);

}  // namespace linegate::process
