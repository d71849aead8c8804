#pragma once
// Internal to linegate_codec: the per-codec factories codec.cc dispatches to. Each
// validates its options and creates the library state; `info` is the codec's row of
// the static table, so it outlives every instance.

#include <memory>

#include "media/codec/codec.h"

namespace linegate::media::codec::internal {

Result<std::unique_ptr<Encoder>> MakeG711Encoder(const CodecInfo& info);
Result<std::unique_ptr<Decoder>> MakeG711Decoder(const CodecInfo& info);
Result<std::unique_ptr<Encoder>> MakeG722Encoder(const CodecInfo& info);
Result<std::unique_ptr<Decoder>> MakeG722Decoder(const CodecInfo& info);
Result<std::unique_ptr<Encoder>> MakeG729Encoder(const CodecInfo& info, const CodecOptions& options);
Result<std::unique_ptr<Decoder>> MakeG729Decoder(const CodecInfo& info);
Result<std::unique_ptr<Encoder>> MakeOpusEncoder(const CodecInfo& info, const CodecOptions& options);
Result<std::unique_ptr<Decoder>> MakeOpusDecoder(const CodecInfo& info);

}  // namespace linegate::media::codec::internal
