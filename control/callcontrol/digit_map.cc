#include "control/callcontrol/digit_map.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace linegate::callcontrol {

int DigitIndex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c == '*') return 10;
  if (c == '#') return 11;
  return -1;
}

Result<DigitPattern> DigitPattern::Parse(std::string_view text) {
  DigitPattern pattern;
  pattern.text_ = std::string(text);
  auto fail = [&](std::string why) -> Result<DigitPattern> {
    return Error{"digit pattern \"" + std::string(text) + "\": " + why};
  };
  if (text.empty()) return fail("empty");
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (pattern.timer_) return fail("'T' must be last");
    if (c == 't') {
      if (pattern.elements_.empty()) return fail("'T' needs at least one digit before it");
      pattern.timer_ = true;
      continue;
    }
    if (c == '.') {
      if (pattern.elements_.empty() || pattern.elements_.back().repeat) {
        return fail("'.' must follow a digit, 'x' or a set");
      }
      pattern.elements_.back().repeat = true;
      continue;
    }
    Element element;
    if (c == 'x') {
      for (int d = 0; d <= 9; ++d) element.set.set(d);
    } else if (DigitIndex(c) >= 0) {
      element.set.set(DigitIndex(c));
    } else if (c == '[') {
      const size_t close = text.find(']', i);
      if (close == std::string_view::npos) return fail("unterminated '['");
      const std::string_view body = text.substr(i + 1, close - i - 1);
      if (body.empty()) return fail("empty set");
      for (size_t j = 0; j < body.size(); ++j) {
        const int from = DigitIndex(body[j]);
        if (from < 0) return fail(std::string("bad character in set: '") + body[j] + "'");
        if (j + 2 < body.size() && body[j + 1] == '-') {
          const int to = DigitIndex(body[j + 2]);
          if (from > 9 || to < 0 || to > 9 || to < from) return fail("bad range in set");
          for (int d = from; d <= to; ++d) element.set.set(d);
          j += 2;
        } else {
          element.set.set(from);
        }
      }
      i = close;
    } else {
      return fail(std::string("unexpected character '") + text[i] + "'");
    }
    pattern.elements_.push_back(element);
  }
  return pattern;
}

std::vector<bool> DigitPattern::Closure(std::vector<bool> states) const {
  for (size_t i = 0; i < elements_.size(); ++i) {
    if (states[i] && elements_[i].repeat) states[i + 1] = true;
  }
  return states;
}

DigitPattern::Match DigitPattern::Evaluate(std::string_view digits) const {
  const size_t n = elements_.size();
  std::vector<bool> states(n + 1, false);
  states[0] = true;
  states = Closure(std::move(states));
  for (char c : digits) {
    const int d = DigitIndex(c);
    std::vector<bool> next(n + 1, false);
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      if (!states[i] || d < 0 || !elements_[i].set.test(d)) continue;
      next[elements_[i].repeat ? i : i + 1] = true;
      any = true;
    }
    if (!any) return {};
    states = Closure(std::move(next));
  }
  Match match;
  match.viable = true;
  match.full = states[n];
  match.longer = std::any_of(states.begin(), states.end() - 1, [](bool s) { return s; });
  return match;
}

bool DigitPattern::MatchesPrefixOf(std::string_view number) const {
  for (size_t len = 0; len <= number.size(); ++len) {
    const Match m = Evaluate(number.substr(0, len));
    if (!m.viable) return false;
    if (m.full) return true;
  }
  return false;
}

Result<NumberPattern> NumberPattern::Parse(std::string_view text) {
  NumberPattern pattern;
  pattern.text_ = std::string(text);
  if (text.empty() || text == "*") return pattern;
  if (text.back() == '$') {
    pattern.exact_ = true;
    text.remove_suffix(1);
  }
  if (!text.empty() && text.front() == '+') {
    pattern.plus_ = true;
    text.remove_prefix(1);
  }
  auto parsed = DigitPattern::Parse(text);
  if (!parsed) return Error{parsed.error()};
  if (parsed->timer()) return Error{"number pattern \"" + pattern.text_ + "\": 'T' is for digit maps only"};
  pattern.pattern_ = std::move(parsed.value());
  return pattern;
}

bool NumberPattern::Matches(std::string_view number) const {
  if (!pattern_) return true;
  const bool has_plus = !number.empty() && number.front() == '+';
  if (has_plus != plus_) return false;
  if (has_plus) number.remove_prefix(1);
  return exact_ ? pattern_->Evaluate(number).full : pattern_->MatchesPrefixOf(number);
}

Result<DigitMap> DigitMap::Parse(std::string_view text) {
  DigitMap map;
  // Tolerate the MGCP-style parentheses and surrounding spaces.
  std::string cleaned;
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '(' && c != ')') cleaned += c;
  }
  if (cleaned.empty()) return map;
  size_t start = 0;
  while (true) {
    const size_t bar = cleaned.find('|', start);
    auto pattern = DigitPattern::Parse(
        std::string_view(cleaned).substr(start, bar == std::string::npos ? bar : bar - start));
    if (!pattern) return Error{pattern.error()};
    map.patterns_.push_back(std::move(pattern.value()));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return map;
}

std::string_view CollectStateName(CollectState state) {
  switch (state) {
    case CollectState::kIdle:
      return "idle";
    case CollectState::kWaitFirstDigit:
      return "wait-first-digit";
    case CollectState::kCollecting:
      return "collecting";
    case CollectState::kComplete:
      return "complete";
    case CollectState::kNoMatch:
      return "no-match";
    case CollectState::kTimedOut:
      return "timed-out";
  }
  return "?";
}

std::string_view CompletionReasonName(CompletionReason reason) {
  switch (reason) {
    case CompletionReason::kNone:
      return "none";
    case CompletionReason::kExactMatch:
      return "exact-match";
    case CompletionReason::kTimer:
      return "timer";
    case CompletionReason::kTerminator:
      return "terminator";
    case CompletionReason::kMaxDigits:
      return "max-digits";
    case CompletionReason::kHotline:
      return "hotline";
  }
  return "?";
}

Result<DigitCollector> DigitCollector::Create(DigitCollectorConfig config, const Clock& clock) {
  auto map = DigitMap::Parse(config.digit_map);
  if (!map) return Error{map.error()};
  if (config.terminator != '\0' && DigitIndex(config.terminator) < 0) {
    return Error{"terminator must be a digit, '*' or '#'"};
  }
  if (config.max_digits < 0) return Error{"max_digits must be >= 0"};
  for (char c : config.hotline_number) {
    if (DigitIndex(c) < 0) return Error{"hot-line number has a non-digit"};
  }
  return DigitCollector(std::move(config), std::move(map.value()), clock);
}

DigitCollector::DigitCollector(DigitCollectorConfig config, DigitMap map, const Clock& clock)
    : config_(std::move(config)), map_(std::move(map)), clock_(&clock) {}

void DigitCollector::Reset() {
  result_ = CollectResult{};
  deadline_.reset();
}

void DigitCollector::Start(TimePoint at) {
  Reset();
  result_.state = CollectState::kWaitFirstDigit;
  deadline_ = at + (config_.hotline_number.empty() ? config_.first_digit_timeout : config_.hotline_delay);
}

void DigitCollector::Finish(CollectState state, CompletionReason reason, int rule) {
  result_.state = state;
  result_.reason = reason;
  result_.rule = rule;
  result_.rule_text = rule >= 0 ? map_.patterns()[static_cast<size_t>(rule)].text() : std::string();
  deadline_.reset();
}

int DigitCollector::FirstFullMatch(bool timer_fired) const {
  const auto& patterns = map_.patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    if ((timer_fired || !patterns[i].timer()) && patterns[i].Evaluate(result_.number).full) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void DigitCollector::CheckTimer(TimePoint now) {
  if (!deadline_ || now < *deadline_) return;
  if (result_.state == CollectState::kWaitFirstDigit) {
    if (!config_.hotline_number.empty()) {
      result_.number = config_.hotline_number;
      Finish(CollectState::kComplete, CompletionReason::kHotline, -1);
    } else {
      Finish(CollectState::kTimedOut, CompletionReason::kNone, -1);
    }
    return;
  }
  if (result_.state != CollectState::kCollecting) return;
  const int rule = FirstFullMatch(/*timer_fired=*/true);
  if (rule >= 0 || map_.empty()) {
    Finish(CollectState::kComplete, CompletionReason::kTimer, rule);
  } else {
    Finish(CollectState::kTimedOut, CompletionReason::kNone, -1);
  }
}

const CollectResult& DigitCollector::Poll() {
  CheckTimer(clock_->Now());
  return result_;
}

const CollectResult& DigitCollector::OnDigit(char digit, TimePoint at) {
  CheckTimer(at);
  if (result_.state != CollectState::kWaitFirstDigit && result_.state != CollectState::kCollecting) {
    return result_;
  }
  if (DigitIndex(digit) < 0) return result_;  // not a dial digit: ignored
  if (config_.terminator != '\0' && digit == config_.terminator) {
    const int rule = FirstFullMatch(/*timer_fired=*/true);
    if (rule >= 0 || (!result_.number.empty() && (map_.empty() || config_.terminator_completes_unmatched))) {
      Finish(CollectState::kComplete, CompletionReason::kTerminator, rule);
    } else {
      Finish(CollectState::kNoMatch, CompletionReason::kTerminator, -1);
    }
    return result_;
  }
  result_.state = CollectState::kCollecting;
  result_.number += digit;
  Evaluate(at);
  return result_;
}

void DigitCollector::Evaluate(TimePoint at) {
  const bool at_max = config_.max_digits > 0 && static_cast<int>(result_.number.size()) >= config_.max_digits;
  if (map_.empty()) {
    if (at_max) {
      Finish(CollectState::kComplete, CompletionReason::kMaxDigits, -1);
    } else {
      deadline_ = at + config_.short_interdigit_timeout;
    }
    return;
  }
  bool viable = false;
  bool some_full = false;       // some rule (with or without 'T') matches on timeout
  bool untimed_longer = false;  // a rule without 'T' could still match more digits
  int exact = -1;               // first rule without 'T' that matches now
  const auto& patterns = map_.patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const DigitPattern::Match m = patterns[i].Evaluate(result_.number);
    if (!m.viable) continue;
    viable = true;
    some_full = some_full || m.full;
    if (!patterns[i].timer()) {
      untimed_longer = untimed_longer || m.longer;
      if (m.full && exact < 0) exact = static_cast<int>(i);
    }
  }
  if (!viable) {
    Finish(CollectState::kNoMatch, CompletionReason::kNone, -1);
    return;
  }
  // A rule without 'T' completes at once unless another rule without 'T' could still
  // match a longer number; rules with 'T' are fallbacks and never hold it back.
  if (exact >= 0 && !untimed_longer) {
    Finish(CollectState::kComplete, CompletionReason::kExactMatch, exact);
    return;
  }
  if (at_max) {
    const int rule = FirstFullMatch(/*timer_fired=*/true);
    if (rule >= 0) {
      Finish(CollectState::kComplete, CompletionReason::kMaxDigits, rule);
    } else {
      Finish(CollectState::kNoMatch, CompletionReason::kMaxDigits, -1);
    }
    return;
  }
  deadline_ = at + (some_full ? config_.short_interdigit_timeout : config_.long_interdigit_timeout);
}

}  // namespace linegate::callcontrol
