// G.711 mu-law and A-law: a wrapper of media/dsp/g711.h (one octet per sample, so the
// payload is the frame, bit for bit what dsp::EncodeUlaw/EncodeAlaw produce). No
// concealment of its own: G.711 Appendix I concealment runs in the jitter buffer
// (media/rtp/plc.h), which the caller also uses for payloads decoded here.

#include <algorithm>

#include "media/codec/codec_impl.h"
#include "media/dsp/g711.h"

namespace linegate::media::codec::internal {
namespace {

class G711Encoder final : public Encoder {
 public:
  explicit G711Encoder(const CodecInfo& info) : Encoder(info), ulaw_(info.id == CodecId::kPcmu) {}

 private:
  size_t EncodeFrame(std::span<const int16_t> pcm_8k, std::span<uint8_t> out, CodecStatus&) override {
    const std::span<uint8_t> payload = out.first(pcm_8k.size());
    if (ulaw_) {
      dsp::EncodeUlaw(pcm_8k, payload);
    } else {
      dsp::EncodeAlaw(pcm_8k, payload);
    }
    return payload.size();
  }

  bool ulaw_;
};

class G711Decoder final : public Decoder {
 public:
  explicit G711Decoder(const CodecInfo& info) : Decoder(info), ulaw_(info.id == CodecId::kPcmu) {}

 private:
  size_t DecodePayload(std::span<const uint8_t> payload, std::span<int16_t> out,
                       CodecStatus& status) override {
    if (payload.size() > out.size()) {
      status = CodecStatus::kOutputTooSmall;
      return 0;
    }
    const std::span<int16_t> pcm = out.first(payload.size());
    if (ulaw_) {
      dsp::DecodeUlaw(payload, pcm);
    } else {
      dsp::DecodeAlaw(payload, pcm);
    }
    return pcm.size();
  }

  size_t ConcealFrame(std::span<int16_t> out, CodecStatus& status) override {
    std::fill(out.begin(), out.end(), int16_t{0});
    status = CodecStatus::kNoConcealment;
    return 0;
  }

  bool ulaw_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeG711Encoder(const CodecInfo& info) {
  return std::unique_ptr<Encoder>(std::make_unique<G711Encoder>(info));
}

Result<std::unique_ptr<Decoder>> MakeG711Decoder(const CodecInfo& info) {
  return std::unique_ptr<Decoder>(std::make_unique<G711Decoder>(info));
}

}  // namespace linegate::media::codec::internal
