#pragma once
// The part of loading that the schema cannot express: values derived from other values,
// and rules that span fields. Runs after the YAML walk and the defaults, on a complete
// config, in a fixed order (sections in schema order), so the first finding is the same
// on every run.

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "linegate/config/v1/config.pb.h"

namespace linegate::config::validation {

// One problem: the field path to blame and what is wrong with it. The loader turns the
// path into the file position where the operator wrote that field.
struct Finding {
  std::string path;
  std::string what;
};

// Whether the operator wrote the field at this path ("media.rtp_port_min"). When two
// settings conflict, the blame goes to one the operator wrote, not to a default.
using WrittenFn = std::function<bool(const std::string& path)>;

// Derived values and cross-field rules in words, for the configuration reference.
struct RuleText {
  std::string_view path;
  std::string_view text;
};

inline constexpr std::array<RuleText, 3> kDerivedValues = {{
    {"bus.control_endpoint", "empty: `ipc://<runtime.runtime_dir>/control.sock`"},
    {"bus.events_endpoint", "empty: `ipc://<runtime.runtime_dir>/events.sock`"},
    {"signaling.transports", "empty: `[udp]`"},
}};

inline constexpr std::array<RuleText, 15> kCrossFieldRules = {{
    {"gateway.name", "must not be empty"},
    {"runtime.runtime_dir",
     "must be an absolute path; short enough that the derived socket paths fit an ipc:// "
     "address (107 bytes)"},
    {"bus.control_endpoint", "`ipc://<path>` or `tcp://<host>:<port>` (port may be `*`)"},
    {"bus.events_endpoint", "as bus.control_endpoint, and different from it"},
    {"supervision.restart_backoff_initial_ms", "at most supervision.restart_backoff_max_ms"},
    {"signaling.listen_address", "an IPv4 or IPv6 address"},
    {"signaling.transports", "no transport twice"},
    {"signaling.proxy_sets", "each has a name, unique among proxy sets, and at least one proxy"},
    {"signaling.proxy_sets[].proxies[].address", "an IPv4 or IPv6 address"},
    {"signaling.registration.proxy_set",
     "names a proxy set when registration.mode is gateway or per_endpoint; mode gateway needs gateway_user"},
    {"signaling.accounts",
     "each has a name, unique among accounts, a username, an existing proxy_set, and a password or an "
     "ha1 (32 or 64 hex digits) but not both"},
    {"signaling.endpoints",
     "each line at most once, with a phone_number; with registration.mode per_endpoint a password or "
     "an ha1"},
    {"media.rtp_address", "an IPv4 or IPv6 address"},
    {"media.rtp_port_min",
     "below media.rtp_port_max, and the range holds at least 2 ports per media process "
     "(an RTP/RTCP pair each)"},
    {"tdm.cards",
     "at least one card with the sim driver; each card has a name, unique among cards, and at "
     "least one port (fxs_ports + fxo_ports >= 1)"},
}};

// Fills derived values into config, then checks the cross-field rules. Returns the first
// problem found, or nothing when the config is valid.
std::optional<Finding> DeriveAndValidate(v1::Config& config, const WrittenFn& written);

}  // namespace linegate::config::validation
