#pragma once
// A process's link to control: a DEALER socket connected to control's ROUTER for
// requests, replies, events and heartbeats, and optionally a SUB socket on control's
// event publisher. ZeroMQ reconnects by itself; this class adds liveness on top:
// control is "up" while its heartbeats arrive and "down" after heartbeat_miss_limit
// intervals without one, at which point every request in flight fails UNAVAILABLE.

#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/bus/dispatcher.h"
#include "common/bus/reactor.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::bus {

struct ClientOptions {
  std::string name;              // routing identity, unique per gateway: "media-1"
  std::string control_endpoint;  // ipc://... or tcp://...
  std::string events_endpoint;   // empty: no subscription
  // Zero disables heartbeats (one-shot tools such as linegatectl).
  Duration heartbeat_interval = std::chrono::milliseconds(500);
  int heartbeat_miss_limit = 3;
};

class Client {
 public:
  using HeartbeatSource = std::function<process::v1::Heartbeat()>;

  Client(zmq::context_t& context, Reactor& reactor, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Dispatcher& dispatcher() { return dispatcher_; }
  const ClientOptions& options() const { return options_; }

  // Sends a request; the callback gets the reply or a TIMEOUT/UNAVAILABLE error.
  // If the request cannot even be queued (no connection), the callback runs at once.
  void Request(const google::protobuf::Message& request, Duration timeout, ReplyCallback callback);
  // Blocking form for tools and start-up: runs the reactor until the reply, the
  // deadline, or the failure. Waits for the connection within the same deadline.
  Result<v1::Envelope> Call(const google::protobuf::Message& request, Duration timeout);
  // Sends an event to control, which republishes it. Dropped when not connected.
  bool Publish(const google::protobuf::Message& event);
  // Topics (payload full names, or "" for all) to receive from control's publisher.
  void Subscribe(const std::string& topic);

  void SetHeartbeatSource(HeartbeatSource source) { heartbeat_source_ = std::move(source); }
  void OnControlUp(std::function<void()> callback) { on_up_ = std::move(callback); }
  void OnControlDown(std::function<void()> callback) { on_down_ = std::move(callback); }
  bool control_up() const { return control_up_; }
  // Sends a heartbeat now, e.g. right after a state change worth reporting.
  void SendHeartbeat();

  struct Counters {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t send_failures = 0;
    uint64_t undecodable = 0;
    uint64_t unhandled = 0;
    uint64_t heartbeats_received = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  bool Send(const v1::Envelope& envelope);
  void OnReadable();
  void OnEventsReadable();
  void OnTick();

  ClientOptions options_;
  Reactor& reactor_;
  zmq::socket_t socket_;
  std::optional<zmq::socket_t> events_;
  Dispatcher dispatcher_;
  HeartbeatSource heartbeat_source_;
  std::function<void()> on_up_;
  std::function<void()> on_down_;
  bool control_up_ = false;
  TimePoint last_heard_{};
  TimePoint last_heartbeat_sent_{};
  uint64_t heartbeat_sequence_ = 0;
  Reactor::TimerId tick_timer_ = 0;
  Counters counters_;
};

}  // namespace linegate::bus
