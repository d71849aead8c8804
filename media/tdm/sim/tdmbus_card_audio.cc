#include "media/tdm/sim/tdmbus_card_audio.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "media/dsp/g711.h"

namespace linegate::media::tdm::sim {

Result<TdmBusCardAudio> TdmBusCardAudio::Create(tdmbus::CardRegion& region, uint32_t channels,
                                                uint32_t frame_samples) {
  const tdmbus::Geometry& g = region.geometry();
  if (g.channel_count < channels) {
    return Error{fmt::format("tdmbus region {} has {} channels, the sim card {}", region.name(),
                             g.channel_count, channels)};
  }
  if (g.frame_samples != frame_samples) {
    return Error{fmt::format("tdmbus region {} carries {}-sample frames, the sim card {}", region.name(),
                             g.frame_samples, frame_samples)};
  }
  if (tdmbus::BytesPerSample(g.sample_format) == 0) return Error{"tdmbus region has no sample format"};
  TdmBusCardAudio audio(region, g.sample_format);
  audio.to_line_.reserve(channels);
  audio.from_line_.reserve(channels);
  for (uint32_t channel = 0; channel < channels; ++channel) {
    Result<tdmbus::FrameReader> reader = region.ToLineReader(channel);
    if (!reader.ok()) return Error{reader.error()};
    Result<tdmbus::FrameWriter> writer = region.FromLineWriter(channel);
    if (!writer.ok()) return Error{writer.error()};
    audio.to_line_.push_back(std::move(reader).value());
    audio.from_line_.push_back(std::move(writer).value());
  }
  return audio;
}

bool TdmBusCardAudio::ReadToLine(uint32_t channel, std::span<int16_t> out) {
  uint64_t sequence = 0;
  tdmbus::FrameReader& reader = to_line_[channel];
  const std::byte* slot = reader.BeginRead(&sequence);
  if (slot == nullptr) {
    ++underruns_;
    std::fill(out.begin(), out.end(), int16_t{0});
    return false;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(slot);
  switch (format_) {
    case tdmbus::SampleFormat::kMulaw:
      dsp::DecodeUlaw(std::span<const uint8_t>(bytes, out.size()), out);
      break;
    case tdmbus::SampleFormat::kAlaw:
      dsp::DecodeAlaw(std::span<const uint8_t>(bytes, out.size()), out);
      break;
    case tdmbus::SampleFormat::kLinear16:
    case tdmbus::SampleFormat::kUnspecified:  // refused by Create
      std::memcpy(out.data(), slot, out.size_bytes());
      break;
  }
  reader.EndRead();
  return true;
}

void TdmBusCardAudio::WriteFromLine(uint32_t channel, std::span<const int16_t> frame) {
  tdmbus::FrameWriter& writer = from_line_[channel];
  std::byte* slot = writer.BeginWrite();
  if (slot == nullptr) {
    // The media side is a ring behind: the bus counts the drop, and so do we.
    ++frames_dropped_;
    return;
  }
  auto* bytes = reinterpret_cast<uint8_t*>(slot);
  switch (format_) {
    case tdmbus::SampleFormat::kMulaw:
      dsp::EncodeUlaw(frame, std::span<uint8_t>(bytes, frame.size()));
      break;
    case tdmbus::SampleFormat::kAlaw:
      dsp::EncodeAlaw(frame, std::span<uint8_t>(bytes, frame.size()));
      break;
    case tdmbus::SampleFormat::kLinear16:
    case tdmbus::SampleFormat::kUnspecified:
      std::memcpy(slot, frame.data(), frame.size_bytes());
      break;
  }
  writer.CommitWrite();
}

void TdmBusCardAudio::EndTick(TimePoint now) {
  region_->Tick(static_cast<uint64_t>(now.time_since_epoch().count()));
}

}  // namespace linegate::media::tdm::sim
