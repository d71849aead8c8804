#include "common/bus/client.h"

#include "common/log.h"

namespace linegate::bus {
namespace {

// While control is down, knock more often than the heartbeat interval so that a
// (re)started control is noticed quickly.
constexpr Duration kProbeInterval = std::chrono::milliseconds(50);
constexpr Duration kTick = std::chrono::milliseconds(25);

}  // namespace

Client::Client(zmq::context_t& context, Reactor& reactor, ClientOptions options)
    : options_(std::move(options)),
      reactor_(reactor),
      socket_(context, zmq::socket_type::dealer),
      dispatcher_(options_.name) {
  socket_.set(zmq::sockopt::routing_id, options_.name);
  socket_.set(zmq::sockopt::linger, 0);
  // Queue nothing for a control that is not connected: a request then fails at once
  // instead of waiting for a timeout.
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.set(zmq::sockopt::reconnect_ivl, 50);
  socket_.set(zmq::sockopt::reconnect_ivl_max, 500);
  socket_.connect(options_.control_endpoint);
  reactor_.AddSocket(socket_, [this] { OnReadable(); });
  if (!options_.events_endpoint.empty()) {
    events_.emplace(context, zmq::socket_type::sub);
    events_->set(zmq::sockopt::linger, 0);
    events_->set(zmq::sockopt::reconnect_ivl, 50);
    events_->set(zmq::sockopt::reconnect_ivl_max, 500);
    events_->connect(options_.events_endpoint);
    reactor_.AddSocket(*events_, [this] { OnEventsReadable(); });
  }
  tick_timer_ = reactor_.AddPeriodic(kTick, [this] { OnTick(); });
}

Client::~Client() {
  reactor_.CancelTimer(tick_timer_);
  reactor_.RemoveSocket(socket_);
  if (events_) reactor_.RemoveSocket(*events_);
}

bool Client::Send(const v1::Envelope& envelope) {
  std::string bytes = envelope.SerializeAsString();
  auto sent = socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  if (!sent) {
    ++counters_.send_failures;
    return false;
  }
  ++counters_.sent;
  return true;
}

void Client::Request(const google::protobuf::Message& request, Duration timeout, ReplyCallback callback) {
  const uint64_t id = dispatcher_.Track(reactor_.clock().Now() + timeout, std::move(callback));
  if (!Send(MakeEnvelope(v1::MESSAGE_KIND_REQUEST, id, options_.name, request))) {
    ReplyCallback cb = dispatcher_.Untrack(id);
    cb(MakeErrorReply(id, options_.name, v1::ERROR_CODE_UNAVAILABLE,
                      "control is not reachable at " + options_.control_endpoint));
  }
}

Result<v1::Envelope> Client::Call(const google::protobuf::Message& request, Duration timeout) {
  const TimePoint deadline = reactor_.clock().Now() + timeout;
  // Wait for the connection: with ZMQ_IMMEDIATE the socket is writable only then.
  while (true) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(10));
    if (item.revents & ZMQ_POLLOUT) break;
    if (reactor_.clock().Now() >= deadline) {
      return Error{"control is not reachable at " + options_.control_endpoint};
    }
  }
  std::optional<v1::Envelope> reply;
  Request(request, deadline - reactor_.clock().Now(), [&reply](const v1::Envelope& r) { reply = r; });
  while (!reply) reactor_.RunOnce(std::chrono::milliseconds(10));
  if (reply->error().code() != v1::ERROR_CODE_UNSPECIFIED) {
    return Error{std::string(ErrorCodeName(reply->error().code())) + ": " + reply->error().message()};
  }
  return std::move(*reply);
}

bool Client::Publish(const google::protobuf::Message& event) {
  return Send(MakeEnvelope(v1::MESSAGE_KIND_EVENT, 0, options_.name, event));
}

void Client::Subscribe(const std::string& topic) {
  if (events_) events_->set(zmq::sockopt::subscribe, topic);
}

void Client::OnReadable() {
  while (true) {
    zmq::message_t message;
    if (!socket_.recv(message, zmq::recv_flags::dontwait)) return;
    ++counters_.received;
    auto envelope = Decode(message.data(), message.size());
    if (!envelope) {
      ++counters_.undecodable;
      log::Warn("dropped undecodable message from control", {{"error", envelope.error()}});
      continue;
    }
    // Anything from control proves it is alive, not only heartbeats.
    last_heard_ = reactor_.clock().Now();
    if (!control_up_) {
      control_up_ = true;
      log::Info("control is up", {{"endpoint", options_.control_endpoint}});
      if (on_up_) on_up_();
    }
    if (envelope->kind() == v1::MESSAGE_KIND_HEARTBEAT) {
      ++counters_.heartbeats_received;
      continue;
    }
    if (!dispatcher_.Dispatch(*envelope, [this](const v1::Envelope& reply) { Send(reply); })) {
      ++counters_.unhandled;
    }
  }
}

void Client::OnEventsReadable() {
  while (true) {
    zmq::message_t topic;
    if (!events_->recv(topic, zmq::recv_flags::dontwait)) return;
    zmq::message_t body;
    if (!topic.more() || !events_->recv(body, zmq::recv_flags::dontwait)) {
      ++counters_.undecodable;
      continue;
    }
    auto envelope = Decode(body.data(), body.size());
    if (!envelope) {
      ++counters_.undecodable;
      continue;
    }
    dispatcher_.Dispatch(*envelope, [](const v1::Envelope&) {});
  }
}

void Client::SendHeartbeat() {
  process::v1::Heartbeat heartbeat = heartbeat_source_ ? heartbeat_source_() : process::v1::Heartbeat();
  if (heartbeat.name().empty()) heartbeat.set_name(options_.name);
  heartbeat.set_sequence(++heartbeat_sequence_);
  Send(MakeEnvelope(v1::MESSAGE_KIND_HEARTBEAT, 0, options_.name, heartbeat));
  last_heartbeat_sent_ = reactor_.clock().Now();
}

void Client::OnTick() {
  const TimePoint now = reactor_.clock().Now();
  dispatcher_.ExpireDue(now);
  if (options_.heartbeat_interval <= Duration::zero()) return;
  const Duration interval = control_up_ ? options_.heartbeat_interval : kProbeInterval;
  if (now - last_heartbeat_sent_ >= interval) SendHeartbeat();
  if (control_up_ && now - last_heard_ > options_.heartbeat_interval * options_.heartbeat_miss_limit) {
    control_up_ = false;
    log::Warn("control is down: heartbeats missed",
              {{"endpoint", options_.control_endpoint}, {"missed", options_.heartbeat_miss_limit}});
    dispatcher_.FailAll(v1::ERROR_CODE_UNAVAILABLE, "control stopped answering heartbeats");
    if (on_down_) on_down_();
  }
}

}  // namespace linegate::bus
