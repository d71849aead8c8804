#pragma once
// The DPDK backend of PacketIo: one Ethernet port polled by the media engine's thread,
// with its own small IP stack for what a media address needs and nothing more:
// - receive: rte_eth_rx_burst, Ethernet (one optional 802.1Q tag), IPv4 and IPv6 (no
//   extension headers, no fragments), UDP to the open flows through a 65536-entry
//   port -> flow table; the payload is handed out in place (the mbuf is kept until the
//   next Receive). Anything else is freed and counted by reason (net::DropReason).
// - housekeeping in the same poll: ARP replies for our address, ICMP and ICMPv6 echo
//   replies, neighbour advertisements, and ARP/NDP resolution of next hops with a small
//   cache (neighbour_table.h); a gratuitous ARP when the port starts.
// - transmit: AllocateTx hands out an mbuf's data area (headroom left for the headers),
//   QueueTx prepends Ethernet/IP/UDP from a per-family template with the next hop's MAC,
//   checksums by the NIC when it offers them, else in software; Flush is one
//   rte_eth_tx_burst (retried once).
// No locks, no allocation after Create; every call is from one thread (the engine's).
// wait_fd() is -1: the backend must be polled.
//
// EAL (rte_eal_init) is initialised once per process, by the first Create (or by
// InitEal). DPDK cannot tear EAL down and bring it up again in the same process: the
// EAL arguments of the first call hold for the life of the process, and changing them
// (other cores, memory, devices) means starting a new process. Ports and mempools
// survive a DpdkPacketIo: destroying one stops its port, and a later Create in the same
// process may take the same port again (reconfigured, with the same mempool).

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "media/packetio/headers.h"
#include "media/packetio/neighbour_table.h"
#include "media/packetio/packet_io.h"

struct rte_mbuf;
struct rte_mempool;

namespace linegate::media::packetio {

struct DpdkConfig {
  // --- EAL: used by the first Create (or InitEal) of the process only. ---
  // EAL --lcores. Empty: one lcore that floats over the CPUs this process may run on
  // (no pinning). For production give the core the media thread owns, e.g. "2".
  std::string lcores;
  // --no-huge: ordinary pages (tests, virtual devices); NICs that DMA need hugepages.
  bool no_huge = false;
  // -m: megabytes EAL reserves; 0: EAL's default (hugepages taken as needed), or 256
  // with no_huge.
  uint32_t memory_mb = 0;
  // --in-memory (hugepages only): no files in /var/run/dpdk or hugetlbfs, no secondary
  // processes; lets several processes share the hugepages without a file prefix each.
  bool in_memory = true;
  // --file-prefix; empty: "linegate" without shared files (no_huge or in_memory: processes
  // do not collide), else "linegate-<pid>".
  std::string file_prefix;
  std::vector<std::string> vdevs;      // --vdev, e.g. "net_tap0,iface=lg0" or "net_pcap0,rx_pcap=a,tx_pcap=b"
  std::vector<std::string> pci_allow;  // -a (PCI addresses); empty: every bound device
  bool no_pci = false;                 // --no-pci (virtual devices only)
  std::string log_level = "warning";   // --log-level for EAL and drivers
  // DPDK's telemetry socket (<runtime dir of the file prefix>/dpdk_telemetry.v2, for
  // dpdk-telemetry.py; linegate's counters under /linegate/packet_io). Off: no extra
  // thread, and processes sharing a file prefix would share the socket path.
  bool telemetry = false;
  std::vector<std::string> extra_eal_args;

  // --- The port. ---
  // A port name as DPDK lists it ("0000:03:00.0", "net_tap0"), a port number, or empty
  // for the first port.
  std::string port;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t mempool_size = 8191;  // mbufs (2^n - 1 is the most efficient)
  uint32_t mempool_cache = 256;
  uint16_t mtu = 1500;
  bool checksum_offload = true;  // use the NIC's IPv4/UDP checksum offloads when it has them
  bool promiscuous = false;

  // --- Addresses. ---
  std::string ipv4_address;  // the media address (required)
  uint8_t ipv4_prefix = 24;
  std::string ipv4_gateway;  // next hop for off-link peers; empty: off-link peers unreachable
  std::string ipv6_address;  // optional; empty: IPv4 only
  uint8_t ipv6_prefix = 64;
  std::string ipv6_gateway;   // usually the router's link-local address
  std::string mac;            // "02:00:00:00:00:01"; empty: the port's own
  int vlan_id = -1;           // 802.1Q VLAN of the media address; -1: untagged
  uint8_t vlan_priority = 5;  // PCP of transmitted frames when tagged (5: voice)
  int dscp = 46;              // EF, as the kernel backend marks
  uint8_t ttl = 64;
  // Static next hops ({IP, MAC}), never resolved nor expired.
  std::vector<std::pair<std::string, std::string>> static_neighbours;
  // ICMP and ICMPv6 echo requests answered per second at most (a ping flood must not
  // crowd out RTP on the transmit side); 0: none answered.
  uint32_t echo_replies_per_second = 1000;
  uint32_t neighbour_capacity = 256;
  NeighbourTiming neighbour_timing;

  // --- Bursts and flows. ---
  uint32_t rx_burst = 32;            // mbufs per rte_eth_rx_burst (1..64)
  uint32_t max_receive = 256;        // packets one Receive returns at most
  uint32_t tx_burst = 512;           // buffers handed out between Flushes at most
  uint16_t ephemeral_first = 49152;  // OpenFlow(0) picks a free port in this range
  uint16_t ephemeral_last = 65535;
};

// Events the backend counts besides drops (not drops: the frame did its job).
enum class DpdkEvent : uint8_t {
  kRxFrames,     // every frame taken from the driver
  kIpv4Options,  // delivered although the header had options
  kArpRequestsAnswered,
  kArpRequestsSent,
  kGratuitousArpSent,
  kNeighboursLearned,  // ARP replies and advertisements that resolved or refreshed an entry
  kIcmpEchoReplies,
  kIcmpv6EchoReplies,
  kNeighbourSolicitationsAnswered,
  kNeighbourSolicitationsSent,
  kControlTxDropped,  // ARP/NDP/echo replies the driver did not take
  kLinkUp,            // the port's link came up (checked once a second; re-announces)
  kCount,
};
std::string_view DpdkEventName(DpdkEvent event);

class DpdkPacketIo final : public PacketIo {
 public:
  // rte_eal_init with `config`'s EAL fields, once per process; later calls return the
  // first call's outcome and ignore their arguments.
  static Status InitEal(const DpdkConfig& config);
  // The arguments InitEal passes to rte_eal_init (without argv[0]), for logs and docs.
  static std::vector<std::string> EalArguments(const DpdkConfig& config);

  static Result<std::unique_ptr<DpdkPacketIo>> Create(const DpdkConfig& config);
  ~DpdkPacketIo() override;

  Result<FlowId> OpenFlow(uint16_t local_port) override;
  void CloseFlow(FlowId flow) override;
  uint16_t LocalPort(FlowId flow) const override;
  size_t Receive(std::span<Packet> out) override;
  uint8_t* AllocateTx() override;
  void QueueTx(const Packet& packet) override;
  size_t Flush() override;
  int wait_fd() const override { return -1; }
  const PacketIoCounters& counters() const override { return counters_; }
  const char* backend_name() const override { return "dpdk"; }

  uint64_t drops(net::DropReason reason) const { return drops_[static_cast<size_t>(reason)]; }
  uint64_t events(DpdkEvent event) const { return events_[static_cast<size_t>(event)]; }
  // Every counter with a stable name: PacketIoCounters ("rx_packets", ...), events,
  // drops ("drop_<reason>") and the port's own statistics ("port_rx_missed", ...).
  // Control-plane call (reads the NIC's statistics).
  std::vector<NamedCounter> ListCounters() const override;

  uint16_t port_id() const { return port_id_; }
  const net::MacAddress& mac() const { return context_.mac; }
  size_t open_flows() const { return open_flows_; }
  // Sends a gratuitous ARP for the IPv4 address now (Create sends one).
  void AnnounceAddress();

 private:
  explicit DpdkPacketIo(const DpdkConfig& config);
  Status Start();

  void HandleFrame(rte_mbuf* mbuf, std::span<Packet> out, size_t& filled);
  bool HandleArp(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed);
  bool HandleIcmpv4(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed);
  bool HandleIcmpv6(rte_mbuf* mbuf, uint8_t* frame, const net::ParsedFrame& parsed);
  void Drop(net::DropReason reason) {
    ++drops_[static_cast<size_t>(reason)];
    ++counters_.rx_errors;
  }
  void DropTx(net::DropReason reason) {
    ++drops_[static_cast<size_t>(reason)];
    ++counters_.tx_dropped;
  }
  void Count(DpdkEvent event) { ++events_[static_cast<size_t>(event)]; }

  // Writes the Ethernet header (with the VLAN tag when configured); returns its length.
  size_t WriteEthernet(uint8_t* frame, const uint8_t* destination, uint16_t ether_type) const;
  void SendArp(uint16_t operation, const uint8_t* target_mac, const uint8_t* target_ip);
  void SendNeighbourSolicitation(const net::IpAddress& target);
  void QueueControl(rte_mbuf* mbuf);
  // Sends a received frame turned into its answer (`frame_length` bytes from the start).
  void ReplyInPlace(rte_mbuf* mbuf, size_t frame_length);
  // True when one more echo reply fits in this second's allowance.
  bool EchoAllowed();
  void SendControl();
  // The next hop for `destination`, or family 0 when there is no route.
  net::IpAddress NextHop(const Endpoint& destination) const;
  uint64_t NowMs() const;
  // Once a second from Receive: link state (a gratuitous ARP when it comes up).
  void Tick();

  DpdkConfig config_;
  uint16_t port_id_ = 0;
  bool started_ = false;
  rte_mempool* pool_ = nullptr;
  net::ParseContext context_;
  uint32_t ipv4_mask_ = 0;  // host order
  net::IpAddress ipv4_gateway_;
  net::IpAddress ipv6_gateway_;
  std::array<uint8_t, 16> ipv6_network_{};  // ipv6 & prefix mask
  std::array<uint8_t, 16> ipv6_mask_{};
  uint64_t tsc_per_ms_ = 1;
  uint64_t now_ms_ = 0;
  uint64_t next_tick_ms_ = 0;
  bool link_up_ = false;

  // Offloads in use.
  bool rx_ip_checksum_offload_ = false;
  bool rx_l4_checksum_offload_ = false;
  bool tx_ip_checksum_offload_ = false;
  bool tx_udp_checksum_offload_ = false;

  // Flows: port -> flow (direct index), flow -> port.
  std::vector<FlowId> port_to_flow_;
  std::vector<uint16_t> flow_ports_;  // 0: closed
  std::vector<FlowId> free_flows_;
  size_t open_flows_ = 0;
  uint32_t next_ephemeral_ = 0;

  // Receive: mbufs delivered by the last Receive (freed by the next), and the frames of
  // the current burst to free at its end.
  std::vector<rte_mbuf*> held_;
  size_t held_count_ = 0;
  std::vector<rte_mbuf*> to_free_;
  size_t to_free_count_ = 0;

  // Transmit: buffers handed out (null once queued), the queue, the control queue.
  std::vector<rte_mbuf*> tx_allocated_;
  size_t tx_allocated_count_ = 0;
  size_t tx_next_slot_ = 0;  // where QueueTx looks first after the newest
  std::vector<rte_mbuf*> tx_queue_;
  std::vector<uint32_t> tx_payload_bytes_;
  size_t tx_queue_count_ = 0;
  std::vector<rte_mbuf*> control_;
  size_t control_count_ = 0;
  std::array<uint8_t, 64> header_v4_{};  // Ethernet (+VLAN) + IPv4 + UDP template
  std::array<uint8_t, 80> header_v6_{};  // Ethernet (+VLAN) + IPv6 + UDP template
  size_t l2_length_ = net::kEthernetHeaderSize;
  uint16_t ip_id_ = 0;
  uint64_t echo_second_ = 0;
  uint32_t echo_replies_ = 0;

  NeighbourTable neighbours_;
  PacketIoCounters counters_;
  std::array<uint64_t, static_cast<size_t>(net::DropReason::kCount)> drops_{};
  std::array<uint64_t, static_cast<size_t>(DpdkEvent::kCount)> events_{};
};

}  // namespace linegate::media::packetio
