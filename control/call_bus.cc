#include "control/call_bus.h"

#include "common/bus/envelope.h"
#include "common/log.h"

namespace linegate::control {
namespace {

// A done callback that logs a failed request call control did not wait for.
MediaRouter::Done LogFailure(std::string what, uint32_t line) {
  return [what = std::move(what), line](const bus::v1::Envelope& reply) {
    if (reply.error().code() == bus::v1::ERROR_CODE_UNSPECIFIED) return;
    log::Warn("call control request failed",
              {{"request", what}, {"line", line}, {"error", reply.error().message()}});
  };
}

}  // namespace

CallBus::CallBus(const config::v1::Config& config, bus::Server& server, MediaRouter& router)
    : config_(config), server_(server), router_(router) {}

std::chrono::milliseconds CallBus::timeout() const {
  return std::chrono::milliseconds(config_.bus().request_timeout_ms());
}

void CallBus::ToSignaling(const google::protobuf::Message& request, std::string what) {
  server_.Request("signaling", request, timeout(), [what = std::move(what)](const bus::v1::Envelope& reply) {
    if (reply.error().code() == bus::v1::ERROR_CODE_UNSPECIFIED) return;
    log::Warn("signaling refused a call request", {{"request", what}, {"error", reply.error().message()}});
  });
}

void CallBus::PlaceCall(const signaling::v1::PlaceCallRequest& request, std::function<void(Status)> done) {
  server_.Request("signaling", request, timeout(), [done = std::move(done)](const bus::v1::Envelope& reply) {
    if (reply.error().code() != bus::v1::ERROR_CODE_UNSPECIFIED) return done(Error{reply.error().message()});
    done(Status::Ok());
  });
}

void CallBus::AnswerCall(const signaling::v1::AnswerCallRequest& request) {
  ToSignaling(request, "answer " + request.call_ref() + " " + std::to_string(request.status()));
}

void CallBus::EndCall(const signaling::v1::EndCallRequest& request) {
  ToSignaling(request, "end " + request.call_ref());
}

void CallBus::UpdateMedia(const signaling::v1::UpdateMediaRequest& request) {
  ToSignaling(request, "update media " + request.call_ref());
}

void CallBus::TransferCall(const signaling::v1::TransferCallRequest& request) {
  ToSignaling(request, "transfer " + request.call_ref());
}

void CallBus::CreateSession(const media::v1::SessionParams& params,
                            std::function<void(Result<media::v1::CreateSessionReply>)> done) {
  media::v1::CreateSessionRequest request;
  *request.mutable_params() = params;
  router_.CreateSession(request, [done = std::move(done)](const bus::v1::Envelope& reply) {
    done(bus::Unpack<media::v1::CreateSessionReply>(reply));
  });
}

void CallBus::ModifySession(const media::v1::SessionParams& params) {
  media::v1::ModifySessionRequest request;
  *request.mutable_params() = params;
  router_.ModifySession(request, LogFailure("modify session", params.line()));
}

void CallBus::DeleteSession(uint32_t line, uint32_t leg,
                            std::function<void(Result<media::v1::DeleteSessionReply>)> done) {
  media::v1::DeleteSessionRequest request;
  request.set_line(line);
  request.set_leg(leg);
  router_.DeleteSession(request, [done = std::move(done)](const bus::v1::Envelope& reply) {
    done(bus::Unpack<media::v1::DeleteSessionReply>(reply));
  });
}

void CallBus::PlayTone(uint32_t line, media::v1::ToneKind tone) {
  media::v1::PlayToneRequest request;
  request.set_line(line);
  request.set_tone(tone);
  request.set_stop(tone == media::v1::TONE_KIND_UNSPECIFIED);
  request.set_country(config_.calls().tone_country());
  router_.PlayTone(request, LogFailure("play tone", line));
}

void CallBus::SendCallerId(const media::v1::SendCallerIdRequest& request) {
  router_.SendCallerId(request, LogFailure("caller id", request.line()));
}

void CallBus::PortCommand(const tdm::v1::PortCommandRequest& request) {
  router_.PortCommand(request, LogFailure("port command", request.line()));
}

void CallBus::DigitDetection(uint32_t line, bool enable) {
  media::v1::DigitDetectionRequest request;
  request.set_line(line);
  request.set_enable(enable);
  router_.DigitDetection(request, LogFailure("digit detection", line));
}

void CallBus::LineScript(uint32_t line, const std::string& text) {
  tdm::v1::LineScriptRequest request;
  request.set_line(line);
  request.set_text(text);
  router_.LineScript(request, LogFailure("line script " + text, line));
}

void CallBus::SendDigits(uint32_t line, const std::string& digits) {
  media::v1::SendDigitsRequest request;
  request.set_line(line);
  request.set_digits(digits);
  router_.SendDigits(request, LogFailure("send digits", line));
}

void CallBus::Write(const callcontrol::CdrRecord& record) {
  if (cdr_writer_ && !cdr_writer_->Submit(record))
    log::Warn("CDR dropped: writer queue full", {{"call_id", record.call_id}});
}

}  // namespace linegate::control
