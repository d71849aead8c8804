#include "media/packetio/dpdk_io.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_telemetry.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace linegate::media::packetio {
namespace {

using net::DropReason;
using net::Load16;
using net::Store16;
using net::Store32;

constexpr size_t kMaxRxBurst = 64;
constexpr size_t kControlQueue = 64;
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr std::array<uint8_t, 16> kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

// Headers are prepended in the mbuf headroom, in front of the payload AllocateTx hands
// out; the payload area is the data room after the headroom.
static_assert(RTE_PKTMBUF_HEADROOM >=
              net::kEthernetHeaderSize + net::kVlanTagSize + net::kIpv6HeaderSize + net::kUdpHeaderSize);

constexpr std::string_view kEventNames[] = {
    "rx_frames",
    "ipv4_options",
    "arp_requests_answered",
    "arp_requests_sent",
    "gratuitous_arp_sent",
    "neighbours_learned",
    "icmp_echo_replies",
    "icmpv6_echo_replies",
    "neighbour_solicitations_answered",
    "neighbour_solicitations_sent",
    "control_tx_dropped",
    "link_up",
};
static_assert(std::size(kEventNames) == static_cast<size_t>(DpdkEvent::kCount));

// Process-wide EAL and port state: EAL initialises once; a port is driven by one
// DpdkPacketIo at a time and keeps its mempool for the next one (the driver may still
// hold mbufs of it in its rings).
struct ProcessState {
  std::mutex mutex;
  bool eal_tried = false;
  std::string eal_error;  // empty: initialised
  std::array<bool, RTE_MAX_ETHPORTS> port_in_use{};
  std::array<rte_mempool*, RTE_MAX_ETHPORTS> pools{};
  // The live backends, for the telemetry command (read under the mutex).
  std::array<const DpdkPacketIo*, RTE_MAX_ETHPORTS> live{};
  bool telemetry_registered = false;
};

ProcessState& Process() {
  static ProcessState state;
  return state;
}

// `/linegate/packet_io` on DPDK's telemetry socket (dpdk-telemetry.py): the named
// counters of every live backend in this process, keyed "port<N>_<counter>". It runs on
// DPDK's telemetry thread and reads the counters while the media loop updates them: the
// values are aligned 64-bit words (no torn reads on the platforms DPDK supports), a
// snapshot may be a few packets old.
int TelemetryCounters(const char*, const char*, rte_tel_data* data) {
  rte_tel_data_start_dict(data);
  std::lock_guard lock(Process().mutex);
  for (size_t port = 0; port < Process().live.size(); ++port) {
    const DpdkPacketIo* io = Process().live[port];
    if (io == nullptr) continue;
    for (const auto& counter : io->ListCounters()) {
      const std::string key =
          "port" + std::to_string(port) + "_" + counter.name;  // telemetry keys: [A-Za-z0-9_/-]
      rte_tel_data_add_dict_u64(data, key.c_str(), counter.value);
    }
  }
  return 0;
}

std::string DpdkError(const char* what, int code) {
  return std::string(what) + ": " + rte_strerror(code < 0 ? -code : code);
}

bool ParseMac(const std::string& text, net::MacAddress& mac) {
  unsigned octets[6];
  char tail;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &octets[0], &octets[1], &octets[2], &octets[3],
                  &octets[4], &octets[5], &tail) != 6) {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    if (octets[i] > 0xff) return false;
    mac[i] = static_cast<uint8_t>(octets[i]);
  }
  return true;
}

Result<net::IpAddress> ParseIp(const std::string& text, uint8_t family, const char* field) {
  auto endpoint = Endpoint::Parse(text, 0);
  if (!endpoint || endpoint->family != family) {
    return Error{std::string(field) + ": '" + text + "' is not an IPv" + std::to_string(family) + " address"};
  }
  net::IpAddress address;
  address.family = family;
  address.bytes = endpoint->address;
  return address;
}

// "0@(0,1,...)": lcore 0 on every CPU this process may use, so that EAL does not pin
// the calling thread.
std::string FloatingLcore() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      if (!cpus.empty()) cpus += ',';
      cpus += std::to_string(cpu);
    }
  }
  if (cpus.empty()) return "0";
  return "0@(" + cpus + ")";
}

void EnsureLcore() {
  // The engine's thread may not be the one that ran rte_eal_init: register it once, so
  // that it has an lcore id and the mempool's per-lcore cache.
  thread_local bool checked = false;
  if (checked) return;
  checked = true;
  if (rte_lcore_id() == LCORE_ID_ANY) rte_thread_register();
}

bool PrefixMask(const std::array<uint8_t, 16>& address, uint8_t prefix, std::array<uint8_t, 16>& mask,
                std::array<uint8_t, 16>& network) {
  if (prefix > 128) return false;
  for (size_t i = 0; i < 16; ++i) {
    const int bits = std::clamp(static_cast<int>(prefix) - static_cast<int>(i * 8), 0, 8);
    mask[i] = static_cast<uint8_t>(0xff00 >> bits);
    network[i] = address[i] & mask[i];
  }
  return true;
}

}  // namespace

std::string_view DpdkEventName(DpdkEvent event) {
  const auto index = static_cast<size_t>(event);
  return index < std::size(kEventNames) ? kEventNames[index] : "unknown";
}

std::vector<std::string> DpdkPacketIo::EalArguments(const DpdkConfig& config) {
  std::vector<std::string> args;
  args.push_back("--lcores=" + (config.lcores.empty() ? FloatingLcore() : config.lcores));
  if (config.no_huge) {
    args.push_back("--no-huge");
    args.push_back("--no-shconf");  // no runtime files, no multi-process channel thread
  } else if (config.in_memory) {
    args.push_back("--in-memory");
  }
  const uint32_t memory = config.memory_mb != 0 ? config.memory_mb : (config.no_huge ? 256 : 0);
  if (memory != 0) {
    args.push_back("-m");
    args.push_back(std::to_string(memory));
  }
  // Without shared files (--no-shconf, --in-memory) processes with one prefix do not
  // collide, and the runtime directory EAL makes is the same every time.
  std::string prefix = config.file_prefix;
  if (prefix.empty()) {
    prefix = (config.no_huge || config.in_memory) ? "linegate" : "linegate-" + std::to_string(::getpid());
  }
  args.push_back("--file-prefix=" + prefix);
  for (const std::string& vdev : config.vdevs) args.push_back("--vdev=" + vdev);
  for (const std::string& pci : config.pci_allow) {
    args.push_back("-a");
    args.push_back(pci);
  }
  if (config.no_pci) args.push_back("--no-pci");
  if (!config.telemetry) args.push_back("--no-telemetry");
  if (!config.log_level.empty()) args.push_back("--log-level=" + config.log_level);
  args.insert(args.end(), config.extra_eal_args.begin(), config.extra_eal_args.end());
  return args;
}

Status DpdkPacketIo::InitEal(const DpdkConfig& config) {
  ProcessState& process = Process();
  std::lock_guard lock(process.mutex);
  if (process.eal_tried) {
    if (process.eal_error.empty()) return Status::Ok();
    return Error{"EAL failed earlier in this process (it cannot be initialised twice): " + process.eal_error};
  }
  process.eal_tried = true;
  // rte_eal_init may keep pointers into argv: the strings live for the process.
  static std::vector<std::string> storage;
  storage = EalArguments(config);
  storage.insert(storage.begin(), "linegate-media");
  static std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(storage.size()), argv.data()) < 0) {
    std::string joined;
    for (size_t i = 1; i < storage.size(); ++i) joined += " " + storage[i];
    process.eal_error = DpdkError("rte_eal_init", rte_errno) + " (arguments:" + joined + ")";
    return Error{process.eal_error};
  }
  return Status::Ok();
}

DpdkPacketIo::DpdkPacketIo(const DpdkConfig& config)
    : config_(config), neighbours_(config.neighbour_capacity, config.neighbour_timing) {}

DpdkPacketIo::~DpdkPacketIo() {
  if (held_count_ > 0) rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_count_));
  for (size_t i = 0; i < tx_allocated_count_; ++i) rte_pktmbuf_free(tx_allocated_[i]);
  if (tx_queue_count_ > 0) rte_pktmbuf_free_bulk(tx_queue_.data(), static_cast<unsigned>(tx_queue_count_));
  if (control_count_ > 0) rte_pktmbuf_free_bulk(control_.data(), static_cast<unsigned>(control_count_));
  if (started_) rte_eth_dev_stop(port_id_);
  if (pool_ != nullptr) {
    std::lock_guard lock(Process().mutex);
    Process().port_in_use[port_id_] = false;
    Process().live[port_id_] = nullptr;
  }
}

Result<std::unique_ptr<DpdkPacketIo>> DpdkPacketIo::Create(const DpdkConfig& config) {
  if (config.rx_burst == 0 || config.rx_burst > kMaxRxBurst) return Error{"rx_burst must be 1..64"};
  if (config.max_receive == 0 || config.max_receive > 4096) return Error{"max_receive must be 1..4096"};
  if (config.tx_burst == 0 || config.tx_burst > 8192) return Error{"tx_burst must be 1..8192"};
  // A frame must fit one mbuf's data room (kBufferSize): no scattered receive.
  constexpr uint16_t kMaxMtu = kBufferSize - net::kEthernetHeaderSize - net::kVlanTagSize;
  if (config.mtu < 576 || config.mtu > kMaxMtu) {
    return Error{"mtu must be 576.." + std::to_string(kMaxMtu) + " (a frame fits one buffer)"};
  }
  if (config.vlan_id > 4094 || config.vlan_id == 0 || config.vlan_id < -1)
    return Error{"vlan_id must be 1..4094 or -1"};
  if (config.dscp < 0 || config.dscp > 63) return Error{"dscp must be 0..63"};
  if (config.ephemeral_first == 0 || config.ephemeral_first > config.ephemeral_last) {
    return Error{"ephemeral port range is empty"};
  }
  if (config.mempool_size <
      config.rx_descriptors + config.tx_descriptors + config.tx_burst + config.max_receive) {
    return Error{"mempool_size must cover the RX and TX rings, tx_burst and max_receive"};
  }
  std::unique_ptr<DpdkPacketIo> io(new DpdkPacketIo(config));
  net::ParseContext& context = io->context_;
  auto v4 = ParseIp(config.ipv4_address, 4, "ipv4_address");
  if (!v4) return Error{v4.error()};
  std::memcpy(context.ipv4.data(), v4->bytes.data(), 4);
  if (config.ipv4_prefix > 32) return Error{"ipv4_prefix must be 0..32"};
  io->ipv4_mask_ = config.ipv4_prefix == 0 ? 0 : ~uint32_t{0} << (32 - config.ipv4_prefix);
  if (!config.ipv4_gateway.empty()) {
    auto gateway = ParseIp(config.ipv4_gateway, 4, "ipv4_gateway");
    if (!gateway) return Error{gateway.error()};
    io->ipv4_gateway_ = *gateway;
  }
  if (!config.ipv6_address.empty()) {
    auto v6 = ParseIp(config.ipv6_address, 6, "ipv6_address");
    if (!v6) return Error{v6.error()};
    context.has_ipv6 = true;
    context.ipv6 = v6->bytes;
    if (!PrefixMask(context.ipv6, config.ipv6_prefix, io->ipv6_mask_, io->ipv6_network_)) {
      return Error{"ipv6_prefix must be 0..128"};
    }
    if (!config.ipv6_gateway.empty()) {
      auto gateway = ParseIp(config.ipv6_gateway, 6, "ipv6_gateway");
      if (!gateway) return Error{gateway.error()};
      io->ipv6_gateway_ = *gateway;
    }
  }
  if (!config.mac.empty() && !ParseMac(config.mac, context.mac))
    return Error{"mac: '" + config.mac + "' is not a MAC"};
  context.vlan_id = config.vlan_id;
  for (const auto& [ip, mac_text] : config.static_neighbours) {
    net::MacAddress mac;
    auto address = Endpoint::Parse(ip, 0);
    if (!address || !ParseMac(mac_text, mac))
      return Error{"static neighbour '" + ip + "' / '" + mac_text + "'"};
    net::IpAddress key;
    key.family = address->family;
    key.bytes = address->address;
    if (!io->neighbours_.AddStatic(key, mac)) return Error{"no room for static neighbour " + ip};
  }

  if (Status eal = InitEal(config); !eal) return Error{eal.error()};
  if (Status started = io->Start(); !started) return Error{started.error()};
  io->AnnounceAddress();
  io->SendControl();
  {
    std::lock_guard lock(Process().mutex);
    Process().live[io->port_id_] = io.get();
    if (!Process().telemetry_registered) {
      Process().telemetry_registered = true;
      rte_telemetry_register_cmd("/linegate/packet_io", TelemetryCounters,
                                 "linegate media packet I/O counters by port. Takes no parameters");
    }
  }
  return io;
}

Status DpdkPacketIo::Start() {
  // The port.
  uint16_t port = RTE_MAX_ETHPORTS;
  if (config_.port.empty()) {
    uint16_t first;
    RTE_ETH_FOREACH_DEV(first) {
      port = first;
      break;
    }
    if (port == RTE_MAX_ETHPORTS)
      return Error{"DPDK found no Ethernet port (bind a NIC to vfio-pci or add a vdev)"};
  } else if (rte_eth_dev_get_port_by_name(config_.port.c_str(), &port) != 0) {
    char* end = nullptr;
    const unsigned long number = std::strtoul(config_.port.c_str(), &end, 10);
    if (end == config_.port.c_str() || *end != '\0' || number >= RTE_MAX_ETHPORTS ||
        !rte_eth_dev_is_valid_port(static_cast<uint16_t>(number))) {
      return Error{"DPDK port '" + config_.port + "' not found"};
    }
    port = static_cast<uint16_t>(number);
  }
  {
    ProcessState& process = Process();
    std::lock_guard lock(process.mutex);
    if (process.port_in_use[port]) return Error{"DPDK port " + std::to_string(port) + " is already in use"};
    const int socket = rte_eth_dev_socket_id(port);
    if (process.pools[port] == nullptr) {
      const std::string name = "linegate_port" + std::to_string(port);
      process.pools[port] =
          rte_pktmbuf_pool_create(name.c_str(), config_.mempool_size, config_.mempool_cache, 0,
                                  RTE_PKTMBUF_HEADROOM + kBufferSize, socket < 0 ? SOCKET_ID_ANY : socket);
      if (process.pools[port] == nullptr) return Error{DpdkError("rte_pktmbuf_pool_create", rte_errno)};
    }
    process.port_in_use[port] = true;
    pool_ = process.pools[port];
  }
  port_id_ = port;

  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0)
    return Error{DpdkError("rte_eth_dev_info_get", rc)};
  rte_eth_conf conf{};
  if (config_.checksum_offload) {
    rx_ip_checksum_offload_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
    rx_l4_checksum_offload_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
    tx_ip_checksum_offload_ = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
    tx_udp_checksum_offload_ = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  }
  if (rx_ip_checksum_offload_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if (rx_l4_checksum_offload_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  if (tx_ip_checksum_offload_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (tx_udp_checksum_offload_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  // Every mbuf comes from one pool with a reference count of one.
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  if (config_.mtu > info.max_mtu || config_.mtu < info.min_mtu) {
    return Error{"mtu " + std::to_string(config_.mtu) + " is outside the port's " +
                 std::to_string(info.min_mtu) + ".." + std::to_string(info.max_mtu)};
  }
  conf.rxmode.mtu = config_.mtu;
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0)
    return Error{DpdkError("rte_eth_dev_configure", rc)};
  uint16_t rx_descriptors = config_.rx_descriptors;
  uint16_t tx_descriptors = config_.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_descriptors, &tx_descriptors); rc != 0) {
    return Error{DpdkError("rte_eth_dev_adjust_nb_rx_tx_desc", rc)};
  }
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned queue_socket =
      socket < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(socket);
  rte_eth_rxconf rxconf = info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  if (int rc = rte_eth_rx_queue_setup(port, 0, rx_descriptors, queue_socket, &rxconf, pool_); rc != 0) {
    return Error{DpdkError("rte_eth_rx_queue_setup", rc)};
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  if (int rc = rte_eth_tx_queue_setup(port, 0, tx_descriptors, queue_socket, &txconf); rc != 0) {
    return Error{DpdkError("rte_eth_tx_queue_setup", rc)};
  }

  // The MAC: the port's, or the configured one (set on the port, else promiscuous).
  rte_ether_addr port_mac;
  if (int rc = rte_eth_macaddr_get(port, &port_mac); rc != 0)
    return Error{DpdkError("rte_eth_macaddr_get", rc)};
  bool promiscuous = config_.promiscuous;
  if (config_.mac.empty()) {
    std::memcpy(context_.mac.data(), port_mac.addr_bytes, 6);
  } else if (std::memcmp(context_.mac.data(), port_mac.addr_bytes, 6) != 0) {
    rte_ether_addr wanted;
    std::memcpy(wanted.addr_bytes, context_.mac.data(), 6);
    if (rte_eth_dev_default_mac_addr_set(port, &wanted) != 0) promiscuous = true;
  }
  if (context_.has_ipv6) {
    context_.ipv6_link_local = net::LinkLocalFromMac(context_.mac);
    // Neighbour solicitations arrive on the solicited-node groups of our addresses.
    std::array<rte_ether_addr, 3> groups;
    const auto solicited = net::SolicitedNodeAddress(context_.ipv6);
    const auto solicited_local = net::SolicitedNodeAddress(context_.ipv6_link_local);
    const net::MacAddress macs[3] = {net::Ipv6MulticastMac(solicited.data()),
                                     net::Ipv6MulticastMac(solicited_local.data()),
                                     net::Ipv6MulticastMac(kAllNodes.data())};
    for (size_t i = 0; i < 3; ++i) std::memcpy(groups[i].addr_bytes, macs[i].data(), 6);
    if (rte_eth_dev_set_mc_addr_list(port, groups.data(), 3) != 0) rte_eth_allmulticast_enable(port);
  }
  if (promiscuous) rte_eth_promiscuous_enable(port);
  if (int rc = rte_eth_dev_start(port); rc != 0) return Error{DpdkError("rte_eth_dev_start", rc)};
  started_ = true;

  // Receive and transmit state, all allocated here.
  port_to_flow_.assign(65536, kNoFlow);
  flow_ports_.reserve(65536);
  free_flows_.reserve(65536);
  next_ephemeral_ = config_.ephemeral_first;
  held_.resize(config_.max_receive);
  to_free_.resize(kMaxRxBurst);
  tx_allocated_.resize(config_.tx_burst);
  tx_queue_.resize(config_.tx_burst);
  tx_payload_bytes_.resize(config_.tx_burst);
  control_.resize(kControlQueue);
  tsc_per_ms_ = std::max<uint64_t>(1, rte_get_tsc_hz() / 1000);
  now_ms_ = NowMs();
  next_tick_ms_ = now_ms_ + 1000;
  rte_eth_link link{};
  link_up_ = rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;

  // Transmit templates: everything but the destination MAC and address, lengths, ports
  // and checksums.
  l2_length_ = WriteEthernet(header_v4_.data(), net::kBroadcastMac.data(), net::kEtherTypeIpv4);
  uint8_t* ip = header_v4_.data() + l2_length_;
  ip[0] = 0x45;
  ip[1] = static_cast<uint8_t>(config_.dscp << 2);
  Store16(ip + 6, 0x4000);  // don't fragment
  ip[8] = config_.ttl;
  ip[9] = net::kProtocolUdp;
  std::memcpy(ip + 12, context_.ipv4.data(), 4);
  WriteEthernet(header_v6_.data(), net::kBroadcastMac.data(), net::kEtherTypeIpv6);
  ip = header_v6_.data() + l2_length_;
  Store32(ip, (6u << 28) | (static_cast<uint32_t>(config_.dscp) << 22));
  ip[6] = net::kProtocolUdp;
  ip[7] = config_.ttl;
  std::memcpy(ip + 8, context_.ipv6.data(), 16);
  return Status::Ok();
}

uint64_t DpdkPacketIo::NowMs() const { return rte_get_tsc_cycles() / tsc_per_ms_; }

void DpdkPacketIo::Tick() {
  next_tick_ms_ = now_ms_ + 1000;
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id_, &link) != 0) return;
  const bool up = link.link_status == RTE_ETH_LINK_UP;
  if (up && !link_up_) {
    // The announcement Create sent may have gone out before the link was up.
    Count(DpdkEvent::kLinkUp);
    AnnounceAddress();
  }
  link_up_ = up;
}

Result<FlowId> DpdkPacketIo::OpenFlow(uint16_t local_port) {
  if (local_port == 0) {
    const uint32_t range = uint32_t{config_.ephemeral_last} - config_.ephemeral_first + 1;
    for (uint32_t attempt = 0; attempt < range && local_port == 0; ++attempt) {
      const uint32_t candidate = next_ephemeral_;
      next_ephemeral_ = candidate >= config_.ephemeral_last ? config_.ephemeral_first : candidate + 1;
      if (port_to_flow_[candidate] == kNoFlow) local_port = static_cast<uint16_t>(candidate);
    }
    if (local_port == 0) return Error{"no free port in the ephemeral range"};
  } else if (port_to_flow_[local_port] != kNoFlow) {
    return Error{"port " + std::to_string(local_port) + " is already open"};
  }
  FlowId id;
  if (!free_flows_.empty()) {
    id = free_flows_.back();
    free_flows_.pop_back();
    flow_ports_[id] = local_port;
  } else {
    id = static_cast<FlowId>(flow_ports_.size());
    flow_ports_.push_back(local_port);
  }
  port_to_flow_[local_port] = id;
  ++open_flows_;
  return id;
}

void DpdkPacketIo::CloseFlow(FlowId flow) {
  if (flow >= flow_ports_.size() || flow_ports_[flow] == 0) return;
  port_to_flow_[flow_ports_[flow]] = kNoFlow;
  flow_ports_[flow] = 0;
  free_flows_.push_back(flow);
  --open_flows_;
}

uint16_t DpdkPacketIo::LocalPort(FlowId flow) const {
  return flow < flow_ports_.size() ? flow_ports_[flow] : 0;
}

size_t DpdkPacketIo::Receive(std::span<Packet> out) {
  EnsureLcore();
  if (held_count_ > 0) {
    rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_count_));
    held_count_ = 0;
  }
  now_ms_ = NowMs();
  if (now_ms_ >= next_tick_ms_) Tick();
  const size_t capacity = std::min<size_t>(out.size(), held_.size());
  size_t filled = 0;
  std::array<rte_mbuf*, kMaxRxBurst> burst;
  while (filled < capacity) {
    // Never take more frames than there are slots left: each may be a packet to deliver.
    const auto want = static_cast<uint16_t>(std::min<size_t>(config_.rx_burst, capacity - filled));
    const uint16_t n = rte_eth_rx_burst(port_id_, 0, burst.data(), want);
    ++counters_.rx_calls;
    events_[static_cast<size_t>(DpdkEvent::kRxFrames)] += n;
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(burst[i], void*));
    for (uint16_t i = 0; i < n; ++i) HandleFrame(burst[i], out, filled);
    if (to_free_count_ > 0) {
      rte_pktmbuf_free_bulk(to_free_.data(), static_cast<unsigned>(to_free_count_));
      to_free_count_ = 0;
    }
    if (n < want) break;
  }
  if (control_count_ > 0) SendControl();
  return filled;
}

void DpdkPacketIo::HandleFrame(rte_mbuf* mbuf, std::span<Packet> out, size_t& filled) {
  uint8_t* frame = rte_pktmbuf_mtod(mbuf, uint8_t*);
  net::ParsedFrame parsed;
  if (mbuf->nb_segs != 1) {
    Drop(DropReason::kOversize);
    ++counters_.rx_truncated;
    to_free_[to_free_count_++] = mbuf;
    return;
  }
  net::HwChecksum ip_checksum = net::HwChecksum::kUnknown;
  if (rx_ip_checksum_offload_) {
    const uint64_t flags = mbuf->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD) ip_checksum = net::HwChecksum::kGood;
    if (flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) ip_checksum = net::HwChecksum::kBad;
  }
  net::ParseFrame(frame, mbuf->data_len, context_, ip_checksum, parsed);
  bool consumed = false;
  switch (parsed.kind) {
    case net::FrameKind::kUdp: {
      const FlowId flow = port_to_flow_[parsed.destination_port];
      if (flow == kNoFlow) {
        Drop(DropReason::kUdpPortClosed);
        break;
      }
      const uint32_t payload = parsed.l4_length - net::kUdpHeaderSize;
      if (payload > kBufferSize) {
        Drop(DropReason::kOversize);
        ++counters_.rx_truncated;
        break;
      }
      bool checksum_ok;
      const uint64_t l4_flags = mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
      if (rx_l4_checksum_offload_ && l4_flags != RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN) {
        checksum_ok = l4_flags != RTE_MBUF_F_RX_L4_CKSUM_BAD;
      } else {
        checksum_ok = net::VerifyUdpChecksum(frame, parsed);
      }
      if (!checksum_ok) {
        Drop(DropReason::kUdpBadChecksum);
        break;
      }
      if (parsed.ipv4_options) Count(DpdkEvent::kIpv4Options);
      Packet& packet = out[filled++];
      packet.data = frame + parsed.l4_offset + net::kUdpHeaderSize;
      packet.length = payload;
      packet.flow = flow;
      packet.remote.port = parsed.source_port;
      const uint8_t* ip = frame + parsed.l3_offset;
      if (parsed.ip_version == 4) {
        packet.remote.family = 4;
        packet.remote.address = {};  // the slot may have held an IPv6 address: Endpoint compares all 16
        std::memcpy(packet.remote.address.data(), ip + 12, 4);
      } else {
        packet.remote.family = 6;
        std::memcpy(packet.remote.address.data(), ip + 8, 16);
      }
      ++counters_.rx_packets;
      counters_.rx_bytes += payload;
      held_[held_count_++] = mbuf;
      return;
    }
    case net::FrameKind::kArp:
      consumed = HandleArp(mbuf, frame, parsed);
      break;
    case net::FrameKind::kIcmpv4:
      consumed = HandleIcmpv4(mbuf, frame, parsed);
      break;
    case net::FrameKind::kIcmpv6:
      consumed = HandleIcmpv6(mbuf, frame, parsed);
      break;
    case net::FrameKind::kDrop:
      Drop(parsed.reason);
      break;
  }
  if (!consumed) to_free_[to_free_count_++] = mbuf;
}

bool DpdkPacketIo::EchoAllowed() {
  const uint64_t second = now_ms_ / 1000;
  if (second != echo_second_) {
    echo_second_ = second;
    echo_replies_ = 0;
  }
  if (echo_replies_ >= config_.echo_replies_per_second) {
    Drop(DropReason::kIcmpRateLimited);
    return false;
  }
  ++echo_replies_;
  return true;
}

void DpdkPacketIo::ReplyInPlace(rte_mbuf* mbuf, size_t frame_length) {
  mbuf->data_len = static_cast<uint16_t>(frame_length);
  mbuf->pkt_len = static_cast<uint32_t>(frame_length);
  mbuf->ol_flags = 0;  // the receive flags, not transmit requests
  QueueControl(mbuf);
}

bool DpdkPacketIo::HandleArp(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed) {
  uint8_t* arp = frame + parsed.l3_offset;
  const uint16_t operation = Load16(arp + 6);
  uint8_t* sender_mac = arp + 8;
  uint8_t* sender_ip = arp + 14;
  uint8_t* target_ip = arp + 24;
  const bool for_us = std::memcmp(target_ip, context_.ipv4.data(), 4) == 0;
  const bool probe = net::Load32(sender_ip) == 0;  // RFC 5227 probe: nothing to learn
  if (!probe) {
    net::MacAddress mac;
    std::memcpy(mac.data(), sender_mac, 6);
    if (neighbours_.Learn(net::IpAddress::V4(sender_ip), mac, now_ms_, for_us) &&
        operation == net::kArpReply) {
      Count(DpdkEvent::kNeighboursLearned);
    }
  }
  if (!for_us) {
    Drop(DropReason::kArpNotForUs);
    return false;
  }
  if (operation != net::kArpRequest) return false;
  // The reply, in place: the request's frame turned around (VLAN tag kept).
  std::memcpy(frame, sender_mac, 6);
  std::memcpy(frame + 6, context_.mac.data(), 6);
  Store16(arp + 6, net::kArpReply);
  std::memcpy(arp + 18, sender_mac, 6);  // target MAC := the asker
  std::memcpy(target_ip, sender_ip, 4);  // target IP := the asker's
  std::memcpy(sender_mac, context_.mac.data(), 6);
  std::memcpy(sender_ip, context_.ipv4.data(), 4);
  Count(DpdkEvent::kArpRequestsAnswered);
  ReplyInPlace(mbuf, parsed.l3_offset + net::kArpSize);
  return true;
}

bool DpdkPacketIo::HandleIcmpv4(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed) {
  // An echo request (ParseFrame checked type and checksum): the reply, in place, back to
  // the MAC it came from (the sender, or the router it came through).
  if (!EchoAllowed()) return false;
  uint8_t* ip = frame + parsed.l3_offset;
  uint8_t* icmp = frame + parsed.l4_offset;
  const size_t header_length = parsed.l4_offset - parsed.l3_offset;
  std::memcpy(frame, frame + 6, 6);
  std::memcpy(frame + 6, context_.mac.data(), 6);
  std::memcpy(ip + 16, ip + 12, 4);
  std::memcpy(ip + 12, context_.ipv4.data(), 4);
  ip[8] = config_.ttl;
  Store16(ip + 10, 0);
  Store16(ip + 10, net::Ipv4HeaderChecksum(ip, header_length));
  icmp[0] = net::kIcmpEchoReply;
  Store16(icmp + 2, 0);
  Store16(icmp + 2, net::ChecksumFinish(net::ChecksumAdd(icmp, parsed.l4_length)));
  Count(DpdkEvent::kIcmpEchoReplies);
  ReplyInPlace(mbuf, parsed.l4_offset + parsed.l4_length);  // padding off
  return true;
}

bool DpdkPacketIo::HandleIcmpv6(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed) {
  uint8_t* ip = frame + parsed.l3_offset;
  uint8_t* icmp = frame + parsed.l4_offset;
  uint8_t* source = ip + 8;
  uint8_t* destination = ip + 24;
  const uint8_t type = icmp[0];
  auto finish = [&](size_t icmp_length) {
    Store16(ip + 4, static_cast<uint16_t>(icmp_length));
    Store16(icmp + 2, 0);
    Store16(icmp + 2,
            net::TransportChecksum(ip, icmp, static_cast<uint32_t>(icmp_length), net::kProtocolIcmpv6));
    ReplyInPlace(mbuf, parsed.l4_offset + icmp_length);
  };

  if (type == net::kIcmpv6EchoRequest) {
    if (destination[0] == 0xff) {  // echo to a group: not answered
      Drop(DropReason::kIcmpIgnored);
      return false;
    }
    if (!EchoAllowed()) return false;
    std::memcpy(frame, frame + 6, 6);
    std::memcpy(frame + 6, context_.mac.data(), 6);
    uint8_t ours[16];
    std::memcpy(ours, destination, 16);
    std::memcpy(destination, source, 16);
    std::memcpy(source, ours, 16);
    ip[7] = config_.ttl;
    icmp[0] = net::kIcmpv6EchoReply;
    Count(DpdkEvent::kIcmpv6EchoReplies);
    finish(parsed.l4_length);
    return true;
  }
  // Neighbour discovery (RFC 4861): hop limit 255, code 0, a target, then options.
  constexpr size_t kNdSize = 24;
  if (ip[7] != 255 || icmp[1] != 0 || parsed.l4_length < kNdSize) {
    Drop(DropReason::kIcmpMalformed);
    return false;
  }
  const uint8_t* target = icmp + 8;
  const uint8_t* link_address = nullptr;  // source (NS) or target (NA) link-layer option
  for (size_t offset = kNdSize; offset + 8 <= parsed.l4_length;) {
    const size_t option_length = size_t{icmp[offset + 1]} * 8;
    if (option_length == 0 || offset + option_length > parsed.l4_length) {
      Drop(DropReason::kIcmpMalformed);
      return false;
    }
    const uint8_t option = icmp[offset];
    if ((option == 1 && type == net::kIcmpv6NeighbourSolicitation) ||
        (option == 2 && type == net::kIcmpv6NeighbourAdvertisement)) {
      link_address = icmp + offset + 2;
    }
    offset += option_length;
  }
  net::MacAddress mac{};
  if (link_address != nullptr) std::memcpy(mac.data(), link_address, 6);
  if (type == net::kIcmpv6NeighbourAdvertisement) {
    if (link_address != nullptr && neighbours_.Learn(net::IpAddress::V6(target), mac, now_ms_, false)) {
      Count(DpdkEvent::kNeighboursLearned);
    }
    return false;
  }
  // A solicitation: answer when it asks for one of our addresses.
  const bool ours = std::memcmp(target, context_.ipv6.data(), 16) == 0 ||
                    std::memcmp(target, context_.ipv6_link_local.data(), 16) == 0;
  if (!ours) {
    Drop(DropReason::kIcmpIgnored);
    return false;
  }
  static constexpr uint8_t kUnspecified[16] = {};
  const bool duplicate_detection = std::memcmp(source, kUnspecified, 16) == 0;
  if (!duplicate_detection && link_address != nullptr) {
    neighbours_.Learn(net::IpAddress::V6(source), mac, now_ms_, true);
  }
  // The advertisement, in place.
  if (duplicate_detection) {
    std::memcpy(frame, net::Ipv6MulticastMac(kAllNodes.data()).data(), 6);
    std::memcpy(destination, kAllNodes.data(), 16);
  } else {
    std::memcpy(frame, link_address != nullptr ? link_address : frame + 6, 6);
    std::memcpy(destination, source, 16);
  }
  std::memcpy(frame + 6, context_.mac.data(), 6);
  std::memcpy(source, target, 16);
  Store32(ip, 6u << 28);
  ip[7] = 255;
  icmp[0] = net::kIcmpv6NeighbourAdvertisement;
  icmp[4] = duplicate_detection ? 0x20 : 0x60;  // solicited (unless DAD), override
  icmp[5] = icmp[6] = icmp[7] = 0;
  // Target stays; one option: our link-layer address.
  icmp[24] = 2;
  icmp[25] = 1;
  std::memcpy(icmp + 26, context_.mac.data(), 6);
  Count(DpdkEvent::kNeighbourSolicitationsAnswered);
  finish(32);
  return true;
}

size_t DpdkPacketIo::WriteEthernet(uint8_t* frame, const uint8_t* destination, uint16_t ether_type) const {
  std::memcpy(frame, destination, 6);
  std::memcpy(frame + 6, context_.mac.data(), 6);
  if (config_.vlan_id < 0) {
    Store16(frame + 12, ether_type);
    return net::kEthernetHeaderSize;
  }
  Store16(frame + 12, net::kEtherTypeVlan);
  Store16(frame + 14, static_cast<uint16_t>((config_.vlan_priority << 13) | config_.vlan_id));
  Store16(frame + 16, ether_type);
  return net::kEthernetHeaderSize + net::kVlanTagSize;
}

void DpdkPacketIo::SendArp(uint16_t operation, const uint8_t* target_mac, const uint8_t* target_ip) {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr) {
    Count(DpdkEvent::kControlTxDropped);
    return;
  }
  auto* frame =
      reinterpret_cast<uint8_t*>(rte_pktmbuf_append(mbuf, static_cast<uint16_t>(l2_length_ + net::kArpSize)));
  const bool request = operation == net::kArpRequest;
  uint8_t* arp =
      frame + WriteEthernet(frame, request ? net::kBroadcastMac.data() : target_mac, net::kEtherTypeArp);
  Store16(arp, kArpHardwareEthernet);
  Store16(arp + 2, net::kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  Store16(arp + 6, operation);
  std::memcpy(arp + 8, context_.mac.data(), 6);
  std::memcpy(arp + 14, context_.ipv4.data(), 4);
  if (request) {
    std::memset(arp + 18, 0, 6);
  } else {
    std::memcpy(arp + 18, target_mac, 6);
  }
  std::memcpy(arp + 24, target_ip, 4);
  QueueControl(mbuf);
}

void DpdkPacketIo::AnnounceAddress() {
  // RFC 5227 announcement: a request for our own address, from it.
  SendArp(net::kArpRequest, nullptr, context_.ipv4.data());
  Count(DpdkEvent::kGratuitousArpSent);
}

void DpdkPacketIo::SendNeighbourSolicitation(const net::IpAddress& target) {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr) {
    Count(DpdkEvent::kControlTxDropped);
    return;
  }
  constexpr size_t kLength = 32;  // header, target, source link-layer option
  auto* frame = reinterpret_cast<uint8_t*>(
      rte_pktmbuf_append(mbuf, static_cast<uint16_t>(l2_length_ + net::kIpv6HeaderSize + kLength)));
  const auto group = net::SolicitedNodeAddress(target.bytes);
  uint8_t* ip = frame + WriteEthernet(frame, net::Ipv6MulticastMac(group.data()).data(), net::kEtherTypeIpv6);
  Store32(ip, 6u << 28);
  Store16(ip + 4, kLength);
  ip[6] = net::kProtocolIcmpv6;
  ip[7] = 255;
  const bool link_local = target.bytes[0] == 0xfe && (target.bytes[1] & 0xc0) == 0x80;
  std::memcpy(ip + 8, link_local ? context_.ipv6_link_local.data() : context_.ipv6.data(), 16);
  std::memcpy(ip + 24, group.data(), 16);
  uint8_t* icmp = ip + net::kIpv6HeaderSize;
  std::memset(icmp, 0, kLength);
  icmp[0] = net::kIcmpv6NeighbourSolicitation;
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = 1;
  icmp[25] = 1;
  std::memcpy(icmp + 26, context_.mac.data(), 6);
  Store16(icmp + 2, net::TransportChecksum(ip, icmp, kLength, net::kProtocolIcmpv6));
  QueueControl(mbuf);
}

void DpdkPacketIo::QueueControl(rte_mbuf* mbuf) {
  if (control_count_ == control_.size()) {
    rte_pktmbuf_free(mbuf);
    Count(DpdkEvent::kControlTxDropped);
    return;
  }
  control_[control_count_++] = mbuf;
}

void DpdkPacketIo::SendControl() {
  if (control_count_ == 0) return;
  const auto count = static_cast<uint16_t>(control_count_);
  uint16_t sent = rte_eth_tx_burst(port_id_, 0, control_.data(), count);
  if (sent < count)
    sent = static_cast<uint16_t>(sent + rte_eth_tx_burst(port_id_, 0, control_.data() + sent, count - sent));
  if (sent < count) {
    rte_pktmbuf_free_bulk(control_.data() + sent, count - sent);
    events_[static_cast<size_t>(DpdkEvent::kControlTxDropped)] += count - sent;
  }
  control_count_ = 0;
}

uint8_t* DpdkPacketIo::AllocateTx() {
  EnsureLcore();
  if (tx_allocated_count_ >= tx_allocated_.size()) return nullptr;
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr) {
    ++drops_[static_cast<size_t>(DropReason::kTxNoBuffer)];
    return nullptr;
  }
  tx_allocated_[tx_allocated_count_++] = mbuf;
  return rte_pktmbuf_mtod(mbuf, uint8_t*);
}

net::IpAddress DpdkPacketIo::NextHop(const Endpoint& destination) const {
  if (destination.family == 4) {
    const uint32_t address = net::Load32(destination.address.data());
    if (((address ^ net::Load32(context_.ipv4.data())) & ipv4_mask_) == 0) {
      return net::IpAddress::V4(destination.address.data());
    }
    return ipv4_gateway_;
  }
  if (destination.family != 6 || !context_.has_ipv6) return {};
  const auto& address = destination.address;
  bool on_link = address[0] == 0xfe && (address[1] & 0xc0) == 0x80;
  if (!on_link) {
    on_link = true;
    for (size_t i = 0; i < 16 && on_link; ++i) on_link = (address[i] & ipv6_mask_[i]) == ipv6_network_[i];
  }
  return on_link ? net::IpAddress::V6(address.data()) : ipv6_gateway_;
}

void DpdkPacketIo::QueueTx(const Packet& packet) {
  // The buffer: normally the one AllocateTx handed out last.
  // The buffer's slot: the newest (allocate, fill, queue), else the one after the last
  // queued (allocate a batch, queue in order), else a search.
  auto holds = [&](size_t i) {
    return tx_allocated_[i] != nullptr && rte_pktmbuf_mtod(tx_allocated_[i], uint8_t*) == packet.data;
  };
  size_t slot = tx_allocated_count_;
  if (tx_allocated_count_ > 0 && holds(tx_allocated_count_ - 1)) {
    slot = tx_allocated_count_ - 1;
  } else if (tx_next_slot_ < tx_allocated_count_ && holds(tx_next_slot_)) {
    slot = tx_next_slot_;
  } else {
    for (size_t i = 0; i < tx_allocated_count_; ++i) {
      if (holds(i)) {
        slot = i;
        break;
      }
    }
  }
  if (slot >= tx_allocated_count_ || packet.flow >= flow_ports_.size() || flow_ports_[packet.flow] == 0) {
    DropTx(DropReason::kTxBadFlow);
    return;  // a handed-out buffer stays allocated until Flush frees it
  }
  rte_mbuf* mbuf = tx_allocated_[slot];
  tx_allocated_[slot] = nullptr;
  tx_next_slot_ = slot + 1;
  auto fail = [&](DropReason reason) {
    rte_pktmbuf_free(mbuf);
    DropTx(reason);
  };
  const bool v6 = packet.remote.family == 6;
  const size_t ip_length = v6 ? net::kIpv6HeaderSize : net::kIpv4HeaderSize;
  if (packet.length + ip_length + net::kUdpHeaderSize > config_.mtu) return fail(DropReason::kTxOversize);
  const net::IpAddress next_hop = NextHop(packet.remote);
  if (next_hop.family == 0) return fail(DropReason::kTxNoRoute);
  const NeighbourTable::Lookup neighbour = neighbours_.Resolve(next_hop, now_ms_);
  if (neighbour.send_request) {
    if (v6) {
      SendNeighbourSolicitation(next_hop);
      Count(DpdkEvent::kNeighbourSolicitationsSent);
    } else {
      SendArp(net::kArpRequest, nullptr, next_hop.bytes.data());
      Count(DpdkEvent::kArpRequestsSent);
    }
  }
  if (neighbour.mac == nullptr) return fail(DropReason::kTxNeighbourUnresolved);

  const size_t header_length = l2_length_ + ip_length + net::kUdpHeaderSize;
  const auto udp_length = static_cast<uint16_t>(packet.length + net::kUdpHeaderSize);
  mbuf->data_len = static_cast<uint16_t>(packet.length);
  mbuf->pkt_len = packet.length;
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(mbuf, static_cast<uint16_t>(header_length)));
  std::memcpy(frame, v6 ? header_v6_.data() : header_v4_.data(), header_length);
  std::memcpy(frame, neighbour.mac->data(), 6);
  uint8_t* ip = frame + l2_length_;
  uint8_t* udp = ip + ip_length;
  Store16(udp, flow_ports_[packet.flow]);
  Store16(udp + 2, packet.remote.port);
  Store16(udp + 4, udp_length);
  if (v6) {
    Store16(ip + 4, udp_length);
    const auto& destination = packet.remote.address;
    if (destination[0] == 0xfe && (destination[1] & 0xc0) == 0x80) {
      std::memcpy(ip + 8, context_.ipv6_link_local.data(), 16);
    }
    std::memcpy(ip + 24, destination.data(), 16);
  } else {
    Store16(ip + 2, static_cast<uint16_t>(udp_length + net::kIpv4HeaderSize));
    Store16(ip + 4, ip_id_++);
    std::memcpy(ip + 16, packet.remote.address.data(), 4);
    if (tx_ip_checksum_offload_) {
      mbuf->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else {
      Store16(ip + 10, net::Ipv4HeaderChecksum(ip, net::kIpv4HeaderSize));
    }
  }
  if (tx_udp_checksum_offload_) {
    // The NIC wants the pseudo-header sum (folded, not complemented) in the field.
    mbuf->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM | (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
    Store16(udp + 6, static_cast<uint16_t>(
                         ~net::ChecksumFinish(net::PseudoHeaderSum(ip, net::kProtocolUdp, udp_length))));
  } else {
    Store16(udp + 6, net::TransportChecksum(ip, udp, udp_length, net::kProtocolUdp));
  }
  mbuf->l2_len = l2_length_;
  mbuf->l3_len = ip_length;
  tx_payload_bytes_[tx_queue_count_] = packet.length;
  tx_queue_[tx_queue_count_++] = mbuf;
}

size_t DpdkPacketIo::Flush() {
  SendControl();
  const auto count = static_cast<uint16_t>(tx_queue_count_);
  uint16_t sent = 0;
  if (count > 0) {
    sent = rte_eth_tx_burst(port_id_, 0, tx_queue_.data(), count);
    ++counters_.tx_calls;
    if (sent < count) {
      sent =
          static_cast<uint16_t>(sent + rte_eth_tx_burst(port_id_, 0, tx_queue_.data() + sent, count - sent));
      ++counters_.tx_calls;
    }
    for (uint16_t i = 0; i < sent; ++i) counters_.tx_bytes += tx_payload_bytes_[i];
    counters_.tx_packets += sent;
    if (sent < count) {
      rte_pktmbuf_free_bulk(tx_queue_.data() + sent, count - sent);
      drops_[static_cast<size_t>(DropReason::kTxRingFull)] += count - sent;
      counters_.tx_dropped += count - sent;
    }
  }
  // Buffers handed out but never queued.
  for (size_t i = 0; i < tx_allocated_count_; ++i) {
    if (tx_allocated_[i] != nullptr) rte_pktmbuf_free(tx_allocated_[i]);
  }
  tx_allocated_count_ = 0;
  tx_next_slot_ = 0;
  tx_queue_count_ = 0;
  return sent;
}

std::vector<DpdkPacketIo::NamedCounter> DpdkPacketIo::ListCounters() const {
  std::vector<NamedCounter> list = {
      {"rx_packets", counters_.rx_packets},     {"rx_bytes", counters_.rx_bytes},
      {"rx_truncated", counters_.rx_truncated}, {"rx_errors", counters_.rx_errors},
      {"rx_calls", counters_.rx_calls},         {"tx_packets", counters_.tx_packets},
      {"tx_bytes", counters_.tx_bytes},         {"tx_dropped", counters_.tx_dropped},
      {"tx_calls", counters_.tx_calls},
  };
  for (size_t i = 0; i < events_.size(); ++i) {
    list.push_back({std::string(DpdkEventName(static_cast<DpdkEvent>(i))), events_[i]});
  }
  for (size_t i = 0; i < drops_.size(); ++i) {
    list.push_back({"drop_" + std::string(net::DropReasonName(static_cast<DropReason>(i))), drops_[i]});
  }
  rte_eth_stats stats;
  if (rte_eth_stats_get(port_id_, &stats) == 0) {
    list.push_back({"port_rx_packets", stats.ipackets});
    list.push_back({"port_rx_missed", stats.imissed});
    list.push_back({"port_rx_errors", stats.ierrors});
    list.push_back({"port_rx_no_mbuf", stats.rx_nombuf});
    list.push_back({"port_tx_packets", stats.opackets});
    list.push_back({"port_tx_errors", stats.oerrors});
  }
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id_, &link) == 0) {
    list.push_back({"port_link_up", link.link_status == RTE_ETH_LINK_UP ? 1u : 0u});
    list.push_back({"port_link_speed_mbps", link.link_speed});
  }
  return list;
}

}  // namespace linegate::media::packetio
