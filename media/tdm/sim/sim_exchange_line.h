#pragma once
// A simulated exchange line on an FXO port: the telephone exchange (central office) the
// gateway's FXO port is wired to. It rings the port for incoming calls and connects
// when the port answers; when the port seizes an idle line it gives dial tone, collects
// the DTMF digits the gateway dials and reports the number, plays ringback until the
// far end answers (answer supervision: polarity reversal), connects, and on far-end
// hang-up reverses polarity again (disconnect supervision) and plays busy tone. Far-end
// audio is silence, a tone, a WAV file, or a loopback of what the gateway sends (tests).
//
// Caller ID: Ring can present the caller. The exchange sends it in the from-line audio
// while the port is on-hook (on-hook data transmission; no other audio reaches an
// on-hook port), the way exchanges time it:
//   bell202  FSK (MDMF) in the first silent interval, caller_id_after_ring_ms (500 ms)
//            after the first ring ends (GR-30), done 200 ms or more before the next ring.
//   v23      FSK (MDMF), the ETSI EN 300 659-1 variant associated with ringing: after the
//            first ring, timed as bell202 (not the variants before the first ring, which
//            start with a line reversal and an alerting signal).
//   dtmf     the ETSI DTMF form ('A' digits 'C') before the first ring, without a line
//            reversal or alerting before it; the first ring starts
//            dtmf_caller_id_ring_gap_ms (300 ms) after the end of the last digit's tone.
// If the port seizes (answers) before the caller ID has been sent in full, or the caller
// gives up, it is dropped (a burst is cut off at once).
//
// Timing follows SimPhone (sim_phone.h): cadences and timeouts in samples, events
// stamped with the injected clock.
//
// State machine (illegal requests are refused with a message and counted):
//
//   state        | gateway seizes   | gateway releases | digit / timeout | far-end action
//   idle         | dial-tone        | -                | -               | Ring -> ringing
//   ringing      | connected        | -                | -               | StopRinging -> idle
//   dial-tone    | -                | idle             | collecting      | -
//   collecting   | -                | idle             | ringback at '#', max digits or timeout
//   ringback     | -                | idle             | -               | FarEndAnswer -> connected
//   (reversal) connected    | -                | idle             | -               | FarEndHangUp -> busy
//   (reversal) busy         | -                | idle             | -               | -
//
// On release the exchange restores normal polarity (an event if it was reversed).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "media/dsp/call_progress.h"
#include "media/dsp/caller_id.h"
#include "media/tdm/sim/line_audio.h"
#include "media/tdm/sim/line_signaling.h"
#include "media/tdm/sim/sim_line.h"

namespace linegate::media::tdm::sim {

struct SimExchangeLineConfig {
  dsp::Country country = dsp::Country::kUs;  // dial, ringback and busy tones
  dsp::Cadence ring_cadence = kUsRingCadence;
  uint32_t digit_timeout_ms = 4000;  // the number is complete after this long without a digit
  uint32_t max_digits = 15;          // E.164: at most 15 digits
  // Far end answers this long after the number is complete; 0: only on FarEndAnswer().
  uint32_t auto_answer_ms = 0;
  // FSK caller ID starts this long after the first ring ends (100..2000).
  uint32_t caller_id_after_ring_ms = 500;
  // DTMF caller ID: from the end of the last digit's tone to the first ring (100..2000;
  // ETSI asks for 200..500).
  uint32_t dtmf_caller_id_ring_gap_ms = 300;
};
Status ValidateSimExchangeLineConfig(const SimExchangeLineConfig& config);

// FSK caller ID ends at least this long before the next ring.
inline constexpr uint32_t kCallerIdGuardBeforeRingMs = 200;

// A caller ID for an incoming call. FSK standards send MDMF (date-time if given,
// number or its absence reason, name or its absence reason); DTMF sends only the
// number (0-9) or its absence reason, and refuses a name.
struct ExchangeCallerId {
  dsp::CallerIdInfo info{};
  dsp::CallerIdStandard standard = dsp::CallerIdStandard::kBell202;
};

// What became of the caller ID of the latest incoming call that had one.
struct CallerIdTransmission {
  enum class State : uint8_t {
    kWaiting,  // for its time (FSK: the first ring and the pause after it)
    kSending,
    kSent,
    kDropped,  // the port seized, or the caller gave up, before it was all sent
  };
  static std::string_view StateName(State state);  // "waiting", "sending", "sent", "dropped"

  ExchangeCallerId caller_id{};
  State state = State::kWaiting;
  TimePoint started{};   // first sample of the burst (kSending and later, if it started)
  TimePoint finished{};  // kSent: end of the burst (FSK: its last bit; DTMF: the last gap)
};

class SimExchangeLine final : public SimLine {
 public:
  enum class State : uint8_t { kIdle, kRinging, kDialTone, kCollecting, kRingback, kConnected, kBusy };
  static std::string_view StateName(State state);
  static constexpr size_t kMaxNumberDigits = 32;

  // The configuration must be valid (ValidateSimExchangeLineConfig); an invalid one aborts.
  explicit SimExchangeLine(const Clock& clock, const SimExchangeLineConfig& config = {});

  // ---- The exchange and the far end (control plane) ----------------------------------
  // An incoming call: rings the port with the configured cadence, or `cadence`, and
  // presents `caller_id` if given (see the top of this file). Refused, with the reason,
  // if the caller ID cannot be encoded in its standard, or FSK does not fit the first
  // silent interval of the cadence (after-ring delay + burst + 200 ms guard).
  Status Ring(std::optional<dsp::Cadence> cadence = std::nullopt,
              const std::optional<ExchangeCallerId>& caller_id = std::nullopt);
  // The caller gave up before the port answered.
  Status StopRinging();
  Status FarEndAnswer();
  // With reverse_polarity false, the exchange signals the hang-up of an answered call
  // with busy tone only (exchanges without disconnect supervision).
  Status FarEndHangUp(bool reverse_polarity = true);
  // Reverses the polarity now, whatever the state (for tests of odd exchanges).
  void ReversePolarity();
  // Far-end audio while connected (added together).
  Status PlayTone(double frequency_hz, double level_dbm0) {
    return player_.PlayTone(frequency_hz, level_dbm0);
  }
  Status PlayWavFile(const std::string& path);
  void StopPlaying() { player_.Stop(); }
  // Connected audio goes straight back to the gateway, sample for sample, in the same frame.
  void SetLoopback(bool on) { loopback_ = on; }
  Result<ListenReport> Listen(uint32_t window_ms) { return monitor_.Listen(window_ms); }

  // ---- SimLine ----------------------------------------------------------------------
  CommandResult Apply(const LineCommand& command) override;
  size_t PollEvents(std::span<LineEvent> out) override { return events_.Pop(out); }
  void Tick(std::span<const int16_t> to_line, std::span<int16_t> from_line) override;
  Status Flush() override { return Status::Ok(); }
  std::string Describe() const override;

  // ---- Observation --------------------------------------------------------------------
  State state() const { return state_; }
  bool seized() const;
  bool ring_voltage() const { return ring_voltage_; }
  Polarity polarity() const { return polarity_; }
  bool loopback() const { return loopback_; }
  // The number the gateway dialled on the current or last outgoing call.
  std::string_view dialled_number() const { return {number_.data(), number_length_}; }
  // True once the number is complete (ringback or later).
  bool number_complete() const { return number_complete_; }
  uint64_t calls_completed() const { return calls_completed_; }
  uint64_t commands_refused() const { return commands_refused_; }
  // The caller ID of the latest incoming call that had one (kept until the next one).
  const std::optional<CallerIdTransmission>& caller_id() const { return caller_id_; }
  uint64_t caller_ids_sent() const { return caller_ids_sent_; }
  uint64_t caller_ids_dropped() const { return caller_ids_dropped_; }

 private:
  void SetState(State next);
  void Emit(LineEventType type);
  void SetPolarity(Polarity polarity);
  void CompleteNumber();
  void StartTone(dsp::CallProgressTone tone);
  void DropCallerId();
  void SendCallerId(std::span<int16_t> frame);

  const Clock& clock_;
  SimExchangeLineConfig config_;
  State state_ = State::kIdle;
  CadenceTimer ring_timer_;
  bool ring_voltage_ = false;  // as last reported to the gateway
  Polarity polarity_ = Polarity::kNormal;
  bool loopback_ = false;
  dsp::CadencedToneGenerator progress_tone_{};
  std::array<char, kMaxNumberDigits> number_{};
  size_t number_length_ = 0;
  bool number_complete_ = false;
  uint64_t samples_since_digit_ = 0;
  uint64_t samples_in_ringback_ = 0;
  uint64_t calls_completed_ = 0;
  uint64_t commands_refused_ = 0;
  LineEventQueue events_;
  AudioPlayer player_;
  AudioMonitor monitor_;
  // Caller ID of the ringing call. FSK: the countdown starts when the first ring ends;
  // DTMF: the ring timer waits for the digits (ring_deferred_, counting down
  // samples_to_first_ring_ from the first tick after Ring).
  dsp::CallerIdGenerator caller_id_generator_;
  std::optional<CallerIdTransmission> caller_id_;
  uint32_t caller_id_length_samples_ = 0;
  // Counting down to its start: DTMF from Ring, FSK from the first kRingOff.
  bool caller_id_countdown_ = false;
  uint32_t caller_id_delay_samples_ = 0;
  dsp::Cadence ring_cadence_{};
  bool ring_deferred_ = false;
  uint32_t samples_to_first_ring_ = 0;
  uint64_t caller_ids_sent_ = 0;
  uint64_t caller_ids_dropped_ = 0;
};

}  // namespace linegate::media::tdm::sim
