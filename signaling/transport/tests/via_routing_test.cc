// rport / received (RFC 3261 18.2.1, 18.2.2; RFC 3581 4): tables of
// (name, Via, source, expected).

#include "signaling/transport/via_routing.h"

#include <gtest/gtest.h>

#include <ostream>

namespace linegate::signaling::transport {
namespace {

SocketAddress Addr(const char* host, uint16_t port) { return *SocketAddress::Parse(host, port); }

struct StampCase {
  const char* name;
  const char* via;
  const char* source_host;
  uint16_t source_port;
  bool add_received;
  const char* received;
  bool set_rport;
  uint16_t rport;
  const char* stamped;  // StampVia output
};

const StampCase kStampCases[] = {
    {"SameNumericAddress", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "192.0.2.1", 5060, false, "", false,
     0, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"},
    {"SameAddressOtherPortNoRport", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "192.0.2.1", 40000, false,
     "", false, 0, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"},
    {"DifferentAddress", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", "192.0.2.1", 5060, true, "192.0.2.1",
     false, 0, "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=192.0.2.1"},
    {"DomainSentBy", "SIP/2.0/TCP ua.example.com;branch=z9hG4bK1", "192.0.2.1", 5060, true, "192.0.2.1",
     false, 0, "SIP/2.0/TCP ua.example.com;branch=z9hG4bK1;received=192.0.2.1"},
    // RFC 3581 4: received is added even when it equals sent-by.
    {"RportSameAddress", "SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1", "192.0.2.1", 5060, true,
     "192.0.2.1", true, 5060, "SIP/2.0/UDP 192.0.2.1:5060;rport=5060;branch=z9hG4bK1;received=192.0.2.1"},
    // The RFC 3581 section 4 example: a client behind a NAT.
    {"Rfc3581Example", "SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff", "192.0.2.1", 9988, true,
     "192.0.2.1", true, 9988,
     "SIP/2.0/UDP 10.1.1.1:4540;rport=9988;branch=z9hG4bKkjshdyff;received=192.0.2.1"},
    // rport as the last parameter (RFC 4475 mpart01): both edits fall at its end.
    {"RportLast", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport", "127.0.0.1", 34675, true, "127.0.0.1",
     true, 34675, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport=34675;received=127.0.0.1"},
    {"RportAlreadyValued", "SIP/2.0/UDP 10.1.1.1:4540;rport=1234;branch=z9hG4bK1", "192.0.2.1", 9988, true,
     "192.0.2.1", false, 0, "SIP/2.0/UDP 10.1.1.1:4540;rport=1234;branch=z9hG4bK1;received=192.0.2.1"},
    {"StaleReceivedReplaced", "SIP/2.0/UDP 10.1.1.1;received=198.51.100.9;rport;branch=z9hG4bK1", "192.0.2.1",
     7000, true, "192.0.2.1", true, 7000,
     "SIP/2.0/UDP 10.1.1.1;received=192.0.2.1;rport=7000;branch=z9hG4bK1"},
    {"Ipv6SameAddressDifferentSpelling", "SIP/2.0/UDP [2001:DB8::0:1]:5060;branch=z9hG4bK1", "2001:db8::1",
     5060, false, "", false, 0, "SIP/2.0/UDP [2001:DB8::0:1]:5060;branch=z9hG4bK1"},
    {"Ipv6Different", "SIP/2.0/UDP [2001:db8::1];rport;branch=z9hG4bK1", "2001:db8::2", 6000, true,
     "2001:db8::2", true, 6000, "SIP/2.0/UDP [2001:db8::1];rport=6000;branch=z9hG4bK1;received=2001:db8::2"},
    {"Ipv4SentByIpv6Source", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1", "2001:db8::1", 5060, true,
     "2001:db8::1", false, 0, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=2001:db8::1"},
    {"OnlyTopElementTouched",
     "SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.2;rport;branch=z9hG4bK0", "192.0.2.1",
     5062, true, "192.0.2.1", true, 5062,
     "SIP/2.0/UDP 10.0.0.1;rport=5062;branch=z9hG4bK1;received=192.0.2.1, SIP/2.0/UDP "
     "10.0.0.2;rport;branch=z9hG4bK0"},
};

void PrintTo(const StampCase& c, std::ostream* os) { *os << c.name; }

class ViaStampTest : public ::testing::TestWithParam<StampCase> {};

TEST_P(ViaStampTest, ComputesAndApplies) {
  const StampCase& c = GetParam();
  const SocketAddress source = Addr(c.source_host, c.source_port);
  auto stamp = ComputeViaStamp(c.via, source);
  ASSERT_TRUE(stamp.ok()) << stamp.error();
  EXPECT_EQ(stamp->add_received, c.add_received);
  EXPECT_EQ(stamp->received, c.received);
  EXPECT_EQ(stamp->set_rport, c.set_rport);
  EXPECT_EQ(stamp->rport, c.rport);
  auto stamped = StampVia(c.via, source);
  ASSERT_TRUE(stamped.ok()) << stamped.error();
  EXPECT_EQ(*stamped, c.stamped);
}

INSTANTIATE_TEST_SUITE_P(Table, ViaStampTest, ::testing::ValuesIn(kStampCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ViaStampTest, RejectsMalformedViaAndInvalidSource) {
  EXPECT_FALSE(ComputeViaStamp("garbage", Addr("192.0.2.1", 5060)).ok());
  EXPECT_FALSE(ComputeViaStamp("", Addr("192.0.2.1", 5060)).ok());
  EXPECT_FALSE(StampVia("SIP/2.0/UDP 10.0.0.1;rport=0", Addr("192.0.2.1", 5060)).ok());
  EXPECT_FALSE(ComputeViaStamp("SIP/2.0/UDP 10.0.0.1", SocketAddress()).ok());
}

struct RouteCase {
  const char* name;
  const char* via;
  uint64_t connection_id;
  bool ok;
  Protocol protocol = Protocol::kUdp;
  const char* host = "";
  uint16_t port = 0;
  bool numeric = true;
  uint64_t expect_connection = 0;
  bool multicast = false;
};

const RouteCase kRouteCases[] = {
    // RFC 3581 4: received + rport => the request's source address and port.
    {"UdpRport", "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bK1", 0, true,
     Protocol::kUdp, "192.0.2.1", 9988},
    // RFC 3261 18.2.2: received without rport => received address, sent-by port.
    {"UdpReceivedOnly", "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;branch=z9hG4bK1", 0, true,
     Protocol::kUdp, "192.0.2.1", 4540},
    {"UdpReceivedDefaultPort", "SIP/2.0/UDP ua.example.com;received=192.0.2.1;branch=z9hG4bK1", 0, true,
     Protocol::kUdp, "192.0.2.1", 5060},
    // An rport the server did not fill in is ignored.
    {"UdpRportWithoutValue", "SIP/2.0/UDP 10.1.1.1:4540;rport;received=192.0.2.1;branch=z9hG4bK1", 0, true,
     Protocol::kUdp, "192.0.2.1", 4540},
    {"UdpSentByNumeric", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1", 0, true, Protocol::kUdp, "192.0.2.1",
     5070},
    {"UdpSentByDomainNeedsResolution", "SIP/2.0/UDP ua.example.com:5070;branch=z9hG4bK1", 0, true,
     Protocol::kUdp, "ua.example.com", 5070, false},
    {"UdpMaddr", "SIP/2.0/UDP 10.1.1.1:5070;maddr=239.255.255.1;ttl=16;received=192.0.2.1;branch=z9hG4bK1", 0,
     true, Protocol::kUdp, "239.255.255.1", 5070, true, 0, true},
    {"UdpIpv6Rport", "SIP/2.0/UDP [2001:db8::1]:5060;received=2001:db8::9;rport=6000;branch=z9hG4bK1", 0,
     true, Protocol::kUdp, "2001:db8::9", 6000},
    {"UdpIpv6SentBy", "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1", 0, true, Protocol::kUdp, "2001:db8::1",
     5060},
    // RFC 3261 18.2.2: reliable => the request's connection, else received + sent-by port.
    {"TcpConnection", "SIP/2.0/TCP 10.1.1.1:5060;received=192.0.2.1;rport=40000;branch=z9hG4bK1", 42, true,
     Protocol::kTcp, "192.0.2.1", 5060, true, 42},
    {"TlsDefaultPort", "SIP/2.0/TLS ua.example.com;branch=z9hG4bK1", 7, true, Protocol::kTls,
     "ua.example.com", 5061, false, 7},
    {"UnknownTransport", "SIP/2.0/SCTP 10.1.1.1;branch=z9hG4bK1", 0, false},
    {"Malformed", "SIP/2.0 10.1.1.1", 0, false},
};

void PrintTo(const RouteCase& c, std::ostream* os) { *os << c.name; }

class RouteResponseTest : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouteResponseTest, Routes) {
  const RouteCase& c = GetParam();
  auto route = RouteResponse(c.via, c.connection_id);
  ASSERT_EQ(route.ok(), c.ok) << (route.ok() ? "" : route.error());
  if (!c.ok) return;
  EXPECT_EQ(route->protocol, c.protocol);
  EXPECT_EQ(route->host, c.host);
  EXPECT_EQ(route->port, c.port);
  EXPECT_EQ(route->connection_id, c.expect_connection);
  EXPECT_EQ(route->multicast, c.multicast);
  ASSERT_EQ(route->address.has_value(), c.numeric);
  if (c.numeric) {
    EXPECT_EQ(*route->address, Addr(c.host, c.port));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, RouteResponseTest, ::testing::ValuesIn(kRouteCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// The two together: a request from behind a NAT is answered at its public source.
TEST(ViaRoutingTest, StampThenRouteReachesTheSource) {
  const SocketAddress source = Addr("203.0.113.5", 61000);
  auto stamped = StampVia("SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bK9", source);
  ASSERT_TRUE(stamped.ok());
  auto route = RouteResponse(*stamped);
  ASSERT_TRUE(route.ok());
  ASSERT_TRUE(route->address.has_value());
  EXPECT_EQ(*route->address, source);
}

TEST(ViaRoutingTest, StampTopViaOfAResponseTouchesOnlyTheFirstVia) {
  std::string response =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bK1\r\n"
      "Via: SIP/2.0/UDP 10.0.0.8:5060;branch=z9hG4bK2\r\n"
      "Content-Length: 0\r\n\r\n";
  StampTopVia(response, Addr("203.0.113.5", 61000));
  EXPECT_EQ(response,
            "SIP/2.0 200 OK\r\n"
            "Via: SIP/2.0/UDP 10.0.0.7:5060;rport=61000;branch=z9hG4bK1;received=203.0.113.5\r\n"
            "Via: SIP/2.0/UDP 10.0.0.8:5060;branch=z9hG4bK2\r\n"
            "Content-Length: 0\r\n\r\n");
  std::string without_via = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  StampTopVia(without_via, Addr("203.0.113.5", 61000));
  EXPECT_EQ(without_via, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace linegate::signaling::transport
