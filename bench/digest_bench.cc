// Digest authentication micro-benchmarks: parsing a challenge, and the whole answer to it
// (parse + HA1/HA2/response + header formatting), for MD5 and SHA-256.
// Run: digest_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_challenge.h"
#include "signaling/auth/digest_response.h"

namespace {

using namespace linegate::signaling::auth;

constexpr std::string_view kMd5Challenge =
    R"(Digest realm="gw.test", nonce="awk1bmsJNTIexpj7+ay2qR4YyU/TL0p8", qop="auth", algorithm=MD5)";
constexpr std::string_view kSha256Challenge =
    R"(Digest realm="gw.test", nonce="awk2smsJNnbQUqeet728/a5OhxN9BfDL", qop="auth", algorithm=SHA-256, )"
    R"(opaque="5ccc069c403ebaf9f0171e9517f40e41")";

void BM_ParseChallenge(benchmark::State& state, std::string_view header) {
  for (auto _ : state) {
    auto challenge = ParseDigestChallenge(header);
    benchmark::DoNotOptimize(challenge);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AnswerChallenge(benchmark::State& state, std::string_view header) {
  const Credentials credentials = Credentials::FromPassword("1001", "secret1001");
  const DigestRequest request{"REGISTER", "sip:gw.test", ""};
  uint32_t nc = 0;
  for (auto _ : state) {
    auto challenge = ParseDigestChallenge(header);
    if (!challenge.ok()) {
      state.SkipWithError(challenge.error().c_str());
      break;
    }
    auto value = AnswerChallenge(*challenge, credentials, request, "0a4f113b", ++nc);
    if (!value.ok()) {
      state.SkipWithError(value.error().c_str());
      break;
    }
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_ParseChallenge, md5, kMd5Challenge);
BENCHMARK_CAPTURE(BM_ParseChallenge, sha256, kSha256Challenge);
BENCHMARK_CAPTURE(BM_AnswerChallenge, md5, kMd5Challenge);
BENCHMARK_CAPTURE(BM_AnswerChallenge, sha256, kSha256Challenge);

}  // namespace
