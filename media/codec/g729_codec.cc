// G.729 through bcg729 (Annex A complexity, bit-compatible with G.729; Annex B VAD,
// DTX and comfort noise optional). 10 ms frames of 80 samples code to 10 bytes; a
// payload is N voice frames optionally followed by one 2-byte SID frame (RFC 3551
// 4.5.6). The decoder always accepts SID frames: a peer may use Annex B whatever we
// send (annexb defaults to yes in SDP, RFC 4856).
//
// Concealment is the codec's own (G.729 4.4, B.27 after a SID): bcg729 decodes an
// erased frame from the previous parameters with attenuated gains, or continues the
// comfort noise when the last frame was a SID, so the caller also calls Conceal() for
// the untransmitted frames of a DTX silence.

extern "C" {
#include <bcg729/decoder.h>
#include <bcg729/encoder.h>
}

#include <memory>
#include <utility>

#include "media/codec/codec_impl.h"

namespace linegate::media::codec::internal {
namespace {

constexpr size_t kFrameSamples = 80;
constexpr size_t kVoiceFrameBytes = 10;
constexpr size_t kSidFrameBytes = 2;

struct EncoderClose {
  void operator()(bcg729EncoderChannelContextStruct* context) const { closeBcg729EncoderChannel(context); }
};
struct DecoderClose {
  void operator()(bcg729DecoderChannelContextStruct* context) const { closeBcg729DecoderChannel(context); }
};
using EncoderContext = std::unique_ptr<bcg729EncoderChannelContextStruct, EncoderClose>;
using DecoderContext = std::unique_ptr<bcg729DecoderChannelContextStruct, DecoderClose>;

class G729Encoder final : public Encoder {
 public:
  G729Encoder(const CodecInfo& info, EncoderContext context, bool annex_b)
      : Encoder(info), context_(std::move(context)), annex_b_(annex_b) {}

 private:
  size_t EncodeFrame(std::span<const int16_t> pcm_8k, std::span<uint8_t> out, CodecStatus& status) override {
    if (annex_b_ && pcm_8k.size() != kFrameSamples) {
      status = CodecStatus::kBadFrameSize;  // see CodecOptions::g729_annex_b
      return 0;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < pcm_8k.size(); i += kFrameSamples) {
      uint8_t frame_bytes = 0;
      bcg729Encoder(context_.get(), pcm_8k.data() + i, out.data() + bytes, &frame_bytes);
      bytes += frame_bytes;
    }
    return bytes;
  }

  EncoderContext context_;
  bool annex_b_;
};

class G729Decoder final : public Decoder {
 public:
  G729Decoder(const CodecInfo& info, DecoderContext context) : Decoder(info), context_(std::move(context)) {}

 private:
  size_t DecodePayload(std::span<const uint8_t> payload, std::span<int16_t> out,
                       CodecStatus& status) override {
    const size_t voice_frames = payload.size() / kVoiceFrameBytes;
    const size_t rest = payload.size() % kVoiceFrameBytes;
    if (rest != 0 && rest != kSidFrameBytes) {
      status = CodecStatus::kBadPayload;
      return 0;
    }
    const size_t samples = (voice_frames + (rest != 0 ? 1 : 0)) * kFrameSamples;
    if (samples > out.size()) {
      status = CodecStatus::kOutputTooSmall;
      return 0;
    }
    for (size_t i = 0; i < voice_frames; ++i) {
      bcg729Decoder(context_.get(), payload.data() + i * kVoiceFrameBytes, kVoiceFrameBytes,
                    /*frameErasureFlag=*/0,
                    /*SIDFrameFlag=*/0, /*rfc3389PayloadFlag=*/0, out.data() + i * kFrameSamples);
    }
    if (rest != 0) {
      bcg729Decoder(context_.get(), payload.data() + voice_frames * kVoiceFrameBytes, kSidFrameBytes, 0,
                    /*SIDFrameFlag=*/1, 0, out.data() + voice_frames * kFrameSamples);
    }
    return samples;
  }

  size_t ConcealFrame(std::span<int16_t> out, CodecStatus&) override {
    for (size_t i = 0; i < out.size(); i += kFrameSamples) {
      bcg729Decoder(context_.get(), nullptr, 0, /*frameErasureFlag=*/1, 0, 0, out.data() + i);
    }
    return out.size();
  }

  DecoderContext context_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeG729Encoder(const CodecInfo& info, const CodecOptions& options) {
  EncoderContext context(initBcg729EncoderChannel(options.g729_annex_b ? 1 : 0));
  if (!context) return Error{"codec G729: bcg729 encoder initialisation failed"};
  return std::unique_ptr<Encoder>(
      std::make_unique<G729Encoder>(info, std::move(context), options.g729_annex_b));
}

Result<std::unique_ptr<Decoder>> MakeG729Decoder(const CodecInfo& info) {
  DecoderContext context(initBcg729DecoderChannel());
  if (!context) return Error{"codec G729: bcg729 decoder initialisation failed"};
  return std::unique_ptr<Decoder>(std::make_unique<G729Decoder>(info, std::move(context)));
}

}  // namespace linegate::media::codec::internal
