#include "signaling/registration/request_builder.h"

#include <array>
#include <cstring>

#include "signaling/sip/sip_text.h"
#include "signaling/sip/sip_uri.h"

namespace linegate::signaling::registration {
namespace {

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void AppendVia(std::string& out, transport::Protocol protocol, const transport::SocketAddress& local,
               std::string_view branch) {
  out.append("Via: SIP/2.0/");
  out.append(transport::ProtocolName(protocol));
  out.push_back(' ');
  out.append(local.ToString());
  out.append(";branch=");
  out.append(branch);
  // RFC 3581 3: ask for the source port of a NATed UDP request to be reflected.
  out.append(";rport\r\n");
}

}  // namespace

std::string_view TransportParam(transport::Protocol protocol) {
  switch (protocol) {
    case transport::Protocol::kUdp:
      return "udp";
    case transport::Protocol::kTcp:
      return "tcp";
    case transport::Protocol::kTls:
      return "tls";
  }
  return "udp";
}

std::string RegistrarUri(std::string_view domain) { return "sip:" + std::string(domain); }

std::string ContactKey(std::string_view contact_user, const transport::SocketAddress& local) {
  return std::string(contact_user) + "@" + local.ToString();
}

std::string BuildRegister(const RegisterRequest& r) {
  const std::string request_uri = RegistrarUri(r.registrar_domain);
  const std::string aor = "<sip:" + std::string(r.aor_user) + "@" + std::string(r.aor_domain) + ">";
  const std::string expires = std::to_string(r.expires);
  std::string out;
  out.reserve(512 + r.authorization.size() * 256);
  out.append("REGISTER ").append(request_uri).append(" SIP/2.0\r\n");
  AppendVia(out, r.protocol, r.local, r.branch);
  AppendHeader(out, "Max-Forwards", std::to_string(kMaxForwards));
  AppendHeader(out, "To", aor);
  out.append("From: ").append(aor).append(";tag=").append(r.from_tag).append("\r\n");
  AppendHeader(out, "Call-ID", r.call_id);
  AppendHeader(out, "CSeq", std::to_string(r.cseq) + " REGISTER");
  out.append("Contact: <sip:")
      .append(r.contact_user)
      .append("@")
      .append(r.local.ToString())
      .append(";transport=")
      .append(TransportParam(r.protocol))
      .append(">;expires=")
      .append(expires)
      .append("\r\n");
  AppendHeader(out, "Expires", expires);
  for (const auth::AuthorizationHeader& header : r.authorization)
    AppendHeader(out, header.name, header.value);
  if (!r.user_agent.empty()) AppendHeader(out, "User-Agent", r.user_agent);
  AppendHeader(out, "Content-Length", "0");
  out.append("\r\n");
  return out;
}

std::string BuildOptions(const OptionsRequest& r) {
  std::string target = std::string(r.target_host);
  if (target.find(':') != std::string::npos && target.front() != '[') target = "[" + target + "]";
  target.append(":").append(std::to_string(r.target_port));
  const std::string uri = "sip:" + target;
  std::string out;
  out.reserve(512);
  out.append("OPTIONS ").append(uri).append(" SIP/2.0\r\n");
  AppendVia(out, r.protocol, r.local, r.branch);
  AppendHeader(out, "Max-Forwards", std::to_string(kMaxForwards));
  AppendHeader(out, "To", "<" + uri + ">");
  out.append("From: <sip:linegate@").append(r.local.ToString()).append(">;tag=").append(r.from_tag);
  out.append("\r\n");
  AppendHeader(out, "Call-ID", r.call_id);
  AppendHeader(out, "CSeq", std::to_string(r.cseq) + " OPTIONS");
  if (!r.user_agent.empty()) AppendHeader(out, "User-Agent", r.user_agent);
  AppendHeader(out, "Content-Length", "0");
  out.append("\r\n");
  return out;
}

Result<std::string> RandomHex(auth::RandomSource& random, size_t bytes) {
  std::array<uint8_t, 32> buffer{};
  if (bytes > buffer.size()) return Error{"too many random bytes asked"};
  const std::span<uint8_t> view(buffer.data(), bytes);
  if (Status status = random.Fill(view); !status.ok()) return Error{"randomness: " + status.error()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (uint8_t b : view) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<std::string> MakeBranch(auth::RandomSource& random) {
  Result<std::string> hex = RandomHex(random, 16);
  if (!hex.ok()) return Error{hex.error()};
  return std::string(kBranchMagicCookie) + *hex;
}

std::optional<double> RandomUnit(auth::RandomSource& random) {
  std::array<uint8_t, 8> buffer{};
  if (!random.Fill(buffer).ok()) return std::nullopt;
  uint64_t value = 0;
  for (uint8_t b : buffer) value = (value << 8) | b;
  // 53 bits fill a double's mantissa exactly: the result is < 1.
  return static_cast<double>(value >> 11) * (1.0 / 9007199254740992.0);
}

bool IsValidUserPart(std::string_view user) {
  if (user.empty()) return false;
  for (char c : user) {
    if (sip::IsChar(c, sip::kUnreservedChar)) continue;
    if (c == '\0' || std::strchr("&=+$,;?/", c) == nullptr) return false;
  }
  return true;
}

bool IsValidHost(std::string_view domain) { return sip::ClassifyHost(domain) != sip::HostKind::kNone; }

}  // namespace linegate::signaling::registration
