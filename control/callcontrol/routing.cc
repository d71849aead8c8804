#include "control/callcontrol/routing.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

namespace linegate::callcontrol {

// ---------------------------------------------------------------- Tel-to-IP

Status ValidateHostPort(std::string_view address) {
  // Built by append: `"literal" + std::string` trips GCC 12's -Wrestrict (bug 105329).
  auto fail = [address](std::string_view why) {
    std::string message = "\"";
    message.append(address).append("\": ").append(why);
    return Status(Error{std::move(message)});
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fail("expected host:port");
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return fail("bad port");
  }
  if (host.front() == '[') {
    if (host.back() != ']') return fail("unterminated '['");
    const std::string v6(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, v6.c_str(), &a6) != 1) return fail("bad IPv6");
    return Status::Ok();
  }
  for (char c : host) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
    if (!ok) return fail("bad host");
  }
  return Status::Ok();
}

Result<TelToIpRouter> TelToIpRouter::Create(TelToIpConfig config, ProxySetDown proxy_set_down) {
  TelToIpRouter router;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const TelToIpRuleConfig& r = config.rules[i];
    const std::string where =
        "tel-to-ip rule " + std::to_string(i) + (r.name.empty() ? "" : " (" + r.name + ")");
    if (r.proxy_set.empty() == r.address.empty())
      return Error{where + ": set exactly one of proxy_set and address"};
    if (!r.address.empty()) {
      if (Status s = ValidateHostPort(r.address); !s) return Error{where + ": " + s.error()};
    }
    auto destination = NumberPattern::Parse(r.destination_pattern);
    if (!destination) return Error{where + ": " + destination.error()};
    auto source = NumberPattern::Parse(r.source_pattern);
    if (!source) return Error{where + ": " + source.error()};
    router.rules_.push_back(Rule{r, std::move(destination.value()), std::move(source.value())});
  }
  for (int code : config.alternative_route_codes) {
    if (code < 300 || code > 699)
      return Error{"alternative route code " + std::to_string(code) + " is not a SIP failure"};
  }
  router.alternative_codes_ = std::move(config.alternative_route_codes);
  router.skip_down_ = config.skip_down_proxy_sets;
  router.proxy_set_down_ = std::move(proxy_set_down);
  return router;
}

TelToIpAttempt TelToIpRouter::Route(std::string_view destination, std::string_view source) const {
  TelToIpAttempt attempt;
  attempt.router_ = this;
  attempt.destination_ = std::string(destination);
  attempt.source_ = std::string(source);
  attempt.Advance();
  return attempt;
}

void TelToIpAttempt::Advance() {
  current_.reset();
  const auto& rules = router_->rules_;
  bool skipped_down = false;
  while (next_rule_ < rules.size()) {
    const size_t i = next_rule_++;
    const TelToIpRouter::Rule& rule = rules[i];
    if (!rule.destination.Matches(destination_) || !rule.source.Matches(source_)) continue;
    matched_any_ = true;
    if (!rule.config.proxy_set.empty() && router_->skip_down_ && router_->proxy_set_down_ &&
        router_->proxy_set_down_(rule.config.proxy_set)) {
      skipped_down = true;
      continue;
    }
    current_ =
        TelToIpTarget{static_cast<int>(i), rule.config.name, rule.config.proxy_set, rule.config.address};
    ++attempts_;
    failure_code_ = 0;
    return;
  }
  if (!matched_any_) {
    failure_code_ = 404;
  } else if (failure_code_ == 0 || skipped_down) {
    failure_code_ = 503;
  }
}

const std::optional<TelToIpTarget>& TelToIpAttempt::OnFailure(int sip_code) {
  if (!current_) return current_;
  failure_code_ = sip_code;
  const auto& codes = router_->alternative_codes_;
  if (std::find(codes.begin(), codes.end(), sip_code) == codes.end()) {
    current_.reset();
    next_rule_ = router_->rules_.size();
    return current_;
  }
  Advance();
  return current_;
}

// ---------------------------------------------------------------- IP-to-Tel

std::string_view HuntModeName(HuntMode mode) {
  switch (mode) {
    case HuntMode::kSequential:
      return "sequential";
    case HuntMode::kCyclic:
      return "cyclic";
    case HuntMode::kRingAll:
      return "ring-all";
  }
  return "?";
}

bool SourceIpMatches(std::string_view spec, std::string_view ip) {
  if (spec.empty() || spec == "*") return true;
  const size_t slash = spec.find('/');
  if (slash == std::string_view::npos) return spec == ip;
  const std::string net(spec.substr(0, slash));
  const std::string_view bits_text = spec.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits < 0 || bits > 32) return false;
  in_addr net_addr{}, ip_addr{};
  const std::string ip_str(ip);
  if (inet_pton(AF_INET, net.c_str(), &net_addr) != 1 || inet_pton(AF_INET, ip_str.c_str(), &ip_addr) != 1) {
    return false;
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (ntohl(net_addr.s_addr) & mask) == (ntohl(ip_addr.s_addr) & mask);
}

Result<IpToTelRouter> IpToTelRouter::Create(IpToTelConfig config, LineBusy busy) {
  IpToTelRouter router;
  if (!busy) return Error{"ip-to-tel router needs a busy(line) callback"};
  for (HuntGroupConfig& g : config.hunt_groups) {
    if (g.name.empty()) return Error{"hunt group without a name"};
    if (g.lines.empty()) return Error{"hunt group " + g.name + " has no lines"};
    if (g.busy_sip_code != 486 && g.busy_sip_code != 503) {
      return Error{"hunt group " + g.name + ": busy_sip_code must be 486 or 503"};
    }
    const std::string name = g.name;
    if (!router.groups_.emplace(name, Group{std::move(g)}).second)
      return Error{"duplicate hunt group " + name};
  }
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const IpToTelRuleConfig& r = config.rules[i];
    const std::string where =
        "ip-to-tel rule " + std::to_string(i) + (r.name.empty() ? "" : " (" + r.name + ")");
    if ((r.line >= 0) == !r.hunt_group.empty())
      return Error{where + ": set exactly one of line and hunt_group"};
    if (!r.hunt_group.empty() && !router.groups_.contains(r.hunt_group)) {
      return Error{where + ": unknown hunt group " + r.hunt_group};
    }
    if (r.source_ip.find('/') != std::string::npos &&
        !SourceIpMatches(r.source_ip, r.source_ip.substr(0, r.source_ip.find('/')))) {
      return Error{where + ": bad source_ip prefix " + r.source_ip};
    }
    auto destination = NumberPattern::Parse(r.destination_pattern);
    if (!destination) return Error{where + ": " + destination.error()};
    auto source = NumberPattern::Parse(r.source_pattern);
    if (!source) return Error{where + ": " + source.error()};
    router.rules_.push_back(Rule{r, std::move(destination.value()), std::move(source.value())});
  }
  if (config.single_line_busy_sip_code != 486 && config.single_line_busy_sip_code != 503) {
    return Error{"single_line_busy_sip_code must be 486 or 503"};
  }
  router.single_line_busy_code_ = config.single_line_busy_sip_code;
  router.busy_ = std::move(busy);
  return router;
}

IpToTelResult IpToTelRouter::Hunt(Group& group) {
  IpToTelResult result;
  result.hunt_group = group.config.name;
  const std::vector<int>& lines = group.config.lines;
  const size_t n = lines.size();
  switch (group.config.mode) {
    case HuntMode::kRingAll:
      for (int line : lines) {
        if (!busy_(line)) result.lines.push_back(line);
      }
      break;
    case HuntMode::kSequential:
      for (int line : lines) {
        if (!busy_(line)) {
          result.lines.push_back(line);
          break;
        }
      }
      break;
    case HuntMode::kCyclic: {
      const size_t start = group.last == SIZE_MAX ? 0 : (group.last + 1) % n;
      for (size_t k = 0; k < n; ++k) {
        const size_t idx = (start + k) % n;
        if (!busy_(lines[idx])) {
          result.lines.push_back(lines[idx]);
          group.last = idx;
          break;
        }
      }
      break;
    }
  }
  if (result.lines.empty()) {
    result.kind = IpToTelResult::Kind::kAllBusy;
    result.sip_code = group.config.busy_sip_code;
  } else {
    result.kind = IpToTelResult::Kind::kLines;
    result.sip_code = 0;
  }
  return result;
}

IpToTelResult IpToTelRouter::Route(std::string_view destination, std::string_view source,
                                   std::string_view source_ip) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!rule.destination.Matches(destination) || !rule.source.Matches(source) ||
        !SourceIpMatches(rule.config.source_ip, source_ip)) {
      continue;
    }
    IpToTelResult result;
    if (!rule.config.hunt_group.empty()) {
      result = Hunt(groups_.find(rule.config.hunt_group)->second);
    } else if (busy_(rule.config.line)) {
      result.kind = IpToTelResult::Kind::kAllBusy;
      result.sip_code = single_line_busy_code_;
    } else {
      result.kind = IpToTelResult::Kind::kLines;
      result.lines = {rule.config.line};
      result.sip_code = 0;
    }
    result.rule = static_cast<int>(i);
    return result;
  }
  return IpToTelResult{};
}

}  // namespace linegate::callcontrol
