#include "media/tdm/dahdi/fake_dahdi_device.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "media/dsp/g711.h"

namespace linegate::media::tdm::dahdi {
namespace {

bool IsFxoSignalled(int s) { return s == DAHDI_SIG_FXOLS || s == DAHDI_SIG_FXOGS || s == DAHDI_SIG_FXOKS; }

uint8_t Encode(int law, int16_t sample) {
  return law == DAHDI_LAW_ALAW ? dsp::EncodeAlaw(sample) : dsp::EncodeUlaw(sample);
}
int16_t Decode(int law, uint8_t code) {
  return law == DAHDI_LAW_ALAW ? dsp::DecodeAlaw(code) : dsp::DecodeUlaw(code);
}

}  // namespace

FakeDahdiDevice::Channel& FakeDahdiDevice::AddChannel(int number, int signalling, int law) {
  Channel& channel = channels_[number];
  channel.number = number;
  channel.signalling = signalling;
  channel.law = law;
  channel.name = "FAKE/1/" + std::to_string(number);
  return channel;
}

void FakeDahdiDevice::QueueLineSamples(int number, std::span<const int16_t> samples) {
  Channel& channel = channels_.at(number);
  for (int16_t s : samples) channel.line_codes.push_back(Encode(channel.law, s));
}

void FakeDahdiDevice::CardInterrupt() {
  for (auto& [number, channel] : channels_) {
    if (channel.fd < 0 || channel.removed || channel.fail_error != 0) continue;
    std::vector<uint8_t> block(static_cast<size_t>(channel.block_size), Encode(channel.law, 0));
    for (uint8_t& code : block) {
      if (channel.line_codes.empty()) break;
      code = channel.line_codes.front();
      channel.line_codes.pop_front();
    }
    if (channel.rx_blocks.size() < static_cast<size_t>(channel.num_buffers)) {
      channel.rx_blocks.push_back(std::move(block));
    } else {
      ++channel.rx_overruns;
    }
    if (channel.tx_blocks.empty()) {
      ++channel.tx_underruns;
    } else {
      const std::vector<uint8_t>& sent = channel.tx_blocks.front();
      channel.transmitted.insert(channel.transmitted.end(), sent.begin(), sent.end());
      channel.tx_blocks.pop_front();
    }
  }
}

std::vector<int16_t> FakeDahdiDevice::TransmittedSamples(int number) const {
  const Channel& channel = channels_.at(number);
  std::vector<int16_t> samples;
  samples.reserve(channel.transmitted.size());
  for (uint8_t code : channel.transmitted) samples.push_back(Decode(channel.law, code));
  return samples;
}

void FakeDahdiDevice::RemoveChannel(int number) {
  Channel& channel = channels_.at(number);
  channel.removed = true;
  channel.rx_blocks.clear();
}

std::vector<FakeDahdiDevice::IoctlCall> FakeDahdiDevice::IoctlsFor(int channel, unsigned long request) const {
  std::vector<IoctlCall> calls;
  for (const IoctlCall& call : ioctls_) {
    if (call.channel == channel && call.request == request) calls.push_back(call);
  }
  return calls;
}

std::vector<FakeDahdiDevice::IoctlCall> FakeDahdiDevice::IoctlsFor(int channel) const {
  std::vector<IoctlCall> calls;
  for (const IoctlCall& call : ioctls_) {
    if (call.channel == channel) calls.push_back(call);
  }
  return calls;
}

int FakeDahdiDevice::Open(const char* path, int flags) {
  ++counts_.opens;
  if (open_error != 0) return -open_error;
  if (std::string(path) != kChannelPath) return -ENOENT;
  if ((flags & O_ACCMODE) != O_RDWR) return -EINVAL;  // the card driver reads and writes
  const int fd = next_fd_++;
  fds_[fd] = Descriptor{0, (flags & O_NONBLOCK) != 0};
  return fd;
}

int FakeDahdiDevice::Close(int fd) {
  ++counts_.closes;
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  if (it->second.channel != 0) {
    Channel& channel = channels_.at(it->second.channel);
    // The kernel hangs a closed channel up and forgets its buffers and events.
    channel.fd = -1;
    channel.tx = TxHook::kOnHook;
    channel.linear = false;
    channel.events.clear();
    channel.rx_blocks.clear();
    channel.tx_blocks.clear();
  }
  fds_.erase(it);
  return 0;
}

int FakeDahdiDevice::Lookup(int fd, Channel** channel) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  if (it->second.channel == 0) return -EINVAL;  // not specified yet
  Channel& c = channels_.at(it->second.channel);
  if (c.removed) return -ENODEV;
  if (c.fail_error != 0) return -c.fail_error;
  *channel = &c;
  return 0;
}

int FakeDahdiDevice::Ioctl(int fd, unsigned long request, void* arg, size_t arg_size) {
  ++counts_.ioctls;
  IoctlCall call;
  call.fd = fd;
  call.request = request;
  call.argument.assign(static_cast<const uint8_t*>(arg), static_cast<const uint8_t*>(arg) + arg_size);
  auto it = fds_.find(fd);
  int result = 0;
  if (it == fds_.end()) {
    result = -EBADF;
  } else if (arg_size != _IOC_SIZE(request)) {
    result = -EFAULT;
  } else if (request == DAHDI_SPECIFY) {
    const int number = *static_cast<int*>(arg);
    call.channel = number;
    auto channel = channels_.find(number);
    if (it->second.channel != 0 || channel == channels_.end() || channel->second.removed) {
      result = -EINVAL;
    } else if (channel->second.fd >= 0) {
      result = -EBUSY;
    } else if (ioctl_errors.count(request) != 0) {
      result = -ioctl_errors.at(request);
    } else {
      channel->second.fd = fd;
      it->second.channel = number;
    }
  } else {
    call.channel = it->second.channel;
    Channel* channel = nullptr;
    result = Lookup(fd, &channel);
    if (result == -ENODEV && request == DAHDI_GETEVENT) {
      *static_cast<int*>(arg) = DAHDI_EVENT_REMOVED;  // "the channel is gone for good"
    } else if (result == 0 && ioctl_errors.count(request) != 0) {
      result = -ioctl_errors.at(request);
    } else if (result == 0) {
      result = ChannelIoctl(it->second, *channel, request, arg);
    }
  }
  call.result = result;
  ioctls_.push_back(std::move(call));
  return result;
}

int FakeDahdiDevice::ChannelIoctl(Descriptor& descriptor, Channel& channel, unsigned long request,
                                  void* arg) {
  int* const value_pointer = static_cast<int*>(arg);  // read only by the int-argument requests
  int& value = *value_pointer;
  switch (request) {
    case DAHDI_GET_PARAMS: {
      auto& params = *static_cast<dahdi_params*>(arg);
      params = dahdi_params{};
      params.channo = channel.number;
      params.spanno = 1;
      params.chanpos = channel.number;
      params.sigtype = channel.signalling;
      params.sigcap = channel.signalling;
      params.rxisoffhook = channel.rx_off_hook ? 1 : 0;
      params.curlaw = channel.law;
      std::snprintf(params.name, sizeof(params.name), "%s", channel.name.c_str());
      return 0;
    }
    case DAHDI_GET_BLOCKSIZE:
      value = channel.block_size;
      return 0;
    case DAHDI_SET_BLOCKSIZE:
      if (value < 16 || value > DAHDI_MAX_BLOCKSIZE) return -EINVAL;
      channel.block_size = value;
      channel.rx_blocks.clear();
      channel.tx_blocks.clear();
      return 0;
    case DAHDI_SET_BUFINFO: {
      const auto& info = *static_cast<const dahdi_bufferinfo*>(arg);
      if (info.bufsize < 16 || info.bufsize > DAHDI_MAX_BLOCKSIZE) return -EINVAL;
      if (info.bufsize * info.numbufs > DAHDI_MAX_BUF_SPACE) return -EINVAL;
      channel.tx_policy = info.txbufpolicy & 0x3;
      channel.block_size = info.bufsize;
      channel.num_buffers = std::clamp(info.numbufs, 2, DAHDI_MAX_NUM_BUFS);
      channel.rx_blocks.clear();
      channel.tx_blocks.clear();
      return 0;
    }
    case DAHDI_SETLINEAR:
      channel.linear = value != 0;
      return 0;
    case DAHDI_SETCADENCE:
      channel.cadence = *static_cast<const dahdi_ring_cadence*>(arg);
      return 0;
    case DAHDI_HOOK:
      switch (value) {
        case DAHDI_ONHOOK:
        case DAHDI_RINGOFF:
          channel.tx = TxHook::kOnHook;
          return 0;
        case DAHDI_OFFHOOK:
          channel.tx = TxHook::kOffHook;
          return 0;
        case DAHDI_RING:
          if (!IsFxoSignalled(channel.signalling)) return -EINVAL;  // ground start is not modelled
          if (channel.tx != TxHook::kOnHook) return -EBUSY;
          channel.tx = TxHook::kRinging;
          return descriptor.nonblocking ? -EINPROGRESS : 0;
        default:
          return -EINVAL;
      }
    case DAHDI_SETPOLARITY:
      if (!IsFxoSignalled(channel.signalling)) return -EINVAL;
      channel.polarity = value != 0 ? 1 : 0;
      return 0;
    case DAHDI_VMWI_CONFIG:
      if (!IsFxoSignalled(channel.signalling)) return -EINVAL;
      channel.vmwi_type = static_cast<const dahdi_vmwi_info*>(arg)->vmwi_type;
      return 0;
    case DAHDI_VMWI:
      if (!IsFxoSignalled(channel.signalling)) return -EINVAL;
      if (value < 0) return -EFAULT;
      channel.vmwi_messages = value;
      return 0;
    case DAHDI_GETEVENT:
      value = DAHDI_EVENT_NONE;
      if (!channel.events.empty()) {
        value = channel.events.front();
        channel.events.pop_front();
      }
      return 0;
    case DAHDI_FLUSH:
      if ((value & DAHDI_FLUSH_READ) != 0) channel.rx_blocks.clear();
      if ((value & DAHDI_FLUSH_WRITE) != 0) channel.tx_blocks.clear();
      if ((value & DAHDI_FLUSH_EVENT) != 0) channel.events.clear();
      return 0;
    default:
      return -ENOTTY;
  }
}

ssize_t FakeDahdiDevice::Read(int fd, std::span<uint8_t> buffer) {
  ++counts_.reads;
  Channel* channel = nullptr;
  if (const int r = Lookup(fd, &channel); r < 0) return r;
  if (buffer.empty()) return -EINVAL;
  if (channel->eintr_reads > 0) {
    --channel->eintr_reads;
    return -EINTR;
  }
  if (!channel->events.empty()) return -ELAST;
  if (channel->rx_blocks.empty()) return -EAGAIN;  // a blocking read would wait; the fake never does
  const std::vector<uint8_t> block = std::move(channel->rx_blocks.front());
  channel->rx_blocks.pop_front();
  size_t amount = 0;
  if (channel->linear) {
    amount = std::min(buffer.size(), block.size() * 2);
    for (size_t i = 0; i < amount / 2; ++i) {
      const int16_t sample = Decode(channel->law, block[i]);
      std::memcpy(buffer.data() + i * 2, &sample, 2);
    }
  } else {
    amount = std::min(buffer.size(), block.size());
    std::copy_n(block.begin(), amount, buffer.begin());
  }
  if (channel->short_read_bytes >= 0) {
    amount = std::min(amount, static_cast<size_t>(channel->short_read_bytes));
    channel->short_read_bytes = -1;
  }
  return static_cast<ssize_t>(amount);
}

ssize_t FakeDahdiDevice::Write(int fd, std::span<const uint8_t> data) {
  ++counts_.writes;
  Channel* channel = nullptr;
  if (const int r = Lookup(fd, &channel); r < 0) return r;
  if (data.empty()) return -EINVAL;
  if (!channel->events.empty()) return -ELAST;
  if (channel->tx_blocks.size() >= static_cast<size_t>(channel->num_buffers)) return -EAGAIN;
  const size_t block_bytes = static_cast<size_t>(channel->block_size) * (channel->linear ? 2 : 1);
  size_t amount = std::min(data.size(), block_bytes);
  if (channel->short_write_bytes >= 0) {
    amount = std::min(amount, static_cast<size_t>(channel->short_write_bytes));
    channel->short_write_bytes = -1;
  }
  std::vector<uint8_t> block;
  if (channel->linear) {
    for (size_t i = 0; i + 1 < amount; i += 2) {
      int16_t sample = 0;
      std::memcpy(&sample, data.data() + i, 2);
      block.push_back(Encode(channel->law, sample));
    }
  } else {
    block.assign(data.begin(), data.begin() + static_cast<ptrdiff_t>(amount));
  }
  channel->tx_blocks.push_back(std::move(block));
  return static_cast<ssize_t>(amount);
}

int FakeDahdiDevice::Poll(std::span<pollfd> fds, int timeout_ms) {
  ++counts_.polls;
  last_poll_timeout_ = timeout_ms;
  if (poll_error != 0) {
    const int error = poll_error;
    poll_error = 0;
    return -error;
  }
  int ready = 0;
  for (pollfd& p : fds) {
    p.revents = 0;
    if (p.fd < 0) continue;
    auto it = fds_.find(p.fd);
    if (it == fds_.end()) {
      p.revents = POLLNVAL;
    } else if (it->second.channel != 0) {
      const Channel& channel = channels_.at(it->second.channel);
      if (channel.removed) {
        p.revents = POLLERR | POLLHUP | POLLPRI;
      } else if (channel.fail_error != 0) {
        p.revents = POLLERR;
      } else {
        short state = 0;
        if (!channel.rx_blocks.empty()) state |= POLLIN;
        if (!channel.events.empty()) state |= POLLPRI;
        if (channel.tx_blocks.size() < static_cast<size_t>(channel.num_buffers)) state |= POLLOUT;
        p.revents = static_cast<short>(state & p.events);
      }
    }
    if (p.revents != 0) ++ready;
  }
  return ready;
}

}  // namespace linegate::media::tdm::dahdi
