#pragma once
// Caller ID (on-hook data transmission): message coding, a streaming generator for the
// gateway and streaming receivers for a phone.
//
// Presentation layer (Telcordia GR-30 and ETSI EN 300 659-3 share it):
//   message type, length (of the payload), payload, checksum
// where the checksum is the two's complement of the sum of all the bytes before it,
// modulo 256 (so the sum of every byte of a good message is 0 mod 256).
//   SDMF (type 0x04, GR-30 only): payload = date-time MMDDHHMM (8 ASCII digits), then the
//     number, or a single 'O' (unavailable) / 'P' (private) in its place.
//   MDMF (type 0x80; ETSI's "call setup" is the same message): payload = parameters, each
//     type, length, value: 0x01 date-time (8), 0x02 number, 0x04 reason the number is
//     absent ('O' / 'P'), 0x07 name, 0x08 reason the name is absent. One encoder makes
//     both; the receiver skips parameter types it does not know (ETSI defines more).
//
// Physical layer: 1200 baud binary FSK, asynchronous bytes (start bit 0, 8 data bits LSB
// first, stop bit 1), after a channel seizure (alternating 0/1 bits, starting with 0) and
// a mark signal (1 bits):
//   Bell 202 (GR-30):          mark 1200 Hz, space 2200 Hz; seizure 300 bits, mark 180 bits
//   ITU-T V.23 (EN 300 659-1): mark 1300 Hz, space 2100 Hz; seizure 300 bits, mark 80 bits
// or DTMF (EN 300 659-1 annex, as used in the Nordic countries and elsewhere): 'A', the
// digits, 'C'; or 'D', a reason code ("00" unavailable, "10" private), 'C'. National
// variants differ (some end with '#', some use other D codes); the receiver accepts '#'
// as an end too, and maps D codes other than "1"/"10" to "unavailable".
//
// Everything here is plain, trivially copyable state. Per-frame calls (Generate, Process)
// never allocate, lock or make a system call.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "media/dsp/dtmf.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/oscillator.h"

namespace linegate::media::dsp {

inline constexpr int kCallerIdBaud = 1200;
inline constexpr size_t kMaxCallerIdPayload = 255;                           // the length byte
inline constexpr size_t kMaxCallerIdMessageBytes = kMaxCallerIdPayload + 3;  // type, length, checksum
// ETSI EN 300 659-3's limits (GR-30 displays 10-15 digits and 15 name characters).
inline constexpr size_t kMaxCallerIdNumber = 20;
inline constexpr size_t kMaxCallerIdName = 50;

inline constexpr uint8_t kSdmfMessageType = 0x04;
inline constexpr uint8_t kMdmfMessageType = 0x80;  // ETSI: call setup
inline constexpr uint8_t kMdmfDateTime = 0x01;
inline constexpr uint8_t kMdmfNumber = 0x02;
inline constexpr uint8_t kMdmfNumberAbsent = 0x04;
inline constexpr uint8_t kMdmfName = 0x07;
inline constexpr uint8_t kMdmfNameAbsent = 0x08;

enum class CallerIdStandard : uint8_t {
  kBell202,  // FSK 1200/2200 Hz
  kV23,      // FSK 1300/2100 Hz (ETSI)
  kDtmf,     // DTMF digits (ETSI annex form)
};
std::string_view CallerIdStandardName(CallerIdStandard standard);  // "bell202", "v23", "dtmf"

enum class CallerIdFormat : uint8_t { kSdmf, kMdmf };

// Why a number or name is missing ('O' / 'P' on the line).
enum class CallerIdAbsence : uint8_t { kNone, kUnavailable, kPrivate };
std::string_view CallerIdAbsenceName(CallerIdAbsence absence);  // "", "unavailable", "private"

// Text of bounded length kept in place (no allocation).
template <size_t N>
struct BoundedText {
  static_assert(N <= 255);
  std::array<char, N> chars{};
  uint8_t length = 0;

  std::string_view view() const { return {chars.data(), length}; }
  bool empty() const { return length == 0; }
  // Replaces the text; false (and unchanged) if it is longer than N.
  bool Assign(std::string_view text) {
    if (text.size() > N) return false;
    for (size_t i = 0; i < text.size(); ++i) chars[i] = text[i];
    length = static_cast<uint8_t>(text.size());
    return true;
  }
  friend bool operator==(const BoundedText& a, const BoundedText& b) { return a.view() == b.view(); }
};

struct CallerIdDateTime {
  uint8_t month = 1;  // 1..12
  uint8_t day = 1;    // 1..31
  uint8_t hour = 0;   // 0..23
  uint8_t minute = 0;
  friend bool operator==(const CallerIdDateTime&, const CallerIdDateTime&) = default;
};

// What a caller ID says. A number (or name) and its absence reason are exclusive.
struct CallerIdInfo {
  std::optional<CallerIdDateTime> date_time;
  BoundedText<kMaxCallerIdNumber> number;  // 0-9 * # + (DTMF: 0-9 only)
  CallerIdAbsence number_absence = CallerIdAbsence::kNone;
  BoundedText<kMaxCallerIdName> name;  // printable ASCII
  CallerIdAbsence name_absence = CallerIdAbsence::kNone;
  friend bool operator==(const CallerIdInfo&, const CallerIdInfo&) = default;
};

// What goes on the line: for FSK the presentation-layer bytes (type, length, payload,
// checksum); for DTMF the digit characters ("A5551234C").
struct CallerIdMessage {
  std::array<uint8_t, kMaxCallerIdMessageBytes> bytes{};
  uint16_t size = 0;
  std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// The checksum byte for the bytes before it.
uint8_t CallerIdChecksum(std::span<const uint8_t> bytes);

// SDMF or MDMF bytes. nullopt if `info` cannot be sent in that format; `problem` (if
// given) then says why (a static string). SDMF needs the date-time and carries no name.
std::optional<CallerIdMessage> EncodeCallerIdFsk(const CallerIdInfo& info, CallerIdFormat format,
                                                 std::string_view* problem = nullptr);
// "A<digits>C", "D00C" (unavailable) or "D10C" (private); only the number is sent.
std::optional<CallerIdMessage> EncodeCallerIdDtmf(const CallerIdInfo& info,
                                                  std::string_view* problem = nullptr);

enum class CallerIdParseStatus : uint8_t {
  kOk,
  kTruncated,  // shorter than its length byte says (or than 3 bytes)
  kBadChecksum,
  kUnsupportedType,  // a message type other than SDMF / MDMF (e.g. ETSI message waiting)
  kMalformed,        // a parameter overruns the payload or is too long, a reason is not O/P,
                     // bytes follow the checksum
};
std::string_view CallerIdParseStatusName(CallerIdParseStatus status);

// Parses exactly one message (type .. checksum). `info` is written only on kOk. Lenient
// where a display would be: a date-time that is not 8 digits of a valid date is dropped
// (the rest is kept); parameter types it does not know are skipped.
CallerIdParseStatus ParseCallerIdMessage(std::span<const uint8_t> message, CallerIdInfo* info,
                                         CallerIdFormat* format = nullptr);

// ---- Generator ------------------------------------------------------------------------

struct CallerIdGeneratorConfig {
  float level_dbm0 = -13.5f;  // FSK mark level (levels.h)
  // Test equipment: the space level relative to the mark (a line's slope attenuates
  // 2200 Hz more than 1200 Hz), and a relative error on both frequencies (0.01 = +1%).
  float twist_db = 0.0f;
  float frequency_deviation = 0.0f;
  // Preamble lengths in bits; nullopt = the standard's (see the top of this file).
  std::optional<uint16_t> seizure_bits;
  std::optional<uint16_t> mark_bits;
  DtmfGeneratorConfig dtmf{.on_ms = 70, .off_ms = 70};
};

// Streams one caller ID transmission into frames: the FSK burst (preamble and message)
// or the DTMF digits, then silence. Start() copies the message; nothing is allocated.
class CallerIdGenerator {
 public:
  explicit CallerIdGenerator(const CallerIdGeneratorConfig& config = {}) : config_(config) {}
  void set_config(const CallerIdGeneratorConfig& config) { config_ = config; }
  const CallerIdGeneratorConfig& config() const { return config_; }

  // FSK standards take presentation-layer bytes, kDtmf takes digit characters (see the
  // Encode functions). False, and nothing is sent, for an empty or unsendable message.
  [[nodiscard]] bool Start(const CallerIdMessage& message, CallerIdStandard standard);
  // Encodes and starts (kDtmf ignores `format`).
  [[nodiscard]] bool Start(const CallerIdInfo& info, CallerIdFormat format, CallerIdStandard standard);
  // Writes the next samples (silence when done).
  void Generate(std::span<int16_t> frame);
  bool done() const;
  void Stop();

  // FSK: the burst's length in samples and bits (seizure + mark + 10 per byte).
  uint32_t total_samples() const { return total_samples_; }
  uint32_t total_bits() const { return total_bits_; }
  uint32_t seizure_bits() const { return seizure_bits_; }
  uint32_t mark_bits() const { return mark_bits_; }

  // Sample n of an FSK burst belongs to bit n * 1200 / 8000 (integer division): bits of
  // 7, 7 and 6 samples, exactly 3 bits per 20 samples, so the timing never drifts.
  static constexpr uint32_t BitOfSample(uint32_t n) { return n * 3 / 20; }
  static constexpr uint32_t FirstSampleOfBit(uint32_t k) { return (k * 20 + 2) / 3; }

 private:
  int BitValue(uint32_t k) const;

  CallerIdGeneratorConfig config_;
  CallerIdStandard standard_ = CallerIdStandard::kBell202;
  CallerIdMessage message_{};
  bool active_ = false;
  // FSK
  SineOscillator oscillator_{};
  float mark_peak_ = 0.0f;
  float space_peak_ = 0.0f;
  float mark_hz_ = 0.0f;
  float space_hz_ = 0.0f;
  uint32_t seizure_bits_ = 0;
  uint32_t mark_bits_ = 0;
  uint32_t total_bits_ = 0;
  uint32_t total_samples_ = 0;
  uint32_t sample_ = 0;          // next sample of the burst
  uint32_t bit_ = 0;             // bit of the next sample
  uint32_t next_bit_start_ = 0;  // first sample of bit_ + 1
  // DTMF
  DtmfGenerator dtmf_{};
};

// ---- Receivers ------------------------------------------------------------------------

// One received caller ID message, accepted (status kOk) or rejected.
struct CallerIdResult {
  CallerIdInfo info{};  // empty unless accepted()
  CallerIdStandard standard = CallerIdStandard::kBell202;
  CallerIdFormat format = CallerIdFormat::kMdmf;
  CallerIdParseStatus status = CallerIdParseStatus::kTruncated;
  uint8_t message_type = 0;  // FSK: 0x04 / 0x80 (or what came)
  bool checksum_ok = false;  // DTMF has no checksum: true when the digits were well formed
  float mark_hz = 0.0f;      // FSK: mark frequency measured over the mark signal
  uint64_t end_sample = 0;   // samples since construction or Reset() when it completed

  bool accepted() const { return status == CallerIdParseStatus::kOk; }
};

struct CallerIdReceiverConfig {
  // Carrier detect on the power inside the FSK band: on at this level, off 5 dB lower.
  float min_level_dbm0 = -42.0f;
  // Continuous mark before the first start bit (ETSI: 80 +- 25 bits, Bell: 180). The
  // channel seizure never has two marks in a row, so it cannot be taken for a message.
  uint16_t min_mark_bits = 20;
  // Mark bits allowed between two bytes of a message before it is given up.
  uint16_t max_gap_bits = 60;
};

struct CallerIdReceiverStats {
  uint64_t carriers = 0;         // carrier onsets
  uint64_t messages = 0;         // accepted (checksum and content good)
  uint64_t checksum_errors = 0;  // rejected
  uint64_t unsupported = 0;      // good checksum, message type not SDMF / MDMF
  uint64_t malformed = 0;        // good checksum, bad parameters
  uint64_t framing_errors = 0;   // a stop bit was a space
  uint64_t truncated = 0;        // carrier lost, or too long a gap, inside a message
};

// FSK caller ID receiver for Bell 202 and V.23 at once; the standard is recognised from
// the measured mark frequency.
//
// Demodulator: both standards are centred on 1700 Hz (1200/2200 and 1300/2100 Hz), so
// the signal is mixed down by 1700 Hz (1700/8000 = 17/80: an exact 80-sample table),
// low-pass filtered (17-tap Hamming-windowed FIR, cut-off 900 Hz, a little inside the
// FSK's Carson bandwidth of +-1100 Hz; it removes the image at -2900..-3900 Hz and most
// of the noise), and the frequency is the phase advance between samples,
// Im(z[n] conj(z[n-1])): negative for mark, positive for space, whichever standard.
// Why this rather than per-bit matched filters (a noncoherent Goertzel pair per bit):
// one discriminator serves both standards with no configuration and no standard to
// pick before the first bit, it costs one filter and two multiplies per sample, and
// its zero crossings give the start-bit edges directly. The price is noise margin:
// matched filters come closer to the noncoherent FSK bound; this one decodes every
// message down to about 10 dB SNR (full band) and starts losing them near 8 dB
// (caller_id_test), far below what an on-hook line has.
// Bit timing: the receiver waits for a carrier, then for min_mark_bits of continuous
// mark (which rules out the alternating seizure); each mark-to-space zero crossing of
// the (3-sample smoothed) discriminator, interpolated between samples, is a start-bit
// edge; bit k of the byte is the sign of the discriminator summed over the middle 40% of
// [edge + k T, edge + (k + 1) T), T = 20/3 samples. Every byte re-times on its own
// start bit, so the fractional bit length cannot drift.
class CallerIdReceiver {
 public:
  static constexpr int kTaps = 17;

  explicit CallerIdReceiver(const CallerIdReceiverConfig& config = {});
  void Reset();

  // Consumes any number of samples. True when a message completed in them, accepted or
  // rejected (result().accepted(), result().status; stats() counts both). Should two
  // complete in one call, result() holds the second; with its mark signal a message
  // lasts over 40 ms, so calls of up to 40 ms never see two.
  bool Process(std::span<const int16_t> samples);

  const CallerIdResult& result() const { return result_; }
  const CallerIdReceiverStats& stats() const { return stats_; }
  bool carrier() const { return carrier_; }

 private:
  enum class State : uint8_t {
    kNoCarrier,
    kSeekingMark,   // carrier present, waiting for min_mark_bits of mark
    kArmed,         // mark seen: the next start edge begins a message
    kByte,          // timing the bits of a byte from its start edge
    kBetweenBytes,  // waiting for the next start edge
  };

  void ProcessSample(float x);
  void OnSmoothed(float d, float smoothed);
  void BeginByte(float previous, float current);
  void EndByte(bool framing_ok);
  void FinishMessage();
  void Abort(uint64_t& counter);

  CallerIdReceiverConfig config_;
  // Constants derived at construction.
  std::array<float, 80> mix_cos_{};
  std::array<float, 80> mix_sin_{};
  std::array<float, kTaps> taps_{};
  float carrier_on_ = 0.0f;  // in-band power thresholds (|z|^2 units)
  float carrier_off_ = 0.0f;
  uint32_t arm_samples_ = 0;
  uint32_t gap_samples_ = 0;

  // Front end.
  uint32_t mix_index_ = 0;
  std::array<float, 2 * kTaps> re_{};  // each sample written twice: a contiguous window
  std::array<float, 2 * kTaps> im_{};
  uint32_t fir_pos_ = 0;
  float z_re_ = 0.0f;  // previous filter output
  float z_im_ = 0.0f;
  float power_ = 0.0f;                // smoothed |z|^2
  std::array<float, 8> d_history_{};  // discriminator, last 8
  uint32_t d_pos_ = 0;
  float bit_sum_ = 0.0f;  // sum of the last 7 discriminator values (one bit)
  float smoothed_prev_ = 0.0f;
  uint64_t sample_ = 0;  // index of the current sample
  bool carrier_ = false;

  // Framing.
  State state_ = State::kNoCarrier;
  uint32_t mark_run_ = 0;  // samples of continuous mark
  float mark_re_ = 0.0f;   // sum of z[n] conj(z[n-1]) over the mark run
  float mark_im_ = 0.0f;
  float measured_mark_hz_ = 0.0f;
  double edge_ = 0.0;  // start edge of the current byte, in samples
  int bit_index_ = 0;  // 0 start, 1..8 data, 9 stop
  float bit_acc_ = 0.0f;
  uint8_t byte_ = 0;
  uint32_t gap_ = 0;  // samples since the last stop bit
  CallerIdMessage message_{};
  uint16_t expected_ = 0;  // bytes of the message, once the length is known

  CallerIdResult result_{};
  CallerIdReceiverStats stats_{};
};

struct DtmfCallerIdReceiverStats {
  uint64_t messages = 0;
  uint64_t malformed = 0;  // a digit that does not belong, or too many digits
  uint64_t truncated = 0;  // no end digit within max_gap_ms
};

// DTMF caller ID ('A' digits 'C', 'D' code 'C') on a DtmfDetector.
class DtmfCallerIdReceiver {
 public:
  // `max_gap_ms`: a message is given up when no digit starts for this long.
  explicit DtmfCallerIdReceiver(const DtmfDetectorConfig& detector = {}, uint32_t max_gap_ms = 1000);
  void Reset();
  // As CallerIdReceiver::Process.
  bool Process(std::span<const int16_t> samples);
  const CallerIdResult& result() const { return result_; }
  const DtmfCallerIdReceiverStats& stats() const { return stats_; }
  const DtmfDetector& detector() const { return detector_; }

 private:
  enum class State : uint8_t { kIdle, kNumber, kReason };
  bool OnDigit(char digit, uint64_t sample);

  DtmfDetector detector_;
  uint32_t max_gap_samples_ = 0;
  State state_ = State::kIdle;
  BoundedText<kMaxCallerIdNumber> digits_{};
  bool overflow_ = false;
  uint64_t last_digit_sample_ = 0;
  uint64_t samples_ = 0;
  CallerIdResult result_{};
  DtmfCallerIdReceiverStats stats_{};
};

}  // namespace linegate::media::dsp
