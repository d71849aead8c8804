#include "common/bus/utf8.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <vector>

namespace linegate::bus {

// RFC 3629: whether text[at...] starts with one well-formed UTF-8 sequence (no
// overlongs, surrogates or code points above U+10FFFF); its length, else 0.
static size_t Utf8SequenceLength(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;  // bounds of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
  }
  return length;
}

void MakeUtf8(std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t length = Utf8SequenceLength(text, at);
    if (length != 0) {
      at += length;
      continue;
    }
    text.replace(at, 1, "\xEF\xBF\xBD");
    at += 3;
  }
}

void MakeUtf8Fields(google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          std::string value = reflection->GetRepeatedString(message, field, i);
          MakeUtf8(value);
          reflection->SetRepeatedString(&message, field, i, std::move(value));
        }
      } else {
        std::string value = reflection->GetString(message, field);
        MakeUtf8(value);
        reflection->SetString(&message, field, std::move(value));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          MakeUtf8Fields(*reflection->MutableRepeatedMessage(&message, field, i));
        }
      } else {
        MakeUtf8Fields(*reflection->MutableMessage(&message, field));
      }
    }
  }
}

}  // namespace linegate::bus
