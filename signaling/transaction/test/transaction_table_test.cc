// Structural checks of the four state tables: each (state, event) has at most one row,
// every machine uses only its own states (RFC 3261 figures 5-8), every state is
// reachable and can reach Terminated, and every name prints.

#include "signaling/transaction/transaction_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace linegate::signaling::transaction {
namespace {

using S = TransactionState;

struct MachineCase {
  TransactionKind kind;
  std::set<S> states;  // RFC 3261 figure 5, 6, 7 or 8
};
void PrintTo(const MachineCase& c, std::ostream* os) { *os << TransactionKindName(c.kind); }

const MachineCase kMachines[] = {
    {TransactionKind::kInviteClient, {S::kCalling, S::kProceeding, S::kCompleted, S::kTerminated}},
    {TransactionKind::kNonInviteClient, {S::kTrying, S::kProceeding, S::kCompleted, S::kTerminated}},
    {TransactionKind::kInviteServer, {S::kProceeding, S::kCompleted, S::kConfirmed, S::kTerminated}},
    {TransactionKind::kNonInviteServer, {S::kTrying, S::kProceeding, S::kCompleted, S::kTerminated}},
};

class MachineTest : public ::testing::TestWithParam<MachineCase> {};

TEST_P(MachineTest, OneRowPerStateAndEvent) {
  std::set<std::pair<S, TransactionEvent>> seen;
  for (const Transition& row : TransitionTable(GetParam().kind)) {
    EXPECT_TRUE(seen.insert({row.state, row.event}).second)
        << TransactionStateName(row.state) << " + " << TransactionEventName(row.event);
    EXPECT_EQ(FindTransition(GetParam().kind, row.state, row.event), &row);
  }
}

TEST_P(MachineTest, UsesExactlyTheStatesOfItsFigure) {
  std::set<S> used{InitialState(GetParam().kind)};
  for (const Transition& row : TransitionTable(GetParam().kind)) {
    EXPECT_NE(row.state, S::kTerminated) << "no event leaves Terminated";
    used.insert(row.state);
    used.insert(row.next);
  }
  EXPECT_EQ(used, GetParam().states);
}

TEST_P(MachineTest, EveryStateIsReachableAndReachesTerminated) {
  const auto table = TransitionTable(GetParam().kind);
  std::set<S> reached{InitialState(GetParam().kind)};
  for (bool grew = true; grew;) {
    grew = false;
    for (const Transition& row : table) {
      if (reached.contains(row.state) && reached.insert(row.next).second) grew = true;
    }
  }
  EXPECT_EQ(reached, GetParam().states);
  std::set<S> finishing{S::kTerminated};
  for (bool grew = true; grew;) {
    grew = false;
    for (const Transition& row : table) {
      if (finishing.contains(row.next) && finishing.insert(row.state).second) grew = true;
    }
  }
  EXPECT_EQ(finishing, GetParam().states);
}

TEST_P(MachineTest, ActionsArePackedAtTheFront) {
  for (const Transition& row : TransitionTable(GetParam().kind)) {
    bool ended = false;
    for (TransactionAction action : row.actions) {
      if (action == TransactionAction::kNone) ended = true;
      EXPECT_FALSE(ended && action != TransactionAction::kNone)
          << TransactionStateName(row.state) << " + " << TransactionEventName(row.event);
    }
  }
}

// RFC 3261 17.1.4, 17.2.4: wherever a row sends, a failed send must have somewhere to
// go: the state it leads to handles kTransportError (or it is Terminated, where the layer
// reports the failure before destroying the transaction).
TEST_P(MachineTest, EverySendingRowLeadsToAStateThatHandlesTransportErrors) {
  for (const Transition& row : TransitionTable(GetParam().kind)) {
    bool sends = false;
    for (TransactionAction action : row.actions) {
      sends = sends || action == TransactionAction::kSendRequest ||
              action == TransactionAction::kRetransmitRequest || action == TransactionAction::kSendAck ||
              action == TransactionAction::kResendAck || action == TransactionAction::kSendResponse ||
              action == TransactionAction::kResendResponse || action == TransactionAction::kSendTrying;
    }
    if (!sends || row.next == S::kTerminated) continue;
    EXPECT_NE(FindTransition(GetParam().kind, row.next, TransactionEvent::kTransportError), nullptr)
        << TransactionStateName(row.state) << " + " << TransactionEventName(row.event);
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, MachineTest, ::testing::ValuesIn(kMachines), [](const auto& case_info) {
  return std::string(TransactionKindName(case_info.param.kind));
});

// Pairs the RFC leaves out, which the layer must count as illegal rather than act on.
struct IllegalCase {
  TransactionKind kind;
  S state;
  TransactionEvent event;
};

TEST(TransitionTableTest, EventsOutsideTheFiguresAreIllegal) {
  const IllegalCase cases[] = {
      {TransactionKind::kInviteClient, S::kCalling, TransactionEvent::kCancelSent},  // 9.1: wait for a 1xx
      {TransactionKind::kInviteClient, S::kCompleted, TransactionEvent::kSuccess},
      {TransactionKind::kInviteClient, S::kCompleted, TransactionEvent::kTimerA},
      {TransactionKind::kNonInviteClient, S::kCompleted, TransactionEvent::kTimerE},
      {TransactionKind::kInviteServer, S::kProceeding, TransactionEvent::kAck},
      {TransactionKind::kInviteServer, S::kCompleted, TransactionEvent::kTuFailure},
      {TransactionKind::kInviteServer, S::kConfirmed, TransactionEvent::kTuSuccess},
      {TransactionKind::kNonInviteServer, S::kCompleted, TransactionEvent::kTuSuccess},  // 17.2.2
      {TransactionKind::kNonInviteServer, S::kTrying, TransactionEvent::kAck},
  };
  for (const IllegalCase& c : cases) {
    EXPECT_EQ(FindTransition(c.kind, c.state, c.event), nullptr)
        << TransactionKindName(c.kind) << " " << TransactionStateName(c.state) << " + "
        << TransactionEventName(c.event);
  }
}

TEST(TransitionTableTest, NamesPrintAndDiffer) {
  std::set<std::string_view> events;
  for (size_t i = 0; i < kTransactionEventCount; ++i) {
    const std::string_view name = TransactionEventName(static_cast<TransactionEvent>(i));
    EXPECT_NE(name, "?");
    EXPECT_TRUE(events.insert(name).second) << name;
  }
  std::set<std::string_view> states;
  for (size_t i = 0; i < kTransactionStateCount; ++i) {
    const std::string_view name = TransactionStateName(static_cast<S>(i));
    EXPECT_NE(name, "?");
    EXPECT_TRUE(states.insert(name).second) << name;
  }
  for (const MachineCase& machine : kMachines) {
    for (const Transition& row : TransitionTable(machine.kind)) {
      for (TransactionAction action : row.actions) EXPECT_NE(TransactionActionName(action), "?");
    }
  }
}

TEST(TransactionCountersTest, ForEachNamesEveryCounterOnce) {
  TransactionCounters counters;
  counters.Created(TransactionKind::kNonInviteServer) = 3;
  counters.overload_rejections = 2;
  std::vector<std::pair<std::string, uint64_t>> seen;
  counters.ForEach([&](std::string_view name, uint64_t value) { seen.emplace_back(name, value); });
  ASSERT_EQ(seen.size(), 19u);
  EXPECT_EQ(seen[0].first, "invite_client_created");
  EXPECT_EQ(seen[6], (std::pair<std::string, uint64_t>("non_invite_server_created", 3)));
  EXPECT_EQ(seen[13], (std::pair<std::string, uint64_t>("overload_rejections", 2)));
}

}  // namespace
}  // namespace linegate::signaling::transaction
