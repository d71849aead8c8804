#pragma once
// A proxy set: the ordered proxies (or registrars) an entity's requests go to, with
// OPTIONS keep-alive, failover and homing (the AudioCodes "proxy set" with redundancy mode
// "homing"). Proxies are tried in priority order: the active proxy is always the first one
// not marked down, so when the primary's keep-alive succeeds again it is active at once
// and registrations move back to it at their next refresh (see README).
//
// Not thread-safe: owned and driven by the signaling loop.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/scheduler.h"
#include "signaling/auth/random_source.h"
#include "signaling/registration/request_channel.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::registration {

// Where requests for a protocol leave from: Via sent-by and Contact (Transport::LocalAddress
// in the signaling process). nullopt: no transport for that protocol.
using LocalAddressFn = std::function<std::optional<transport::SocketAddress>(transport::Protocol)>;

struct ProxySetConfig {
  std::string id;
  // Highest priority first.
  std::vector<transport::Destination> proxies;
  // OPTIONS to every proxy at this interval; zero disables keep-alive.
  Duration keepalive_interval = std::chrono::seconds(60);
  // Consecutive keep-alive timeouts / transport errors after which a proxy is down.
  int keepalive_failures_to_down = 3;
};

enum class ProxyHealth : uint8_t {
  kUnknown,  // not probed yet, or reset after every proxy went down
  kAlive,    // the last keep-alive got a final response (any status)
  kDown,     // N keep-alive failures, or a request failure (timeout, transport error, 503)
};
std::string_view ProxyHealthName(ProxyHealth health);

struct ProxySetCounters {
  uint64_t keepalives_sent = 0;
  uint64_t keepalive_responses = 0;
  uint64_t keepalive_failures = 0;
  uint64_t request_failures = 0;  // ReportFailure calls
  uint64_t failovers = 0;         // the active proxy moved to a lower priority one
  uint64_t homings = 0;           // the active proxy moved back to a higher priority one
  uint64_t all_down_resets = 0;   // every proxy was down: all set back to unknown
};

class ProxySet {
 public:
  // (set, previous active index, new active index)
  using ActiveChangeListener = std::function<void(const ProxySet&, size_t, size_t)>;

  // `scheduler`, `channel` and `random` must outlive the set. Call Start() to begin
  // keep-alives.
  ProxySet(ProxySetConfig config, Scheduler& scheduler, RequestChannel& channel, auth::RandomSource& random,
           LocalAddressFn local_address, std::string user_agent);
  ~ProxySet();
  ProxySet(const ProxySet&) = delete;
  ProxySet& operator=(const ProxySet&) = delete;

  void Start();

  const std::string& id() const { return config_.id; }
  size_t size() const { return proxies_.size(); }
  const transport::Destination& proxy(size_t index) const { return proxies_[index].destination; }
  ProxyHealth health(size_t index) const { return proxies_[index].health; }
  // The first proxy not down (RFC 3263 4.3: try the next server in order).
  size_t ActiveIndex() const { return active_; }
  const transport::Destination& Active() const { return proxy(active_); }

  // A request to proxy `index` timed out, met a transport error or got 503 without
  // Retry-After (RFC 3261 21.5.4, RFC 3263 4.3): the proxy is down until its keep-alive
  // succeeds again. When every proxy is down they all go back to unknown, so the set
  // starts again from the primary instead of having nowhere to send.
  void ReportFailure(size_t index);

  void set_listener(ActiveChangeListener listener) { listener_ = std::move(listener); }
  const ProxySetCounters& counters() const { return counters_; }

 private:
  struct Proxy {
    transport::Destination destination;
    ProxyHealth health = ProxyHealth::kUnknown;
    int consecutive_failures = 0;
    bool probe_in_flight = false;
  };

  void SendKeepAlives();
  void OnKeepAliveResult(size_t index, const ResponseInfo& info);
  void SetHealth(size_t index, ProxyHealth health, std::string_view why);
  void RecomputeActive();

  ProxySetConfig config_;
  Scheduler& scheduler_;
  RequestChannel& channel_;
  auth::RandomSource& random_;
  LocalAddressFn local_address_;
  std::string user_agent_;
  std::vector<Proxy> proxies_;
  size_t active_ = 0;
  std::string call_id_;
  std::string from_tag_;
  uint32_t cseq_ = 0;
  Scheduler::TimerId keepalive_timer_ = 0;
  ActiveChangeListener listener_;
  ProxySetCounters counters_;
  // Expires with the set, so that late callbacks from the channel are ignored.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace linegate::signaling::registration
