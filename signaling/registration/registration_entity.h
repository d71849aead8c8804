#pragma once
// What registers: the gateway as a whole, one endpoint (a line's phone number) or one
// account (AudioCodes "Accounts" table), each as its own binding at the registrar.

#include <cstdint>
#include <string>
#include <string_view>

#include "signaling/auth/credentials.h"

namespace linegate::signaling::registration {

enum class EntityKind : uint8_t { kGateway, kEndpoint, kAccount };

inline std::string_view EntityKindName(EntityKind kind) {
  switch (kind) {
    case EntityKind::kGateway:
      return "gateway";
    case EntityKind::kEndpoint:
      return "endpoint";
    case EntityKind::kAccount:
      return "account";
  }
  return "unknown";
}

struct RegistrationEntity {
  EntityKind kind = EntityKind::kEndpoint;
  std::string id;  // unique within a RegistrationClient, e.g. "line-3" or "account-trunk1"
  // Address-of-record sip:aor_user@aor_domain: To and From (RFC 3261 10.2).
  std::string aor_user;
  std::string aor_domain;
  // Request-URI host (RFC 3261 10.2: the registrar's domain); empty: aor_domain.
  std::string registrar_domain;
  // User part of our Contact; empty: aor_user.
  std::string contact_user;
  // Password or stored HA1; the auth username is credentials.username(). Never logged.
  auth::Credentials credentials = auth::Credentials::FromPassword("", "");
  // Seconds asked for (RFC 3261 10.2.1.1); the registrar's grant is what is honoured.
  uint32_t requested_expires = 3600;
  std::string proxy_set_id;
};

}  // namespace linegate::signaling::registration
