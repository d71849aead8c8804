#include "signaling/auth/credentials.h"

#include <openssl/crypto.h>

#include <ostream>

namespace linegate::signaling::auth {
namespace {

std::shared_ptr<const std::string> MakeSecret(std::string_view value) {
  return std::shared_ptr<const std::string>(new std::string(value), [](std::string* s) {
    OPENSSL_cleanse(s->data(), s->size());
    delete s;
  });
}

}  // namespace

Credentials::Credentials(std::string username, std::optional<std::string> realm, std::string_view secret,
                         std::optional<DigestAlgorithm> ha1_algorithm)
    : username_(std::move(username)),
      realm_(std::move(realm)),
      secret_(MakeSecret(secret)),
      ha1_algorithm_(ha1_algorithm) {}

Credentials Credentials::FromPassword(std::string_view username, std::string_view password,
                                      std::optional<std::string> realm) {
  return Credentials(std::string(username), std::move(realm), password, std::nullopt);
}

Result<Credentials> Credentials::FromHa1(std::string_view username, std::string realm,
                                         std::string_view ha1_hex, DigestAlgorithm algorithm) {
  const DigestAlgorithm base = BaseAlgorithm(algorithm);
  if (ha1_hex.size() != HexDigestLength(base)) {
    return Error{"stored HA1 for " + std::string(AlgorithmName(base)) + " must be " +
                 std::to_string(HexDigestLength(base)) + " hex digits, got " +
                 std::to_string(ha1_hex.size())};
  }
  // Normalise to lower case: the HA1 enters the response hash as text (RFC 7616 3.4.1).
  std::string lower(ha1_hex.size(), '\0');
  for (size_t i = 0; i < ha1_hex.size(); ++i) {
    char c = ha1_hex[i];
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      OPENSSL_cleanse(lower.data(), lower.size());
      return Error{"stored HA1 is not hexadecimal (position " + std::to_string(i) + ")"};
    }
    lower[i] = c;
  }
  Credentials credentials(std::string(username), std::move(realm), lower, base);
  OPENSSL_cleanse(lower.data(), lower.size());
  return credentials;
}

Result<std::string> Credentials::BaseHa1(DigestAlgorithm algorithm, std::string_view realm) const {
  if (!MatchesRealm(realm)) {
    return Error{"credentials of user \"" + username_ + "\" are for realm \"" + *realm_ +
                 "\", not for the challenged realm \"" + std::string(realm) + "\""};
  }
  const DigestAlgorithm base = BaseAlgorithm(algorithm);
  if (ha1_algorithm_) {
    if (*ha1_algorithm_ != base) {
      return Error{"stored HA1 of user \"" + username_ + "\" was computed with " +
                   std::string(AlgorithmName(*ha1_algorithm_)) + " but the challenge uses " +
                   std::string(AlgorithmName(algorithm))};
    }
    return *secret_;
  }
  return HashHex(base, {username_, realm, *secret_});
}

std::string Credentials::ToString() const {
  std::string out = "Credentials{username=\"" + username_ + "\", realm=";
  out += realm_ ? "\"" + *realm_ + "\"" : std::string("*");
  if (ha1_algorithm_) {
    out += ", secret=ha1/" + std::string(AlgorithmName(*ha1_algorithm_)) + "(redacted)}";
  } else {
    out += ", secret=password(redacted)}";
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Credentials& credentials) {
  return os << credentials.ToString();
}

}  // namespace linegate::signaling::auth
