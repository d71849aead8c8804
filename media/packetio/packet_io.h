#pragma once
// Packet I/O for the media plane: the one interface the media engine uses to move RTP
// and RTCP datagrams, whatever carries them. Two backends sit behind it: kernel UDP
// sockets (kernel_socket_io.h, the default, no privileges) and DPDK (dpdk_io.h, built
// when DPDK is installed; docs/dpdk.md).
//
// The shape follows what a poll-mode driver needs, so that DPDK slots in without the
// engine changing:
// - burst-oriented: Receive fills up to N packets per call, Send takes a burst;
// - zero-copy: received packets are views into the backend's own buffers, valid until
//   the next Receive; packets to send are built in place in buffers the backend hands
//   out (AllocateTx), so no payload is copied between the engine and the backend;
// - run-to-completion: no threads or callbacks; the caller polls.
// Nothing here allocates after Create, and Receive/Send never block.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace linegate::media::packetio {

// An IPv4 or IPv6 address and UDP port, in a fixed-size form that fits a packet
// descriptor (no sockaddr in the engine, no allocation).
struct Endpoint {
  uint8_t family = 0;                 // 4 or 6; 0: unset
  uint16_t port = 0;                  // host byte order
  std::array<uint8_t, 16> address{};  // IPv4 in the first four octets, network order

  static Result<Endpoint> Parse(const std::string& address, uint16_t port);
  std::string ToString() const;  // "1.2.3.4:5" or "[::1]:5"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A flow is one local UDP port opened for the engine (RTP and RTCP are two flows).
using FlowId = uint32_t;
inline constexpr FlowId kNoFlow = 0xffffffffu;

// One datagram. On receive: `data` points into the backend's buffer, `flow` is the
// local port it arrived on, `remote` its source. On send: `data` is a buffer from
// AllocateTx, `flow` the local port it leaves from, `remote` its destination.
struct Packet {
  uint8_t* data = nullptr;
  uint32_t length = 0;
  FlowId flow = kNoFlow;
  Endpoint remote;
};

struct PacketIoCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_truncated = 0;  // datagrams longer than a buffer (dropped)
  uint64_t rx_errors = 0;
  uint64_t rx_calls = 0;  // system calls (or driver polls) made receiving
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;  // could not be sent (buffer full, error)
  uint64_t tx_calls = 0;
};

class PacketIo {
 public:
  static constexpr uint32_t kBufferSize = 2048;

  virtual ~PacketIo() = default;

  // Opens a local port (on the backend's configured address). Control-plane call.
  virtual Result<FlowId> OpenFlow(uint16_t local_port) = 0;
  virtual void CloseFlow(FlowId flow) = 0;
  virtual uint16_t LocalPort(FlowId flow) const = 0;

  // Fills `out` with up to out.size() received packets; returns how many. The data
  // stays valid until the next Receive.
  virtual size_t Receive(std::span<Packet> out) = 0;

  // A transmit buffer of kBufferSize bytes, or nullptr when the burst is full (Flush
  // first). Buffers belong to the backend until Flush.
  virtual uint8_t* AllocateTx() = 0;
  // Queues a packet built in a buffer from AllocateTx.
  virtual void QueueTx(const Packet& packet) = 0;
  // Sends everything queued; returns how many were sent. Every buffer handed out since
  // the previous Flush is free again afterwards, sent or not.
  virtual size_t Flush() = 0;

  // A file descriptor that becomes readable when packets wait (kernel backend), or -1
  // for a backend that must be polled.
  virtual int wait_fd() const = 0;

  virtual const PacketIoCounters& counters() const = 0;
  // "kernel_sockets", "dpdk", ...: for status and logs.
  virtual const char* backend_name() const = 0;

  struct NamedCounter {
    std::string name;
    uint64_t value;
  };
  // Every counter with a stable name, for the bus and the operator (control-plane call:
  // allocates). The base lists PacketIoCounters; backends add their own.
  virtual std::vector<NamedCounter> ListCounters() const {
    const PacketIoCounters& c = counters();
    return {{"rx_packets", c.rx_packets}, {"rx_bytes", c.rx_bytes},     {"rx_truncated", c.rx_truncated},
            {"rx_errors", c.rx_errors},   {"rx_calls", c.rx_calls},     {"tx_packets", c.tx_packets},
            {"tx_bytes", c.tx_bytes},     {"tx_dropped", c.tx_dropped}, {"tx_calls", c.tx_calls}};
  }
};

}  // namespace linegate::media::packetio
