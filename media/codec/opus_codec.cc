// Opus through libopus: application VOIP, mono, encoder input and decoder output at
// 8 kHz (so the coded band is narrow-band and neither side resamples), variable
// bitrate, FEC and DTX off unless asked for. The RTP clock stays 48 kHz (RFC 7587);
// CodecInfo and RtpTimestampUnits() account for that, not this file.
//
// Concealment is libopus's own (a NULL packet); with FEC, ConcealFromNext() decodes
// the redundant copy of the lost frame carried in the next packet, and libopus falls
// back to concealment when that packet carries none.

#include <opus.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "media/codec/codec_impl.h"

namespace linegate::media::codec::internal {
namespace {

constexpr int kMinBitrateBps = 6000;
constexpr int kMaxBitrateBps = 64000;
// With DTX, a packet this short carries no audio and need not be sent (libopus docs).
constexpr int kDtxPacketMaxBytes = 2;

struct EncoderDestroy {
  void operator()(OpusEncoder* encoder) const { opus_encoder_destroy(encoder); }
};
struct DecoderDestroy {
  void operator()(OpusDecoder* decoder) const { opus_decoder_destroy(decoder); }
};
using EncoderState = std::unique_ptr<OpusEncoder, EncoderDestroy>;
using DecoderState = std::unique_ptr<OpusDecoder, DecoderDestroy>;

class OpusVoiceEncoder final : public Encoder {
 public:
  OpusVoiceEncoder(const CodecInfo& info, EncoderState state, bool dtx)
      : Encoder(info), state_(std::move(state)), dtx_(dtx) {}

 private:
  size_t EncodeFrame(std::span<const int16_t> pcm_8k, std::span<uint8_t> out, CodecStatus& status) override {
    const auto max_bytes = static_cast<opus_int32>(std::min(out.size(), kMaxPayloadBytes));
    const opus_int32 bytes =
        opus_encode(state_.get(), pcm_8k.data(), static_cast<int>(pcm_8k.size()), out.data(), max_bytes);
    if (bytes < 0) {
      status = CodecStatus::kCodecError;
      return 0;
    }
    if (dtx_ && bytes <= kDtxPacketMaxBytes) return 0;
    return static_cast<size_t>(bytes);
  }

  EncoderState state_;
  bool dtx_;
};

class OpusVoiceDecoder final : public Decoder {
 public:
  OpusVoiceDecoder(const CodecInfo& info, DecoderState state) : Decoder(info), state_(std::move(state)) {}

 private:
  size_t DecodePayload(std::span<const uint8_t> payload, std::span<int16_t> out,
                       CodecStatus& status) override {
    const auto length = static_cast<opus_int32>(std::min<size_t>(payload.size(), INT32_MAX));
    const int samples = opus_packet_get_nb_samples(payload.data(), length, kPcmSampleRateHz);
    if (samples <= 0) {
      status = CodecStatus::kBadPayload;
      return 0;
    }
    if (static_cast<size_t>(samples) > out.size()) {
      status = CodecStatus::kOutputTooSmall;
      return 0;
    }
    return Finish(opus_decode(state_.get(), payload.data(), length, out.data(), samples, 0), status);
  }

  size_t ConcealFrame(std::span<int16_t> out, CodecStatus& status) override {
    return Finish(opus_decode(state_.get(), nullptr, 0, out.data(), static_cast<int>(out.size()), 0), status);
  }

  size_t ConcealFrameFromNext(std::span<const uint8_t> next_payload, std::span<int16_t> out,
                              CodecStatus& status) override {
    if (next_payload.empty()) return ConcealFrame(out, status);
    const auto length = static_cast<opus_int32>(std::min<size_t>(next_payload.size(), INT32_MAX));
    return Finish(
        opus_decode(state_.get(), next_payload.data(), length, out.data(), static_cast<int>(out.size()), 1),
        status);
  }

  static size_t Finish(int result, CodecStatus& status) {
    if (result < 0) {
      status = result == OPUS_INVALID_PACKET ? CodecStatus::kBadPayload : CodecStatus::kCodecError;
      return 0;
    }
    return static_cast<size_t>(result);
  }

  DecoderState state_;
};

Error OpusError(const std::string& what, int code) {
  return Error{"codec opus: " + what + ": " + opus_strerror(code)};
}

}  // namespace

Result<std::unique_ptr<Encoder>> MakeOpusEncoder(const CodecInfo& info, const CodecOptions& options) {
  if (options.opus_bitrate_bps < kMinBitrateBps || options.opus_bitrate_bps > kMaxBitrateBps) {
    return Error{"codec opus: opus_bitrate_bps " + std::to_string(options.opus_bitrate_bps) + " outside " +
                 std::to_string(kMinBitrateBps) + ".." + std::to_string(kMaxBitrateBps)};
  }
  if (options.opus_complexity < 0 || options.opus_complexity > 10) {
    return Error{"codec opus: opus_complexity " + std::to_string(options.opus_complexity) + " outside 0..10"};
  }
  if (options.opus_expected_loss_percent < 0 || options.opus_expected_loss_percent > 100) {
    return Error{"codec opus: opus_expected_loss_percent " +
                 std::to_string(options.opus_expected_loss_percent) + " outside 0..100"};
  }
  int error = OPUS_OK;
  EncoderState state(opus_encoder_create(kPcmSampleRateHz, 1, OPUS_APPLICATION_VOIP, &error));
  if (!state || error != OPUS_OK) return OpusError("opus_encoder_create", error);
  OpusEncoder* encoder = state.get();
  const int loss_percent = options.opus_fec ? options.opus_expected_loss_percent : 0;
  const std::pair<const char*, int> results[] = {
      {"OPUS_SET_BITRATE", opus_encoder_ctl(encoder, OPUS_SET_BITRATE(options.opus_bitrate_bps))},
      {"OPUS_SET_VBR", opus_encoder_ctl(encoder, OPUS_SET_VBR(1))},
      {"OPUS_SET_SIGNAL", opus_encoder_ctl(encoder, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))},
      {"OPUS_SET_COMPLEXITY", opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(options.opus_complexity))},
      {"OPUS_SET_INBAND_FEC", opus_encoder_ctl(encoder, OPUS_SET_INBAND_FEC(options.opus_fec ? 1 : 0))},
      {"OPUS_SET_PACKET_LOSS_PERC", opus_encoder_ctl(encoder, OPUS_SET_PACKET_LOSS_PERC(loss_percent))},
      {"OPUS_SET_DTX", opus_encoder_ctl(encoder, OPUS_SET_DTX(options.opus_dtx ? 1 : 0))},
  };
  for (const auto& [name, result] : results) {
    if (result != OPUS_OK) return OpusError(name, result);
  }
  return std::unique_ptr<Encoder>(
      std::make_unique<OpusVoiceEncoder>(info, std::move(state), options.opus_dtx));
}

Result<std::unique_ptr<Decoder>> MakeOpusDecoder(const CodecInfo& info) {
  int error = OPUS_OK;
  DecoderState state(opus_decoder_create(kPcmSampleRateHz, 1, &error));
  if (!state || error != OPUS_OK) return OpusError("opus_decoder_create", error);
  return std::unique_ptr<Decoder>(std::make_unique<OpusVoiceDecoder>(info, std::move(state)));
}

}  // namespace linegate::media::codec::internal
