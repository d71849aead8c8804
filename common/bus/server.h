#pragma once
// Control's side of the bus: a ROUTER socket that every process and tool connects to
// (requests both ways, replies, events, heartbeats), and a PUB socket that republishes
// events. Peers are known by their routing identity (the process name). A peer that
// heartbeats is tracked; after heartbeat_miss_limit silent intervals it is dead.

#include <functional>
#include <map>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/bus/dispatcher.h"
#include "common/bus/reactor.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::bus {

struct ServerOptions {
  std::string name = "control";
  std::string control_endpoint;
  std::string events_endpoint;
  Duration heartbeat_interval = std::chrono::milliseconds(500);
  int heartbeat_miss_limit = 3;
};

class Server {
 public:
  using HeartbeatHandler = std::function<void(const std::string& peer, const process::v1::Heartbeat&)>;
  using PeerHandler = std::function<void(const std::string& peer)>;

  Server(zmq::context_t& context, Reactor& reactor, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both endpoints. ipc:// endpoints need their directory to exist.
  Status Bind();

  Dispatcher& dispatcher() { return dispatcher_; }

  void Request(const std::string& peer, const google::protobuf::Message& request, Duration timeout,
               ReplyCallback callback);
  // Publishes on the PUB socket with the payload's full name as topic.
  void Publish(const google::protobuf::Message& event);

  void OnHeartbeat(HeartbeatHandler handler) { on_heartbeat_ = std::move(handler); }
  void OnPeerDead(PeerHandler handler) { on_dead_ = std::move(handler); }
  std::vector<std::string> LivePeers() const;
  bool IsAlive(const std::string& peer) const;
  // Stops tracking a peer (it was stopped on purpose).
  void Forget(const std::string& peer);

  struct Counters {
    uint64_t received = 0;
    uint64_t sent = 0;
    uint64_t send_failures = 0;
    uint64_t undecodable = 0;
    uint64_t unhandled = 0;
    uint64_t events_published = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct PeerState {
    TimePoint last_heard;
    bool alive = false;
    // Requests control sent to this peer, failed at once when the peer dies.
    std::vector<uint64_t> in_flight;
  };

  bool SendTo(const std::string& peer, const v1::Envelope& envelope);
  void OnReadable();
  void OnTick();
  void SendHeartbeat(const std::string& peer);

  ServerOptions options_;
  Reactor& reactor_;
  zmq::socket_t router_;
  zmq::socket_t publisher_;
  Dispatcher dispatcher_;
  std::map<std::string, PeerState> peers_;
  HeartbeatHandler on_heartbeat_;
  PeerHandler on_dead_;
  Reactor::TimerId tick_timer_ = 0;
  TimePoint last_heartbeat_round_{};
  uint64_t heartbeat_sequence_ = 0;
  Counters counters_;
};

}  // namespace linegate::bus
