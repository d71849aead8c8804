#include "signaling/registration/response_info.h"

#include <utility>

#include "signaling/sip/sip_headers.h"
#include "signaling/sip/sip_uri.h"

namespace linegate::signaling::registration {
namespace {

uint16_t EffectivePort(const sip::Uri& uri) {
  if (uri.has_port) return uri.port;
  return uri.scheme == sip::UriScheme::kSips ? 5061 : 5060;
}

bool SameBinding(const sip::Uri& a, const sip::Uri& b) {
  return a.IsSip() && b.IsSip() && a.user == b.user && sip::EqualsIgnoreCase(a.host, b.host) &&
         EffectivePort(a) == EffectivePort(b);
}

// "user@host:port", "sip:user@host:port;transport=udp" or "<sip:...>" -> a URI view into
// `storage`.
bool ParseOurContact(std::string_view text, std::string& storage, sip::Uri& out) {
  if (!text.empty() && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  const bool has_scheme = text.starts_with("sip:") || text.starts_with("sips:") || text.starts_with("SIP:") ||
                          text.starts_with("SIPS:");
  storage = has_scheme ? std::string(text) : "sip:" + std::string(text);
  return sip::ParseUri(storage, out).ok();
}

void CollectRaw(const sip::Message& message, sip::HeaderId id, std::vector<std::string>& out) {
  for (const sip::HeaderField& field : message.headers()) {
    if (field.id == id) out.emplace_back(field.value);
  }
}

}  // namespace

ResponseInfo ResponseInfo::Timeout(std::string reason) {
  ResponseInfo info;
  info.reason = std::move(reason);
  info.timed_out = true;
  return info;
}

ResponseInfo ResponseInfo::TransportError(std::string reason) {
  ResponseInfo info;
  info.reason = std::move(reason);
  return info;
}

ResponseInfo ResponseInfo::LocalRefusal(std::string reason) {
  ResponseInfo info;
  info.reason = std::move(reason);
  info.local_refusal = true;
  return info;
}

ResponseInfo ExtractResponseInfo(const sip::Message& response, std::string_view our_contact) {
  ResponseInfo info;
  if (response.is_request()) {
    info.reason = "not a response";
    return info;
  }
  info.status_code = response.status_code();
  info.reason = std::string(response.reason_phrase());
  CollectRaw(response, sip::HeaderId::kWwwAuthenticate, info.www_authenticate);
  CollectRaw(response, sip::HeaderId::kProxyAuthenticate, info.proxy_authenticate);
  info.expires = response.expires();
  info.min_expires = response.min_expires();
  if (const sip::RetryAfter* retry_after = response.retry_after()) info.retry_after = retry_after->seconds;

  std::string storage;
  sip::Uri ours;
  if (our_contact.empty() || !ParseOurContact(our_contact, storage, ours)) return info;
  sip::HeaderValueIterator contacts(response, sip::HeaderId::kContact);
  for (std::string_view element; contacts.Next(element);) {
    sip::Contact contact;
    if (!sip::ParseContact(element, contact).ok() || contact.wildcard) continue;
    if (!SameBinding(contact.address.uri, ours)) continue;
    info.contact_listed = true;
    if (contact.has_expires) info.contact_expires = contact.expires;
    break;
  }
  return info;
}

}  // namespace linegate::signaling::registration
