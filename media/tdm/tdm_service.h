#pragma once
// The interface-card driver process's service: owns the cards named in the
// configuration and reports their lines. The simulated and DAHDI drivers, the
// shared-memory TDM bus and line signaling come with the media issue; until then the
// service enumerates the configured lines so that control and operators see them.

#include <string>
#include <vector>

#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::media::tdm {

// Gateway-wide line numbering: cards in configuration order, on each card its FXS
// ports then its FXO ports, numbered from 1. This is the number operators use in
// `linegatectl line N` and in the endpoint tables.
std::vector<process::v1::LineInfo> EnumerateLines(const config::v1::Tdm& tdm);

class TdmService {
 public:
  Status Configure(const config::v1::Config& config);
  void FillDetail(process::v1::Heartbeat& heartbeat) const;
  const std::vector<process::v1::LineInfo>& lines() const { return lines_; }

 private:
  config::v1::Tdm tdm_;
  std::vector<process::v1::LineInfo> lines_;
};

}  // namespace linegate::media::tdm
