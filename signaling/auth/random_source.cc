#include "signaling/auth/random_source.h"

#include <openssl/rand.h>

#include <array>
#include <climits>

namespace linegate::signaling::auth {

Status OpenSslRandomSource::Fill(std::span<uint8_t> out) {
  if (out.size() > static_cast<size_t>(INT_MAX)) return Error{"random request too large"};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Error{"OpenSSL RAND_bytes failed (entropy source unavailable?)"};
  }
  return Status::Ok();
}

OpenSslRandomSource& OpenSslRandomSource::Instance() {
  static OpenSslRandomSource source;
  return source;
}

Result<std::string> MakeCnonce(RandomSource& random) {
  std::array<uint8_t, kCnonceBytes> bytes{};
  Status filled = random.Fill(bytes);
  if (!filled.ok()) return Error{"cannot make a cnonce: " + filled.error()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0x0f];
  }
  return hex;
}

}  // namespace linegate::signaling::auth
