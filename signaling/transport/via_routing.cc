#include "signaling/transport/via_routing.h"

#include <algorithm>
#include <vector>

#include "signaling/sip/sip_headers.h"
#include "signaling/sip/sip_text.h"

namespace linegate::signaling::transport {
namespace {

struct TopVia {
  std::string_view element;  // a sub-view of the header value
  sip::Via via;
};

Result<TopVia> ParseTopVia(std::string_view value) {
  TopVia top;
  sip::ListIterator elements(value);
  if (!elements.Next(top.element) || top.element.empty()) return Error{"empty Via"};
  if (auto status = sip::ParseVia(top.element, top.via); !status) {
    return Error{std::string(status.reason())};
  }
  return top;
}

std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

uint16_t DefaultPort(Protocol protocol) {
  return protocol == Protocol::kTls ? kDefaultSipsPort : kDefaultSipPort;
}

}  // namespace

Result<ViaStamp> ComputeViaStamp(std::string_view top_via, const SocketAddress& source) {
  if (!source.valid()) return Error{"invalid source address"};
  auto top = ParseTopVia(top_via);
  if (!top.ok()) return Error{top.error()};
  const sip::Via& via = top->via;
  ViaStamp stamp;
  const std::string source_host = source.HostString();
  // A numeric sent-by equal to the source needs no received= (18.2.1); compare as
  // addresses so that "2001:DB8::1" and "2001:db8::0:1" are the same.
  bool same_address = false;
  if (via.host_kind == sip::HostKind::kIpv4 || via.host_kind == sip::HostKind::kIpv6) {
    auto sent_by = SocketAddress::Parse(StripBrackets(via.host), 0);
    same_address =
        sent_by.has_value() && sent_by->family() == source.family() && sent_by->HostString() == source_host;
  }
  const bool asks_rport = via.has_rport && via.rport == 0;
  stamp.add_received = !same_address || asks_rport;
  if (stamp.add_received) stamp.received = source_host;
  if (asks_rport) {
    stamp.set_rport = true;
    stamp.rport = source.port();
  }
  return stamp;
}

Result<std::string> StampVia(std::string_view top_via, const SocketAddress& source) {
  auto stamp = ComputeViaStamp(top_via, source);
  if (!stamp.ok()) return Error{stamp.error()};
  auto top = ParseTopVia(top_via);
  if (!top.ok()) return Error{top.error()};
  const std::string_view element = top->element;
  const size_t element_offset = static_cast<size_t>(element.data() - top_via.data());

  // Edits as (offset in top_via, length replaced, text), applied from the back.
  struct Edit {
    size_t offset;
    size_t length;
    std::string text;
  };
  std::vector<Edit> edits;
  bool replaced_received = false;
  sip::ParamIterator params(top->via.params);
  sip::Param param;
  while (params.Next(param)) {
    const size_t name_end = static_cast<size_t>(param.name.data() - top_via.data()) + param.name.size();
    if (stamp->set_rport && sip::EqualsIgnoreCase(param.name, "rport") && !param.has_value) {
      edits.push_back(Edit{name_end, 0, "=" + std::to_string(stamp->rport)});
    } else if (stamp->add_received && sip::EqualsIgnoreCase(param.name, "received") && param.has_value) {
      const size_t value_offset = static_cast<size_t>(param.value.data() - top_via.data());
      edits.push_back(Edit{value_offset, param.value.size(), stamp->received});
      replaced_received = true;
    }
  }
  if (stamp->add_received && !replaced_received) {
    // First in the list: when rport is the last parameter both edits share an offset, and
    // "=<port>" must land before ";received=" (edits at one offset apply in list order,
    // each inserting in front of the previous one).
    edits.insert(edits.begin(), Edit{element_offset + element.size(), 0, ";received=" + stamp->received});
  }
  std::string out(top_via);
  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.offset > b.offset; });
  for (const Edit& edit : edits) out.replace(edit.offset, edit.length, edit.text);
  return out;
}

Result<ResponseRoute> RouteResponse(std::string_view top_via, uint64_t request_connection_id) {
  auto top = ParseTopVia(top_via);
  if (!top.ok()) return Error{top.error()};
  const sip::Via& via = top->via;
  auto protocol = ParseProtocol(via.transport);
  if (!protocol) return Error{"unsupported Via transport " + std::string(via.transport)};

  ResponseRoute route;
  route.protocol = *protocol;
  const uint16_t sent_by_port = via.has_port ? via.port : DefaultPort(*protocol);
  auto target = [&route](std::string_view host, uint16_t port) {
    route.host = std::string(StripBrackets(host));
    route.port = port;
    route.address = SocketAddress::Parse(route.host, port);  // empty for a domain name
  };

  if (IsReliable(*protocol)) {
    // RFC 3261 18.2.2 first rule: the connection the request came on; if it is gone,
    // the address in received (else sent-by) and the sent-by port.
    route.connection_id = request_connection_id;
    target(via.received.empty() ? via.host : via.received, sent_by_port);
  } else if (!via.maddr.empty()) {
    // Second rule: maddr (multicast or not), sent-by port.
    route.multicast = true;
    target(via.maddr, sent_by_port);
  } else if (!via.received.empty() && via.has_rport && via.rport != 0) {
    // RFC 3581 4: received address and rport port, i.e. the request's source.
    target(via.received, via.rport);
  } else if (!via.received.empty()) {
    // RFC 3261 18.2.2 third rule.
    target(via.received, sent_by_port);
  } else {
    // Fourth rule: sent-by, resolved per RFC 3263 5 when it is a name.
    target(via.host, sent_by_port);
  }
  return route;
}

void StampTopVia(std::string& response, const SocketAddress& source) {
  for (std::string_view name : {"\r\nVia:", "\r\nv:"}) {
    size_t at = response.find(name);
    if (at == std::string::npos) continue;
    size_t begin = at + name.size();
    while (begin < response.size() && (response[begin] == ' ' || response[begin] == '\t')) ++begin;
    size_t end = response.find("\r\n", begin);
    // A folded value continues on lines that start with whitespace (RFC 3261 7.3.1).
    while (end != std::string::npos && end + 2 < response.size() &&
           (response[end + 2] == ' ' || response[end + 2] == '\t')) {
      end = response.find("\r\n", end + 2);
    }
    if (end == std::string::npos) return;
    auto stamped = StampVia(std::string_view(response).substr(begin, end - begin), source);
    if (stamped) response.replace(begin, end - begin, *stamped);
    return;
  }
}

}  // namespace linegate::signaling::transport
