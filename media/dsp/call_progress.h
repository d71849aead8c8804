#pragma once
// Call-progress tones (dial, ringback, busy, congestion/reorder, call waiting) per
// country, as ToneSpec + Cadence for CadencedToneGenerator. Sources per country are
// in call_progress.cc and README.md.

#include <optional>
#include <string_view>

#include "media/dsp/oscillator.h"

namespace linegate::media::dsp {

enum class Country : uint8_t { kUs, kUk, kDe, kFr };
enum class CallProgressTone : uint8_t { kDial, kRingback, kBusy, kCongestion, kCallWaiting };

inline constexpr Country kAllCountries[] = {Country::kUs, Country::kUk, Country::kDe, Country::kFr};
inline constexpr CallProgressTone kAllCallProgressTones[] = {
    CallProgressTone::kDial, CallProgressTone::kBusy, CallProgressTone::kRingback,
    CallProgressTone::kCongestion, CallProgressTone::kCallWaiting};

struct CallProgressToneSpec {
  ToneSpec tone;
  Cadence cadence;
};

CallProgressToneSpec GetCallProgressTone(Country country, CallProgressTone tone);

std::string_view CountryName(Country country);                 // "US", "UK", "DE", "FR"
std::string_view CallProgressToneName(CallProgressTone tone);  // "dial", "ringback", ...
// ISO 3166 alpha-2 code, case-insensitive; "GB" is accepted for the UK.
std::optional<Country> ParseCountry(std::string_view code);

}  // namespace linegate::media::dsp
