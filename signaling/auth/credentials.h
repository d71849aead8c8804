#pragma once
// What a line or account authenticates with: a username and either the plaintext password
// or a stored HA1 = H(username:realm:password) (RFC 7616 3.4.2; operators often provision
// HA1 so that the password itself never sits in configuration). Both are secrets: an HA1
// is as good as the password for its realm. Neither is printable: ToString() and
// operator<< redact them, and the storage is wiped when the last copy goes away.

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "signaling/auth/digest_algorithm.h"

namespace linegate::signaling::auth {

class Credentials {
 public:
  // A plaintext password. With `realm`, the credentials answer only challenges for that
  // realm (RFC 3261 22.1: a UAC picks credentials by realm; answering any realm would hand
  // a password hash to whoever challenges). Without, they answer any realm.
  static Credentials FromPassword(std::string_view username, std::string_view password,
                                  std::optional<std::string> realm = std::nullopt);

  // A stored HA1 in hex, computed with `algorithm` (a -sess variant means its base hash)
  // for `realm`. Fails if the hex is malformed or its length does not fit the algorithm.
  static Result<Credentials> FromHa1(std::string_view username, std::string realm, std::string_view ha1_hex,
                                     DigestAlgorithm algorithm);

  const std::string& username() const { return username_; }
  // nullopt: any realm.
  const std::optional<std::string>& realm() const { return realm_; }
  bool HasPassword() const { return !ha1_algorithm_.has_value(); }
  // The base algorithm a stored HA1 was computed with; nullopt for a password.
  std::optional<DigestAlgorithm> Ha1Algorithm() const { return ha1_algorithm_; }

  bool MatchesRealm(std::string_view realm) const { return !realm_ || *realm_ == realm; }

  // H(username:realm:password) for a challenge of `algorithm` and `realm` (the plain HA1,
  // before any -sess step). A stored HA1 is returned as is when its algorithm and realm fit
  // the challenge; otherwise an error that says which does not. The value is
  // secret-equivalent: never log it.
  Result<std::string> BaseHa1(DigestAlgorithm algorithm, std::string_view realm) const;

  // Printable form with the secret redacted, e.g.
  //   Credentials{username="1001", realm=*, secret=password(redacted)}
  std::string ToString() const;

 private:
  Credentials(std::string username, std::optional<std::string> realm, std::string_view secret,
              std::optional<DigestAlgorithm> ha1_algorithm);

  std::string username_;
  std::optional<std::string> realm_;
  // Shared between copies so the bytes exist once; the deleter wipes them (OPENSSL_cleanse).
  std::shared_ptr<const std::string> secret_;
  std::optional<DigestAlgorithm> ha1_algorithm_;
};

std::ostream& operator<<(std::ostream& os, const Credentials& credentials);

}  // namespace linegate::signaling::auth
