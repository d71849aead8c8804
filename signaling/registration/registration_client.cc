#include "signaling/registration/registration_client.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/log.h"
#include "signaling/registration/request_builder.h"

namespace linegate::signaling::registration {

using std::chrono::duration_cast;
using std::chrono::seconds;

struct RegistrationClient::Entity {
  RegistrationEntity config;
  ProxySet* proxy_set = nullptr;
  std::unique_ptr<auth::DigestClient> digest;
  std::string request_uri;
  std::string call_id;  // constant for the entity's life (RFC 3261 10.2)
  std::string from_tag;
  uint32_t cseq = 0;
  RegistrationState state = RegistrationState::kUnregistered;
  uint32_t expires_to_request = 0;  // requested_expires, raised by a 423

  // The request in flight (RFC 3261 10.2: one REGISTER at a time per binding).
  bool in_flight = false;
  bool local_refusal = false;  // the last attempt never left this gateway
  uint64_t serial = 0;
  bool in_flight_unregister = false;
  size_t in_flight_proxy = 0;
  uint32_t in_flight_expires = 0;
  std::string in_flight_contact;
  // A newer command wants a request while one is in flight: its response is dropped and
  // the current request sent instead.
  bool resend_after_in_flight = false;

  // The current request cycle: one REGISTER and its authenticated / 423 retries.
  std::vector<auth::AuthorizationHeader> pending_auth;
  bool has_pending_auth = false;
  int challenges_in_cycle = 0;
  bool cycle_sent_cached = false;
  bool cycle_retried_fresh = false;

  // From the last classified response.
  bool failover_wanted = false;
  std::optional<uint32_t> retry_after;
  uint32_t pending_grant = 0;

  bool binding_may_exist = false;  // a REGISTER with Expires > 0 went out since the last removal
  bool queued = false;             // waiting in the pacer
  Scheduler::TimerId refresh_timer = 0;
  Scheduler::TimerId expiry_timer = 0;
  Scheduler::TimerId retry_timer = 0;
  int consecutive_failures = 0;
  size_t failovers_in_round = 0;
  int unregister_attempts = 0;

  std::optional<TimePoint> expires_at;
  uint32_t granted = 0;
  int last_status = 0;
  std::string last_reason;
  std::string last_proxy;
  bool remove_when_unregistered = false;
  bool removed = false;
};

RegistrationClient::RegistrationClient(Scheduler& scheduler, RequestChannel& channel,
                                       auth::RandomSource& random, RegistrationClientConfig config)
    : scheduler_(scheduler), channel_(channel), random_(random), config_(std::move(config)) {
  config_.refresh_min_fraction = std::clamp(config_.refresh_min_fraction, 0.05, 0.95);
  config_.refresh_max_fraction = std::clamp(config_.refresh_max_fraction, config_.refresh_min_fraction, 0.95);
  config_.max_unregister_attempts = std::max(config_.max_unregister_attempts, 1);
  config_.max_challenges_per_request = std::max(config_.max_challenges_per_request, 1);
  next_pacing_slot_ = scheduler_.clock().Now();
}

RegistrationClient::~RegistrationClient() {
  alive_.reset();
  if (pacer_timer_ != 0) scheduler_.Cancel(pacer_timer_);
  for (auto& [id, entity] : entities_) CancelTimers(*entity);
}

Status RegistrationClient::AddProxySet(ProxySetConfig config) {
  if (config.id.empty()) return Error{"proxy set without an id"};
  if (config.proxies.empty()) return Error{"proxy set " + config.id + " has no proxy"};
  for (const transport::Destination& proxy : config.proxies) {
    if (!proxy.address.valid()) return Error{"proxy set " + config.id + " has a proxy without an address"};
  }
  if (proxy_sets_.contains(config.id)) return Error{"duplicate proxy set " + config.id};
  const std::string id = config.id;
  auto set = std::make_unique<ProxySet>(std::move(config), scheduler_, channel_, random_,
                                        config_.local_address, config_.user_agent);
  ProxySet* raw = set.get();
  proxy_sets_.emplace(id, std::move(set));
  raw->Start();
  return Status::Ok();
}

ProxySet* RegistrationClient::FindProxySet(std::string_view id) {
  auto it = proxy_sets_.find(id);
  return it == proxy_sets_.end() ? nullptr : it->second.get();
}

RegistrationClient::EntityPtr RegistrationClient::Find(std::string_view id) const {
  auto it = entities_.find(id);
  return it == entities_.end() ? nullptr : it->second;
}

Status RegistrationClient::AddEntity(RegistrationEntity config) {
  if (config.id.empty()) return Error{"entity without an id"};
  if (entities_.contains(config.id)) return Error{"duplicate entity " + config.id};
  ProxySet* set = FindProxySet(config.proxy_set_id);
  if (set == nullptr)
    return Error{"entity " + config.id + ": unknown proxy set '" + config.proxy_set_id + "'"};
  if (config.contact_user.empty()) config.contact_user = config.aor_user;
  if (config.registrar_domain.empty()) config.registrar_domain = config.aor_domain;
  if (!IsValidUserPart(config.aor_user)) return Error{"entity " + config.id + ": invalid AOR user"};
  if (!IsValidUserPart(config.contact_user)) return Error{"entity " + config.id + ": invalid contact user"};
  if (!IsValidHost(config.aor_domain)) return Error{"entity " + config.id + ": invalid AOR domain"};
  if (!IsValidHost(config.registrar_domain))
    return Error{"entity " + config.id + ": invalid registrar domain"};
  if (config.requested_expires == 0) return Error{"entity " + config.id + ": requested expires is 0"};

  auto entity = std::make_shared<Entity>();
  Result<std::string> call_id = RandomHex(random_, 16);
  Result<std::string> tag = RandomHex(random_, 8);
  if (!call_id.ok()) return Error{call_id.error()};
  if (!tag.ok()) return Error{tag.error()};
  std::optional<transport::SocketAddress> local =
      config_.local_address ? config_.local_address(set->proxy(0).protocol) : std::nullopt;
  entity->call_id = *call_id + "@" + (local ? local->HostString() : std::string("linegate"));
  entity->from_tag = *tag;
  entity->request_uri = RegistrarUri(config.registrar_domain);
  entity->proxy_set = set;
  entity->digest =
      std::make_unique<auth::DigestClient>(std::vector<auth::Credentials>{config.credentials}, random_);
  entity->expires_to_request = config.requested_expires;
  entity->config = std::move(config);
  log::Debug("registration entity added", {{"id", entity->config.id},
                                           {"kind", EntityKindName(entity->config.kind)},
                                           {"aor", entity->config.aor_user + "@" + entity->config.aor_domain},
                                           {"credentials", entity->config.credentials.ToString()}});
  const std::string id = entity->config.id;
  entities_.emplace(id, std::move(entity));
  return Status::Ok();
}

Status RegistrationClient::RemoveEntity(std::string_view id) {
  EntityPtr entity = Find(id);
  if (!entity) return Error{"unknown entity " + std::string(id)};
  if (entity->state == RegistrationState::kUnregistered || entity->state == RegistrationState::kFailed) {
    CancelTimers(*entity);
    entity->queued = false;
    entity->removed = true;
    entities_.erase(entity->config.id);
    return Status::Ok();
  }
  entity->remove_when_unregistered = true;
  Dispatch(entity, RegistrationEvent::kUnregisterCommand);
  return Status::Ok();
}

Status RegistrationClient::Register(std::string_view id) {
  EntityPtr entity = Find(id);
  if (!entity) return Error{"unknown entity " + std::string(id)};
  Dispatch(entity, RegistrationEvent::kRegisterCommand);
  return Status::Ok();
}

Status RegistrationClient::Unregister(std::string_view id) {
  EntityPtr entity = Find(id);
  if (!entity) return Error{"unknown entity " + std::string(id)};
  Dispatch(entity, RegistrationEvent::kUnregisterCommand);
  return Status::Ok();
}

void RegistrationClient::RegisterAll() {
  std::vector<EntityPtr> all;
  for (const auto& [id, entity] : entities_) all.push_back(entity);
  for (const EntityPtr& entity : all) Dispatch(entity, RegistrationEvent::kRegisterCommand);
}

void RegistrationClient::UnregisterAll() {
  std::vector<EntityPtr> all;
  for (const auto& [id, entity] : entities_) all.push_back(entity);
  for (const EntityPtr& entity : all) Dispatch(entity, RegistrationEvent::kUnregisterCommand);
}

std::optional<RegistrationStatus> RegistrationClient::GetStatus(std::string_view id) const {
  EntityPtr entity = Find(id);
  if (!entity) return std::nullopt;
  return MakeStatus(*entity);
}

std::vector<RegistrationStatus> RegistrationClient::StatusAll() const {
  std::vector<RegistrationStatus> out;
  out.reserve(entities_.size());
  for (const auto& [id, entity] : entities_) out.push_back(MakeStatus(*entity));
  return out;
}

RegistrationStatus RegistrationClient::MakeStatus(const Entity& entity) const {
  RegistrationStatus status;
  status.id = entity.config.id;
  status.kind = entity.config.kind;
  status.aor = entity.config.aor_user + "@" + entity.config.aor_domain;
  status.state = entity.state;
  status.expires_at = entity.expires_at;
  status.granted_expires = entity.granted;
  status.last_status_code = entity.last_status;
  status.last_reason = entity.last_reason;
  status.proxy = entity.last_proxy;
  return status;
}

void RegistrationClient::Notify(const Entity& entity) {
  if (listener_) listener_(MakeStatus(entity));
}

// ---------------------------------------------------------------------------------------
// The state machine.

void RegistrationClient::Dispatch(const EntityPtr& entity, RegistrationEvent event) {
  events_.emplace_back(entity, event);
  if (dispatching_) return;
  dispatching_ = true;
  while (!events_.empty()) {
    auto [next_entity, next_event] = std::move(events_.front());
    events_.pop_front();
    Process(next_entity, next_event);
  }
  dispatching_ = false;
}

void RegistrationClient::Process(const EntityPtr& entity, RegistrationEvent event) {
  if (entity->removed) return;
  const std::optional<RegistrationTransition> transition = FindTransition(entity->state, event);
  if (!transition) {
    ++counters_.illegal_events;
    log::Warn("registration: illegal event",
              {{"id", entity->config.id}, {"state", StateName(entity->state)}, {"event", EventName(event)}});
    return;
  }
  const RegistrationState before = entity->state;
  const std::optional<TimePoint> expiry_before = entity->expires_at;
  entity->state = transition->to;
  log::Debug("registration transition", {{"id", entity->config.id},
                                         {"from", StateName(before)},
                                         {"event", EventName(event)},
                                         {"to", StateName(transition->to)},
                                         {"action", ActionName(transition->action)}});
  if (before != transition->to) {
    log::Info("registration state", {{"id", entity->config.id},
                                     {"kind", EntityKindName(entity->config.kind)},
                                     {"state", StateName(transition->to)},
                                     {"status", entity->last_status},
                                     {"reason", entity->last_reason}});
  }
  const std::optional<RegistrationEvent> follow_up = RunAction(entity, *transition);
  if (follow_up) events_.emplace_front(entity, *follow_up);
  if (entity->state != before || entity->expires_at != expiry_before) Notify(*entity);
  if (entity->state == RegistrationState::kUnregistered && entity->remove_when_unregistered &&
      !entity->removed) {
    CancelTimers(*entity);
    entity->removed = true;
    entities_.erase(entity->config.id);
  }
}

std::optional<RegistrationEvent> RegistrationClient::RunAction(const EntityPtr& entity,
                                                               const RegistrationTransition& transition) {
  Entity& e = *entity;
  switch (transition.action) {
    case RegistrationAction::kNone:
      return std::nullopt;
    case RegistrationAction::kQueueRegister:
      CancelTimers(e);
      e.expires_at.reset();
      e.expires_to_request = e.config.requested_expires;
      e.consecutive_failures = 0;
      e.failovers_in_round = 0;
      Enqueue(e);
      return std::nullopt;
    case RegistrationAction::kSendRegister:
    case RegistrationAction::kSendUnregister:
      StartCycle(e);
      SendCurrent(entity);
      return std::nullopt;
    case RegistrationAction::kResend:
      SendCurrent(entity);
      return std::nullopt;
    case RegistrationAction::kArmRefresh:
      if (transition.from != RegistrationState::kRegistered) ++counters_.registered;
      ArmRefresh(entity);
      return std::nullopt;
    case RegistrationAction::kRetryLater:
      RetryLater(entity);
      return std::nullopt;
    case RegistrationAction::kFail:
      ++counters_.failures;
      CancelTimers(e);
      e.queued = false;
      e.expires_at.reset();
      log::Warn("registration failed", {{"id", e.config.id},
                                        {"status", e.last_status},
                                        {"reason", e.last_reason},
                                        {"proxy", e.last_proxy}});
      if (config_.failed_retry_interval > Duration::zero()) {
        // +-10% so that entities refused together do not come back together.
        const Duration interval = config_.failed_retry_interval;
        ArmTimer(entity, &Entity::retry_timer, Jittered(interval * 9 / 10, interval * 11 / 10),
                 RegistrationEvent::kRetryTimer);
      }
      return std::nullopt;
    case RegistrationAction::kStartUnregister:
      CancelTimers(e);
      e.queued = false;
      e.expires_at.reset();
      e.unregister_attempts = 0;
      e.consecutive_failures = 0;
      e.failovers_in_round = 0;
      // Nothing ever asked for a binding: nothing to remove (RFC 3261 10.2.2).
      if (!e.binding_may_exist) return RegistrationEvent::kUnregisterOk;
      StartCycle(e);
      SendCurrent(entity);
      return std::nullopt;
    case RegistrationAction::kFinishUnregister:
      CancelTimers(e);
      e.queued = false;
      e.binding_may_exist = false;
      e.expires_at.reset();
      e.granted = 0;
      e.expires_to_request = e.config.requested_expires;
      return std::nullopt;
    case RegistrationAction::kCancelTimers:
      CancelTimers(e);
      e.queued = false;
      e.expires_at.reset();
      return std::nullopt;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Requests and responses.

void RegistrationClient::StartCycle(Entity& entity) {
  entity.pending_auth.clear();
  entity.has_pending_auth = false;
  entity.challenges_in_cycle = 0;
  entity.cycle_sent_cached = false;
  entity.cycle_retried_fresh = false;
}

void RegistrationClient::SendCurrent(const EntityPtr& entity) {
  Entity& e = *entity;
  if (e.in_flight) {
    // RFC 3261 10.2: no new REGISTER for the binding before the previous one completed.
    e.resend_after_in_flight = true;
    return;
  }
  const bool unregister = e.state == RegistrationState::kUnregistering;
  ProxySet& set = *e.proxy_set;
  const size_t index = set.ActiveIndex();
  const transport::Destination destination = set.proxy(index);
  const std::optional<transport::SocketAddress> local =
      config_.local_address ? config_.local_address(destination.protocol) : std::nullopt;
  Result<std::string> branch = MakeBranch(random_);

  std::string error;
  std::vector<auth::AuthorizationHeader> authorization;
  if (!local) {
    error = "no local address for " + std::string(transport::ProtocolName(destination.protocol));
  } else if (!branch.ok()) {
    error = branch.error();
  } else if (e.has_pending_auth) {
    authorization = std::move(e.pending_auth);
    e.pending_auth.clear();
    e.has_pending_auth = false;
  } else {
    if (e.digest->state() == auth::DigestClientState::kFailed) e.digest->Reset();
    Result<std::vector<auth::AuthorizationHeader>> prepared =
        e.digest->PrepareRequest(auth::DigestRequest{"REGISTER", e.request_uri, ""});
    if (prepared.ok()) {
      authorization = std::move(*prepared);
      e.cycle_sent_cached = !authorization.empty();
    } else {
      error = "authentication: " + prepared.error();
    }
  }

  e.in_flight = true;
  e.serial = ++next_serial_;
  e.in_flight_unregister = unregister;
  e.in_flight_proxy = index;
  e.last_proxy = std::string(TransportParam(destination.protocol)) + ":" + destination.address.ToString();
  const uint64_t serial = e.serial;
  const std::string id = e.config.id;
  std::weak_ptr<bool> alive = alive_;
  if (!error.empty()) {
    // Reported like a transport error, from the loop rather than re-entrantly.
    scheduler_.Schedule(Duration::zero(), [this, alive, id, serial, error] {
      if (!alive.expired()) OnFinal(id, serial, ResponseInfo::TransportError(error));
    });
    return;
  }

  RegisterRequest request;
  request.registrar_domain = e.config.registrar_domain;
  request.aor_user = e.config.aor_user;
  request.aor_domain = e.config.aor_domain;
  request.contact_user = e.config.contact_user;
  request.protocol = destination.protocol;
  request.local = *local;
  request.call_id = e.call_id;
  request.from_tag = e.from_tag;
  request.branch = *branch;
  request.cseq = ++e.cseq;  // RFC 3261 10.2: +1 for each REGISTER with the same Call-ID
  request.expires = unregister ? 0 : e.expires_to_request;
  request.user_agent = config_.user_agent;
  request.authorization = authorization;
  e.in_flight_expires = request.expires;
  e.in_flight_contact = ContactKey(e.config.contact_user, *local);
  if (!unregister) e.binding_may_exist = true;
  ++counters_.registers_sent;
  if (unregister) ++counters_.unregisters_sent;
  // The request is not logged whole: Authorization carries a response hash.
  log::Debug("REGISTER sent", {{"id", id},
                               {"cseq", request.cseq},
                               {"expires", request.expires},
                               {"proxy", e.last_proxy},
                               {"credentials", authorization.empty() ? "no" : "yes"}});
  auto in_send = std::make_shared<bool>(true);
  ++registers_in_flight_;
  channel_.SendRequest(destination, BuildRegister(request),
                       [this, alive, id, serial, in_send](const ResponseInfo& info) {
                         if (alive.expired()) return;
                         if (*in_send) {
                           // Called from inside SendRequest: finish the current step first.
                           scheduler_.Schedule(Duration::zero(), [this, alive, id, serial, info] {
                             if (!alive.expired()) OnFinal(id, serial, info);
                           });
                           return;
                         }
                         OnFinal(id, serial, info);
                       });
  *in_send = false;
}

void RegistrationClient::OnFinal(const std::string& id, uint64_t serial, const ResponseInfo& info) {
  // Every REGISTER sent ends here exactly once (RequestChannel's contract), whether or
  // not its entity still wants the answer: its in-flight slot is free again.
  if (registers_in_flight_ > 0) --registers_in_flight_;
  if (!pacer_queue_.empty()) {
    std::weak_ptr<bool> alive = alive_;
    scheduler_.Schedule(Duration::zero(), [this, alive] {
      if (!alive.expired()) PumpPacer();
    });
  }
  EntityPtr entity = Find(id);
  if (!entity || !entity->in_flight || entity->serial != serial) {
    ++counters_.stale_callbacks;
    return;
  }
  Entity& e = *entity;
  e.in_flight = false;
  if (info.has_response()) {
    ++counters_.responses;
  } else {
    ++counters_.timeouts;
  }
  if (e.resend_after_in_flight) {
    e.resend_after_in_flight = false;
    ++counters_.superseded_responses;
    const bool challenged = info.status_code == 401 || info.status_code == 407;
    if (info.has_response() && !challenged && e.digest->state() != auth::DigestClientState::kFailed) {
      e.digest->OnAccepted();
    }
    const bool wants_request = e.state == RegistrationState::kRegistering ||
                               e.state == RegistrationState::kRegistered ||
                               e.state == RegistrationState::kUnregistering;
    if (wants_request && !e.queued && e.retry_timer == 0) {
      StartCycle(e);
      SendCurrent(entity);
    }
    return;
  }
  e.last_status = info.status_code;
  e.last_reason = info.reason;
  Dispatch(entity, Classify(e, info));
}

RegistrationEvent RegistrationClient::Classify(Entity& e, const ResponseInfo& info) {
  const int status = info.status_code;
  e.failover_wanted = false;
  e.retry_after.reset();
  auto retryable = [&e, this] {
    if (e.in_flight_unregister && ++e.unregister_attempts >= config_.max_unregister_attempts) {
      return RegistrationEvent::kRetriesExhausted;
    }
    return RegistrationEvent::kRetryableFailure;
  };

  if (status == 0 && info.local_refusal) {
    // This gateway could not send it (overloaded): the proxy is not to blame. Again in
    // about a second, spread, instead of the failure backoff.
    e.local_refusal = true;
    ++counters_.local_refusals;
    return retryable();
  }
  if (status == 0) {
    // Timeout or transport error: the proxy did not answer (RFC 3263 4.3: next server).
    e.failover_wanted = true;
    return retryable();
  }
  if (status == 401 || status == 407) {
    const std::vector<std::string>& values = status == 401 ? info.www_authenticate : info.proxy_authenticate;
    if (values.empty()) {
      e.last_reason = std::to_string(status) + " without a challenge";
      ++counters_.auth_failures;
      return RegistrationEvent::kAuthFailed;
    }
    if (++e.challenges_in_cycle > config_.max_challenges_per_request) {
      e.last_reason = "too many challenges for one request";
      ++counters_.auth_failures;
      return RegistrationEvent::kAuthFailed;
    }
    std::vector<std::string_view> views(values.begin(), values.end());
    const auth::DigestRequest request{"REGISTER", e.request_uri, ""};
    if (e.digest->state() == auth::DigestClientState::kFailed) e.digest->Reset();
    Result<std::vector<auth::AuthorizationHeader>> answer = e.digest->OnChallenge(status, views, request);
    if (!answer.ok() && e.cycle_sent_cached && !e.cycle_retried_fresh) {
      // Our cached credentials (RFC 3261 22.3) were challenged without stale=true: many
      // registrars forget nonces that way. Start afresh once; a second rejection is final.
      e.cycle_retried_fresh = true;
      e.digest->Reset();
      answer = e.digest->OnChallenge(status, views, request);
    }
    if (!answer.ok()) {
      e.last_reason = "authentication failed: " + answer.error();
      ++counters_.auth_failures;
      return RegistrationEvent::kAuthFailed;
    }
    ++counters_.challenges_answered;
    e.pending_auth = std::move(*answer);
    e.has_pending_auth = true;
    return RegistrationEvent::kChallenge;
  }
  if (e.digest->state() != auth::DigestClientState::kFailed) e.digest->OnAccepted();
  if (status >= 200 && status < 300) {
    if (e.in_flight_unregister) return RegistrationEvent::kUnregisterOk;
    // RFC 3261 10.2.4: our Contact's expires param, else the Expires header, else what
    // we asked for.
    uint32_t grant = e.in_flight_expires;
    if (info.contact_listed && info.contact_expires) {
      grant = *info.contact_expires;
    } else if (info.expires) {
      grant = *info.expires;
    }
    if (grant == 0) {
      e.last_reason = "registrar granted 0 seconds";
      return RegistrationEvent::kRejected;
    }
    e.pending_grant = grant;
    return RegistrationEvent::kRegisterOk;
  }
  if (status == 423) {
    // RFC 3261 10.2.8: retry with at least Min-Expires; without a usable one, or for an
    // unregistration (10.3 step 7 never sends 423 for 0), there is nothing to change.
    if (!e.in_flight_unregister && info.min_expires && *info.min_expires > e.in_flight_expires) {
      e.expires_to_request = *info.min_expires;
      return RegistrationEvent::kIntervalTooBrief;
    }
    e.last_reason = info.reason + " (no usable Min-Expires)";
    return RegistrationEvent::kRejected;
  }
  if (status == 408 || (status >= 500 && status < 600)) {
    e.retry_after = info.retry_after;
    // RFC 3261 21.5.4 / RFC 3263 4.3: 503 without Retry-After means try another server.
    e.failover_wanted = status == 503 && !info.retry_after;
    return retryable();
  }
  // 3xx (redirects are not followed), 403, 404 and the other 4xx/6xx.
  return RegistrationEvent::kRejected;
}

// ---------------------------------------------------------------------------------------
// Pacing, refresh, retries.

Duration RegistrationClient::PacingInterval() const {
  if (config_.max_new_registers_per_second <= 0) return Duration::zero();
  return duration_cast<Duration>(std::chrono::duration<double>(1.0 / config_.max_new_registers_per_second));
}

void RegistrationClient::Enqueue(Entity& entity) {
  if (entity.queued) return;
  entity.queued = true;
  // An idle pacer earns no credit: its schedule restarts now. While busy, the slots
  // follow a fixed schedule (below), so a late wake-up sends every slot already due.
  if (pacer_queue_.empty()) next_pacing_slot_ = std::max(next_pacing_slot_, scheduler_.clock().Now());
  pacer_queue_.push_back(entity.config.id);
  PumpPacer();
}

void RegistrationClient::PumpPacer() {
  if (pacer_timer_ != 0) return;  // a drain is already scheduled
  const TimePoint now = scheduler_.clock().Now();
  while (!pacer_queue_.empty()) {
    // Full: the next final response pumps the pacer again. A registrar that answers
    // slower than the pacing would otherwise see a queue of retransmissions (timer E)
    // and drop datagrams; with the cap the gateway slows down to its pace instead.
    if (config_.max_registers_in_flight != 0 && registers_in_flight_ >= config_.max_registers_in_flight)
      return;
    if (now < next_pacing_slot_) {
      std::weak_ptr<bool> alive = alive_;
      pacer_timer_ = scheduler_.Schedule(next_pacing_slot_ - now, [this, alive] {
        if (alive.expired()) return;
        pacer_timer_ = 0;
        PumpPacer();
      });
      return;
    }
    const std::string id = std::move(pacer_queue_.front());
    pacer_queue_.pop_front();
    EntityPtr entity = Find(id);
    if (!entity || !entity->queued) continue;  // removed or no longer wanted: no slot used
    entity->queued = false;
    if (entity->state != RegistrationState::kRegistering && entity->state != RegistrationState::kRegistered &&
        entity->state != RegistrationState::kUnregistering) {
      continue;
    }
    // The ideal schedule, not now + interval: the loop wakes up at most once a
    // millisecond, and at high rates several slots fall due per wake-up. Sending only one
    // per wake-up would cap the rate near 1000/s whatever was configured.
    next_pacing_slot_ += PacingInterval();
    StartCycle(*entity);
    SendCurrent(entity);
  }
}

Duration RegistrationClient::Jittered(Duration low, Duration high) {
  if (high <= low) return low;
  // A failing random source degrades to the midpoint rather than to no retry at all.
  const double unit = RandomUnit(random_).value_or(0.5);
  return low + duration_cast<Duration>(std::chrono::duration<double, std::nano>(
                   static_cast<double>((high - low).count()) * unit));
}

void RegistrationClient::ArmRefresh(const EntityPtr& entity) {
  Entity& e = *entity;
  CancelTimers(e);
  e.granted = e.pending_grant;
  e.consecutive_failures = 0;
  e.failovers_in_round = 0;
  const Duration granted = seconds(e.granted);
  e.expires_at = scheduler_.clock().Now() + granted;
  // A random point in [min, max] of the interval, and at least refresh_margin before
  // expiry; for intervals too short for that margin, half the interval.
  const auto fraction = [&granted](double f) {
    return duration_cast<Duration>(
        std::chrono::duration<double, std::nano>(static_cast<double>(granted.count()) * f));
  };
  Duration high = std::min(fraction(config_.refresh_max_fraction), granted - config_.refresh_margin);
  if (high <= Duration::zero()) high = granted / 2;
  const Duration low = std::min(fraction(config_.refresh_min_fraction), high);
  const Duration refresh_in = Jittered(low, high);
  ArmTimer(entity, &Entity::refresh_timer, refresh_in, RegistrationEvent::kRefreshTimer);
  ArmTimer(entity, &Entity::expiry_timer, granted, RegistrationEvent::kBindingExpired);
  log::Debug("registration granted", {{"id", e.config.id},
                                      {"granted_s", e.granted},
                                      {"refresh_in_ms", ToMillis(refresh_in)},
                                      {"proxy", e.last_proxy}});
}

void RegistrationClient::RetryLater(const EntityPtr& entity) {
  Entity& e = *entity;
  ProxySet& set = *e.proxy_set;
  if (e.failover_wanted) {
    set.ReportFailure(e.in_flight_proxy);
    if (set.size() > 1 && e.failovers_in_round + 1 < set.size()) {
      // Straight to the next proxy, through the pacer: when a proxy dies, thousands of
      // registrations fail over at once.
      ++e.failovers_in_round;
      ++counters_.failovers;
      log::Info("registration failover", {{"id", e.config.id},
                                          {"from", e.last_proxy},
                                          {"to", set.Active().address.ToString()},
                                          {"reason", e.last_reason}});
      Enqueue(e);
      return;
    }
  }
  // Every proxy tried (or not a proxy failure): back off.
  e.failovers_in_round = 0;
  ++e.consecutive_failures;
  Duration delay;
  if (e.local_refusal) {
    e.local_refusal = false;
    e.consecutive_failures = 0;
    delay = Jittered(std::chrono::milliseconds(500), std::chrono::milliseconds(1500));
  } else if (e.retry_after) {
    delay = seconds(*e.retry_after) + Jittered(Duration::zero(), config_.retry_after_jitter);
  } else {
    Duration wait = config_.retry_base;
    for (int i = 1; i < e.consecutive_failures && wait < config_.retry_max; ++i) wait *= 2;
    wait = std::min(wait, config_.retry_max);
    // RFC 5626 4.5: uniformly between 50% and 100% of the wait.
    delay = Jittered(wait / 2, wait);
  }
  ArmRetryTimer(entity, delay);
}

void RegistrationClient::ArmRetryTimer(const EntityPtr& entity, Duration delay) {
  ++counters_.retries_scheduled;
  log::Debug("registration retry", {{"id", entity->config.id},
                                    {"in_ms", ToMillis(delay)},
                                    {"status", entity->last_status},
                                    {"failures", entity->consecutive_failures}});
  ArmTimer(entity, &Entity::retry_timer, delay, RegistrationEvent::kRetryTimer);
}

void RegistrationClient::ArmTimer(const EntityPtr& entity, Scheduler::TimerId Entity::*slot, Duration delay,
                                  RegistrationEvent event) {
  Entity& e = *entity;
  if (e.*slot != 0) scheduler_.Cancel(e.*slot);
  std::weak_ptr<Entity> weak = entity;
  std::weak_ptr<bool> alive = alive_;
  e.*slot = scheduler_.Schedule(delay, [this, alive, weak, slot, event] {
    if (alive.expired()) return;
    EntityPtr target = weak.lock();
    if (!target || target->removed) return;
    target.get()->*slot = 0;
    if (event == RegistrationEvent::kRefreshTimer) ++counters_.refreshes;
    Dispatch(target, event);
  });
}

void RegistrationClient::CancelTimers(Entity& entity) {
  for (Scheduler::TimerId* slot : {&entity.refresh_timer, &entity.expiry_timer, &entity.retry_timer}) {
    if (*slot != 0) scheduler_.Cancel(*slot);
    *slot = 0;
  }
}

}  // namespace linegate::signaling::registration
