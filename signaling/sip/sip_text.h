#pragma once
// Lexical layer of the SIP grammar (RFC 3261 section 25.1): character classes, a
// status type whose reason is static text, and a scanner that treats line folding as
// whitespace, so that tokenizers work on raw header values without unfolding them
// into a copy first.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace linegate::signaling::sip {

// Outcome of parsing untrusted input. The reason is a string literal: rejections of
// hostile traffic are frequent, so they must not allocate (linegate::Status would).
class [[nodiscard]] ParseStatus {
 public:
  constexpr ParseStatus() = default;
  static constexpr ParseStatus Ok() { return ParseStatus(); }
  static constexpr ParseStatus Fail(const char* reason) {
    ParseStatus status;
    status.reason_ = reason;
    return status;
  }
  constexpr bool ok() const { return reason_ == nullptr; }
  constexpr explicit operator bool() const { return ok(); }
  // Short phrase naming the fault, usable as a 400 reason phrase; empty when ok.
  constexpr std::string_view reason() const { return reason_ == nullptr ? std::string_view() : reason_; }
  constexpr const char* reason_text() const { return reason_; }

 private:
  const char* reason_ = nullptr;
};

enum CharClass : uint16_t {
  kAlnumChar = 1 << 0,
  kDigitChar = 1 << 1,
  kHexChar = 1 << 2,
  kTokenChar = 1 << 3,       // token
  kUnreservedChar = 1 << 4,  // alphanum / mark
  kUserChar = 1 << 5,        // unreserved / user-unreserved ('%' escapes checked apart)
  kPasswordChar = 1 << 6,    // unreserved / "&" / "=" / "+" / "$" / ","
  kParamChar = 1 << 7,       // param-unreserved / unreserved
  kHeaderChar = 1 << 8,      // hnv-unreserved / unreserved
  kWordChar = 1 << 9,        // word (Call-ID)
  kSchemeChar = 1 << 10,     // ALPHA / DIGIT / "+" / "-" / "."
  kUricChar = 1 << 11,       // reserved / unreserved / "%" / "[" / "]" (absoluteURI)
  kLwsChar = 1 << 12,        // SP / HTAB / CR / LF
  kHostChar = 1 << 13,       // alphanum / "-" / "."
};

namespace text_internal {
constexpr bool In(char c, std::string_view set) {
  for (char s : set) {
    if (s == c) return true;
  }
  return false;
}

constexpr std::array<uint16_t, 256> BuildCharTable() {
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool alnum = alpha || digit;
    const bool unreserved = alnum || In(c, "-_.!~*'()");
    uint16_t v = 0;
    if (alnum) v |= kAlnumChar;
    if (digit) v |= kDigitChar;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexChar;
    if (alnum || In(c, "-.!%*_+`'~")) v |= kTokenChar;
    if (unreserved) v |= kUnreservedChar;
    if (unreserved || In(c, "&=+$,;?/")) v |= kUserChar;
    if (unreserved || In(c, "&=+$,")) v |= kPasswordChar;
    if (unreserved || In(c, "[]/:&+$")) v |= kParamChar;
    if (unreserved || In(c, "[]/?:+$")) v |= kHeaderChar;
    if (alnum || In(c, "-.!%*_+`'~()<>:\\\"/[]?{}")) v |= kWordChar;
    if (alnum || In(c, "+-.")) v |= kSchemeChar;
    if (unreserved || In(c, ";/?:@&=+$,[]%")) v |= kUricChar;
    if (In(c, " \t\r\n")) v |= kLwsChar;
    if (alnum || In(c, "-.")) v |= kHostChar;
    table[static_cast<size_t>(i)] = v;
  }
  return table;
}
}  // namespace text_internal

inline constexpr std::array<uint16_t, 256> kCharTable = text_internal::BuildCharTable();

constexpr bool IsChar(char c, uint16_t classes) {
  return (kCharTable[static_cast<unsigned char>(c)] & classes) != 0;
}

constexpr char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

// Strips SP, HTAB, CR and LF at both ends (a raw header value may start or end in a fold).
// Inline: it runs on every header value and list element, and the common case (nothing
// to strip) is two table lookups.
inline std::string_view TrimLws(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && IsChar(s[begin], kLwsChar)) ++begin;
  while (end > begin && IsChar(s[end - 1], kLwsChar)) --end;
  return s.substr(begin, end - begin);
}

// Decimal digits only; false when empty, not all digits or above max.
bool ParseDecimal(std::string_view digits, uint64_t max, uint64_t& out);
// Decimal digits only, clamped to max instead of failing on overflow.
bool ParseDecimalSaturating(std::string_view digits, uint64_t max, uint64_t& out);

// Reads a raw header value. SkipLws() consumes SP, HTAB and folds; CR and LF inside a
// raw value can only be part of a fold (the framer rejects bare CR and LF), so they
// are whitespace here too.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : pos_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return pos_ == end_; }
  char Peek() const { return pos_ == end_ ? '\0' : *pos_; }
  const char* pos() const { return pos_; }
  const char* end() const { return end_; }
  std::string_view Rest() const { return std::string_view(pos_, static_cast<size_t>(end_ - pos_)); }

  // True when at least one whitespace character was skipped.
  bool SkipLws() {
    const char* start = pos_;
    while (pos_ != end_ && IsChar(*pos_, kLwsChar)) ++pos_;
    return pos_ != start;
  }
  bool Consume(char c) {
    if (pos_ != end_ && *pos_ == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // SWS c SWS, as in SLASH, SEMI, EQUAL, COLON (RFC 3261 25.1).
  bool ConsumeSeparator(char c) {
    const char* start = pos_;
    SkipLws();
    if (!Consume(c)) {
      pos_ = start;
      return false;
    }
    SkipLws();
    return true;
  }
  void Advance() {
    if (pos_ != end_) ++pos_;
  }
  // Everything up to (not including) c, or to the end when c does not occur.
  std::string_view TakeUntil(char c) {
    // memchr: this skips whole URIs ("<sip:...>"), where a byte loop is the cost.
    const char* start = pos_;
    const void* hit = pos_ == end_ ? nullptr : std::memchr(pos_, c, static_cast<size_t>(end_ - pos_));
    pos_ = hit == nullptr ? end_ : static_cast<const char*>(hit);
    return std::string_view(start, static_cast<size_t>(pos_ - start));
  }
  std::string_view TakeWhile(uint16_t classes) {
    const char* start = pos_;
    while (pos_ != end_ && IsChar(*pos_, classes)) ++pos_;
    return std::string_view(start, static_cast<size_t>(pos_ - start));
  }
  // quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE. Expects the scanner on
  // the opening quote; the view includes both quotes. False when unterminated.
  bool TakeQuotedString(std::string_view& out);

 private:
  const char* pos_;
  const char* end_;
};

// One parameter of a ;-separated list: uri-parameters, or the generic-params after a
// header value. value keeps quotes of a quoted-string; has_value tells "lr" from "lr=".
struct Param {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

// Walks "a=b;c;d = "x"" (with or without a leading ';'). It tolerates LWS around ';'
// and '=' and stops at the first octet it cannot place; the typed parsers validate
// strictly, so on a message that parsed this only meets well-formed lists.
class ParamIterator {
 public:
  explicit ParamIterator(std::string_view list) : scanner_(list) {}
  bool Next(Param& param);

 private:
  Scanner scanner_;
  bool done_ = false;
};

// Case-insensitive lookup of a parameter by name in a list as above.
std::optional<Param> FindParam(std::string_view list, std::string_view name);

// Splits one header value at the commas that separate list elements (RFC 3261 7.3.1),
// ignoring commas inside quoted strings and <...>. Elements come back LWS-trimmed;
// empty elements (",,") are returned as empty views so validators can reject them.
class ListIterator {
 public:
  explicit ListIterator(std::string_view value) : rest_(value), done_(TrimLws(value).empty()) {}
  bool Next(std::string_view& element);

 private:
  std::string_view rest_;
  bool done_;
};

// Replaces every fold (CRLF followed by SP/HTAB, with the whitespace after it) by one
// SP, as RFC 3261 7.3.1 allows. Returns raw itself when it holds no fold (no copy),
// a view into buffer otherwise, or nullopt when buffer is too small.
std::optional<std::string_view> Unfold(std::string_view raw, std::span<char> buffer);

// Compares two header values treating every run of LWS (folds included) as one SP.
bool EqualValuesIgnoringLws(std::string_view a, std::string_view b);

}  // namespace linegate::signaling::sip
