#include "signaling/sip/sip_text.h"

#include <cstring>

namespace linegate::signaling::sip {

namespace {
// When max is at most this, value <= max keeps value * 10 + 9 from wrapping, so an
// overflow test is one compare after the multiply instead of a division per digit.
constexpr uint64_t kNoWrapMax = (UINT64_MAX - 9) / 10;
}  // namespace

bool ParseDecimal(std::string_view digits, uint64_t max, uint64_t& out) {
  if (digits.empty()) return false;
  uint64_t value = 0;
  // max >= 9: below that, max - digit wraps in the division form and the result
  // differs (callers pass 255 and more; the slow path keeps the old answer).
  if (max <= kNoWrapMax && max >= 9) {
    for (char c : digits) {
      const auto digit = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
      if (digit > 9) return false;
      value = value * 10 + digit;
      if (value > max) return false;
    }
    out = value;
    return true;
  }
  for (char c : digits) {
    if (!IsChar(c, kDigitChar)) return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

bool ParseDecimalSaturating(std::string_view digits, uint64_t max, uint64_t& out) {
  if (digits.empty()) return false;
  uint64_t value = 0;
  // Same fast path as ParseDecimal.
  if (max <= kNoWrapMax && max >= 9) {
    for (char c : digits) {
      const auto digit = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
      if (digit > 9) return false;
      value = value * 10 + digit;
      if (value > max) value = max;
    }
    out = value;
    return true;
  }
  for (char c : digits) {
    if (!IsChar(c, kDigitChar)) return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    value = (value > (max - digit) / 10) ? max : value * 10 + digit;
  }
  out = value;
  return true;
}

bool Scanner::TakeQuotedString(std::string_view& out) {
  const char* start = pos_;
  if (!Consume('"')) return false;
  while (pos_ != end_) {
    const char c = *pos_;
    if (c == '"') {
      ++pos_;
      out = std::string_view(start, static_cast<size_t>(pos_ - start));
      return true;
    }
    if (c == '\\') {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
      if (pos_ + 1 == end_) break;
      const auto escaped = static_cast<unsigned char>(pos_[1]);
      if (escaped > 0x7F || escaped == 0x0A || escaped == 0x0D) break;
      pos_ += 2;
      continue;
    }
    // qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && !IsChar(c, kLwsChar)) break;
    if (u == 0x7F) break;
    ++pos_;
  }
  pos_ = start;
  return false;
}

bool ParamIterator::Next(Param& param) {
  if (done_) return false;
  scanner_.SkipLws();
  if (scanner_.AtEnd()) {
    done_ = true;
    return false;
  }
  if (scanner_.Consume(';')) scanner_.SkipLws();
  param = Param{};
  param.name = scanner_.TakeWhile(kTokenChar | kParamChar);
  if (param.name.empty()) {
    done_ = true;
    return false;
  }
  if (scanner_.ConsumeSeparator('=')) {
    param.has_value = true;
    if (scanner_.Peek() == '"') {
      if (!scanner_.TakeQuotedString(param.value)) {
        done_ = true;
        return false;
      }
    } else {
      param.value = scanner_.TakeWhile(kTokenChar | kParamChar);
    }
  }
  scanner_.SkipLws();
  if (!scanner_.AtEnd() && scanner_.Peek() != ';') done_ = true;
  return true;
}

std::optional<Param> FindParam(std::string_view list, std::string_view name) {
  ParamIterator it(list);
  Param param;
  while (it.Next(param)) {
    if (EqualsIgnoreCase(param.name, name)) return param;
  }
  return std::nullopt;
}

bool ListIterator::Next(std::string_view& element) {
  if (done_) return false;
  // Most values hold a single element (one Via, one Contact): with no comma at all the
  // scan below could only end at the end of the value, so skip it.
  if (rest_.empty() || std::memchr(rest_.data(), ',', rest_.size()) == nullptr) {
    element = TrimLws(rest_);
    done_ = true;
    return true;
  }
  bool in_quotes = false;
  bool in_angle = false;
  size_t i = 0;
  for (; i < rest_.size(); ++i) {
    const char c = rest_[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      break;
    }
  }
  if (i >= rest_.size()) {
    element = TrimLws(rest_);
    done_ = true;
    return true;
  }
  element = TrimLws(rest_.substr(0, i));
  rest_ = rest_.substr(i + 1);
  return true;
}

std::optional<std::string_view> Unfold(std::string_view raw, std::span<char> buffer) {
  if (std::memchr(raw.data(), '\r', raw.size()) == nullptr &&
      std::memchr(raw.data(), '\n', raw.size()) == nullptr) {
    return raw;
  }
  size_t out = 0;
  size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '\r' || c == '\n') {
      while (i < raw.size() && IsChar(raw[i], kLwsChar)) ++i;
      if (out == buffer.size()) return std::nullopt;
      buffer[out++] = ' ';
      continue;
    }
    if (out == buffer.size()) return std::nullopt;
    buffer[out++] = c;
    ++i;
  }
  return std::string_view(buffer.data(), out);
}

bool EqualValuesIgnoringLws(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const bool ws_a = IsChar(a[i], kLwsChar);
    const bool ws_b = IsChar(b[j], kLwsChar);
    if (ws_a != ws_b) return false;
    if (ws_a) {
      while (i < a.size() && IsChar(a[i], kLwsChar)) ++i;
      while (j < b.size() && IsChar(b[j], kLwsChar)) ++j;
      continue;
    }
    if (a[i] != b[j]) return false;
    ++i;
    ++j;
  }
  while (i < a.size() && IsChar(a[i], kLwsChar)) ++i;
  while (j < b.size() && IsChar(b[j], kLwsChar)) ++j;
  return i == a.size() && j == b.size();
}

}  // namespace linegate::signaling::sip
