#pragma once
// The Digest challenge a UAS or proxy sends in WWW-Authenticate (401) or
// Proxy-Authenticate (407): parsing of one header value and the choice among several.
// Grammar: RFC 3261 25.1 (challenge, digest-cln, LWS, quoted-string), RFC 7616 3.3
// (algorithm, userhash), RFC 8760 2.2 (SHA-256 and SHA-512-256 in SIP).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "signaling/auth/digest_algorithm.h"

namespace linegate::signaling::auth {

// Quality of protection (RFC 7616 3.3 qop-options, 3.4.3).
enum class Qop : uint8_t {
  kNone,     // RFC 2069 form: no qop, nc or cnonce; still legal in SIP (RFC 3261 22.4).
  kAuth,     // HA2 = H(method:uri)
  kAuthInt,  // HA2 = H(method:uri:H(body))
};

std::string_view QopName(Qop qop);  // "", "auth", "auth-int"

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::optional<std::string> opaque;  // echoed unchanged (RFC 7616 3.3)
  bool stale = false;                 // RFC 7616 3.3: the nonce expired, the credentials were fine
  // nullopt when the challenge names an algorithm this library does not implement;
  // MD5 when the parameter is absent (RFC 7616 3.3).
  std::optional<DigestAlgorithm> algorithm = DigestAlgorithm::kMd5;
  std::string algorithm_token;           // as received; empty when absent
  std::vector<std::string> qop_options;  // as received, in order; empty: no qop offered
  std::vector<std::string> domain;       // space-separated URI list (RFC 7616 3.3)
  bool userhash = false;                 // RFC 7616 3.4.4

  bool OffersQop(Qop qop) const;
};

// Parses one WWW-Authenticate / Proxy-Authenticate header value such as
//   Digest realm="gw.test", nonce="abc", qop="auth,auth-int", algorithm=SHA-256
// The scheme is matched case-insensitively; so are parameter names and the values of
// stale, algorithm, userhash and qop. Unknown parameters are ignored. realm and nonce are
// required. Malformed input yields an error that says what and where; it never crashes.
// RFC 3261 7.3.1: these headers are never comma-combined, so a value holds one challenge.
Result<DigestChallenge> ParseDigestChallenge(std::string_view header_value);

// The qop to answer with: auth when offered, else auth-int, else kNone when no qop is
// offered at all; nullopt when qop is offered but none of its values is known.
std::optional<Qop> ChooseQop(const DigestChallenge& challenge);

// Whether this library can answer the challenge: known algorithm, known qop (or none),
// and no -sess algorithm without qop.
bool IsSupported(const DigestChallenge& challenge);

// Among challenges (normally those of one realm, RFC 8760 2.4), the index of the one to
// answer: strongest supported algorithm (SHA-512-256 > SHA-256 > MD5), then a challenge
// with qop over one without, then the first in header order. nullopt if none is supported.
std::optional<size_t> SelectChallenge(std::span<const DigestChallenge> challenges);

}  // namespace linegate::signaling::auth
