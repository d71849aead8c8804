#pragma once
// Control's side of the media plane: routes line and media requests to the process
// that owns the line (tdm for port commands and simulated-line scripts, the shard's
// media process for sessions, tones and caller ID), and keeps the table of open
// sessions, which is the state a restarted media process gets back: when a media
// process comes (back) up, every session of its shard is created again on the same
// local port, so that the far end's RTP, still addressed to that port, flows again.

#include <map>
#include <string>

#include "common/bus/dispatcher.h"
#include "common/bus/reactor.h"
#include "common/bus/server.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::control {

class MediaRouter {
 public:
  MediaRouter(const config::v1::Config& config, bus::Server& server, bus::Reactor& reactor);

  void RegisterHandlers(bus::Dispatcher& dispatcher);
  // From the supervisor: a media process that reaches RUNNING gets its sessions back.
  void OnProcessState(const process::v1::ProcessStatus& status, process::v1::ProcessState previous);

  size_t session_count() const { return sessions_.size(); }

 private:
  std::chrono::milliseconds timeout() const;
  void CreateSession(const media::v1::CreateSessionRequest& request, const bus::Replier& replier);
  void RestoreSessions(uint32_t shard);
  void AdoptSessions(uint32_t shard);
  void HandlePortCommand(const bus::v1::Envelope& envelope, const bus::Replier& replier);
  // Sends `request` to `peer` and relays the reply (or error) to `replier`.
  void Relay(const std::string& peer, const google::protobuf::Message& request, const bus::Replier& replier);
  // The media process of a line's shard, or an error text.
  bool MediaOf(uint32_t line, std::string& peer, std::string& error) const;

  const config::v1::Config& config_;
  bus::Server& server_;
  bus::Reactor& reactor_;
  // Open sessions by line, with the local port media gave them.
  std::map<uint32_t, media::v1::SessionParams> sessions_;
};

}  // namespace linegate::control
