#pragma once
// Request/reply bookkeeping shared by both ends of the bus: handlers by payload type,
// and the table of requests in flight with their correlation ids and deadlines.

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/bus/envelope.h"
#include "common/clock.h"

namespace linegate::bus {

// Answers one request, now or later (handlers may reply after asking someone else).
// Replying twice is ignored.
class Replier {
 public:
  using Send = std::function<void(const v1::Envelope&)>;
  Replier(Send send, uint64_t correlation_id, std::string source)
      : state_(std::make_shared<State>(State{std::move(send), correlation_id, std::move(source), false})) {}

  void Reply(const google::protobuf::Message& message) const;
  void Fail(v1::ErrorCode code, std::string message) const;
  // Replies with an already packed payload (relaying another process's reply).
  void Forward(const google::protobuf::Any& payload) const;
  bool replied() const { return state_->replied; }

 private:
  struct State {
    Send send;
    uint64_t correlation_id;
    std::string source;
    bool replied;
  };
  std::shared_ptr<State> state_;
};

// Called with the reply, or with a synthesized error reply (TIMEOUT, UNAVAILABLE).
using ReplyCallback = std::function<void(const v1::Envelope& reply)>;
using RequestHandler = std::function<void(const v1::Envelope& request, const Replier& replier)>;
using EventHandler = std::function<void(const v1::Envelope& event)>;

class Dispatcher {
 public:
  explicit Dispatcher(std::string self_name) : self_name_(std::move(self_name)) {}

  const std::string& self_name() const { return self_name_; }

  void OnRequest(const std::string& type, RequestHandler handler) {
    request_handlers_[type] = std::move(handler);
  }
  // Typed form: the handler gets the unpacked request.
  template <typename Req>
  void OnRequest(std::function<void(const Req&, const v1::Envelope&, const Replier&)> handler) {
    OnRequest(Req::descriptor()->full_name(), [handler](const v1::Envelope& env, const Replier& replier) {
      Req request;
      if (!env.payload().UnpackTo(&request)) {
        replier.Fail(v1::ERROR_CODE_INVALID_ARGUMENT, "payload does not decode as its declared type");
        return;
      }
      handler(request, env, replier);
    });
  }
  void OnEvent(const std::string& type, EventHandler handler) { event_handlers_[type] = std::move(handler); }
  // Events of every type without a handler of their own (monitoring tools).
  void OnAnyEvent(EventHandler handler) { any_event_handler_ = std::move(handler); }

  // Registers a request in flight; returns its correlation id.
  uint64_t Track(TimePoint deadline, ReplyCallback callback);
  // Drops a tracked request without calling it back (e.g. it could not be sent).
  ReplyCallback Untrack(uint64_t correlation_id);
  // Fails requests whose deadline passed with TIMEOUT.
  void ExpireDue(TimePoint now);
  // Fails every request in flight (the peer is gone).
  void FailAll(v1::ErrorCode code, const std::string& message);
  size_t in_flight() const { return pending_.size(); }

  // Routes an incoming REQUEST, REPLY or EVENT. send_reply delivers replies to the
  // requester. Returns false for envelopes nobody handles (counted by the caller).
  bool Dispatch(const v1::Envelope& envelope, const Replier::Send& send_reply);

 private:
  struct Pending {
    TimePoint deadline;
    ReplyCallback callback;
  };

  std::string self_name_;
  std::unordered_map<std::string, RequestHandler> request_handlers_;
  std::unordered_map<std::string, EventHandler> event_handlers_;
  EventHandler any_event_handler_;
  std::map<uint64_t, Pending> pending_;
  uint64_t next_correlation_id_ = 1;
};

}  // namespace linegate::bus
