// The engine end to end inside one process: a TDM bus region this test clocks (as the
// tdm process would), the engine on kernel sockets, and a plain UDP socket as the far
// end. Time is a ManualClock advanced one frame per tick, so nothing sleeps except to
// let loopback deliver.
#include "media/engine/media_engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "media/codec/codec.h"
#include "media/dsp/caller_id.h"
#include "media/dsp/dtmf.h"
#include "media/dsp/dtmf_detector.h"
#include "media/dsp/g711.h"
#include "media/dsp/oscillator.h"
#include "media/dsp/tone_analyser.h"
#include "media/packetio/kernel_socket_io.h"
#include "media/rtp/rtp_header.h"
#include "media/rtp/telephone_event.h"
#include "media/tdm/sim/sim_phone.h"
#include "media/tdm/tdm_service.h"

namespace linegate::media::engine {
namespace {

constexpr uint32_t kFrame = 80;  // 10 ms

class RecordingEvents final : public EngineEvents {
 public:
  void OnDtmf(uint32_t line, char digit, uint32_t duration_ms, bool from_rtp) override {
    dtmf.push_back({line, digit, duration_ms, from_rtp});
  }
  void OnRtpTimeout(uint32_t line, uint32_t) override { timeouts.push_back(line); }
  void OnFaxTone(uint32_t line, const char* tone) override {
    fax.push_back(std::to_string(line) + " " + tone);
  }
  void OnCallerId(uint32_t line, const dsp::CallerIdResult& result) override {
    caller_ids.push_back(std::to_string(line) + " " + std::string(result.info.number.view()) + " " +
                         std::string(result.info.name.view()));
  }
  void OnDigitsSent(uint32_t line) override { digits_sent.push_back(line); }
  void OnBusyTone(uint32_t line, const char* tone) override {
    busy_tones.push_back(std::to_string(line) + " " + tone);
  }
  std::vector<std::string> busy_tones;
  std::vector<std::string> fax;
  std::vector<std::string> caller_ids;
  std::vector<uint32_t> digits_sent;
  struct Dtmf {
    uint32_t line;
    char digit;
    uint32_t duration_ms;
    bool from_rtp;
  };
  std::vector<Dtmf> dtmf;
  std::vector<uint32_t> timeouts;
};

// A UDP socket on loopback standing for the far end.
class Peer {
 public:
  Peer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~Peer() { ::close(fd_); }
  uint16_t port() const { return port_; }
  std::vector<std::vector<uint8_t>> Drain() {
    std::vector<std::vector<uint8_t>> packets;
    uint8_t buffer[2048];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0) break;
      packets.emplace_back(buffer, buffer + n);
    }
    return packets;
  }
  void SendTo(uint16_t port, std::span<const uint8_t> bytes) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class MediaEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/lg-engine-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    config_.mutable_runtime()->set_runtime_dir(dir_);
    config_.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_SIM);
    config_.mutable_tdm()->set_frame_ms(10);
    auto* card = config_.mutable_tdm()->add_cards();
    card->set_name("sim0");
    card->set_fxs_ports(4);
    config_.mutable_media()->set_process_count(1);
    config_.mutable_media()->set_rtp_address("127.0.0.1");
    // A port slice of its own per test process, so parallel test runs do not collide;
    // 50 pairs, so that ports some other program holds are skipped over.
    const uint32_t base = 40000 + static_cast<uint32_t>(::getpid() % 200) * 100;
    config_.mutable_media()->set_rtp_port_min(base);
    config_.mutable_media()->set_rtp_port_max(base + 99);

    auto name = tdmbus::RegionName(tdm::TdmBusPrefix(config_), 0);
    ASSERT_TRUE(name);
    auto region = tdmbus::CardRegion::Create(*name, tdm::CardGeometry(config_.tdm(), 4));
    ASSERT_TRUE(region) << region.error();
    region_.emplace(std::move(*region));
    for (uint32_t channel = 0; channel < 4; ++channel) {
      from_line_.push_back(*region_->FromLineWriter(channel));
      to_line_.push_back(*region_->ToLineReader(channel));
    }
    auto io = packetio::KernelSocketIo::Create({});
    ASSERT_TRUE(io);
    auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
    ASSERT_TRUE(engine) << engine.error();
    engine_ = std::move(*engine);
    engine_->Poll();
    ASSERT_TRUE(engine_->attached());
  }
  void TearDown() override {
    engine_.reset();
    if (region_) (void)region_->Unlink();
    ::rmdir(dir_.c_str());
  }

  v1::SessionParams Params(uint32_t line, v1::Codec codec = v1::CODEC_PCMU) {
    v1::SessionParams params;
    params.set_line(line);
    params.set_remote_address("127.0.0.1");
    params.set_remote_port(peer_.port());
    params.set_codec(codec);
    return params;
  }

  // One TDM tick: `from` (or silence) on every channel's from-line ring, the clock
  // advanced, the engine polled; the to-line frame of `listen_channel` is appended
  // to `heard`.
  void Tick(std::span<const int16_t> from, uint32_t channel = 0, std::vector<int16_t>* heard = nullptr) {
    std::array<int16_t, kFrame> silence{};
    for (uint32_t c = 0; c < 4; ++c) {
      std::span<const int16_t> frame =
          c == channel && !from.empty() ? from : std::span<const int16_t>(silence);
      from_line_[c].Write(std::as_bytes(frame));
    }
    region_->Tick(0);
    clock_.Advance(std::chrono::milliseconds(10));
    engine_->Poll();
    for (uint32_t c = 0; c < 4; ++c) {
      std::array<int16_t, kFrame> out{};
      uint64_t sequence = 0;
      const std::byte* slot = to_line_[c].BeginRead(&sequence);
      if (slot == nullptr) continue;
      std::memcpy(out.data(), slot, sizeof(out));
      to_line_[c].EndRead();
      if (c == channel && heard != nullptr) heard->insert(heard->end(), out.begin(), out.end());
    }
  }

  std::string dir_;
  config::v1::Config config_;
  ManualClock clock_;
  RecordingEvents events_;
  std::optional<tdmbus::CardRegion> region_;
  std::vector<tdmbus::FrameWriter> from_line_;
  std::vector<tdmbus::FrameReader> to_line_;
  std::unique_ptr<MediaEngine> engine_;
  Peer peer_;
};

std::vector<int16_t> DecodeAudio(const std::vector<std::vector<uint8_t>>& packets, uint8_t payload_type) {
  std::vector<int16_t> samples;
  for (const auto& packet : packets) {
    rtp::RtpHeaderView view;
    if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk || view.payload_type != payload_type)
      continue;
    for (uint8_t code : view.payload) {
      samples.push_back(payload_type == 8 ? dsp::DecodeAlaw(code) : dsp::DecodeUlaw(code));
    }
  }
  return samples;
}

TEST_F(MediaEngineTest, LineAudioLeavesAsRtpAtItsFrequencyAndLevel) {
  for (v1::Codec codec : {v1::CODEC_PCMU, v1::CODEC_PCMA}) {
    auto created = engine_->CreateSession(Params(1, codec));
    ASSERT_TRUE(created) << created.error();
    EXPECT_NE(created->local_port(), 0u);
    dsp::ToneGenerator tone(dsp::ToneSpec::Single(1004.0f, -10.0f));
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < 100; ++i) {
      tone.Generate(frame);
      Tick(frame, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto packets = peer_.Drain();
    // 1 s of 20 ms packets (+1 RTCP report).
    EXPECT_GE(packets.size(), 50u);
    const auto samples = DecodeAudio(packets, codec == v1::CODEC_PCMA ? 8 : 0);
    ASSERT_GE(samples.size(), 8000u - 160);
    const dsp::ToneAnalysis analysis = dsp::AnalyseTone(std::span<const int16_t>(samples).subspan(800, 4096));
    EXPECT_NEAR(analysis.frequency_hz, 1004.0, 5.0);
    EXPECT_NEAR(analysis.tone_level_dbm0, -10.0, 0.5);
    ASSERT_TRUE(engine_->DeleteSession(1));
    peer_.Drain();
  }
}

TEST_F(MediaEngineTest, RtpAudioReachesTheLine) {
  auto created = engine_->CreateSession(Params(2, v1::CODEC_PCMA));
  ASSERT_TRUE(created) << created.error();
  dsp::ToneGenerator tone(dsp::ToneSpec::Single(697.0f, -10.0f));
  std::vector<int16_t> heard;
  std::array<int16_t, 160> pcm;
  std::array<uint8_t, 12 + 160> packet;
  for (int i = 0; i < 60; ++i) {
    tone.Generate(pcm);
    rtp::RtpHeaderFields fields;
    fields.payload_type = 8;
    fields.sequence = static_cast<uint16_t>(100 + i);
    fields.timestamp = 5000 + static_cast<uint32_t>(i) * 160;
    fields.ssrc = 0x1234;
    fields.marker = i == 0;
    rtp::WriteRtpHeader(fields, packet);
    dsp::EncodeAlaw(pcm, std::span<uint8_t>(packet.data() + 12, 160));
    peer_.SendTo(static_cast<uint16_t>(created->local_port()), packet);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Tick({}, 1, &heard);
    Tick({}, 1, &heard);
  }
  ASSERT_GE(heard.size(), 4096u + 3200);
  const dsp::ToneAnalysis analysis = dsp::AnalyseTone(std::span<const int16_t>(heard).subspan(3200, 4096));
  EXPECT_NEAR(analysis.frequency_hz, 697.0, 5.0);
  EXPECT_NEAR(analysis.tone_level_dbm0, -10.0, 0.5);
  v1::ListSessionsReply list;
  engine_->ListSessions(list);
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).packets_received(), 60u);
  EXPECT_EQ(list.sessions(0).packets_lost(), 0);
}

TEST_F(MediaEngineTest, InBandDigitsLeaveAsTelephoneEvents) {
  auto created = engine_->CreateSession(Params(1));
  ASSERT_TRUE(created);
  dsp::DtmfGenerator keypad(dsp::DtmfGeneratorConfig{.on_ms = 100, .off_ms = 100});
  ASSERT_TRUE(keypad.Queue("5#"));
  std::array<int16_t, kFrame> frame;
  for (int i = 0; i < 60; ++i) {
    keypad.Generate(frame);
    Tick(frame, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  rtp::TelephoneEventReceiver receiver;
  std::string digits;
  for (const auto& packet : peer_.Drain()) {
    rtp::RtpHeaderView view;
    if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk || view.payload_type != 101) continue;
    receiver.OnPacket(view, clock_.Now());
    while (auto notice = receiver.PopNotice()) {
      if (notice->edge == rtp::TelephoneEventEdge::kEnd) {
        digits += notice->digit;
        EXPECT_NEAR(notice->duration_ms, 100, 25) << notice->digit;
      }
    }
  }
  EXPECT_EQ(digits, "5#");
  ASSERT_EQ(events_.dtmf.size(), 2u);
  EXPECT_FALSE(events_.dtmf[0].from_rtp);
}

TEST_F(MediaEngineTest, TelephoneEventsArePlayedToTheLineAsDtmf) {
  auto created = engine_->CreateSession(Params(3));
  ASSERT_TRUE(created);
  std::vector<int16_t> heard;
  uint16_t sequence = 1;
  uint32_t timestamp = 8000;
  auto send_event = [&](uint8_t event, uint16_t duration, bool end, bool marker) {
    std::array<uint8_t, 16> packet;
    rtp::RtpHeaderFields fields;
    fields.payload_type = 101;
    fields.sequence = sequence++;
    fields.timestamp = timestamp;
    fields.ssrc = 0x99;
    fields.marker = marker;
    rtp::WriteRtpHeader(fields, packet);
    rtp::WriteTelephoneEventPayload({event, end, 10, duration}, std::span<uint8_t>(packet.data() + 12, 4));
    peer_.SendTo(static_cast<uint16_t>(created->local_port()), packet);
  };
  for (uint8_t event : {uint8_t{7}, uint8_t{11}}) {
    for (int i = 1; i <= 6; ++i) {
      send_event(event, static_cast<uint16_t>(160 * i), false, i == 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      Tick({}, 2, &heard);
      Tick({}, 2, &heard);
    }
    for (int i = 0; i < 3; ++i) send_event(event, 960, true, false);
    for (int i = 0; i < 10; ++i) Tick({}, 2, &heard);
    timestamp += 4000;
  }
  dsp::DtmfDetector detector;
  std::array<dsp::DtmfEvent, 8> found;
  std::string digits;
  for (size_t at = 0; at + kFrame <= heard.size(); at += kFrame) {
    const size_t n = detector.Process(std::span<const int16_t>(heard).subspan(at, kFrame), found);
    for (size_t i = 0; i < n; ++i) {
      if (found[i].type == dsp::DtmfEventType::kStart) digits += found[i].digit;
    }
  }
  EXPECT_EQ(digits, "7#");
  ASSERT_EQ(events_.dtmf.size(), 2u);
  EXPECT_TRUE(events_.dtmf[0].from_rtp);
  EXPECT_EQ(events_.dtmf[0].digit, '7');
}

TEST_F(MediaEngineTest, CallerIdIsSentToTheLineAfterItsDelay) {
  v1::SendCallerIdRequest request;
  request.set_line(4);
  request.mutable_caller_id()->set_number("5551234");
  request.mutable_caller_id()->set_name("LINEGATE");
  request.mutable_caller_id()->set_standard(::linegate::tdm::v1::CALLER_ID_STANDARD_V23);
  request.set_delay_ms(100);
  ASSERT_TRUE(engine_->SendCallerId(request).ok());
  std::vector<int16_t> heard;
  for (int i = 0; i < 150; ++i) Tick({}, 3, &heard);
  // Nothing before the delay.
  for (size_t i = 0; i < 800; ++i) ASSERT_EQ(heard[i], 0) << i;
  dsp::CallerIdReceiver receiver;
  bool decoded = false;
  for (size_t at = 0; at + kFrame <= heard.size() && !decoded; at += kFrame) {
    decoded = receiver.Process(std::span<const int16_t>(heard).subspan(at, kFrame));
  }
  ASSERT_TRUE(decoded);
  EXPECT_EQ(receiver.result().standard, dsp::CallerIdStandard::kV23);
  EXPECT_EQ(receiver.result().info.number.view(), "5551234");
  EXPECT_EQ(receiver.result().info.name.view(), "LINEGATE");
}

// G.722, G.729 and Opus: the line's tone leaves encoded (checked with the codec's own
// decoder) and an encoded tone from the peer reaches the line.
TEST_F(MediaEngineTest, CompressedCodecsCarryToneBothWays) {
  struct Case {
    v1::Codec codec;
    codec::CodecId id;
    uint8_t payload_type;
    double level_tolerance;
  };
  for (const Case& c : {Case{v1::CODEC_G722, codec::CodecId::kG722, 9, 0.5},
                        Case{v1::CODEC_G729, codec::CodecId::kG729, 18, 1.0},
                        Case{v1::CODEC_OPUS, codec::CodecId::kOpus, 111, 1.0}}) {
    SCOPED_TRACE(v1::Codec_Name(c.codec));
    auto created = engine_->CreateSession(Params(1, c.codec));
    ASSERT_TRUE(created) << created.error();
    dsp::ToneGenerator tone(dsp::ToneSpec::Single(1004.0f, -10.0f));
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < 100; ++i) {
      tone.Generate(frame);
      Tick(frame, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto decoder = codec::MakeDecoder(c.id);
    ASSERT_TRUE(decoder);
    std::vector<int16_t> decoded;
    for (const auto& packet : peer_.Drain()) {
      rtp::RtpHeaderView view;
      if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk ||
          view.payload_type != c.payload_type) {
        continue;
      }
      std::array<int16_t, 960> pcm;
      const size_t n = (*decoder)->Decode(view.payload, pcm);
      decoded.insert(decoded.end(), pcm.begin(), pcm.begin() + n);
    }
    ASSERT_GE(decoded.size(), 4096u + 1600);
    dsp::ToneAnalysis sent = dsp::AnalyseTone(std::span<const int16_t>(decoded).subspan(1600, 4096));
    EXPECT_NEAR(sent.frequency_hz, 1004.0, 5.0);
    EXPECT_NEAR(sent.tone_level_dbm0, -10.0, c.level_tolerance);

    // The other way.
    auto encoder = codec::MakeEncoder(c.id);
    ASSERT_TRUE(encoder);
    const uint32_t clock_factor = codec::GetCodecInfo(c.id).rtp_clock_rate_hz / 8000;
    std::vector<int16_t> heard;
    std::array<int16_t, 160> pcm;
    std::array<uint8_t, 12 + codec::kMaxPayloadBytes> packet;
    for (int i = 0; i < 80; ++i) {
      tone.Generate(pcm);
      rtp::RtpHeaderFields fields;
      fields.payload_type = c.payload_type;
      fields.sequence = static_cast<uint16_t>(7 + i);
      fields.timestamp = static_cast<uint32_t>(i) * 160 * clock_factor;
      fields.ssrc = 0x4242;
      rtp::WriteRtpHeader(fields, packet);
      const size_t bytes =
          (*encoder)->Encode(pcm, std::span<uint8_t>(packet.data() + 12, codec::kMaxPayloadBytes));
      ASSERT_GT(bytes, 0u);
      peer_.SendTo(static_cast<uint16_t>(created->local_port()),
                   std::span<const uint8_t>(packet.data(), 12 + bytes));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      Tick({}, 0, &heard);
      Tick({}, 0, &heard);
    }
    ASSERT_GE(heard.size(), 4096u + 4000);
    dsp::ToneAnalysis received = dsp::AnalyseTone(std::span<const int16_t>(heard).subspan(4000, 4096));
    EXPECT_NEAR(received.frequency_hz, 1004.0, 5.0);
    EXPECT_NEAR(received.tone_level_dbm0, -10.0, c.level_tolerance + 0.5);  // + the mu-law step
    ASSERT_TRUE(engine_->DeleteSession(1));
    peer_.Drain();
  }
}

TEST_F(MediaEngineTest, OpusRefusesTelephoneEventsOnItsClock) {
  auto params = Params(1, v1::CODEC_OPUS);
  params.set_dtmf_mode(v1::DTMF_MODE_RFC4733);
  auto refused = engine_->CreateSession(params);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("inband"), std::string::npos) << refused.error();
}

TEST_F(MediaEngineTest, FaxAnswerToneSwitchesTheSessionToPassThrough) {
  auto created = engine_->CreateSession(Params(1));
  ASSERT_TRUE(created);
  dsp::ToneGenerator ced(dsp::ToneSpec::Single(2100.0f, -12.0f));
  std::array<int16_t, kFrame> frame;
  for (int i = 0; i < 300; ++i) {  // 3 s of CED from the line (a fax machine answering)
    ced.Generate(frame);
    Tick(frame, 0);
  }
  EXPECT_EQ(events_.fax, std::vector<std::string>{"1 CED"});
  v1::ListSessionsReply list;
  engine_->ListSessions(list);
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_TRUE(list.sessions(0).fax_pass_through());
  EXPECT_FALSE(list.sessions(0).echo_canceller());
}

// The line returns what it is sent, 12 dB down and 20 ms late (a hybrid's echo): with the
// canceller, the RTP leaving the gateway carries far less of it than without.
TEST_F(MediaEngineTest, EchoCancellerRemovesTheLinesEchoFromTheSentAudio) {
  auto echo_level = [&](uint32_t tail_ms) {
    config_.mutable_media()->set_echo_canceller_tail_ms(tail_ms);
    engine_.reset();
    auto io = packetio::KernelSocketIo::Create({});
    auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
    EXPECT_TRUE(engine);
    engine_ = std::move(*engine);
    engine_->Poll();
    auto created = engine_->CreateSession(Params(1));
    EXPECT_TRUE(created);
    // A noise-like far end: three tones that never line up, as PCMU packets.
    dsp::ToneGenerator far(dsp::ToneSpec::Dual(613.0f, -16.0f, 1447.0f, -16.0f));
    dsp::ToneGenerator far2(dsp::ToneSpec::Single(2333.0f, -16.0f));
    std::deque<std::array<int16_t, kFrame>> echo_path(2);  // 20 ms
    std::array<int16_t, 160> pcm;
    std::array<uint8_t, 172> packet;
    peer_.Drain();
    std::vector<int16_t> sent_back;
    for (int i = 0; i < 250; ++i) {  // 5 s
      far.Generate(pcm);
      far2.Mix(pcm);
      rtp::RtpHeaderFields fields;
      fields.payload_type = 0;
      fields.sequence = static_cast<uint16_t>(i);
      fields.timestamp = static_cast<uint32_t>(i) * 160;
      fields.ssrc = 0x77;
      rtp::WriteRtpHeader(fields, packet);
      dsp::EncodeUlaw(pcm, std::span<uint8_t>(packet.data() + 12, 160));
      peer_.SendTo(static_cast<uint16_t>(created->local_port()), packet);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      for (int half = 0; half < 2; ++half) {
        std::array<int16_t, kFrame> back = echo_path.front();
        echo_path.pop_front();
        std::vector<int16_t> heard;
        Tick(back, 0, &heard);
        std::array<int16_t, kFrame> echo{};
        for (size_t k = 0; k < kFrame && k < heard.size(); ++k) echo[k] = static_cast<int16_t>(heard[k] / 4);
        echo_path.push_back(echo);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto samples = DecodeAudio(peer_.Drain(), 0);
    EXPECT_TRUE(engine_->DeleteSession(1));
    // The last second, after convergence.
    return dsp::AnalyseTone(std::span<const int16_t>(samples).subspan(samples.size() - 8000, 8000))
        .total_level_dbm0;
  };
  const double without = echo_level(0);
  const double with = echo_level(64);
  EXPECT_GT(without, -35.0);  // the echo is there: ~-12 dB below a -11 dBm0 far end
  EXPECT_LT(with, without - 20.0) << "with " << with << " dBm0, without " << without << " dBm0";
}

TEST_F(MediaEngineTest, CallerIdFromTheExchangeIsDecodedOnAnIdleFxoLine) {
  // Rebuild with the last of the four ports an FXO port.
  engine_.reset();
  config_.mutable_tdm()->mutable_cards(0)->set_fxs_ports(3);
  config_.mutable_tdm()->mutable_cards(0)->set_fxo_ports(1);
  auto io = packetio::KernelSocketIo::Create({});
  auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
  ASSERT_TRUE(engine) << engine.error();
  engine_ = std::move(*engine);
  engine_->Poll();
  dsp::CallerIdInfo info;
  ASSERT_TRUE(info.number.Assign("5551234"));
  ASSERT_TRUE(info.name.Assign("EXCHANGE"));
  for (dsp::CallerIdStandard standard : {dsp::CallerIdStandard::kBell202, dsp::CallerIdStandard::kDtmf}) {
    dsp::CallerIdGenerator exchange;
    ASSERT_TRUE(exchange.Start(info, dsp::CallerIdFormat::kMdmf, standard));
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < 300; ++i) {
      exchange.Generate(frame);
      Tick(frame, 3);  // line 4
    }
  }
  // DTMF caller ID carries the number only.
  EXPECT_EQ(events_.caller_ids, (std::vector<std::string>{"4 5551234 EXCHANGE", "4 5551234 "}));
}

TEST_F(MediaEngineTest, BusyToneFromTheExchangeIsReportedOnAnFxoLineWithASession) {
  // Rebuild with the last two of the four ports FXO ports, UK tones.
  engine_.reset();
  config_.mutable_tdm()->mutable_cards(0)->set_fxs_ports(2);
  config_.mutable_tdm()->mutable_cards(0)->set_fxo_ports(2);
  config_.mutable_calls()->set_tone_country("UK");
  auto io = packetio::KernelSocketIo::Create({});
  auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
  ASSERT_TRUE(engine) << engine.error();
  engine_ = std::move(*engine);
  engine_->Poll();
  const dsp::CallProgressToneSpec busy =
      dsp::GetCallProgressTone(dsp::Country::kUk, dsp::CallProgressTone::kBusy);
  auto play_busy = [&](uint32_t channel, int frames) {
    dsp::CadencedToneGenerator exchange(busy.tone, busy.cadence);
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < frames; ++i) {
      exchange.Generate(frame);
      Tick(frame, channel);
    }
  };
  // Without a session (an idle exchange line) and on an FXS line nothing is reported.
  play_busy(3, 400);
  ASSERT_TRUE(engine_->CreateSession(Params(1)));
  play_busy(0, 400);
  EXPECT_TRUE(events_.busy_tones.empty());
  // Line 4 in a call: reported once, after three on periods (2 x 750 ms + 375 ms).
  ASSERT_TRUE(engine_->CreateSession(Params(4)));
  play_busy(3, 150);
  EXPECT_TRUE(events_.busy_tones.empty());
  play_busy(3, 400);
  EXPECT_EQ(events_.busy_tones, (std::vector<std::string>{"4 busy"}));
  // The next call on the line listens afresh.
  ASSERT_TRUE(engine_->DeleteSession(4));
  ASSERT_TRUE(engine_->CreateSession(Params(4)));
  play_busy(3, 400);
  EXPECT_EQ(events_.busy_tones, (std::vector<std::string>{"4 busy", "4 busy"}));
}

TEST_F(MediaEngineTest, RefusesBadRequestsWithReasons) {
  auto outside = engine_->CreateSession(Params(9));
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().find("not in this shard"), std::string::npos) << outside.error();
  auto params = Params(1);
  params.set_ptime_ms(25);
  auto bad_ptime = engine_->CreateSession(params);
  ASSERT_FALSE(bad_ptime);
  EXPECT_NE(bad_ptime.error().find("ptime"), std::string::npos);
  params = Params(1);
  params.set_remote_address("example.com");
  EXPECT_FALSE(engine_->CreateSession(params));
  ASSERT_TRUE(engine_->CreateSession(Params(1)));
  auto twice = engine_->CreateSession(Params(1));
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().find("already has a session"), std::string::npos);
  EXPECT_FALSE(engine_->DeleteSession(2));
}

TEST_F(MediaEngineTest, ARestartedSessionGetsTheSamePortBack) {
  auto created = engine_->CreateSession(Params(1));
  ASSERT_TRUE(created);
  const uint32_t port = created->local_port();
  ASSERT_TRUE(engine_->DeleteSession(1));
  auto params = Params(1);
  params.set_local_port(port);
  auto again = engine_->CreateSession(params);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->local_port(), port);
  // The statistics carry the request with its port: what control needs to create the
  // session again (after its own restart it learns them back from there).
  v1::ListSessionsReply list;
  engine_->ListSessions(list);
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).params().local_port(), port);
  EXPECT_EQ(list.sessions(0).params().remote_port(), peer_.port());
}

TEST_F(MediaEngineTest, ReportsRtpTimeoutOnce) {
  auto params = Params(1);
  params.set_rtp_timeout_ms(200);
  ASSERT_TRUE(engine_->CreateSession(params));
  for (int i = 0; i < 50; ++i) Tick({}, 0);
  EXPECT_EQ(events_.timeouts, std::vector<uint32_t>{1});
}

// ---- Two legs per line ------------------------------------------------------------------

// A far end that streams a tone as PCMU, 20 ms a packet, to one leg's port.
class TonePeer {
 public:
  TonePeer(float hz, float dbm0, uint32_t ssrc) : tone_(dsp::ToneSpec::Single(hz, dbm0)), ssrc_(ssrc) {}
  Peer& socket() { return socket_; }
  void SendPacket(uint16_t to_port) {
    std::array<int16_t, 160> pcm;
    std::array<uint8_t, 12 + 160> packet;
    tone_.Generate(pcm);
    rtp::RtpHeaderFields fields;
    fields.payload_type = 0;
    fields.sequence = sequence_;
    fields.timestamp = static_cast<uint32_t>(sequence_) * 160;
    fields.ssrc = ssrc_;
    fields.marker = sequence_ == 0;
    ++sequence_;
    rtp::WriteRtpHeader(fields, packet);
    dsp::EncodeUlaw(pcm, std::span<uint8_t>(packet.data() + 12, 160));
    socket_.SendTo(to_port, packet);
  }

 private:
  Peer socket_;
  dsp::ToneGenerator tone_;
  uint32_t ssrc_;
  uint16_t sequence_ = 0;
};

class MediaEngineLegsTest : public MediaEngineTest {
 protected:
  static constexpr float kLineHz = 1004.0f;
  static constexpr float kAHz = 697.0f;
  static constexpr float kBHz = 1477.0f;

  v1::SessionParams LegParams(uint32_t leg, TonePeer& peer, bool conference = false) {
    v1::SessionParams params = Params(1);
    params.set_leg(leg);
    params.set_remote_port(peer.socket().port());
    params.set_conference(conference);
    return params;
  }
  // `seconds` of the line (line 1) sending its tone while both peers stream theirs;
  // returns what the line heard.
  std::vector<int16_t> Run(int packets, uint16_t port_a, uint16_t port_b) {
    std::vector<int16_t> heard;
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < packets; ++i) {
      if (port_a != 0) a_.SendPacket(port_a);
      if (port_b != 0) b_.SendPacket(port_b);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (int half = 0; half < 2; ++half) {
        line_tone_.Generate(frame);
        Tick(frame, 0, &heard);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return heard;
  }
  // The last 0.5 s of a signal.
  static std::span<const int16_t> Tail(const std::vector<int16_t>& samples) {
    EXPECT_GE(samples.size(), 4000u);
    return std::span<const int16_t>(samples).subspan(samples.size() - std::min<size_t>(samples.size(), 4000));
  }

  TonePeer a_{kAHz, -12.0f, 0xa};
  TonePeer b_{kBHz, -12.0f, 0xb};
  dsp::ToneGenerator line_tone_{dsp::ToneSpec::Single(kLineHz, -10.0f)};
};

TEST_F(MediaEngineLegsTest, TheLineHearsBothLegsAndBothPeersHearTheLine) {
  auto leg_a = engine_->CreateSession(LegParams(0, a_));
  ASSERT_TRUE(leg_a) << leg_a.error();
  auto leg_b = engine_->CreateSession(LegParams(1, b_));
  ASSERT_TRUE(leg_b) << leg_b.error();
  EXPECT_NE(leg_a->local_port(), leg_b->local_port());
  EXPECT_EQ(engine_->session_count(), 2u);
  const auto heard =
      Run(60, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kAHz), -12.0, 1.0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kBHz), -12.0, 1.0);
  for (TonePeer* peer : {&a_, &b_}) {
    const auto sent = DecodeAudio(peer->socket().Drain(), 0);
    EXPECT_NEAR(dsp::MeasureToneLevel(Tail(sent), kLineHz), -10.0, 1.0);
    // Without a conference neither hears the other.
    EXPECT_LT(dsp::MeasureToneLevel(Tail(sent), kAHz), -40.0);
    EXPECT_LT(dsp::MeasureToneLevel(Tail(sent), kBHz), -40.0);
  }
  v1::ListSessionsReply list;
  engine_->ListSessions(list);
  ASSERT_EQ(list.sessions_size(), 2);
  EXPECT_EQ(list.sessions(0).leg(), 0u);
  EXPECT_EQ(list.sessions(1).leg(), 1u);
  EXPECT_EQ(list.sessions(0).line(), 1u);
  EXPECT_EQ(list.sessions(1).line(), 1u);
}

TEST_F(MediaEngineLegsTest, ConferenceLegsSendEachOtherTheirPartyButNobodyHearsItself) {
  auto leg_a = engine_->CreateSession(LegParams(0, a_, true));
  ASSERT_TRUE(leg_a);
  auto leg_b = engine_->CreateSession(LegParams(1, b_, true));
  ASSERT_TRUE(leg_b);
  const auto heard =
      Run(60, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kAHz), -12.0, 1.0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kBHz), -12.0, 1.0);
  const auto to_a = DecodeAudio(a_.socket().Drain(), 0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_a), kLineHz), -10.0, 1.0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_a), kBHz), -12.0, 1.0);
  EXPECT_LT(dsp::MeasureToneLevel(Tail(to_a), kAHz), -40.0);
  const auto to_b = DecodeAudio(b_.socket().Drain(), 0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_b), kLineHz), -10.0, 1.0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_b), kAHz), -12.0, 1.0);
  EXPECT_LT(dsp::MeasureToneLevel(Tail(to_b), kBHz), -40.0);

  // Conference off on one leg (back to call waiting: B on hold): no more mixing.
  ASSERT_TRUE(engine_->ModifySession(LegParams(1, b_, false)));
  const auto later =
      Run(30, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  const auto to_a_later = DecodeAudio(a_.socket().Drain(), 0);
  EXPECT_LT(dsp::MeasureToneLevel(Tail(to_a_later), kBHz), -40.0);
}

TEST_F(MediaEngineLegsTest, ASendonlyLegIsNotHeardButStillSends) {
  auto leg_a = engine_->CreateSession(LegParams(0, a_));
  ASSERT_TRUE(leg_a);
  auto held = LegParams(1, b_);
  held.set_direction(v1::DIRECTION_SENDONLY);  // B on hold: the line's audio goes to it
  auto leg_b = engine_->CreateSession(held);
  ASSERT_TRUE(leg_b);
  const auto heard =
      Run(60, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kAHz), -12.0, 1.0);
  EXPECT_LT(dsp::MeasureToneLevel(Tail(heard), kBHz), -40.0);
  const auto to_b = DecodeAudio(b_.socket().Drain(), 0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_b), kLineHz), -10.0, 1.0);
}

TEST_F(MediaEngineLegsTest, DeletingOneLegKeepsTheOtherRunning) {
  auto leg_a = engine_->CreateSession(LegParams(0, a_));
  ASSERT_TRUE(leg_a);
  auto leg_b = engine_->CreateSession(LegParams(1, b_));
  ASSERT_TRUE(leg_b);
  Run(20, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  auto deleted = engine_->DeleteSession(1, 0, false);
  ASSERT_TRUE(deleted) << deleted.error();
  ASSERT_EQ(deleted->final_stats_size(), 1);
  EXPECT_EQ(deleted->final_stats(0).leg(), 0u);
  EXPECT_EQ(engine_->session_count(), 1u);
  a_.socket().Drain();
  b_.socket().Drain();
  // Leg 1 alone: the line hears B, B hears the line; A's packets go nowhere.
  const auto heard =
      Run(40, static_cast<uint16_t>(leg_a->local_port()), static_cast<uint16_t>(leg_b->local_port()));
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(heard), kBHz), -12.0, 1.0);
  EXPECT_LT(dsp::MeasureToneLevel(Tail(heard), kAHz), -40.0);
  const auto to_b = DecodeAudio(b_.socket().Drain(), 0);
  EXPECT_NEAR(dsp::MeasureToneLevel(Tail(to_b), kLineHz), -10.0, 1.0);
  EXPECT_TRUE(DecodeAudio(a_.socket().Drain(), 0).empty());
  // A leg can be created again; all_legs removes both.
  ASSERT_TRUE(engine_->CreateSession(LegParams(0, a_)));
  EXPECT_FALSE(engine_->CreateSession(LegParams(1, b_))) << "leg 1 exists";
  auto leg2 = LegParams(2, b_);
  EXPECT_FALSE(engine_->CreateSession(leg2)) << "only legs 0 and 1";
  auto all = engine_->DeleteSession(1, 0, true);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->final_stats_size(), 2);
  EXPECT_EQ(engine_->session_count(), 0u);
  EXPECT_FALSE(engine_->DeleteSession(1, 1, false));
}

TEST_F(MediaEngineLegsTest, TwoLegsReportALineDigitOnce) {
  auto leg_a = engine_->CreateSession(LegParams(0, a_));
  ASSERT_TRUE(leg_a);
  auto leg_b = engine_->CreateSession(LegParams(1, b_));
  ASSERT_TRUE(leg_b);
  dsp::DtmfGenerator keypad(dsp::DtmfGeneratorConfig{.on_ms = 100, .off_ms = 100});
  ASSERT_TRUE(keypad.Queue("7"));
  std::array<int16_t, kFrame> frame;
  for (int i = 0; i < 30; ++i) {
    keypad.Generate(frame);
    Tick(frame, 0);
  }
  ASSERT_EQ(events_.dtmf.size(), 1u);
  EXPECT_EQ(events_.dtmf[0].digit, '7');
  EXPECT_FALSE(events_.dtmf[0].from_rtp);
}

// ---- Digits sent to a line (dialling the exchange) ------------------------------------

std::string DetectDigits(std::span<const int16_t> audio) {
  dsp::DtmfDetector detector;
  std::array<dsp::DtmfEvent, 8> found;
  std::string digits;
  for (size_t at = 0; at + kFrame <= audio.size(); at += kFrame) {
    const size_t n = detector.Process(audio.subspan(at, kFrame), found);
    for (size_t i = 0; i < n; ++i) {
      if (found[i].type == dsp::DtmfEventType::kStart) digits += found[i].digit;
    }
  }
  return digits;
}

TEST_F(MediaEngineTest, SendDigitsPlaysThemOverTheToneThenReports) {
  v1::PlayToneRequest tone;
  tone.set_line(2);
  tone.set_tone(v1::TONE_KIND_DIAL);
  ASSERT_TRUE(engine_->PlayTone(tone));
  std::vector<int16_t> heard;
  for (int i = 0; i < 10; ++i) Tick({}, 1, &heard);
  EXPECT_GT(dsp::MeasureLevel(heard), -30.0) << "dial tone before the digits";
  heard.clear();
  v1::SendDigitsRequest request;
  request.set_line(2);
  request.set_digits("5,0#");
  ASSERT_TRUE(engine_->SendDigits(request));
  // 3 digits of 160 ms and a 500 ms pause: 980 ms, 98 frames.
  for (int i = 0; i < 97; ++i) Tick({}, 1, &heard);
  EXPECT_TRUE(events_.digits_sent.empty());
  for (int i = 0; i < 20; ++i) Tick({}, 1, &heard);
  EXPECT_EQ(DetectDigits(heard), "50#");
  ASSERT_EQ(events_.digits_sent.size(), 1u);
  EXPECT_EQ(events_.digits_sent[0], 2u);
  // The dial tone does not come back after the digits.
  EXPECT_EQ(dsp::MeasureLevel(std::span<const int16_t>(heard).last(10 * kFrame)), dsp::kSilenceDbm0);
}

TEST_F(MediaEngineTest, SendDigitsReplacesASessionsAudio) {
  ASSERT_TRUE(engine_->CreateSession(Params(1)));
  v1::SendDigitsRequest request;
  request.set_line(1);
  request.set_digits("8123");
  request.set_on_ms(60);
  request.set_off_ms(60);
  ASSERT_TRUE(engine_->SendDigits(request));
  std::vector<int16_t> heard;
  for (int i = 0; i < 60; ++i) Tick({}, 0, &heard);
  EXPECT_EQ(DetectDigits(heard), "8123");
  EXPECT_EQ(events_.digits_sent.size(), 1u);
}

TEST_F(MediaEngineTest, SendDigitsRefusesBadDigits) {
  v1::SendDigitsRequest request;
  request.set_line(1);
  request.set_digits("12x");
  EXPECT_FALSE(engine_->SendDigits(request));
  request.set_digits("");
  EXPECT_FALSE(engine_->SendDigits(request));
  request.set_digits(std::string(65, '1'));
  EXPECT_FALSE(engine_->SendDigits(request));
  request.set_digits("1");
  request.set_line(9);
  EXPECT_FALSE(engine_->SendDigits(request)) << "not in this shard";
  std::vector<int16_t> heard;
  for (int i = 0; i < 10; ++i) Tick({}, 0, &heard);
  EXPECT_TRUE(events_.digits_sent.empty());
}

// ---- Digits dialled on a line without a session ----------------------------------------

TEST_F(MediaEngineTest, DigitDetectionReportsDialledDigitsUntilDisabled) {
  auto dial = [&](const char* digits, int frames) {
    dsp::DtmfGenerator keypad(dsp::DtmfGeneratorConfig{.on_ms = 80, .off_ms = 80});
    ASSERT_TRUE(keypad.Queue(digits));
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < frames; ++i) {
      keypad.Generate(frame);
      Tick(frame, 1);  // line 2
    }
  };
  dial("1", 20);
  EXPECT_TRUE(events_.dtmf.empty()) << "off by default";
  ASSERT_TRUE(engine_->SetDigitDetection(2, true));
  dial("2580*#", 110);
  std::string digits;
  for (const auto& event : events_.dtmf) {
    EXPECT_EQ(event.line, 2u);
    EXPECT_FALSE(event.from_rtp);
    EXPECT_NEAR(event.duration_ms, 80, 20) << event.digit;
    digits += event.digit;
  }
  EXPECT_EQ(digits, "2580*#");
  ASSERT_TRUE(engine_->SetDigitDetection(2, false));
  dial("9", 20);
  EXPECT_EQ(events_.dtmf.size(), 6u);
  EXPECT_FALSE(engine_->SetDigitDetection(9, true)) << "not in this shard";
}

TEST_F(MediaEngineTest, DigitDetectionStopsWhenASessionIsCreated) {
  ASSERT_TRUE(engine_->SetDigitDetection(1, true));
  ASSERT_TRUE(engine_->CreateSession(Params(1)));
  EXPECT_FALSE(engine_->SetDigitDetection(1, true)) << "the session reports the digits";
  ASSERT_TRUE(engine_->DeleteSession(1));
  dsp::DtmfGenerator keypad(dsp::DtmfGeneratorConfig{.on_ms = 80, .off_ms = 80});
  ASSERT_TRUE(keypad.Queue("3"));
  std::array<int16_t, kFrame> frame;
  for (int i = 0; i < 20; ++i) {
    keypad.Generate(frame);
    Tick(frame, 0);
  }
  EXPECT_TRUE(events_.dtmf.empty()) << "detection stays off after the session";
}

// ---- Type 2 caller ID ---------------------------------------------------------------------

// Off-hook (call waiting): the alert tone, then FSK with no channel seizure, which a
// simulated phone that is off-hook displays.
TEST_F(MediaEngineTest, Type2CallerIdIsDisplayedByAnOffHookPhone) {
  for (auto standard :
       {::linegate::tdm::v1::CALLER_ID_STANDARD_BELL202, ::linegate::tdm::v1::CALLER_ID_STANDARD_V23}) {
    v1::SendCallerIdRequest request;
    request.set_line(4);
    request.set_off_hook(true);
    request.mutable_caller_id()->set_number("5559876");
    request.mutable_caller_id()->set_name("WAITING");
    request.mutable_caller_id()->set_standard(standard);
    ASSERT_TRUE(engine_->SendCallerId(request).ok());
    std::vector<int16_t> heard;
    for (int i = 0; i < 60; ++i) Tick({}, 3, &heard);
    // The CPE alerting signal: 2130 + 2750 Hz for 80 ms, then the data.
    const std::span<const int16_t> alert = std::span<const int16_t>(heard).subspan(0, 640);
    EXPECT_NEAR(dsp::MeasureToneLevel(alert, 2130.0), -18.0, 1.0);
    EXPECT_NEAR(dsp::MeasureToneLevel(alert, 2750.0), -18.0, 1.0);
    // Over: what is left at 2750 Hz is the FSK's spectrum (the space tone is 2100/2200 Hz).
    EXPECT_LT(dsp::MeasureToneLevel(std::span<const int16_t>(heard).subspan(640, 640), 2750.0), -30.0);

    ManualClock phone_clock;
    tdm::sim::SimPhone phone(phone_clock);
    ASSERT_TRUE(phone.OffHook().ok());
    std::array<int16_t, kFrame> from_phone;
    for (size_t at = 0; at + kFrame <= heard.size(); at += kFrame) {
      phone.Tick(std::span<const int16_t>(heard).subspan(at, kFrame), from_phone);
      phone_clock.Advance(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(phone.caller_id().has_value()) << phone.Describe();
    EXPECT_TRUE(phone.caller_id()->off_hook);
    EXPECT_EQ(phone.caller_id()->result.info.number.view(), "5559876");
    EXPECT_EQ(phone.caller_id()->result.info.name.view(), "WAITING");
    EXPECT_EQ(phone.caller_id()->result.standard, standard == ::linegate::tdm::v1::CALLER_ID_STANDARD_V23
                                                      ? dsp::CallerIdStandard::kV23
                                                      : dsp::CallerIdStandard::kBell202);
    EXPECT_NE(phone.Describe().find("caller-id (call waiting): number=5559876"), std::string::npos)
        << phone.Describe();
  }
  v1::SendCallerIdRequest dtmf;
  dtmf.set_line(4);
  dtmf.set_off_hook(true);
  dtmf.mutable_caller_id()->set_number("5559876");
  dtmf.mutable_caller_id()->set_standard(::linegate::tdm::v1::CALLER_ID_STANDARD_DTMF);
  EXPECT_FALSE(engine_->SendCallerId(dtmf).ok());
}

// A real phone (not the sim driver) must acknowledge the alert with DTMF A or D within
// 160 ms; without it the data is not sent.
TEST_F(MediaEngineTest, Type2CallerIdWaitsForTheAcknowledgementOfARealPhone) {
  engine_.reset();
  config_.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_DAHDI);
  auto io = packetio::KernelSocketIo::Create({});
  auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
  ASSERT_TRUE(engine) << engine.error();
  engine_ = std::move(*engine);
  engine_->Poll();
  v1::SendCallerIdRequest request;
  request.set_line(4);
  request.set_off_hook(true);
  request.mutable_caller_id()->set_number("5550000");
  for (const bool acknowledge : {false, true}) {
    ASSERT_TRUE(engine_->SendCallerId(request).ok());
    dsp::DtmfGenerator phone(dsp::DtmfGeneratorConfig{.on_ms = 60, .off_ms = 60});
    std::vector<int16_t> heard;
    std::array<int16_t, kFrame> frame;
    for (int i = 0; i < 60; ++i) {
      // The phone hears the alert (80 ms) and answers 20 ms later.
      if (acknowledge && i == 10) {
        ASSERT_TRUE(phone.Queue("A"));
      }
      phone.Generate(frame);
      Tick(frame, 3, &heard);
    }
    dsp::CallerIdReceiver receiver;
    bool decoded = false;
    for (size_t at = 0; at + kFrame <= heard.size() && !decoded; at += kFrame) {
      decoded = receiver.Process(std::span<const int16_t>(heard).subspan(at, kFrame));
    }
    EXPECT_EQ(decoded, acknowledge);
    if (acknowledge) {
      EXPECT_EQ(receiver.result().info.number.view(), "5550000");
    } else {
      // The engine was rebuilt on the same rings: its lead frames come first, so the
      // alert starts a little later in what the line heard.
      const auto alert = std::find_if(heard.begin(), heard.end(), [](int16_t s) { return s != 0; });
      ASSERT_NE(alert, heard.end());
      const size_t after_alert = static_cast<size_t>(alert - heard.begin()) + 640 + 80;
      ASSERT_LT(after_alert, heard.size());
      EXPECT_LT(dsp::MeasureLevel(std::span<const int16_t>(heard).subspan(after_alert)), -60.0);
    }
  }
}

// During type 2 the line's audio does not reach the call: the phone's acknowledgement is
// neither a DtmfDetected event nor a telephone-event nor audio at the far end.
TEST_F(MediaEngineTest, Type2AcknowledgementDoesNotReachTheCall) {
  engine_.reset();
  config_.mutable_tdm()->set_driver(config::v1::TDM_DRIVER_DAHDI);
  auto io = packetio::KernelSocketIo::Create({});
  auto engine = MediaEngine::Create(config_, 0, std::move(*io), events_, clock_);
  ASSERT_TRUE(engine) << engine.error();
  engine_ = std::move(*engine);
  engine_->Poll();
  ASSERT_TRUE(engine_->CreateSession(Params(4)));
  v1::SendCallerIdRequest request;
  request.set_line(4);
  request.set_off_hook(true);
  request.mutable_caller_id()->set_number("5550000");
  ASSERT_TRUE(engine_->SendCallerId(request).ok());
  dsp::DtmfGenerator phone(dsp::DtmfGeneratorConfig{.on_ms = 60, .off_ms = 60});
  std::array<int16_t, kFrame> frame;
  for (int i = 0; i < 60; ++i) {
    if (i == 10) {
      ASSERT_TRUE(phone.Queue("A"));
    }
    phone.Generate(frame);
    Tick(frame, 3);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(events_.dtmf.empty());
  const auto packets = peer_.Drain();
  for (const auto& packet : packets) {
    rtp::RtpHeaderView view;
    if (rtp::ParseRtpHeader(packet, view) != rtp::RtpParseStatus::kOk) continue;
    EXPECT_NE(view.payload_type, 101) << "a telephone-event left";
  }
  EXPECT_LT(dsp::MeasureLevel(DecodeAudio(packets, 0)), -60.0);
  // Afterwards the line's digits reach the call again.
  ASSERT_TRUE(phone.Queue("5"));
  for (int i = 0; i < 20; ++i) {
    phone.Generate(frame);
    Tick(frame, 3);
  }
  ASSERT_EQ(events_.dtmf.size(), 1u);
  EXPECT_EQ(events_.dtmf[0].digit, '5');
}

}  // namespace
}  // namespace linegate::media::engine
