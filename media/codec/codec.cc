#include "media/codec/codec.h"

#include <algorithm>
#include <array>
#include <string>

#include "media/codec/codec_impl.h"

namespace linegate::media::codec {
namespace {

// Opus frame durations at 8 kHz: 2.5, 5, 10, 20, 40, 60, 80, 100 and 120 ms
// (RFC 6716 2.1.4; 80..120 ms are multi-frame packets, libopus >= 1.2).
constexpr std::array<uint16_t, 9> kOpusFrameSizes = {20, 40, 80, 160, 320, 480, 640, 800, 960};

// Indexed by CodecId.
constexpr std::array<CodecInfo, kCodecCount> kCodecs = {{
    {.id = CodecId::kPcmu,
     .rtpmap_name = "PCMU",
     .static_payload_type = 0,
     .rtp_clock_rate_hz = 8000,
     .rtpmap_channels = 1,
     .frame_granularity_samples = 1,
     .frame_sizes = {},
     .bytes_per_10ms = 80,
     .native_concealment = false,
     .description = "G.711 mu-law, 64 kbit/s"},
    {.id = CodecId::kPcma,
     .rtpmap_name = "PCMA",
     .static_payload_type = 8,
     .rtp_clock_rate_hz = 8000,
     .rtpmap_channels = 1,
     .frame_granularity_samples = 1,
     .frame_sizes = {},
     .bytes_per_10ms = 80,
     .native_concealment = false,
     .description = "G.711 A-law, 64 kbit/s"},
    {.id = CodecId::kG722,
     .rtpmap_name = "G722",
     .static_payload_type = 9,
     .rtp_clock_rate_hz = 8000,
     .rtpmap_channels = 1,
     .frame_granularity_samples = 1,
     .frame_sizes = {},
     .bytes_per_10ms = 80,
     .native_concealment = false,
     .description = "G.722 64 kbit/s (spandsp), 8 kHz audio in the lower sub-band"},
    {.id = CodecId::kG729,
     .rtpmap_name = "G729",
     .static_payload_type = 18,
     .rtp_clock_rate_hz = 8000,
     .rtpmap_channels = 1,
     .frame_granularity_samples = 80,
     .frame_sizes = {},
     .bytes_per_10ms = 10,
     .native_concealment = true,
     .description = "G.729 Annex A 8 kbit/s (bcg729), Annex B optional"},
    {.id = CodecId::kOpus,
     .rtpmap_name = "opus",
     .static_payload_type = std::nullopt,
     .rtp_clock_rate_hz = 48000,
     .rtpmap_channels = 2,
     .frame_granularity_samples = 20,
     .frame_sizes = kOpusFrameSizes,
     .bytes_per_10ms = 0,
     .native_concealment = true,
     .description = "Opus (libopus), VoIP application, narrow-band 8 kHz, variable bitrate"},
}};

constexpr bool TableIndexedById() {
  for (size_t i = 0; i < kCodecs.size(); ++i) {
    if (static_cast<size_t>(kCodecs[i].id) != i) return false;
  }
  return true;
}
static_assert(TableIndexedById());

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

bool IsKnown(CodecId id) { return static_cast<size_t>(id) < kCodecCount; }

}  // namespace

std::string_view CodecStatusName(CodecStatus status) {
  switch (status) {
    case CodecStatus::kOk:
      return "ok";
    case CodecStatus::kBadFrameSize:
      return "bad frame size";
    case CodecStatus::kOutputTooSmall:
      return "output too small";
    case CodecStatus::kBadPayload:
      return "bad payload";
    case CodecStatus::kCodecError:
      return "codec error";
    case CodecStatus::kNoConcealment:
      return "no concealment";
  }
  return "unknown";
}

std::span<const CodecInfo> AllCodecs() { return kCodecs; }

const CodecInfo& GetCodecInfo(CodecId id) { return kCodecs[static_cast<size_t>(id)]; }

std::optional<CodecId> FindCodec(std::string_view rtpmap_name, uint32_t rtp_clock_rate_hz) {
  for (const CodecInfo& info : kCodecs) {
    if (info.rtp_clock_rate_hz == rtp_clock_rate_hz && EqualsIgnoringCase(info.rtpmap_name, rtpmap_name)) {
      return info.id;
    }
  }
  return std::nullopt;
}

bool IsValidFrameSize(const CodecInfo& info, size_t samples) {
  if (samples == 0 || samples > kMaxFrameSamples || samples % info.frame_granularity_samples != 0)
    return false;
  return info.frame_sizes.empty() ||
         std::find(info.frame_sizes.begin(), info.frame_sizes.end(), samples) != info.frame_sizes.end();
}

size_t MaxPayloadBytes(const CodecInfo& info, size_t samples) {
  if (info.bytes_per_10ms == 0) return kMaxPayloadBytes;
  return (samples * info.bytes_per_10ms + kSamplesPer10Ms - 1) / kSamplesPer10Ms;
}

uint32_t RtpTimestampUnits(const CodecInfo& info, size_t samples) {
  return static_cast<uint32_t>(samples * (info.rtp_clock_rate_hz / kPcmSampleRateHz));
}

size_t Encoder::Encode(std::span<const int16_t> pcm_8k, std::span<uint8_t> out) {
  if (!IsValidFrameSize(info_, pcm_8k.size())) {
    last_status_ = CodecStatus::kBadFrameSize;
    return 0;
  }
  if (out.size() < MaxPayloadBytes(pcm_8k.size())) {
    last_status_ = CodecStatus::kOutputTooSmall;
    return 0;
  }
  CodecStatus status = CodecStatus::kOk;
  const size_t bytes = EncodeFrame(pcm_8k, out, status);
  last_status_ = status;
  return status == CodecStatus::kOk ? bytes : 0;
}

bool Decoder::IsValidConcealSize(size_t samples) const {
  return samples != 0 && samples <= kMaxFrameSamples && samples % info_.frame_granularity_samples == 0;
}

size_t Decoder::Decode(std::span<const uint8_t> payload, std::span<int16_t> pcm_8k_out) {
  if (payload.empty()) {
    last_status_ = CodecStatus::kBadPayload;
    return 0;
  }
  CodecStatus status = CodecStatus::kOk;
  const size_t samples = DecodePayload(payload, pcm_8k_out, status);
  last_status_ = status;
  return status == CodecStatus::kOk ? samples : 0;
}

size_t Decoder::Conceal(std::span<int16_t> pcm_8k_out) {
  if (!IsValidConcealSize(pcm_8k_out.size())) {
    last_status_ = CodecStatus::kBadFrameSize;
    return 0;
  }
  CodecStatus status = CodecStatus::kOk;
  const size_t samples = ConcealFrame(pcm_8k_out, status);
  last_status_ = status;
  return status == CodecStatus::kOk ? samples : 0;
}

size_t Decoder::ConcealFromNext(std::span<const uint8_t> next_payload, std::span<int16_t> pcm_8k_out) {
  if (!IsValidConcealSize(pcm_8k_out.size())) {
    last_status_ = CodecStatus::kBadFrameSize;
    return 0;
  }
  CodecStatus status = CodecStatus::kOk;
  const size_t samples = ConcealFrameFromNext(next_payload, pcm_8k_out, status);
  last_status_ = status;
  return status == CodecStatus::kOk ? samples : 0;
}

Result<std::unique_ptr<Encoder>> MakeEncoder(CodecId id, const CodecOptions& options) {
  if (!IsKnown(id)) {
    return Error{"codec: unknown codec id " + std::to_string(static_cast<int>(id))};
  }
  const CodecInfo& info = GetCodecInfo(id);
  switch (id) {
    case CodecId::kPcmu:
    case CodecId::kPcma:
      return internal::MakeG711Encoder(info);
    case CodecId::kG722:
      return internal::MakeG722Encoder(info);
    case CodecId::kG729:
      return internal::MakeG729Encoder(info, options);
    case CodecId::kOpus:
      return internal::MakeOpusEncoder(info, options);
  }
  return Error{"codec: unknown codec id"};
}

Result<std::unique_ptr<Decoder>> MakeDecoder(CodecId id, const CodecOptions& options) {
  (void)options;  // no decoder option yet: every decoder accepts whatever its encoder may send
  if (!IsKnown(id)) {
    return Error{"codec: unknown codec id " + std::to_string(static_cast<int>(id))};
  }
  const CodecInfo& info = GetCodecInfo(id);
  switch (id) {
    case CodecId::kPcmu:
    case CodecId::kPcma:
      return internal::MakeG711Decoder(info);
    case CodecId::kG722:
      return internal::MakeG722Decoder(info);
    case CodecId::kG729:
      return internal::MakeG729Decoder(info);
    case CodecId::kOpus:
      return internal::MakeOpusDecoder(info);
  }
  return Error{"codec: unknown codec id"};
}

}  // namespace linegate::media::codec
