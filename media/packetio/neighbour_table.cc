#include "media/packetio/neighbour_table.h"

#include <algorithm>
#include <bit>

namespace linegate::media::packetio {

NeighbourTable::NeighbourTable(size_t capacity, const NeighbourTiming& timing)
    : timing_(timing), slots_(std::bit_ceil(std::max<size_t>(capacity, kProbe))) {}

size_t NeighbourTable::Hash(const net::IpAddress& address) const {
  // The low-order octets differ between neighbours of one subnet: mix the last eight.
  uint64_t key;
  std::memcpy(&key, address.bytes.data() + (address.family == 6 ? 8 : 0), 8);
  key ^= address.family;
  key *= 0x9e3779b97f4a7c15ull;
  return static_cast<size_t>(key >> 32) & (slots_.size() - 1);
}

NeighbourTable::Slot* NeighbourTable::Find(const net::IpAddress& address) {
  const size_t start = Hash(address);
  for (size_t i = 0; i < kProbe; ++i) {
    Slot& slot = slots_[(start + i) & (slots_.size() - 1)];
    if (slot.state != State::kEmpty && slot.address == address) return &slot;
  }
  return nullptr;
}

bool NeighbourTable::BetterVictim(const Slot& a, const Slot& b) {
  const bool a_incomplete = a.state == State::kIncomplete;
  const bool b_incomplete = b.state == State::kIncomplete;
  if (a_incomplete != b_incomplete) return a_incomplete;
  return a.confirmed_ms < b.confirmed_ms;
}

NeighbourTable::Slot* NeighbourTable::Claim(const net::IpAddress& address, uint64_t now_ms) {
  // An empty slot in the probe window, else the one confirmed longest ago (incomplete
  // entries first: they hold nothing anyone has confirmed). Static entries stay.
  const size_t start = Hash(address);
  Slot* victim = nullptr;
  for (size_t i = 0; i < kProbe; ++i) {
    Slot& slot = slots_[(start + i) & (slots_.size() - 1)];
    if (slot.state == State::kEmpty) {
      victim = &slot;
      break;
    }
    if (slot.state == State::kStatic) continue;
    if (now_ms - slot.confirmed_ms >= timing_.lifetime_ms) {
      victim = &slot;  // expired: as good as empty
      break;
    }
    if (victim == nullptr || BetterVictim(slot, *victim)) victim = &slot;
  }
  if (victim == nullptr) return nullptr;
  *victim = Slot{};
  victim->address = address;
  return victim;
}

bool NeighbourTable::RequestDue(Slot& slot, uint64_t now_ms) {
  if (slot.requested && now_ms - slot.requested_ms < timing_.retry_ms) return false;
  slot.requested = true;
  slot.requested_ms = now_ms;
  return true;
}

NeighbourTable::Lookup NeighbourTable::Resolve(const net::IpAddress& address, uint64_t now_ms) {
  Slot* slot = Find(address);
  if (slot == nullptr) {
    slot = Claim(address, now_ms);
    if (slot == nullptr) return {};  // the window is all static: nothing to do
    slot->state = State::kIncomplete;
    slot->confirmed_ms = now_ms;
  }
  switch (slot->state) {
    case State::kStatic:
      return {&slot->mac, false};
    case State::kReachable: {
      const uint64_t age = now_ms - slot->confirmed_ms;
      if (age >= timing_.lifetime_ms) {
        slot->state = State::kIncomplete;
        return {nullptr, RequestDue(*slot, now_ms)};
      }
      const bool refresh = age + timing_.refresh_ms >= timing_.lifetime_ms && RequestDue(*slot, now_ms);
      return {&slot->mac, refresh};
    }
    default:
      return {nullptr, RequestDue(*slot, now_ms)};
  }
}

bool NeighbourTable::Learn(const net::IpAddress& address, const net::MacAddress& mac, uint64_t now_ms,
                           bool create) {
  Slot* slot = Find(address);
  if (slot == nullptr) {
    if (!create) return false;
    slot = Claim(address, now_ms);
    if (slot == nullptr) return false;
  }
  if (slot->state == State::kStatic) return false;
  slot->state = State::kReachable;
  slot->mac = mac;
  slot->confirmed_ms = now_ms;
  slot->requested = false;
  return true;
}

bool NeighbourTable::AddStatic(const net::IpAddress& address, const net::MacAddress& mac) {
  Slot* slot = Find(address);
  if (slot == nullptr) slot = Claim(address, 0);
  if (slot == nullptr) return false;
  slot->state = State::kStatic;
  slot->mac = mac;
  return true;
}

size_t NeighbourTable::size() const {
  return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(),
                                           [](const Slot& slot) { return slot.state != State::kEmpty; }));
}

}  // namespace linegate::media::packetio
