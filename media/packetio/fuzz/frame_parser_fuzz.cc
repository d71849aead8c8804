// Fuzz target: ParseFrame (and the UDP checksum check after it) on arbitrary frames. The
// first byte picks the receiver's setup: bit 0 VLAN 100, bit 1 IPv6 on, bits 2-3 the
// NIC's IP checksum verdict.
#include <cstddef>
#include <cstdint>

#include "media/packetio/headers.h"

using namespace linegate::media::packetio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t setup = data[0];
  net::ParseContext context;
  context.mac = {0x02, 0, 0, 0, 0, 0x01};
  context.ipv4 = {192, 0, 2, 1};
  context.vlan_id = (setup & 1) ? 100 : -1;
  context.has_ipv6 = (setup & 2) != 0;
  context.ipv6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  context.ipv6_link_local = net::LinkLocalFromMac(context.mac);
  const auto hw = static_cast<net::HwChecksum>(((setup >> 2) & 3) % 3);
  net::ParsedFrame parsed;
  net::ParseFrame(data + 1, size - 1, context, hw, parsed);
  if (parsed.kind == net::FrameKind::kUdp) {
    // Everything the backend reads after a kUdp verdict must lie inside the frame.
    if (size_t{parsed.l4_offset} + parsed.l4_length > size - 1) __builtin_trap();
    net::VerifyUdpChecksum(data + 1, parsed);
  }
  if (parsed.kind == net::FrameKind::kIcmpv4 || parsed.kind == net::FrameKind::kIcmpv6) {
    if (size_t{parsed.l4_offset} + parsed.l4_length > size - 1) __builtin_trap();
  }
  return 0;
}
