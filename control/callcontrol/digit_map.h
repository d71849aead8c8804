#pragma once
// Dial plan and digit collection for an analog (FXS) line: MediaPack-style digit maps
// ("[2-9]xxxxxx|1[2-9]xxxxxxxxx|0T|00.T|911|*xx|x.T"), a '#' terminator, first-digit,
// inter-digit (short/long) and hot-line timers.
//
// Pure logic: digits come in with their timestamps and time is read from an injected
// Clock, so every timer is tested on a ManualClock.

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace linegate::callcontrol {

// One pattern of a digit map, also used as a number pattern by the manipulation and
// routing tables. Grammar (one alternative, no '|'):
//   0-9 * #     the digit itself
//   x           any digit 0-9
//   [..]        a set: digits, '*', '#' and ranges "a-b" of digits, e.g. [2-9], [13-5*]
//   .           the previous element repeated zero or more times ("x." = any digits)
//   T           only at the end: the pattern completes only when the inter-digit timer
//               expires (or the terminator is pressed)
// Letters are case-insensitive ('X', 't').
class DigitPattern {
 public:
  static Result<DigitPattern> Parse(std::string_view text);

  struct Match {
    bool full = false;    // the digits match the whole pattern
    bool viable = false;  // the digits are a prefix of some matching string (or a full match)
    bool longer = false;  // more digits could still match (after these)
  };
  Match Evaluate(std::string_view digits) const;

  // True when the pattern matches a prefix of `number` (or the whole of it).
  bool MatchesPrefixOf(std::string_view number) const;

  bool timer() const { return timer_; }
  const std::string& text() const { return text_; }

 private:
  struct Element {
    std::bitset<12> set;  // 0-9, '*' (10), '#' (11)
    bool repeat = false;
  };
  // NFA step helpers; a state is the index of the next element to match.
  std::vector<bool> Closure(std::vector<bool> states) const;

  std::vector<Element> elements_;
  bool timer_ = false;
  std::string text_;
};

// A number pattern for the manipulation and routing tables: "" or "*" matches any
// number; otherwise a DigitPattern matched against a prefix of the number ("972" or
// "9[5-7]" match "9721234"), or the whole number when the text ends with '$'
// ("911$" matches only "911"). A leading '+' (E.164) is matched literally: "+972"
// matches "+97231234567" but not "97231234567", and "972" does not match "+972...".
class NumberPattern {
 public:
  static Result<NumberPattern> Parse(std::string_view text);
  bool Matches(std::string_view number) const;
  const std::string& text() const { return text_; }

 private:
  std::optional<DigitPattern> pattern_;  // nullopt: any
  bool exact_ = false;
  bool plus_ = false;
  std::string text_;
};

// Maps '0'-'9', '*', '#' to 0..11; -1 for anything else.
int DigitIndex(char c);

// A digit map: alternatives separated by '|', earlier alternatives win ties.
class DigitMap {
 public:
  static Result<DigitMap> Parse(std::string_view text);
  const std::vector<DigitPattern>& patterns() const { return patterns_; }
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<DigitPattern> patterns_;
};

struct DigitCollectorConfig {
  std::string digit_map;  // empty: no map, dial ends by terminator/timeout/max
  char terminator = '#';  // '\0' disables the terminator
  // With the terminator pressed on digits that match no rule: complete anyway (true) or
  // report kNoMatch (false).
  bool terminator_completes_unmatched = false;
  Duration first_digit_timeout = std::chrono::seconds(16);
  Duration short_interdigit_timeout = std::chrono::seconds(4);  // some rule could complete
  Duration long_interdigit_timeout = std::chrono::seconds(16);  // no rule can complete yet
  int max_digits = 30;                                          // complete when reached (0: no limit)
  // Hot-line: when set, dial `hotline_number` if no digit arrives within hotline_delay
  // after off-hook (replaces the first-digit timeout).
  std::string hotline_number;
  Duration hotline_delay = std::chrono::milliseconds(0);
};

enum class CollectState {
  kIdle,            // not started (on-hook)
  kWaitFirstDigit,  // off-hook, dial tone, no digit yet
  kCollecting,      // at least one digit
  kComplete,        // final: number ready
  kNoMatch,         // final: the digits cannot match any rule (invalid number)
  kTimedOut,        // final: no digit at all, or an incomplete number when the timer expired
};
std::string_view CollectStateName(CollectState state);

enum class CompletionReason {
  kNone,
  kExactMatch,  // a rule matched and no longer number can match any rule
  kTimer,       // inter-digit timer expired on a full match (rules with 'T', or ambiguous)
  kTerminator,  // the terminator key
  kMaxDigits,
  kHotline,
};
std::string_view CompletionReasonName(CompletionReason reason);

struct CollectResult {
  CollectState state = CollectState::kIdle;
  std::string number;  // digits collected (without the terminator)
  int rule = -1;       // index of the matching digit-map alternative, -1 if none
  std::string rule_text;
  CompletionReason reason = CompletionReason::kNone;

  bool done() const {
    return state == CollectState::kComplete || state == CollectState::kNoMatch ||
           state == CollectState::kTimedOut;
  }
};

class DigitCollector {
 public:
  static Result<DigitCollector> Create(DigitCollectorConfig config, const Clock& clock);

  // Off-hook: arms the first-digit (or hot-line) timer from `at`.
  void Start(TimePoint at);
  void Start() { Start(clock_->Now()); }
  // A DTMF/pulse digit detected at `at`. Timers that expired before `at` are processed
  // first; digits after a final state are ignored.
  const CollectResult& OnDigit(char digit, TimePoint at);
  const CollectResult& OnDigit(char digit) { return OnDigit(digit, clock_->Now()); }
  // Checks the running timer against the clock.
  const CollectResult& Poll();
  // On-hook / abandon: back to kIdle.
  void Reset();

  const CollectResult& result() const { return result_; }
  CollectState state() const { return result_.state; }
  // When the running timer expires, if any (for the caller's timer wheel).
  std::optional<TimePoint> deadline() const { return deadline_; }

 private:
  DigitCollector(DigitCollectorConfig config, DigitMap map, const Clock& clock);
  void CheckTimer(TimePoint now);
  void Evaluate(TimePoint at);
  void Finish(CollectState state, CompletionReason reason, int rule);
  // The first rule that fully matches the digits, ignoring 'T' when `timer_fired`.
  int FirstFullMatch(bool timer_fired) const;

  DigitCollectorConfig config_;
  DigitMap map_;
  const Clock* clock_;
  CollectResult result_;
  std::optional<TimePoint> deadline_;
};

}  // namespace linegate::callcontrol
