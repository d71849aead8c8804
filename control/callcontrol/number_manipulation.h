#pragma once
// Number manipulation tables, applied before routing: for each call direction, an
// ordered table of rules matched on the destination number (and optionally the
// source number); the first matching rule rewrites the number it targets.
//
// Order of operations within a rule (as on MediaPack-class gateways): strip from the
// left, strip from the right, leave the N rightmost digits, add the prefix, add the
// suffix.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/callcontrol/digit_map.h"

namespace linegate::callcontrol {

enum class CallDirection { kTelToIp, kIpToTel };
std::string_view CallDirectionName(CallDirection direction);

enum class ManipulatedNumber { kDestination, kSource };

struct ManipulationRuleConfig {
  std::string name;  // for logs and CDRs
  // NumberPattern syntax (digit_map.h): "" or "*" any, "972" / "9[5-7]" prefix, "911$" exact.
  std::string destination_pattern;
  std::string source_pattern;
  ManipulatedNumber target = ManipulatedNumber::kDestination;
  int strip_left = 0;
  int strip_right = 0;
  int leave = -1;  // keep only the N rightmost digits; -1: all
  std::string prefix;
  std::string suffix;
};

struct NumberManipulationConfig {
  std::vector<ManipulationRuleConfig> tel_to_ip;
  std::vector<ManipulationRuleConfig> ip_to_tel;
};

struct ManipulationResult {
  std::string destination;
  std::string source;
  // Index in the direction's table of the rule applied to each number; -1 if none.
  int destination_rule = -1;
  int source_rule = -1;
};

// Applies one rule's edits to a number (exposed for tests and the CLI).
std::string ApplyEdits(std::string number, const ManipulationRuleConfig& rule);

class NumberManipulation {
 public:
  static Result<NumberManipulation> Create(NumberManipulationConfig config);

  // Rules that target the destination and rules that target the source are searched
  // separately (first match wins for each); both match on the numbers as received.
  ManipulationResult Apply(CallDirection direction, std::string_view destination,
                           std::string_view source) const;

 private:
  struct Rule {
    ManipulationRuleConfig config;
    NumberPattern destination;
    NumberPattern source;
  };
  static Result<std::vector<Rule>> Compile(const std::vector<ManipulationRuleConfig>& rules);

  std::vector<Rule> tel_to_ip_;
  std::vector<Rule> ip_to_tel_;
};

}  // namespace linegate::callcontrol
