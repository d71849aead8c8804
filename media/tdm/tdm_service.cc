#include "media/tdm/tdm_service.h"

#include <chrono>

#include "common/log.h"

namespace linegate::media::tdm {

std::vector<process::v1::LineInfo> EnumerateLines(const config::v1::Tdm& tdm) {
  std::vector<process::v1::LineInfo> lines;
  uint32_t number = 1;
  for (const config::v1::Card& card : tdm.cards()) {
    auto add = [&](process::v1::LineType type, uint32_t count) {
      for (uint32_t port = 1; port <= count; ++port) {
        process::v1::LineInfo& line = lines.emplace_back();
        line.set_line(number++);
        line.set_type(type);
        line.set_card(card.name());
        line.set_port(port);
      }
    };
    add(process::v1::LINE_TYPE_FXS, card.fxs_ports());
    add(process::v1::LINE_TYPE_FXO, card.fxo_ports());
  }
  return lines;
}

std::string TdmBusPrefix(const config::v1::Config& config) {
  std::string prefix = "linegate";
  for (char c : config.runtime().runtime_dir()) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_';
    prefix += plain ? c : '_';
  }
  // shm names are at most NAME_MAX; keep the distinctive tail of a long directory.
  if (prefix.size() > 200) prefix = "linegate" + prefix.substr(prefix.size() - 192);
  return prefix;
}

tdmbus::Geometry CardGeometry(const config::v1::Tdm& tdm, uint32_t channel_count) {
  tdmbus::Geometry geometry;
  geometry.channel_count = channel_count;
  geometry.frame_samples = tdm.frame_ms() * 8;
  // 320 ms of slack for a media process that is descheduled (a loaded host): a reader
  // that falls further behind is lapped and loses audio. Costs memory, not latency (the
  // to-line lead is fixed, see media_engine.cc).
  geometry.ring_depth = 32;
  geometry.sample_format = tdmbus::SampleFormat::kLinear16;
  return geometry;
}

Result<LineLocation> LocateLine(const config::v1::Tdm& tdm, uint32_t line) {
  uint32_t first = 1;
  for (int card = 0; card < tdm.cards_size(); ++card) {
    const uint32_t count = tdm.cards(card).fxs_ports() + tdm.cards(card).fxo_ports();
    if (line >= first && line < first + count) return LineLocation{static_cast<uint32_t>(card), line - first};
    first += count;
  }
  return Error{"line " + std::to_string(line) + " does not exist (the gateway has " +
               std::to_string(first - 1) + " lines)"};
}

TdmService::TdmService(const Clock& clock, dahdi::DahdiDevice* dahdi_device) : clock_(&clock) {
  if (dahdi_device == nullptr) {
    own_dahdi_device_ = std::make_unique<dahdi::SystemDahdiDevice>();
    dahdi_device = own_dahdi_device_.get();
  }
  dahdi_device_ = dahdi_device;
}

Result<std::unique_ptr<dahdi::DahdiCard>> TdmService::OpenDahdiCard(const config::v1::Card& card) {
  dahdi::DahdiCardConfig config;
  config.name = card.name();
  const config::v1::DahdiCard& settings = card.dahdi();
  if (!settings.device_path().empty()) config.device_path = settings.device_path();
  if (settings.fxs_channels_size() > 0 || settings.fxo_channels_size() > 0) {
    config.fxs_channels.assign(settings.fxs_channels().begin(), settings.fxs_channels().end());
    config.fxo_channels.assign(settings.fxo_channels().begin(), settings.fxo_channels().end());
  } else {
    uint32_t channel = settings.first_channel();
    for (uint32_t i = 0; i < card.fxs_ports(); ++i) config.fxs_channels.push_back(channel++);
    for (uint32_t i = 0; i < card.fxo_ports(); ++i) config.fxo_channels.push_back(channel++);
  }
  config.frame_samples = tdm_.frame_ms() * 8;
  config.audio =
      settings.audio() == config::v1::DAHDI_AUDIO_LAW ? dahdi::AudioMode::kLaw : dahdi::AudioMode::kLinear;
  if (settings.kernel_buffers() != 0) config.kernel_buffers = settings.kernel_buffers();
  switch (settings.mwi()) {
    case config::v1::DAHDI_MWI_NEON:
      config.mwi = dahdi::MwiIndication::kNeon;
      break;
    case config::v1::DAHDI_MWI_HVDC:
      config.mwi = dahdi::MwiIndication::kHvdc;
      break;
    case config::v1::DAHDI_MWI_LINE_REVERSAL:
      config.mwi = dahdi::MwiIndication::kLineReversal;
      break;
    default:
      config.mwi = dahdi::MwiIndication::kNone;
      break;
  }
  return dahdi::DahdiCard::Open(*dahdi_device_, *clock_, config);
}

TdmService::~TdmService() {
  // An orderly stop removes the regions' names (mappings stay valid until unmapped);
  // a crash leaves them for the restarted tdm to take over.
  for (Card& card : cards_) {
    if (card.region) (void)card.region->Unlink();
  }
}

Status TdmService::Configure(const config::v1::Config& config) {
  if (config.tdm().driver() == config::v1::TDM_DRIVER_UNSPECIFIED) return Error{"tdm.driver is not set"};
  if (!cards_.empty()) {
    // Control re-sent the configuration (it restarted): the cards keep running.
    return Status::Ok();
  }
  tdm_ = config.tdm();
  lines_ = EnumerateLines(tdm_);
  const std::string prefix = TdmBusPrefix(config);
  const uint32_t frame_samples = tdm_.frame_ms() * 8;
  uint32_t first_line = 1;
  for (int index = 0; index < tdm_.cards_size(); ++index) {
    const config::v1::Card& card_config = tdm_.cards(index);
    const uint32_t channels = card_config.fxs_ports() + card_config.fxo_ports();
    Card card;
    card.first_line = first_line;
    first_line += channels;
    if (channels == 0) {
      cards_.push_back(std::move(card));
      continue;
    }
    auto name = tdmbus::RegionName(prefix, static_cast<uint32_t>(index));
    if (!name) return Error{"tdm.cards[" + std::to_string(index) + "]: " + name.error()};
    auto region = tdmbus::CardRegion::Create(*name, CardGeometry(tdm_, channels));
    if (!region) return Error{"card " + card_config.name() + ": TDM bus region: " + region.error()};
    card.region = std::make_unique<tdmbus::CardRegion>(std::move(*region));
    // Owned by the service from here on, so that a driver that fails below does not leave
    // the region behind in /dev/shm (the destructor unlinks it).
    cards_.push_back(std::move(card));
    Card& added = cards_.back();
    if (tdm_.driver() == config::v1::TDM_DRIVER_DAHDI) {
      auto dahdi_card = OpenDahdiCard(card_config);
      if (!dahdi_card) return Error{"card " + card_config.name() + ": " + dahdi_card.error()};
      added.dahdi = std::move(*dahdi_card);
    } else {
      sim::SimCardConfig sim_config;
      sim_config.phones = card_config.fxs_ports();
      sim_config.exchange_lines = card_config.fxo_ports();
      sim_config.frame_samples = frame_samples;
      sim_config.phone.auto_answer_ms = card_config.sim().auto_answer_ms();
      auto sim_card = sim::SimCard::Create(*clock_, sim_config);
      if (!sim_card) return Error{"card " + card_config.name() + ": " + sim_card.error()};
      added.sim = std::move(*sim_card);
    }
    auto audio = sim::TdmBusCardAudio::Create(*added.region, channels, frame_samples);
    if (!audio) return Error{"card " + card_config.name() + ": " + audio.error()};
    added.audio = std::make_unique<sim::TdmBusCardAudio>(std::move(*audio));
    log::Info("card ready", {{"card", card_config.name()},
                             {"region", added.region->name()},
                             {"channels", channels},
                             {"resumed", added.region->resumed()}});
  }
  for (const auto& line : lines_) {
    auto location = LocateLine(tdm_, line.line());
    LineState state;
    state.card = location->card;
    state.channel = location->channel;
    state.fxs = line.type() == process::v1::LINE_TYPE_FXS;
    Card& card = cards_[state.card];
    if (card.sim) {
      state.signaling = &card.sim->line(state.channel);
      if (state.fxs) state.decoder = std::make_unique<sim::PulseDialDecoder>();
    } else {
      state.signaling = &card.dahdi->line(state.channel);
    }
    line_states_.push_back(std::move(state));
  }
  wall_anchor_steady_ = clock_->Now();
  wall_anchor_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  log::Info("cards configured", {{"driver", config::v1::TdmDriver_Name(tdm_.driver())},
                                 {"cards", tdm_.cards_size()},
                                 {"lines", lines_.size()},
                                 {"frame_ms", tdm_.frame_ms()},
                                 {"bus_prefix", prefix}});
  return Status::Ok();
}

Duration TdmService::timer_period() const {
  const auto frame = std::chrono::milliseconds(tdm_.frame_ms() == 0 ? 10 : tdm_.frame_ms());
  return tdm_.driver() == config::v1::TDM_DRIVER_DAHDI ? Duration(frame) / 2 : Duration(frame);
}

void TdmService::OnTimer(uint64_t expirations) {
  if (tdm_.driver() != config::v1::TDM_DRIVER_DAHDI) {
    // The bus clock must keep 8 kHz: a late wake-up runs every tick it owes, at most a
    // ring's worth (older frames would be stale anyway).
    for (uint64_t i = 0; i < std::min<uint64_t>(expirations, 16); ++i) Tick();
    return;
  }
  // The card is the clock: take every block it has ready (a few at most after a late
  // wake-up), then its events.
  for (Card& card : cards_) {
    if (!card.dahdi) continue;
    for (int block = 0; block < 8; ++block) {
      const dahdi::DahdiCard::Wait wait = card.dahdi->WaitForTick(0);
      if (wait == dahdi::DahdiCard::Wait::kTickDue) {
        card.dahdi->Tick(*card.audio, *card.audio);
        continue;
      }
      if (wait == dahdi::DahdiCard::Wait::kEventsPending) card.dahdi->PumpEvents();
      if (wait == dahdi::DahdiCard::Wait::kNoChannels) ++dahdi_stalls_;
      break;
    }
  }
  ++ticks_;
  CollectEvents();
}

void TdmService::Tick() {
  for (Card& card : cards_) {
    if (card.sim) card.sim->Tick(*card.audio, *card.audio);
  }
  ++ticks_;
  CollectEvents();
}

void TdmService::Flush() {
  for (Card& card : cards_) {
    if (!card.sim) continue;
    if (Status flushed = card.sim->Flush(); !flushed)
      log::Warn("recording flush failed", {{"error", flushed.error()}});
  }
}

void TdmService::Emit(uint32_t line, linev1::LineEventType type, TimePoint time, std::string digit,
                      std::string polarity) {
  linev1::LineEvent event;
  event.set_line(line);
  event.set_type(type);
  event.set_digit(std::move(digit));
  event.set_polarity(std::move(polarity));
  event.set_time_unix_ms(wall_anchor_unix_ms_ + ToMillis(time - wall_anchor_steady_));
  log::Info("line event",
            {{"line", line}, {"event", linev1::LineEventType_Name(type)}, {"digit", event.digit()}});
  if (event_sink_) event_sink_(event);
}

void TdmService::CollectEvents() {
  const TimePoint now = clock_->Now();
  std::array<sim::LineEvent, 16> raw;
  std::array<sim::HookEvent, 16> hook;
  for (size_t index = 0; index < line_states_.size(); ++index) {
    LineState& state = line_states_[index];
    const uint32_t line = static_cast<uint32_t>(index + 1);
    size_t n;
    while ((n = state.signaling->PollEvents(raw)) > 0) {
      for (size_t i = 0; i < n; ++i) {
        const sim::LineEvent& event = raw[i];
        switch (event.type) {
          // Raw hook changes of a sim phone go through the decoder; a DAHDI port reports
          // flashes and pulses itself, so its hook changes are the real thing.
          case sim::LineEventType::kOffHook:
            if (state.decoder) {
              state.decoder->OffHook(event.time);
            } else {
              Emit(line, linev1::LINE_EVENT_TYPE_OFF_HOOK, event.time);
            }
            break;
          case sim::LineEventType::kOnHook:
            if (state.decoder) {
              state.decoder->OnHook(event.time);
            } else {
              Emit(line, linev1::LINE_EVENT_TYPE_ON_HOOK, event.time);
            }
            break;
          case sim::LineEventType::kRingOn:
            Emit(line, linev1::LINE_EVENT_TYPE_RING_DETECTED, event.time);
            break;
          case sim::LineEventType::kRingOff:
            Emit(line, linev1::LINE_EVENT_TYPE_RING_STOPPED, event.time);
            break;
          case sim::LineEventType::kPolarityReversal:
            Emit(line, linev1::LINE_EVENT_TYPE_POLARITY_REVERSAL, event.time, {},
                 std::string(sim::PolarityName(event.polarity)));
            break;
          // Cards that classify hook changes themselves (DAHDI) report these directly.
          case sim::LineEventType::kFlash:
            Emit(line, linev1::LINE_EVENT_TYPE_FLASH, event.time);
            break;
          case sim::LineEventType::kPulseDigit:
            Emit(line, linev1::LINE_EVENT_TYPE_PULSE_DIGIT, event.time, std::string(1, event.digit));
            break;
          case sim::LineEventType::kLoopDisconnect:
            Emit(line, linev1::LINE_EVENT_TYPE_LOOP_DISCONNECT, event.time);
            break;
          case sim::LineEventType::kAlarm:
            Emit(line, linev1::LINE_EVENT_TYPE_ALARM, event.time);
            break;
          case sim::LineEventType::kAlarmCleared:
            Emit(line, linev1::LINE_EVENT_TYPE_ALARM_CLEARED, event.time);
            break;
        }
      }
    }
    if (!state.decoder) continue;
    state.decoder->Poll(now);
    while ((n = state.decoder->TakeEvents(hook)) > 0) {
      for (size_t i = 0; i < n; ++i) {
        switch (hook[i].type) {
          case sim::HookEventType::kOffHook:
            Emit(line, linev1::LINE_EVENT_TYPE_OFF_HOOK, hook[i].time);
            break;
          case sim::HookEventType::kOnHook:
            Emit(line, linev1::LINE_EVENT_TYPE_ON_HOOK, hook[i].time);
            break;
          case sim::HookEventType::kFlash:
            Emit(line, linev1::LINE_EVENT_TYPE_FLASH, hook[i].time);
            break;
          case sim::HookEventType::kDigit:
            Emit(line, linev1::LINE_EVENT_TYPE_PULSE_DIGIT, hook[i].time, std::string(1, hook[i].digit));
            break;
        }
      }
    }
  }
}

linev1::LineScriptReply TdmService::RunScript(const linev1::LineScriptRequest& request) {
  linev1::LineScriptReply reply;
  if (request.line() == 0 || request.line() > line_states_.size()) {
    reply.set_text("error: line " + std::to_string(request.line()) + " does not exist (the gateway has " +
                   std::to_string(line_states_.size()) + " lines)");
    return reply;
  }
  const LineState& state = line_states_[request.line() - 1];
  if (!cards_[state.card].sim) {
    reply.set_text("error: line " + std::to_string(request.line()) +
                   " is on a DAHDI card: a real line has no simulated far end to script");
    return reply;
  }
  reply.set_text(cards_[state.card].sim->Execute(state.channel, request.text()));
  return reply;
}

Result<linev1::PortCommandReply> TdmService::ApplyPortCommand(const linev1::PortCommandRequest& request) {
  if (request.line() == 0 || request.line() > line_states_.size()) {
    return Error{"line " + std::to_string(request.line()) + " does not exist (the gateway has " +
                 std::to_string(line_states_.size()) + " lines)"};
  }
  const LineState& state = line_states_[request.line() - 1];
  sim::LineCommand command;
  switch (request.command_case()) {
    case linev1::PortCommandRequest::kRing: {
      dsp::Cadence cadence = sim::kUsRingCadence;
      if (request.ring().segments_ms_size() > 0) {
        if (request.ring().segments_ms_size() > static_cast<int>(cadence.segments_ms.size())) {
          return Error{"a ring cadence has at most 8 segments"};
        }
        cadence = dsp::Cadence{};
        for (int i = 0; i < request.ring().segments_ms_size(); ++i) {
          if (request.ring().segments_ms(i) > 65535) return Error{"a cadence segment is at most 65535 ms"};
          cadence.segments_ms[i] = static_cast<uint16_t>(request.ring().segments_ms(i));
        }
        cadence.count = static_cast<uint8_t>(request.ring().segments_ms_size());
        cadence.repeat = true;
        if (!sim::IsValidCadence(cadence)) return Error{"the ring cadence has no ring in it"};
      }
      command = sim::LineCommand::RingStart(cadence);
      break;
    }
    case linev1::PortCommandRequest::kStopRing:
      command = sim::LineCommand::RingStop();
      break;
    case linev1::PortCommandRequest::kReversePolarity:
      command = sim::LineCommand::SetPolarity(request.reverse_polarity() ? sim::Polarity::kReversed
                                                                         : sim::Polarity::kNormal);
      break;
    case linev1::PortCommandRequest::kSeize:
      command = sim::LineCommand::Seize();
      break;
    case linev1::PortCommandRequest::kRelease:
      command = sim::LineCommand::Release();
      break;
    case linev1::PortCommandRequest::kMessageWaiting:
      command = sim::LineCommand::MessageWaiting(request.message_waiting());
      break;
    case linev1::PortCommandRequest::kDisconnectMs:
      if (request.disconnect_ms() == 0 || request.disconnect_ms() > sim::kMaxDisconnectMs) {
        return Error{"disconnect_ms must be 1.." + std::to_string(sim::kMaxDisconnectMs)};
      }
      if (!state.fxs) {
        return Error{"disconnect does not apply to line " + std::to_string(request.line()) + " (FXO)"};
      }
      command = sim::LineCommand::Disconnect(request.disconnect_ms());
      break;
    case linev1::PortCommandRequest::COMMAND_NOT_SET:
      return Error{"no port command given"};
  }
  const sim::CommandResult result = state.signaling->Apply(command);
  linev1::PortCommandReply reply;
  if (command.type == sim::LineCommandType::kDisconnect && cards_[state.card].dahdi) {
    // DAHDI has a battery drop of its own length for kewlstart ports after an answered
    // ring only (DahdiLine::Apply); said in the reply, as control asked for a length.
    if (result == sim::CommandResult::kNotApplicable) {
      log::Info("port command not supported",
                {{"line", request.line()},
                 {"command", "disconnect"},
                 {"driver", "dahdi"},
                 {"why", "needs kewlstart (fxoks) and a call answered after ringing"}});
      reply.set_result("not supported on dahdi");
      return reply;
    }
    if (result == sim::CommandResult::kOk && cards_[state.card].dahdi->line(state.channel).off_hook()) {
      reply.set_result("ok: DAHDI kewlstart battery drop of " +
                       std::to_string(dahdi::DahdiLine::kKewlDisconnectMs) + " ms (asked " +
                       std::to_string(request.disconnect_ms()) + " ms)");
      log::Info("port command", {{"line", request.line()}, {"command", "disconnect"}, {"driver", "dahdi"}});
      return reply;
    }
  }
  switch (result) {
    case sim::CommandResult::kOk:
      reply.set_result("ok");
      break;
    case sim::CommandResult::kNotApplicable:
      return Error{std::string(sim::LineCommandTypeName(command.type)) + " does not apply to line " +
                   std::to_string(request.line()) + " (" + (state.fxs ? "FXS" : "FXO") + ")"};
    case sim::CommandResult::kInvalid:
      return Error{std::string(sim::LineCommandTypeName(command.type)) + " refused by line " +
                   std::to_string(request.line()) + " in its present state"};
    case sim::CommandResult::kFailed:
      return Error{std::string(sim::LineCommandTypeName(command.type)) + " failed on line " +
                   std::to_string(request.line()) + " (the card's driver refused it; see the tdm log)"};
  }
  log::Info("port command", {{"line", request.line()}, {"command", sim::LineCommandTypeName(command.type)}});
  return reply;
}

void TdmService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::TdmDetail* detail = heartbeat.mutable_tdm();
  detail->set_driver(config::v1::TdmDriver_Name(tdm_.driver()));
  detail->set_frame_ms(tdm_.frame_ms());
  for (const auto& line : lines_) *detail->add_lines() = line;
}

}  // namespace linegate::media::tdm
