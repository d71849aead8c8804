#pragma once
// The mapping of config.proto's `calls` section (and the endpoint table) onto the
// plain config structs of control/callcontrol, plus the line facts call control needs
// (FXS or FXO, the endpoint of a line). Validation errors of the section itself are
// reported by common/config (validation.cc); Create() of each building block checks
// again, so a config that slipped past validation still fails loudly at start-up.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "control/callcontrol/cdr.h"
#include "control/callcontrol/digit_map.h"
#include "control/callcontrol/number_manipulation.h"
#include "control/callcontrol/routing.h"
#include "linegate/config/v1/config.pb.h"

namespace linegate::calls {

// Dial plan of calls.dial_plan; `hotline` is the line's endpoint.hotline_number.
callcontrol::DigitCollectorConfig DialPlanFromConfig(const config::v1::DialPlan& plan,
                                                     const std::string& hotline);
callcontrol::NumberManipulationConfig ManipulationFromConfig(const config::v1::Calls& calls);
// Tel-to-IP routes, with the default destination (calls.default_destination, else the
// registration proxy set, else the first proxy set) appended as a catch-all rule.
callcontrol::TelToIpConfig TelToIpFromConfig(const config::v1::Config& config);
// The default destination alone ("" when the configuration has none).
std::string DefaultDestination(const config::v1::Config& config);
callcontrol::IpToTelConfig IpToTelFromConfig(const config::v1::Calls& calls);
// calls.cdr; an empty path becomes <runtime_dir>/cdr.jsonl.
callcontrol::CdrWriterConfig CdrFromConfig(const config::v1::Cdr& cdr, const std::string& runtime_dir);

// What a line is: lines are numbered from 1 across cards, each card's FXS ports first,
// then its FXO ports (media/shard_map.h, tdm::EnumerateLines).
struct LineInfo {
  uint32_t line = 0;
  bool fxo = false;
  bool sim = false;  // the `sim` driver: the far end can be scripted (linegatectl line)
};
// nullopt when the line does not exist.
std::optional<LineInfo> DescribeLine(const config::v1::Config& config, uint32_t line);

// The RTP port call control gives a line's leg: its own pair at the top of the
// shard's port slice, counted down, so that the gateway can offer SDP before media
// has a session (media refuses a session without a remote address) and the port
// stays the line's across media restarts. Media's own allocation (operator sessions
// created with local_port 0) starts at the bottom of the slice. 0: the slice is too
// small for two pairs per line.
uint32_t ReservedRtpPort(const config::v1::Config& config, uint32_t line, uint32_t leg);

}  // namespace linegate::calls
