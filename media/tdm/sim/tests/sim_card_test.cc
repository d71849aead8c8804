// SimCard: configuration, channel numbering, a WAV round trip through an exchange line
// in loopback, and ticks over the real shared-memory TDM bus.

#include "media/tdm/sim/sim_card.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "media/dsp/g711.h"
#include "media/dsp/levels.h"
#include "media/dsp/tone_analyser.h"
#include "media/tdm/sim/tdmbus_card_audio.h"
#include "media/tdm/sim/tests/fake_card_audio.h"
#include "media/tdm/sim/tests/test_util.h"
#include "media/tdmbus/region.h"

namespace linegate::media::tdm::sim {
namespace {

using testing::FakeCardAudio;
using testing::FileCleanup;
using testing::FrameDuration;
using testing::TempPath;

std::unique_ptr<SimCard> MustCreate(const Clock& clock, const SimCardConfig& config) {
  Result<std::unique_ptr<SimCard>> card = SimCard::Create(clock, config);
  EXPECT_TRUE(card.ok()) << card.error();
  return card.ok() ? std::move(card).value() : nullptr;
}

TEST(SimCardTest, CreateValidatesTheConfiguration) {
  ManualClock clock;
  const auto error = [&](const SimCardConfig& c) {
    Result<std::unique_ptr<SimCard>> r = SimCard::Create(clock, c);
    return r.ok() ? std::string("(accepted)") : r.error();
  };
  EXPECT_NE(error({}).find("need 1..8192 channels"), std::string::npos);
  EXPECT_NE(error({.phones = 1, .frame_samples = 7}).find("frame_samples 7 out of range"), std::string::npos);
  EXPECT_NE(error({.phones = 1, .frame_samples = 81}).find("frame_samples 81"), std::string::npos);
  EXPECT_NE(error({.phones = 1, .phone = {.flash_ms = 50}}).find("flash_ms 50"), std::string::npos);
  EXPECT_NE(error({.exchange_lines = 1, .exchange_line = {.max_digits = 0}}).find("max_digits"),
            std::string::npos);
  // A bad phone configuration does not matter on a card without phones.
  EXPECT_EQ(error({.exchange_lines = 1, .phone = {.flash_ms = 50}}), "(accepted)");
}

TEST(SimCardTest, PhonesComeFirstThenExchangeLines) {
  ManualClock clock;
  auto card = MustCreate(clock, {.phones = 2, .exchange_lines = 3});
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(card->channel_count(), 5u);
  EXPECT_NE(card->phone(0), nullptr);
  EXPECT_NE(card->phone(1), nullptr);
  EXPECT_EQ(card->phone(2), nullptr);
  EXPECT_EQ(card->exchange_line(1), nullptr);
  EXPECT_NE(card->exchange_line(2), nullptr);
  EXPECT_NE(card->exchange_line(4), nullptr);
  EXPECT_EQ(card->exchange_line(5), nullptr);
  EXPECT_EQ(&card->line(2), card->exchange_line(2));
  EXPECT_EQ(card->Execute(5, "status"), "error: channel 5 does not exist (card has 5)");
}

TEST(SimCardTest, TickCountsUnderrunsAndEndsTheTickWithTheClock) {
  ManualClock clock;
  auto card = MustCreate(clock, {.phones = 1, .frame_samples = 40});
  FakeCardAudio audio(1, 40);
  ASSERT_TRUE(card->phone(0)->OffHook().ok());
  audio.to_line[0].assign(40, 1000);
  audio.to_line_present[0] = false;
  card->Tick(audio, audio);
  EXPECT_EQ(card->underruns(), 1u);
  EXPECT_EQ(audio.ticks, 1u);
  EXPECT_EQ(audio.last_tick, clock.Now());
  EXPECT_EQ(card->phone(0)->Listen(5)->tone.total_level_dbm0, dsp::kSilenceDbm0);
  audio.to_line_present[0] = true;
  clock.Advance(FrameDuration(40));
  card->Tick(audio, audio);
  EXPECT_EQ(card->underruns(), 1u);
  EXPECT_EQ(card->ticks(), 2u);
  // A constant 1000 is 20 log10(1000 / 16141.3) = -24.16 dBm0.
  EXPECT_NEAR(card->phone(0)->Listen(5)->tone.total_level_dbm0, -24.16, 0.01);
}

// A phone plays a WAV file into the gateway, which connects it to an exchange line in
// loopback; what comes back is recorded by the phone and must be the file, bit for bit,
// two frames later (one frame each way through the gateway).
TEST(SimCardTest, WavPlayRecordRoundTripThroughLoopbackIsBitExact) {
  constexpr uint32_t kFrame = 40;  // 5 ms
  ManualClock clock;
  auto card = MustCreate(
      clock, {.phones = 1, .exchange_lines = 1, .frame_samples = kFrame, .phone = {.record_buffer_ms = 250}});
  ASSERT_NE(card, nullptr);
  SimPhone& phone = *card->phone(0);
  SimExchangeLine& exchange = *card->exchange_line(1);

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> any(-32768, 32767);
  std::vector<int16_t> samples(12345);
  for (int16_t& s : samples) s = static_cast<int16_t>(any(rng));
  samples[0] = -32768;
  samples[1] = 32767;
  FileCleanup source(TempPath("source.wav"));
  FileCleanup recording(TempPath("recording.wav"));
  {
    Result<WavFileWriter> w = WavFileWriter::Create(source.path());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Append(samples).ok());
    ASSERT_TRUE(w->Finish().ok());
  }

  ASSERT_TRUE(exchange.Ring().ok());
  ASSERT_EQ(exchange.Apply(LineCommand::Seize()), CommandResult::kOk);  // the gateway answers
  exchange.SetLoopback(true);
  ASSERT_TRUE(phone.OffHook().ok());
  EXPECT_EQ(card->Execute(0, "play " + source.path()), "ok: playing " + source.path());
  EXPECT_EQ(card->Execute(0, "record " + recording.path() + " 2"),
            "ok: recording to " + recording.path() + " for up to 2 s");

  FakeCardAudio audio(2, kFrame);
  const uint64_t ticks = 2000 / 5 + 10;  // the recording's 2 s, and a little more
  for (uint64_t i = 0; i < ticks; ++i) {
    // The gateway connects the phone's channel and the exchange line's channel.
    audio.to_line[1] = audio.from_line[0];
    audio.to_line[0] = audio.from_line[1];
    card->Tick(audio, audio);
    clock.Advance(FrameDuration(kFrame));
    if (i % 20 == 0) {
      ASSERT_TRUE(card->Flush().ok());
    }
  }
  ASSERT_TRUE(card->Flush().ok());
  EXPECT_EQ(phone.recorder().state(), AudioRecorder::State::kIdle);
  EXPECT_EQ(phone.recorder().samples_dropped(), 0u);

  Result<std::vector<int16_t>> recorded = ReadWavFile(recording.path());
  ASSERT_TRUE(recorded.ok()) << recorded.error();
  ASSERT_EQ(recorded->size(), 16000u);
  const size_t delay = 2 * kFrame;
  for (size_t i = 0; i < delay; ++i) ASSERT_EQ((*recorded)[i], 0) << i;
  for (size_t i = 0; i < samples.size(); ++i) ASSERT_EQ((*recorded)[delay + i], samples[i]) << i;
  for (size_t i = delay + samples.size(); i < recorded->size(); ++i) ASSERT_EQ((*recorded)[i], 0) << i;
}

// ---- Over the real TDM bus ---------------------------------------------------------

std::string UniqueRegionName() {
  static int counter = 0;
  return fmt::format("/lgtest.{}.sim.{}", ::getpid(), counter++);
}

class NameCleanup {
 public:
  explicit NameCleanup(std::string name) : name_(std::move(name)) {}
  ~NameCleanup() { ::shm_unlink(name_.c_str()); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

double PhoneToneHz(uint32_t channel) { return 400.0 + 200.0 * channel; }
double GatewayToneHz(uint32_t channel) { return 3000.0 - 250.0 * channel; }

void DecodeFrame(tdmbus::SampleFormat format, std::span<const std::byte> bytes, std::span<int16_t> out) {
  const auto* codes = reinterpret_cast<const uint8_t*>(bytes.data());
  switch (format) {
    case tdmbus::SampleFormat::kMulaw:
      dsp::DecodeUlaw(std::span<const uint8_t>(codes, out.size()), out);
      return;
    case tdmbus::SampleFormat::kAlaw:
      dsp::DecodeAlaw(std::span<const uint8_t>(codes, out.size()), out);
      return;
    default:
      std::memcpy(out.data(), bytes.data(), out.size_bytes());
  }
}

void EncodeFrame(tdmbus::SampleFormat format, std::span<const int16_t> in, std::span<std::byte> bytes) {
  auto* codes = reinterpret_cast<uint8_t*>(bytes.data());
  switch (format) {
    case tdmbus::SampleFormat::kMulaw:
      dsp::EncodeUlaw(in, std::span<uint8_t>(codes, in.size()));
      return;
    case tdmbus::SampleFormat::kAlaw:
      dsp::EncodeAlaw(in, std::span<uint8_t>(codes, in.size()));
      return;
    default:
      std::memcpy(bytes.data(), in.data(), in.size_bytes());
  }
}

class SimCardTdmBusTest : public ::testing::TestWithParam<tdmbus::SampleFormat> {};

// Eight phones on a card whose frames flow over a real shared-memory region: a media
// side attached to it sends each phone a tone and receives each phone's own tone.
TEST_P(SimCardTdmBusTest, EightPhonesExchangeFramesBothWaysFor100Ticks) {
  constexpr uint32_t kChannels = 8;
  constexpr uint32_t kFrame = 80;
  constexpr uint64_t kTicks = 100;
  const tdmbus::SampleFormat format = GetParam();
  NameCleanup name(UniqueRegionName());
  Result<tdmbus::CardRegion> region = tdmbus::CardRegion::Create(name.name(), {kChannels, kFrame, 8, format});
  ASSERT_TRUE(region.ok()) << region.error();
  Result<TdmBusCardAudio> bus = TdmBusCardAudio::Create(*region, kChannels, kFrame);
  ASSERT_TRUE(bus.ok()) << bus.error();
  EXPECT_FALSE(TdmBusCardAudio::Create(*region, kChannels + 1, kFrame).ok());
  EXPECT_FALSE(TdmBusCardAudio::Create(*region, kChannels, 40).ok());
  Result<tdmbus::ShardView> media = tdmbus::ShardView::Attach(name.name(), 0, kChannels);
  ASSERT_TRUE(media.ok()) << media.error();

  ManualClock clock;
  auto card = MustCreate(clock, {.phones = kChannels, .frame_samples = kFrame});
  ASSERT_NE(card, nullptr);
  std::vector<tdmbus::FrameWriter> to_line;
  std::vector<tdmbus::FrameReader> from_line;
  std::vector<dsp::ToneGenerator> gateway_tones;
  std::vector<std::vector<int16_t>> received(kChannels);
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    ASSERT_TRUE(card->phone(ch)->OffHook().ok());
    ASSERT_TRUE(card->phone(ch)->PlayTone(PhoneToneHz(ch), -10).ok());
    to_line.push_back(std::move(media->ToLineWriter(ch)).value());
    from_line.push_back(std::move(media->FromLineReader(ch)).value());
    gateway_tones.emplace_back(dsp::ToneSpec::Single(static_cast<float>(GatewayToneHz(ch)), -15));
  }

  std::vector<std::byte> bytes(tdmbus::FrameBytes(region->geometry()));
  std::vector<int16_t> linear(kFrame);
  for (uint64_t tick = 0; tick < kTicks; ++tick) {
    for (uint32_t ch = 0; ch < kChannels; ++ch) {  // media: this tick's frames towards the lines
      gateway_tones[ch].Generate(linear);
      EncodeFrame(format, linear, bytes);
      ASSERT_TRUE(to_line[ch].Write(bytes));
    }
    card->Tick(*bus, *bus);  // tdm
    clock.Advance(FrameDuration(kFrame));
    EXPECT_EQ(media->frame_counter(), tick + 1);
    for (uint32_t ch = 0; ch < kChannels; ++ch) {  // media: what the lines sent
      const std::optional<uint64_t> sequence = from_line[ch].Read(bytes);
      ASSERT_TRUE(sequence.has_value()) << "channel " << ch << " tick " << tick;
      EXPECT_EQ(*sequence, tick);
      DecodeFrame(format, bytes, linear);
      received[ch].insert(received[ch].end(), linear.begin(), linear.end());
    }
  }
  EXPECT_EQ(card->underruns(), 0u);
  EXPECT_EQ(bus->underruns(), 0u);
  EXPECT_EQ(bus->frames_dropped(), 0u);
  EXPECT_EQ(media->last_tick_ns(),
            static_cast<uint64_t>((clock.Now() - FrameDuration(kFrame)).time_since_epoch().count()));
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    for (const tdmbus::Direction d : {tdmbus::Direction::kToLine, tdmbus::Direction::kFromLine}) {
      Result<tdmbus::RingStats> stats = region->Stats(ch, d);
      ASSERT_TRUE(stats.ok());
      EXPECT_EQ(stats->head, kTicks);
      EXPECT_EQ(stats->tail, kTicks);
      EXPECT_EQ(stats->frames_dropped, 0u);
      EXPECT_EQ(stats->frames_skipped, 0u);
    }
    // From the line: the phone's tone, on the right channel.
    ASSERT_EQ(received[ch].size(), kTicks * kFrame);
    const dsp::ToneAnalysis from_phone = dsp::AnalyseTone(received[ch]);
    EXPECT_NEAR(from_phone.frequency_hz, PhoneToneHz(ch), PhoneToneHz(ch) * 0.01) << ch;
    EXPECT_NEAR(from_phone.tone_level_dbm0, -10, 0.5) << ch;
    // To the line: the phone heard the gateway's tone for its channel.
    Result<ListenReport> heard = card->phone(ch)->Listen(1000);
    ASSERT_TRUE(heard.ok());
    EXPECT_NEAR(heard->tone.frequency_hz, GatewayToneHz(ch), GatewayToneHz(ch) * 0.01) << ch;
    EXPECT_NEAR(heard->tone.tone_level_dbm0, -15, 0.5) << ch;
  }
  if (format == tdmbus::SampleFormat::kLinear16) {
    // Linear frames cross the bus untouched: the phone's tone arrives sample for sample.
    std::vector<int16_t> expected(kTicks * kFrame);
    dsp::ToneGenerator(dsp::ToneSpec::Single(static_cast<float>(PhoneToneHz(3)), -10)).Generate(expected);
    EXPECT_EQ(received[3], expected);
  }
  ASSERT_TRUE(region->Unlink().ok());
}

INSTANTIATE_TEST_SUITE_P(Formats, SimCardTdmBusTest,
                         ::testing::Values(tdmbus::SampleFormat::kLinear16, tdmbus::SampleFormat::kMulaw,
                                           tdmbus::SampleFormat::kAlaw),
                         [](const ::testing::TestParamInfo<tdmbus::SampleFormat>& param) {
                           switch (param.param) {
                             case tdmbus::SampleFormat::kMulaw:
                               return std::string("Mulaw");
                             case tdmbus::SampleFormat::kAlaw:
                               return std::string("Alaw");
                             default:
                               return std::string("Linear16");
                           }
                         });

}  // namespace
}  // namespace linegate::media::tdm::sim
