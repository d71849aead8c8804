#include "common/config/config_loader.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/schema.h"

namespace linegate::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const std::string kDataDir = std::string(LINEGATE_TESTDATA_DIR) + "/config";
const std::string kDocsFile = std::string(LINEGATE_DOCS_DIR) + "/configuration.md";

// Appended where a case needs the file to be valid apart from what it tests.
const std::string kCards = "tdm:\n  cards:\n    - name: a\n      fxs_ports: 1\n";
// A proxy set named p, for the calls section's routes.
const std::string kProxySet =
    "signaling:\n  proxy_sets:\n    - name: p\n      proxies:\n        - address: 192.0.2.1\n";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string expected;
};

void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.name; }

class LoaderErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrors, ReportsExactMessage) {
  const Result<v1::Config> result = LoadString(GetParam().yaml, "x.yaml");
  ASSERT_FALSE(result.ok()) << "loaded unexpectedly:\n" << result->DebugString();
  EXPECT_EQ(result.error(), GetParam().expected);
}

const std::string kSections = "gateway, runtime, bus, supervision, signaling, media, tdm, calls";
const std::string kMediaFields =
    "process_count, backend, rtp_address, rtp_port_min, rtp_port_max, echo_canceller_tail_ms, tdm_lead_ms, "
    "shards";
const std::string kLevels = "trace, debug, info, warn, error, critical";

INSTANTIATE_TEST_SUITE_P(
    Table, LoaderErrors,
    testing::Values(
        // Keys.
        ErrorCase{"UnknownTopLevel", "gatway:\n  name: a\n",
                  "x.yaml:1:1: gatway: unknown field (known fields: " + kSections + ")"},
        ErrorCase{"UnknownNested", "media:\n  procss_count: 2\n",
                  "x.yaml:2:3: media.procss_count: unknown field (known fields: " + kMediaFields + ")"},
        ErrorCase{"UnknownInListElement", "tdm:\n  cards:\n    - name: a\n      fxs: 2\n",
                  "x.yaml:4:7: tdm.cards[0].fxs: unknown field (known fields: name, fxs_ports, fxo_ports, "
                  "dahdi, sim)"},
        ErrorCase{"UnknownOddKeyIsQuoted", "\"me dia\": 1\n",
                  "x.yaml:1:1: \"me dia\": unknown field (known fields: " + kSections + ")"},
        ErrorCase{"CaseMatters", "Media:\n  process_count: 2\n",
                  "x.yaml:1:1: Media: unknown field (known fields: " + kSections + ")"},
        ErrorCase{"NonScalarKey", "? [a]\n: 1\n", "x.yaml:1:3: expected a field name, got a sequence"},
        ErrorCase{"DuplicateKey", "media:\n  process_count: 2\n  process_count: 3\n",
                  "x.yaml:3:3: media.process_count: duplicate key (first at line 2)"},
        ErrorCase{"DuplicateSection", "media:\n  process_count: 2\nmedia:\n  backend: dpdk\n",
                  "x.yaml:3:1: media: duplicate key (first at line 1)"},
        // Shapes.
        ErrorCase{"StringForInteger", "bus:\n  heartbeat_interval_ms: fast\n",
                  "x.yaml:2:26: bus.heartbeat_interval_ms: expected an unsigned integer, got \"fast\""},
        ErrorCase{"MappingForScalar", "signaling:\n  sip_port: {a: 1}\n",
                  "x.yaml:2:13: signaling.sip_port: expected an unsigned integer, got a mapping"},
        ErrorCase{"SequenceForScalar", "gateway:\n  name: [a, b]\n",
                  "x.yaml:2:9: gateway.name: expected a string, got a sequence"},
        ErrorCase{"ScalarForMapping", "media: fast\n", "x.yaml:1:8: media: expected a mapping, got \"fast\""},
        ErrorCase{"SequenceForMapping", "tdm:\n  - a\n",
                  "x.yaml:2:3: tdm: expected a mapping, got a sequence"},
        ErrorCase{"ScalarForSequence", "signaling:\n  transports: udp\n",
                  "x.yaml:2:15: signaling.transports: expected a sequence, got \"udp\""},
        ErrorCase{"ScalarForListElement", "tdm:\n  cards:\n    - a\n",
                  "x.yaml:3:7: tdm.cards[0]: expected a mapping, got \"a\""},
        ErrorCase{"TopLevelSequence", "- a\n- b\n",
                  "x.yaml:1:1: expected a mapping of configuration sections, got a sequence"},
        ErrorCase{"TopLevelScalar", "hello\n",
                  "x.yaml:1:1: expected a mapping of configuration sections, got \"hello\""},
        ErrorCase{"EmptyScalar", "gateway:\n  name:\n",
                  "x.yaml:2:3: gateway.name: expected a string, got an empty value"},
        ErrorCase{"TildeScalar", "signaling:\n  sip_port: ~\n",
                  "x.yaml:2:3: signaling.sip_port: expected an unsigned integer, got an empty value"},
        ErrorCase{"EmptyEnum", "runtime:\n  log_level:\n",
                  "x.yaml:2:3: runtime.log_level: expected one of " + kLevels + ", got an empty value"},
        ErrorCase{"EmptyListElement", "tdm:\n  cards:\n    -\n",
                  "x.yaml:2:3: tdm.cards[0]: expected a mapping, got an empty value"},
        ErrorCase{"MultilineScalarStaysOneLine", "gateway:\n  name: [\"a\\nb\"]\n",
                  "x.yaml:2:9: gateway.name: expected a string, got a sequence"},
        ErrorCase{"ControlCharactersEscaped", "bus:\n  heartbeat_interval_ms: \"5\\n0\\t\"\n",
                  "x.yaml:2:26: bus.heartbeat_interval_ms: expected an unsigned integer, got \"5\\n0\\t\""},
        ErrorCase{"InvalidUtf8", "gateway:\n  name: ab\xff\n",
                  "x.yaml:2:9: gateway.name: text is not valid UTF-8 (byte 0xff at offset 2)"},
        // Numbers.
        ErrorCase{"ProcessCountZero", "media:\n  process_count: 0\n",
                  "x.yaml:2:18: media.process_count: value 0 is out of range [1, 256]"},
        ErrorCase{"SipPortTooLarge", "signaling:\n  sip_port: 70000\n",
                  "x.yaml:2:13: signaling.sip_port: value 70000 is out of range [1, 65535]"},
        ErrorCase{"RtpPortMinPrivileged", "media:\n  rtp_port_min: 80\n",
                  "x.yaml:2:17: media.rtp_port_min: value 80 is out of range [1024, 65535]"},
        ErrorCase{"HeartbeatTooFast", "bus:\n  heartbeat_interval_ms: 10\n",
                  "x.yaml:2:26: bus.heartbeat_interval_ms: value 10 is out of range [50, 60000]"},
        ErrorCase{"CardPortsOutOfRange",
                  "tdm:\n  cards:\n    - name: a\n      fxs_ports: 1\n    - name: b\n      fxs_ports: 2000\n",
                  "x.yaml:6:18: tdm.cards[1].fxs_ports: value 2000 is out of range [0, 1024]"},
        ErrorCase{
            "NegativeUnsigned", "bus:\n  heartbeat_miss_limit: -1\n",
            "x.yaml:2:25: bus.heartbeat_miss_limit: value -1 is negative; expected an unsigned integer"},
        ErrorCase{"Overflow32", "bus:\n  request_timeout_ms: 4294967296\n",
                  "x.yaml:2:23: bus.request_timeout_ms: value 4294967296 does not fit in a 32-bit unsigned "
                  "integer"},
        ErrorCase{
            "Overflow64", "bus:\n  request_timeout_ms: 99999999999999999999999\n",
            "x.yaml:2:23: bus.request_timeout_ms: value 99999999999999999999999 does not fit in a 32-bit "
            "unsigned integer"},
        ErrorCase{"FloatForInteger", "media:\n  process_count: 1.5\n",
                  "x.yaml:2:18: media.process_count: expected an unsigned integer, got \"1.5\""},
        ErrorCase{"HexForInteger", "media:\n  process_count: 0x10\n",
                  "x.yaml:2:18: media.process_count: expected an unsigned integer, got \"0x10\""},
        ErrorCase{"LeadingZero", "media:\n  process_count: 010\n",
                  "x.yaml:2:18: media.process_count: expected an unsigned integer, got \"010\""},
        ErrorCase{"PlusSign", "media:\n  process_count: +4\n",
                  "x.yaml:2:18: media.process_count: expected an unsigned integer, got \"+4\""},
        ErrorCase{"Exponent", "media:\n  process_count: 1e2\n",
                  "x.yaml:2:18: media.process_count: expected an unsigned integer, got \"1e2\""},
        // Enums.
        ErrorCase{"BadEnum", "runtime:\n  log_level: loud\n",
                  "x.yaml:2:14: runtime.log_level: expected one of " + kLevels + ", got \"loud\""},
        ErrorCase{"UnspecifiedShort", "runtime:\n  log_level: unspecified\n",
                  "x.yaml:2:14: runtime.log_level: value \"unspecified\" is not allowed; expected one of " +
                      kLevels},
        ErrorCase{
            "UnspecifiedFull", "tdm:\n  driver: TDM_DRIVER_UNSPECIFIED\n",
            "x.yaml:2:11: tdm.driver: value \"TDM_DRIVER_UNSPECIFIED\" is not allowed; expected one of sim, "
            "dahdi"},
        ErrorCase{"EnumNumberRefused", "media:\n  backend: 1\n",
                  "x.yaml:2:12: media.backend: expected one of kernel_sockets, dpdk, got \"1\""},
        ErrorCase{"EnumOtherTypesPrefix", "media:\n  backend: LOG_LEVEL_INFO\n",
                  "x.yaml:2:12: media.backend: expected one of kernel_sockets, dpdk, got \"LOG_LEVEL_INFO\""},
        ErrorCase{"BadEnumInList", "signaling:\n  transports: [udp, sctp]\n",
                  "x.yaml:2:21: signaling.transports[1]: expected one of udp, tcp, tls, got \"sctp\""},
        // YAML itself.
        ErrorCase{"SyntaxUnclosedFlow", "media:\n  process_count: [1, 2\n",
                  "x.yaml:3:1: end of sequence flow not found"},
        ErrorCase{"SyntaxUnclosedFlowMap", "gateway: {name: gw\n", "x.yaml:2:1: end of map flow not found"},
        ErrorCase{"SyntaxMapInScalar", "gateway:\n  name: gw\n   x: 1\n", "x.yaml:3:5: illegal map value"},
        ErrorCase{"SyntaxBadIndent", "media:\n  process_count: 2\n backend: dpdk\n",
                  "x.yaml:3:2: end of map not found"},
        ErrorCase{"SyntaxUnknownAlias", "media: *nothing\n",
                  "x.yaml:1:8: the referenced anchor is not defined"},
        ErrorCase{"TwoDocuments", "media:\n  process_count: 2\n---\nbus: {}\n",
                  "x.yaml:3:1: more than one YAML document; a configuration is one document"},
        // Found by config_loader_fuzz: yaml-cpp's LoadAll never returned on these.
        ErrorCase{"StrayCommaAtTop", ",", "x.yaml:1:1: unexpected \",\" where a YAML value should start"},
        ErrorCase{"StrayCommaBeforeSection", ",gateway:\n\" name: gw\n",
                  "x.yaml:1:1: unexpected \",\" where a YAML value should start"},
        ErrorCase{"TooLarge", std::string(kMaxConfigBytes + 1, '#'),
                  "x.yaml: file is larger than 16777216 bytes"},
        // Rules across fields, reported where the operator wrote the field, or the
        // nearest section they wrote, or 1:1.
        ErrorCase{"EmptyFile", "", "x.yaml:1:1: tdm.cards: at least one card is required"},
        ErrorCase{"CommentsOnly", "# nothing yet\n", "x.yaml:1:1: tdm.cards: at least one card is required"},
        ErrorCase{"SimWithoutCards", "gateway:\n  name: gw\ntdm:\n  frame_ms: 10\n",
                  "x.yaml:3:1: tdm.cards: at least one card is required"},
        // Registration tables.
        ErrorCase{"ProxySetWithoutProxies", "signaling:\n  proxy_sets:\n    - name: p\n" + kCards,
                  "x.yaml:3:7: signaling.proxy_sets[0].proxies: at least one proxy is required"},
        ErrorCase{
            "ProxyAddressNotIp",
            "signaling:\n  proxy_sets:\n    - name: p\n      proxies:\n        - address: sip.example.com\n" +
                kCards,
            "x.yaml:5:20: signaling.proxy_sets[0].proxies[0].address: \"sip.example.com\" is not an IPv4 "
            "or IPv6 address"},
        ErrorCase{"RegistrationNamesUnknownProxySet",
                  "signaling:\n  registration:\n    mode: per_endpoint\n    proxy_set: nope\n" + kCards,
                  "x.yaml:4:16: signaling.registration.proxy_set: no proxy set named \"nope\""},
        ErrorCase{"AccountWithoutSecret",
                  "signaling:\n  proxy_sets:\n    - name: p\n      proxies:\n        - address: 127.0.0.1\n"
                  "  accounts:\n    - name: a\n      username: u\n      proxy_set: p\n" +
                      kCards,
                  "x.yaml:7:7: signaling.accounts[0]: needs a password or an ha1"},
        ErrorCase{
            "AccountBadHa1",
            "signaling:\n  proxy_sets:\n    - name: p\n      proxies:\n        - address: 127.0.0.1\n"
            "  accounts:\n    - name: a\n      username: u\n      proxy_set: p\n      ha1: secretvalue\n" +
                kCards,
            "x.yaml:10:12: signaling.accounts[0].ha1: must be 32 (MD5) or 64 (SHA-256) hexadecimal digits"},
        ErrorCase{
            "EndpointLineTwice",
            "signaling:\n  endpoints:\n    - line: 1\n      phone_number: \"1\"\n    - line: 1\n"
            "      phone_number: \"2\"\n" +
                kCards,
            "x.yaml:5:13: signaling.endpoints[1].line: line 1 is listed twice (also signaling.endpoints[0])"},
        ErrorCase{"SimWithEmptyCardList", "tdm:\n  cards: []\n",
                  "x.yaml:2:3: tdm.cards: at least one card is required"},
        ErrorCase{"CardWithoutName", "tdm:\n  cards:\n    - fxs_ports: 2\n",
                  "x.yaml:3:7: tdm.cards[0].name: is required"},
        ErrorCase{"CardWithEmptyName", "tdm:\n  cards:\n    - name: \"\"\n      fxs_ports: 2\n",
                  "x.yaml:3:13: tdm.cards[0].name: must not be empty"},
        ErrorCase{"DuplicateCardNames",
                  "tdm:\n  cards:\n    - name: a\n      fxs_ports: 1\n    - name: a\n      fxo_ports: 1\n",
                  "x.yaml:5:13: tdm.cards[1].name: duplicate card name \"a\" (also tdm.cards[0])"},
        ErrorCase{"CardWithoutPorts", "tdm:\n  cards:\n    - name: a\n",
                  "x.yaml:3:7: tdm.cards[0]: a card needs at least one port (fxs_ports + fxo_ports >= 1)"},
        ErrorCase{"DpdkWithoutShards", "media:\n  process_count: 1\n  backend: dpdk\n" + kCards,
                  "x.yaml:3:12: media.backend: dpdk needs media.shards[] with each process's port and "
                  "address (0 of 1 "
                  "given)"},
        ErrorCase{"DpdkShardWithoutAddress",
                  "media:\n  process_count: 1\n  shards:\n    - dpdk:\n        port: net_ring0\n" + kCards,
                  "x.yaml:4:7: media.shards[0].dpdk.ipv4_address: a DPDK media process needs its numeric "
                  "IPv4 media "
                  "address, not \"\""},
        ErrorCase{
            "TooManyShards",
            "media:\n  process_count: 1\n  shards:\n    - backend: kernel_sockets\n    - {}\n" + kCards,
            "x.yaml:3:3: media.shards: 2 entries for process_count 1 (one per media process, by shard)"},
        ErrorCase{
            "DahdiCardWithoutChannels",
            "tdm:\n  driver: dahdi\n  cards:\n    - name: a\n      fxs_ports: 2\n",
            "x.yaml:4:7: tdm.cards[0].dahdi: a DAHDI card needs fxs_channels/fxo_channels or first_channel"},
        ErrorCase{"DahdiChannelListShort",
                  "tdm:\n  driver: dahdi\n  cards:\n    - name: a\n      fxs_ports: 2\n      dahdi:\n"
                  "        fxs_channels: [1]\n",
                  "x.yaml:7:9: tdm.cards[0].dahdi.fxs_channels: lists 1 channels for 2 fxs_ports"},
        ErrorCase{
            "DahdiSectionOnASimCard",
            "tdm:\n  cards:\n    - name: a\n      fxs_ports: 2\n      dahdi:\n        first_channel: 1\n",
            "x.yaml:5:7: tdm.cards[0].dahdi: only for tdm.driver dahdi"},
        ErrorCase{"DahdiOneMillisecondFrames",
                  "tdm:\n  driver: dahdi\n  frame_ms: 1\n  cards:\n    - name: a\n      fxs_ports: 2\n"
                  "      dahdi:\n        first_channel: 1\n",
                  "x.yaml:3:13: tdm.frame_ms: DAHDI blocks are at least 2 ms (16 samples)"},
        ErrorCase{"RtpMinAboveDefaultMax", "media:\n  rtp_port_min: 30000\n" + kCards,
                  "x.yaml:2:17: media.rtp_port_min: rtp_port_min (30000) must be below rtp_port_max (29999)"},
        ErrorCase{"RtpMinEqualsMax", "media:\n  rtp_port_min: 30000\n  rtp_port_max: 30000\n" + kCards,
                  "x.yaml:3:17: media.rtp_port_max: rtp_port_min (30000) must be below rtp_port_max (30000)"},
        ErrorCase{
            "RtpRangeTooSmall",
            "media:\n  process_count: 4\n  rtp_port_min: 20000\n  rtp_port_max: 20006\n" + kCards,
            "x.yaml:4:17: media.rtp_port_max: RTP port range 20000-20006 holds 7 ports; process_count 4 "
            "needs at least 8"},
        ErrorCase{
            "RtpRangeTooSmallBlamesWrittenMin",
            "media:\n  process_count: 200\n  rtp_port_min: 29700\n" + kCards,
            "x.yaml:3:17: media.rtp_port_min: RTP port range 29700-29999 holds 300 ports; process_count 200 "
            "needs at least 400"},
        ErrorCase{"BackoffInitialAboveDefaultMax",
                  "supervision:\n  restart_backoff_initial_ms: 20000\n" + kCards,
                  "x.yaml:2:31: supervision.restart_backoff_initial_ms: restart_backoff_initial_ms (20000) "
                  "must not "
                  "exceed restart_backoff_max_ms (10000)"},
        ErrorCase{
            "BackoffMaxBelowInitial",
            "supervision:\n  restart_backoff_initial_ms: 500\n  restart_backoff_max_ms: 100\n" + kCards,
            "x.yaml:3:27: supervision.restart_backoff_max_ms: restart_backoff_initial_ms (500) must not "
            "exceed restart_backoff_max_ms (100)"},
        ErrorCase{"RelativeRuntimeDir", "runtime:\n  runtime_dir: run/linegate\n" + kCards,
                  "x.yaml:2:16: runtime.runtime_dir: must be an absolute path, got \"run/linegate\""},
        ErrorCase{"RuntimeDirTooLongForIpc",
                  "runtime:\n  runtime_dir: /" + std::string(100, 'r') + "\n" + kCards,
                  "x.yaml:2:16: runtime.runtime_dir: is too long for the socket path \"/" +
                      std::string(47, 'r') + "...\" of bus.control_endpoint (at most 107 bytes)"},
        ErrorCase{"EmptyGatewayName", "gateway:\n  name: \"\"\n" + kCards,
                  "x.yaml:2:9: gateway.name: must not be empty"},
        ErrorCase{"EndpointScheme", "bus:\n  control_endpoint: udp://1.2.3.4:5\n" + kCards,
                  "x.yaml:2:21: bus.control_endpoint: endpoint \"udp://1.2.3.4:5\" must start with ipc:// or "
                  "tcp://"},
        ErrorCase{"EndpointWithoutPort", "bus:\n  events_endpoint: tcp://127.0.0.1\n" + kCards,
                  "x.yaml:2:20: bus.events_endpoint: endpoint \"tcp://127.0.0.1\" must be "
                  "tcp://<host>:<port> with a "
                  "port in [1, 65535] or *"},
        ErrorCase{"EndpointIpcWithoutPath", "bus:\n  events_endpoint: ipc://\n" + kCards,
                  "x.yaml:2:20: bus.events_endpoint: endpoint \"ipc://\" has no socket path"},
        ErrorCase{
            "EndpointsEqual",
            "bus:\n  control_endpoint: tcp://127.0.0.1:7000\n  events_endpoint: tcp://127.0.0.1:7000\n" +
                kCards,
            "x.yaml:3:20: bus.events_endpoint: bus.control_endpoint and bus.events_endpoint must differ "
            "(both "
            "are \"tcp://127.0.0.1:7000\")"},
        ErrorCase{"ListenAddressNotIp", "signaling:\n  listen_address: localhost\n" + kCards,
                  "x.yaml:2:19: signaling.listen_address: \"localhost\" is not an IPv4 or IPv6 address"},
        ErrorCase{"RtpAddressNotIp", "media:\n  rtp_address: 10.0.0.256\n" + kCards,
                  "x.yaml:2:16: media.rtp_address: \"10.0.0.256\" is not an IPv4 or IPv6 address"},
        ErrorCase{"DuplicateTransport", "signaling:\n  transports: [udp, UDP]\n" + kCards,
                  "x.yaml:2:21: signaling.transports[1]: transport udp is listed twice"},
        // The calls section.
        ErrorCase{"CallsUnknownProxySetInRoute",
                  "calls:\n  tel_to_ip_routes:\n    - proxy_set: nope\n" + kCards,
                  "x.yaml:3:18: calls.tel_to_ip_routes[0].proxy_set: no proxy set named \"nope\""},
        ErrorCase{"CallsRouteWithProxySetAndAddress",
                  kProxySet +
                      "calls:\n  tel_to_ip_routes:\n    - proxy_set: p\n      address: 192.0.2.1:5060\n" +
                      kCards,
                  "x.yaml:9:16: calls.tel_to_ip_routes[0].address: give either a proxy_set or an address, "
                  "not both"},
        ErrorCase{"CallsRouteWithoutDestination",
                  "calls:\n  tel_to_ip_routes:\n    - destination: \"9\"\n" + kCards,
                  "x.yaml:3:7: calls.tel_to_ip_routes[0]: needs a proxy_set or an address"},
        ErrorCase{"CallsRouteBadHostPort",
                  "calls:\n  tel_to_ip_routes:\n    - address: 192.0.2.1:99999\n" + kCards,
                  "x.yaml:3:16: calls.tel_to_ip_routes[0].address: \"192.0.2.1:99999\": bad port"},
        ErrorCase{
            "CallsUnknownDefaultDestination", "calls:\n  default_destination: nope\n" + kCards,
            "x.yaml:2:24: calls.default_destination: no proxy set named \"nope\" (and not a host:port)"},
        ErrorCase{
            "CallsHuntGroupLineOutOfRange",
            "calls:\n  hunt_groups:\n    - name: g\n      lines: [1, 2]\n" + kCards,
            "x.yaml:4:18: calls.hunt_groups[0].lines[1]: line 2 does not exist (the gateway has 1 lines)"},
        ErrorCase{"CallsHuntGroupDuplicateLine",
                  "calls:\n  hunt_groups:\n    - name: g\n      lines: [1, 1]\n" + kCards,
                  "x.yaml:4:18: calls.hunt_groups[0].lines[1]: line 1 is listed twice (also "
                  "calls.hunt_groups[0].lines[0])"},
        ErrorCase{"CallsUnknownHuntGroup", "calls:\n  ip_to_tel_routes:\n    - hunt_group: nope\n" + kCards,
                  "x.yaml:3:19: calls.ip_to_tel_routes[0].hunt_group: no hunt group named \"nope\""},
        ErrorCase{"CallsBadDigitMap", "calls:\n  dial_plan:\n    digit_map: \"[9-\"\n" + kCards,
                  "x.yaml:3:16: calls.dial_plan.digit_map: digit pattern \"[9-\": unterminated '['"},
        ErrorCase{"CallsDuplicateCodec", "calls:\n  codecs: [pcmu, pcma, pcmu]\n" + kCards,
                  "x.yaml:2:24: calls.codecs[2]: pcmu is listed twice (also calls.codecs[0])"},
        ErrorCase{"CallsBadToneCountry", "calls:\n  tone_country: IT\n" + kCards,
                  "x.yaml:2:17: calls.tone_country: must be US, UK, DE or FR, got \"IT\""},
        // The first problem from the top wins, whatever its kind.
        ErrorCase{"FirstProblemWins", "media:\n  process_count: 0\ngatway: {}\n",
                  "x.yaml:2:18: media.process_count: value 0 is out of range [1, 256]"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

// Deep nesting must end in an error, not a stack overflow (yaml-cpp stops at depth 2000).
TEST(LoaderRobustness, DeepNestingIsRefused) {
  for (const char* open : {"[", "{a: ", "- "}) {
    std::string text;
    for (int i = 0; i < 100000 && text.size() < kMaxConfigBytes / 2; ++i) text += open;
    const Result<v1::Config> result = LoadString(text, "x.yaml");
    ASSERT_FALSE(result.ok()) << open;
    EXPECT_TRUE(result.error().starts_with("x.yaml:")) << result.error();
  }
}

TEST(LoaderRobustness, BinaryInputIsAnError) {
  const std::string text("\0\xff\xfe\x01gateway: {\n", 14);
  const Result<v1::Config> result = LoadString(text, "x.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().starts_with("x.yaml")) << result.error();
  EXPECT_EQ(result.error().find('\n'), std::string::npos);
}

// Checks, field by field, that every default of the schema is in the loaded message:
// the default parsed the way the loader parses it, compared with what was loaded.
void ExpectDefaultsApplied(const Message& message, const std::string& path) {
  const Descriptor& type = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string field_path = path.empty() ? field.name() : path + "." + field.name();
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field.is_repeated()) {
        for (int j = 0; j < reflection.FieldSize(message, &field); ++j) {
          ExpectDefaultsApplied(reflection.GetRepeatedMessage(message, &field, j),
                                field_path + "[" + std::to_string(j) + "]");
        }
        continue;
      }
      EXPECT_TRUE(reflection.HasField(message, &field)) << field_path << " was not created";
      ExpectDefaultsApplied(reflection.GetMessage(message, &field), field_path);
      continue;
    }
    const std::string& text = schema::RulesOf(field).default_value();
    if (text.empty()) continue;
    std::unique_ptr<Message> expected(message.New());
    ASSERT_TRUE(schema::StoreText(text, field, *expected).ok()) << field_path;
    // The loaded message with every other field cleared holds this field alone.
    std::unique_ptr<Message> actual(message.New());
    actual->CopyFrom(message);
    for (int j = 0; j < type.field_count(); ++j) {
      if (type.field(j) != &field) actual->GetReflection()->ClearField(actual.get(), type.field(j));
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*expected, *actual))
        << field_path << " does not hold its default " << text;
  }
}

TEST(LoaderDefaults, AppliedEverywhere) {
  const Result<v1::Config> result = LoadString(kMinimalExample, "minimal.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  ExpectDefaultsApplied(*result, "");
}

// Elements of lists get the defaults of their fields too. Written against the
// descriptor, so it follows the schema as it grows.
TEST(LoaderDefaults, AppliedInsideListElements) {
  const FieldDescriptor* proxy_sets = v1::Signaling::descriptor()->FindFieldByName("proxy_sets");
  if (proxy_sets == nullptr) GTEST_SKIP() << "the schema has no signaling.proxy_sets";
  const Result<v1::Config> result = LoadString(
      "signaling:\n  proxy_sets:\n    - name: p\n      proxies:\n        - address: 192.0.2.1\n" + kCards,
      "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  const Message& signaling = result->signaling();
  ASSERT_EQ(signaling.GetReflection()->FieldSize(signaling, proxy_sets), 1);
  ExpectDefaultsApplied(signaling.GetReflection()->GetRepeatedMessage(signaling, proxy_sets, 0),
                        "signaling.proxy_sets[0]");
}

TEST(LoaderDefaults, ConcreteValues) {
  const Result<v1::Config> result = LoadString(kMinimalExample, "minimal.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  const v1::Config& config = *result;
  EXPECT_EQ(config.gateway().name(), "linegate");
  EXPECT_EQ(config.runtime().runtime_dir(), "/run/linegate");
  EXPECT_EQ(config.runtime().log_level(), v1::LOG_LEVEL_INFO);
  EXPECT_EQ(config.bus().control_endpoint(), "ipc:///run/linegate/control.sock");
  EXPECT_EQ(config.bus().events_endpoint(), "ipc:///run/linegate/events.sock");
  EXPECT_EQ(config.bus().heartbeat_interval_ms(), 500u);
  EXPECT_EQ(config.bus().heartbeat_miss_limit(), 3u);
  EXPECT_EQ(config.bus().request_timeout_ms(), 2000u);
  EXPECT_EQ(config.supervision().restart_backoff_initial_ms(), 200u);
  EXPECT_EQ(config.supervision().restart_backoff_max_ms(), 10000u);
  EXPECT_EQ(config.supervision().crash_loop_limit(), 5u);
  EXPECT_EQ(config.supervision().crash_loop_window_s(), 60u);
  EXPECT_EQ(config.supervision().start_timeout_ms(), 5000u);
  EXPECT_EQ(config.supervision().shutdown_grace_ms(), 3000u);
  EXPECT_EQ(config.signaling().listen_address(), "127.0.0.1");
  EXPECT_EQ(config.signaling().sip_port(), 5060u);
  ASSERT_EQ(config.signaling().transports_size(), 1);
  EXPECT_EQ(config.signaling().transports(0), v1::SIP_TRANSPORT_UDP);
  EXPECT_EQ(config.media().process_count(), 2u);
  EXPECT_EQ(config.media().backend(), v1::PACKET_IO_BACKEND_KERNEL_SOCKETS);
  EXPECT_EQ(config.media().rtp_address(), "127.0.0.1");
  EXPECT_EQ(config.media().rtp_port_min(), 20000u);
  EXPECT_EQ(config.media().rtp_port_max(), 29999u);
  EXPECT_EQ(config.tdm().driver(), v1::TDM_DRIVER_SIM);
  EXPECT_EQ(config.tdm().frame_ms(), 10u);
  ASSERT_EQ(config.tdm().cards_size(), 1);
  EXPECT_EQ(config.tdm().cards(0).name(), "sim0");
  EXPECT_EQ(config.tdm().cards(0).fxs_ports(), 4u);
  EXPECT_EQ(config.tdm().cards(0).fxo_ports(), 2u);
}

TEST(LoaderDefaults, EmptySectionTakesDefaults) {
  const Result<v1::Config> result = LoadString("media:\nbus: {}\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->media().process_count(), 2u);
  EXPECT_EQ(result->bus().heartbeat_interval_ms(), 500u);
}

TEST(LoaderDerived, EndpointsFollowRuntimeDir) {
  const Result<v1::Config> result = LoadString("runtime:\n  runtime_dir: /var/run/lg//\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->bus().control_endpoint(), "ipc:///var/run/lg/control.sock");
  EXPECT_EQ(result->bus().events_endpoint(), "ipc:///var/run/lg/events.sock");
}

TEST(LoaderDerived, WrittenEndpointsAreKept) {
  const Result<v1::Config> result = LoadString(
      "bus:\n  control_endpoint: tcp://127.0.0.1:7000\n  events_endpoint: tcp://*:7001\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->bus().control_endpoint(), "tcp://127.0.0.1:7000");
  EXPECT_EQ(result->bus().events_endpoint(), "tcp://*:7001");
}

TEST(LoaderDerived, EmptyTransportListMeansUdp) {
  const Result<v1::Config> result = LoadString("signaling:\n  transports: []\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  ASSERT_EQ(result->signaling().transports_size(), 1);
  EXPECT_EQ(result->signaling().transports(0), v1::SIP_TRANSPORT_UDP);
}

TEST(LoaderValues, EnumSpellings) {
  for (const char* spelling : {"debug", "DEBUG", "Debug", "LOG_LEVEL_DEBUG", "log_level_debug"}) {
    const Result<v1::Config> result =
        LoadString(std::string("runtime:\n  log_level: ") + spelling + "\n" + kCards, "x.yaml");
    ASSERT_TRUE(result.ok()) << spelling << ": " << result.error();
    EXPECT_EQ(result->runtime().log_level(), v1::LOG_LEVEL_DEBUG) << spelling;
  }
  const Result<v1::Config> result = LoadString(
      "signaling:\n  transports:\n    - tcp\n    - TLS\n    - SIP_TRANSPORT_UDP\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  ASSERT_EQ(result->signaling().transports_size(), 3);
  EXPECT_EQ(result->signaling().transports(0), v1::SIP_TRANSPORT_TCP);
  EXPECT_EQ(result->signaling().transports(1), v1::SIP_TRANSPORT_TLS);
  EXPECT_EQ(result->signaling().transports(2), v1::SIP_TRANSPORT_UDP);
}

TEST(LoaderValues, QuotedNumbersAndBoundaries) {
  const Result<v1::Config> result = LoadString(
      "signaling:\n  sip_port: \"65535\"\nmedia:\n  process_count: 1\n  rtp_port_min: 1024\n  rtp_port_max: "
      "1025\n"
      "tdm:\n  driver: dahdi\n  cards:\n    - name: a\n      fxs_ports: 1\n      dahdi: {first_channel: 1}\n",
      "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->signaling().sip_port(), 65535u);
  EXPECT_EQ(result->media().rtp_port_min(), 1024u);
  EXPECT_EQ(result->media().rtp_port_max(), 1025u);
  EXPECT_EQ(result->tdm().driver(), v1::TDM_DRIVER_DAHDI);
  EXPECT_EQ(result->tdm().cards_size(), 1);
}

TEST(LoaderValues, IPv6Addresses) {
  const Result<v1::Config> result = LoadString(
      "signaling:\n  listen_address: \"::1\"\nmedia:\n  rtp_address: \"fd00::5\"\n" + kCards, "x.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->signaling().listen_address(), "::1");
}

TEST(LoaderFiles, FullExample) {
  const Result<v1::Config> result = LoadFile(kDataDir + "/full.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  const v1::Config& config = *result;
  EXPECT_EQ(config.gateway().name(), "pbx-gw-1");
  EXPECT_EQ(config.runtime().runtime_dir(), "/var/run/linegate");
  EXPECT_EQ(config.runtime().log_level(), v1::LOG_LEVEL_DEBUG);
  EXPECT_EQ(config.bus().control_endpoint(), "tcp://127.0.0.1:7100");
  EXPECT_EQ(config.bus().events_endpoint(), "ipc:///var/run/linegate/events.sock");
  EXPECT_EQ(config.bus().heartbeat_interval_ms(), 250u);
  EXPECT_EQ(config.bus().heartbeat_miss_limit(), 4u);
  EXPECT_EQ(config.bus().request_timeout_ms(), 1500u);
  EXPECT_EQ(config.supervision().restart_backoff_initial_ms(), 100u);
  EXPECT_EQ(config.supervision().restart_backoff_max_ms(), 30000u);
  EXPECT_EQ(config.supervision().crash_loop_limit(), 3u);
  EXPECT_EQ(config.supervision().crash_loop_window_s(), 120u);
  EXPECT_EQ(config.supervision().start_timeout_ms(), 8000u);
  EXPECT_EQ(config.supervision().shutdown_grace_ms(), 2000u);
  EXPECT_EQ(config.signaling().listen_address(), "0.0.0.0");
  EXPECT_EQ(config.signaling().sip_port(), 5070u);
  ASSERT_EQ(config.signaling().transports_size(), 2);
  EXPECT_EQ(config.signaling().transports(0), v1::SIP_TRANSPORT_UDP);
  EXPECT_EQ(config.signaling().transports(1), v1::SIP_TRANSPORT_TCP);
  EXPECT_EQ(config.media().process_count(), 4u);
  EXPECT_EQ(config.media().backend(), v1::PACKET_IO_BACKEND_KERNEL_SOCKETS);
  EXPECT_EQ(config.media().rtp_address(), "192.0.2.10");
  EXPECT_EQ(config.media().rtp_port_min(), 30000u);
  EXPECT_EQ(config.media().rtp_port_max(), 30999u);
  EXPECT_EQ(config.tdm().driver(), v1::TDM_DRIVER_SIM);
  EXPECT_EQ(config.tdm().frame_ms(), 5u);
  ASSERT_EQ(config.tdm().cards_size(), 2);
  EXPECT_EQ(config.tdm().cards(0).name(), "phones");
  EXPECT_EQ(config.tdm().cards(0).fxs_ports(), 8u);
  EXPECT_EQ(config.tdm().cards(0).fxo_ports(), 0u);
  EXPECT_EQ(config.tdm().cards(1).name(), "trunks");
  EXPECT_EQ(config.tdm().cards(1).fxs_ports(), 0u);
  EXPECT_EQ(config.tdm().cards(1).fxo_ports(), 4u);
}

TEST(LoaderFiles, MinimalFileMatchesDocumentedExample) {
  const Result<v1::Config> from_file = LoadFile(kDataDir + "/minimal.yaml");
  ASSERT_TRUE(from_file.ok()) << from_file.error();
  EXPECT_EQ(ReadText(kDataDir + "/minimal.yaml"), kMinimalExample);
}

TEST(LoaderFiles, ErrorNamesThePathGiven) {
  const std::string path = kDataDir + "/invalid/out_of_range.yaml";
  const Result<v1::Config> result = LoadFile(path);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), path + ":7:18: media.process_count: value 0 is out of range [1, 256]");
}

TEST(LoaderFiles, MissingFile) {
  const Result<v1::Config> result = LoadFile("/nonexistent-linegate-dir/nope.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "/nonexistent-linegate-dir/nope.yaml: cannot read file: No such file or directory");
}

TEST(LoaderFiles, Directory) {
  const Result<v1::Config> result = LoadFile(kDataDir);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), kDataDir + ": cannot read file: Is a directory");
}

TEST(LoaderFiles, TooLarge) {
  const std::filesystem::path path =
      std::filesystem::path(testing::TempDir()) / "config_loader_too_large.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(kMaxConfigBytes + 1, '#');
  }
  const Result<v1::Config> result = LoadFile(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), path.string() + ": file is larger than 16777216 bytes");
}

// Every invalid sample in the data folder (also fuzz seeds) fails with a located message.
TEST(LoaderFiles, InvalidSamplesFail) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir + "/invalid")) {
    const Result<v1::Config> result = LoadFile(entry.path().string());
    ASSERT_FALSE(result.ok()) << entry.path();
    EXPECT_TRUE(result.error().starts_with(entry.path().string() + ":")) << result.error();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// The error lines shown in the reference are real output.
TEST(Reference, DocumentedErrorsAreReal) {
  const std::string doc = DescribeSchema();
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"gateway:\n  name: gw\nsignaling:\n  sip_port: 5060\nmedia:\n  backend: kernel_sockets\n  "
       "process_count: 0\n",
       "gateway.yaml:7:18: media.process_count: value 0 is out of range [1, 256]"},
      {"media:\n  backend: dpdk\n  procss_count: 2\n",
       "gateway.yaml:3:3: media.procss_count: unknown field (known fields: " + kMediaFields + ")"},
      {"gateway:\n  name: gw\nbus:\n  heartbeat_interval_ms: fast\n",
       "gateway.yaml:4:26: bus.heartbeat_interval_ms: expected an unsigned integer, got \"fast\""},
      {"# linegate gateway\ngateway:\n  name: gw\ntdm:\n  driver: sim\n  frame_ms: 10\n  cards:\n"
       "    - name: sim0\n      fxs_ports: 4\n      fxo_ports: 2\n    # second card, copied from the first\n"
       "    - name: sim0\n      fxo_ports: 2\n",
       "gateway.yaml:12:13: tdm.cards[1].name: duplicate card name \"sim0\" (also tdm.cards[0])"},
  };
  for (const auto& [yaml, expected] : examples) {
    const Result<v1::Config> result = LoadString(yaml, "gateway.yaml");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error(), expected);
    EXPECT_NE(doc.find(expected), std::string::npos) << "not in the reference: " << expected;
  }
}

TEST(Reference, MinimalExampleLoads) {
  const Result<v1::Config> result = LoadString(kMinimalExample, "minimal.yaml");
  EXPECT_TRUE(result.ok()) << result.error();
}

void CollectFieldNames(const Descriptor& type, std::vector<std::string>& names) {
  for (int i = 0; i < type.field_count(); ++i) {
    names.push_back(type.field(i)->name());
    if (type.field(i)->message_type() != nullptr) CollectFieldNames(*type.field(i)->message_type(), names);
  }
}

TEST(Reference, NamesEveryField) {
  const std::string doc = DescribeSchema();
  std::vector<std::string> names;
  CollectFieldNames(*v1::Config::descriptor(), names);
  for (const std::string& name : names) EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << name;
}

// docs/configuration.md is the generator's output; regenerate rather than edit.
TEST(Reference, DocumentInRepositoryIsCurrent) {
  const std::string generated = DescribeSchema();
  if (std::getenv("LINEGATE_UPDATE_DOCS") != nullptr) {
    std::ofstream(kDocsFile, std::ios::binary | std::ios::trunc) << generated;
  }
  const std::string in_repository = ReadText(kDocsFile);
  if (in_repository == generated) return;
  // Point at the first line that differs rather than printing two whole documents.
  std::istringstream a(in_repository);
  std::istringstream b(generated);
  std::string line_a;
  std::string line_b;
  int line = 0;
  while (true) {
    ++line;
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (line_a != line_b || more_a != more_b) break;
  }
  ADD_FAILURE() << kDocsFile << " is out of date at line " << line << ":\n  in the file: " << line_a
                << "\n  generated:   " << line_b
                << "\nRegenerate it: LINEGATE_UPDATE_DOCS=1 config_loader_test --gtest_filter='Reference.*'";
}

}  // namespace
}  // namespace linegate::config
