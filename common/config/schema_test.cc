#include "common/config/schema.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace linegate::config::schema {
namespace {

void ForEachField(const Descriptor& type, const std::function<void(const FieldDescriptor&)>& visit) {
  for (int i = 0; i < type.field_count(); ++i) {
    visit(*type.field(i));
    if (type.field(i)->message_type() != nullptr) ForEachField(*type.field(i)->message_type(), visit);
  }
}

// config.proto stays within what the loader handles, and its rules make sense: a schema
// mistake fails here, not at an operator's start-up.
TEST(Schema, EveryFieldIsSupported) {
  ForEachField(*v1::Config::descriptor(),
               [](const FieldDescriptor& field) { EXPECT_TRUE(IsSupported(field)) << field.full_name(); });
}

TEST(Schema, EveryDefaultParsesAndIsInRange) {
  ForEachField(*v1::Config::descriptor(), [](const FieldDescriptor& field) {
    const std::string& text = RulesOf(field).default_value();
    if (text.empty()) return;
    EXPECT_NE(field.cpp_type(), FieldDescriptor::CPPTYPE_MESSAGE) << field.full_name();
    std::unique_ptr<Message> scratch(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(field.containing_type())->New());
    const Status stored = StoreText(text, field, *scratch);
    EXPECT_TRUE(stored.ok()) << field.full_name() << ": " << stored.error();
  });
}

TEST(Schema, RangesAreOrdered) {
  ForEachField(*v1::Config::descriptor(), [](const FieldDescriptor& field) {
    const v1::FieldRules& rules = RulesOf(field);
    if (rules.max() > 0) {
      EXPECT_LE(rules.min(), rules.max()) << field.full_name();
    }
  });
}

// A singular enum without a default would load as *_UNSPECIFIED, which no process can use.
TEST(Schema, EverySingularEnumHasADefault) {
  ForEachField(*v1::Config::descriptor(), [](const FieldDescriptor& field) {
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM && !field.is_repeated()) {
      EXPECT_FALSE(RulesOf(field).default_value().empty()) << field.full_name();
    }
  });
}

TEST(Schema, ShortNames) {
  EXPECT_EQ(ShortName(*v1::LogLevel_descriptor()->FindValueByNumber(v1::LOG_LEVEL_INFO)), "info");
  EXPECT_EQ(
      ShortName(*v1::PacketIoBackend_descriptor()->FindValueByNumber(v1::PACKET_IO_BACKEND_KERNEL_SOCKETS)),
      "kernel_sockets");
  EXPECT_EQ(ShortName(*v1::TdmDriver_descriptor()->FindValueByNumber(v1::TDM_DRIVER_SIM)), "sim");
  EXPECT_EQ(ShortName(*v1::SipTransport_descriptor()->FindValueByNumber(v1::SIP_TRANSPORT_UDP)), "udp");
  EXPECT_EQ(AcceptedNames(*v1::SipTransport_descriptor()), (std::vector<std::string>{"udp", "tcp", "tls"}));
}

TEST(Schema, Labels) {
  const Descriptor& media = *v1::Media::descriptor();
  EXPECT_EQ(RangeLabel(*media.FindFieldByName("process_count")), "[1, 256]");
  EXPECT_EQ(RangeLabel(*media.FindFieldByName("rtp_address")), "");
  EXPECT_EQ(DisplayDefault(*media.FindFieldByName("backend")), "kernel_sockets");
  EXPECT_EQ(TypeLabel(*v1::Signaling::descriptor()->FindFieldByName("transports")), "list of enum");
  EXPECT_EQ(TypeLabel(*v1::Tdm::descriptor()->FindFieldByName("cards")), "list of mapping");
}

// Types config.proto does not use today, through the well-known wrapper messages, so a
// new bool or signed field is handled as documented the day it is added.
template <typename Wrapper>
Status Store(std::string_view text, Wrapper& message) {
  return StoreText(text, *Wrapper::descriptor()->FindFieldByName("value"), message);
}

TEST(StoreText, BoolIsStrict) {
  google::protobuf::BoolValue value;
  EXPECT_TRUE(Store("true", value).ok());
  EXPECT_TRUE(value.value());
  EXPECT_TRUE(Store("false", value).ok());
  EXPECT_FALSE(value.value());
  for (const char* refused : {"yes", "no", "on", "off", "True", "1", ""}) {
    const Status stored = Store(refused, value);
    ASSERT_FALSE(stored.ok()) << refused;
    EXPECT_EQ(stored.error(), "expected true or false, got " + Quote(refused));
  }
}

TEST(StoreText, SignedIntegers) {
  google::protobuf::Int32Value small;
  EXPECT_TRUE(Store("-2147483648", small).ok());
  EXPECT_EQ(small.value(), -2147483648);
  EXPECT_EQ(Store("2147483648", small).error(), "value 2147483648 does not fit in a 32-bit signed integer");
  EXPECT_EQ(Store("-0", small).error(), "expected an integer, got \"-0\"");
  EXPECT_EQ(Store("--1", small).error(), "expected an integer, got \"--1\"");
  google::protobuf::Int64Value large;
  EXPECT_TRUE(Store("-9223372036854775808", large).ok());
  EXPECT_EQ(large.value(), INT64_MIN);
  EXPECT_EQ(Store("9223372036854775808", large).error(),
            "value 9223372036854775808 does not fit in a 64-bit signed integer");
  google::protobuf::UInt64Value unsigned_large;
  EXPECT_TRUE(Store("18446744073709551615", unsigned_large).ok());
  EXPECT_EQ(unsigned_large.value(), UINT64_MAX);
  EXPECT_EQ(Store("18446744073709551616", unsigned_large).error(),
            "value 18446744073709551616 does not fit in a 64-bit unsigned integer");
}

TEST(StoreText, Numbers) {
  google::protobuf::DoubleValue value;
  EXPECT_TRUE(Store("0.25", value).ok());
  EXPECT_DOUBLE_EQ(value.value(), 0.25);
  EXPECT_TRUE(Store("-2e-3", value).ok());
  EXPECT_DOUBLE_EQ(value.value(), -0.002);
  for (const char* refused : {".inf", "nan", "inf", "1.5x", "", " 1", "0x1p3"}) {
    EXPECT_EQ(Store(refused, value).error(), "expected a number, got " + Quote(refused)) << refused;
  }
  google::protobuf::FloatValue single;
  EXPECT_EQ(Store("1e39", single).error(), "value 1e39 does not fit in a 32-bit float");
}

TEST(StoreText, StringsMustBeUtf8) {
  google::protobuf::StringValue value;
  EXPECT_TRUE(Store("caf\xc3\xa9 \xf0\x9f\x93\x9e", value).ok());
  EXPECT_EQ(Store("a\xc0\xaf", value).error(),
            "text is not valid UTF-8 (byte 0xc0 at offset 1)");  // overlong
  EXPECT_EQ(Store("\xed\xa0\x80", value).error(),
            "text is not valid UTF-8 (byte 0xed at offset 0)");  // surrogate
  EXPECT_EQ(Store("\xf4\x90\x80\x80", value).error(), "text is not valid UTF-8 (byte 0xf4 at offset 0)");
  EXPECT_EQ(Store("ab\xe2\x82", value).error(),
            "text is not valid UTF-8 (byte 0xe2 at offset 2)");  // truncated
}

TEST(Quote, EscapesAndCuts) {
  EXPECT_EQ(Quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
  EXPECT_EQ(Quote(std::string(60, 'x')), "\"" + std::string(48, 'x') + "...\"");
  EXPECT_EQ(Quote("a\xff\xc3"), "\"a\\xff\\xc3\"");  // invalid UTF-8 shown as bytes
  // Never cut inside a UTF-8 sequence: 47 ASCII bytes then a two-byte character.
  EXPECT_EQ(Quote(std::string(47, 'x') + "\xc3\xa9" + "yz"), "\"" + std::string(47, 'x') + "\xc3\xa9...\"");
}

}  // namespace
}  // namespace linegate::config::schema
