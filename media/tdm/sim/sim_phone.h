#pragma once
// A simulated telephone on an FXS port: hook switch, hook flash, DTMF and pulse
// (rotary) dialling, a ringer that logs the ring cadence it sees, a caller-ID display
// (FSK Bell 202 / V.23 and DTMF, received on-hook; FSK also off-hook: type 2, caller ID
// on call waiting), a message-waiting lamp, a tone or WAV player, a recorder and a
// listener (level, frequency, DTMF). It notices an open-loop disconnect (loop current
// denied by the port) and, in load mode (auto_answer_ms), answers ringing by itself
// and hangs up at a disconnect.
//
// Type 2 caller ID: off-hook, the display listens for the CAS alert tone (2130 + 2750 Hz,
// at least 40 ms) and decodes FSK for a second after it. It does not acknowledge the
// alert (the gateway sends the data to a simulated line without waiting for an ACK).
//
// Timing: the phone's own actions (flash length, pulse break/make, inter-digit pause,
// ring cadence applied by the port) are counted in samples of the frames it is ticked
// with, as a card's hardware would time them; a change that falls due inside a frame
// takes effect at the start of the next frame (so with 10 ms frames every duration is
// exact to the sample when it is a multiple of 10 ms, otherwise up to one frame late).
// What is observed (hook events, the ringer's log) is stamped with the injected clock,
// read at the time of the command or at the start of the tick. The caller advances its
// clock by one frame per tick.
//
// Threading: one thread ticks the phone and makes the other calls between ticks.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf.h"
#include "media/tdm/sim/line_audio.h"
#include "media/tdm/sim/line_signaling.h"
#include "media/tdm/sim/sim_line.h"

namespace linegate::media::tdm::sim {

struct SimPhoneConfig {
  uint32_t flash_ms = 500;        // 100..900
  uint32_t pulse_break_ms = 60;   // 10 pps, 60/40 (20..200)
  uint32_t pulse_make_ms = 40;    // (20..200)
  uint32_t inter_digit_ms = 700;  // loop closed between pulse digits, >= 300
  dsp::DtmfGeneratorConfig dtmf{};
  uint32_t record_buffer_ms = 2000;  // ring between Tick and Flush (100..60000)
  uint32_t max_record_ms = 600000;   // longest recording (10 min)
  // Load mode: off-hook this long after ringing starts, on-hook when a disconnect
  // (loop current denied) ends; 0: off (config.proto SimCard.auto_answer_ms).
  uint32_t auto_answer_ms = 0;
};
inline constexpr uint32_t kMaxAutoAnswerMs = 600000;
inline constexpr uint32_t kMaxDisconnectMs = 60000;
Status ValidateSimPhoneConfig(const SimPhoneConfig& config);

inline constexpr uint32_t kMinFlashMs = 100;
inline constexpr uint32_t kMaxFlashMs = 900;

// One on or off period of ring voltage, as the ringer saw it.
struct RingSegment {
  bool ringing = false;
  TimePoint start{};
  Duration duration{};
};

// The phone's bell: logs the periods of ring voltage and of silence between them, from
// the first ring on. The silence after the last ring stays open (not logged) until the
// next ring.
class Ringer {
 public:
  static constexpr size_t kCapacity = 64;

  void Observe(bool voltage, TimePoint now);
  bool ringing() const { return ringing_; }
  // Completed segments, oldest first (the first kCapacity; later ones are counted).
  std::span<const RingSegment> segments() const { return {segments_.data(), count_}; }
  uint64_t rings() const { return rings_; }
  uint64_t segments_dropped() const { return dropped_; }
  void Clear();

 private:
  std::array<RingSegment, kCapacity> segments_{};
  size_t count_ = 0;
  uint64_t dropped_ = 0;
  uint64_t rings_ = 0;
  bool ringing_ = false;
  bool started_ = false;  // a segment is open
  TimePoint segment_start_{};
};

// A caller ID the phone's display accepted.
struct ReceivedCallerId {
  dsp::CallerIdResult result{};
  TimePoint time{};           // start of the tick in which it completed
  uint64_t rings_before = 0;  // rings the ringer had seen by then (since construction)
  bool off_hook = false;      // type 2: received during a call (call waiting)
};

// "number=5551234 name=\"LINEGATE\" time=03-15T14:30 standard=bell202": number (or
// "private" / "unavailable"), name if any (quoted, or the reason unquoted), date-time if
// any, standard.
std::string FormatCallerId(const dsp::CallerIdResult& result);
// The same for what an exchange sends (SimExchangeLine's status).
std::string FormatCallerId(const dsp::CallerIdInfo& info, dsp::CallerIdStandard standard);

class SimPhone final : public SimLine {
 public:
  enum class HookState : uint8_t {
    kOnHook,
    kOffHook,
    kFlash,       // loop open for the flash time
    kPulseBreak,  // loop open: one dial pulse
    kPulseMake,   // loop closed between the pulses of a digit
    kInterDigit,  // loop closed between pulse digits
  };
  static std::string_view HookStateName(HookState state);

  // The port's ring generator, as the phone's line sees it.
  enum class RingState : uint8_t { kIdle, kRinging, kSilentInterval };
  static std::string_view RingStateName(RingState state);

  static constexpr size_t kPulseDigitCapacity = 32;

  // The configuration must be valid (ValidateSimPhoneConfig); an invalid one aborts.
  explicit SimPhone(const Clock& clock, const SimPhoneConfig& config = {});

  // ---- What the person at the phone does (control plane) -----------------------------
  Status OffHook();
  Status OnHook();
  // Hook flash of flash_ms, or of `ms` (100..900).
  Status Flash(std::optional<uint32_t> ms = std::nullopt);
  // DTMF into the line (0-9 * # A-D); queued behind digits still playing.
  Status DialDtmf(std::string_view digits);
  // Pulse dialling (0-9): n breaks for digit n, 10 for 0.
  Status DialPulse(std::string_view digits);
  Status PlayTone(double frequency_hz, double level_dbm0);
  Status PlayWavFile(const std::string& path);
  void PlayWav(std::vector<int16_t> samples, std::string name);
  void StopPlaying() { player_.Stop(); }
  // Records what the phone hears (silence while on-hook) for up to max_ms.
  Status StartRecording(const std::string& path, uint32_t max_ms);
  Status StopRecording();
  Result<ListenReport> Listen(uint32_t window_ms);

  // ---- SimLine ----------------------------------------------------------------------
  CommandResult Apply(const LineCommand& command) override;
  size_t PollEvents(std::span<LineEvent> out) override { return events_.Pop(out); }
  void Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) override;
  Status Flush() override { return recorder_.Flush(); }
  std::string Describe() const override;

  // ---- Observation --------------------------------------------------------------------
  HookState hook_state() const { return hook_; }
  // Loop closed: the phone draws current and exchanges audio.
  bool loop_closed() const;
  RingState ring_state() const;
  const Ringer& ringer() const { return ringer_; }
  bool message_waiting() const { return message_waiting_; }
  Polarity polarity() const { return polarity_; }
  uint64_t polarity_reversals() const { return polarity_reversals_; }
  const AudioRecorder& recorder() const { return recorder_; }
  const AudioPlayer& player() const { return player_; }
  bool dialling() const;
  // The last caller ID received and accepted, if any (kept until the next one).
  const std::optional<ReceivedCallerId>& caller_id() const { return caller_id_; }
  // Caller ID messages received but rejected (bad checksum, malformed, unsupported).
  uint64_t caller_ids_rejected() const { return caller_ids_rejected_; }
  const dsp::CallerIdReceiverStats& fsk_caller_id_stats() const { return fsk_caller_id_.stats(); }
  const dsp::DtmfCallerIdReceiverStats& dtmf_caller_id_stats() const { return dtmf_caller_id_.stats(); }
  // Open-loop disconnects: the one in progress (loop current denied now), how many the
  // phone noticed (off-hook), and the length of the last one.
  bool loop_current_denied() const { return disconnect_remaining_ > 0; }
  uint64_t disconnects_seen() const { return disconnects_seen_; }
  uint32_t last_disconnect_ms() const { return last_disconnect_ms_; }
  uint64_t auto_answers() const { return auto_answers_; }
  // Commands refused as not applicable or invalid.
  uint64_t commands_refused() const { return commands_refused_; }
  uint64_t events_dropped() const { return events_.dropped(); }

 private:
  void SetHook(HookState next, uint32_t duration_ms);
  void Emit(LineEventType type);
  void AdvanceHook();
  bool StartNextPulseDigit();
  void ReceiveCallerId(std::span<const int16_t> audio);
  void OnCallerId(const dsp::CallerIdResult& result, bool off_hook);
  void AdvanceLoadMode(uint32_t samples);
  void ReceiveType2CallerId(std::span<const int16_t> audio);

  const Clock& clock_;
  SimPhoneConfig config_;
  HookState hook_ = HookState::kOnHook;
  uint32_t hook_remaining_ = 0;                              // samples left in a timed hook state
  std::array<uint8_t, kPulseDigitCapacity> pulse_digits_{};  // pulses per digit
  size_t pulse_head_ = 0;
  size_t pulse_count_ = 0;
  uint32_t pulses_left_ = 0;  // in the current digit, including the current break
  CadenceTimer ring_timer_;
  Ringer ringer_;
  bool message_waiting_ = false;
  Polarity polarity_ = Polarity::kNormal;
  uint64_t polarity_reversals_ = 0;
  uint64_t commands_refused_ = 0;
  LineEventQueue events_;
  dsp::DtmfGenerator dtmf_;
  AudioPlayer player_;
  AudioMonitor monitor_;
  AudioRecorder recorder_;
  // The caller-ID unit: bridged across the line while on-hook (see Tick).
  dsp::CallerIdReceiver fsk_caller_id_;
  dsp::DtmfCallerIdReceiver dtmf_caller_id_;
  std::optional<ReceivedCallerId> caller_id_;
  uint64_t caller_ids_rejected_ = 0;
  // Type 2: the CAS alert detector (Goertzel at both tones over 10 ms blocks) and the
  // time the display stays ready for data after an alert.
  float cas_low_s1_ = 0.0f;
  float cas_low_s2_ = 0.0f;
  float cas_high_s1_ = 0.0f;
  float cas_high_s2_ = 0.0f;
  float cas_energy_ = 0.0f;
  uint32_t cas_block_ = 0;     // samples in the current block
  uint32_t cas_samples_ = 0;   // of continuous alert tone
  uint32_t type2_window_ = 0;  // samples left to receive the data
  // Open-loop disconnect and load mode.
  uint32_t disconnect_remaining_ = 0;  // samples of loop current still denied
  bool disconnect_noticed_ = false;    // the current one found the loop closed
  uint64_t disconnects_seen_ = 0;
  uint32_t last_disconnect_ms_ = 0;
  bool auto_answer_pending_ = false;
  uint32_t auto_answer_remaining_ = 0;  // samples until the phone answers the ringing
  uint64_t auto_answers_ = 0;
};

}  // namespace linegate::media::tdm::sim
