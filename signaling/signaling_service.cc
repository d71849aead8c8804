#include "signaling/signaling_service.h"

#include "common/log.h"

namespace linegate::signaling {

Status SignalingService::Configure(const config::v1::Config& config) {
  signaling_ = config.signaling();
  log::Info("signaling configured",
            {{"listen_address", signaling_.listen_address()}, {"sip_port", signaling_.sip_port()}});
  return Status::Ok();
}

void SignalingService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::SignalingDetail* detail = heartbeat.mutable_signaling();
  detail->set_listen_address(signaling_.listen_address());
  detail->set_sip_port(signaling_.sip_port());
}

}  // namespace linegate::signaling
