#pragma once
// The signaling process's service. The SIP stack (transports, transactions,
// registrations) plugs in here with the SIP issue; today the service takes its
// listening settings from the configuration and reports them.

#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"

namespace linegate::signaling {

class SignalingService {
 public:
  Status Configure(const config::v1::Config& config);
  void FillDetail(process::v1::Heartbeat& heartbeat) const;

 private:
  config::v1::Signaling signaling_;
};

}  // namespace linegate::signaling
