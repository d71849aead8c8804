#pragma once
// The kernel-socket backend of PacketIo: one non-blocking UDP socket per flow, epoll to
// find the sockets with data, recvmmsg to take a socket's whole backlog in one system
// call and sendmmsg to send a flow's queued packets in one. All buffers, message
// headers and address structs are allocated in Create.
//
// What it costs (measured in docs/PERFORMANCE.md): one epoll_wait per Receive, one
// recvmmsg per socket with data and one sendmmsg per run of packets for the same flow.
// With one packet per session per 20 ms that is close to one system call per packet
// each way: per-session ports (which RTP peers and NATs expect) leave the kernel
// nothing to batch across sessions. The DPDK backend removes those calls.

#include <sys/socket.h>

#include <memory>
#include <vector>

#include "media/packetio/packet_io.h"

struct mmsghdr;
struct epoll_event;

namespace linegate::media::packetio {

struct KernelSocketConfig {
  std::string address = "127.0.0.1";  // local address every flow binds to
  uint32_t rx_burst = 64;             // packets per Receive at most
  uint32_t tx_burst = 512;            // packets queued between Flushes at most
  uint32_t max_flows = 4096;
  int receive_buffer_bytes = 256 * 1024;
  int dscp = 46;  // EF, RFC 3246: what voice is marked with; -1 leaves the default
};

class KernelSocketIo final : public PacketIo {
 public:
  static Result<std::unique_ptr<KernelSocketIo>> Create(const KernelSocketConfig& config);
  ~KernelSocketIo() override;

  Result<FlowId> OpenFlow(uint16_t local_port) override;
  void CloseFlow(FlowId flow) override;
  uint16_t LocalPort(FlowId flow) const override;
  size_t Receive(std::span<Packet> out) override;
  uint8_t* AllocateTx() override;
  void QueueTx(const Packet& packet) override;
  size_t Flush() override;
  int wait_fd() const override { return epoll_fd_; }
  const PacketIoCounters& counters() const override { return counters_; }
  const char* backend_name() const override { return "kernel_sockets"; }

  size_t open_flows() const { return open_flows_; }

 private:
  explicit KernelSocketIo(const KernelSocketConfig& config);
  size_t SendRun(size_t first, size_t count);

  struct Flow {
    int fd = -1;
    uint16_t port = 0;
  };

  KernelSocketConfig config_;
  Endpoint local_;
  int epoll_fd_ = -1;
  std::vector<Flow> flows_;
  std::vector<FlowId> free_flows_;
  size_t open_flows_ = 0;

  // Receive side: rx_burst buffers, reused by every Receive.
  std::vector<uint8_t> rx_buffers_;
  std::vector<mmsghdr> rx_messages_;
  std::vector<struct iovec> rx_iovecs_;
  std::vector<sockaddr_storage> rx_addresses_;
  std::vector<epoll_event> events_;
  // Flows epoll reported ready but not yet drained because the burst was full.
  std::vector<FlowId> ready_;
  size_t ready_next_ = 0;

  // Transmit side.
  std::vector<uint8_t> tx_buffers_;
  uint32_t tx_allocated_ = 0;
  std::vector<Packet> tx_queue_;
  std::vector<mmsghdr> tx_messages_;
  std::vector<struct iovec> tx_iovecs_;
  std::vector<sockaddr_storage> tx_addresses_;

  PacketIoCounters counters_;
};

}  // namespace linegate::media::packetio
