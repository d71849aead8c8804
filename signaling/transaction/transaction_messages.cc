#include "signaling/transaction/transaction_messages.h"

#include <charconv>

namespace linegate::signaling::transaction {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kDefaultMaxForwards = "70";

void AppendLower(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(sip::ToLowerAscii(c));
}

void AppendNumber(std::string& out, uint64_t value) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  (void)ec;  // 20 digits hold any uint64_t
  out.append(digits, end);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append(kCrlf);
}

std::string_view TopViaElement(const sip::Message& message) {
  sip::HeaderValueIterator vias(message, sip::HeaderId::kVia);
  std::string_view element;
  return vias.Next(element) ? element : std::string_view();
}

std::string_view RawValue(const sip::Message& message, sip::HeaderId id) {
  const sip::HeaderField* field = message.FindHeader(id);
  return field == nullptr ? std::string_view() : field->value;
}

// The shared shape of ACK (17.1.1.3) and CANCEL (9.1): a request built from the one
// being acknowledged or cancelled, with one Via, its Routes and CSeq method = method.
std::optional<std::string> BuildFromRequest(const sip::Message& request, std::string_view method,
                                            std::string_view to_value) {
  const std::string_view via = TopViaElement(request);
  const std::string_view from = RawValue(request, sip::HeaderId::kFrom);
  const std::string_view call_id = RawValue(request, sip::HeaderId::kCallId);
  if (!request.is_request() || via.empty() || from.empty() || to_value.empty() || call_id.empty() ||
      request.cseq() == nullptr) {
    return std::nullopt;
  }
  std::string_view max_forwards = RawValue(request, sip::HeaderId::kMaxForwards);
  if (max_forwards.empty()) max_forwards = kDefaultMaxForwards;

  std::string out;
  out.reserve(request.raw().size() - request.body().size() + 32);
  out.append(method);
  out.push_back(' ');
  out.append(request.request_uri_text());
  out.append(" SIP/2.0\r\n");
  AppendHeader(out, "Via", via);
  for (const sip::HeaderField& field : request.headers()) {
    if (field.id == sip::HeaderId::kRoute) AppendHeader(out, "Route", field.value);
  }
  AppendHeader(out, "Max-Forwards", max_forwards);
  AppendHeader(out, "From", from);
  AppendHeader(out, "To", to_value);
  AppendHeader(out, "Call-ID", call_id);
  out.append("CSeq: ");
  AppendNumber(out, request.cseq()->number);
  out.push_back(' ');
  out.append(method);
  out.append(kCrlf);
  out.append("Content-Length: 0\r\n\r\n");
  return out;
}

}  // namespace

std::optional<std::string> InsertTopVia(std::string_view request, transport::Protocol protocol,
                                        std::string_view sent_by, std::string_view branch) {
  const size_t line_end = request.find(kCrlf);
  if (line_end == std::string_view::npos) return std::nullopt;
  const size_t split = line_end + kCrlf.size();
  const std::string_view protocol_name = transport::ProtocolName(protocol);
  std::string out;
  out.reserve(request.size() + sent_by.size() + branch.size() + protocol_name.size() + 32);
  out.append(request.substr(0, split));
  out.append("Via: SIP/2.0/");
  out.append(protocol_name);
  out.push_back(' ');
  out.append(sent_by);
  out.append(";branch=");
  out.append(branch);
  out.append(";rport\r\n");
  out.append(request.substr(split));
  return out;
}

std::optional<std::string> BuildAckForFailure(const sip::Message& request, const sip::Message& response) {
  if (response.is_request()) return std::nullopt;
  return BuildFromRequest(request, "ACK", RawValue(response, sip::HeaderId::kTo));
}

std::optional<std::string> BuildCancel(const sip::Message& request) {
  return BuildFromRequest(request, "CANCEL", RawValue(request, sip::HeaderId::kTo));
}

transport::Destination ResponseDestination(const sip::Via& top_via, const transport::Received& received) {
  transport::Destination destination;
  destination.protocol = received.protocol;
  destination.connection_id = received.connection_id;
  destination.address = received.source;
  if (transport::IsReliable(received.protocol)) return destination;
  // UDP: the source address is what "received" would hold (18.2.1); the port is the
  // sent-by port unless the client asked for rport.
  uint16_t port = top_via.has_port ? top_via.port : 5060;
  if (top_via.has_rport) port = received.source.port();
  if (port != received.source.port()) {
    if (auto address = transport::SocketAddress::Parse(received.source.HostString(), port)) {
      destination.address = *address;
    }
  }
  return destination;
}

void ClientKey(std::string_view branch, std::string_view method, std::string& out) {
  out.clear();
  out.append("c|");
  AppendLower(out, branch);
  out.push_back('|');
  out.append(method);
}

bool ServerKey(const sip::Message& request, std::string_view method, std::string_view to_tag,
               std::string& out) {
  const sip::Via* via = request.top_via();
  const sip::CSeq* cseq = request.cseq();
  if (via == nullptr || cseq == nullptr) return false;
  out.clear();
  if (HasMagicCookie(via->branch)) {
    // 17.2.3: branch, sent-by and method.
    out.append("s|");
    AppendLower(out, via->branch);
    out.push_back('|');
    AppendLower(out, via->host);
    if (via->has_port) {
      out.push_back(':');
      AppendNumber(out, via->port);
    }
    out.push_back('|');
    out.append(method);
    return true;
  }
  // 17.2.3, RFC 2543 compatibility: Request-URI, To tag, From tag, Call-ID, CSeq and top
  // Via of the request that created the transaction. Retransmissions are byte copies, so
  // the values are compared as sent rather than by the URI rules of 19.1.4.
  const sip::NameAddr* from = request.from();
  out.append("l|");
  out.append(request.request_uri_text());
  out.push_back('|');
  out.append(from == nullptr ? std::string_view() : from->tag);
  out.push_back('|');
  out.append(request.call_id());
  out.push_back('|');
  AppendNumber(out, cseq->number);
  out.push_back('|');
  out.append(method);
  out.push_back('|');
  out.append(TopViaElement(request));
  out.push_back('|');
  out.append(to_tag);
  return true;
}

}  // namespace linegate::signaling::transaction
