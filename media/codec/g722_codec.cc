// G.722 at 64 kbit/s through spandsp, in spandsp's 8 kHz mode (G722_SAMPLE_RATE_8000):
// the 8 kHz PCM is coded as the lower sub-band only and the upper sub-band carries a
// constant code, so the payload stays standard G.722 (one octet per 16 kHz sample pair)
// that a wide-band peer decodes to our narrow-band audio, and no 8 <-> 16 kHz
// resampling is needed on either side. One octet per 8 kHz sample: 80 bytes per 10 ms.
//
// No concealment of its own (spandsp has no G.722 Appendix III/IV): the caller
// conceals the decoded PCM. The ADPCM state is not advanced over a loss, so the first
// packet after one decodes with a short mismatch while the predictors re-adapt.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

// spandsp's headers need <stdint.h> first, then telephony.h (SPAN_DECLARE), then the
// module header.
// clang-format off
#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
// clang-format on

#include "media/codec/codec_impl.h"

namespace linegate::media::codec::internal {
namespace {

constexpr int kBitRate = 64000;
constexpr int kOptions = G722_SAMPLE_RATE_8000;

struct EncodeStateFree {
  void operator()(g722_encode_state_t* state) const { g722_encode_free(state); }
};
struct DecodeStateFree {
  void operator()(g722_decode_state_t* state) const { g722_decode_free(state); }
};
using EncodeState = std::unique_ptr<g722_encode_state_t, EncodeStateFree>;
using DecodeState = std::unique_ptr<g722_decode_state_t, DecodeStateFree>;

class G722Encoder final : public Encoder {
 public:
  G722Encoder(const CodecInfo& info, EncodeState state) : Encoder(info), state_(std::move(state)) {}

 private:
  size_t EncodeFrame(std::span<const int16_t> pcm_8k, std::span<uint8_t> out, CodecStatus& status) override {
    const int bytes = g722_encode(state_.get(), out.data(), pcm_8k.data(), static_cast<int>(pcm_8k.size()));
    if (bytes != static_cast<int>(pcm_8k.size())) {
      status = CodecStatus::kCodecError;
      return 0;
    }
    return static_cast<size_t>(bytes);
  }

  EncodeState state_;
};

class G722Decoder final : public Decoder {
 public:
  G722Decoder(const CodecInfo& info, DecodeState state) : Decoder(info), state_(std::move(state)) {}

 private:
  size_t DecodePayload(std::span<const uint8_t> payload, std::span<int16_t> out,
                       CodecStatus& status) override {
    if (payload.size() > out.size() || payload.size() > kMaxFrameSamples) {
      status = CodecStatus::kOutputTooSmall;
      return 0;
    }
    const int samples =
        g722_decode(state_.get(), out.data(), payload.data(), static_cast<int>(payload.size()));
    if (samples != static_cast<int>(payload.size())) {
      status = CodecStatus::kCodecError;
      return 0;
    }
    return static_cast<size_t>(samples);
  }

  size_t ConcealFrame(std::span<int16_t> out, CodecStatus& status) override {
    std::fill(out.begin(), out.end(), int16_t{0});
    status = CodecStatus::kNoConcealment;
    return 0;
  }

  DecodeState state_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeG722Encoder(const CodecInfo& info) {
  EncodeState state(g722_encode_init(nullptr, kBitRate, kOptions));
  if (!state) return Error{"codec G722: spandsp g722_encode_init failed (64 kbit/s, 8 kHz mode)"};
  return std::unique_ptr<Encoder>(std::make_unique<G722Encoder>(info, std::move(state)));
}

Result<std::unique_ptr<Decoder>> MakeG722Decoder(const CodecInfo& info) {
  DecodeState state(g722_decode_init(nullptr, kBitRate, kOptions));
  if (!state) return Error{"codec G722: spandsp g722_decode_init failed (64 kbit/s, 8 kHz mode)"};
  return std::unique_ptr<Decoder>(std::make_unique<G722Decoder>(info, std::move(state)));
}

}  // namespace linegate::media::codec::internal
