#pragma once
// A media process's service: builds the engine for its shard from the configuration
// control sent, drives it from the process's reactor (a timerfd every TDM frame and the
// packet I/O's descriptor), answers control's session requests and publishes what the
// engine reports (DTMF, fax tones, RTP timeouts).

#include <functional>
#include <memory>

#include "common/bus/reactor.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/media/v1/media.pb.h"
#include "linegate/process/v1/process.pb.h"
#include "media/engine/media_engine.h"

namespace google::protobuf {
class Message;
}

namespace linegate::bus {
class Dispatcher;
}

namespace linegate::media {

class MediaService final : public engine::EngineEvents {
 public:
  using Publish = std::function<void(const google::protobuf::Message&)>;

  MediaService(int shard, bus::Reactor& reactor, Publish publish);
  ~MediaService() override;

  Status Configure(const config::v1::Config& config);
  void RegisterHandlers(bus::Dispatcher& dispatcher);
  void FillDetail(process::v1::Heartbeat& heartbeat) const;
  engine::MediaEngine* engine() { return engine_.get(); }

  // engine::EngineEvents
  void OnDtmf(uint32_t line, char digit, uint32_t duration_ms, bool from_rtp) override;
  void OnRtpTimeout(uint32_t line, uint32_t silent_ms) override;
  void OnFaxTone(uint32_t line, const char* tone) override;
  void OnCallerId(uint32_t line, const dsp::CallerIdResult& result) override;
  void OnDigitsSent(uint32_t line) override;
  void OnBusyTone(uint32_t line, const char* tone) override;

 private:
  Result<std::unique_ptr<packetio::PacketIo>> MakeDpdk(const config::v1::Config& config);

  int shard_;
  bus::Reactor& reactor_;
  bool polled_ = false;  // a poll-mode backend (DPDK): the loop spins
  std::string backend_name_;
  Publish publish_;
  config::v1::Media media_;
  std::unique_ptr<engine::MediaEngine> engine_;
  int timer_fd_ = -1;
};

}  // namespace linegate::media
