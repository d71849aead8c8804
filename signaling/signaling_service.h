#pragma once
// The signaling process's service: builds the SIP stack from the configuration control
// sends, serves registration commands and call requests (call.proto) from the bus, and
// publishes registration state changes and CallEvents.

#include <map>
#include <memory>

#include "common/process/agent.h"
#include "common/result.h"
#include "linegate/config/v1/config.pb.h"
#include "linegate/process/v1/process.pb.h"
#include "linegate/signaling/v1/call.pb.h"
#include "linegate/signaling/v1/registration.pb.h"
#include "signaling/sip_stack.h"

namespace linegate::signaling {

signaling::v1::RegistrationStatus ToProto(const registration::RegistrationStatus& status, TimePoint now);

class SignalingService {
 public:
  explicit SignalingService(process::ProcessAgent& agent);

  // The first configuration builds the stack and starts the registrations; later ones
  // (control restarted) keep the running stack: configuration changes need a restart.
  Status Configure(const config::v1::Config& config);
  void FillDetail(process::v1::Heartbeat& heartbeat) const;

 private:
  void RegisterBusHandlers();
  void RegisterCallHandlers();
  std::vector<std::string> Targets(const std::string& target) const;

  process::ProcessAgent& agent_;
  config::v1::Signaling signaling_;
  std::unique_ptr<SipStack> stack_;
  std::map<std::string, signaling::v1::RegistrationState> last_state_;
};

}  // namespace linegate::signaling
