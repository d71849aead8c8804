#include "control/callcontrol/number_manipulation.h"

#include <utility>

namespace linegate::callcontrol {

std::string_view CallDirectionName(CallDirection direction) {
  return direction == CallDirection::kTelToIp ? "tel-to-ip" : "ip-to-tel";
}

std::string ApplyEdits(std::string number, const ManipulationRuleConfig& rule) {
  const size_t left = std::min(number.size(), static_cast<size_t>(std::max(rule.strip_left, 0)));
  number.erase(0, left);
  const size_t right = std::min(number.size(), static_cast<size_t>(std::max(rule.strip_right, 0)));
  number.erase(number.size() - right);
  if (rule.leave >= 0 && number.size() > static_cast<size_t>(rule.leave)) {
    number.erase(0, number.size() - static_cast<size_t>(rule.leave));
  }
  return rule.prefix + number + rule.suffix;
}

Result<std::vector<NumberManipulation::Rule>> NumberManipulation::Compile(
    const std::vector<ManipulationRuleConfig>& rules) {
  std::vector<Rule> compiled;
  for (size_t i = 0; i < rules.size(); ++i) {
    const ManipulationRuleConfig& r = rules[i];
    const std::string where =
        "manipulation rule " + std::to_string(i) + (r.name.empty() ? "" : " (" + r.name + ")");
    if (r.strip_left < 0 || r.strip_right < 0 || r.leave < -1) return Error{where + ": negative digit count"};
    for (const std::string* s : {&r.prefix, &r.suffix}) {
      for (char c : *s) {
        if (DigitIndex(c) < 0 && c != '+')
          return Error{where + ": prefix/suffix must be digits, '*', '#' or '+'"};
      }
    }
    auto destination = NumberPattern::Parse(r.destination_pattern);
    if (!destination) return Error{where + ": " + destination.error()};
    auto source = NumberPattern::Parse(r.source_pattern);
    if (!source) return Error{where + ": " + source.error()};
    compiled.push_back(Rule{r, std::move(destination.value()), std::move(source.value())});
  }
  return compiled;
}

Result<NumberManipulation> NumberManipulation::Create(NumberManipulationConfig config) {
  NumberManipulation m;
  auto tel_to_ip = Compile(config.tel_to_ip);
  if (!tel_to_ip) return Error{"tel-to-ip " + tel_to_ip.error()};
  auto ip_to_tel = Compile(config.ip_to_tel);
  if (!ip_to_tel) return Error{"ip-to-tel " + ip_to_tel.error()};
  m.tel_to_ip_ = std::move(tel_to_ip.value());
  m.ip_to_tel_ = std::move(ip_to_tel.value());
  return m;
}

ManipulationResult NumberManipulation::Apply(CallDirection direction, std::string_view destination,
                                             std::string_view source) const {
  const std::vector<Rule>& rules = direction == CallDirection::kTelToIp ? tel_to_ip_ : ip_to_tel_;
  ManipulationResult result{std::string(destination), std::string(source), -1, -1};
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    const bool for_destination = rule.config.target == ManipulatedNumber::kDestination;
    int& applied = for_destination ? result.destination_rule : result.source_rule;
    if (applied >= 0) continue;
    if (!rule.destination.Matches(destination) || !rule.source.Matches(source)) continue;
    applied = static_cast<int>(i);
    std::string& number = for_destination ? result.destination : result.source;
    number = ApplyEdits(std::string(for_destination ? destination : source), rule.config);
  }
  return result;
}

}  // namespace linegate::callcontrol
