#include "control/calls/call_config.h"

#include "media/shard_map.h"

namespace linegate::calls {

callcontrol::DigitCollectorConfig DialPlanFromConfig(const config::v1::DialPlan& plan,
                                                     const std::string& hotline) {
  callcontrol::DigitCollectorConfig c;
  c.digit_map = plan.digit_map();
  c.terminator = plan.terminator().empty() ? '\0' : plan.terminator()[0];
  c.first_digit_timeout = std::chrono::seconds(plan.first_digit_timeout_s());
  c.short_interdigit_timeout = std::chrono::seconds(plan.inter_digit_timeout_s());
  c.long_interdigit_timeout = std::chrono::seconds(plan.long_inter_digit_timeout_s());
  c.max_digits = static_cast<int>(plan.max_digits());
  c.hotline_number = hotline;
  c.hotline_delay = std::chrono::milliseconds(plan.hotline_delay_ms());
  return c;
}

callcontrol::NumberManipulationConfig ManipulationFromConfig(const config::v1::Calls& calls) {
  callcontrol::NumberManipulationConfig out;
  for (int i = 0; i < calls.manipulation_size(); ++i) {
    const config::v1::ManipulationRule& rule = calls.manipulation(i);
    callcontrol::ManipulationRuleConfig c;
    c.name = "calls.manipulation[" + std::to_string(i) + "]";
    c.destination_pattern = rule.destination();
    c.source_pattern = rule.source();
    c.target = rule.target() == config::v1::MANIPULATION_TARGET_SOURCE
                   ? callcontrol::ManipulatedNumber::kSource
                   : callcontrol::ManipulatedNumber::kDestination;
    c.strip_left = static_cast<int>(rule.strip_left());
    c.strip_right = static_cast<int>(rule.strip_right());
    c.leave = rule.keep_right() == 0 ? -1 : static_cast<int>(rule.keep_right());
    c.prefix = rule.prefix();
    c.suffix = rule.suffix();
    if (rule.direction() == config::v1::MANIPULATION_DIRECTION_IP_TO_TEL) {
      out.ip_to_tel.push_back(std::move(c));
    } else {
      out.tel_to_ip.push_back(std::move(c));
    }
  }
  return out;
}

std::string DefaultDestination(const config::v1::Config& config) {
  if (!config.calls().default_destination().empty()) return config.calls().default_destination();
  if (!config.signaling().registration().proxy_set().empty())
    return config.signaling().registration().proxy_set();
  if (config.signaling().proxy_sets_size() > 0) return config.signaling().proxy_sets(0).name();
  return "";
}

callcontrol::TelToIpConfig TelToIpFromConfig(const config::v1::Config& config) {
  callcontrol::TelToIpConfig out;
  const config::v1::Calls& calls = config.calls();
  auto is_proxy_set = [&](const std::string& name) {
    for (const auto& set : config.signaling().proxy_sets()) {
      if (set.name() == name) return true;
    }
    return false;
  };
  for (int i = 0; i < calls.tel_to_ip_routes_size(); ++i) {
    const config::v1::TelToIpRoute& route = calls.tel_to_ip_routes(i);
    callcontrol::TelToIpRuleConfig c;
    c.name = "calls.tel_to_ip_routes[" + std::to_string(i) + "]";
    c.destination_pattern = route.destination();
    c.source_pattern = route.source();
    c.proxy_set = route.proxy_set();
    c.address = route.address();
    out.rules.push_back(std::move(c));
  }
  const std::string fallback = DefaultDestination(config);
  if (!fallback.empty()) {
    callcontrol::TelToIpRuleConfig c;
    c.name = "default_destination";
    if (is_proxy_set(fallback)) {
      c.proxy_set = fallback;
    } else {
      c.address = fallback;
    }
    out.rules.push_back(std::move(c));
  }
  if (calls.alternative_route_codes_size() > 0) {
    out.alternative_route_codes.assign(calls.alternative_route_codes().begin(),
                                       calls.alternative_route_codes().end());
  }
  return out;
}

callcontrol::IpToTelConfig IpToTelFromConfig(const config::v1::Calls& calls) {
  callcontrol::IpToTelConfig out;
  for (int i = 0; i < calls.ip_to_tel_routes_size(); ++i) {
    const config::v1::IpToTelRoute& route = calls.ip_to_tel_routes(i);
    callcontrol::IpToTelRuleConfig c;
    c.name = "calls.ip_to_tel_routes[" + std::to_string(i) + "]";
    c.destination_pattern = route.called();
    c.source_pattern = route.calling();
    c.source_ip = route.source_ip();
    if (route.hunt_group().empty()) {
      c.line = static_cast<int>(route.line());
    } else {
      c.hunt_group = route.hunt_group();
    }
    out.rules.push_back(std::move(c));
  }
  for (const config::v1::HuntGroup& group : calls.hunt_groups()) {
    callcontrol::HuntGroupConfig c;
    c.name = group.name();
    c.lines.assign(group.lines().begin(), group.lines().end());
    switch (group.mode()) {
      case config::v1::HUNT_MODE_CYCLIC:
        c.mode = callcontrol::HuntMode::kCyclic;
        break;
      case config::v1::HUNT_MODE_RING_ALL:
        c.mode = callcontrol::HuntMode::kRingAll;
        break;
      default:
        c.mode = callcontrol::HuntMode::kSequential;
        break;
    }
    c.busy_sip_code = group.busy_status() == 0 ? 486 : static_cast<int>(group.busy_status());
    out.hunt_groups.push_back(std::move(c));
  }
  return out;
}

callcontrol::CdrWriterConfig CdrFromConfig(const config::v1::Cdr& cdr, const std::string& runtime_dir) {
  callcontrol::CdrWriterConfig c;
  c.path = cdr.path().empty() ? runtime_dir + "/cdr.jsonl" : cdr.path();
  if (cdr.max_file_bytes() > 0) c.max_file_bytes = cdr.max_file_bytes();
  if (cdr.max_files() > 0) c.max_files = static_cast<int>(cdr.max_files());
  c.syslog = cdr.syslog();
  return c;
}

std::optional<LineInfo> DescribeLine(const config::v1::Config& config, uint32_t line) {
  uint32_t first = 1;
  for (const auto& card : config.tdm().cards()) {
    const uint32_t count = card.fxs_ports() + card.fxo_ports();
    if (line >= first && line < first + count) {
      LineInfo info;
      info.line = line;
      info.fxo = line - first >= card.fxs_ports();
      info.sim = config.tdm().driver() == config::v1::TDM_DRIVER_SIM ||
                 config.tdm().driver() == config::v1::TDM_DRIVER_UNSPECIFIED;
      return info;
    }
    first += count;
  }
  return std::nullopt;
}

uint32_t ReservedRtpPort(const config::v1::Config& config, uint32_t line, uint32_t leg) {
  const int shard = media::ShardOfLine(config, line);
  if (shard < 0) return 0;
  const media::LineRange lines = media::ShardLines(config, static_cast<uint32_t>(shard));
  const media::PortRange ports = media::ShardPorts(config, static_cast<uint32_t>(shard));
  const uint32_t slot = (line - lines.first) * 2 + leg;
  const uint32_t pairs = (ports.last + 1 - ports.first) / 2;
  if (slot >= pairs) return 0;
  return ports.first + 2 * (pairs - 1 - slot);
}

}  // namespace linegate::calls
