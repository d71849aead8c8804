#include "signaling/uas_core.h"

#include <array>

namespace linegate::signaling {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// RFC 3261 methods and the common extensions a gateway meets; anything else is
// "not implemented" (501), a known method the gateway does not serve is 405.
constexpr std::array kKnownMethods = {"INVITE",   "ACK",   "BYE",       "CANCEL", "OPTIONS",
                                      "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY", "PUBLISH",
                                      "INFO",     "REFER", "MESSAGE",   "UPDATE"};
constexpr std::array kServedMethods = {"INVITE", "ACK",   "BYE",    "CANCEL", "OPTIONS",
                                       "UPDATE", "REFER", "NOTIFY", "INFO",   "PRACK"};

template <size_t N>
bool Contains(const std::array<const char*, N>& set, std::string_view method) {
  for (const char* m : set) {
    if (method == m) return true;  // methods are case-sensitive (RFC 3261 7.1)
  }
  return false;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

UasVerdict CheckRequest(const sip::Message& request) {
  const std::string_view method = request.method();
  if (!Contains(kKnownMethods, method)) {
    return {501, "Not Implemented", "Allow: " + std::string(kAllow) + "\r\n"};
  }
  if (!Contains(kServedMethods, method)) {
    return {405, "Method Not Allowed", "Allow: " + std::string(kAllow) + "\r\n"};
  }
  // 8.2.2.1: the Request-URI scheme.
  if (!request.request_uri().IsSip() && request.request_uri().scheme != sip::UriScheme::kTel) {
    return {416, "Unsupported URI Scheme", ""};
  }
  // 8.2.2.3: every option tag in Require is unknown to us; ACK and CANCEL never fail
  // this way.
  if (method != "ACK" && method != "CANCEL") {
    std::string unsupported;
    sip::HeaderValueIterator require_values(request, sip::HeaderId::kRequire);
    std::string_view tag;
    while (require_values.Next(tag)) {
      const std::string trimmed = Trim(tag);
      if (trimmed.empty()) continue;
      bool supported = false;
      for (std::string_view extension : kSupportedExtensions)
        supported |= EqualsIgnoreCase(trimmed, extension);
      if (supported) continue;
      unsupported += (unsupported.empty() ? "" : ", ") + trimmed;
    }
    if (!unsupported.empty()) return {420, "Bad Extension", "Unsupported: " + unsupported + "\r\n"};
  }
  // 16.3 step 3 (and 8.2 for a UA acting on it): Max-Forwards 0 is refused except for
  // OPTIONS, which the element answers itself (11).
  if (request.max_forwards() && *request.max_forwards() == 0 && method != "OPTIONS") {
    return {483, "Too Many Hops", ""};
  }
  // 8.2.3 / 21.4.7: an INVITE's answer carries SDP; a request that does not accept it
  // cannot be served (RFC 4475 3.3.15).
  if (method == "INVITE" && request.FindHeader(sip::HeaderId::kAccept) != nullptr) {
    bool sdp_accepted = false;
    bool any = false;
    sip::HeaderValueIterator accepts(request, sip::HeaderId::kAccept);
    std::string_view range;
    while (accepts.Next(range)) {
      std::string media = Trim(range.substr(0, range.find(';')));
      if (media.empty()) continue;
      any = true;
      if (EqualsIgnoreCase(media, "application/sdp") || EqualsIgnoreCase(media, "application/*") ||
          media == "*/*") {
        sdp_accepted = true;
      }
    }
    if (any && !sdp_accepted) return {406, "Not Acceptable", "Accept: application/sdp\r\n"};
  }
  // 8.2.3: a body we cannot understand. The gateway reads SDP only; a content coding
  // other than identity is refused too.
  if (!request.body().empty()) {
    const sip::ContentType* type = request.content_type();
    const bool sdp = type != nullptr && EqualsIgnoreCase(type->type, "application") &&
                     EqualsIgnoreCase(type->subtype, "sdp");
    const bool sipfrag = type != nullptr && method == "NOTIFY" && EqualsIgnoreCase(type->type, "message") &&
                         EqualsIgnoreCase(type->subtype, "sipfrag");
    const bool readable = sdp || sipfrag || method == "INFO";
    bool encoded = false;
    sip::HeaderValueIterator encodings(request, sip::HeaderId::kContentEncoding);
    std::string_view coding;
    while (encodings.Next(coding)) {
      const std::string trimmed = Trim(coding);
      if (!trimmed.empty() && !EqualsIgnoreCase(trimmed, "identity")) encoded = true;
    }
    if (!readable || encoded) {
      return {415, "Unsupported Media Type", "Accept: application/sdp\r\nAccept-Encoding: identity\r\n"};
    }
  }
  return {};
}

UasVerdict AnswerRequest(const sip::Message& request) {
  const std::string_view method = request.method();
  if (method == "OPTIONS") {
    return {200, "OK", "Allow: " + std::string(kAllow) + "\r\nAccept: application/sdp\r\n"};
  }
  if (method == "INVITE") return {480, "Temporarily Unavailable", ""};
  return {481, "Call/Transaction Does Not Exist", ""};
}

}  // namespace linegate::signaling
