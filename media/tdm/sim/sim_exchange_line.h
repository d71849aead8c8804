#pragma once
// A simulated exchange line on an FXO port: the telephone exchange (central office) the
// gateway's FXO port is wired to. It rings the port for incoming calls and connects
// when the port answers; when the port seizes an idle line it gives dial tone, collects
// the DTMF digits the gateway dials and reports the number, plays ringback until the
// far end answers (answer supervision: polarity reversal), connects, and on far-end
// hang-up reverses polarity again (disconnect supervision) and plays busy tone. Far-end
// audio is silence, a tone, a WAV file, or a loopback of what the gateway sends (tests).
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
};
Status ValidateSimExchangeLineConfig(const SimExchangeLineConfig& config);

class SimExchangeLine final : public SimLine {
 public:
  enum class State : uint8_t { kIdle, kRinging, kDialTone, kCollecting, kRingback, kConnected, kBusy };
  static std::string_view StateName(State state);
  static constexpr size_t kMaxNumberDigits = 32;

  // The configuration must be valid (ValidateSimExchangeLineConfig); an invalid one aborts.
  explicit SimExchangeLine(const Clock& clock, const SimExchangeLineConfig& config = {});

  // ---- The exchange and the far end (control plane) ----------------------------------
  // An incoming call: rings the port with the configured cadence, or `cadence`.
  Status Ring(std::optional<dsp::Cadence> cadence = std::nullopt);
  // The caller gave up before the port answered.
  Status StopRinging();
  Status FarEndAnswer();
  Status FarEndHangUp();
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

 private:
  void SetState(State next);
  void Emit(LineEventType type);
  void SetPolarity(Polarity polarity);
  void CompleteNumber();
  void StartTone(dsp::CallProgressTone tone);

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
};

}  // namespace linegate::media::tdm::sim
