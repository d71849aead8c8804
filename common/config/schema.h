#pragma once
// Reading the configuration schema: the FieldRules option of a field, the names operators
// may write for enum values, and the text form of scalar values. The loader and the
// configuration reference both use these functions, so what the reference says is what
// the loader accepts.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "linegate/config/v1/config.pb.h"

namespace linegate::config::schema {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The (rules) option of a field; the default instance when the field has none.
const v1::FieldRules& RulesOf(const FieldDescriptor& field);

// True when the schema bounds the field's value (max > 0, or a non-zero min alone).
bool HasRange(const v1::FieldRules& rules);

// The operator's name for an enum value: the value name without the enum's prefix, in
// lower case (LOG_LEVEL_INFO -> info).
std::string ShortName(const EnumValueDescriptor& value);

// Short names an operator may write, in declaration order; *_UNSPECIFIED is left out.
std::vector<std::string> AcceptedNames(const EnumDescriptor& type);

// What a value of this field looks like, as in "expected <...>": "an unsigned integer",
// "true or false", "one of trace, debug, info".
std::string Expected(const FieldDescriptor& field);

// The type column of the reference: "unsigned integer", "list of enum", "section".
std::string TypeLabel(const FieldDescriptor& field);

// The default as an operator would write it (enum short names, lists as [a, b]); empty
// when the field has no default.
std::string DisplayDefault(const FieldDescriptor& field);

// "[1, 256]", ">= 50" or "" for the reference.
std::string RangeLabel(const FieldDescriptor& field);

// Parses text as a value of field, checks it against the field's range and stores it in
// message (appended when the field is repeated). The error is the operator-facing
// reason, without location or field path.
Status StoreText(std::string_view text, const FieldDescriptor& field, Message& message);

// The scalar types the loader handles; a schema test keeps config.proto within them.
bool IsSupported(const FieldDescriptor& field);

// Text quoted for a one-line message: control characters escaped, long text cut.
std::string Quote(std::string_view text);

}  // namespace linegate::config::schema
