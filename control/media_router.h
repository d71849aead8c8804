#pragma once
// Control's side of the media plane: routes line and media requests to the process
// that owns the line (tdm for port commands and simulated-line scripts, the shard's
// media process for sessions, tones and caller ID), and keeps the table of open
// sessions, which is the state a restarted media process gets back: when a media
// process comes (back) up, every session of its shard is created again on the same
// local port, so that the far end's RTP, still addressed to that port, flows again.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "common/bus/dispatcher.h"
#include "common/bus/reactor.h"
#include "common/bus/server.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "linegate/process/v1/process.pb.h"
#include "linegate/tdm/v1/line.pb.h"

namespace linegate::control {

// Operators' requests (relayed from linegatectl) and call control (the programmatic
// API below) go through the same functions, so there is one session table.
class MediaRouter {
 public:
  MediaRouter(const config::v1::Config& config, bus::Server& server, bus::Reactor& reactor);

  void RegisterHandlers(bus::Dispatcher& dispatcher);
  // From the supervisor: a media process that reaches RUNNING gets its sessions back.
  void OnProcessState(const process::v1::ProcessStatus& status, process::v1::ProcessState previous);

  size_t session_count() const { return sessions_.size(); }

  // Told when a line gets its first operator session (linegatectl media create) and
  // when the operator deletes it: such a line is the operator's, not call control's.
  void OnOperatorLine(std::function<void(uint32_t line, bool owned)> callback) {
    on_operator_line_ = std::move(callback);
  }

  // Programmatic API: `done` gets the reply envelope (or the synthesized error reply)
  // of the process that handled the request; bus::Unpack decodes it.
  using Done = std::function<void(const bus::v1::Envelope& reply)>;
  void CreateSession(const media::v1::CreateSessionRequest& request, Done done);
  void ModifySession(const media::v1::ModifySessionRequest& request, Done done);
  void DeleteSession(const media::v1::DeleteSessionRequest& request, Done done);
  void PlayTone(const media::v1::PlayToneRequest& request, Done done);
  void SendCallerId(const media::v1::SendCallerIdRequest& request, Done done);
  void DigitDetection(const media::v1::DigitDetectionRequest& request, Done done);
  // Replied to when queued; the media process publishes DigitsSent when they are out.
  void SendDigits(const media::v1::SendDigitsRequest& request, Done done);
  // To tdm; a ring with caller ID is sequenced with the line's media process.
  void PortCommand(const tdm::v1::PortCommandRequest& request, Done done);
  void LineScript(const tdm::v1::LineScriptRequest& request, Done done);

 private:
  using SessionKey = std::pair<uint32_t, uint32_t>;  // line, leg
  std::chrono::milliseconds timeout() const;
  void RestoreSessions(uint32_t shard);
  // Sends `request` to the media process of `line`, or fails `done` at once.
  void ToMediaOf(uint32_t line, const google::protobuf::Message& request, Done done);
  // The media process of a line's shard, or an error text.
  bool MediaOf(uint32_t line, std::string& peer, std::string& error) const;

  const config::v1::Config& config_;
  bus::Server& server_;
  bus::Reactor& reactor_;
  // Open sessions by line and leg, with the local port media gave them.
  std::map<SessionKey, media::v1::SessionParams> sessions_;
  std::set<uint32_t> operator_lines_;
  std::function<void(uint32_t line, bool owned)> on_operator_line_;
};

}  // namespace linegate::control
