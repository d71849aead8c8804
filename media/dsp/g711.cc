#include "media/dsp/g711.h"

#include <cstdlib>

namespace linegate::media::dsp {
namespace {

// Decision values of G.711, per law, indexed by the 7-bit magnitude part of the code
// (segment * 16 + interval): the lowest input magnitude that maps to that code, in the
// law's own units (14-bit for mu-law, 13-bit for A-law), and the interval's width.
struct DecisionTable {
  std::array<int32_t, 128> lower{};
  std::array<int32_t, 128> width{};
};

// Mu-law (G.711 Table 2a): segment s has 16 intervals of width 2 << s; the segment
// starts at (32 << s) - 33. Interval 0 of segment 0 is the half interval around zero
// (decision values -1 and +1 once mirrored), which makes the law mid-tread.
DecisionTable MakeUlawDecisions() {
  DecisionTable t;
  for (int s = 0; s < 8; ++s) {
    for (int i = 0; i < 16; ++i) {
      t.width[s * 16 + i] = 2 << s;
      t.lower[s * 16 + i] = ((32 + 2 * i) << s) - 33;
    }
  }
  return t;
}

// A-law (G.711 Table 1a): segments 0 and 1 both have intervals of width 2 starting at
// 0 and 32; segment s >= 2 has width 2 << (s - 1) and starts at 16 << s.
DecisionTable MakeAlawDecisions() {
  DecisionTable t;
  for (int s = 0; s < 8; ++s) {
    for (int i = 0; i < 16; ++i) {
      const int width = s == 0 ? 2 : 2 << (s - 1);
      const int start = s == 0 ? 0 : 16 << s;
      t.width[s * 16 + i] = width;
      t.lower[s * 16 + i] = start + i * width;
    }
  }
  return t;
}

const DecisionTable kUlawDecisions = MakeUlawDecisions();
const DecisionTable kAlawDecisions = MakeAlawDecisions();

// The highest interval whose lower decision value the magnitude reaches: above the last
// decision value everything is in the top interval (overload).
int FindInterval(const DecisionTable& table, int32_t magnitude) {
  int k = 127;
  while (k > 0 && magnitude < table.lower[k]) {
    --k;
  }
  return k;
}

// The decoded value is the middle of the decision interval (G.711 Tables 1/2, column 7).
int32_t IntervalMiddle(const DecisionTable& table, int k) { return table.lower[k] + table.width[k] / 2; }

int32_t ReferenceMagnitude(int16_t sample) {
  const int32_t v = sample;
  return v == -32768 ? 32767 : (v < 0 ? -v : v);
}

[[noreturn]] void OutputTooShort() { std::abort(); }

}  // namespace

uint8_t ReferenceEncodeUlaw(int16_t sample) {
  const int k = FindInterval(kUlawDecisions, ReferenceMagnitude(sample) / 4);
  const int sign = sample < 0 ? 0x80 : 0;
  return static_cast<uint8_t>(~(sign | k));
}

int16_t ReferenceDecodeUlaw(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(~code);
  const int32_t magnitude = IntervalMiddle(kUlawDecisions, c & 0x7F) * 4;
  return static_cast<int16_t>((c & 0x80) != 0 ? -magnitude : magnitude);
}

uint8_t ReferenceEncodeAlaw(int16_t sample) {
  const int k = FindInterval(kAlawDecisions, ReferenceMagnitude(sample) / 8);
  const int sign = sample >= 0 ? 0x80 : 0;
  return static_cast<uint8_t>((sign | k) ^ 0x55);
}

int16_t ReferenceDecodeAlaw(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(code ^ 0x55);
  const int32_t magnitude = IntervalMiddle(kAlawDecisions, c & 0x7F) * 8;
  return static_cast<int16_t>((c & 0x80) != 0 ? magnitude : -magnitude);
}

void DecodeUlaw(std::span<const uint8_t> in, std::span<int16_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = DecodeUlaw(in[i]);
  }
}

void DecodeAlaw(std::span<const uint8_t> in, std::span<int16_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = DecodeAlaw(in[i]);
  }
}

void EncodeUlaw(std::span<const int16_t> in, std::span<uint8_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = EncodeUlaw(in[i]);
  }
}

void EncodeAlaw(std::span<const int16_t> in, std::span<uint8_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = EncodeAlaw(in[i]);
  }
}

void UlawToAlaw(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = UlawToAlaw(in[i]);
  }
}

void AlawToUlaw(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (out.size() < in.size()) [[unlikely]] {
    OutputTooShort();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = AlawToUlaw(in[i]);
  }
}

}  // namespace linegate::media::dsp
