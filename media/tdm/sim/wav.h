#pragma once
// WAV files for the simulated phone: reading what it plays and writing what it records.
// Only 8 kHz mono 16-bit PCM is accepted, the format of the line; anything else is
// refused with a message that says what the file is and what is needed (we do not
// resample or mix down: a test that plays a file should hear exactly that file).
//
// RIFF/WAVE structure: "RIFF" <size> "WAVE", then chunks of <id> <size> <body>, each
// body padded to an even length. The "fmt " chunk (WAVE_FORMAT_PCM, or
// WAVE_FORMAT_EXTENSIBLE with the PCM sub-format) must come before "data"; other chunks
// (LIST, fact, ...) are skipped. All fields are little-endian. Not the per-frame path:
// these calls allocate and do file I/O.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace linegate::media::tdm::sim {

inline constexpr uint32_t kWavSampleRateHz = 8000;
// 10 minutes: a bound on what an operator command can make the tdm process load.
inline constexpr size_t kMaxWavSamples = 10 * 60 * kWavSampleRateHz;

// Parses a complete file image.
Result<std::vector<int16_t>> ParseWav(std::span<const std::byte> file);
Result<std::vector<int16_t>> ReadWavFile(const std::string& path);

// The bytes of a WAV file holding `samples` (for tests and for small files).
std::vector<std::byte> EncodeWav(std::span<const int16_t> samples);

// Writes a WAV file incrementally: the header is written first with zero sizes and
// patched by Finish(), so a file cut short by a crash is still recognisably a WAV file.
class WavFileWriter {
 public:
  WavFileWriter() = default;
  ~WavFileWriter();
  WavFileWriter(WavFileWriter&& other) noexcept;
  WavFileWriter& operator=(WavFileWriter&& other) noexcept;
  WavFileWriter(const WavFileWriter&) = delete;
  WavFileWriter& operator=(const WavFileWriter&) = delete;

  static Result<WavFileWriter> Create(const std::string& path);
  Status Append(std::span<const int16_t> samples);
  // Patches the sizes and closes the file.
  Status Finish();

  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }
  uint64_t samples_written() const { return samples_written_; }

 private:
  void Close();

  std::FILE* file_ = nullptr;
  std::string path_;
  uint64_t samples_written_ = 0;
};

}  // namespace linegate::media::tdm::sim
