#include "media/tdm/sim/sim_card.h"

#include <fmt/format.h>

#include <algorithm>

#include "media/tdm/sim/scripted_command.h"

namespace linegate::media::tdm::sim {

Result<std::unique_ptr<SimCard>> SimCard::Create(const Clock& clock, const SimCardConfig& config) {
  if (config.frame_samples < kMinFrameSamples || config.frame_samples > kMaxFrameSamples) {
    return Error{fmt::format("sim card: frame_samples {} out of range {}..{} (1..10 ms)",
                             config.frame_samples, kMinFrameSamples, kMaxFrameSamples)};
  }
  if (uint64_t{config.phones} + config.exchange_lines == 0 ||
      uint64_t{config.phones} + config.exchange_lines > kMaxChannels) {
    return Error{fmt::format("sim card: {} phones + {} exchange lines; need 1..{} channels", config.phones,
                             config.exchange_lines, kMaxChannels)};
  }
  if (config.phones > 0) {
    if (Status s = ValidateSimPhoneConfig(config.phone); !s.ok()) return Error{"sim card: " + s.error()};
  }
  if (config.exchange_lines > 0) {
    if (Status s = ValidateSimExchangeLineConfig(config.exchange_line); !s.ok()) {
      return Error{"sim card: " + s.error()};
    }
  }
  return std::unique_ptr<SimCard>(new SimCard(clock, config));
}

SimCard::SimCard(const Clock& clock, const SimCardConfig& config) : clock_(&clock), config_(config) {
  lines_.reserve(config.phones + config.exchange_lines);
  for (uint32_t i = 0; i < config.phones; ++i) {
    auto phone = std::make_unique<SimPhone>(clock, config.phone);
    phones_.push_back(phone.get());
    lines_.push_back(std::move(phone));
  }
  for (uint32_t i = 0; i < config.exchange_lines; ++i) {
    auto line = std::make_unique<SimExchangeLine>(clock, config.exchange_line);
    exchange_lines_.push_back(line.get());
    lines_.push_back(std::move(line));
  }
}

SimPhone* SimCard::phone(uint32_t channel) { return channel < phones_.size() ? phones_[channel] : nullptr; }

SimExchangeLine* SimCard::exchange_line(uint32_t channel) {
  if (channel < phones_.size() || channel >= lines_.size()) return nullptr;
  return exchange_lines_[channel - phones_.size()];
}

void SimCard::Tick(FrameSource& source, FrameSink& sink) {
  const std::span<int16_t> to_line(to_line_.data(), config_.frame_samples);
  const std::span<int16_t> from_line(from_line_.data(), config_.frame_samples);
  for (uint32_t channel = 0; channel < lines_.size(); ++channel) {
    if (!source.ReadToLine(channel, to_line)) [[unlikely]] {
      ++underruns_;
      std::fill(to_line.begin(), to_line.end(), int16_t{0});
    }
    lines_[channel]->Tick(to_line, from_line);
    sink.WriteFromLine(channel, from_line);
  }
  sink.EndTick(clock_->Now());
  ++ticks_;
}

Status SimCard::Flush() {
  std::string errors;
  for (SimPhone* phone : phones_) {
    if (Status s = phone->Flush(); !s.ok()) errors += (errors.empty() ? "" : "; ") + s.error();
  }
  if (!errors.empty()) return Error{errors};
  return Status::Ok();
}

std::string SimCard::Execute(uint32_t channel, std::string_view command) {
  if (channel >= lines_.size()) {
    return fmt::format("error: channel {} does not exist (card has {})", channel, lines_.size());
  }
  Result<ScriptedCommand> parsed = ParseScriptedCommand(command);
  if (!parsed.ok()) return "error: " + parsed.error();
  if (SimPhone* p = phone(channel)) return ExecuteScriptedCommand(*p, *parsed);
  return ExecuteScriptedCommand(*exchange_line(channel), *parsed);
}

}  // namespace linegate::media::tdm::sim
