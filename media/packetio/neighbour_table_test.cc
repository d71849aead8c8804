#include "media/packetio/neighbour_table.h"

#include <gtest/gtest.h>

namespace linegate::media::packetio {
namespace {

net::IpAddress Ip(uint8_t last) {
  const uint8_t octets[4] = {192, 0, 2, last};
  return net::IpAddress::V4(octets);
}

const net::MacAddress kMac = {0x02, 0, 0, 0, 0, 0x10};
const net::MacAddress kOtherMac = {0x02, 0, 0, 0, 0, 0x20};

NeighbourTiming Timing() {
  return NeighbourTiming{.lifetime_ms = 60'000, .refresh_ms = 15'000, .retry_ms = 1'000};
}

TEST(NeighbourTable, UnknownAddressIsRequestedAtMostOncePerRetryInterval) {
  NeighbourTable table(16, Timing());
  auto first = table.Resolve(Ip(5), 1000);
  EXPECT_EQ(first.mac, nullptr);
  EXPECT_TRUE(first.send_request);
  EXPECT_FALSE(table.Resolve(Ip(5), 1500).send_request);  // pending, rate-limited
  EXPECT_TRUE(table.Resolve(Ip(5), 2000).send_request);
  EXPECT_EQ(table.size(), 1u);
}

TEST(NeighbourTable, ReplyResolvesThenRefreshesThenExpires) {
  NeighbourTable table(16, Timing());
  table.Resolve(Ip(5), 0);
  EXPECT_TRUE(table.Learn(Ip(5), kMac, 100, false));
  auto resolved = table.Resolve(Ip(5), 200);
  ASSERT_NE(resolved.mac, nullptr);
  EXPECT_EQ(*resolved.mac, kMac);
  EXPECT_FALSE(resolved.send_request);
  // In the refresh window: still used, one request.
  auto refresh = table.Resolve(Ip(5), 100 + 46'000);
  ASSERT_NE(refresh.mac, nullptr);
  EXPECT_TRUE(refresh.send_request);
  EXPECT_FALSE(table.Resolve(Ip(5), 100 + 46'500).send_request);
  // No answer: expired.
  auto expired = table.Resolve(Ip(5), 100 + 60'000);
  EXPECT_EQ(expired.mac, nullptr);
  EXPECT_TRUE(expired.send_request);
  // An answer renews it, with the new MAC.
  table.Learn(Ip(5), kOtherMac, 61'000, false);
  EXPECT_EQ(*table.Resolve(Ip(5), 61'001).mac, kOtherMac);
}

TEST(NeighbourTable, UnsolicitedRepliesDoNotCreateEntries) {
  NeighbourTable table(16, Timing());
  EXPECT_FALSE(table.Learn(Ip(7), kMac, 0, false));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.Learn(Ip(7), kMac, 0, true));  // a request to us
  EXPECT_NE(table.Resolve(Ip(7), 1).mac, nullptr);
}

TEST(NeighbourTable, StaticEntriesNeverExpireNorChange) {
  NeighbourTable table(16, Timing());
  ASSERT_TRUE(table.AddStatic(Ip(1), kMac));
  EXPECT_FALSE(table.Learn(Ip(1), kOtherMac, 5, true));
  auto lookup = table.Resolve(Ip(1), 10'000'000);
  ASSERT_NE(lookup.mac, nullptr);
  EXPECT_EQ(*lookup.mac, kMac);
  EXPECT_FALSE(lookup.send_request);
}

TEST(NeighbourTable, FullTableEvictsTheOldest) {
  NeighbourTable table(8, Timing());
  for (uint8_t i = 1; i <= 100; ++i) table.Learn(Ip(i), kMac, i, true);
  EXPECT_LE(table.size(), table.capacity());
  // The most recent are there.
  EXPECT_NE(table.Resolve(Ip(100), 101).mac, nullptr);
}

TEST(NeighbourTable, FamiliesAreDistinct) {
  NeighbourTable table(16, Timing());
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  std::memcpy(v6 + 12, Ip(5).bytes.data(), 4);
  table.Learn(Ip(5), kMac, 0, true);
  EXPECT_EQ(table.Resolve(net::IpAddress::V6(v6), 1).mac, nullptr);
}

}  // namespace
}  // namespace linegate::media::packetio
