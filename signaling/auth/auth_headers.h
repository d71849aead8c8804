#pragma once
// Which header carries the challenge and which carries the answer, by response code
// (RFC 3261 22.2 and 22.3; RFC 7235 4.1-4.4).

#include <string>
#include <string_view>

#include "common/result.h"

namespace linegate::signaling::auth {

struct AuthHeaderNames {
  std::string_view challenge;      // read from the response
  std::string_view authorization;  // written into the retried request
};

inline constexpr AuthHeaderNames kUserAgentAuthHeaders{"WWW-Authenticate", "Authorization"};
inline constexpr AuthHeaderNames kProxyAuthHeaders{"Proxy-Authenticate", "Proxy-Authorization"};

// 401 -> WWW-Authenticate / Authorization; 407 -> Proxy-Authenticate / Proxy-Authorization.
// Any other code is not a challenge.
inline Result<AuthHeaderNames> AuthHeadersForStatus(int status_code) {
  if (status_code == 401) return kUserAgentAuthHeaders;
  if (status_code == 407) return kProxyAuthHeaders;
  return Error{"status " + std::to_string(status_code) + " is not an authentication challenge (401 or 407)"};
}

}  // namespace linegate::signaling::auth
