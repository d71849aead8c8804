#include "signaling/sip_stack.h"

#include <openssl/rand.h>

#include "common/log.h"
#include "signaling/sip/sip_serializer.h"
#include "signaling/transport/reactor_poller.h"
#include "signaling/transport/via_routing.h"
#include "signaling/uas_core.h"

namespace linegate::signaling {
namespace {

transport::Protocol ToProtocol(config::v1::SipTransport transport) {
  switch (transport) {
    case config::v1::SIP_TRANSPORT_TCP:
      return transport::Protocol::kTcp;
    case config::v1::SIP_TRANSPORT_TLS:
      return transport::Protocol::kTls;
    default:
      return transport::Protocol::kUdp;
  }
}

// Credentials from a password or a stored HA1; the HA1's algorithm follows from its
// length (32 hex digits: MD5, 64: SHA-256).
Result<auth::Credentials> MakeCredentials(const std::string& username, const std::string& password,
                                          const std::string& ha1, const std::string& realm,
                                          const std::string& what) {
  if (!ha1.empty()) {
    if (ha1.size() != 32 && ha1.size() != 64) {
      return Error{what + ": ha1 must be 32 (MD5) or 64 (SHA-256) hex digits"};
    }
    return auth::Credentials::FromHa1(
        username, realm, ha1,
        ha1.size() == 32 ? auth::DigestAlgorithm::kMd5 : auth::DigestAlgorithm::kSha256);
  }
  return auth::Credentials::FromPassword(username, password);
}

// The Contact of a request this stack built, "<sip:...>" as ExtractResponseInfo takes it.
std::string ContactOf(std::string_view request) {
  for (std::string_view key : {"\r\nContact:", "\r\nm:"}) {
    size_t at = request.find(key);
    if (at == std::string_view::npos) continue;
    size_t open = request.find('<', at);
    size_t close = request.find('>', open);
    size_t eol = request.find("\r\n", at + 2);
    if (open == std::string_view::npos || close == std::string_view::npos || close > eol) return "";
    return std::string(request.substr(open, close - open + 1));
  }
  return "";
}

// The registration client writes complete requests (it is also used without a
// transaction layer); here the transaction layer owns the top Via and its branch.
std::string WithoutTopVia(std::string request) {
  size_t at = request.find("\r\nVia:");
  if (at == std::string::npos) at = request.find("\r\nv:");
  if (at == std::string::npos) return request;
  size_t eol = request.find("\r\n", at + 2);
  if (eol == std::string::npos) return request;
  request.erase(at, eol - at);
  return request;
}

}  // namespace

transport::Transport* TransportSet::For(transport::Protocol protocol) const {
  switch (protocol) {
    case transport::Protocol::kUdp:
      return udp.get();
    case transport::Protocol::kTcp:
      return tcp.get();
    case transport::Protocol::kTls:
      return tls.get();
  }
  return nullptr;
}

Status TransportSet::Send(const transport::Destination& destination, std::span<const char> message) {
  transport::Transport* t = For(destination.protocol);
  if (t == nullptr) {
    return Error{"no " + std::string(transport::ProtocolName(destination.protocol)) +
                 " transport configured"};
  }
  return t->Send(destination, message);
}

std::optional<transport::SocketAddress> TransportSet::LocalAddress(transport::Protocol protocol) const {
  transport::Transport* t = For(protocol);
  return t ? t->LocalAddress(protocol) : std::nullopt;
}

Result<RegistrationPlan> PlanRegistrations(const config::v1::Signaling& signaling) {
  RegistrationPlan plan;
  std::map<std::string, std::string> first_proxy_of;
  for (const config::v1::ProxySet& set : signaling.proxy_sets()) {
    registration::ProxySetConfig config;
    config.id = set.name();
    config.keepalive_interval = std::chrono::seconds(set.keepalive_interval_s());
    for (const config::v1::Proxy& proxy : set.proxies()) {
      auto address = transport::SocketAddress::Parse(proxy.address(), static_cast<uint16_t>(proxy.port()));
      if (!address) {
        return Error{"signaling.proxy_sets '" + set.name() + "': proxy address '" + proxy.address() +
                     "' is not a numeric IPv4/IPv6 address"};
      }
      transport::Destination destination;
      destination.protocol = ToProtocol(proxy.transport());
      destination.address = *address;
      destination.tls_server_name = proxy.tls_server_name();
      config.proxies.push_back(destination);
    }
    if (config.proxies.empty()) return Error{"signaling.proxy_sets '" + set.name() + "': no proxies"};
    first_proxy_of[set.name()] = set.proxies(0).address();
    plan.proxy_sets.push_back(std::move(config));
  }
  auto proxy_set_of = [&](const std::string& name, const std::string& what) -> Result<std::string> {
    if (first_proxy_of.count(name) == 0) return Error{what + ": unknown proxy set '" + name + "'"};
    return name;
  };
  auto domain_for = [&](const std::string& own, const std::string& set) {
    if (!own.empty()) return own;
    if (!signaling.domain().empty()) return signaling.domain();
    return first_proxy_of[set];
  };
  const uint32_t default_expires = signaling.registration().expires_s();
  auto add = [&](registration::EntityKind kind, std::string id, const std::string& set,
                 const std::string& aor_user, const std::string& contact_user, const std::string& own_domain,
                 const std::string& auth_user, const std::string& password, const std::string& ha1,
                 uint32_t expires) -> Status {
    auto proxy_set = proxy_set_of(set, id);
    if (!proxy_set) return Error{proxy_set.error()};
    if (aor_user.empty()) return Error{id + ": no AOR user"};
    registration::RegistrationEntity entity;
    entity.kind = kind;
    entity.id = std::move(id);
    entity.aor_user = aor_user;
    entity.aor_domain = domain_for(own_domain, set);
    entity.contact_user = contact_user.empty() ? aor_user : contact_user;
    auto credentials = MakeCredentials(auth_user.empty() ? aor_user : auth_user, password, ha1,
                                       entity.aor_domain, entity.id);
    if (!credentials) return Error{credentials.error()};
    entity.credentials = std::move(*credentials);
    entity.requested_expires = expires == 0 ? default_expires : expires;
    entity.proxy_set_id = *proxy_set;
    plan.entities.push_back(std::move(entity));
    return Status::Ok();
  };
  const config::v1::Registration& reg = signaling.registration();
  if (reg.mode() == config::v1::REGISTRATION_MODE_GATEWAY) {
    Status s = add(registration::EntityKind::kGateway, "gateway", reg.proxy_set(), reg.gateway_user(), "", "",
                   reg.auth_username(), reg.password(), reg.ha1(), 0);
    if (!s.ok()) return Error{s.error()};
  } else if (reg.mode() == config::v1::REGISTRATION_MODE_PER_ENDPOINT) {
    for (const config::v1::Endpoint& endpoint : signaling.endpoints()) {
      Status s = add(registration::EntityKind::kEndpoint, "endpoint-" + std::to_string(endpoint.line()),
                     reg.proxy_set(), endpoint.phone_number(), "", "", endpoint.auth_username(),
                     endpoint.password(), endpoint.ha1(), 0);
      if (!s.ok()) return Error{s.error()};
    }
  }
  for (const config::v1::Account& account : signaling.accounts()) {
    const std::string aor_user = account.aor_user().empty() ? account.username() : account.aor_user();
    Status s = add(registration::EntityKind::kAccount, "account-" + account.name(), account.proxy_set(),
                   aor_user, account.contact_user(), account.domain(), account.username(), account.password(),
                   account.ha1(), account.expires_s());
    if (!s.ok()) return Error{s.error()};
  }
  return plan;
}

SipStack::SipStack(bus::Reactor& reactor) : reactor_(reactor) {}

SipStack::~SipStack() {
  calls_.reset();
  registrations_.reset();
  transactions_.reset();
  if (poller_) transport::DetachFromReactor(reactor_, *poller_);
}

Result<std::unique_ptr<SipStack>> SipStack::Create(const config::v1::Signaling& config,
                                                   bus::Reactor& reactor) {
  std::unique_ptr<SipStack> stack(new SipStack(reactor));
  Status started = stack->Start(config);
  if (!started.ok()) return Error{started.error()};
  return stack;
}

Status SipStack::Start(const config::v1::Signaling& config) {
  config_ = config;
  auto poller = transport::EpollPoller::Create();
  if (!poller) return Error{poller.error()};
  poller_ = std::move(*poller);
  transport::AttachToReactor(reactor_, *poller_);

  auto on_received = [this](const transport::Received& received) {
    if (transactions_) transactions_->OnReceived(received);
  };
  std::vector<config::v1::SipTransport> wanted;
  for (int t : config.transports()) wanted.push_back(static_cast<config::v1::SipTransport>(t));
  if (wanted.empty()) wanted.push_back(config::v1::SIP_TRANSPORT_UDP);
  for (auto t : wanted) {
    if (t == config::v1::SIP_TRANSPORT_UDP) {
      auto local =
          transport::SocketAddress::Parse(config.listen_address(), static_cast<uint16_t>(config.sip_port()));
      if (!local) return Error{"signaling.listen_address '" + config.listen_address() + "' is not numeric"};
      transport::UdpConfig udp;
      udp.local_addresses.push_back(*local);
      // Registration bursts and answers of thousands of accounts arrive faster than one
      // loop turn: a large receive buffer (capped by net.core.rmem_max) rather than drops
      // and retransmission waves.
      udp.socket_receive_buffer_bytes = 4 * 1024 * 1024;
      auto created = transport::UdpTransport::Create(udp, *poller_, on_received);
      if (!created) return Error{"UDP " + local->ToString() + ": " + created.error()};
      transports_.udp = std::move(*created);
    } else {
      const bool tls = t == config::v1::SIP_TRANSPORT_TLS;
      transport::StreamConfig stream;
      stream.protocol = tls ? transport::Protocol::kTls : transport::Protocol::kTcp;
      const uint32_t port = tls ? config.tls_port() : config.sip_port();
      auto local = transport::SocketAddress::Parse(config.listen_address(), static_cast<uint16_t>(port));
      if (!local) return Error{"signaling.listen_address '" + config.listen_address() + "' is not numeric"};
      // A TLS server needs a certificate; without one TLS works as a client only.
      if (!tls || !config.tls().certificate_file().empty()) stream.listen_addresses.push_back(*local);
      stream.tls.certificate_file = config.tls().certificate_file();
      stream.tls.private_key_file = config.tls().private_key_file();
      stream.tls.ca_file = config.tls().ca_file();
      stream.tls.verify_peer = config.tls().verify_peer();
      auto created = transport::StreamTransport::Create(stream, *poller_, reactor_, on_received);
      if (!created) return Error{(tls ? "TLS " : "TCP ") + local->ToString() + ": " + created.error()};
      (*created)->SetSendErrorHandler([this](const transport::SendError& error) {
        if (transactions_) transactions_->OnSendError(error);
      });
      (tls ? transports_.tls : transports_.tcp) = std::move(*created);
    }
  }

  transaction::TransactionLayerConfig layer_config;
  layer_config.timers.t1 = std::chrono::milliseconds(config.timers().t1_ms());
  layer_config.timers.t2 = std::chrono::milliseconds(config.timers().t2_ms());
  layer_config.timers.t4 = std::chrono::milliseconds(config.timers().t4_ms());
  transactions_ = std::make_unique<transaction::TransactionLayer>(
      reactor_, transports_, *this,
      [] {
        uint64_t value = 0;
        RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof(value));
        return value;
      },
      layer_config);

  registration::RegistrationClientConfig reg_config;
  reg_config.user_agent = config.user_agent();
  reg_config.local_address = [this](transport::Protocol p) { return transports_.LocalAddress(p); };
  reg_config.max_new_registers_per_second = config.registration().max_new_per_second();
  reg_config.max_registers_in_flight = config.registration().max_in_flight();
  registrations_ = std::make_unique<registration::RegistrationClient>(reactor_, *this, random_, reg_config);
  auto plan = PlanRegistrations(config);
  if (!plan) return Error{plan.error()};
  for (auto& set : plan->proxy_sets) {
    Status added = registrations_->AddProxySet(std::move(set));
    if (!added.ok()) return added;
  }
  for (const config::v1::Account& account : config.accounts()) {
    account_by_line_.emplace(account.line(), "account-" + account.name());
  }
  for (auto& entity : plan->entities) {
    credentials_by_entity_.insert_or_assign(entity.id, entity.credentials);
    Status added = registrations_->AddEntity(std::move(entity));
    if (!added.ok()) return added;
  }
  for (auto p : {transport::Protocol::kUdp, transport::Protocol::kTcp, transport::Protocol::kTls}) {
    if (auto local = transports_.LocalAddress(p)) {
      log::Info("sip transport listening",
                {{"protocol", transport::ProtocolName(p)}, {"address", local->ToString()}});
    }
  }
  return Status::Ok();
}

std::vector<auth::Credentials> SipStack::CredentialsForLine(uint32_t line) const {
  std::vector<std::string> candidates;
  if (auto account = account_by_line_.find(line); account != account_by_line_.end()) {
    candidates.push_back(account->second);
  }
  candidates.push_back("endpoint-" + std::to_string(line));
  candidates.push_back("gateway");
  for (const std::string& id : candidates) {
    auto found = credentials_by_entity_.find(id);
    if (found != credentials_by_entity_.end()) return {found->second};
  }
  return {};
}

void SipStack::StartCalls(const config::v1::Calls& calls,
                          std::function<void(const signaling::v1::CallEvent&)> on_event) {
  dialog::CallAgentConfig agent_config;
  agent_config.domain = config_.domain();
  agent_config.user_agent = config_.user_agent();
  if (calls.codecs_size() > 0) {
    agent_config.codecs.clear();
    for (int codec : calls.codecs()) {
      switch (static_cast<media::v1::Codec>(codec)) {
        case media::v1::CODEC_PCMU:
          agent_config.codecs.push_back(media::codec::CodecId::kPcmu);
          break;
        case media::v1::CODEC_PCMA:
          agent_config.codecs.push_back(media::codec::CodecId::kPcma);
          break;
        case media::v1::CODEC_G722:
          agent_config.codecs.push_back(media::codec::CodecId::kG722);
          break;
        case media::v1::CODEC_G729:
          agent_config.codecs.push_back(media::codec::CodecId::kG729);
          break;
        case media::v1::CODEC_OPUS:
          agent_config.codecs.push_back(media::codec::CodecId::kOpus);
          break;
        default:
          break;
      }
    }
  }
  if (calls.ptime_ms() != 0) agent_config.ptime_ms = calls.ptime_ms();
  if (calls.dtmf_mode() == media::v1::DTMF_MODE_INBAND) {
    agent_config.telephone_event_pt.reset();
  } else if (calls.telephone_event_pt() != 0) {
    agent_config.telephone_event_pt = static_cast<uint8_t>(calls.telephone_event_pt());
  }
  agent_config.timers = transactions_->config().timers;
  // calls.session_expires_s is filled with its default (1800) by the config loader; 0
  // turns RFC 4028 session timers off.
  agent_config.session_expires_s = calls.session_expires_s();
  agent_config.require_100rel = calls.prack();
  dialog::CallAgentHooks hooks;
  hooks.on_event = std::move(on_event);
  hooks.proxy_of = [this](std::string_view name) -> std::optional<transport::Destination> {
    // The proxy the set currently uses (the registration client fails over within it).
    registration::ProxySet* set = registrations_->FindProxySet(name);
    if (set == nullptr) return std::nullopt;
    return set->Active();
  };
  hooks.credentials_for = [this](uint32_t line) { return CredentialsForLine(line); };
  calls_ = std::make_unique<dialog::CallAgent>(reactor_, *transactions_, transports_, random_,
                                               std::move(agent_config), std::move(hooks));
}

void SipStack::SendRequest(const transport::Destination& to, std::string request_bytes,
                           std::function<void(const registration::ResponseInfo&)> on_final) {
  std::string contact = ContactOf(request_bytes);
  auto id = transactions_->SendRequest(WithoutTopVia(std::move(request_bytes)), to);
  if (!id) {
    // The registration client takes an immediate answer on its next loop turn.
    // The transaction layer refused the request (its table is full): a local overload,
    // not the proxy's failure.
    on_final(registration::ResponseInfo::LocalRefusal(id.error()));
    return;
  }
  pending_[*id] = PendingRequest{std::move(contact), std::move(on_final)};
}

void SipStack::Answer(transaction::TransactionId transaction, const sip::Message& request,
                      const transport::Received& received, uint16_t status, std::string_view reason,
                      std::string_view extra_headers) {
  uint8_t tag_bytes[8];
  RAND_bytes(tag_bytes, sizeof(tag_bytes));
  char to_tag[17];
  for (int i = 0; i < 8; ++i) std::snprintf(to_tag + 2 * i, 3, "%02x", tag_bytes[i]);
  response_buffer_.resize(request.raw().size() + extra_headers.size() + 512);
  auto size = sip::BuildResponse(request, status, reason, std::string_view(to_tag, 16), response_buffer_,
                                 extra_headers);
  if (!size) {
    log::Warn("sip: response not built", {{"status", status}});
    return;
  }
  std::string response(response_buffer_.data(), *size);
  transport::StampTopVia(response, received.source);
  Status sent = transactions_->Respond(transaction, std::move(response));
  if (!sent.ok()) log::Debug("sip: response not sent", {{"status", status}, {"error", sent.error()}});
}

void SipStack::OnRequest(const transaction::IncomingRequest& request) {
  const sip::Message& message = request.message;
  if (calls_ && message.method() == "CANCEL") {
    calls_->OnRequest(request);
    ++counters_.requests_answered;
    return;
  }
  if (message.method() == "CANCEL") {
    // RFC 3261 9.2: 200 for the CANCEL, 487 for the INVITE it matched; 481 if none.
    if (request.cancelled_invite != 0) {
      Answer(request.transaction, message, request.received, 200, "OK", "");
      Status terminated = transactions_->Respond(request.cancelled_invite, 487, "Request Terminated", "");
      if (!terminated.ok()) log::Debug("sip: 487 not sent", {{"error", terminated.error()}});
      ++counters_.requests_answered;
      return;
    }
  }
  UasVerdict verdict = CheckRequest(message);
  if (verdict.status != 0) {
    ++counters_.requests_rejected;
    log::Debug("sip: request refused", {{"method", message.method()},
                                        {"status", verdict.status},
                                        {"reason", verdict.reason},
                                        {"from", request.received.source.ToString()}});
  } else if (calls_ && dialog::CallAgent::Serves(message.method())) {
    ++counters_.requests_answered;
    calls_->OnRequest(request);
    return;
  } else {
    verdict = AnswerRequest(message);
    ++counters_.requests_answered;
  }
  if (message.method() == "ACK") return;  // never answered
  Answer(request.transaction, message, request.received, verdict.status, verdict.reason,
         verdict.extra_headers);
}

void SipStack::OnStrayAck(const sip::Message& ack, const transport::Received& received) {
  ++counters_.stray_acks;
  if (calls_) calls_->OnStrayAck(ack, received);
}

void SipStack::OnStrayResponse(const sip::Message& response, const transport::Received& received) {
  ++counters_.stray_responses;
  if (calls_) calls_->OnStrayResponse(response, received);
}

void SipStack::OnResponse(transaction::TransactionId transaction, const sip::Message& response) {
  auto it = pending_.find(transaction);
  if (it == pending_.end()) {
    if (calls_) calls_->OnResponse(transaction, response);
    return;
  }
  if (response.status_code() < 200) return;
  PendingRequest pending = std::move(it->second);
  pending_.erase(it);
  pending.on_final(registration::ExtractResponseInfo(response, pending.our_contact));
}

void SipStack::OnTimeout(transaction::TransactionId transaction, transaction::TransactionKind kind) {
  auto it = pending_.find(transaction);
  if (it == pending_.end()) {
    if (calls_) calls_->OnTimeout(transaction, kind);
    return;
  }
  PendingRequest pending = std::move(it->second);
  pending_.erase(it);
  pending.on_final(registration::ResponseInfo::Timeout());
}

void SipStack::OnTransportError(transaction::TransactionId transaction, transaction::TransactionKind,
                                std::string_view error) {
  auto it = pending_.find(transaction);
  if (it == pending_.end()) {
    if (calls_) calls_->OnTransportError(transaction, error);
    return;
  }
  PendingRequest pending = std::move(it->second);
  pending_.erase(it);
  pending.on_final(registration::ResponseInfo::TransportError(std::string(error)));
}

}  // namespace linegate::signaling
