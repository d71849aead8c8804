#include "common/bus/server.h"

#include <algorithm>

#include "common/log.h"

namespace linegate::bus {
namespace {
constexpr Duration kTick = std::chrono::milliseconds(25);
}

Server::Server(zmq::context_t& context, Reactor& reactor, ServerOptions options)
    : options_(std::move(options)),
      reactor_(reactor),
      router_(context, zmq::socket_type::router),
      publisher_(context, zmq::socket_type::pub),
      dispatcher_(options_.name) {
  router_.set(zmq::sockopt::linger, 0);
  // Unknown identity -> send fails (EHOSTUNREACH) instead of silently dropping.
  router_.set(zmq::sockopt::router_mandatory, 1);
  // A restarted process reconnects with the same identity before its old connection
  // is torn down: hand the identity over to the new connection.
  router_.set(zmq::sockopt::router_handover, 1);
  publisher_.set(zmq::sockopt::linger, 0);
}

Server::~Server() {
  reactor_.CancelTimer(tick_timer_);
  reactor_.RemoveSocket(router_);
}

Status Server::Bind() {
  try {
    router_.bind(options_.control_endpoint);
  } catch (const zmq::error_t& e) {
    return Error{"cannot bind control endpoint " + options_.control_endpoint + ": " + e.what()};
  }
  try {
    publisher_.bind(options_.events_endpoint);
  } catch (const zmq::error_t& e) {
    return Error{"cannot bind events endpoint " + options_.events_endpoint + ": " + e.what()};
  }
  reactor_.AddSocket(router_, [this] { OnReadable(); });
  tick_timer_ = reactor_.AddPeriodic(kTick, [this] { OnTick(); });
  return Status::Ok();
}

bool Server::SendTo(const std::string& peer, const v1::Envelope& envelope) {
  std::string bytes = envelope.SerializeAsString();
  try {
    if (!router_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      ++counters_.send_failures;
      return false;
    }
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: the peer is not connected.
    ++counters_.send_failures;
    return false;
  }
  ++counters_.sent;
  return true;
}

void Server::Request(const std::string& peer, const google::protobuf::Message& request, Duration timeout,
                     ReplyCallback callback) {
  const uint64_t id = dispatcher_.Track(reactor_.clock().Now() + timeout, std::move(callback));
  if (!SendTo(peer, MakeEnvelope(v1::MESSAGE_KIND_REQUEST, id, options_.name, request))) {
    ReplyCallback cb = dispatcher_.Untrack(id);
    cb(MakeErrorReply(id, options_.name, v1::ERROR_CODE_UNAVAILABLE, "peer '" + peer + "' is not connected"));
    return;
  }
  auto it = peers_.find(peer);
  if (it != peers_.end()) it->second.in_flight.push_back(id);
}

void Server::Publish(const google::protobuf::Message& event) {
  std::string bytes = MakeEnvelope(v1::MESSAGE_KIND_EVENT, 0, options_.name, event).SerializeAsString();
  const std::string& topic = event.GetDescriptor()->full_name();
  publisher_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  publisher_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  ++counters_.events_published;
}

std::vector<std::string> Server::LivePeers() const {
  std::vector<std::string> live;
  for (const auto& [name, state] : peers_) {
    if (state.alive) live.push_back(name);
  }
  return live;
}

bool Server::IsAlive(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.alive;
}

void Server::Forget(const std::string& peer) { peers_.erase(peer); }

void Server::SendHeartbeat(const std::string& peer) {
  process::v1::Heartbeat heartbeat;
  heartbeat.set_name(options_.name);
  heartbeat.set_kind(process::v1::PROCESS_KIND_CONTROL);
  heartbeat.set_sequence(++heartbeat_sequence_);
  SendTo(peer, MakeEnvelope(v1::MESSAGE_KIND_HEARTBEAT, 0, options_.name, heartbeat));
}

void Server::OnReadable() {
  while (true) {
    zmq::message_t identity;
    if (!router_.recv(identity, zmq::recv_flags::dontwait)) return;
    zmq::message_t body;
    if (!identity.more() || !router_.recv(body, zmq::recv_flags::dontwait)) {
      ++counters_.undecodable;
      continue;
    }
    while (body.more()) {  // drain unexpected extra frames
      zmq::message_t extra;
      if (!router_.recv(extra, zmq::recv_flags::dontwait)) break;
      body.swap(extra);
      ++counters_.undecodable;
    }
    ++counters_.received;
    const std::string peer = identity.to_string();
    auto envelope = Decode(body.data(), body.size());
    if (!envelope) {
      ++counters_.undecodable;
      log::Warn("dropped undecodable bus message", {{"peer", peer}, {"error", envelope.error()}});
      continue;
    }
    if (envelope->kind() == v1::MESSAGE_KIND_HEARTBEAT) {
      PeerState& state = peers_[peer];
      state.last_heard = reactor_.clock().Now();
      if (!state.alive) {
        state.alive = true;
        SendHeartbeat(peer);  // answer at once so the peer knows control is up
      }
      process::v1::Heartbeat heartbeat;
      if (envelope->payload().UnpackTo(&heartbeat) && on_heartbeat_) on_heartbeat_(peer, heartbeat);
      continue;
    }
    auto known = peers_.find(peer);
    if (known != peers_.end() && known->second.alive) known->second.last_heard = reactor_.clock().Now();
    if (envelope->kind() == v1::MESSAGE_KIND_EVENT) {
      // Republish what processes report, so tools and other processes can subscribe.
      std::string topic(PayloadType(*envelope));
      publisher_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      publisher_.send(zmq::buffer(body.data(), body.size()), zmq::send_flags::dontwait);
      ++counters_.events_published;
    }
    if (envelope->kind() == v1::MESSAGE_KIND_REPLY && known != peers_.end()) {
      std::erase(known->second.in_flight, envelope->correlation_id());
    }
    if (!dispatcher_.Dispatch(*envelope, [this, peer](const v1::Envelope& reply) { SendTo(peer, reply); })) {
      ++counters_.unhandled;
    }
  }
}

void Server::OnTick() {
  const TimePoint now = reactor_.clock().Now();
  dispatcher_.ExpireDue(now);
  if (now - last_heartbeat_round_ >= options_.heartbeat_interval) {
    last_heartbeat_round_ = now;
    for (const auto& [peer, state] : peers_) {
      if (state.alive) SendHeartbeat(peer);
    }
  }
  std::vector<std::string> dead;
  for (auto& [peer, state] : peers_) {
    if (state.alive && now - state.last_heard > options_.heartbeat_interval * options_.heartbeat_miss_limit) {
      state.alive = false;
      dead.push_back(peer);
    }
  }
  for (const std::string& peer : dead) {
    log::Warn("peer is dead: heartbeats missed", {{"peer", peer}, {"missed", options_.heartbeat_miss_limit}});
    auto& in_flight = peers_[peer].in_flight;
    for (uint64_t id : in_flight) {
      ReplyCallback cb = dispatcher_.Untrack(id);
      if (cb)
        cb(MakeErrorReply(id, options_.name, v1::ERROR_CODE_UNAVAILABLE, "peer '" + peer + "' is dead"));
    }
    in_flight.clear();
    if (on_dead_) on_dead_(peer);
  }
}

}  // namespace linegate::bus
