#pragma once
// Digest algorithms (RFC 7616 3.3 and 6.1, RFC 8760 2.2) and the one hash routine all of
// this library uses: H(a:b:c...) as lower-case hex through OpenSSL EVP.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace linegate::signaling::auth {

enum class DigestAlgorithm : uint8_t {
  kMd5,
  kMd5Sess,
  kSha256,
  kSha256Sess,
  kSha512_256,  // FIPS 180-4 SHA-512/256, not SHA-512 truncated (RFC 7616 3.9.2 erratum).
  kSha512_256Sess,
};

inline constexpr std::array<DigestAlgorithm, 6> kAllDigestAlgorithms = {
    DigestAlgorithm::kMd5,        DigestAlgorithm::kMd5Sess,    DigestAlgorithm::kSha256,
    DigestAlgorithm::kSha256Sess, DigestAlgorithm::kSha512_256, DigestAlgorithm::kSha512_256Sess};

// The token as registered by IANA (RFC 7616 6.1): "MD5", "SHA-512-256-sess", ...
std::string_view AlgorithmName(DigestAlgorithm algorithm);

// Case-insensitive (RFC 7616 3.3: algorithm tokens are case-insensitive). nullopt for
// algorithms this library does not implement (AKAv1-MD5, private tokens, ...).
std::optional<DigestAlgorithm> ParseAlgorithm(std::string_view token);

// True for the *-sess variants, whose HA1 also covers nonce and cnonce (RFC 7616 3.4.2).
bool IsSessionAlgorithm(DigestAlgorithm algorithm);

// The plain algorithm of a *-sess variant (MD5-sess -> MD5); identity otherwise. A stored
// HA1 is always H(username:realm:password) of this base hash.
DigestAlgorithm BaseAlgorithm(DigestAlgorithm algorithm);

// Preference when a challenge is offered with several algorithms (RFC 8760 2.4: the client
// uses the most preferred one it supports): SHA-512-256 > SHA-256 > MD5. Higher is stronger;
// a -sess variant ranks with its base hash.
int AlgorithmStrength(DigestAlgorithm algorithm);

// Length in hex characters of a hash of this algorithm (32 for MD5, 64 for the others).
size_t HexDigestLength(DigestAlgorithm algorithm);

// H(part0 ":" part1 ":" ...) in lower-case hex (RFC 7616 3.4: KD and H joined by colons).
// Fails only when the OpenSSL provider lacks the hash (MD5 under a FIPS-only provider).
Result<std::string> HashHex(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts);

}  // namespace linegate::signaling::auth
