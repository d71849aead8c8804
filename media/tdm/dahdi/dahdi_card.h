#pragma once
// The `dahdi` interface card: analog FXS and FXO ports of a card driven by the DAHDI
// kernel driver, one /dev/dahdi/channel descriptor per port. It speaks the gateway's
// line vocabulary (../sim/line_signaling.h) and exchanges audio with the same
// FrameSource / FrameSink as the simulated card (../sim/sim_card.h), so the tdm process
// drives both alike. See README.md for the event and command tables and what was (not)
// tested.
//
// DAHDI's naming inversion: DAHDI names a channel's signalling after the role of the
// device at the FAR end. A port that feeds a telephone (an FXS port: battery, ring
// voltage) is configured `fxoks` / `fxols` / `fxogs` in /etc/dahdi/system.conf and
// DAHDI_GET_PARAMS reports DAHDI_SIG_FXO*; a port that connects to an exchange line (an
// FXO port) is `fxsks` / `fxsls` / `fxsgs` and reports DAHDI_SIG_FXS*. In this code
// PortType always means the port's own role, as in the configuration and EnumerateLines.
//
// Timing: the card's own clock paces the tick. WaitForTick(timeout) polls the channels
// and says when a block is ready (a read that would block means the tick is not due);
// Tick() then reads one block from every channel into the FrameSink and writes one from
// the FrameSource to every channel. No timerfd: a timer would drift against the card's
// crystal and slip a frame every few seconds.
//
// Threads: none of its own; every call comes from the one thread that ticks the card.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "media/tdm/dahdi/dahdi_device.h"
#include "media/tdm/sim/line_signaling.h"
#include "media/tdm/sim/sim_card.h"

namespace linegate::media::tdm::dahdi {

using sim::CommandResult;
using sim::LineCommand;
using sim::LineEvent;
using sim::Polarity;

// DAHDI_SET_BLOCKSIZE refuses blocks under 16 samples, so 1 ms frames are impossible.
inline constexpr uint32_t kMinFrameSamples = 16;                     // 2 ms
inline constexpr uint32_t kMaxFrameSamples = sim::kMaxFrameSamples;  // 10 ms
inline constexpr uint32_t kMaxPorts = DAHDI_MAX_CHANNELS;            // per card
inline constexpr uint32_t kMinKernelBuffers = 2;
inline constexpr uint32_t kMaxKernelBuffers = DAHDI_MAX_NUM_BUFS;

enum class PortType : uint8_t { kFxs, kFxo };
std::string_view PortTypeName(PortType type);  // "fxs", "fxo"

// How audio crosses the read/write system calls.
enum class AudioMode : uint8_t {
  kLinear,  // DAHDI_SETLINEAR 1: 16-bit samples, the kernel converts from the channel's law
  kLaw,     // DAHDI_SETLINEAR 0: the channel's G.711 law (half the bytes), converted here
};

// How an FXS port shows message waiting (DAHDI_VMWI_CONFIG); kNone refuses the command.
enum class MwiIndication : uint8_t {
  kNone,
  kNeon,          // DAHDI_VMWI_HVAC: high-voltage AC for a neon lamp
  kHvdc,          // DAHDI_VMWI_HVDC: high-voltage DC
  kLineReversal,  // DAHDI_VMWI_LREV: reversed line polarity
};

enum class Law : uint8_t { kUlaw, kAlaw };
std::string_view LawName(Law law);  // "ulaw", "alaw"

// One card. Channels (the index used by line(), FrameSource and FrameSink) are the FXS
// ports in the order of fxs_channels, then the FXO ports in the order of fxo_channels:
// the order of EnumerateLines (../tdm_service.h). README.md proposes how config.proto
// would carry this.
struct DahdiCardConfig {
  std::string name = "dahdi";                      // in logs and error messages
  std::string device_path = "/dev/dahdi/channel";  // the generic channel selector
  std::vector<uint32_t> fxs_channels;              // DAHDI channel numbers (1..1024) of the FXS ports
  std::vector<uint32_t> fxo_channels;              // ... of the FXO ports
  uint32_t frame_samples = 80;                     // 16..80 (2..10 ms): the DAHDI block size
  AudioMode audio = AudioMode::kLinear;
  uint32_t kernel_buffers = 4;  // 2..32 blocks of kernel buffering per direction (DAHDI_SET_BUFINFO)
  MwiIndication mwi = MwiIndication::kNone;  // FXS ports only
};

// Every problem names its field, e.g. "dahdi card 'pbx': fxo_channels[1]: channel 3
// is also fxs_channels[2]".
Status ValidateDahdiCardConfig(const DahdiCardConfig& config);

// Counters of one line; none is logged per frame.
struct DahdiLineStats {
  uint64_t frames_read = 0;          // full blocks read
  uint64_t short_reads = 0;          // a read shorter than a block: the rest was silence
  uint64_t read_not_ready = 0;       // EAGAIN at a tick: no block yet, silence given
  uint64_t frames_written = 0;       // full blocks written
  uint64_t short_writes = 0;         // the kernel took less than a block
  uint64_t write_full = 0;           // EAGAIN: the kernel's transmit buffers were full, block dropped
  uint64_t underruns = 0;            // the FrameSource had no frame: silence written
  uint64_t event_interruptions = 0;  // ELAST on a read or write (events fetched, call retried)
  uint64_t events = 0;               // DAHDI events fetched
  uint64_t events_ignored = 0;       // fetched but not forwarded (README.md, event table)
  uint64_t commands_refused = 0;     // kNotApplicable or kInvalid
  uint64_t commands_failed = 0;      // kFailed
};

class DahdiCard;

// One port: the gateway's LineSignaling view of it plus its state and counters.
class DahdiLine final : public sim::LineSignaling {
 public:
  // Control-plane calls, on the thread that ticks the card. Apply makes the ioctls of
  // the command table in README.md; PollEvents hands over what the card's events
  // became, oldest first (a queue of 64; overflow counted in events_dropped()).
  CommandResult Apply(const LineCommand& command) override;
  size_t PollEvents(std::span<LineEvent> out) override;

  uint32_t index() const { return index_; }  // channel on the card
  PortType type() const { return type_; }
  uint32_t dahdi_channel() const { return dahdi_channel_; }
  int signalling() const { return signalling_; }  // DAHDI_SIG_* from DAHDI_GET_PARAMS
  // The battery drop a disconnect command gets on DAHDI (see Apply): the kernel's.
  static constexpr uint32_t kKewlDisconnectMs = 500;
  Law law() const { return law_; }  // the channel's law (DAHDI_GET_PARAMS curlaw)
  const std::string& kernel_name() const { return kernel_name_; }  // e.g. "WCTDM/0/1"

  // A failed line is skipped by Tick (its frames are silence) and refuses commands.
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }  // "read: No such device", ...
  bool alarm() const { return alarm_; }

  bool off_hook() const { return off_hook_; }      // FXS: the phone, as last reported
  bool ringing() const { return ringing_; }        // FXS: the card rings (a cadence runs)
  bool ring_on() const { return ring_on_; }        // FXO: ring voltage seen
  bool seized() const { return seized_; }          // FXO
  Polarity polarity() const { return polarity_; }  // FXS: as set; FXO: as reported

  const DahdiLineStats& stats() const { return stats_; }
  uint64_t events_dropped() const { return events_.dropped(); }

 private:
  friend class DahdiCard;
  DahdiLine(DahdiCard& card, uint32_t index, PortType type, uint32_t dahdi_channel);

  CommandResult RingStart(const LineCommand& command);
  CommandResult Hook(int value, std::string_view command);
  CommandResult Refuse(CommandResult result);
  CommandResult CommandError(std::string_view command, std::string_view ioctl, int error);
  void Emit(sim::LineEventType type, char digit = 0);
  void HandleEvent(int event);
  void HookAfterEvent(int value);

  DahdiCard* card_;
  uint32_t index_;
  PortType type_;
  uint32_t dahdi_channel_;
  int fd_ = -1;
  int signalling_ = 0;
  Law law_ = Law::kUlaw;
  std::string kernel_name_;
  bool failed_ = false;
  std::string failure_;
  bool event_pending_ = false;
  bool alarm_ = false;
  bool off_hook_ = false;
  bool ringing_ = false;
  bool answered_ = false;  // FXS: DAHDI_OFFHOOK was given when the phone answered a ring
  bool ring_on_ = false;
  bool seized_ = false;
  Polarity polarity_ = Polarity::kNormal;
  sim::LineEventQueue events_;
  DahdiLineStats stats_;
};

class DahdiCard {
 public:
  enum class Wait : uint8_t {
    kTickDue,        // a block is ready: call Tick
    kEventsPending,  // only signalling events: call PumpEvents (or let the next Tick fetch them)
    kTimeout,        // nothing within the timeout, or interrupted (EINTR)
    kNoChannels,     // every channel failed: nothing paces the card any more
  };
  static std::string_view WaitName(Wait wait);

  // Validates the configuration, then opens, specifies and sets up every channel
  // (README.md, "Opening"). Any problem closes what was opened and is returned with the
  // field and the DAHDI channel it concerns. `device` and `clock` must outlive the card.
  static Result<std::unique_ptr<DahdiCard>> Open(DahdiDevice& device, const Clock& clock,
                                                 const DahdiCardConfig& config);
  // Closes every channel; the kernel hangs each up (stops ringing, goes on-hook).
  ~DahdiCard();
  DahdiCard(const DahdiCard&) = delete;
  DahdiCard& operator=(const DahdiCard&) = delete;

  const DahdiCardConfig& config() const { return config_; }
  uint32_t channel_count() const { return static_cast<uint32_t>(lines_.size()); }
  uint32_t frame_samples() const { return config_.frame_samples; }
  // The channel must exist.
  DahdiLine& line(uint32_t channel) { return *lines_.at(channel); }
  const DahdiLine& line(uint32_t channel) const { return *lines_.at(channel); }

  // One poll(2) over the channels: waits until the pacing channel (the healthy channel
  // with the highest DAHDI number) has a block to read, or any channel has an event,
  // for at most timeout_ms (-1: no limit, 0: just look). Channels that poll reports in
  // error (POLLERR, POLLHUP, POLLNVAL) are marked failed.
  Wait WaitForTick(int timeout_ms);

  // Per tick: fetches flagged events, then for every channel reads one block into
  // sink.WriteFromLine and writes source.ReadToLine's frame as one block; finally
  // sink.EndTick(clock.Now()). One read and one write per healthy channel; events cost
  // ioctls only when there are some. Allocates nothing and takes no lock (a channel's
  // first failure is logged once, which does allocate).
  void Tick(sim::FrameSource& source, sim::FrameSink& sink);

  // Fetches the events of channels that WaitForTick or a read/write flagged; returns
  // how many DAHDI events were fetched.
  size_t PumpEvents();

  // The channel WaitForTick paces on, or channel_count() when none is healthy.
  uint32_t pacing_channel() const { return pacing_; }
  uint64_t ticks() const { return ticks_; }
  uint32_t failed_channels() const { return failed_channels_; }
  uint64_t poll_errors() const { return poll_errors_; }

 private:
  friend class DahdiLine;
  DahdiCard(DahdiDevice& device, const Clock& clock, const DahdiCardConfig& config);

  Status OpenLine(DahdiLine& line, std::string_view field);
  void ChoosePacing();
  void ReadBlock(DahdiLine& line, std::span<int16_t> frame);
  void WriteBlock(DahdiLine& line, std::span<int16_t> frame);
  size_t DrainEvents(DahdiLine& line);
  void Fail(DahdiLine& line, std::string_view operation, int error);

  DahdiDevice* device_;
  const Clock* clock_;
  DahdiCardConfig config_;
  std::vector<std::unique_ptr<DahdiLine>> lines_;
  std::vector<pollfd> poll_fds_;  // one per channel; fd -1 once the channel failed
  uint32_t pacing_ = 0;
  std::array<int16_t, kMaxFrameSamples> frame_{};
  std::array<uint8_t, kMaxFrameSamples> codes_{};
  uint64_t ticks_ = 0;
  uint32_t failed_channels_ = 0;
  uint64_t poll_errors_ = 0;
};

}  // namespace linegate::media::tdm::dahdi
