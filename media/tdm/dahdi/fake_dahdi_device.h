#pragma once
// A fake of the DAHDI kernel driver's /dev/dahdi/channel, for tests: channels with a
// signalling type and a law, DAHDI_SPECIFY binding a descriptor to a channel, the
// ioctls the card driver uses (each one recorded with its argument bytes), the hook
// state machine as far as the card driver can see it, an event queue fetched with
// DAHDI_GETEVENT, and audio blocks in the channel's law.
//
// It answers as the kernel does where the card driver depends on it (from reading
// drivers/dahdi/dahdi-base.c of DAHDI 2.11):
//  - read() and write() fail with ELAST while an event is queued, whatever audio waits;
//  - a non-blocking read() with no block fails with EAGAIN; write() with every
//    transmit buffer full fails with EAGAIN;
//  - read() returns at most one block and consumes the whole block even when the
//    caller's buffer is shorter; in linear mode a sample is two bytes, converted from
//    and to the channel's law (so linear audio is law-quantised too);
//  - DAHDI_SET_BLOCKSIZE refuses under 16 and over 8192; DAHDI_HOOK DAHDI_RING answers
//    EINPROGRESS on a non-blocking descriptor and EBUSY unless the port is on-hook;
//  - poll(): POLLIN with a block to read, POLLPRI with an event queued, POLLOUT with a
//    free transmit buffer; a removed channel shows POLLERR|POLLHUP|POLLPRI and
//    DAHDI_GETEVENT gives DAHDI_EVENT_REMOVED (while failing with ENODEV).
// It never blocks: Poll returns at once (0 when nothing is ready); the test moves the
// card's clock with CardInterrupt().

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "media/tdm/dahdi/dahdi_device.h"

namespace linegate::media::tdm::dahdi {

class FakeDahdiDevice final : public DahdiDevice {
 public:
  static constexpr const char* kChannelPath = "/dev/dahdi/channel";

  enum class TxHook : uint8_t { kOnHook, kOffHook, kRinging };

  // The kernel's state of one channel.
  struct Channel {
    int number = 0;
    int signalling = DAHDI_SIG_FXOKS;
    int law = DAHDI_LAW_MULAW;
    std::string name;
    bool rx_off_hook = false;  // DAHDI_GET_PARAMS rxisoffhook

    // What the program set.
    int fd = -1;  // the descriptor DAHDI_SPECIFY bound, -1 when none
    int block_size = DAHDI_DEFAULT_BLOCKSIZE;
    int num_buffers = DAHDI_DEFAULT_NUM_BUFS;
    int tx_policy = DAHDI_POLICY_IMMEDIATE;
    bool linear = false;
    dahdi_ring_cadence cadence{};
    TxHook tx = TxHook::kOnHook;
    int polarity = 0;
    int vmwi_messages = 0;
    unsigned vmwi_type = 0;

    // Events and audio.
    std::deque<int> events;
    std::deque<uint8_t> line_codes;              // what the line will deliver, in the channel's law
    std::deque<std::vector<uint8_t>> rx_blocks;  // received blocks waiting to be read
    std::deque<std::vector<uint8_t>> tx_blocks;  // written blocks waiting to be sent
    std::vector<uint8_t> transmitted;            // codes sent to the line, oldest first
    uint64_t rx_overruns = 0;                    // a block arrived with every read buffer full
    uint64_t tx_underruns = 0;                   // an interrupt found nothing to send

    // Faults.
    int fail_error = 0;          // when set, every call on the channel fails with it
    bool removed = false;        // the card went away (DAHDI's nodev behaviour)
    int short_read_bytes = -1;   // the next read returns at most this many bytes
    int short_write_bytes = -1;  // the next write takes at most this many bytes
    int eintr_reads = 0;         // this many reads fail with EINTR first
  };

  struct IoctlCall {
    int fd = -1;
    int channel = 0;  // 0 before DAHDI_SPECIFY
    unsigned long request = 0;
    std::vector<uint8_t> argument;  // as passed in
    int result = 0;

    int IntArgument() const { return As<int>(); }
    template <typename T>
    T As() const {
      T value{};
      std::memcpy(&value, argument.data(), std::min(sizeof(T), argument.size()));
      return value;
    }
  };

  struct Counts {
    uint64_t opens = 0;
    uint64_t closes = 0;
    uint64_t ioctls = 0;
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t polls = 0;
  };

  // --- The test's side ---------------------------------------------------------------
  Channel& AddChannel(int number, int signalling, int law = DAHDI_LAW_MULAW);
  Channel& channel(int number) { return channels_.at(number); }
  bool has_channel(int number) const { return channels_.count(number) != 0; }

  void QueueEvent(int number, int event) { channels_.at(number).events.push_back(event); }
  // Samples the line will deliver, encoded in the channel's law.
  void QueueLineSamples(int number, std::span<const int16_t> samples);
  // A received block ready to read as it is (any length, e.g. a short one).
  void PushRxBlock(int number, std::vector<uint8_t> codes) {
    channels_.at(number).rx_blocks.push_back(std::move(codes));
  }
  // One block time of the card's clock: every specified channel receives a block from its
  // line samples (silence when there are none) and sends one written block.
  void CardInterrupt();
  // What the card sent to the line, decoded from the channel's law.
  std::vector<int16_t> TransmittedSamples(int number) const;
  void FailChannel(int number, int error) { channels_.at(number).fail_error = error; }
  void RemoveChannel(int number);

  const std::vector<IoctlCall>& ioctls() const { return ioctls_; }
  std::vector<IoctlCall> IoctlsFor(int channel, unsigned long request) const;
  std::vector<IoctlCall> IoctlsFor(int channel) const;
  void ClearIoctls() { ioctls_.clear(); }
  const Counts& counts() const { return counts_; }
  size_t open_descriptors() const { return fds_.size(); }
  int last_poll_timeout() const { return last_poll_timeout_; }

  int open_error = 0;                         // Open fails with it
  int poll_error = 0;                         // the next Poll fails with it (once)
  std::map<unsigned long, int> ioctl_errors;  // request -> error, for every channel

  // --- DahdiDevice -------------------------------------------------------------------
  int Open(const char* path, int flags) override;
  int Close(int fd) override;
  int Ioctl(int fd, unsigned long request, void* arg, size_t arg_size) override;
  ssize_t Read(int fd, std::span<uint8_t> buffer) override;
  ssize_t Write(int fd, std::span<const uint8_t> data) override;
  int Poll(std::span<pollfd> fds, int timeout_ms) override;

 private:
  struct Descriptor {
    int channel = 0;  // 0 until DAHDI_SPECIFY
    bool nonblocking = false;
  };
  // The channel behind a descriptor, or -errno.
  int Lookup(int fd, Channel** channel);
  int ChannelIoctl(Descriptor& descriptor, Channel& channel, unsigned long request, void* arg);

  std::map<int, Channel> channels_;
  std::map<int, Descriptor> fds_;
  int next_fd_ = 100;
  std::vector<IoctlCall> ioctls_;
  Counts counts_;
  int last_poll_timeout_ = 0;
};

}  // namespace linegate::media::tdm::dahdi
