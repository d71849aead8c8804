#pragma once
// Computing the Digest response and writing the Authorization / Proxy-Authorization
// header value (RFC 7616 3.4 and 3.4.1-3.4.4, RFC 2617 3.2.2, RFC 3261 22.4, RFC 8760 2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_algorithm.h"
#include "signaling/auth/digest_challenge.h"

namespace linegate::signaling::auth {

// The request being authorised. `uri` is the digest-uri, normally the Request-URI
// (RFC 3261 22.4); `body` is used only for qop=auth-int.
struct DigestRequest {
  std::string_view method;
  std::string_view uri;
  std::string_view body;
};

struct DigestInputs {
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
  std::string_view realm;
  std::string_view nonce;
  std::string_view cnonce;   // unused with Qop::kNone
  uint32_t nonce_count = 1;  // unused with Qop::kNone
  Qop qop = Qop::kNone;
  DigestRequest request;
};

// Intermediate values are exposed for conformance tests. `ha1` is secret-equivalent.
struct DigestValues {
  std::string ha1;  // H(user:realm:password); for -sess H(that:nonce:cnonce)
  std::string ha2;  // H(method:uri), or H(method:uri:H(body)) for auth-int
  std::string response;
};

// RFC 7616 3.4.1:
//   with qop:    response = H(HA1:nonce:nc:cnonce:qop:HA2)
//   without qop: response = H(HA1:nonce:HA2)            (RFC 2069 form, RFC 2617 3.2.2.1)
// Fails if the credentials do not fit (realm, stored-HA1 algorithm), if a -sess algorithm
// is asked without qop (there would be no cnonce), or if nonce_count is 0 with qop.
Result<DigestValues> ComputeDigest(const Credentials& credentials, const DigestInputs& inputs);

// nc-value: exactly 8 lower-case hex digits (RFC 7616 3.4).
std::string FormatNonceCount(uint32_t nonce_count);

// Every field of an Authorization / Proxy-Authorization header value.
struct AuthorizationFields {
  std::string_view username;  // already hashed when userhash is set
  std::string_view realm;
  std::string_view nonce;
  std::string_view uri;
  std::string_view response;
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
  std::string_view cnonce;
  std::optional<std::string_view> opaque;
  Qop qop = Qop::kNone;
  uint32_t nonce_count = 1;
  bool userhash = false;
};

// Digest username="..", realm="..", nonce="..", uri="..", response="..", algorithm=..,
// cnonce="..", opaque="..", qop=auth, nc=00000001[, userhash=true]
// Quoted values are escaped (backslash before '"' and '\', RFC 3261 25.1); a value with a
// control character is refused rather than written, so a header can never be split.
// cnonce, qop and nc appear only with qop (RFC 7616 3.4); opaque only when challenged with one.
Result<std::string> FormatAuthorization(const AuthorizationFields& fields);

// The whole answer to one challenge: computes the response (and the RFC 7616 3.4.4
// userhash when the challenge asks for it) and formats the header value. The qop is
// ChooseQop(challenge). Fails for unsupported challenges and unfit credentials.
Result<std::string> AnswerChallenge(const DigestChallenge& challenge, const Credentials& credentials,
                                    const DigestRequest& request, std::string_view cnonce,
                                    uint32_t nonce_count);

}  // namespace linegate::signaling::auth
