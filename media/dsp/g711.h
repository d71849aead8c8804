#pragma once
// ITU-T G.711 pulse code modulation: mu-law and A-law, for 16-bit linear samples.
//
// The laws are defined on 14-bit (mu-law) and 13-bit (A-law) magnitudes (G.711
// Tables 2a/2b and 1a/1b). A 16-bit sample is mapped onto them by dropping its two
// (mu-law) or three (A-law) low bits of magnitude, and a decoded value is scaled back
// to 16 bits, so mu-law decodes to +-32124 at most and A-law to +-32256. The magnitude
// of a negative sample is -x (-32768 is treated as -32767), so both laws are symmetric.
//
// Mu-law is mid-tread: codes 0xFF (+0) and 0x7F (-0) both decode to 0 and 0 encodes to
// 0xFF. A-law is mid-riser: 0 encodes to 0xD5 (+8); there is no zero code.
//
// Two implementations of each direction:
//  - Reference*: written from the Recommendation's description (segments and decision
//    values), for tests and as the definition the fast path is checked against;
//  - the fast path: 256-entry decode tables built at compile time, and branch-free
//    encoders that find the segment with std::bit_width (one LZCNT/BSR instruction)
//    instead of a search. g711_test proves both agree on every input.
//
// Buffer functions process in.size() samples; `out` must be at least that long (a
// shorter one is a programming error and aborts). UlawToAlaw/AlawToUlaw may run in
// place (in and out the same bytes). Nothing allocates, locks or makes a system call.

#include <array>
#include <bit>
#include <cstdint>
#include <span>

namespace linegate::media::dsp {

// --- Reference implementations (G.711 section 3 and Tables 1/2) -------------------

uint8_t ReferenceEncodeUlaw(int16_t sample);
int16_t ReferenceDecodeUlaw(uint8_t code);
uint8_t ReferenceEncodeAlaw(int16_t sample);
int16_t ReferenceDecodeAlaw(uint8_t code);

// --- Compile-time tables -------------------------------------------------------------

namespace g711_detail {

// Mu-law: the transmitted code is the bitwise inverse of sign|segment|interval
// (G.711 Table 2a, note on character signals). Value in 14-bit units is
// ((2 * interval + 33) << segment) - 33, the middle of the decision interval.
constexpr int16_t DecodeUlawFormula(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(~code);
  const int segment = (c >> 4) & 7;
  const int interval = c & 0x0F;
  const int magnitude = (((2 * interval + 33) << segment) - 33) << 2;
  return static_cast<int16_t>((c & 0x80) != 0 ? -magnitude : magnitude);
}

// A-law: even bits inverted (G.711 Table 1a, note 2); sign bit 1 is positive. Value in
// 13-bit units is 2 * interval + 1 in segment 0 and (2 * interval + 33) << (segment - 1)
// above: segments 0 and 1 share one step size.
constexpr int16_t DecodeAlawFormula(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(code ^ 0x55);
  const int segment = (c >> 4) & 7;
  const int interval = c & 0x0F;
  const int magnitude = (segment == 0 ? 2 * interval + 1 : (2 * interval + 33) << (segment - 1)) << 3;
  return static_cast<int16_t>((c & 0x80) != 0 ? magnitude : -magnitude);
}

template <typename F>
constexpr std::array<int16_t, 256> MakeDecodeTable(F decode) {
  std::array<int16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = decode(static_cast<uint8_t>(i));
  }
  return table;
}

inline constexpr std::array<int16_t, 256> kUlawDecode = MakeDecodeTable(DecodeUlawFormula);
inline constexpr std::array<int16_t, 256> kAlawDecode = MakeDecodeTable(DecodeAlawFormula);

// 16-bit magnitude, -32768 folded onto 32767 so that the laws stay symmetric.
constexpr uint32_t Magnitude(int16_t sample) {
  const int32_t v = sample;
  const int32_t m = v < 0 ? -v : v;
  return static_cast<uint32_t>(m > 32767 ? 32767 : m);
}

}  // namespace g711_detail

// --- Fast path: one sample ---------------------------------------------------------

constexpr int16_t DecodeUlaw(uint8_t code) { return g711_detail::kUlawDecode[code]; }
constexpr int16_t DecodeAlaw(uint8_t code) { return g711_detail::kAlawDecode[code]; }

constexpr uint8_t EncodeUlaw(int16_t sample) {
  // Biased 14-bit magnitude b = m + 33 lies in [32 << s, 64 << s) for segment s, so the
  // segment is bit_width(b) - 6 and the interval the 4 bits below the leading one.
  // Magnitudes from 8159 up are in the top interval (overload, G.711 Table 2a).
  const uint32_t sign = (static_cast<uint32_t>(static_cast<int32_t>(sample)) >> 24) & 0x80;
  uint32_t m = g711_detail::Magnitude(sample) >> 2;
  m = (m > 8158 ? 8158 : m) + 33;
  const uint32_t segment = static_cast<uint32_t>(std::bit_width(m)) - 6;
  const uint32_t interval = (m >> (segment + 1)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (segment << 4) | interval));
}

constexpr uint8_t EncodeAlaw(int16_t sample) {
  // 13-bit magnitude m: segment 0 is m < 32 (interval m >> 1); segment s >= 1 holds
  // [16 << s, 32 << s), so s = bit_width(m) - 5 and the interval is (m >> s) & 15.
  const uint32_t positive = sample >= 0 ? 0x80u : 0u;
  const uint32_t m = g711_detail::Magnitude(sample) >> 3;
  const int width = std::bit_width(m);
  const uint32_t segment = static_cast<uint32_t>(width > 5 ? width - 5 : 0);
  const uint32_t shift = segment > 1 ? segment : 1;
  const uint32_t interval = (m >> shift) & 0x0F;
  return static_cast<uint8_t>((positive | (segment << 4) | interval) ^ 0x55);
}

namespace g711_detail {

// Law-to-law conversion through the linear domain: decode to the interval's value and
// encode that value under the other law. See README.md (not bit-compared with the
// G.711 Table 3/4 conversion columns).
inline constexpr std::array<uint8_t, 256> kUlawToAlaw = [] {
  std::array<uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = EncodeAlaw(kUlawDecode[i]);
  }
  return table;
}();
inline constexpr std::array<uint8_t, 256> kAlawToUlaw = [] {
  std::array<uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    table[i] = EncodeUlaw(kAlawDecode[i]);
  }
  return table;
}();

}  // namespace g711_detail

constexpr uint8_t UlawToAlaw(uint8_t code) { return g711_detail::kUlawToAlaw[code]; }
constexpr uint8_t AlawToUlaw(uint8_t code) { return g711_detail::kAlawToUlaw[code]; }

// --- Fast path: buffers ------------------------------------------------------------

void DecodeUlaw(std::span<const uint8_t> in, std::span<int16_t> out);
void DecodeAlaw(std::span<const uint8_t> in, std::span<int16_t> out);
void EncodeUlaw(std::span<const int16_t> in, std::span<uint8_t> out);
void EncodeAlaw(std::span<const int16_t> in, std::span<uint8_t> out);
void UlawToAlaw(std::span<const uint8_t> in, std::span<uint8_t> out);
void AlawToUlaw(std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace linegate::media::dsp
