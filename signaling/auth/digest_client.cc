#include "signaling/auth/digest_client.h"

#include <utility>

#include "common/log.h"
#include "signaling/auth/auth_headers.h"

namespace linegate::signaling::auth {

std::string_view StateName(DigestClientState state) {
  switch (state) {
    case DigestClientState::kIdle:
      return "idle";
    case DigestClientState::kCredentialsSent:
      return "credentials-sent";
    case DigestClientState::kAuthenticated:
      return "authenticated";
    case DigestClientState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view EventName(DigestClientEvent event) {
  switch (event) {
    case DigestClientEvent::kSendPlain:
      return "send-plain";
    case DigestClientEvent::kSendWithCached:
      return "send-with-cached";
    case DigestClientEvent::kChallenge:
      return "challenge";
    case DigestClientEvent::kStaleChallenge:
      return "stale-challenge";
    case DigestClientEvent::kRejected:
      return "rejected";
    case DigestClientEvent::kNoUsableChallenge:
      return "no-usable-challenge";
    case DigestClientEvent::kAccepted:
      return "accepted";
    case DigestClientEvent::kReset:
      return "reset";
  }
  return "unknown";
}

std::string_view ActionName(DigestClientAction action) {
  switch (action) {
    case DigestClientAction::kNone:
      return "none";
    case DigestClientAction::kAttachCached:
      return "attach-cached";
    case DigestClientAction::kAnswer:
      return "answer";
    case DigestClientAction::kReportFailure:
      return "report-failure";
  }
  return "unknown";
}

std::optional<DigestClientTransition> FindTransition(DigestClientState from, DigestClientEvent event) {
  for (const DigestClientTransition& t : kDigestClientTransitions) {
    if (t.from == from && t.event == event) return t;
  }
  return std::nullopt;
}

DigestClient::DigestClient(std::vector<Credentials> credentials, RandomSource& random)
    : credentials_(std::move(credentials)), random_(random) {}

std::optional<DigestClientTransition> DigestClient::Lookup(DigestClientEvent event) {
  std::optional<DigestClientTransition> t = FindTransition(state_, event);
  if (!t) {
    // STYLE.md practice 8: an illegal event is logged and counted, never silently ignored.
    ++counters_.illegal_events;
    log::Warn("digest client: illegal event", {{"state", StateName(state_)}, {"event", EventName(event)}});
  }
  return t;
}

void DigestClient::Enter(const DigestClientTransition& t) {
  log::Debug("digest client: transition", {{"from", StateName(t.from)},
                                           {"event", EventName(t.event)},
                                           {"to", StateName(t.to)},
                                           {"action", ActionName(t.action)}});
  state_ = t.to;
}

Error DigestClient::IllegalError(DigestClientEvent event) const {
  std::string message = "digest client: event " + std::string(EventName(event)) + " not allowed in state " +
                        std::string(StateName(state_));
  if (state_ == DigestClientState::kFailed) message += " (authentication failed: " + failure_reason_ + ")";
  return Error{std::move(message)};
}

std::optional<size_t> DigestClient::CredentialsFor(std::string_view realm) const {
  for (size_t i = 0; i < credentials_.size(); ++i) {
    if (credentials_[i].realm() && *credentials_[i].realm() == realm) return i;
  }
  for (size_t i = 0; i < credentials_.size(); ++i) {
    if (!credentials_[i].realm()) return i;
  }
  return std::nullopt;
}

Result<std::vector<AuthorizationHeader>> DigestClient::BuildHeaders(std::vector<RealmEntry>& entries,
                                                                    const DigestRequest& request) const {
  std::vector<AuthorizationHeader> headers;
  headers.reserve(entries.size());
  for (RealmEntry& entry : entries) {
    // RFC 7616 3.4: nc counts the requests sent with this nonce, starting at 1.
    const uint32_t nonce_count = entry.nonce_count + 1;
    Result<std::string> value = AnswerChallenge(entry.challenge, credentials_[entry.credentials_index],
                                                request, entry.cnonce, nonce_count);
    if (!value.ok()) return Error{value.error()};
    entry.nonce_count = nonce_count;
    entry.sent_on_current_request = true;
    headers.push_back(AuthorizationHeader{entry.header_name, std::move(*value)});
  }
  return headers;
}

Result<std::vector<AuthorizationHeader>> DigestClient::PrepareRequest(const DigestRequest& request) {
  const DigestClientEvent event =
      realms_.empty() ? DigestClientEvent::kSendPlain : DigestClientEvent::kSendWithCached;
  std::optional<DigestClientTransition> t = Lookup(event);
  if (!t) return IllegalError(event);

  std::vector<RealmEntry> next = realms_;
  for (RealmEntry& entry : next) entry.sent_on_current_request = false;
  Result<std::vector<AuthorizationHeader>> headers = BuildHeaders(next, request);
  // Nothing is sent if the headers cannot be made, so the state does not move.
  if (!headers.ok()) return Error{"digest client: cannot attach cached credentials: " + headers.error()};
  if (t->action == DigestClientAction::kAttachCached) ++counters_.cached_attached;
  realms_ = std::move(next);
  Enter(*t);
  return headers;
}

Result<std::vector<AuthorizationHeader>> DigestClient::OnChallenge(
    int status_code, std::span<const std::string_view> challenge_values, const DigestRequest& request) {
  Result<AuthHeaderNames> names = AuthHeadersForStatus(status_code);
  if (!names.ok()) return Error{"digest client: " + names.error()};
  if (state_ == DigestClientState::kFailed) {
    (void)Lookup(DigestClientEvent::kChallenge);
    return IllegalError(DigestClientEvent::kChallenge);
  }

  // Keep what can be answered; say why the rest cannot.
  std::vector<DigestChallenge> usable;
  std::string reasons;
  auto skip = [&](size_t index, std::string_view why) {
    ++counters_.ignored_challenges;
    if (!reasons.empty()) reasons.append("; ");
    reasons.append("[").append(std::to_string(index)).append("] ").append(why);
  };
  for (size_t i = 0; i < challenge_values.size(); ++i) {
    Result<DigestChallenge> parsed = ParseDigestChallenge(challenge_values[i]);
    if (!parsed.ok()) {
      skip(i, parsed.error());
      continue;
    }
    if (!parsed->algorithm) {
      skip(i, "unsupported algorithm \"" + parsed->algorithm_token + "\"");
      continue;
    }
    if (!IsSupported(*parsed)) {
      skip(i, ChooseQop(*parsed) ? "-sess algorithm without qop" : "no supported qop offered");
      continue;
    }
    std::optional<size_t> credentials_index = CredentialsFor(parsed->realm);
    if (!credentials_index) {
      skip(i, "no credentials for realm \"" + parsed->realm + "\"");
      continue;
    }
    const Credentials& credentials = credentials_[*credentials_index];
    if (credentials.Ha1Algorithm() && *credentials.Ha1Algorithm() != BaseAlgorithm(*parsed->algorithm)) {
      skip(i, "stored HA1 is for " + std::string(AlgorithmName(*credentials.Ha1Algorithm())) +
                  ", challenge uses " + std::string(AlgorithmName(*parsed->algorithm)));
      continue;
    }
    usable.push_back(std::move(*parsed));
  }

  // RFC 8760 2.4: one answer per realm, with the preferred algorithm among that realm's
  // challenges; RFC 3261 22.3: several realms are all answered.
  std::vector<DigestChallenge> selected;
  std::vector<bool> taken(usable.size(), false);
  for (size_t i = 0; i < usable.size(); ++i) {
    if (taken[i]) continue;
    std::vector<DigestChallenge> same_realm;
    for (size_t j = i; j < usable.size(); ++j) {
      if (!taken[j] && usable[j].realm == usable[i].realm) {
        taken[j] = true;
        same_realm.push_back(usable[j]);
      }
    }
    std::optional<size_t> best = SelectChallenge(same_realm);
    if (best) selected.push_back(std::move(same_realm[*best]));
  }

  // Classify the response into one event.
  DigestClientEvent event = DigestClientEvent::kNoUsableChallenge;
  std::string reason;
  if (selected.empty()) {
    reason =
        "no usable challenge in " + std::to_string(status_code) + ": " +
        (challenge_values.empty() ? std::string("no ") + std::string(names->challenge) + " header" : reasons);
  } else {
    bool fresh = false;
    std::string rejected_realm;
    for (const DigestChallenge& challenge : selected) {
      const RealmEntry* entry = FindEntry(names->authorization, challenge.realm);
      if (entry == nullptr || !entry->sent_on_current_request) {
        fresh = true;
      } else if (!challenge.stale && rejected_realm.empty()) {
        rejected_realm = challenge.realm;
      }
    }
    if (!rejected_realm.empty()) {
      // RFC 3261 22.2/22.3: a non-stale challenge for credentials we just sent means the
      // server does not accept them; retrying would loop.
      event = DigestClientEvent::kRejected;
      reason = "credentials for realm \"" + rejected_realm + "\" rejected (" + std::to_string(status_code) +
               " again without stale=true)";
    } else if (fresh) {
      event = DigestClientEvent::kChallenge;
    } else if (consecutive_stale_ >= kMaxConsecutiveStale) {
      event = DigestClientEvent::kRejected;
      reason = "server answered " + std::to_string(consecutive_stale_ + 1) +
               " consecutive requests with stale=true";
    } else {
      event = DigestClientEvent::kStaleChallenge;
    }
  }

  std::optional<DigestClientTransition> t = Lookup(event);
  if (!t) return IllegalError(event);

  std::vector<RealmEntry> next;
  Result<std::vector<AuthorizationHeader>> headers = std::vector<AuthorizationHeader>{};
  if (t->action == DigestClientAction::kAnswer) {
    // Work on a copy so that a failure (no randomness, a hash OpenSSL does not provide)
    // leaves nothing half-updated and becomes a reported failure instead.
    next = realms_;
    for (RealmEntry& entry : next) entry.sent_on_current_request = false;
    Status adopted = Status::Ok();
    for (DigestChallenge& challenge : selected) {
      RealmEntry* entry = nullptr;
      for (RealmEntry& candidate : next) {
        if (candidate.header_name == names->authorization && candidate.challenge.realm == challenge.realm) {
          entry = &candidate;
        }
      }
      if (entry == nullptr) {
        next.push_back(RealmEntry{std::string(names->authorization), DigestChallenge{}, 0, "", 0, false});
        entry = &next.back();
      }
      const bool new_nonce = entry->challenge.nonce != challenge.nonce || entry->nonce_count == 0;
      entry->credentials_index = *CredentialsFor(challenge.realm);
      entry->challenge = std::move(challenge);
      if (new_nonce) {
        // A new nonce restarts nc at 1 and gets its own cnonce (RFC 7616 3.4).
        entry->nonce_count = 0;
        entry->cnonce.clear();
        if (*ChooseQop(entry->challenge) != Qop::kNone) {
          Result<std::string> cnonce = MakeCnonce(random_);
          if (!cnonce.ok()) {
            adopted = Error{cnonce.error()};
            break;
          }
          entry->cnonce = std::move(*cnonce);
        }
      }
    }
    headers = adopted.ok() ? BuildHeaders(next, request)
                           : Result<std::vector<AuthorizationHeader>>(Error{adopted.error()});
    if (!headers.ok()) {
      reason = "cannot answer the challenge: " + headers.error();
      t = Lookup(DigestClientEvent::kNoUsableChallenge);
      if (!t) return IllegalError(DigestClientEvent::kNoUsableChallenge);
    }
  }

  Enter(*t);
  switch (t->action) {
    case DigestClientAction::kAnswer:
      realms_ = std::move(next);
      ++counters_.challenges_answered;
      if (t->event == DigestClientEvent::kStaleChallenge) {
        ++counters_.stale_answered;
        ++consecutive_stale_;
      } else {
        consecutive_stale_ = 0;
      }
      return headers;
    case DigestClientAction::kReportFailure: {
      ++counters_.failures;
      failure_reason_ = reason;
      log::Warn("digest authentication failed", {{"status", status_code}, {"reason", reason}});
      return Error{"digest client: authentication failed: " + reason};
    }
    case DigestClientAction::kNone:
    case DigestClientAction::kAttachCached:
      break;
  }
  // The table gives challenge events only kAnswer or kReportFailure.
  return Error{"digest client: unexpected action " + std::string(ActionName(t->action))};
}

void DigestClient::OnAccepted() {
  std::optional<DigestClientTransition> t = Lookup(DigestClientEvent::kAccepted);
  if (!t) return;
  for (RealmEntry& entry : realms_) entry.sent_on_current_request = false;
  consecutive_stale_ = 0;
  Enter(*t);
}

void DigestClient::Reset() {
  std::optional<DigestClientTransition> t = Lookup(DigestClientEvent::kReset);
  if (!t) return;
  realms_.clear();
  consecutive_stale_ = 0;
  failure_reason_.clear();
  Enter(*t);
}

const DigestClient::RealmEntry* DigestClient::FindEntry(std::string_view header_name,
                                                        std::string_view realm) const {
  for (const RealmEntry& entry : realms_) {
    if (entry.header_name == header_name && entry.challenge.realm == realm) return &entry;
  }
  return nullptr;
}

std::optional<uint32_t> DigestClient::LastNonceCount(std::string_view realm) const {
  for (const RealmEntry& entry : realms_) {
    if (entry.challenge.realm == realm && entry.nonce_count > 0) return entry.nonce_count;
  }
  return std::nullopt;
}

}  // namespace linegate::signaling::auth
