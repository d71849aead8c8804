#include "control/callcontrol/digit_map.h"

#include <gtest/gtest.h>

namespace linegate::callcontrol {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kMap = "[2-9]xxxxxx|1[2-9]xxxxxxxxx|0T|00.T|911|*xx|x.T";

DigitPattern P(std::string_view text) {
  auto p = DigitPattern::Parse(text);
  EXPECT_TRUE(p.ok()) << p.error();
  return std::move(p.value());
}

TEST(DigitPatternTest, ParsesAndRejects) {
  EXPECT_TRUE(DigitPattern::Parse("[2-9]xxxxxx").ok());
  EXPECT_TRUE(DigitPattern::Parse("[13-5*#]x.T").ok());
  EXPECT_FALSE(DigitPattern::Parse("").ok());
  EXPECT_FALSE(DigitPattern::Parse(".1").ok());
  EXPECT_FALSE(DigitPattern::Parse("1..").ok());
  EXPECT_FALSE(DigitPattern::Parse("T").ok());
  EXPECT_FALSE(DigitPattern::Parse("1T2").ok());
  EXPECT_FALSE(DigitPattern::Parse("[2-9").ok());
  EXPECT_FALSE(DigitPattern::Parse("[]").ok());
  EXPECT_FALSE(DigitPattern::Parse("[9-2]").ok());
  EXPECT_FALSE(DigitPattern::Parse("12a").ok());
  EXPECT_FALSE(DigitMap::Parse("911||x.T").ok());
}

TEST(DigitPatternTest, SetsRangesAndAnyDigit) {
  const DigitPattern p = P("[2-9]xxxxxx");
  EXPECT_TRUE(p.Evaluate("2345678").full);
  EXPECT_FALSE(p.Evaluate("2345678").longer);
  EXPECT_FALSE(p.Evaluate("1234567").viable);
  EXPECT_TRUE(p.Evaluate("234").viable);
  EXPECT_FALSE(p.Evaluate("234").full);
  EXPECT_FALSE(p.Evaluate("23456789").viable);
  const DigitPattern set = P("[13-5*]");
  for (const char* yes : {"1", "3", "4", "5", "*"}) EXPECT_TRUE(set.Evaluate(yes).full) << yes;
  for (const char* no : {"2", "6", "#", "0"}) EXPECT_FALSE(set.Evaluate(no).viable) << no;
}

TEST(DigitPatternTest, DotRepeatsPreviousElementZeroOrMoreTimes) {
  const DigitPattern p = P("00.T");
  EXPECT_TRUE(p.timer());
  EXPECT_TRUE(p.Evaluate("0").full);  // zero repetitions
  EXPECT_TRUE(p.Evaluate("0000").full);
  EXPECT_TRUE(p.Evaluate("0000").longer);
  EXPECT_FALSE(p.Evaluate("001").viable);
  const DigitPattern any = P("9x.");
  EXPECT_TRUE(any.Evaluate("9").full);
  EXPECT_TRUE(any.Evaluate("9123456789").full);
  const DigitPattern mid = P("1x.2");
  EXPECT_TRUE(mid.Evaluate("12").full);
  EXPECT_TRUE(mid.Evaluate("1552").full);
  EXPECT_TRUE(mid.Evaluate("1552").longer);  // "15522" also matches
  EXPECT_FALSE(mid.Evaluate("155").full);
}

TEST(NumberPatternTest, PrefixExactAndAny) {
  auto any = NumberPattern::Parse("*");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->Matches(""));
  EXPECT_TRUE(any->Matches("123"));
  auto prefix = NumberPattern::Parse("9[5-7]");
  ASSERT_TRUE(prefix.ok());
  EXPECT_TRUE(prefix->Matches("9721234"));
  EXPECT_FALSE(prefix->Matches("9821234"));
  EXPECT_FALSE(prefix->Matches("9"));
  auto exact = NumberPattern::Parse("911$");
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->Matches("911"));
  EXPECT_FALSE(exact->Matches("9111"));
  EXPECT_FALSE(NumberPattern::Parse("1T").ok());
  auto plus = NumberPattern::Parse("+44");
  ASSERT_TRUE(plus.ok());
  EXPECT_TRUE(plus->Matches("+442079460000"));
  EXPECT_FALSE(plus->Matches("442079460000"));
  EXPECT_FALSE(prefix->Matches("+9721234"));
}

class CollectorTest : public ::testing::Test {
 protected:
  DigitCollector Make(DigitCollectorConfig config) {
    auto c = DigitCollector::Create(std::move(config), clock_);
    EXPECT_TRUE(c.ok()) << c.error();
    return std::move(c.value());
  }
  DigitCollector MakeDefault() {
    DigitCollectorConfig config;
    config.digit_map = kMap;
    return Make(config);
  }
  // Dials `digits` one second apart.
  void Dial(DigitCollector& c, std::string_view digits) {
    for (char d : digits) {
      clock_.Advance(seconds(1));
      c.OnDigit(d);
    }
  }
  ManualClock clock_;
};

TEST_F(CollectorTest, SevenDigitLocalNumberCompletesAtOnce) {
  DigitCollector c = MakeDefault();
  c.Start();
  EXPECT_EQ(c.state(), CollectState::kWaitFirstDigit);
  Dial(c, "234567");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  Dial(c, "8");
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().number, "2345678");
  EXPECT_EQ(c.result().rule, 0);
  EXPECT_EQ(c.result().rule_text, "[2-9]xxxxxx");
  EXPECT_EQ(c.result().reason, CompletionReason::kExactMatch);
  EXPECT_FALSE(c.deadline());
}

TEST_F(CollectorTest, LongDistanceAndEmergencyAndStarCode) {
  DigitCollector c = MakeDefault();
  c.Start();
  Dial(c, "12125551234");
  EXPECT_EQ(c.result().rule, 1);
  EXPECT_EQ(c.result().number, "12125551234");
  // "911" is also the start of a 7-digit number under "[2-9]xxxxxx": it completes on the
  // short timer, as the map says.
  c.Start();
  Dial(c, "911");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  EXPECT_EQ(*c.deadline(), clock_.Now() + seconds(4));
  clock_.Advance(seconds(4));
  EXPECT_EQ(c.Poll().rule_text, "911");
  DigitCollectorConfig config;
  config.digit_map = "911|[2-8]xxxxxx";
  DigitCollector strict = Make(config);
  strict.Start();
  Dial(strict, "911");
  EXPECT_EQ(strict.state(), CollectState::kComplete);
  EXPECT_EQ(strict.result().reason, CompletionReason::kExactMatch);
  c.Start();
  Dial(c, "*72");
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().rule_text, "*xx");
}

TEST_F(CollectorTest, TimerRuleCompletesOnShortInterDigitTimeout) {
  DigitCollector c = MakeDefault();
  c.Start();
  Dial(c, "0");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  ASSERT_TRUE(c.deadline());
  EXPECT_EQ(*c.deadline(), clock_.Now() + seconds(4));  // "0T" could complete: short timer
  clock_.Advance(milliseconds(3999));
  EXPECT_EQ(c.Poll().state, CollectState::kCollecting);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(c.Poll().state, CollectState::kComplete);
  EXPECT_EQ(c.result().number, "0");
  EXPECT_EQ(c.result().rule_text, "0T");
  EXPECT_EQ(c.result().reason, CompletionReason::kTimer);
}

TEST_F(CollectorTest, InternationalWithDotAndTimer) {
  DigitCollector c = MakeDefault();
  c.Start();
  Dial(c, "00972312345");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  clock_.Advance(seconds(4));
  c.Poll();
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().rule_text, "x.T");  // "00.T" allows only zeros after the first 0
  c.Start();
  Dial(c, "000");
  clock_.Advance(seconds(4));
  EXPECT_EQ(c.Poll().rule_text, "00.T");
}

TEST_F(CollectorTest, LongTimerWhenNoRuleCanCompleteYet) {
  DigitCollectorConfig config;
  config.digit_map = "[2-9]xxxxxx|911";
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "23");
  EXPECT_EQ(*c.deadline(), clock_.Now() + seconds(16));
  clock_.Advance(seconds(16));
  c.Poll();
  EXPECT_EQ(c.state(), CollectState::kTimedOut);
  EXPECT_EQ(c.result().number, "23");
}

TEST_F(CollectorTest, AmbiguousExactMatchWaitsShortTimerThenTakesShorterRule) {
  DigitCollectorConfig config;
  config.digit_map = "1xx|1xxx";
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "123");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  EXPECT_EQ(*c.deadline(), clock_.Now() + seconds(4));
  clock_.Advance(seconds(4));
  EXPECT_EQ(c.Poll().rule_text, "1xx");
  c.Start();
  Dial(c, "1234");
  EXPECT_EQ(c.result().rule_text, "1xxx");
  EXPECT_EQ(c.result().reason, CompletionReason::kExactMatch);
}

TEST_F(CollectorTest, NoMatchIsReportedOnTheFirstImpossibleDigit) {
  DigitCollectorConfig config;
  config.digit_map = "[2-9]xxxxxx|911";
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "1");
  EXPECT_EQ(c.state(), CollectState::kNoMatch);
  EXPECT_EQ(c.result().number, "1");
  Dial(c, "2");  // ignored after a final state
  EXPECT_EQ(c.result().number, "1");
}

TEST_F(CollectorTest, TerminatorCompletesMatchOrReportsNoMatch) {
  DigitCollectorConfig config;
  config.digit_map = "0T|[2-9]xxxxxx";
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "0#");
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().number, "0");
  EXPECT_EQ(c.result().reason, CompletionReason::kTerminator);
  c.Start();
  Dial(c, "23#");
  EXPECT_EQ(c.state(), CollectState::kNoMatch);
  config.terminator_completes_unmatched = true;
  DigitCollector lax = Make(config);
  lax.Start();
  Dial(lax, "23#");
  EXPECT_EQ(lax.state(), CollectState::kComplete);
  EXPECT_EQ(lax.result().rule, -1);
  EXPECT_EQ(lax.result().number, "23");
}

TEST_F(CollectorTest, ConfigurableTerminator) {
  DigitCollectorConfig config;
  config.digit_map = "x.T";
  config.terminator = '*';
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "12#*");
  EXPECT_EQ(c.state(), CollectState::kNoMatch);  // '#' is a digit here and x.T rejects it
  config.digit_map = "";
  DigitCollector nomap = Make(config);
  nomap.Start();
  Dial(nomap, "12#3*");
  EXPECT_EQ(nomap.state(), CollectState::kComplete);
  EXPECT_EQ(nomap.result().number, "12#3");
  config.terminator = 'A';
  EXPECT_FALSE(DigitCollector::Create(config, clock_).ok());
}

TEST_F(CollectorTest, FirstDigitTimeout) {
  DigitCollector c = MakeDefault();
  c.Start();
  clock_.Advance(seconds(15));
  EXPECT_EQ(c.Poll().state, CollectState::kWaitFirstDigit);
  clock_.Advance(seconds(1));
  EXPECT_EQ(c.Poll().state, CollectState::kTimedOut);
  EXPECT_TRUE(c.result().number.empty());
}

TEST_F(CollectorTest, HotlineDialsAfterDelayWithoutDigits) {
  DigitCollectorConfig config;
  config.digit_map = kMap;
  config.hotline_number = "5551000";
  config.hotline_delay = milliseconds(2500);
  DigitCollector c = Make(config);
  c.Start();
  clock_.Advance(milliseconds(2499));
  EXPECT_EQ(c.Poll().state, CollectState::kWaitFirstDigit);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(c.Poll().state, CollectState::kComplete);
  EXPECT_EQ(c.result().number, "5551000");
  EXPECT_EQ(c.result().reason, CompletionReason::kHotline);
  // A digit before the delay cancels the hot-line.
  c.Start();
  clock_.Advance(milliseconds(1000));
  c.OnDigit('*');
  clock_.Advance(milliseconds(2000));
  c.OnDigit('7');
  c.OnDigit('2');
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().number, "*72");
}

TEST_F(CollectorTest, DigitTimestampsAfterAnExpiredTimerAreIgnored) {
  DigitCollectorConfig config;
  config.digit_map = "[2-9]xxxxxx";
  DigitCollector c = Make(config);
  const TimePoint t0 = clock_.Now();
  c.Start(t0);
  c.OnDigit('2', t0 + seconds(1));
  c.OnDigit('3', t0 + seconds(18));  // 17 s after '2': the long timer (16 s) expired first
  EXPECT_EQ(c.state(), CollectState::kTimedOut);
  EXPECT_EQ(c.result().number, "2");
}

TEST_F(CollectorTest, MaxDigitsWithoutMap) {
  DigitCollectorConfig config;
  config.max_digits = 4;
  DigitCollector c = Make(config);
  c.Start();
  Dial(c, "123");
  EXPECT_EQ(c.state(), CollectState::kCollecting);
  Dial(c, "4");
  EXPECT_EQ(c.state(), CollectState::kComplete);
  EXPECT_EQ(c.result().reason, CompletionReason::kMaxDigits);
  c.Start();
  Dial(c, "12");
  clock_.Advance(seconds(4));
  EXPECT_EQ(c.Poll().state, CollectState::kComplete);
  EXPECT_EQ(c.result().number, "12");
}

TEST_F(CollectorTest, ResetReturnsToIdle) {
  DigitCollector c = MakeDefault();
  c.Start();
  Dial(c, "12");
  c.Reset();
  EXPECT_EQ(c.state(), CollectState::kIdle);
  EXPECT_FALSE(c.deadline());
  c.OnDigit('1');
  EXPECT_EQ(c.state(), CollectState::kIdle);
}

}  // namespace
}  // namespace linegate::callcontrol
