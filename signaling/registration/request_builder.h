#pragma once
// Builds the REGISTER (RFC 3261 10.2) and keep-alive OPTIONS (RFC 3261 11) requests the
// registration client sends, and the random tokens they need. Randomness comes from an
// injected auth::RandomSource so tests reproduce requests byte for byte.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "signaling/auth/digest_client.h"
#include "signaling/auth/random_source.h"
#include "signaling/transport/transport.h"

namespace linegate::signaling::registration {

inline constexpr std::string_view kBranchMagicCookie = "z9hG4bK";  // RFC 3261 8.1.1.7
inline constexpr int kMaxForwards = 70;                            // RFC 3261 8.1.1.6

struct RegisterRequest {
  std::string_view registrar_domain;  // Request-URI sip:<domain> (RFC 3261 10.2)
  std::string_view aor_user;          // To and From: <sip:user@domain> (RFC 3261 10.2)
  std::string_view aor_domain;
  std::string_view contact_user;
  transport::Protocol protocol = transport::Protocol::kUdp;
  transport::SocketAddress local;  // Via sent-by and Contact host:port
  std::string_view call_id;        // constant per registration (RFC 3261 10.2)
  std::string_view from_tag;
  std::string_view branch;  // whole branch value, magic cookie included
  uint32_t cseq = 1;        // + 1 for every new REGISTER with the same Call-ID
  uint32_t expires = 3600;  // 0 removes the binding (RFC 3261 10.2.2)
  std::string_view user_agent;
  std::span<const auth::AuthorizationHeader> authorization;
};

// The complete REGISTER. The Contact carries ;expires and the Expires header repeats the
// value: registrars read one or the other (RFC 3261 10.2.1.1), both must agree.
std::string BuildRegister(const RegisterRequest& request);

struct OptionsRequest {
  std::string_view target_host;  // host name or address of the proxy (Request-URI, To)
  uint16_t target_port = 5060;
  transport::Protocol protocol = transport::Protocol::kUdp;
  transport::SocketAddress local;
  std::string_view call_id;
  std::string_view from_tag;
  std::string_view branch;
  uint32_t cseq = 1;
  std::string_view user_agent;
};
std::string BuildOptions(const OptionsRequest& request);

// "sip:domain".
std::string RegistrarUri(std::string_view domain);
// "user@host:port" / "user@[v6]:port", the form ExtractResponseInfo matches.
std::string ContactKey(std::string_view contact_user, const transport::SocketAddress& local);
// "udp", "tcp", "tls" for the Contact's transport parameter (RFC 3261 19.1.1).
std::string_view TransportParam(transport::Protocol protocol);

// `bytes` random bytes as lower-case hex.
Result<std::string> RandomHex(auth::RandomSource& random, size_t bytes);
// "z9hG4bK" + 128 random bits.
Result<std::string> MakeBranch(auth::RandomSource& random);
// Uniform in [0, 1); nullopt when the source fails.
std::optional<double> RandomUnit(auth::RandomSource& random);

// Whether `user` can be written into a SIP URI user part unescaped (RFC 3261 25.1 user:
// unreserved / user-unreserved), and `domain` as a host (hostname, IPv4, [IPv6]).
bool IsValidUserPart(std::string_view user);
bool IsValidHost(std::string_view domain);

}  // namespace linegate::signaling::registration
