#include <gtest/gtest.h>

#include <set>

#include "control/callcontrol/number_manipulation.h"
#include "control/callcontrol/routing.h"

namespace linegate::callcontrol {
namespace {

TEST(ManipulationTest, EditsInOrder) {
  ManipulationRuleConfig r;
  r.strip_left = 1;
  r.prefix = "+1";
  EXPECT_EQ(ApplyEdits("12125551234", r), "+12125551234");
  r = {};
  r.strip_right = 2;
  r.suffix = "#";
  EXPECT_EQ(ApplyEdits("5551234", r), "55512#");
  r = {};
  r.leave = 4;
  r.prefix = "7";
  EXPECT_EQ(ApplyEdits("0312345678", r), "75678");  // leave the 4 rightmost, then prefix
  r = {};
  r.strip_left = 20;  // more than the number: empty, no crash
  r.strip_right = 3;
  EXPECT_EQ(ApplyEdits("123", r), "");
  r = {};
  r.leave = 10;
  EXPECT_EQ(ApplyEdits("123", r), "123");
}

TEST(ManipulationTest, FirstMatchWinsPerDirectionAndTarget) {
  NumberManipulationConfig config;
  // Tel-to-IP: national 0-prefixed -> E.164 Israel; 7-digit local -> add area code;
  // the calling number of line extensions 2xx gets a full DID.
  config.tel_to_ip.push_back({"intl", "00", "", ManipulatedNumber::kDestination, 2, 0, -1, "+", ""});
  config.tel_to_ip.push_back(
      {"national", "0[2-9]", "", ManipulatedNumber::kDestination, 1, 0, -1, "+972", ""});
  config.tel_to_ip.push_back({"never", "0", "", ManipulatedNumber::kDestination, 0, 0, -1, "999", ""});
  config.tel_to_ip.push_back(
      {"local", "[2-9]xxxxxx$", "", ManipulatedNumber::kDestination, 0, 0, -1, "+9723", ""});
  config.tel_to_ip.push_back({"did", "", "2xx$", ManipulatedNumber::kSource, 0, 0, -1, "+97236100", ""});
  // IP-to-Tel: a DID range maps onto the 3-digit extension.
  config.ip_to_tel.push_back({"ext", "+97236100", "", ManipulatedNumber::kDestination, 0, 0, 3, "", ""});
  auto m = NumberManipulation::Create(config);
  ASSERT_TRUE(m.ok()) << m.error();

  ManipulationResult r = m->Apply(CallDirection::kTelToIp, "0044207946", "201");
  EXPECT_EQ(r.destination, "+44207946");
  EXPECT_EQ(r.destination_rule, 0);
  EXPECT_EQ(r.source, "+97236100201");
  EXPECT_EQ(r.source_rule, 4);

  r = m->Apply(CallDirection::kTelToIp, "0312345678", "301");
  EXPECT_EQ(r.destination, "+972312345678");
  EXPECT_EQ(r.destination_rule, 1);
  EXPECT_EQ(r.source, "301");  // not 2xx
  EXPECT_EQ(r.source_rule, -1);

  r = m->Apply(CallDirection::kTelToIp, "5551234", "");
  EXPECT_EQ(r.destination, "+97235551234");
  r = m->Apply(CallDirection::kTelToIp, "55512345", "");  // exact '$' rule does not match 8 digits
  EXPECT_EQ(r.destination, "55512345");
  EXPECT_EQ(r.destination_rule, -1);

  r = m->Apply(CallDirection::kIpToTel, "+97236100201", "0521234567");
  EXPECT_EQ(r.destination, "201");
  r = m->Apply(CallDirection::kIpToTel, "97236100201", "");  // '+' in the pattern is literal
  EXPECT_EQ(r.destination, "97236100201");
  EXPECT_EQ(r.destination_rule, -1);
}

TEST(ManipulationTest, IpToTelLeaveDigits) {
  NumberManipulationConfig config;
  config.ip_to_tel.push_back({"ext", "9723610", "", ManipulatedNumber::kDestination, 0, 0, 3, "", ""});
  config.ip_to_tel.push_back({"cli", "", "00", ManipulatedNumber::kSource, 0, 0, -1, "0", ""});
  auto m = NumberManipulation::Create(config);
  ASSERT_TRUE(m.ok());
  ManipulationResult r = m->Apply(CallDirection::kIpToTel, "97236100201", "0012345");
  EXPECT_EQ(r.destination, "201");
  EXPECT_EQ(r.source, "00012345");
  // Tel-to-IP table is empty: nothing changes.
  r = m->Apply(CallDirection::kTelToIp, "97236100201", "0012345");
  EXPECT_EQ(r.destination, "97236100201");
}

TEST(ManipulationTest, RejectsBadRules) {
  NumberManipulationConfig config;
  config.tel_to_ip.push_back({"bad", "[2-", "", ManipulatedNumber::kDestination, 0, 0, -1, "", ""});
  EXPECT_FALSE(NumberManipulation::Create(config).ok());
  config.tel_to_ip = {{"neg", "", "", ManipulatedNumber::kDestination, -1, 0, -1, "", ""}};
  EXPECT_FALSE(NumberManipulation::Create(config).ok());
  config.tel_to_ip = {{"prefix", "", "", ManipulatedNumber::kDestination, 0, 0, -1, "sip:", ""}};
  EXPECT_FALSE(NumberManipulation::Create(config).ok());
}

// ---------------------------------------------------------------- Tel-to-IP

TelToIpConfig SampleTelToIp() {
  TelToIpConfig config;
  config.rules.push_back({"emergency", "911$", "", "", "192.0.2.50:5060"});
  config.rules.push_back({"intl-primary", "00", "", "carrier-a", ""});
  config.rules.push_back({"intl-backup", "00", "", "carrier-b", ""});
  config.rules.push_back({"intl-last", "00", "", "", "[2001:db8::5]:5070"});
  config.rules.push_back({"vip", "", "1xx$", "vip-trunk", ""});
  config.rules.push_back({"default", "*", "", "carrier-a", ""});
  return config;
}

TEST(TelToIpTest, FirstMatchAndLiteralAddress) {
  auto router = TelToIpRouter::Create(SampleTelToIp());
  ASSERT_TRUE(router.ok()) << router.error();
  TelToIpAttempt a = router->Route("911", "201");
  ASSERT_TRUE(a.current());
  EXPECT_EQ(a.current()->address, "192.0.2.50:5060");
  EXPECT_EQ(a.current()->rule_name, "emergency");
  a = router->Route("5551234", "101");
  EXPECT_EQ(a.current()->proxy_set, "vip-trunk");  // by source
  a = router->Route("5551234", "201");
  EXPECT_EQ(a.current()->rule_name, "default");
}

TEST(TelToIpTest, AlternativeRoutesOnConfiguredCodesOnly) {
  auto router = TelToIpRouter::Create(SampleTelToIp());
  ASSERT_TRUE(router.ok());
  TelToIpAttempt a = router->Route("0044207946", "201");
  EXPECT_EQ(a.current()->proxy_set, "carrier-a");
  EXPECT_EQ(a.OnFailure(503)->proxy_set, "carrier-b");
  EXPECT_EQ(a.OnFailure(408)->address, "[2001:db8::5]:5070");
  EXPECT_EQ(a.OnFailure(503)->rule_name, "default");  // "*" also matches
  EXPECT_FALSE(a.OnFailure(503));
  EXPECT_EQ(a.failure_code(), 503);
  EXPECT_EQ(a.attempts(), 4);

  TelToIpAttempt b = router->Route("0044207946", "201");
  EXPECT_FALSE(b.OnFailure(486));  // busy is final: no alternative
  EXPECT_EQ(b.failure_code(), 486);
  EXPECT_EQ(b.attempts(), 1);
}

TEST(TelToIpTest, SkipsProxySetsThatAreDown) {
  std::set<std::string, std::less<>> down = {"carrier-a"};
  auto router = TelToIpRouter::Create(SampleTelToIp(), [&](std::string_view s) { return down.contains(s); });
  ASSERT_TRUE(router.ok());
  TelToIpAttempt a = router->Route("0044207946", "201");
  EXPECT_EQ(a.current()->proxy_set, "carrier-b");
  // The callback is asked at each step: carrier-a is down, so "default" is skipped too.
  EXPECT_EQ(a.OnFailure(503)->rule_name, "intl-last");
  EXPECT_FALSE(a.OnFailure(503));
  down = {"carrier-a"};
  TelToIpAttempt local = router->Route("5551234", "201");
  EXPECT_FALSE(local.current());
  EXPECT_EQ(local.failure_code(), 503);
}

TEST(TelToIpTest, NoMatchingRuleIs404) {
  TelToIpConfig config;
  config.rules.push_back({"only-911", "911$", "", "", "192.0.2.50:5060"});
  auto router = TelToIpRouter::Create(config);
  ASSERT_TRUE(router.ok());
  TelToIpAttempt a = router->Route("5551234", "");
  EXPECT_FALSE(a.current());
  EXPECT_EQ(a.failure_code(), 404);
}

TEST(TelToIpTest, RejectsBadConfig) {
  TelToIpConfig config;
  config.rules.push_back({"both", "", "", "ps", "192.0.2.1:5060"});
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
  config.rules = {{"neither", "", "", "", ""}};
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
  config.rules = {{"port", "", "", "", "192.0.2.1:70000"}};
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
  config.rules = {{"noport", "", "", "", "192.0.2.1"}};
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
  config.rules = {{"v6", "", "", "", "[zz::1]:5060"}};
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
  config.rules = {{"ok", "", "", "", "sbc.example.net:5061"}};
  EXPECT_TRUE(TelToIpRouter::Create(config).ok());
  config.alternative_route_codes = {200};
  EXPECT_FALSE(TelToIpRouter::Create(config).ok());
}

// ---------------------------------------------------------------- IP-to-Tel

class IpToTelTest : public ::testing::Test {
 protected:
  IpToTelRouter Make(HuntMode mode, int busy_code = 486) {
    IpToTelConfig config;
    config.hunt_groups.push_back({"sales", {1, 2, 3, 4}, mode, busy_code});
    config.rules.push_back({"fax-from-pbx", "", "", "10.0.0.0/8", 8, ""});
    config.rules.push_back({"direct", "200$", "", "", 5, ""});
    config.rules.push_back({"sales", "3[0-4]x$", "", "", -1, "sales"});
    auto r = IpToTelRouter::Create(config, [this](int line) { return busy_.contains(line); });
    EXPECT_TRUE(r.ok()) << r.error();
    return std::move(r.value());
  }
  std::set<int> busy_;
};

TEST_F(IpToTelTest, MatchesBySourceIpCalledNumberAndUnknown) {
  IpToTelRouter r = Make(HuntMode::kSequential);
  IpToTelResult res = r.Route("200", "555", "10.1.2.3");
  EXPECT_EQ(res.kind, IpToTelResult::Kind::kLines);
  EXPECT_EQ(res.lines, std::vector<int>{8});
  res = r.Route("200", "555", "192.0.2.1");
  EXPECT_EQ(res.lines, std::vector<int>{5});
  EXPECT_TRUE(res.hunt_group.empty());
  res = r.Route("999", "555", "192.0.2.1");
  EXPECT_EQ(res.kind, IpToTelResult::Kind::kUnknownNumber);
  EXPECT_EQ(res.sip_code, 404);
  busy_ = {5};
  res = r.Route("200", "555", "192.0.2.1");
  EXPECT_EQ(res.kind, IpToTelResult::Kind::kAllBusy);
  EXPECT_EQ(res.sip_code, 486);
}

TEST_F(IpToTelTest, SequentialTakesFirstFreeFromTheStart) {
  IpToTelRouter r = Make(HuntMode::kSequential);
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{1});
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{1});
  busy_ = {1, 2};
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{3});
  EXPECT_EQ(r.Route("301", "", "").hunt_group, "sales");
}

TEST_F(IpToTelTest, CyclicContinuesAfterTheLastUsedLine) {
  IpToTelRouter r = Make(HuntMode::kCyclic);
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{1});
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{2});
  busy_ = {3};
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{4});
  busy_ = {};
  EXPECT_EQ(r.Route("301", "", "").lines, std::vector<int>{1});  // wraps
}

TEST_F(IpToTelTest, RingAllOffersEveryFreeLine) {
  IpToTelRouter r = Make(HuntMode::kRingAll);
  busy_ = {2};
  EXPECT_EQ(r.Route("310", "", "").lines, (std::vector<int>{1, 3, 4}));
}

TEST_F(IpToTelTest, AllBusyAnswersPerGroupConfiguration) {
  busy_ = {1, 2, 3, 4};
  for (HuntMode mode : {HuntMode::kSequential, HuntMode::kCyclic, HuntMode::kRingAll}) {
    IpToTelRouter r486 = Make(mode, 486);
    IpToTelResult res = r486.Route("301", "", "");
    EXPECT_EQ(res.kind, IpToTelResult::Kind::kAllBusy) << HuntModeName(mode);
    EXPECT_EQ(res.sip_code, 486);
    EXPECT_TRUE(res.lines.empty());
    IpToTelRouter r503 = Make(mode, 503);
    EXPECT_EQ(r503.Route("301", "", "").sip_code, 503);
  }
}

TEST(IpToTelConfigTest, RejectsBadConfig) {
  auto never = [](int) { return false; };
  IpToTelConfig config;
  config.rules.push_back({"g", "", "", "", -1, "nosuch"});
  EXPECT_FALSE(IpToTelRouter::Create(config, never).ok());
  config.rules = {{"both", "", "", "", 1, "g"}};
  config.hunt_groups = {{"g", {1}, HuntMode::kCyclic, 486}};
  EXPECT_FALSE(IpToTelRouter::Create(config, never).ok());
  config.rules = {{"ok", "", "", "", -1, "g"}};
  config.hunt_groups = {{"g", {1}, HuntMode::kCyclic, 480}};
  EXPECT_FALSE(IpToTelRouter::Create(config, never).ok());
  config.hunt_groups = {{"g", {}, HuntMode::kCyclic, 486}};
  EXPECT_FALSE(IpToTelRouter::Create(config, never).ok());
  config.hunt_groups = {{"g", {1}, HuntMode::kCyclic, 486}};
  EXPECT_TRUE(IpToTelRouter::Create(config, never).ok());
  EXPECT_FALSE(IpToTelRouter::Create(config, {}).ok());
  config.rules = {{"ip", "", "", "10.0.0.0/40", 1, ""}};
  EXPECT_FALSE(IpToTelRouter::Create(config, never).ok());
}

TEST(SourceIpTest, ExactPrefixAny) {
  EXPECT_TRUE(SourceIpMatches("", "192.0.2.1"));
  EXPECT_TRUE(SourceIpMatches("*", "2001:db8::1"));
  EXPECT_TRUE(SourceIpMatches("192.0.2.1", "192.0.2.1"));
  EXPECT_FALSE(SourceIpMatches("192.0.2.1", "192.0.2.10"));
  EXPECT_TRUE(SourceIpMatches("192.0.2.0/24", "192.0.2.200"));
  EXPECT_FALSE(SourceIpMatches("192.0.2.0/24", "192.0.3.1"));
  EXPECT_TRUE(SourceIpMatches("0.0.0.0/0", "203.0.113.9"));
  EXPECT_FALSE(SourceIpMatches("192.0.2.0/24", "2001:db8::1"));
}

}  // namespace
}  // namespace linegate::callcontrol
