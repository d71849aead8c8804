#pragma once
// Voice codecs of the media plane: the interface between the TDM side (always 8 kHz
// linear 16-bit samples) and the RTP side (a payload of bytes), the description of
// every codec linegate can negotiate, and the factory that creates per-session
// instances.
//
// Life cycle: MakeEncoder/MakeDecoder run at session creation and are the only calls
// that allocate (each instance owns its codec state; nothing is shared between
// instances, so sessions may live on different threads). Encode, Decode and Conceal
// run per packet: they never allocate, lock or make a system call, and they refuse
// wrong buffer sizes by returning 0 and setting last_status() instead of writing
// outside the caller's spans.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.h"

namespace linegate::media::codec {

enum class CodecId : uint8_t { kPcmu, kPcma, kG722, kG729, kOpus };
inline constexpr size_t kCodecCount = 5;

// Sample rate of the PCM side of every codec here.
inline constexpr uint32_t kPcmSampleRateHz = 8000;
inline constexpr size_t kSamplesPer10Ms = 80;

// The longest frame any codec here encodes in one call and the longest payload it
// writes for one: 120 ms (the longest Opus packet; the same bound for every codec, so
// a session sizes its buffers once whatever it negotiates) and 1275 bytes (the
// largest Opus frame, RFC 6716 3.4 R2; the fixed-rate codecs stay below it at 120 ms,
// G.711 and G.722 needing 960).
inline constexpr size_t kMaxFrameSamples = 960;
inline constexpr size_t kMaxPayloadBytes = 1275;

// What Encode/Decode/Conceal did with their last call.
enum class CodecStatus : uint8_t {
  kOk,
  kBadFrameSize,    // PCM length not allowed for this codec (see CodecInfo)
  kOutputTooSmall,  // `out` shorter than MaxPayloadBytes() / the samples the payload holds
  kBadPayload,      // payload empty or malformed for this codec
  kCodecError,      // the codec library reported a failure
  kNoConcealment,   // Conceal() on a codec without its own: silence written, use yours
};
std::string_view CodecStatusName(CodecStatus status);

// One row of the codec table (AllCodecs()). Frame sizes are in 8 kHz samples.
struct CodecInfo {
  CodecId id;
  // Encoding name of SDP a=rtpmap (RFC 3551 Table 4, RFC 7587); compare it
  // case-insensitively, as SDP does.
  std::string_view rtpmap_name;
  // RFC 3551 static payload type, none for codecs that are always dynamic (Opus).
  std::optional<uint8_t> static_payload_type;
  // RTP timestamp clock. G.722 is sampled at 16 kHz but its RTP clock is 8000 (an
  // error in RFC 1890 kept by RFC 3551 4.5.2 for compatibility); Opus is always 48000
  // whatever its internal rate (RFC 7587 4.1).
  uint32_t rtp_clock_rate_hz;
  // Channels in a=rtpmap: Opus is always declared "opus/48000/2" (RFC 7587 7), even
  // for mono; 1 means the field is omitted.
  uint8_t rtpmap_channels;
  // Encode() accepts a multiple of this, from this up to kMaxFrameSamples, and when
  // `frame_sizes` is not empty only the sizes listed there. Conceal() accepts any
  // multiple of it.
  uint16_t frame_granularity_samples;
  std::span<const uint16_t> frame_sizes;
  // Payload bytes per 10 ms; 0 when it depends on the bitrate (Opus).
  uint16_t bytes_per_10ms;
  // Whether Decoder::Conceal synthesises the lost audio itself (G.729, Opus). G.711
  // and G.722 have no concealment of their own here: the caller runs its own
  // (media/rtp/plc.h) on the decoded PCM.
  bool native_concealment;
  std::string_view description;
};

std::span<const CodecInfo> AllCodecs();
const CodecInfo& GetCodecInfo(CodecId id);
// Looks a codec up by its rtpmap encoding name (case-insensitive) and clock rate.
std::optional<CodecId> FindCodec(std::string_view rtpmap_name, uint32_t rtp_clock_rate_hz);
// Whether Encode() accepts a frame of `samples` for this codec.
bool IsValidFrameSize(const CodecInfo& info, size_t samples);
// The `out` size Encode() requires for a frame of `samples`: the exact payload size
// for fixed-rate codecs, kMaxPayloadBytes for Opus.
size_t MaxPayloadBytes(const CodecInfo& info, size_t samples);
// RTP timestamp units spanned by `samples` 8 kHz samples (x6 for Opus).
uint32_t RtpTimestampUnits(const CodecInfo& info, size_t samples);

// Per-session choices; each codec reads only its own fields.
struct CodecOptions {
  // G.729 Annex B: voice activity detection, discontinuous transmission and SID
  // frames. Off by default (the issue asks for it; the SDP answer must then say
  // annexb=no). With it on, Encode() takes 10 ms frames only: RFC 3551 4.5.6 lets a
  // SID frame end a packet but has no way to mark untransmitted frames inside one, so
  // a packet of several frames could not carry a silence-to-speech transition.
  bool g729_annex_b = false;
  // Opus. 24 kbit/s by default: speech alone is fine from 12-16 kbit/s (RFC 7587
  // 3.1.1), but at 16 kbit/s the components of a three-tone signal came back up to
  // 1.25 dB low, at 24 kbit/s within 0.3 dB (codec_test); a line carries tones too.
  // The range stops at 64 kbit/s: an 8 kHz input gains nothing beyond it.
  int opus_bitrate_bps = 24000;         // 6000..64000
  bool opus_fec = false;                // in-band forward error correction (LBRR)
  int opus_expected_loss_percent = 10;  // tunes FEC redundancy; used only with opus_fec
  bool opus_dtx = false;                // discontinuous transmission in silence
  int opus_complexity = 5;              // 0..10; 10 costs about 1.8x the CPU of 5 (codec_bench)
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Encodes one frame of 8 kHz PCM into `out` and returns the payload bytes written.
  // Refused (returns 0, last_status() says why, `out` untouched) when the frame size is
  // not valid for the codec or out.size() < MaxPayloadBytes(pcm_8k.size()). With
  // G.729 Annex B or Opus DTX a successful call may also return 0 (nothing to send in
  // silence; last_status() is kOk).
  size_t Encode(std::span<const int16_t> pcm_8k, std::span<uint8_t> out);

  size_t MaxPayloadBytes(size_t frame_samples) const { return codec::MaxPayloadBytes(info_, frame_samples); }
  const CodecInfo& info() const { return info_; }
  CodecStatus last_status() const { return last_status_; }

 protected:
  explicit Encoder(const CodecInfo& info) : info_(info) {}

 private:
  // Called with a valid frame size and a large enough `out`; returns bytes written,
  // or sets `status` (kCodecError) and returns 0.
  virtual size_t EncodeFrame(std::span<const int16_t> pcm_8k, std::span<uint8_t> out,
                             CodecStatus& status) = 0;

  const CodecInfo& info_;
  CodecStatus last_status_ = CodecStatus::kOk;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one payload into `pcm_8k_out` and returns the samples written. Refused
  // (0, last_status()) when the payload is empty or malformed, or holds more samples
  // than pcm_8k_out.size(); a buffer of kMaxFrameSamples fits every payload of up to
  // 120 ms.
  size_t Decode(std::span<const uint8_t> payload, std::span<int16_t> pcm_8k_out);

  // A packet was lost: fills all of `pcm_8k_out` (a multiple of
  // info().frame_granularity_samples, at most kMaxFrameSamples) with the codec's own
  // concealment and returns its size. Codecs without one (info().native_concealment
  // false: G.711, G.722) write silence, return 0 and set kNoConcealment: the caller
  // conceals with its own PLC (media/rtp/plc.h) instead.
  size_t Conceal(std::span<int16_t> pcm_8k_out);

  // A packet was lost but the one after it has arrived: codecs with in-band FEC
  // (Opus, when the sender enabled it) rebuild the lost audio from `next_payload`;
  // for the others, and when the next payload carries no FEC data, this is Conceal().
  // `pcm_8k_out` is the lost duration, as for Conceal().
  size_t ConcealFromNext(std::span<const uint8_t> next_payload, std::span<int16_t> pcm_8k_out);

  const CodecInfo& info() const { return info_; }
  CodecStatus last_status() const { return last_status_; }

 protected:
  explicit Decoder(const CodecInfo& info) : info_(info) {}

 private:
  // Each returns samples written or sets `status` and returns 0. DecodePayload checks
  // the payload itself; the others get a valid size.
  virtual size_t DecodePayload(std::span<const uint8_t> payload, std::span<int16_t> out,
                               CodecStatus& status) = 0;
  virtual size_t ConcealFrame(std::span<int16_t> out, CodecStatus& status) = 0;
  virtual size_t ConcealFrameFromNext(std::span<const uint8_t> next_payload, std::span<int16_t> out,
                                      CodecStatus& status) {
    (void)next_payload;
    return ConcealFrame(out, status);
  }

  bool IsValidConcealSize(size_t samples) const;

  const CodecInfo& info_;
  CodecStatus last_status_ = CodecStatus::kOk;
};

// Create an instance for one session; the only calls that allocate. Errors name the
// codec and the option at fault.
Result<std::unique_ptr<Encoder>> MakeEncoder(CodecId id, const CodecOptions& options = {});
Result<std::unique_ptr<Decoder>> MakeDecoder(CodecId id, const CodecOptions& options = {});

}  // namespace linegate::media::codec
