#include "signaling/registration/registration_state.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace linegate::signaling::registration {
namespace {

TEST(RegistrationStateTest, TableHasOneRowPerPairAndPrintableNames) {
  std::set<std::pair<int, int>> seen;
  for (const RegistrationTransition& t : kRegistrationTransitions) {
    EXPECT_TRUE(seen.insert({static_cast<int>(t.from), static_cast<int>(t.event)}).second)
        << "duplicate row " << StateName(t.from) << "/" << EventName(t.event);
    // Only failure rows lead to failed, and they all record the failure.
    EXPECT_EQ(t.to == RegistrationState::kFailed, t.action == RegistrationAction::kFail)
        << StateName(t.from) << "/" << EventName(t.event);
  }
  std::set<std::string> names;
  for (int s = 0; s < kRegistrationStateCount; ++s) {
    const std::string_view name = StateName(static_cast<RegistrationState>(s));
    EXPECT_NE(name, "unknown-state");
    names.insert(std::string(name));
  }
  for (int e = 0; e < kRegistrationEventCount; ++e) {
    const std::string_view name = EventName(static_cast<RegistrationEvent>(e));
    EXPECT_NE(name, "unknown-event");
    names.insert(std::string(name));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kRegistrationStateCount + kRegistrationEventCount));
  EXPECT_EQ(StateName(RegistrationState::kUnregistering), "unregistering");
  EXPECT_EQ(EventName(RegistrationEvent::kIntervalTooBrief), "interval-too-brief");
  EXPECT_EQ(ActionName(RegistrationAction::kRetryLater), "retry-later");
}

TEST(RegistrationStateTest, EveryStateAcceptsBothCommands) {
  for (int s = 0; s < kRegistrationStateCount; ++s) {
    const auto state = static_cast<RegistrationState>(s);
    EXPECT_TRUE(FindTransition(state, RegistrationEvent::kRegisterCommand)) << StateName(state);
    EXPECT_TRUE(FindTransition(state, RegistrationEvent::kUnregisterCommand)) << StateName(state);
  }
}

TEST(RegistrationStateTest, SelectedRowsAndIllegalPairs) {
  const auto ok = FindTransition(RegistrationState::kRegistering, RegistrationEvent::kRegisterOk);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->to, RegistrationState::kRegistered);
  EXPECT_EQ(ok->action, RegistrationAction::kArmRefresh);
  const auto expired = FindTransition(RegistrationState::kRegistered, RegistrationEvent::kBindingExpired);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->to, RegistrationState::kRegistering);
  const auto gone = FindTransition(RegistrationState::kUnregistering, RegistrationEvent::kUnregisterOk);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->to, RegistrationState::kUnregistered);

  // Responses and timers with nothing outstanding have no row.
  EXPECT_FALSE(FindTransition(RegistrationState::kUnregistered, RegistrationEvent::kRegisterOk));
  EXPECT_FALSE(FindTransition(RegistrationState::kUnregistered, RegistrationEvent::kRefreshTimer));
  EXPECT_FALSE(FindTransition(RegistrationState::kFailed, RegistrationEvent::kChallenge));
  EXPECT_FALSE(FindTransition(RegistrationState::kRegistering, RegistrationEvent::kUnregisterOk));
  EXPECT_FALSE(FindTransition(RegistrationState::kUnregistering, RegistrationEvent::kRegisterOk));
  EXPECT_FALSE(FindTransition(RegistrationState::kUnregistering, RegistrationEvent::kIntervalTooBrief));
  EXPECT_FALSE(FindTransition(RegistrationState::kRegistering, RegistrationEvent::kRefreshTimer));
}

}  // namespace
}  // namespace linegate::signaling::registration
