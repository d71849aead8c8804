#pragma once
// Call control's ports on the bus: requests to signaling go out through the bus
// server, requests to media and tdm through MediaRouter (one session table for
// operators and call control), CDRs to the CdrWriter. Replies call control does not
// wait for are checked here and their failures logged.

#include <memory>

#include "common/bus/server.h"
#include "control/callcontrol/cdr.h"
#include "control/calls/call_manager.h"
#include "control/media_router.h"
#include "linegate/config/v1/config.pb.h"

namespace linegate::control {

class CallBus final : public calls::SignalingPort, public calls::LinePort, public calls::CdrSink {
 public:
  CallBus(const config::v1::Config& config, bus::Server& server, MediaRouter& router);

  // Null: no CDRs are written (the writer could not open its file).
  void set_cdr_writer(std::unique_ptr<callcontrol::CdrWriter> writer) { cdr_writer_ = std::move(writer); }

  // SignalingPort
  void PlaceCall(const signaling::v1::PlaceCallRequest& request, std::function<void(Status)> done) override;
  void AnswerCall(const signaling::v1::AnswerCallRequest& request) override;
  void EndCall(const signaling::v1::EndCallRequest& request) override;
  void UpdateMedia(const signaling::v1::UpdateMediaRequest& request) override;
  void TransferCall(const signaling::v1::TransferCallRequest& request) override;

  // LinePort
  void CreateSession(const media::v1::SessionParams& params,
                     std::function<void(Result<media::v1::CreateSessionReply>)> done) override;
  void ModifySession(const media::v1::SessionParams& params) override;
  void DeleteSession(uint32_t line, uint32_t leg,
                     std::function<void(Result<media::v1::DeleteSessionReply>)> done) override;
  void PlayTone(uint32_t line, media::v1::ToneKind tone) override;
  void SendCallerId(const media::v1::SendCallerIdRequest& request) override;
  void PortCommand(const tdm::v1::PortCommandRequest& request) override;
  void DigitDetection(uint32_t line, bool enable) override;
  void LineScript(uint32_t line, const std::string& text) override;
  void SendDigits(uint32_t line, const std::string& digits) override;

  // CdrSink
  void Write(const callcontrol::CdrRecord& record) override;

 private:
  std::chrono::milliseconds timeout() const;
  // Sends to signaling; a failure is logged with `what`.
  void ToSignaling(const google::protobuf::Message& request, std::string what);

  const config::v1::Config& config_;
  bus::Server& server_;
  MediaRouter& router_;
  std::unique_ptr<callcontrol::CdrWriter> cdr_writer_;
};

}  // namespace linegate::control
