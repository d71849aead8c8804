#pragma once
// Randomness comes in through this interface (STYLE.md practice 3) so that tests fix the
// client nonce and reproduce Authorization headers byte for byte.

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"

namespace linegate::signaling::auth {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with unpredictable bytes, or fails.
  virtual Status Fill(std::span<uint8_t> out) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes).
class OpenSslRandomSource final : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override;
  static OpenSslRandomSource& Instance();
};

// 128 random bits as 32 lower-case hex digits: a cnonce (RFC 7616 3.4: the client nonce
// protects against chosen-plaintext attacks and must not be predictable).
inline constexpr size_t kCnonceBytes = 16;
Result<std::string> MakeCnonce(RandomSource& random);

}  // namespace linegate::signaling::auth
