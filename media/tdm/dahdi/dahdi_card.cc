#include "media/tdm/dahdi/dahdi_card.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/log.h"
#include "media/dsp/g711.h"

namespace linegate::media::tdm::dahdi {
namespace {

using sim::LineCommandType;
using sim::LineEventType;

// A read or write interrupted by ELAST (events fetched) or EINTR is tried again this
// many times within the tick; then the block counts as not ready.
constexpr int kRetries = 2;

std::string ErrnoText(int error) {
  if (error == ELAST) return "ELAST (a DAHDI event is pending)";
  return std::strerror(error);
}

// Errors after which the descriptor is of no further use.
bool IsFatal(int error) { return error == ENODEV || error == ENXIO || error == EBADF || error == EIO; }

std::string SignallingName(int signalling) {
  switch (signalling) {
    case DAHDI_SIG_NONE:
      return "none";
    case DAHDI_SIG_FXSLS:
      return "fxsls";
    case DAHDI_SIG_FXSGS:
      return "fxsgs";
    case DAHDI_SIG_FXSKS:
      return "fxsks";
    case DAHDI_SIG_FXOLS:
      return "fxols";
    case DAHDI_SIG_FXOGS:
      return "fxogs";
    case DAHDI_SIG_FXOKS:
      return "fxoks";
    case DAHDI_SIG_EM:
      return "e&m";
    case DAHDI_SIG_EM_E1:
      return "e&m-e1";
    case DAHDI_SIG_CLEAR:
      return "clear";
    case DAHDI_SIG_CAS:
      return "cas";
    case DAHDI_SIG_SF:
      return "sf";
    default:
      return fmt::format("0x{:x}", static_cast<unsigned>(signalling));
  }
}

bool IsFxoSignalled(int s) { return s == DAHDI_SIG_FXOLS || s == DAHDI_SIG_FXOGS || s == DAHDI_SIG_FXOKS; }
bool IsFxsSignalled(int s) { return s == DAHDI_SIG_FXSLS || s == DAHDI_SIG_FXSGS || s == DAHDI_SIG_FXSKS; }

// The naming inversion (dahdi_card.h): an FXS port must be FXO-signalled and vice versa.
Status CheckSignalling(PortType type, int signalling) {
  if (signalling == DAHDI_SIG_NONE) {
    return Error{
        "the channel has no signalling configured (add it to /etc/dahdi/system.conf and run dahdi_cfg)"};
  }
  if ((signalling & DAHDI_SIG_BROKEN) != 0) {
    return Error{"DAHDI reports the channel broken (it failed initialisation; see the kernel log)"};
  }
  const std::string name = SignallingName(signalling);
  if (type == PortType::kFxs) {
    if (IsFxoSignalled(signalling)) return Status::Ok();
    if (IsFxsSignalled(signalling)) {
      return Error{fmt::format(
          "the channel is signalled {}, which DAHDI uses for an FXO port (one facing an exchange); "
          "DAHDI names signalling after the far end, so an FXS port (a phone) must be signalled fxoks, "
          "fxols or fxogs",
          name)};
    }
    return Error{fmt::format(
        "the channel is signalled {}, not an analog FXS port (expected fxoks, fxols or fxogs)", name)};
  }
  if (IsFxsSignalled(signalling)) return Status::Ok();
  if (IsFxoSignalled(signalling)) {
    return Error{fmt::format(
        "the channel is signalled {}, which DAHDI uses for an FXS port (one feeding a phone); DAHDI "
        "names signalling after the far end, so an FXO port (an exchange line) must be signalled fxsks, "
        "fxsls or fxsgs",
        name)};
  }
  return Error{fmt::format(
      "the channel is signalled {}, not an analog FXO port (expected fxsks, fxsls or fxsgs)", name)};
}

unsigned VmwiType(MwiIndication mwi) {
  switch (mwi) {
    case MwiIndication::kNone:
      return 0;
    case MwiIndication::kNeon:
      return DAHDI_VMWI_HVAC;
    case MwiIndication::kHvdc:
      return DAHDI_VMWI_HVDC;
    case MwiIndication::kLineReversal:
      return DAHDI_VMWI_LREV;
  }
  return 0;
}

// DAHDI's ring cadence is on/off pairs in ms that always repeat, ended by a zero: a
// continuous ring, a cadence that stops by itself, an odd count or a zero-length segment
// cannot be expressed (README.md).
bool IsDahdiCadence(const dsp::Cadence& cadence) {
  if (!cadence.repeat || cadence.count < 2 || cadence.count % 2 != 0) return false;
  if (cadence.count > cadence.segments_ms.size() || cadence.count > DAHDI_MAX_CADENCE) return false;
  for (uint8_t i = 0; i < cadence.count; ++i) {
    if (cadence.segments_ms[i] == 0) return false;
  }
  return true;
}

std::span<uint8_t> Bytes(std::span<int16_t> samples) {
  return {reinterpret_cast<uint8_t*>(samples.data()), samples.size() * sizeof(int16_t)};
}

}  // namespace

std::string_view PortTypeName(PortType type) { return type == PortType::kFxs ? "fxs" : "fxo"; }
std::string_view LawName(Law law) { return law == Law::kUlaw ? "ulaw" : "alaw"; }

Status ValidateDahdiCardConfig(const DahdiCardConfig& config) {
  if (config.name.empty()) return Error{"dahdi card: name is empty"};
  const std::string prefix = fmt::format("dahdi card '{}': ", config.name);
  if (config.device_path.empty()) return Error{prefix + "device_path is empty"};
  const size_t ports = config.fxs_channels.size() + config.fxo_channels.size();
  if (ports == 0) return Error{prefix + "fxs_channels and fxo_channels are both empty: a card needs a port"};
  if (ports > kMaxPorts) return Error{fmt::format("{}{} ports: at most {}", prefix, ports, kMaxPorts)};
  std::map<uint32_t, std::string> seen;
  for (const auto& [list, field] :
       {std::pair{&config.fxs_channels, "fxs_channels"}, std::pair{&config.fxo_channels, "fxo_channels"}}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const uint32_t channel = (*list)[i];
      const std::string name = fmt::format("{}[{}]", field, i);
      if (channel == 0 || channel > DAHDI_MAX_CHANNELS) {
        return Error{fmt::format("{}{} = {}: DAHDI channel numbers are 1..{}", prefix, name, channel,
                                 DAHDI_MAX_CHANNELS)};
      }
      const auto [it, inserted] = seen.emplace(channel, name);
      if (!inserted)
        return Error{fmt::format("{}{}: channel {} is also {}", prefix, name, channel, it->second)};
    }
  }
  if (config.frame_samples < kMinFrameSamples || config.frame_samples > kMaxFrameSamples) {
    return Error{fmt::format(
        "{}frame_samples {} out of range {}..{} (2..10 ms; DAHDI_SET_BLOCKSIZE refuses blocks under {} "
        "samples, so tdm.frame_ms 1 cannot be used with dahdi)",
        prefix, config.frame_samples, kMinFrameSamples, kMaxFrameSamples, kMinFrameSamples)};
  }
  if (config.kernel_buffers < kMinKernelBuffers || config.kernel_buffers > kMaxKernelBuffers) {
    return Error{fmt::format("{}kernel_buffers {} out of range {}..{}", prefix, config.kernel_buffers,
                             kMinKernelBuffers, kMaxKernelBuffers)};
  }
  return Status::Ok();
}

// --- DahdiLine ----------------------------------------------------------------------

DahdiLine::DahdiLine(DahdiCard& card, uint32_t index, PortType type, uint32_t dahdi_channel)
    : card_(&card), index_(index), type_(type), dahdi_channel_(dahdi_channel) {}

size_t DahdiLine::PollEvents(std::span<LineEvent> out) { return events_.Pop(out); }

void DahdiLine::Emit(LineEventType type, char digit) {
  LineEvent event;
  event.type = type;
  event.polarity = polarity_;
  event.time = card_->clock_->Now();
  event.digit = digit;
  events_.Push(event);
}

CommandResult DahdiLine::Apply(const LineCommand& command) {
  const bool fxs_command =
      command.type == LineCommandType::kRingStart || command.type == LineCommandType::kRingStop ||
      command.type == LineCommandType::kSetPolarity || command.type == LineCommandType::kMessageWaiting ||
      command.type == LineCommandType::kDisconnect;
  if (fxs_command != (type_ == PortType::kFxs)) return Refuse(CommandResult::kNotApplicable);
  if (failed_) {
    ++stats_.commands_failed;
    return CommandResult::kFailed;
  }
  DahdiDevice& device = *card_->device_;
  switch (command.type) {
    case LineCommandType::kRingStart:
      return RingStart(command);
    case LineCommandType::kRingStop: {
      if (!ringing_) return CommandResult::kOk;  // nothing rings: no ioctl
      const CommandResult result = Hook(DAHDI_RINGOFF, "ring-stop");
      if (result == CommandResult::kOk) ringing_ = false;
      return result;
    }
    case LineCommandType::kSetPolarity: {
      int reversed = command.polarity == Polarity::kReversed ? 1 : 0;
      const int r = DahdiIoctl<DAHDI_SETPOLARITY>(device, fd_, reversed);
      if (r < 0) return CommandError("set-polarity", "DAHDI_SETPOLARITY", -r);
      polarity_ = command.polarity;
      return CommandResult::kOk;
    }
    case LineCommandType::kMessageWaiting: {
      if (card_->config_.mwi == MwiIndication::kNone) return Refuse(CommandResult::kNotApplicable);
      int messages = command.on ? 1 : 0;  // DAHDI_VMWI takes a message count; 0 is off
      const int r = DahdiIoctl<DAHDI_VMWI>(device, fd_, messages);
      if (r < 0) return CommandError("message-waiting", "DAHDI_VMWI", -r);
      return CommandResult::kOk;
    }
    case LineCommandType::kSeize: {
      if (seized_) return Refuse(CommandResult::kInvalid);
      const CommandResult result = Hook(DAHDI_OFFHOOK, "seize");
      if (result == CommandResult::kOk) seized_ = true;
      return result;
    }
    case LineCommandType::kRelease: {
      if (!seized_) return Refuse(CommandResult::kInvalid);
      const CommandResult result = Hook(DAHDI_ONHOOK, "release");
      if (result == CommandResult::kOk) seized_ = false;
      return result;
    }
    case LineCommandType::kDisconnect: {
      // DAHDI has no call that denies loop current for a given time. What it has: a
      // kewlstart (fxoks) port whose kernel side is off-hook drops battery for the
      // kernel's fixed kewl time (DAHDI_KEWLTIME, 500 ms) when set on-hook while the
      // phone is off-hook (dahdi_hangup). The kernel side is off-hook here only after
      // the phone answered a ring (answered_); for anything else the command is not
      // applicable (TdmService: "not supported on dahdi"). On-hook there is nothing to
      // disconnect.
      if (!off_hook_) return CommandResult::kOk;
      if (signalling_ != DAHDI_SIG_FXOKS || !answered_) return Refuse(CommandResult::kNotApplicable);
      const CommandResult result = Hook(DAHDI_ONHOOK, "disconnect");
      if (result == CommandResult::kOk) answered_ = false;
      return result;
    }
  }
  return Refuse(CommandResult::kInvalid);
}

CommandResult DahdiLine::RingStart(const LineCommand& command) {
  if (!IsDahdiCadence(command.cadence)) return Refuse(CommandResult::kInvalid);
  // As on the simulated phone: ringing an off-hook phone is refused.
  if (off_hook_) return Refuse(CommandResult::kInvalid);
  // The kernel refuses DAHDI_RING while it rings (EBUSY): a new cadence restarts the ring.
  if (ringing_) {
    const CommandResult stopped = Hook(DAHDI_RINGOFF, "ring-start");
    if (stopped != CommandResult::kOk) return stopped;
    ringing_ = false;
  }
  dahdi_ring_cadence cadence{};  // the zeros after the segments end the pattern
  for (uint8_t i = 0; i < command.cadence.count; ++i) cadence.ringcadence[i] = command.cadence.segments_ms[i];
  const int r = DahdiIoctl<DAHDI_SETCADENCE>(*card_->device_, fd_, cadence);
  if (r < 0) return CommandError("ring-start", "DAHDI_SETCADENCE", -r);
  const CommandResult result = Hook(DAHDI_RING, "ring-start");
  if (result == CommandResult::kOk) ringing_ = true;
  return result;
}

CommandResult DahdiLine::Hook(int value, std::string_view command) {
  int argument = value;
  const int r = DahdiIoctl<DAHDI_HOOK>(*card_->device_, fd_, argument);
  // A non-blocking DAHDI_RING answers EINPROGRESS: the ring has started.
  if (r >= 0 || r == -EINPROGRESS) return CommandResult::kOk;
  // The kernel's hook state machine is busy (e.g. the 500 ms kewlstart after a hang-up).
  if (r == -EBUSY) return Refuse(CommandResult::kInvalid);
  return CommandError(command, "DAHDI_HOOK", -r);
}

CommandResult DahdiLine::Refuse(CommandResult result) {
  ++stats_.commands_refused;
  return result;
}

CommandResult DahdiLine::CommandError(std::string_view command, std::string_view ioctl, int error) {
  ++stats_.commands_failed;
  if (error == ENODATA) {
    log::Warn("dahdi command failed",
              {{"card", card_->config_.name},
               {"channel", index_},
               {"dahdi_channel", dahdi_channel_},
               {"command", command},
               {"ioctl", ioctl},
               {"error", ErrnoText(error)},
               {"hint", "no tone zone loaded: loadzone/defaultzone in system.conf, dahdi_cfg"}});
  } else {
    log::Warn("dahdi command failed", {{"card", card_->config_.name},
                                       {"channel", index_},
                                       {"dahdi_channel", dahdi_channel_},
                                       {"command", command},
                                       {"ioctl", ioctl},
                                       {"error", ErrnoText(error)}});
  }
  if (IsFatal(error)) card_->Fail(*this, ioctl, error);
  return CommandResult::kFailed;
}

void DahdiLine::HookAfterEvent(int value) {
  int argument = value;
  const int r = DahdiIoctl<DAHDI_HOOK>(*card_->device_, fd_, argument);
  if (r >= 0 || r == -EINPROGRESS) {
    answered_ = value == DAHDI_OFFHOOK;
    return;
  }
  ++stats_.commands_failed;
  log::Warn("dahdi hook change after an event failed",
            {{"card", card_->config_.name},
             {"channel", index_},
             {"dahdi_channel", dahdi_channel_},
             {"hook", value == DAHDI_OFFHOOK ? "off-hook" : "on-hook"},
             {"error", ErrnoText(-r)}});
  if (IsFatal(-r)) card_->Fail(*this, "DAHDI_HOOK", -r);
}

void DahdiLine::HandleEvent(int event) {
  ++stats_.events;
  const bool fxs = type_ == PortType::kFxs;
  if ((event & DAHDI_EVENT_PULSEDIGIT) != 0) {
    if (fxs) {
      Emit(LineEventType::kPulseDigit, static_cast<char>(event & 0xFF));
    } else {
      ++stats_.events_ignored;
    }
    return;
  }
  if ((event & (DAHDI_EVENT_DTMFDOWN | DAHDI_EVENT_DTMFUP)) != 0) {
    ++stats_.events_ignored;  // DAHDI tone detection is never switched on
    return;
  }
  switch (event) {
    case DAHDI_EVENT_RINGOFFHOOK:
      if (fxs) {
        off_hook_ = true;
        Emit(LineEventType::kOffHook);
        // Ring trip: the phone answered. The kernel keeps walking the cadence until it is
        // told the port is off-hook, as the simulated phone stops ringing by itself.
        if (ringing_) {
          ringing_ = false;
          HookAfterEvent(DAHDI_OFFHOOK);
        }
      } else {
        // On an FXO port: a ring burst ended (50 ms without ring voltage). The kernel does
        // not report RINGBEGIN within 2 s of the line going on-hook, so a burst may end
        // without having begun.
        if (!ring_on_) Emit(LineEventType::kRingOn);
        ring_on_ = false;
        Emit(LineEventType::kRingOff);
      }
      return;
    case DAHDI_EVENT_ONHOOK:
      if (fxs) {
        off_hook_ = false;
        Emit(LineEventType::kOnHook);
        // After an answered ring the kernel's side of the port is off-hook; put it back so
        // that the next DAHDI_RING is accepted.
        if (answered_) HookAfterEvent(DAHDI_ONHOOK);
      } else {
        Emit(LineEventType::kLoopDisconnect);
      }
      return;
    case DAHDI_EVENT_WINKFLASH:
      if (fxs) {
        Emit(LineEventType::kFlash);
      } else {
        ++stats_.events_ignored;
      }
      return;
    case DAHDI_EVENT_RINGBEGIN:
      if (!fxs && !ring_on_) {
        ring_on_ = true;
        Emit(LineEventType::kRingOn);
      } else {
        ++stats_.events_ignored;
      }
      return;
    case DAHDI_EVENT_POLARITY:
      if (fxs) {
        ++stats_.events_ignored;
        return;
      }
      // DAHDI says that the polarity changed, not which way: tracked from normal at open.
      polarity_ = polarity_ == Polarity::kNormal ? Polarity::kReversed : Polarity::kNormal;
      Emit(LineEventType::kPolarityReversal);
      return;
    case DAHDI_EVENT_ALARM:
      alarm_ = true;
      Emit(LineEventType::kAlarm);
      return;
    case DAHDI_EVENT_NOALARM:
      alarm_ = false;
      Emit(LineEventType::kAlarmCleared);
      return;
    case DAHDI_EVENT_REMOVED:
      card_->Fail(*this, "the card was removed (DAHDI_EVENT_REMOVED)", 0);
      return;
    default:
      // RINGERON/RINGEROFF, HOOKCOMPLETE, BITSCHANGED, PULSE_START, DIALCOMPLETE, ...
      ++stats_.events_ignored;
      return;
  }
}

// --- DahdiCard ----------------------------------------------------------------------

std::string_view DahdiCard::WaitName(Wait wait) {
  switch (wait) {
    case Wait::kTickDue:
      return "tick-due";
    case Wait::kEventsPending:
      return "events-pending";
    case Wait::kTimeout:
      return "timeout";
    case Wait::kNoChannels:
      return "no-channels";
  }
  return "?";
}

DahdiCard::DahdiCard(DahdiDevice& device, const Clock& clock, const DahdiCardConfig& config)
    : device_(&device), clock_(&clock), config_(config) {}

DahdiCard::~DahdiCard() {
  for (const auto& line : lines_) {
    if (line->fd_ >= 0) device_->Close(line->fd_);
  }
}

Result<std::unique_ptr<DahdiCard>> DahdiCard::Open(DahdiDevice& device, const Clock& clock,
                                                   const DahdiCardConfig& config) {
  if (Status valid = ValidateDahdiCardConfig(config); !valid.ok()) return Error{valid.error()};
  std::unique_ptr<DahdiCard> card(new DahdiCard(device, clock, config));
  const size_t ports = config.fxs_channels.size() + config.fxo_channels.size();
  card->lines_.reserve(ports);
  card->poll_fds_.reserve(ports);
  for (const auto& [list, type, field] : {std::tuple{&config.fxs_channels, PortType::kFxs, "fxs_channels"},
                                          std::tuple{&config.fxo_channels, PortType::kFxo, "fxo_channels"}}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const auto index = static_cast<uint32_t>(card->lines_.size());
      card->lines_.push_back(std::unique_ptr<DahdiLine>(new DahdiLine(*card, index, type, (*list)[i])));
      card->poll_fds_.push_back(pollfd{-1, 0, 0});
      if (Status s = card->OpenLine(*card->lines_.back(), fmt::format("{}[{}]", field, i)); !s.ok()) {
        return Error{s.error()};  // the card's destructor closes what was opened
      }
    }
  }
  card->ChoosePacing();
  log::Info("dahdi card opened", {{"card", config.name},
                                  {"fxs_ports", config.fxs_channels.size()},
                                  {"fxo_ports", config.fxo_channels.size()},
                                  {"frame_samples", config.frame_samples},
                                  {"audio", config.audio == AudioMode::kLinear ? "linear" : "law"},
                                  {"pacing_dahdi_channel", card->lines_[card->pacing_]->dahdi_channel_}});
  return card;
}

Status DahdiCard::OpenLine(DahdiLine& line, std::string_view field) {
  auto fail = [&](const std::string& what) {
    return Error{fmt::format("dahdi card '{}': {} (DAHDI channel {}): {}", config_.name, field,
                             line.dahdi_channel_, what)};
  };
  const int fd = device_->Open(config_.device_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return fail(fmt::format("cannot open {}: {}{}", config_.device_path, ErrnoText(-fd),
                            -fd == ENOENT ? " (is the DAHDI kernel driver loaded?)" : ""));
  }
  line.fd_ = fd;

  int channel = static_cast<int>(line.dahdi_channel_);
  if (const int r = DahdiIoctl<DAHDI_SPECIFY>(*device_, fd, channel); r < 0) {
    const char* hint = r == -EINVAL  ? " (no such channel: see dahdi_scan and /etc/dahdi/system.conf)"
                       : r == -EBUSY ? " (another program has the channel open)"
                                     : "";
    return fail(fmt::format("DAHDI_SPECIFY failed: {}{}", ErrnoText(-r), hint));
  }

  dahdi_params params{};
  params.channo = channel;
  if (const int r = DahdiIoctl<DAHDI_GET_PARAMS>(*device_, fd, params); r < 0) {
    return fail(fmt::format("DAHDI_GET_PARAMS failed: {}", ErrnoText(-r)));
  }
  line.signalling_ = params.sigtype;
  line.kernel_name_.assign(params.name, strnlen(params.name, sizeof(params.name)));
  if (Status s = CheckSignalling(line.type_, params.sigtype); !s.ok()) return fail(s.error());
  if (params.curlaw == DAHDI_LAW_MULAW) {
    line.law_ = Law::kUlaw;
  } else if (params.curlaw == DAHDI_LAW_ALAW) {
    line.law_ = Law::kAlaw;
  } else {
    return fail(fmt::format("DAHDI_GET_PARAMS reports an unknown law {}", params.curlaw));
  }

  int block = static_cast<int>(config_.frame_samples);
  if (const int r = DahdiIoctl<DAHDI_SET_BLOCKSIZE>(*device_, fd, block); r < 0) {
    return fail(fmt::format("DAHDI_SET_BLOCKSIZE {} failed: {}", block, ErrnoText(-r)));
  }
  dahdi_bufferinfo buffers{};
  buffers.txbufpolicy = DAHDI_POLICY_IMMEDIATE;
  buffers.rxbufpolicy = DAHDI_POLICY_IMMEDIATE;
  buffers.numbufs = static_cast<int>(config_.kernel_buffers);
  buffers.bufsize = static_cast<int>(config_.frame_samples);
  if (const int r = DahdiIoctl<DAHDI_SET_BUFINFO>(*device_, fd, buffers); r < 0) {
    return fail(fmt::format("DAHDI_SET_BUFINFO ({} buffers of {}) failed: {}", buffers.numbufs,
                            buffers.bufsize, ErrnoText(-r)));
  }
  int linear = config_.audio == AudioMode::kLinear ? 1 : 0;
  if (const int r = DahdiIoctl<DAHDI_SETLINEAR>(*device_, fd, linear); r < 0) {
    return fail(fmt::format("DAHDI_SETLINEAR {} failed: {}", linear, ErrnoText(-r)));
  }
  if (line.type_ == PortType::kFxs && config_.mwi != MwiIndication::kNone) {
    dahdi_vmwi_info vmwi{};
    vmwi.vmwi_type = VmwiType(config_.mwi);
    if (const int r = DahdiIoctl<DAHDI_VMWI_CONFIG>(*device_, fd, vmwi); r < 0) {
      return fail(fmt::format("DAHDI_VMWI_CONFIG 0x{:x} failed: {} (the card may not offer that indication)",
                              vmwi.vmwi_type, ErrnoText(-r)));
    }
  }

  poll_fds_[line.index_] = pollfd{fd, POLLPRI, 0};
  // A phone already off-hook when the card opens: say so, as the gateway starts from
  // every line idle.
  if (line.type_ == PortType::kFxs && params.rxisoffhook != 0) {
    line.off_hook_ = true;
    line.Emit(LineEventType::kOffHook);
  }
  return Status::Ok();
}

void DahdiCard::ChoosePacing() {
  // The kernel fills a span's channels in ascending order in one interrupt: once the
  // highest-numbered one has its block, the others have theirs.
  uint32_t pacing = channel_count();
  for (uint32_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i]->failed_) continue;
    if (pacing == channel_count() || lines_[i]->dahdi_channel_ > lines_[pacing]->dahdi_channel_) pacing = i;
  }
  pacing_ = pacing;
  for (uint32_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i]->failed_) continue;
    poll_fds_[i].events = static_cast<short>(i == pacing_ ? (POLLIN | POLLPRI) : POLLPRI);
  }
}

DahdiCard::Wait DahdiCard::WaitForTick(int timeout_ms) {
  if (pacing_ >= channel_count()) return Wait::kNoChannels;
  for (pollfd& p : poll_fds_) p.revents = 0;
  const int n = device_->Poll(poll_fds_, timeout_ms);
  if (n < 0) {
    if (n != -EINTR) {
      if (poll_errors_++ == 0) {
        log::Error("dahdi poll failed", {{"card", config_.name}, {"error", ErrnoText(-n)}});
      }
    }
    return Wait::kTimeout;
  }
  if (n == 0) return Wait::kTimeout;
  const uint32_t pacing = pacing_;
  bool tick = false;
  bool events = false;
  for (uint32_t i = 0; i < lines_.size(); ++i) {
    const short revents = poll_fds_[i].revents;
    if (revents == 0) continue;
    DahdiLine& line = *lines_[i];
    if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      // A channel whose card went away also shows POLLPRI: its event says why.
      if ((revents & POLLPRI) != 0 && (revents & POLLNVAL) == 0) DrainEvents(line);
      Fail(line, (revents & POLLNVAL) != 0 ? "poll: POLLNVAL" : "poll: POLLERR/POLLHUP", 0);
      continue;
    }
    if ((revents & POLLPRI) != 0) {
      line.event_pending_ = true;
      events = true;
    }
    if (i == pacing && (revents & POLLIN) != 0) tick = true;
  }
  if (tick && pacing == pacing_) return Wait::kTickDue;
  if (pacing_ >= channel_count()) return Wait::kNoChannels;
  return events ? Wait::kEventsPending : Wait::kTimeout;
}

size_t DahdiCard::PumpEvents() {
  size_t fetched = 0;
  for (const auto& line : lines_) {
    if (line->event_pending_ && !line->failed_) fetched += DrainEvents(*line);
  }
  return fetched;
}

size_t DahdiCard::DrainEvents(DahdiLine& line) {
  size_t fetched = 0;
  // The kernel queues at most DAHDI_MAX_EVENTSIZE events per channel; the bound keeps a
  // misbehaving driver from holding the tick.
  for (int i = 0; i <= DAHDI_MAX_EVENTSIZE && !line.failed_; ++i) {
    int event = DAHDI_EVENT_NONE;
    const int r = DahdiIoctl<DAHDI_GETEVENT>(*device_, line.fd_, event);
    if (event == DAHDI_EVENT_REMOVED) {  // a removed channel says so even as the ioctl fails
      ++fetched;
      line.HandleEvent(event);
      break;
    }
    if (r < 0) {
      Fail(line, "DAHDI_GETEVENT", -r);
      break;
    }
    if (event == DAHDI_EVENT_NONE) break;
    ++fetched;
    line.HandleEvent(event);
  }
  line.event_pending_ = false;
  return fetched;
}

void DahdiCard::Tick(sim::FrameSource& source, sim::FrameSink& sink) {
  PumpEvents();  // spares the read that would answer ELAST
  const std::span<int16_t> frame(frame_.data(), config_.frame_samples);
  for (uint32_t channel = 0; channel < lines_.size(); ++channel) {
    DahdiLine& line = *lines_[channel];
    if (line.failed_) {
      std::fill(frame.begin(), frame.end(), int16_t{0});
      sink.WriteFromLine(channel, frame);
      (void)source.ReadToLine(channel, frame);  // taken and dropped, so that the bus keeps moving
      continue;
    }
    ReadBlock(line, frame);
    sink.WriteFromLine(channel, frame);
    if (!source.ReadToLine(channel, frame)) {
      ++line.stats_.underruns;
      std::fill(frame.begin(), frame.end(), int16_t{0});
    }
    if (!line.failed_) WriteBlock(line, frame);
  }
  ++ticks_;
  sink.EndTick(clock_->Now());
}

void DahdiCard::ReadBlock(DahdiLine& line, std::span<int16_t> frame) {
  const bool linear = config_.audio == AudioMode::kLinear;
  const std::span<uint8_t> buffer = linear ? Bytes(frame) : std::span<uint8_t>(codes_.data(), frame.size());
  ssize_t n = 0;
  for (int attempt = 0;; ++attempt) {
    n = device_->Read(line.fd_, buffer);
    if (attempt == kRetries || (n != -ELAST && n != -EINTR)) break;
    if (n == -ELAST) {
      ++line.stats_.event_interruptions;
      DrainEvents(line);
      if (line.failed_) break;
    }
  }
  size_t samples = 0;
  if (line.failed_ || n == -EAGAIN || n == -ELAST || n == -EINTR) {
    if (!line.failed_) ++line.stats_.read_not_ready;
  } else if (n < 0) {
    Fail(line, "read", static_cast<int>(-n));
  } else {
    samples = std::min(static_cast<size_t>(n) / (linear ? sizeof(int16_t) : 1), frame.size());
    if (!linear) {
      const std::span<const uint8_t> codes(codes_.data(), samples);
      if (line.law_ == Law::kUlaw) {
        dsp::DecodeUlaw(codes, frame);
      } else {
        dsp::DecodeAlaw(codes, frame);
      }
    }
    if (samples == frame.size()) {
      ++line.stats_.frames_read;
    } else {
      ++line.stats_.short_reads;
    }
  }
  std::fill(frame.begin() + static_cast<ptrdiff_t>(samples), frame.end(), int16_t{0});
}

void DahdiCard::WriteBlock(DahdiLine& line, std::span<int16_t> frame) {
  const bool linear = config_.audio == AudioMode::kLinear;
  std::span<const uint8_t> data;
  if (linear) {
    data = Bytes(frame);
  } else {
    const std::span<uint8_t> codes(codes_.data(), frame.size());
    if (line.law_ == Law::kUlaw) {
      dsp::EncodeUlaw(frame, codes);
    } else {
      dsp::EncodeAlaw(frame, codes);
    }
    data = codes;
  }
  ssize_t n = 0;
  for (int attempt = 0;; ++attempt) {
    n = device_->Write(line.fd_, data);
    if (attempt == kRetries || (n != -ELAST && n != -EINTR)) break;
    if (n == -ELAST) {
      ++line.stats_.event_interruptions;
      DrainEvents(line);
      if (line.failed_) return;
    }
  }
  if (n == -EAGAIN || n == -ELAST || n == -EINTR) {
    ++line.stats_.write_full;
  } else if (n < 0) {
    Fail(line, "write", static_cast<int>(-n));
  } else if (static_cast<size_t>(n) < data.size()) {
    ++line.stats_.short_writes;
  } else {
    ++line.stats_.frames_written;
  }
}

void DahdiCard::Fail(DahdiLine& line, std::string_view operation, int error) {
  if (line.failed_) return;
  line.failed_ = true;
  line.failure_ = error != 0 ? fmt::format("{}: {}", operation, ErrnoText(error)) : std::string(operation);
  line.event_pending_ = false;
  poll_fds_[line.index_].fd = -1;  // poll(2) skips negative descriptors
  ++failed_channels_;
  log::Error("dahdi channel failed", {{"card", config_.name},
                                      {"channel", line.index_},
                                      {"dahdi_channel", line.dahdi_channel_},
                                      {"port", PortTypeName(line.type_)},
                                      {"error", line.failure_}});
  line.alarm_ = true;
  line.Emit(LineEventType::kAlarm);
  if (line.index_ == pacing_) ChoosePacing();
}

}  // namespace linegate::media::tdm::dahdi
