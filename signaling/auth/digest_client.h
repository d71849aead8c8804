#pragma once
// Per-registration / per-dialog Digest client: answers 401/407 challenges, re-answers
// stale ones, detects rejected credentials, and keeps the nonce count of every nonce in
// use (RFC 3261 22.2-22.4, RFC 7616 3.3 stale, 3.4 nc).
//
// The behaviour is an explicit table (kDigestClientTransitions) of state, event, next
// state and action. Each input is first classified into an event; an event that has no
// row for the current state is illegal: logged, counted and refused.
//
// Not thread-safe: one DigestClient belongs to one registration or dialog, driven by the
// signaling loop that owns it.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_challenge.h"
#include "signaling/auth/digest_response.h"
#include "signaling/auth/random_source.h"

namespace linegate::signaling::auth {

enum class DigestClientState : uint8_t {
  kIdle,             // the outstanding request (if any) carries no credentials
  kCredentialsSent,  // the outstanding request carries credentials for at least one realm
  kAuthenticated,    // the last credentialed request was not challenged again
  kFailed,           // credentials rejected or no usable challenge; only Reset() leaves it
};

enum class DigestClientEvent : uint8_t {
  kSendPlain,          // a new request, nothing cached to attach
  kSendWithCached,     // a new request, cached credentials attached (RFC 3261 22.3)
  kChallenge,          // a challenge for a realm we sent no credentials for on this request
  kStaleChallenge,     // stale=true for realms we sent credentials for (RFC 7616 3.3)
  kRejected,           // non-stale challenge for a realm we already sent credentials for
  kNoUsableChallenge,  // nothing in the 401/407 can be answered
  kAccepted,           // a final response other than 401/407
  kReset,
};

enum class DigestClientAction : uint8_t {
  kNone,
  kAttachCached,   // return the cached credentials, nc + 1
  kAnswer,         // adopt the new challenges, return credentials for the retry
  kReportFailure,  // return an error; the caller stops retrying
};

std::string_view StateName(DigestClientState state);
std::string_view EventName(DigestClientEvent event);
std::string_view ActionName(DigestClientAction action);

struct DigestClientTransition {
  DigestClientState from;
  DigestClientEvent event;
  DigestClientState to;
  DigestClientAction action;
};

// Every allowed transition; anything else is illegal.
// clang-format off
inline constexpr std::array<DigestClientTransition, 18> kDigestClientTransitions = {{
    // from                               event                                  to                                   action
    {DigestClientState::kIdle,            DigestClientEvent::kSendPlain,         DigestClientState::kIdle,            DigestClientAction::kNone},
    {DigestClientState::kIdle,            DigestClientEvent::kChallenge,         DigestClientState::kCredentialsSent, DigestClientAction::kAnswer},
    {DigestClientState::kIdle,            DigestClientEvent::kNoUsableChallenge, DigestClientState::kFailed,          DigestClientAction::kReportFailure},
    {DigestClientState::kIdle,            DigestClientEvent::kAccepted,          DigestClientState::kIdle,            DigestClientAction::kNone},
    {DigestClientState::kIdle,            DigestClientEvent::kReset,             DigestClientState::kIdle,            DigestClientAction::kNone},

    {DigestClientState::kCredentialsSent, DigestClientEvent::kSendWithCached,    DigestClientState::kCredentialsSent, DigestClientAction::kAttachCached},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kChallenge,         DigestClientState::kCredentialsSent, DigestClientAction::kAnswer},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kStaleChallenge,    DigestClientState::kCredentialsSent, DigestClientAction::kAnswer},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kRejected,          DigestClientState::kFailed,          DigestClientAction::kReportFailure},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kNoUsableChallenge, DigestClientState::kFailed,          DigestClientAction::kReportFailure},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kAccepted,          DigestClientState::kAuthenticated,   DigestClientAction::kNone},
    {DigestClientState::kCredentialsSent, DigestClientEvent::kReset,             DigestClientState::kIdle,            DigestClientAction::kNone},

    {DigestClientState::kAuthenticated,   DigestClientEvent::kSendWithCached,    DigestClientState::kCredentialsSent, DigestClientAction::kAttachCached},
    {DigestClientState::kAuthenticated,   DigestClientEvent::kChallenge,         DigestClientState::kCredentialsSent, DigestClientAction::kAnswer},
    {DigestClientState::kAuthenticated,   DigestClientEvent::kNoUsableChallenge, DigestClientState::kFailed,          DigestClientAction::kReportFailure},
    {DigestClientState::kAuthenticated,   DigestClientEvent::kAccepted,          DigestClientState::kAuthenticated,   DigestClientAction::kNone},
    {DigestClientState::kAuthenticated,   DigestClientEvent::kReset,             DigestClientState::kIdle,            DigestClientAction::kNone},

    {DigestClientState::kFailed,          DigestClientEvent::kReset,             DigestClientState::kIdle,            DigestClientAction::kNone},
}};
// clang-format on

std::optional<DigestClientTransition> FindTransition(DigestClientState from, DigestClientEvent event);

// One header to put in the outgoing request.
struct AuthorizationHeader {
  std::string name;  // "Authorization" or "Proxy-Authorization"
  std::string value;
};

struct DigestClientCounters {
  uint64_t challenges_answered = 0;  // kAnswer actions, stale ones included
  uint64_t stale_answered = 0;       // of which for stale=true
  uint64_t cached_attached = 0;      // kAttachCached actions
  uint64_t failures = 0;             // kReportFailure actions
  uint64_t illegal_events = 0;       // events with no row for the current state
  uint64_t ignored_challenges = 0;   // unparsable, unsupported or unfit header values
};

class DigestClient {
 public:
  // A server that answers every retry with stale=true would loop forever; after this many
  // consecutive stale answers the next stale challenge counts as a rejection.
  static constexpr int kMaxConsecutiveStale = 4;

  // `credentials` are tried by realm: the first whose realm equals the challenge's, else
  // the first without a realm. `random` makes cnonces and must outlive the client.
  DigestClient(std::vector<Credentials> credentials, RandomSource& random);

  // A new request is about to be sent (a refresh REGISTER, an in-dialog request). Returns
  // the headers to attach: credentials for every realm seen so far, each with its nonce
  // count advanced (RFC 3261 22.3 lets a UAC reuse credentials until challenged again).
  Result<std::vector<AuthorizationHeader>> PrepareRequest(const DigestRequest& request);

  // The request was answered 401 or 407 with these WWW-Authenticate / Proxy-Authenticate
  // values (one challenge per value). Returns the headers for the retried request, or an
  // error when authentication failed (credentials rejected, nothing answerable) and the
  // caller must stop retrying; failure_reason() then holds the same message.
  Result<std::vector<AuthorizationHeader>> OnChallenge(int status_code,
                                                       std::span<const std::string_view> challenge_values,
                                                       const DigestRequest& request);

  // The request got a final response other than 401/407.
  void OnAccepted();

  // Forgets every cached challenge and leaves kFailed (e.g. after re-configuration).
  void Reset();

  DigestClientState state() const { return state_; }
  const std::string& failure_reason() const { return failure_reason_; }
  const DigestClientCounters& counters() const { return counters_; }
  // The nc last sent for `realm` (with its current nonce); nullopt if never sent.
  std::optional<uint32_t> LastNonceCount(std::string_view realm) const;

 private:
  // What is cached for one realm behind one header (RFC 3261 22.3: credentials are kept
  // per realm; a proxy realm and a registrar realm are answered side by side).
  struct RealmEntry {
    std::string header_name;
    DigestChallenge challenge;
    size_t credentials_index = 0;
    std::string cnonce;  // one per nonce: a -sess HA1 stays valid for the nonce's lifetime
    uint32_t nonce_count = 0;
    bool sent_on_current_request = false;
  };

  // The row for `event` in the current state, or nullopt after logging and counting an
  // illegal event.
  std::optional<DigestClientTransition> Lookup(DigestClientEvent event);
  void Enter(const DigestClientTransition& transition);
  Error IllegalError(DigestClientEvent event) const;
  std::optional<size_t> CredentialsFor(std::string_view realm) const;
  const RealmEntry* FindEntry(std::string_view header_name, std::string_view realm) const;
  // Answers every entry (nc + 1) and marks it sent; `entries` is a working copy.
  Result<std::vector<AuthorizationHeader>> BuildHeaders(std::vector<RealmEntry>& entries,
                                                        const DigestRequest& request) const;

  std::vector<Credentials> credentials_;
  RandomSource& random_;
  DigestClientState state_ = DigestClientState::kIdle;
  std::vector<RealmEntry> realms_;
  int consecutive_stale_ = 0;
  std::string failure_reason_;
  DigestClientCounters counters_;
};

}  // namespace linegate::signaling::auth
