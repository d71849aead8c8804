#include "media/tdm/tdm_service.h"

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

Status TdmService::Configure(const config::v1::Config& config) {
  if (config.tdm().driver() == config::v1::TDM_DRIVER_UNSPECIFIED) return Error{"tdm.driver is not set"};
  tdm_ = config.tdm();
  lines_ = EnumerateLines(tdm_);
  log::Info("cards configured", {{"driver", config::v1::TdmDriver_Name(tdm_.driver())},
                                 {"cards", tdm_.cards_size()},
                                 {"lines", lines_.size()},
                                 {"frame_ms", tdm_.frame_ms()}});
  return Status::Ok();
}

void TdmService::FillDetail(process::v1::Heartbeat& heartbeat) const {
  process::v1::TdmDetail* detail = heartbeat.mutable_tdm();
  detail->set_driver(config::v1::TdmDriver_Name(tdm_.driver()));
  detail->set_frame_ms(tdm_.frame_ms());
  for (const auto& line : lines_) *detail->add_lines() = line;
}

}  // namespace linegate::media::tdm
