#include "signaling/registration/proxy_set.h"

#include <utility>

#include "common/log.h"
#include "signaling/registration/request_builder.h"

namespace linegate::signaling::registration {

std::string_view ProxyHealthName(ProxyHealth health) {
  switch (health) {
    case ProxyHealth::kUnknown:
      return "unknown";
    case ProxyHealth::kAlive:
      return "alive";
    case ProxyHealth::kDown:
      return "down";
  }
  return "invalid";
}

ProxySet::ProxySet(ProxySetConfig config, Scheduler& scheduler, RequestChannel& channel,
                   auth::RandomSource& random, LocalAddressFn local_address, std::string user_agent)
    : config_(std::move(config)),
      scheduler_(scheduler),
      channel_(channel),
      random_(random),
      local_address_(std::move(local_address)),
      user_agent_(std::move(user_agent)) {
  for (const transport::Destination& destination : config_.proxies) proxies_.push_back({destination});
  if (config_.keepalive_failures_to_down < 1) config_.keepalive_failures_to_down = 1;
  // Identifiers of the keep-alive "dialog-less" OPTIONS: one Call-ID per set, CSeq rising.
  Result<std::string> call_id = RandomHex(random_, 16);
  Result<std::string> tag = RandomHex(random_, 8);
  call_id_ = (call_id.ok() ? *call_id : std::string("keepalive-") + config_.id) + "@linegate";
  from_tag_ = tag.ok() ? *tag : std::string("ka");
}

ProxySet::~ProxySet() {
  alive_.reset();
  if (keepalive_timer_ != 0) scheduler_.Cancel(keepalive_timer_);
}

void ProxySet::Start() {
  if (config_.keepalive_interval <= Duration::zero() || proxies_.empty() || keepalive_timer_ != 0) return;
  SendKeepAlives();
}

void ProxySet::SendKeepAlives() {
  keepalive_timer_ = scheduler_.Schedule(config_.keepalive_interval, [this] { SendKeepAlives(); });
  for (size_t i = 0; i < proxies_.size(); ++i) {
    Proxy& proxy = proxies_[i];
    // A probe still in flight (transaction not over yet) is not doubled.
    if (proxy.probe_in_flight) continue;
    const transport::Destination destination = proxy.destination;
    std::optional<transport::SocketAddress> local =
        local_address_ ? local_address_(destination.protocol) : std::nullopt;
    Result<std::string> branch = MakeBranch(random_);
    if (!local || !branch.ok()) {
      OnKeepAliveResult(
          i, ResponseInfo::TransportError(!local ? "no local address for the protocol" : branch.error()));
      continue;
    }
    OptionsRequest request;
    // RFC 3261 11: OPTIONS to the proxy itself; a TLS proxy is named as its certificate is.
    const std::string host =
        destination.tls_server_name.empty() ? destination.address.HostString() : destination.tls_server_name;
    request.target_host = host;
    request.target_port = destination.address.port();
    request.protocol = destination.protocol;
    request.local = *local;
    request.call_id = call_id_;
    request.from_tag = from_tag_;
    request.branch = *branch;
    request.cseq = ++cseq_;
    request.user_agent = user_agent_;
    proxy.probe_in_flight = true;
    ++counters_.keepalives_sent;
    std::weak_ptr<bool> alive = alive_;
    channel_.SendRequest(destination, BuildOptions(request), [this, alive, i](const ResponseInfo& info) {
      if (alive.expired()) return;
      proxies_[i].probe_in_flight = false;
      OnKeepAliveResult(i, info);
    });
  }
}

void ProxySet::OnKeepAliveResult(size_t index, const ResponseInfo& info) {
  Proxy& proxy = proxies_[index];
  if (info.has_response()) {
    // Any final response, even 4xx/5xx, proves the proxy is reachable and its SIP stack up.
    ++counters_.keepalive_responses;
    proxy.consecutive_failures = 0;
    if (proxy.health != ProxyHealth::kAlive) SetHealth(index, ProxyHealth::kAlive, "keep-alive answered");
    return;
  }
  ++counters_.keepalive_failures;
  ++proxy.consecutive_failures;
  log::Debug("proxy keep-alive failed", {{"proxy_set", config_.id},
                                         {"proxy", proxy.destination.address.ToString()},
                                         {"failures", proxy.consecutive_failures},
                                         {"reason", info.reason}});
  if (proxy.consecutive_failures >= config_.keepalive_failures_to_down &&
      proxy.health != ProxyHealth::kDown) {
    SetHealth(index, ProxyHealth::kDown, "keep-alive failed");
  }
}

void ProxySet::ReportFailure(size_t index) {
  if (index >= proxies_.size()) return;
  ++counters_.request_failures;
  if (proxies_[index].health != ProxyHealth::kDown) SetHealth(index, ProxyHealth::kDown, "request failed");
}

void ProxySet::SetHealth(size_t index, ProxyHealth health, std::string_view why) {
  Proxy& proxy = proxies_[index];
  log::Info("proxy health", {{"proxy_set", config_.id},
                             {"proxy", proxy.destination.address.ToString()},
                             {"from", ProxyHealthName(proxy.health)},
                             {"to", ProxyHealthName(health)},
                             {"why", why}});
  proxy.health = health;
  if (health == ProxyHealth::kAlive) proxy.consecutive_failures = 0;
  bool all_down = true;
  for (const Proxy& p : proxies_) all_down = all_down && p.health == ProxyHealth::kDown;
  if (all_down) {
    ++counters_.all_down_resets;
    log::Warn("every proxy of the set is down; starting again from the primary", {{"proxy_set", config_.id}});
    for (Proxy& p : proxies_) {
      p.health = ProxyHealth::kUnknown;
      p.consecutive_failures = 0;
    }
  }
  RecomputeActive();
}

void ProxySet::RecomputeActive() {
  size_t next = 0;
  while (next < proxies_.size() && proxies_[next].health == ProxyHealth::kDown) ++next;
  if (next == proxies_.size()) next = 0;
  if (next == active_) return;
  const size_t previous = active_;
  active_ = next;
  if (next > previous) {
    ++counters_.failovers;
  } else {
    ++counters_.homings;
  }
  log::Info(next > previous ? "proxy failover" : "proxy homing",
            {{"proxy_set", config_.id},
             {"from", proxies_[previous].destination.address.ToString()},
             {"to", proxies_[next].destination.address.ToString()}});
  if (listener_) listener_(*this, previous, next);
}

}  // namespace linegate::signaling::registration
