// SIP parser throughput: typical messages parsed per second on one core.
// Run with --benchmark_repetitions=5 and read the medians (docs/PERFORMANCE.md).

#include <benchmark/benchmark.h>

#include <string>

#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"

namespace sip = linegate::signaling::sip;

namespace {

// An INVITE as a UA sends it: 11 headers and an SDP offer.
const std::string kSdp =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n";
const std::string kInvite =
    "INVITE sip:+15551230000@gw1.example.net;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9a1c;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: <sip:+15551230000@gw1.example.net;user=phone>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n"
    "Supported: timer, 100rel\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: " +
    std::to_string(kSdp.size()) + "\r\n\r\n" + kSdp;

const std::string kRegister =
    "REGISTER sip:registrar.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.20:5060;branch=z9hG4bKnashds7\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Bob <sip:bob@example.com>;tag=456248\r\n"
    "Call-ID: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: <sip:bob@192.0.2.20:5060;transport=tcp>;expires=3600\r\n"
    "Authorization: Digest username=\"bob\", realm=\"example.com\", "
    "nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", uri=\"sip:registrar.example.com\", "
    "response=\"dfe56131d1958046689d83306477ecc\", algorithm=MD5, qop=auth, nc=00000001, "
    "cnonce=\"0a4f113b\"\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9a1c;rport=5060;received=192.0.2.10\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: <sip:+15551230000@gw1.example.net;user=phone>;tag=8321234356\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:gw1.example.net:5060>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

void ParseLoop(benchmark::State& state, const std::string& data) {
  sip::Message message;
  for (auto _ : state) {
    const sip::ParseResult result = sip::Parse(data, sip::Transport::kDatagram, message);
    if (!result.ok() || message.body().empty() != data.ends_with("\r\n\r\n")) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(message.cseq());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void BM_ParseInvite(benchmark::State& state) { ParseLoop(state, kInvite); }
void BM_ParseRegisterWithAuthorization(benchmark::State& state) { ParseLoop(state, kRegister); }
void BM_Parse200Ok(benchmark::State& state) { ParseLoop(state, kOk); }

void BM_SerializeInvite(benchmark::State& state) {
  sip::Message message;
  if (!sip::Parse(kInvite, sip::Transport::kDatagram, message).ok()) state.SkipWithError("parse failed");
  char buffer[2048];
  for (auto _ : state) {
    benchmark::DoNotOptimize(sip::Serialize(message, buffer));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_FrameStreamInvite(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sip::FrameStream(kInvite));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_ParseInvite);
BENCHMARK(BM_ParseRegisterWithAuthorization);
BENCHMARK(BM_Parse200Ok);
BENCHMARK(BM_SerializeInvite);
BENCHMARK(BM_FrameStreamInvite);
