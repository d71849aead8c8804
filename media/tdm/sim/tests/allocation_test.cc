// The per-frame path allocates nothing: every kind of line busy at once (playing,
// recording, dialling, ringing and receiving caller ID, an exchange line ringing and
// sending caller ID, detecting DTMF, giving tones),
// ticked over the real TDM bus while operator new is counted.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "media/dsp/caller_id.h"
#include "media/dsp/g711.h"
#include "media/tdm/sim/sim_card.h"
#include "media/tdm/sim/tdmbus_card_audio.h"
#include "media/tdm/sim/tests/test_util.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// The counting operator new and its deletes are the allocator here, so they pair
// malloc with free; GCC 12 at -O3 takes the inlined pairs for a new/free mismatch
// (as in signaling/sip/tests/sip_allocation_test.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace linegate::media::tdm::sim {
namespace {

TEST(AllocationTest, TicksDoNotAllocate) {
  const std::string name = fmt::format("/lgtest.{}.sim-alloc", ::getpid());
  Result<tdmbus::CardRegion> region =
      tdmbus::CardRegion::Create(name, {4, 80, 8, tdmbus::SampleFormat::kMulaw});
  ASSERT_TRUE(region.ok()) << region.error();
  Result<TdmBusCardAudio> bus = TdmBusCardAudio::Create(*region, 4, 80);
  ASSERT_TRUE(bus.ok());
  Result<tdmbus::ShardView> media = tdmbus::ShardView::Attach(name, 0, 4);
  ASSERT_TRUE(media.ok());
  std::vector<tdmbus::FrameWriter> to_line;
  std::vector<tdmbus::FrameReader> from_line;
  for (uint32_t ch = 0; ch < 4; ++ch) {
    to_line.push_back(std::move(media->ToLineWriter(ch)).value());
    from_line.push_back(std::move(media->FromLineReader(ch)).value());
  }

  ManualClock clock;
  Result<std::unique_ptr<SimCard>> created = SimCard::Create(clock, {.phones = 2, .exchange_lines = 2});
  ASSERT_TRUE(created.ok());
  SimCard& card = **created;
  testing::FileCleanup recording(testing::TempPath("alloc.wav"));
  SimPhone& talker = *card.phone(0);
  ASSERT_TRUE(talker.OffHook().ok());
  EXPECT_FALSE(talker.PlayWavFile("/nonexistent").ok());
  talker.PlayWav(std::vector<int16_t>(4000, 1234), "memory");
  ASSERT_TRUE(talker.StartRecording(recording.path(), 10000).ok());
  ASSERT_TRUE(talker.DialDtmf("0123456789").ok());
  ASSERT_EQ(card.phone(1)->Apply(LineCommand::RingStart(kUsRingCadence)), CommandResult::kOk);
  ASSERT_EQ(card.exchange_line(2)->Apply(LineCommand::Seize()), CommandResult::kOk);  // dial tone, digits
  dsp::CallerIdInfo caller;
  ASSERT_TRUE(caller.number.Assign("5551234"));
  ASSERT_TRUE(caller.name.Assign("LINEGATE"));
  ASSERT_TRUE(card.exchange_line(3)
                  ->Ring(std::nullopt, ExchangeCallerId{caller, dsp::CallerIdStandard::kBell202})
                  .ok());

  // The media side connects the talking phone (channel 0) to the exchange line that
  // collects digits (channel 2), one frame later; the ringing phone (channel 1) gets a
  // caller ID in the silence after its first ring; the others get mu-law silence. The
  // ringing exchange line (channel 3) sends its caller ID in the silence after its first
  // ring, which the media side decodes.
  const std::vector<std::byte> silence(80, std::byte{0xFF});
  std::vector<std::vector<std::byte>> last(4, silence);
  dsp::CallerIdGenerator cid;
  ASSERT_TRUE(cid.Start(caller, dsp::CallerIdFormat::kMdmf, dsp::CallerIdStandard::kBell202));
  std::array<int16_t, 80> cid_linear{};
  std::array<uint8_t, 80> cid_ulaw{};
  std::vector<std::byte> cid_frame(80);
  dsp::CallerIdReceiver gateway_cid;
  std::array<int16_t, 80> from_exchange{};
  bool gateway_got_cid = false;
  g_allocations = 0;
  g_counting = true;
  for (int tick = 0; tick < 500; ++tick) {
    if (tick >= 250) {
      cid.Generate(cid_linear);
      dsp::EncodeUlaw(cid_linear, cid_ulaw);
      std::memcpy(cid_frame.data(), cid_ulaw.data(), cid_frame.size());
    }
    for (uint32_t ch = 0; ch < 4; ++ch) {
      (void)to_line[ch].Write(ch == 2 ? last[0] : ch == 1 && tick >= 250 ? cid_frame : silence);
    }
    card.Tick(*bus, *bus);
    for (uint32_t ch = 0; ch < 4; ++ch) (void)from_line[ch].Read(last[ch]);
    for (size_t i = 0; i < from_exchange.size(); ++i) {
      from_exchange[i] = dsp::DecodeUlaw(static_cast<uint8_t>(last[3][i]));
    }
    if (gateway_cid.Process(from_exchange) && gateway_cid.result().accepted()) gateway_got_cid = true;
    clock.Advance(testing::FrameDuration(80));
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
  // The counter works: a control-plane call that allocates is seen.
  g_counting = true;
  const std::string status = card.Execute(0, "status");
  g_counting = false;
  EXPECT_GT(g_allocations.load(), 0u);
  // The paths under test ran: digits were collected, the phone rang.
  EXPECT_EQ(card.exchange_line(2)->dialled_number(), "0123456789");
  EXPECT_EQ(card.phone(1)->ringer().rings(), 1u);
  ASSERT_TRUE(card.phone(1)->caller_id());
  EXPECT_EQ(card.phone(1)->caller_id()->result.info.name.view(), "LINEGATE");
  ASSERT_TRUE(card.exchange_line(3)->caller_id());
  EXPECT_EQ(card.exchange_line(3)->caller_id()->state, CallerIdTransmission::State::kSent);
  EXPECT_TRUE(gateway_got_cid);
  EXPECT_EQ(gateway_cid.result().info.name.view(), "LINEGATE");
  ASSERT_TRUE(talker.StopRecording().ok());
  ASSERT_TRUE(region->Unlink().ok());
}

}  // namespace
}  // namespace linegate::media::tdm::sim
