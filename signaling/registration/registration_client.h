#pragma once
// The registration client (RFC 3261 section 10.2): keeps a binding at the registrar for
// each entity (gateway, endpoint, account), through the entity's proxy set, answering
// Digest challenges (RFC 3261 22), refreshing before expiry at a randomised point, pacing
// new REGISTERs, backing off on failures and failing over between proxies.
//
// Every input becomes a RegistrationEvent run through kRegistrationTransitions
// (registration_state.h). Time, randomness and the network come in through Scheduler,
// auth::RandomSource and RequestChannel, so tests run on a ManualScheduler.
//
// Not thread-safe: owned and driven by the signaling loop.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/scheduler.h"
#include "signaling/auth/digest_client.h"
#include "signaling/auth/random_source.h"
#include "signaling/registration/proxy_set.h"
#include "signaling/registration/registration_entity.h"
#include "signaling/registration/registration_state.h"
#include "signaling/registration/request_channel.h"

namespace linegate::signaling::registration {

struct RegistrationClientConfig {
  std::string user_agent = "linegate";
  LocalAddressFn local_address;

  // Pacing of REGISTERs that start a registration (initial, after a failure, failover):
  // at most this many per second, so that start-up of thousands of lines does not burst.
  double max_new_registers_per_second = 200.0;
  // REGISTERs awaiting a final response, over all entities, before the pacer waits
  // (0: no limit). Re-sends after a challenge are not held back.
  uint32_t max_registers_in_flight = 200;

  // Refresh at a uniformly random point between these fractions of the granted interval
  // (RFC 3261 10.2.4 leaves the point to the UA; spreading it keeps thousands of
  // refreshes from synchronising), and never later than granted - refresh_margin.
  double refresh_min_fraction = 0.5;
  double refresh_max_fraction = 0.85;
  Duration refresh_margin = std::chrono::seconds(5);

  // Backoff after 408/5xx/timeout with no other proxy to try (RFC 5626 4.5 shape):
  // wait = min(retry_max, retry_base * 2^(failures-1)), then uniformly 50%..100% of it.
  Duration retry_base = std::chrono::seconds(30);
  Duration retry_max = std::chrono::seconds(1800);
  // With Retry-After (RFC 3261 20.33) the wait is its value plus up to this much jitter.
  Duration retry_after_jitter = std::chrono::seconds(5);
  // After 403/404/other refusals and authentication failures: one new attempt after this
  // long (+-10% jitter); zero means never (an operator command or re-configuration only).
  Duration failed_retry_interval = std::chrono::seconds(1800);
  // An unregistration that keeps failing is given up after this many attempts; the
  // binding then expires at the registrar by itself.
  int max_unregister_attempts = 3;
  // Challenges answered within one request cycle before giving up (covers a proxy 407,
  // the registrar's 401 and stale nonces; DigestClient has its own stale guard).
  int max_challenges_per_request = 6;
};

// What the listener gets and Status() returns.
struct RegistrationStatus {
  std::string id;
  EntityKind kind = EntityKind::kEndpoint;
  std::string aor;  // "user@domain"
  RegistrationState state = RegistrationState::kUnregistered;
  std::optional<TimePoint> expires_at;  // while registered
  uint32_t granted_expires = 0;         // seconds, from the last 2xx
  int last_status_code = 0;             // last final response; 0: timeout / transport error / none
  std::string last_reason;              // its reason phrase, or why the entity failed
  std::string proxy;                    // the proxy of the last request, "udp:192.0.2.1:5060"
};

struct RegistrationClientCounters {
  uint64_t registers_sent = 0;  // every REGISTER, unregistrations and retries included
  uint64_t unregisters_sent = 0;
  uint64_t responses = 0;
  uint64_t timeouts = 0;  // no response: timeout or transport error
  uint64_t challenges_answered = 0;
  uint64_t auth_failures = 0;
  uint64_t registered = 0;  // transitions into registered
  uint64_t refreshes = 0;
  uint64_t failures = 0;  // transitions into failed
  uint64_t failovers = 0;
  uint64_t local_refusals = 0;  // requests this gateway could not send (transaction table full)
  uint64_t retries_scheduled = 0;
  uint64_t superseded_responses = 0;  // answered a request a newer command made obsolete
  uint64_t stale_callbacks = 0;       // results for requests no longer tracked
  uint64_t illegal_events = 0;
};

class RegistrationClient {
 public:
  using Listener = std::function<void(const RegistrationStatus&)>;

  // `scheduler`, `channel` and `random` must outlive the client.
  RegistrationClient(Scheduler& scheduler, RequestChannel& channel, auth::RandomSource& random,
                     RegistrationClientConfig config);
  ~RegistrationClient();
  RegistrationClient(const RegistrationClient&) = delete;
  RegistrationClient& operator=(const RegistrationClient&) = delete;

  // Proxy sets are owned by the client and start their keep-alives when added.
  Status AddProxySet(ProxySetConfig config);
  ProxySet* FindProxySet(std::string_view id);

  // Validates and adds an entity (unregistered; call Register). Fails on a duplicate id, an
  // unknown proxy set, or a user/domain that cannot be written into a SIP URI.
  Status AddEntity(RegistrationEntity entity);
  // Removes an entity. An entity that may have a binding is unregistered first and
  // disappears when that completes; Status() shows it as unregistering until then.
  Status RemoveEntity(std::string_view id);

  Status Register(std::string_view id);
  Status Unregister(std::string_view id);
  void RegisterAll();
  void UnregisterAll();

  std::optional<RegistrationStatus> GetStatus(std::string_view id) const;
  std::vector<RegistrationStatus> StatusAll() const;

  // Called on every state change, and when a refresh moves the expiry of a registered
  // entity. Runs on the client's loop; it may call back into the client.
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  const RegistrationClientCounters& counters() const { return counters_; }
  // Entities waiting for a pacing slot.
  size_t paced_backlog() const { return pacer_queue_.size(); }

 private:
  friend class RegistrationClientTestPeer;
  struct Entity;

  using EntityPtr = std::shared_ptr<Entity>;
  EntityPtr Find(std::string_view id) const;

  // Queues `event`; unless already inside Dispatch, runs the queue: each event through the
  // table, then any follow-up event its action produced. Events raised by the listener or
  // an action are queued, never run re-entrantly.
  void Dispatch(const EntityPtr& entity, RegistrationEvent event);
  void Process(const EntityPtr& entity, RegistrationEvent event);
  std::optional<RegistrationEvent> RunAction(const EntityPtr& entity,
                                             const RegistrationTransition& transition);

  void StartCycle(Entity& entity);
  void SendCurrent(const EntityPtr& entity);
  void OnFinal(const std::string& id, uint64_t serial, const ResponseInfo& info);
  RegistrationEvent Classify(Entity& entity, const ResponseInfo& info);

  void Enqueue(Entity& entity);
  void PumpPacer();
  Duration PacingInterval() const;

  void ArmRefresh(const EntityPtr& entity);
  void RetryLater(const EntityPtr& entity);
  void ArmRetryTimer(const EntityPtr& entity, Duration delay);
  void ArmTimer(const EntityPtr& entity, Scheduler::TimerId Entity::*slot, Duration delay,
                RegistrationEvent event);
  void CancelTimers(Entity& entity);
  Duration Jittered(Duration low, Duration high);

  RegistrationStatus MakeStatus(const Entity& entity) const;
  void Notify(const Entity& entity);

  Scheduler& scheduler_;
  RequestChannel& channel_;
  auth::RandomSource& random_;
  RegistrationClientConfig config_;
  std::map<std::string, std::unique_ptr<ProxySet>, std::less<>> proxy_sets_;
  std::map<std::string, EntityPtr, std::less<>> entities_;
  std::deque<std::string> pacer_queue_;
  TimePoint next_pacing_slot_{};
  Scheduler::TimerId pacer_timer_ = 0;
  uint32_t registers_in_flight_ = 0;
  uint64_t next_serial_ = 0;
  std::deque<std::pair<EntityPtr, RegistrationEvent>> events_;
  bool dispatching_ = false;
  Listener listener_;
  RegistrationClientCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace linegate::signaling::registration
