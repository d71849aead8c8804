// libFuzzer target for the WWW-Authenticate / Proxy-Authenticate parser and everything a
// parsed challenge flows into: selection, response computation, header formatting and
// the client state machine. Besides "no crash, no sanitizer report" it checks one
// property: a header we format re-parses to the realm, nonce and opaque we put in.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "common/log.h"
#include "signaling/auth/credentials.h"
#include "signaling/auth/digest_challenge.h"
#include "signaling/auth/digest_client.h"
#include "signaling/auth/digest_response.h"
#include "signaling/auth/random_source.h"

namespace {

using linegate::Status;
using namespace linegate::signaling::auth;

class CountingRandom final : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next_++;
    return Status::Ok();
  }

 private:
  uint8_t next_ = 0;
};

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "property violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Failures are logged at warn; millions of them would only slow the fuzzer down.
  static const bool quiet = [] {
    linegate::log::SetLevel(linegate::log::Level::kCritical);
    return true;
  }();
  (void)quiet;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  linegate::Result<DigestChallenge> challenge = ParseDigestChallenge(input);
  if (!challenge.ok()) {
    if (challenge.error().empty()) Violation("error without a message");
  } else {
    const Credentials credentials = Credentials::FromPassword("fuzz", "secret");
    const DigestRequest request{"REGISTER", "sip:gw.test", "v=0\r\n"};
    linegate::Result<std::string> answer = AnswerChallenge(*challenge, credentials, request, "0a4f113b", 1);
    if (answer.ok()) {
      linegate::Result<DigestChallenge> reparsed = ParseDigestChallenge(*answer);
      if (!reparsed.ok()) Violation("formatted Authorization does not re-parse");
      if (reparsed->realm != challenge->realm) Violation("realm does not round-trip");
      if (reparsed->nonce != challenge->nonce) Violation("nonce does not round-trip");
      if (reparsed->opaque != challenge->opaque) Violation("opaque does not round-trip");
    } else if (IsSupported(*challenge)) {
      // A supported challenge can fail only on values we refuse to echo (none survive the
      // parser) or on algorithms OpenSSL lacks; neither applies here.
      Violation("supported challenge could not be answered");
    }
    const DigestChallenge one[] = {*challenge};
    (void)SelectChallenge(one);
  }

  // The same bytes through the client, as two headers of one 401 and again as a 407.
  CountingRandom random;
  DigestClient client({Credentials::FromPassword("fuzz", "secret")}, random);
  const std::string_view values[] = {input, input.substr(size / 2)};
  const DigestRequest request{"INVITE", "sip:1002@gw.test", ""};
  (void)client.OnChallenge(401, values, request);
  (void)client.OnChallenge(407, std::span(values, 1), request);
  client.OnAccepted();
  (void)client.PrepareRequest(request);
  return 0;
}
