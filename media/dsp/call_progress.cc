#include "media/dsp/call_progress.h"

#include <cctype>

namespace linegate::media::dsp {
namespace {

constexpr Cadence On(uint16_t on_ms, uint16_t off_ms) { return Cadence{{on_ms, off_ms}, 2, true}; }
constexpr Cadence OnOnOff(uint16_t on1, uint16_t off1, uint16_t on2, uint16_t off2) {
  return Cadence{{on1, off1, on2, off2}, 4, true};
}

// Levels: the US values are the precise tone plan's; elsewhere the national documents
// leave some latitude, and we use -10 dBm0 for single-frequency tones and -13 dBm0 per
// component for dual tones (inside the range of ITU-T E.180 section 3).
constexpr float kSingleDbm0 = -10.0f;
constexpr float kDualDbm0 = -13.0f;

// United States: Telcordia GR-506-CORE / ANSI T1.401 "precise tone plan".
CallProgressToneSpec Us(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::kDial:
      return {ToneSpec::Dual(350, -13, 440, -13), Cadence::Continuous()};
    case CallProgressTone::kRingback:
      return {ToneSpec::Dual(440, -19, 480, -19), On(2000, 4000)};
    case CallProgressTone::kBusy:
      return {ToneSpec::Dual(480, -24, 620, -24), On(500, 500)};
    case CallProgressTone::kCongestion:  // "reorder" (fast busy), line side
      return {ToneSpec::Dual(480, -24, 620, -24), On(250, 250)};
    case CallProgressTone::kCallWaiting:  // one 300 ms burst, repeated after 10 s
      return {ToneSpec::Single(440, -13), On(300, 9700)};
  }
  return {};
}

// United Kingdom: BT SIN 350 and ITU-T E.180 Supplement 2 (UK entries).
CallProgressToneSpec Uk(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::kDial:
      return {ToneSpec::Dual(350, kDualDbm0, 440, kDualDbm0), Cadence::Continuous()};
    case CallProgressTone::kRingback:
      return {ToneSpec::Dual(400, kDualDbm0, 450, kDualDbm0), OnOnOff(400, 200, 400, 2000)};
    case CallProgressTone::kBusy:
      return {ToneSpec::Single(400, kSingleDbm0), On(375, 375)};
    case CallProgressTone::kCongestion:  // "path engaged"
      return {ToneSpec::Single(400, kSingleDbm0), OnOnOff(400, 350, 225, 525)};
    case CallProgressTone::kCallWaiting:
      return {ToneSpec::Single(400, kSingleDbm0), On(100, 3000)};
  }
  return {};
}

// Germany: Deutsche Telekom 1 TR 110 and ITU-T E.180 Supplement 2 (variant I).
CallProgressToneSpec De(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::kDial:
      return {ToneSpec::Single(425, kSingleDbm0), Cadence::Continuous()};
    case CallProgressTone::kRingback:
      return {ToneSpec::Single(425, kSingleDbm0), On(1000, 4000)};
    case CallProgressTone::kBusy:
      return {ToneSpec::Single(425, kSingleDbm0), On(480, 480)};
    case CallProgressTone::kCongestion:
      return {ToneSpec::Single(425, kSingleDbm0), On(240, 240)};
    case CallProgressTone::kCallWaiting:
      return {ToneSpec::Single(425, kSingleDbm0), OnOnOff(200, 200, 200, 5000)};
  }
  return {};
}

// France: France Telecom and ITU-T E.180 Supplement 2 (French entries).
CallProgressToneSpec Fr(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::kDial:
      return {ToneSpec::Single(440, kSingleDbm0), Cadence::Continuous()};
    case CallProgressTone::kRingback:
      return {ToneSpec::Single(440, kSingleDbm0), On(1500, 3500)};
    case CallProgressTone::kBusy:
      return {ToneSpec::Single(440, kSingleDbm0), On(500, 500)};
    case CallProgressTone::kCongestion:
      return {ToneSpec::Single(440, kSingleDbm0), On(250, 250)};
    case CallProgressTone::kCallWaiting:
      return {ToneSpec::Single(440, kSingleDbm0), On(300, 10000)};
  }
  return {};
}

}  // namespace

CallProgressToneSpec GetCallProgressTone(Country country, CallProgressTone tone) {
  switch (country) {
    case Country::kUs:
      return Us(tone);
    case Country::kUk:
      return Uk(tone);
    case Country::kDe:
      return De(tone);
    case Country::kFr:
      return Fr(tone);
  }
  return {};
}

std::string_view CountryName(Country country) {
  switch (country) {
    case Country::kUs:
      return "US";
    case Country::kUk:
      return "UK";
    case Country::kDe:
      return "DE";
    case Country::kFr:
      return "FR";
  }
  return "?";
}

std::string_view CallProgressToneName(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::kDial:
      return "dial";
    case CallProgressTone::kRingback:
      return "ringback";
    case CallProgressTone::kBusy:
      return "busy";
    case CallProgressTone::kCongestion:
      return "congestion";
    case CallProgressTone::kCallWaiting:
      return "call-waiting";
  }
  return "?";
}

std::optional<Country> ParseCountry(std::string_view code) {
  if (code.size() != 2) return std::nullopt;
  const char a = static_cast<char>(std::toupper(static_cast<unsigned char>(code[0])));
  const char b = static_cast<char>(std::toupper(static_cast<unsigned char>(code[1])));
  if (a == 'U' && b == 'S') return Country::kUs;
  if ((a == 'U' && b == 'K') || (a == 'G' && b == 'B')) return Country::kUk;
  if (a == 'D' && b == 'E') return Country::kDe;
  if (a == 'F' && b == 'R') return Country::kFr;
  return std::nullopt;
}

}  // namespace linegate::media::dsp
