#pragma once
// The DPDK backend's neighbour cache: IPv4 (ARP) and IPv6 (NDP) next hops to MAC
// addresses, fixed capacity, allocated once. Time is passed in (milliseconds of any
// monotonic clock), so that the state machine is tested without a clock or DPDK.
//
// An entry's life: a transmit to an unknown next hop creates it incomplete and asks for
// a request; packets to it are dropped until a reply resolves it (requests repeat at most
// once per retry interval while traffic wants the entry). A resolved entry is used for
// `lifetime_ms` after its last confirmation; in the last `refresh_ms` of that it is still
// used but a request goes out (rate-limited), so that a live peer never lapses. Static
// entries never expire.

#include <cstdint>
#include <vector>

#include "media/packetio/headers.h"

namespace linegate::media::packetio {

struct NeighbourTiming {
  uint64_t lifetime_ms = 60'000;
  uint64_t refresh_ms = 15'000;  // before the end of lifetime
  uint64_t retry_ms = 1'000;     // between two requests for the same address
};

class NeighbourTable {
 public:
  // `capacity` is rounded up to a power of two.
  NeighbourTable(size_t capacity, const NeighbourTiming& timing);

  struct Lookup {
    const net::MacAddress* mac = nullptr;  // null: unresolved, do not send
    bool send_request = false;             // ask now (ARP request / neighbour solicitation)
  };
  Lookup Resolve(const net::IpAddress& address, uint64_t now_ms);

  // A reply or request from `address` (RFC 826 merge): updates an existing entry; creates
  // one only when `create` (the packet was addressed to us). True when an entry changed.
  bool Learn(const net::IpAddress& address, const net::MacAddress& mac, uint64_t now_ms, bool create);
  bool AddStatic(const net::IpAddress& address, const net::MacAddress& mac);

  size_t size() const;  // entries in use (any state)
  size_t capacity() const { return slots_.size(); }

 private:
  enum class State : uint8_t { kEmpty, kIncomplete, kReachable, kStatic };
  struct Slot {
    net::IpAddress address;
    net::MacAddress mac{};
    State state = State::kEmpty;
    uint64_t confirmed_ms = 0;
    uint64_t requested_ms = 0;
    bool requested = false;
  };
  static constexpr size_t kProbe = 8;

  Slot* Find(const net::IpAddress& address);
  Slot* Claim(const net::IpAddress& address, uint64_t now_ms);
  static bool BetterVictim(const Slot& a, const Slot& b);
  size_t Hash(const net::IpAddress& address) const;
  bool RequestDue(Slot& slot, uint64_t now_ms);

  NeighbourTiming timing_;
  std::vector<Slot> slots_;
};

}  // namespace linegate::media::packetio
