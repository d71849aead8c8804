#include "media/dsp/dtmf.h"

#include <algorithm>

#include "media/dsp/levels.h"

namespace linegate::media::dsp {

std::optional<DtmfFrequencies> DtmfDigitFrequencies(char digit) {
  if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) {
      if (kDtmfDigits[r][c] == digit) {
        return DtmfFrequencies{r, c, kDtmfLowHz[r], kDtmfHighHz[c]};
      }
    }
  }
  return std::nullopt;
}

bool DtmfGenerator::Queue(std::string_view digits) {
  if (digits.size() > kCapacity - count_) return false;
  for (char d : digits) {
    if (d != ',' && !DtmfDigitFrequencies(d)) return false;
  }
  for (char d : digits) {
    queue_[(head_ + count_) % kCapacity] = d;
    ++count_;
  }
  return true;
}

void DtmfGenerator::Clear() {
  count_ = 0;
  remaining_ = 0;
  tone_on_ = false;
}

void DtmfGenerator::StartNext() {
  const char digit = queue_[head_];
  head_ = (head_ + 1) % kCapacity;
  --count_;
  if (digit == ',') {
    // A pause is an off part of its own: Generate moves on to the next digit after it.
    tone_on_ = false;
    remaining_ = kPauseMs * (kSampleRateHz / 1000);
    return;
  }
  const DtmfFrequencies f = *DtmfDigitFrequencies(digit);  // checked by Queue
  const float scale = 1.0f + config_.frequency_deviation;
  tone_.Configure(ToneSpec::Dual(f.low_hz * scale, config_.low_level_dbm0, f.high_hz * scale,
                                 config_.low_level_dbm0 + config_.twist_db));
  tone_on_ = true;
  remaining_ = static_cast<uint32_t>(config_.on_ms) * (kSampleRateHz / 1000);
}

void DtmfGenerator::Generate(std::span<int16_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    if (remaining_ == 0) {
      if (tone_on_) {
        tone_on_ = false;
        remaining_ = static_cast<uint32_t>(config_.off_ms) * (kSampleRateHz / 1000);
        continue;
      }
      if (count_ == 0) {
        std::fill(out.begin() + static_cast<std::ptrdiff_t>(done), out.end(), int16_t{0});
        return;
      }
      StartNext();
      continue;
    }
    const size_t n = std::min<size_t>(remaining_, out.size() - done);
    std::span<int16_t> part = out.subspan(done, n);
    if (tone_on_) {
      tone_.Generate(part);
    } else {
      std::fill(part.begin(), part.end(), int16_t{0});
    }
    remaining_ -= static_cast<uint32_t>(n);
    done += n;
  }
}

}  // namespace linegate::media::dsp
