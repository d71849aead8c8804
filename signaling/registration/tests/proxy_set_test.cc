#include "signaling/registration/proxy_set.h"

#include <gtest/gtest.h>

#include <vector>

#include "signaling/registration/tests/test_support.h"

namespace linegate::signaling::registration {
namespace {

using std::chrono::seconds;
using testing::Address;
using testing::FakeRequestChannel;
using testing::SeededRandom;
using testing::SentRequest;
using testing::Udp;

class ProxySetTest : public ::testing::Test {
 protected:
  std::unique_ptr<ProxySet> Make(Duration interval, int failures_to_down) {
    ProxySetConfig config;
    config.id = "ps";
    config.proxies = {Udp("198.51.100.1"), Udp("198.51.100.2"), Udp("198.51.100.3")};
    config.keepalive_interval = interval;
    config.keepalive_failures_to_down = failures_to_down;
    auto set = std::make_unique<ProxySet>(
        config, scheduler_, channel_, random_,
        [](transport::Protocol) { return std::optional(Address("192.0.2.10", 5060)); }, "linegate");
    set->set_listener([this](const ProxySet&, size_t from, size_t to) { changes_.push_back({from, to}); });
    return set;
  }

  ManualScheduler scheduler_;
  FakeRequestChannel channel_{scheduler_};
  SeededRandom random_{1};
  std::vector<std::pair<size_t, size_t>> changes_;
  const transport::SocketAddress p1_ = Address("198.51.100.1", 5060);
  const transport::SocketAddress p2_ = Address("198.51.100.2", 5060);
  const transport::SocketAddress p3_ = Address("198.51.100.3", 5060);
};

TEST_F(ProxySetTest, KeepAliveProbesEveryProxyAtTheInterval) {
  auto set = Make(seconds(30), 2);
  set->Start();
  ASSERT_EQ(channel_.Count("OPTIONS"), 3u);
  const SentRequest& first = *channel_.All("OPTIONS")[0];
  EXPECT_TRUE(first.to.address == p1_);
  EXPECT_EQ(first.Parsed().request_uri_text(), "sip:198.51.100.1:5060");
  EXPECT_EQ(first.Parsed().max_forwards(), 70);
  for (const transport::SocketAddress& p : {p1_, p2_, p3_}) channel_.AnswerKeepAlives(p, true);
  EXPECT_EQ(set->health(0), ProxyHealth::kAlive);

  scheduler_.Advance(seconds(29));
  EXPECT_EQ(channel_.Count("OPTIONS"), 3u);
  scheduler_.Advance(seconds(1));
  EXPECT_EQ(channel_.Count("OPTIONS"), 6u);
  // CSeq rises within the set's one Call-ID.
  const std::vector<SentRequest*> all = channel_.All("OPTIONS");
  EXPECT_EQ(all[0]->Parsed().call_id(), all[5]->Parsed().call_id());
  EXPECT_LT(all[0]->CSeq(), all[5]->CSeq());

  // An unanswered probe is not doubled.
  scheduler_.Advance(seconds(30));
  EXPECT_EQ(channel_.Count("OPTIONS"), 6u);
  EXPECT_EQ(set->counters().keepalives_sent, 6u);
}

TEST_F(ProxySetTest, DownAfterNFailuresThenHomesBack) {
  auto set = Make(seconds(30), 2);
  set->Start();
  EXPECT_EQ(set->ActiveIndex(), 0u);
  channel_.AnswerKeepAlives(p1_, false);
  channel_.AnswerKeepAlives(p2_, true);
  channel_.AnswerKeepAlives(p3_, true);
  EXPECT_EQ(set->health(0), ProxyHealth::kUnknown) << "one failure is not enough";
  EXPECT_EQ(set->ActiveIndex(), 0u);

  scheduler_.Advance(seconds(30));
  channel_.AnswerKeepAlives(p1_, false);
  EXPECT_EQ(set->health(0), ProxyHealth::kDown);
  EXPECT_EQ(set->ActiveIndex(), 1u);
  EXPECT_TRUE(set->Active().address == p2_);
  EXPECT_EQ(set->counters().failovers, 1u);

  // Any final response, even 503, means reachable: the primary is active again.
  scheduler_.Advance(seconds(30));
  for (SentRequest* request : channel_.Pending("OPTIONS")) {
    if (request->to.address == p1_) channel_.Answer(*request, 503, "Service Unavailable");
  }
  EXPECT_EQ(set->health(0), ProxyHealth::kAlive);
  EXPECT_EQ(set->ActiveIndex(), 0u);
  EXPECT_EQ(set->counters().homings, 1u);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[0], std::make_pair(size_t{0}, size_t{1}));
  EXPECT_EQ(changes_[1], std::make_pair(size_t{1}, size_t{0}));
}

TEST_F(ProxySetTest, RequestFailuresMoveDownTheListAndAllDownStartsAgain) {
  auto set = Make(Duration::zero(), 3);
  set->Start();
  EXPECT_EQ(channel_.Count("OPTIONS"), 0u) << "keep-alive disabled";
  set->ReportFailure(0);
  EXPECT_EQ(set->ActiveIndex(), 1u);
  set->ReportFailure(0);  // already down: nothing changes
  EXPECT_EQ(set->ActiveIndex(), 1u);
  set->ReportFailure(2);
  EXPECT_EQ(set->ActiveIndex(), 1u) << "a lower priority failure does not move the active proxy";
  set->ReportFailure(1);
  EXPECT_EQ(set->ActiveIndex(), 0u) << "all down: start again from the primary";
  EXPECT_EQ(set->health(0), ProxyHealth::kUnknown);
  EXPECT_EQ(set->health(2), ProxyHealth::kUnknown);
  EXPECT_EQ(set->counters().all_down_resets, 1u);
  EXPECT_EQ(set->counters().request_failures, 4u);
}

TEST_F(ProxySetTest, DestroyedSetIgnoresLateResults) {
  auto set = Make(seconds(10), 1);
  set->Start();
  std::vector<SentRequest*> pending = channel_.Pending("OPTIONS");
  set.reset();
  EXPECT_EQ(scheduler_.pending(), 0u) << "the keep-alive timer is cancelled";
  channel_.TimeOut(*pending[0]);  // must not touch the destroyed set
  channel_.Answer(*pending[1], 200, "OK");
}

}  // namespace
}  // namespace linegate::signaling::registration
