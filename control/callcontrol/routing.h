#pragma once
// Call routing tables.
//
// Tel-to-IP: an ordered table of rules (destination pattern, source pattern) -> a proxy
// set name or a literal "host:port". The first usable matching rule is the route; when
// the call then fails with one of the configured SIP codes (e.g. 503, 408), the next
// matching rule is the alternative route. Rules whose proxy set is down (a callback
// says which) are skipped.
//
// IP-to-Tel: an ordered table of rules (called number, calling number, source IP) -> a
// line or a hunt group. Hunt groups select a free line sequentially (first free from the
// start), cyclically (round robin after the last line used) or ring all free lines;
// `busy(line)` is a callback. Results: lines / all busy (486 or 503 per group) /
// unknown number (404).
//
// Pure logic, no I/O; numbers are matched after manipulation.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/callcontrol/digit_map.h"

namespace linegate::callcontrol {

// ---------------------------------------------------------------- Tel-to-IP

struct TelToIpRuleConfig {
  std::string name;
  std::string destination_pattern;  // NumberPattern syntax
  std::string source_pattern;
  // Exactly one of the two.
  std::string proxy_set;  // name of a proxy set
  std::string address;    // literal "192.0.2.10:5060", "[2001:db8::1]:5060" or "host:port"
};

struct TelToIpConfig {
  std::vector<TelToIpRuleConfig> rules;
  // SIP final responses after which the next matching rule is tried.
  std::vector<int> alternative_route_codes = {408, 503};
  // Skip rules whose proxy set the callback reports down.
  bool skip_down_proxy_sets = true;
};

struct TelToIpTarget {
  int rule = -1;
  std::string rule_name;
  std::string proxy_set;  // one of the two is set
  std::string address;
};

class TelToIpRouter;

// One call's walk through the table: the current target and its alternatives.
class TelToIpAttempt {
 public:
  // nullopt: no (more) route; see failure_code().
  const std::optional<TelToIpTarget>& current() const { return current_; }
  // The call to current() failed with `sip_code`: moves to the next usable matching
  // rule if the code allows an alternative route, else ends. Returns the new current().
  const std::optional<TelToIpTarget>& OnFailure(int sip_code);
  // SIP code for the Tel side when there is no route: 404 when no rule matched at all,
  // 503 when rules matched but every proxy set was down or alternatives were exhausted
  // (then the last failure code if it was given).
  int failure_code() const { return failure_code_; }
  int attempts() const { return attempts_; }

 private:
  friend class TelToIpRouter;
  void Advance();

  const TelToIpRouter* router_ = nullptr;
  std::string destination_;
  std::string source_;
  size_t next_rule_ = 0;
  bool matched_any_ = false;
  std::optional<TelToIpTarget> current_;
  int failure_code_ = 0;
  int attempts_ = 0;
};

class TelToIpRouter {
 public:
  using ProxySetDown = std::function<bool(std::string_view proxy_set)>;

  // `proxy_set_down` may be empty (every proxy set is up).
  static Result<TelToIpRouter> Create(TelToIpConfig config, ProxySetDown proxy_set_down = {});

  // The attempt refers to this router, which must outlive it.
  TelToIpAttempt Route(std::string_view destination, std::string_view source) const;

 private:
  friend class TelToIpAttempt;
  struct Rule {
    TelToIpRuleConfig config;
    NumberPattern destination;
    NumberPattern source;
  };
  std::vector<Rule> rules_;
  std::vector<int> alternative_codes_;
  bool skip_down_ = true;
  ProxySetDown proxy_set_down_;
};

// Checks "host:port" / "[v6]:port" with a port in 1..65535.
Status ValidateHostPort(std::string_view address);

// ---------------------------------------------------------------- IP-to-Tel

enum class HuntMode { kSequential, kCyclic, kRingAll };
std::string_view HuntModeName(HuntMode mode);

struct HuntGroupConfig {
  std::string name;
  std::vector<int> lines;  // in hunting order
  HuntMode mode = HuntMode::kSequential;
  int busy_sip_code = 486;  // when every line is busy: 486 Busy Here or 503
};

struct IpToTelRuleConfig {
  std::string name;
  std::string destination_pattern;  // called number, NumberPattern syntax
  std::string source_pattern;       // calling number
  // "" or "*": any; "192.0.2.7": exact; "192.0.2.0/24": IPv4 prefix; IPv6 exact only.
  std::string source_ip;
  // Exactly one of the two.
  int line = -1;
  std::string hunt_group;
};

struct IpToTelConfig {
  std::vector<IpToTelRuleConfig> rules;
  std::vector<HuntGroupConfig> hunt_groups;
  int single_line_busy_sip_code = 486;  // a rule that names one line which is busy
};

struct IpToTelResult {
  enum class Kind { kLines, kAllBusy, kUnknownNumber };
  Kind kind = Kind::kUnknownNumber;
  std::vector<int> lines;  // kLines: one line, or every free line for ring-all
  int sip_code = 404;      // kAllBusy: 486/503; kUnknownNumber: 404; kLines: 0
  int rule = -1;
  std::string hunt_group;  // empty when the rule names a line
};

class IpToTelRouter {
 public:
  using LineBusy = std::function<bool(int line)>;

  static Result<IpToTelRouter> Create(IpToTelConfig config, LineBusy busy);

  // Not const: cyclic hunt groups remember the last line used.
  IpToTelResult Route(std::string_view destination, std::string_view source, std::string_view source_ip);

 private:
  struct Rule {
    IpToTelRuleConfig config;
    NumberPattern destination;
    NumberPattern source;
  };
  struct Group {
    HuntGroupConfig config;
    size_t last = SIZE_MAX;  // index of the last line chosen (cyclic)
  };
  IpToTelResult Hunt(Group& group);

  std::vector<Rule> rules_;
  std::map<std::string, Group, std::less<>> groups_;
  int single_line_busy_code_ = 486;
  LineBusy busy_;
};

// True when `ip` matches `spec` (see IpToTelRuleConfig::source_ip).
bool SourceIpMatches(std::string_view spec, std::string_view ip);

}  // namespace linegate::callcontrol
