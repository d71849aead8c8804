#include "common/config/schema.h"

#include <fmt/format.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace linegate::config::schema {
namespace {

using google::protobuf::Reflection;

constexpr std::string_view kUnspecified = "UNSPECIFIED";
// Long enough to recognise the value in a message, short enough to keep it one line.
constexpr size_t kMaxQuotedChars = 48;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Length of the well-formed UTF-8 sequence starting at text[pos] (RFC 3629 4), or 0 when
// the bytes there are not one: no overlong forms, no surrogates, nothing past U+10FFFF.
size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_min = 0xa0;
    if (lead == 0xed) second_max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_min = 0x90;
    if (lead == 0xf4) second_max = 0x8f;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(pos + 1) < second_min || byte(pos + 1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if ((byte(pos + i) & 0xc0) != 0x80) return 0;
  }
  return length;
}

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
size_t FirstInvalidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = Utf8SequenceLength(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

// Prefix shared by the values of an enum: LOG_LEVEL_ for LogLevel. Taken from the
// *_UNSPECIFIED zero value when there is one (style rule 13 says there always is), else
// derived from the type name the way protobuf style names values.
std::string EnumPrefix(const EnumDescriptor& type) {
  const EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero != nullptr) {
    std::string_view name = zero->name();
    if (name.size() > kUnspecified.size() && name.ends_with(kUnspecified)) {
      return std::string(name.substr(0, name.size() - kUnspecified.size()));
    }
  }
  std::string prefix;
  for (size_t i = 0; i < type.name().size(); ++i) {
    const char c = type.name()[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) prefix.push_back('_');
    prefix.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return prefix + "_";
}

bool IsUnspecified(const EnumValueDescriptor& value) {
  return value.number() == 0 && std::string_view(value.name()).ends_with(kUnspecified);
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Decimal digits only, no sign, no leading zero: "010" is octal in YAML 1.1 and decimal in
// 1.2, so the loader refuses to guess.
bool IsPlainDecimal(std::string_view digits) {
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return digits.size() == 1 || digits[0] != '0';
}

bool IsUnsignedType(FieldDescriptor::CppType type) {
  return type == FieldDescriptor::CPPTYPE_UINT32 || type == FieldDescriptor::CPPTYPE_UINT64;
}

bool Is32Bit(FieldDescriptor::CppType type) {
  return type == FieldDescriptor::CPPTYPE_INT32 || type == FieldDescriptor::CPPTYPE_UINT32;
}

std::string WidthName(FieldDescriptor::CppType type) {
  return fmt::format("a {}-bit {} integer", Is32Bit(type) ? 32 : 64,
                     IsUnsignedType(type) ? "unsigned" : "signed");
}

Error RangeError(std::string_view value, const v1::FieldRules& rules) {
  if (rules.max() > 0) {
    return Error{fmt::format("value {} is out of range [{}, {}]", value, rules.min(), rules.max())};
  }
  return Error{fmt::format("value {} is below the minimum {}", value, rules.min())};
}

// Parses a decimal integer of the field's width and checks the schema range; the result
// is stored as int64 or uint64 and narrowed by the caller (the width is already checked).
struct ParsedInteger {
  int64_t as_signed = 0;
  uint64_t as_unsigned = 0;
};

Result<ParsedInteger> ParseInteger(std::string_view text, const FieldDescriptor& field) {
  const FieldDescriptor::CppType type = field.cpp_type();
  const bool is_unsigned = IsUnsignedType(type);
  const bool negative = !text.empty() && text[0] == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  if (!IsPlainDecimal(digits) || (negative && digits == "0")) {
    return Error{fmt::format("expected {}, got {}", Expected(field), Quote(text))};
  }
  if (is_unsigned && negative) {
    return Error{fmt::format("value {} is negative; expected {}", text, Expected(field))};
  }
  const v1::FieldRules& rules = RulesOf(field);
  ParsedInteger parsed;
  const char* end = text.data() + text.size();
  if (is_unsigned) {
    auto [ptr, ec] = std::from_chars(text.data(), end, parsed.as_unsigned);
    const uint64_t limit =
        Is32Bit(type) ? std::numeric_limits<uint32_t>::max() : std::numeric_limits<uint64_t>::max();
    if (ec != std::errc() || ptr != end || parsed.as_unsigned > limit) {
      return Error{fmt::format("value {} does not fit in {}", text, WidthName(type))};
    }
    if (HasRange(rules)) {
      const bool below = rules.min() > 0 && parsed.as_unsigned < static_cast<uint64_t>(rules.min());
      const bool above = rules.max() > 0 && parsed.as_unsigned > static_cast<uint64_t>(rules.max());
      if (below || above) return RangeError(text, rules);
    }
  } else {
    auto [ptr, ec] = std::from_chars(text.data(), end, parsed.as_signed);
    const bool narrow = Is32Bit(type) && (parsed.as_signed < std::numeric_limits<int32_t>::min() ||
                                          parsed.as_signed > std::numeric_limits<int32_t>::max());
    if (ec != std::errc() || ptr != end || narrow) {
      return Error{fmt::format("value {} does not fit in {}", text, WidthName(type))};
    }
    if (HasRange(rules) &&
        (parsed.as_signed < rules.min() || (rules.max() > 0 && parsed.as_signed > rules.max()))) {
      return RangeError(text, rules);
    }
  }
  return parsed;
}

Result<double> ParseNumber(std::string_view text, const FieldDescriptor& field) {
  double value = 0;
  const char* end = text.data() + text.size();
  // from_chars takes no leading '+' or spaces and no hex: decimal text only, as for integers.
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return Error{fmt::format("expected {}, got {}", Expected(field), Quote(text))};
  }
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_FLOAT &&
      std::fabs(value) > std::numeric_limits<float>::max()) {
    return Error{fmt::format("value {} does not fit in a 32-bit float", text)};
  }
  const v1::FieldRules& rules = RulesOf(field);
  if (HasRange(rules) && (value < static_cast<double>(rules.min()) ||
                          (rules.max() > 0 && value > static_cast<double>(rules.max())))) {
    return RangeError(text, rules);
  }
  return value;
}

Result<const EnumValueDescriptor*> ParseEnum(std::string_view text, const FieldDescriptor& field) {
  const EnumDescriptor& type = *field.enum_type();
  const std::string wanted = Lower(text);
  for (int i = 0; i < type.value_count(); ++i) {
    const EnumValueDescriptor& value = *type.value(i);
    if (wanted != Lower(value.name()) && wanted != ShortName(value)) continue;
    if (IsUnspecified(value)) {
      return Error{fmt::format("value {} is not allowed; expected {}", Quote(text), Expected(field))};
    }
    return &value;
  }
  return Error{fmt::format("expected {}, got {}", Expected(field), Quote(text))};
}

}  // namespace

const v1::FieldRules& RulesOf(const FieldDescriptor& field) {
  return field.options().GetExtension(v1::rules);
}

bool HasRange(const v1::FieldRules& rules) { return rules.max() > 0 || rules.min() != 0; }

std::string ShortName(const EnumValueDescriptor& value) {
  const std::string prefix = EnumPrefix(*value.type());
  std::string_view name = value.name();
  if (name.size() > prefix.size() && name.starts_with(prefix)) name.remove_prefix(prefix.size());
  return Lower(name);
}

std::vector<std::string> AcceptedNames(const EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (!IsUnspecified(*type.value(i))) names.push_back(ShortName(*type.value(i)));
  }
  return names;
}

std::string Expected(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "an unsigned integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "one of " + JoinNames(AcceptedNames(*field.enum_type()));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a mapping";
  }
  return "a value";
}

std::string TypeLabel(const FieldDescriptor& field) {
  std::string label;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      label = "integer";
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      label = "unsigned integer";
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      label = "number";
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      label = "boolean";
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      label = "string";
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      label = "enum";
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      label = field.is_repeated() ? "mapping" : "section";
      break;
  }
  return field.is_repeated() ? "list of " + label : label;
}

std::string DisplayDefault(const FieldDescriptor& field) {
  const std::string& text = RulesOf(field).default_value();
  if (text.empty()) return "";
  const auto display = [&field](std::string_view item) {
    if (field.cpp_type() != FieldDescriptor::CPPTYPE_ENUM) return std::string(item);
    const EnumValueDescriptor* value = field.enum_type()->FindValueByName(std::string(item));
    return value != nullptr ? ShortName(*value) : std::string(item);
  };
  if (!field.is_repeated()) return display(text);
  // A list default is written "a,b" in the schema.
  std::string out = "[";
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out += (start == 0 ? "" : ", ") + display(std::string_view(text).substr(start, comma - start));
    start = comma + 1;
  }
  return out + "]";
}

std::string RangeLabel(const FieldDescriptor& field) {
  const v1::FieldRules& rules = RulesOf(field);
  if (!HasRange(rules)) return "";
  if (rules.max() > 0) return fmt::format("[{}, {}]", rules.min(), rules.max());
  return fmt::format(">= {}", rules.min());
}

Status StoreText(std::string_view text, const FieldDescriptor& field, Message& message) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      Result<ParsedInteger> parsed = ParseInteger(text, field);
      if (!parsed.ok()) return Error{parsed.error()};
      const ParsedInteger value = *parsed;
      switch (field.cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          repeated ? reflection.AddInt32(&message, &field, static_cast<int32_t>(value.as_signed))
                   : reflection.SetInt32(&message, &field, static_cast<int32_t>(value.as_signed));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          repeated ? reflection.AddInt64(&message, &field, value.as_signed)
                   : reflection.SetInt64(&message, &field, value.as_signed);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          repeated ? reflection.AddUInt32(&message, &field, static_cast<uint32_t>(value.as_unsigned))
                   : reflection.SetUInt32(&message, &field, static_cast<uint32_t>(value.as_unsigned));
          break;
        default:
          repeated ? reflection.AddUInt64(&message, &field, value.as_unsigned)
                   : reflection.SetUInt64(&message, &field, value.as_unsigned);
          break;
      }
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      Result<double> parsed = ParseNumber(text, field);
      if (!parsed.ok()) return Error{parsed.error()};
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        repeated ? reflection.AddFloat(&message, &field, static_cast<float>(*parsed))
                 : reflection.SetFloat(&message, &field, static_cast<float>(*parsed));
      } else {
        repeated ? reflection.AddDouble(&message, &field, *parsed)
                 : reflection.SetDouble(&message, &field, *parsed);
      }
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      // Only the two YAML 1.2 words: yes/no/on/off are YAML 1.1 and famously surprising.
      if (text != "true" && text != "false") {
        return Error{fmt::format("expected {}, got {}", Expected(field), Quote(text))};
      }
      repeated ? reflection.AddBool(&message, &field, text == "true")
               : reflection.SetBool(&message, &field, text == "true");
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      // proto3 strings are UTF-8: a process receiving the config over the bus would fail
      // to parse it, far from the file that caused it.
      // The value is not echoed: it may be a password.
      if (const size_t bad = FirstInvalidUtf8(text);
          field.type() == FieldDescriptor::TYPE_STRING && bad != std::string_view::npos) {
        return Error{fmt::format("text is not valid UTF-8 (byte 0x{:02x} at offset {})",
                                 static_cast<unsigned char>(text[bad]), bad)};
      }
      repeated ? reflection.AddString(&message, &field, std::string(text))
               : reflection.SetString(&message, &field, std::string(text));
      return Status::Ok();
    case FieldDescriptor::CPPTYPE_ENUM: {
      Result<const EnumValueDescriptor*> parsed = ParseEnum(text, field);
      if (!parsed.ok()) return Error{parsed.error()};
      repeated ? reflection.AddEnum(&message, &field, *parsed)
               : reflection.SetEnum(&message, &field, *parsed);
      return Status::Ok();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Error{fmt::format("expected {}, got {}", Expected(field), Quote(text))};
}

bool IsSupported(const FieldDescriptor& field) {
  if (field.is_map() || field.type() == FieldDescriptor::TYPE_BYTES ||
      field.type() == FieldDescriptor::TYPE_GROUP) {
    return false;
  }
  return true;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  size_t shown = 0;
  for (size_t pos = 0; pos < text.size(); ++shown) {
    if (shown == kMaxQuotedChars) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[pos]);
    // Whole UTF-8 characters are copied, so the message is valid text and never cut
    // inside a character; anything else is shown as escaped bytes.
    const size_t length = Utf8SequenceLength(text, pos);
    if (byte == '"' || byte == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(byte));
    } else if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f || length == 0) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.append(text.substr(pos, length));
      pos += length;
      continue;
    }
    ++pos;
  }
  out.push_back('"');
  return out;
}

}  // namespace linegate::config::schema
