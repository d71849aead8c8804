#include "common/config/validation.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/un.h>

#include <cctype>
#include <charconv>
#include <map>

#include "common/config/schema.h"
#include "control/callcontrol/digit_map.h"
#include "control/callcontrol/routing.h"

namespace linegate::config::validation {
namespace {

using schema::Quote;

// sockaddr_un.sun_path holds the path and its NUL: a longer ipc:// path fails at bind
// time with a message far from the configuration, so it is refused here.
constexpr size_t kMaxIpcPathBytes = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr std::string_view kIpcScheme = "ipc://";
constexpr std::string_view kTcpScheme = "tcp://";

// Of two settings that conflict, the one the operator should look at: the preferred one
// if they wrote it, else the other if they wrote it, else the preferred one.
const char* Blame(const WrittenFn& written, const char* preferred, const char* other) {
  if (written(preferred)) return preferred;
  return written(other) ? other : preferred;
}

bool IsIpAddress(const std::string& text) {
  in6_addr storage;
  return inet_pton(AF_INET, text.c_str(), &storage) == 1 || inet_pton(AF_INET6, text.c_str(), &storage) == 1;
}

// The reason an endpoint is unusable, or empty when it is fine.
std::string CheckEndpoint(const std::string& endpoint) {
  std::string_view text = endpoint;
  if (text.starts_with(kIpcScheme)) {
    const std::string_view path = text.substr(kIpcScheme.size());
    if (path.empty()) return fmt::format("endpoint {} has no socket path", Quote(endpoint));
    if (path.size() > kMaxIpcPathBytes) {
      return fmt::format("socket path of {} is longer than {} bytes", Quote(endpoint), kMaxIpcPathBytes);
    }
    return "";
  }
  if (text.starts_with(kTcpScheme)) {
    const std::string_view address = text.substr(kTcpScheme.size());
    const size_t colon = address.rfind(':');
    const std::string_view host = colon == std::string_view::npos ? address : address.substr(0, colon);
    const std::string_view port = colon == std::string_view::npos ? "" : address.substr(colon + 1);
    unsigned number = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    const bool port_ok = port == "*" || (!port.empty() && ec == std::errc() &&
                                         ptr == port.data() + port.size() && number >= 1 && number <= 65535);
    if (host.empty() || !port_ok) {
      return fmt::format("endpoint {} must be tcp://<host>:<port> with a port in [1, 65535] or *",
                         Quote(endpoint));
    }
    return "";
  }
  return fmt::format("endpoint {} must start with ipc:// or tcp://", Quote(endpoint));
}

std::optional<Finding> CheckGateway(const v1::Config& config) {
  if (config.gateway().name().empty()) return Finding{"gateway.name", "must not be empty"};
  return std::nullopt;
}

std::optional<Finding> CheckRuntime(const v1::Config& config) {
  const std::string& dir = config.runtime().runtime_dir();
  if (dir.empty() || dir.front() != '/') {
    return Finding{"runtime.runtime_dir", fmt::format("must be an absolute path, got {}", Quote(dir))};
  }
  return std::nullopt;
}

std::optional<Finding> DeriveBus(v1::Config& config, const WrittenFn& written) {
  std::string dir = config.runtime().runtime_dir();
  while (!dir.empty() && dir.back() == '/') dir.pop_back();  // "/run/linegate/" is the same directory

  v1::Bus& bus = *config.mutable_bus();
  struct Endpoint {
    const char* path;
    std::string* value;
    const char* socket_name;
  };
  const Endpoint endpoints[] = {
      {"bus.control_endpoint", bus.mutable_control_endpoint(), "control.sock"},
      {"bus.events_endpoint", bus.mutable_events_endpoint(), "events.sock"},
  };
  for (const Endpoint& endpoint : endpoints) {
    if (endpoint.value->empty()) {
      const std::string socket_path = dir + "/" + endpoint.socket_name;
      if (socket_path.size() > kMaxIpcPathBytes) {
        return Finding{"runtime.runtime_dir",
                       fmt::format("is too long for the socket path {} of {} (at most {} bytes)",
                                   Quote(socket_path), endpoint.path, kMaxIpcPathBytes)};
      }
      *endpoint.value = std::string(kIpcScheme) + socket_path;
      continue;
    }
    std::string reason = CheckEndpoint(*endpoint.value);
    if (!reason.empty()) return Finding{endpoint.path, std::move(reason)};
  }
  if (bus.control_endpoint() == bus.events_endpoint()) {
    return Finding{Blame(written, "bus.events_endpoint", "bus.control_endpoint"),
                   fmt::format("bus.control_endpoint and bus.events_endpoint must differ (both are {})",
                               Quote(bus.control_endpoint()))};
  }
  return std::nullopt;
}

std::optional<Finding> CheckSupervision(const v1::Config& config, const WrittenFn& written) {
  const v1::Supervision& supervision = config.supervision();
  if (supervision.restart_backoff_initial_ms() > supervision.restart_backoff_max_ms()) {
    return Finding{
        Blame(written, "supervision.restart_backoff_max_ms", "supervision.restart_backoff_initial_ms"),
        fmt::format("restart_backoff_initial_ms ({}) must not exceed restart_backoff_max_ms ({})",
                    supervision.restart_backoff_initial_ms(), supervision.restart_backoff_max_ms())};
  }
  return std::nullopt;
}

std::optional<Finding> DeriveSignaling(v1::Config& config) {
  v1::Signaling& signaling = *config.mutable_signaling();
  if (!IsIpAddress(signaling.listen_address())) {
    return Finding{"signaling.listen_address",
                   fmt::format("{} is not an IPv4 or IPv6 address", Quote(signaling.listen_address()))};
  }
  if (signaling.transports().empty()) signaling.add_transports(v1::SIP_TRANSPORT_UDP);
  for (int i = 0; i < signaling.transports_size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (signaling.transports(i) == signaling.transports(j)) {
        const auto* value = v1::SipTransport_descriptor()->FindValueByNumber(signaling.transports(i));
        return Finding{fmt::format("signaling.transports[{}]", i),
                       fmt::format("transport {} is listed twice", schema::ShortName(*value))};
      }
    }
  }
  return std::nullopt;
}

// A stored HA1 is hex of an MD5 (32) or SHA-256 (64) digest.
bool IsHa1(const std::string& text) {
  if (text.size() != 32 && text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<Finding> CheckSecret(const std::string& path, const std::string& password,
                                   const std::string& ha1, bool required) {
  if (!password.empty() && !ha1.empty()) {
    return Finding{path + ".ha1", "give either a password or an ha1, not both"};
  }
  if (!ha1.empty() && !IsHa1(ha1)) {
    // The value is a secret: never repeat it in the message.
    return Finding{path + ".ha1", "must be 32 (MD5) or 64 (SHA-256) hexadecimal digits"};
  }
  if (required && password.empty() && ha1.empty()) return Finding{path, "needs a password or an ha1"};
  return std::nullopt;
}

std::optional<Finding> CheckRegistrations(const v1::Config& config) {
  const v1::Signaling& signaling = config.signaling();
  std::map<std::string, int> sets;
  for (int i = 0; i < signaling.proxy_sets_size(); ++i) {
    const v1::ProxySet& set = signaling.proxy_sets(i);
    const std::string path = fmt::format("signaling.proxy_sets[{}]", i);
    if (set.name().empty()) return Finding{path + ".name", "is required"};
    if (auto [it, fresh] = sets.emplace(set.name(), i); !fresh) {
      return Finding{path + ".name",
                     fmt::format("duplicate proxy set name {} (also signaling.proxy_sets[{}])",
                                 Quote(set.name()), it->second)};
    }
    if (set.proxies().empty()) return Finding{path + ".proxies", "at least one proxy is required"};
    for (int j = 0; j < set.proxies_size(); ++j) {
      if (!IsIpAddress(set.proxies(j).address())) {
        return Finding{fmt::format("{}.proxies[{}].address", path, j),
                       fmt::format("{} is not an IPv4 or IPv6 address", Quote(set.proxies(j).address()))};
      }
    }
  }
  const v1::Registration& registration = signaling.registration();
  const bool endpoints_register = registration.mode() == v1::REGISTRATION_MODE_PER_ENDPOINT;
  if (registration.mode() == v1::REGISTRATION_MODE_GATEWAY || endpoints_register) {
    if (sets.count(registration.proxy_set()) == 0) {
      return Finding{
          "signaling.registration.proxy_set",
          registration.proxy_set().empty()
              ? std::string("is required when registration.mode registers the gateway or endpoints")
              : fmt::format("no proxy set named {}", Quote(registration.proxy_set()))};
    }
  }
  if (registration.mode() == v1::REGISTRATION_MODE_GATEWAY) {
    if (registration.gateway_user().empty()) {
      return Finding{"signaling.registration.gateway_user", "is required with registration.mode gateway"};
    }
    if (auto finding =
            CheckSecret("signaling.registration", registration.password(), registration.ha1(), true)) {
      return finding;
    }
  }
  std::map<std::string, int> accounts;
  for (int i = 0; i < signaling.accounts_size(); ++i) {
    const v1::Account& account = signaling.accounts(i);
    const std::string path = fmt::format("signaling.accounts[{}]", i);
    if (account.name().empty()) return Finding{path + ".name", "is required"};
    if (auto [it, fresh] = accounts.emplace(account.name(), i); !fresh) {
      return Finding{path + ".name", fmt::format("duplicate account name {} (also signaling.accounts[{}])",
                                                 Quote(account.name()), it->second)};
    }
    if (account.username().empty()) return Finding{path + ".username", "is required"};
    if (sets.count(account.proxy_set()) == 0) {
      return Finding{path + ".proxy_set",
                     account.proxy_set().empty()
                         ? std::string("is required")
                         : fmt::format("no proxy set named {}", Quote(account.proxy_set()))};
    }
    if (auto finding = CheckSecret(path, account.password(), account.ha1(), true)) return finding;
  }
  std::map<uint32_t, int> lines;
  for (int i = 0; i < signaling.endpoints_size(); ++i) {
    const v1::Endpoint& endpoint = signaling.endpoints(i);
    const std::string path = fmt::format("signaling.endpoints[{}]", i);
    if (endpoint.line() == 0) return Finding{path + ".line", "is required"};
    if (auto [it, fresh] = lines.emplace(endpoint.line(), i); !fresh) {
      return Finding{path + ".line", fmt::format("line {} is listed twice (also signaling.endpoints[{}])",
                                                 endpoint.line(), it->second)};
    }
    if (endpoint.phone_number().empty()) return Finding{path + ".phone_number", "is required"};
    if (auto finding = CheckSecret(path, endpoint.password(), endpoint.ha1(), endpoints_register))
      return finding;
  }
  return std::nullopt;
}

std::optional<Finding> CheckMedia(const v1::Config& config, const WrittenFn& written) {
  const v1::Media& media = config.media();
  if (!IsIpAddress(media.rtp_address())) {
    return Finding{"media.rtp_address",
                   fmt::format("{} is not an IPv4 or IPv6 address", Quote(media.rtp_address()))};
  }
  if (static_cast<uint32_t>(media.shards_size()) > media.process_count()) {
    return Finding{"media.shards",
                   fmt::format("{} entries for process_count {} (one per media process, by shard)",
                               media.shards_size(), media.process_count())};
  }
  for (int i = 0; i < media.shards_size(); ++i) {
    const v1::MediaShard& shard = media.shards(i);
    const v1::PacketIoBackend backend = shard.backend();
    const std::string path = fmt::format("media.shards[{}].dpdk", i);
    if (backend == v1::PACKET_IO_BACKEND_DPDK) {
      in_addr address;
      if (inet_pton(AF_INET, shard.dpdk().ipv4_address().c_str(), &address) != 1) {
        return Finding{path + ".ipv4_address",
                       fmt::format("a DPDK media process needs its numeric IPv4 media address, not {}",
                                   Quote(shard.dpdk().ipv4_address()))};
      }
    }
  }
  if (media.backend() == v1::PACKET_IO_BACKEND_DPDK &&
      static_cast<uint32_t>(media.shards_size()) < media.process_count()) {
    // Each DPDK process needs its own port and address: there is no sensible default.
    return Finding{"media.backend",
                   fmt::format("dpdk needs media.shards[] with each process's port and address "
                               "({} of {} given)",
                               media.shards_size(), media.process_count())};
  }
  if (media.rtp_port_min() >= media.rtp_port_max()) {
    return Finding{Blame(written, "media.rtp_port_max", "media.rtp_port_min"),
                   fmt::format("rtp_port_min ({}) must be below rtp_port_max ({})", media.rtp_port_min(),
                               media.rtp_port_max())};
  }
  // Each media process takes a share of the range, and a call needs an RTP port and the
  // RTCP port next to it (RFC 3550 11).
  const uint64_t ports = uint64_t{media.rtp_port_max()} - media.rtp_port_min() + 1;
  const uint64_t needed = uint64_t{2} * media.process_count();
  if (ports < needed) {
    const char* path = written("media.rtp_port_max")   ? "media.rtp_port_max"
                       : written("media.rtp_port_min") ? "media.rtp_port_min"
                                                       : "media.process_count";
    return Finding{
        path, fmt::format("RTP port range {}-{} holds {} ports; process_count {} needs at least {}",
                          media.rtp_port_min(), media.rtp_port_max(), ports, media.process_count(), needed)};
  }
  return std::nullopt;
}

std::optional<Finding> CheckTdm(const v1::Config& config, const WrittenFn& written) {
  const v1::Tdm& tdm = config.tdm();
  std::map<std::string, int> index_by_name;
  for (int i = 0; i < tdm.cards_size(); ++i) {
    const v1::Card& card = tdm.cards(i);
    const std::string path = fmt::format("tdm.cards[{}]", i);
    if (card.name().empty()) {
      const std::string name_path = path + ".name";
      return Finding{name_path, written(name_path) ? "must not be empty" : "is required"};
    }
    auto [it, inserted] = index_by_name.emplace(card.name(), i);
    if (!inserted) {
      return Finding{path + ".name", fmt::format("duplicate card name {} (also tdm.cards[{}])",
                                                 Quote(card.name()), it->second)};
    }
    if (uint64_t{card.fxs_ports()} + card.fxo_ports() == 0) {
      return Finding{path, "a card needs at least one port (fxs_ports + fxo_ports >= 1)"};
    }
    if (tdm.driver() == v1::TDM_DRIVER_DAHDI) {
      const v1::DahdiCard& dahdi = card.dahdi();
      const bool lists = dahdi.fxs_channels_size() > 0 || dahdi.fxo_channels_size() > 0;
      if (!lists && dahdi.first_channel() == 0) {
        return Finding{path + ".dahdi", "a DAHDI card needs fxs_channels/fxo_channels or first_channel"};
      }
      if (lists && dahdi.first_channel() != 0) {
        return Finding{path + ".dahdi.first_channel",
                       "give either the channel lists or first_channel, not both"};
      }
      if (lists && static_cast<uint32_t>(dahdi.fxs_channels_size()) != card.fxs_ports()) {
        return Finding{
            path + ".dahdi.fxs_channels",
            fmt::format("lists {} channels for {} fxs_ports", dahdi.fxs_channels_size(), card.fxs_ports())};
      }
      if (lists && static_cast<uint32_t>(dahdi.fxo_channels_size()) != card.fxo_ports()) {
        return Finding{
            path + ".dahdi.fxo_channels",
            fmt::format("lists {} channels for {} fxo_ports", dahdi.fxo_channels_size(), card.fxo_ports())};
      }
      if (!lists && dahdi.first_channel() + card.fxs_ports() + card.fxo_ports() - 1 > 1024) {
        return Finding{path + ".dahdi.first_channel", "the card's channels run past DAHDI channel 1024"};
      }
    } else if (written(path + ".dahdi")) {
      return Finding{path + ".dahdi", "only for tdm.driver dahdi"};
    }
  }
  if (tdm.driver() == v1::TDM_DRIVER_DAHDI) {
    if (tdm.frame_ms() < 2) return Finding{"tdm.frame_ms", "DAHDI blocks are at least 2 ms (16 samples)"};
    if (tdm.cards().empty()) return Finding{"tdm.cards", "at least one card is required"};
  }
  if (tdm.driver() == v1::TDM_DRIVER_SIM && tdm.cards().empty()) {
    return Finding{"tdm.cards", "at least one card is required"};
  }
  return std::nullopt;
}

std::optional<Finding> CheckPattern(const std::string& path, const std::string& text) {
  if (auto pattern = callcontrol::NumberPattern::Parse(text); !pattern) return Finding{path, pattern.error()};
  return std::nullopt;
}

std::optional<Finding> CheckCalls(const v1::Config& config) {
  const v1::Calls& calls = config.calls();
  std::map<std::string, int> proxy_sets;
  for (int i = 0; i < config.signaling().proxy_sets_size(); ++i)
    proxy_sets.emplace(config.signaling().proxy_sets(i).name(), i);
  uint32_t total_lines = 0;
  for (const auto& card : config.tdm().cards()) total_lines += card.fxs_ports() + card.fxo_ports();

  std::map<int, int> codecs;
  for (int i = 0; i < calls.codecs_size(); ++i) {
    if (auto [it, fresh] = codecs.emplace(calls.codecs(i), i); !fresh) {
      return Finding{
          fmt::format("calls.codecs[{}]", i),
          fmt::format("{} is listed twice (also calls.codecs[{}])",
                      schema::ShortName(*media::v1::Codec_descriptor()->FindValueByNumber(calls.codecs(i))),
                      it->second)};
    }
  }
  const std::string& country = calls.tone_country();
  if (country != "US" && country != "UK" && country != "DE" && country != "FR") {
    return Finding{"calls.tone_country", fmt::format("must be US, UK, DE or FR, got {}", Quote(country))};
  }
  const v1::DialPlan& plan = calls.dial_plan();
  if (auto map = callcontrol::DigitMap::Parse(plan.digit_map()); !map) {
    return Finding{"calls.dial_plan.digit_map", map.error()};
  }
  if (plan.terminator().size() > 1 ||
      (plan.terminator().size() == 1 && callcontrol::DigitIndex(plan.terminator()[0]) < 0)) {
    return Finding{"calls.dial_plan.terminator",
                   fmt::format("must be one key (0-9, * or #) or empty, got {}", Quote(plan.terminator()))};
  }
  // A destination: a proxy set's name, else a literal host:port.
  auto check_destination = [&](const std::string& path,
                               const std::string& destination) -> std::optional<Finding> {
    if (proxy_sets.count(destination) > 0) return std::nullopt;
    if (destination.find(':') == std::string::npos) {
      return Finding{path, fmt::format("no proxy set named {} (and not a host:port)", Quote(destination))};
    }
    if (Status address = callcontrol::ValidateHostPort(destination); !address)
      return Finding{path, address.error()};
    return std::nullopt;
  };
  if (!calls.default_destination().empty()) {
    if (auto finding = check_destination("calls.default_destination", calls.default_destination()))
      return finding;
  }
  for (int i = 0; i < calls.tel_to_ip_routes_size(); ++i) {
    const v1::TelToIpRoute& route = calls.tel_to_ip_routes(i);
    const std::string path = fmt::format("calls.tel_to_ip_routes[{}]", i);
    if (!route.proxy_set().empty() && !route.address().empty()) {
      return Finding{path + ".address", "give either a proxy_set or an address, not both"};
    }
    if (route.proxy_set().empty() && route.address().empty()) {
      return Finding{path, "needs a proxy_set or an address"};
    }
    if (!route.proxy_set().empty() && proxy_sets.count(route.proxy_set()) == 0) {
      return Finding{path + ".proxy_set", fmt::format("no proxy set named {}", Quote(route.proxy_set()))};
    }
    if (!route.address().empty()) {
      if (Status address = callcontrol::ValidateHostPort(route.address()); !address) {
        return Finding{path + ".address", address.error()};
      }
    }
    if (auto finding = CheckPattern(path + ".destination", route.destination())) return finding;
    if (auto finding = CheckPattern(path + ".source", route.source())) return finding;
  }
  for (int i = 0; i < calls.alternative_route_codes_size(); ++i) {
    const uint32_t code = calls.alternative_route_codes(i);
    if (code < 400 || code > 699) {
      return Finding{fmt::format("calls.alternative_route_codes[{}]", i),
                     fmt::format("must be a SIP failure status (400-699), got {}", code)};
    }
  }
  std::map<std::string, int> groups;
  for (int i = 0; i < calls.hunt_groups_size(); ++i) {
    const v1::HuntGroup& group = calls.hunt_groups(i);
    const std::string path = fmt::format("calls.hunt_groups[{}]", i);
    if (group.name().empty()) return Finding{path + ".name", "is required"};
    if (auto [it, fresh] = groups.emplace(group.name(), i); !fresh) {
      return Finding{path + ".name", fmt::format("duplicate hunt group name {} (also calls.hunt_groups[{}])",
                                                 Quote(group.name()), it->second)};
    }
    if (group.lines().empty()) return Finding{path + ".lines", "at least one line is required"};
    std::map<uint32_t, int> lines;
    for (int j = 0; j < group.lines_size(); ++j) {
      const uint32_t line = group.lines(j);
      const std::string line_path = fmt::format("{}.lines[{}]", path, j);
      if (line == 0 || line > total_lines) {
        return Finding{line_path,
                       fmt::format("line {} does not exist (the gateway has {} lines)", line, total_lines)};
      }
      if (auto [it, fresh] = lines.emplace(line, j); !fresh) {
        return Finding{line_path,
                       fmt::format("line {} is listed twice (also {}.lines[{}])", line, path, it->second)};
      }
    }
  }
  for (int i = 0; i < calls.ip_to_tel_routes_size(); ++i) {
    const v1::IpToTelRoute& route = calls.ip_to_tel_routes(i);
    const std::string path = fmt::format("calls.ip_to_tel_routes[{}]", i);
    if (route.line() != 0 && !route.hunt_group().empty()) {
      return Finding{path + ".hunt_group", "give either a line or a hunt_group, not both"};
    }
    if (route.line() == 0 && route.hunt_group().empty()) return Finding{path, "needs a line or a hunt_group"};
    if (route.line() > total_lines) {
      return Finding{path + ".line", fmt::format("line {} does not exist (the gateway has {} lines)",
                                                 route.line(), total_lines)};
    }
    if (!route.hunt_group().empty() && groups.count(route.hunt_group()) == 0) {
      return Finding{path + ".hunt_group", fmt::format("no hunt group named {}", Quote(route.hunt_group()))};
    }
    if (auto finding = CheckPattern(path + ".called", route.called())) return finding;
    if (auto finding = CheckPattern(path + ".calling", route.calling())) return finding;
  }
  for (int i = 0; i < calls.manipulation_size(); ++i) {
    const v1::ManipulationRule& rule = calls.manipulation(i);
    const std::string path = fmt::format("calls.manipulation[{}]", i);
    if (auto finding = CheckPattern(path + ".destination", rule.destination())) return finding;
    if (auto finding = CheckPattern(path + ".source", rule.source())) return finding;
  }
  for (int i = 0; i < config.signaling().endpoints_size(); ++i) {
    const v1::Endpoint& endpoint = config.signaling().endpoints(i);
    const std::string path = fmt::format("signaling.endpoints[{}]", i);
    if (endpoint.line() > total_lines) {
      return Finding{path + ".line", fmt::format("line {} does not exist (the gateway has {} lines)",
                                                 endpoint.line(), total_lines)};
    }
    const std::string& hotline = endpoint.hotline_number();
    for (char c : hotline) {
      if (callcontrol::DigitIndex(c) < 0) {
        return Finding{path + ".hotline_number",
                       fmt::format("{} has a key that is not 0-9, * or #", Quote(hotline))};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Finding> DeriveAndValidate(v1::Config& config, const WrittenFn& written) {
  if (auto finding = CheckGateway(config)) return finding;
  if (auto finding = CheckRuntime(config)) return finding;
  if (auto finding = DeriveBus(config, written)) return finding;
  if (auto finding = CheckSupervision(config, written)) return finding;
  if (auto finding = DeriveSignaling(config)) return finding;
  if (auto finding = CheckRegistrations(config)) return finding;
  if (auto finding = CheckMedia(config, written)) return finding;
  if (auto finding = CheckTdm(config, written)) return finding;
  if (auto finding = CheckCalls(config)) return finding;
  return std::nullopt;
}

}  // namespace linegate::config::validation
