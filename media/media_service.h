#pragma once
// A media process's service for its shard of channels. RTP sessions, the jitter
// buffer, codecs and the TDM bus attachment come with the media issue; today the
// service takes its shard's settings from the configuration and reports them.

#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::media {

class MediaService {
 public:
  explicit MediaService(int shard) : shard_(shard) {}
  Status Configure(const config::v1::Config& config);
  void FillDetail(process::v1::Heartbeat& heartbeat) const;

 private:
  int shard_;
  config::v1::Media media_;
};

}  // namespace linegate::media
