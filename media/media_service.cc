#include "media/media_service.h"

#include "common/log.h"

namespace linegate::media {

Status MediaService::Configure(const config::v1::Config& config) {
  if (shard_ < 0 || static_cast<uint32_t>(shard_) >= config.media().process_count()) {
    return Error{"shard " + std::to_string(shard_) + " does not exist: media.process_count is " +
                 std::to_string(config.media().process_count())};
  }
  if (config.media().backend() == config::v1::PACKET_IO_BACKEND_DPDK) {
    return Error{"media.backend dpdk is not available in this build yet; use kernel_sockets"};
  }
  media_ = config.media();
  log::Info("shard configured", {{"shards", media_.process_count()},
                                 {"backend", config::v1::PacketIoBackend_Name(media_.backend())},
                                 {"rtp_address", media_.rtp_address()}});
  return Status::Ok();
}

void MediaService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::MediaDetail* detail = heartbeat.mutable_media();
  detail->set_shard_count(media_.process_count());
  detail->set_backend(config::v1::PacketIoBackend_Name(media_.backend()));
}

}  // namespace linegate::media
