#pragma once
// Which media process owns which lines: the gateway's lines (numbered from 1 in the
// order of tdm::EnumerateLines) are cut into media.process_count contiguous shards of
// near-equal size, and each shard gets an equal, even-aligned slice of the RTP port
// range. Control routes a line's requests with it; a media process attaches to its
// lines and allocates ports with it. Pure functions of the configuration, so both
// sides always agree.

#include <cstdint>
#include <string>

#include "linegate/config/v1/config.pb.h"

namespace linegate::media {

struct LineRange {
  uint32_t first = 1;  // first line of the shard
  uint32_t count = 0;
  bool Contains(uint32_t line) const { return line >= first && line - first < count; }
};

inline uint32_t TotalLines(const config::v1::Tdm& tdm) {
  uint32_t total = 0;
  for (const auto& card : tdm.cards()) total += card.fxs_ports() + card.fxo_ports();
  return total;
}

inline LineRange ShardLines(const config::v1::Config& config, uint32_t shard) {
  const uint64_t total = TotalLines(config.tdm());
  const uint64_t shards = config.media().process_count() == 0 ? 1 : config.media().process_count();
  const uint64_t begin = total * shard / shards;
  const uint64_t end = total * (shard + 1) / shards;
  return LineRange{static_cast<uint32_t>(begin + 1), static_cast<uint32_t>(end - begin)};
}

// The shard owning `line`, or -1 when the line does not exist.
inline int ShardOfLine(const config::v1::Config& config, uint32_t line) {
  const uint32_t shards = config.media().process_count() == 0 ? 1 : config.media().process_count();
  for (uint32_t shard = 0; shard < shards; ++shard) {
    if (ShardLines(config, shard).Contains(line)) return static_cast<int>(shard);
  }
  return -1;
}

inline std::string MediaProcessName(uint32_t shard) { return "media-" + std::to_string(shard); }

struct PortRange {
  uint32_t first = 0;  // even
  uint32_t last = 0;   // inclusive
};

// The shard's slice of [rtp_port_min, rtp_port_max]: RTP on even ports, RTCP on the odd
// port above (RFC 3550 11).
inline PortRange ShardPorts(const config::v1::Config& config, uint32_t shard) {
  const uint32_t shards = config.media().process_count() == 0 ? 1 : config.media().process_count();
  const uint32_t min = (config.media().rtp_port_min() + 1) & ~1u;
  const uint32_t max = config.media().rtp_port_max();
  if (max < min + 1) return PortRange{min, min};
  const uint32_t pairs = (max - min + 1) / 2;
  const uint32_t per_shard = pairs / shards;
  const uint32_t first = min + 2 * per_shard * shard;
  return PortRange{first, first + 2 * per_shard - 1};
}

}  // namespace linegate::media
