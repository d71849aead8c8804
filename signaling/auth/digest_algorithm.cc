#include "signaling/auth/digest_algorithm.h"

#include <openssl/evp.h>

#include <memory>

namespace linegate::signaling::auth {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// OpenSSL 3 recommends fetching an EVP_MD once instead of the implicit fetch that
// EVP_md5()/EVP_sha256()/EVP_sha512_256() trigger on every EVP_DigestInit_ex (crypto(7),
// "Performance"). The fetched objects live for the whole process. "SHA2-512/256" is the
// algorithm EVP_sha512_256() names: FIPS 180-4 SHA-512/256 with its own initial values.
struct FetchedDigests {
  EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_MD* sha512_256 = EVP_MD_fetch(nullptr, "SHA2-512/256", nullptr);
};

const EVP_MD* Md(DigestAlgorithm algorithm) {
  static const FetchedDigests digests;
  switch (BaseAlgorithm(algorithm)) {
    case DigestAlgorithm::kMd5:
      return digests.md5;
    case DigestAlgorithm::kSha256:
      return digests.sha256;
    case DigestAlgorithm::kSha512_256:
      return digests.sha512_256;
    default:
      return nullptr;
  }
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string_view AlgorithmName(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kMd5:
      return "MD5";
    case DigestAlgorithm::kMd5Sess:
      return "MD5-sess";
    case DigestAlgorithm::kSha256:
      return "SHA-256";
    case DigestAlgorithm::kSha256Sess:
      return "SHA-256-sess";
    case DigestAlgorithm::kSha512_256:
      return "SHA-512-256";
    case DigestAlgorithm::kSha512_256Sess:
      return "SHA-512-256-sess";
  }
  return "unknown";
}

std::optional<DigestAlgorithm> ParseAlgorithm(std::string_view token) {
  for (DigestAlgorithm algorithm : kAllDigestAlgorithms) {
    if (EqualsIgnoreCase(token, AlgorithmName(algorithm))) return algorithm;
  }
  return std::nullopt;
}

bool IsSessionAlgorithm(DigestAlgorithm algorithm) { return BaseAlgorithm(algorithm) != algorithm; }

DigestAlgorithm BaseAlgorithm(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kMd5:
    case DigestAlgorithm::kMd5Sess:
      return DigestAlgorithm::kMd5;
    case DigestAlgorithm::kSha256:
    case DigestAlgorithm::kSha256Sess:
      return DigestAlgorithm::kSha256;
    case DigestAlgorithm::kSha512_256:
    case DigestAlgorithm::kSha512_256Sess:
      return DigestAlgorithm::kSha512_256;
  }
  return algorithm;
}

int AlgorithmStrength(DigestAlgorithm algorithm) {
  switch (BaseAlgorithm(algorithm)) {
    case DigestAlgorithm::kSha512_256:
      return 3;
    case DigestAlgorithm::kSha256:
      return 2;
    default:
      return 1;
  }
}

size_t HexDigestLength(DigestAlgorithm algorithm) {
  return BaseAlgorithm(algorithm) == DigestAlgorithm::kMd5 ? 32 : 64;
}

Result<std::string> HashHex(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts) {
  const EVP_MD* md = Md(algorithm);
  if (md == nullptr) {
    return Error{"hash for algorithm " + std::string(AlgorithmName(algorithm)) +
                 " is not available from the OpenSSL providers"};
  }
  // One context per thread, reset by EVP_DigestInit_ex2: no allocation per hash.
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  bool first = true;
  for (std::string_view part : parts) {
    if (!ok) break;
    if (!first) ok = EVP_DigestUpdate(ctx.get(), ":", 1) == 1;
    first = false;
    if (ok && !part.empty()) ok = EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &digest_len) == 1;
  if (!ok) return Error{"OpenSSL digest computation failed for " + std::string(AlgorithmName(algorithm))};

  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(static_cast<size_t>(digest_len) * 2, '\0');
  for (unsigned int i = 0; i < digest_len; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace linegate::signaling::auth
