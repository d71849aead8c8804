#include "media/tdm/sim/wav.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace linegate::media::tdm::sim {
namespace {

constexpr size_t kHeaderBytes = 44;  // RIFF header + 16-byte fmt chunk + data header
constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// KSDATAFORMAT_SUBTYPE_PCM, 00000001-0000-0010-8000-00aa00389b71, as stored.
constexpr std::array<uint8_t, 16> kPcmSubFormat = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                                   0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

uint16_t Le16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(p[0]) | std::to_integer<uint16_t>(p[1]) << 8);
}
uint32_t Le32(const std::byte* p) {
  return std::to_integer<uint32_t>(p[0]) | std::to_integer<uint32_t>(p[1]) << 8 |
         std::to_integer<uint32_t>(p[2]) << 16 | std::to_integer<uint32_t>(p[3]) << 24;
}
bool IdIs(const std::byte* p, std::string_view id) { return std::memcmp(p, id.data(), 4) == 0; }

void PutLe16(std::byte* p, uint16_t v) {
  p[0] = static_cast<std::byte>(v);
  p[1] = static_cast<std::byte>(v >> 8);
}
void PutLe32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

// A printable chunk id ("LIST"), or its bytes in hex when it is not text.
std::string ChunkName(const std::byte* p) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const auto c = std::to_integer<unsigned char>(p[i]);
    if (c < 0x20 || c > 0x7E) {
      name.clear();
      for (int j = 0; j < 4; ++j) {
        static constexpr char kHex[] = "0123456789abcdef";
        const auto b = std::to_integer<unsigned char>(p[j]);
        name += kHex[b >> 4];
        name += kHex[b & 15];
      }
      return "0x" + name;
    }
    name += static_cast<char>(c);
  }
  return "'" + name + "'";
}

std::string FormatTagName(uint16_t tag) {
  switch (tag) {
    case 3:
      return "3 (IEEE float)";
    case 6:
      return "6 (A-law)";
    case 7:
      return "7 (mu-law)";
    default:
      return std::to_string(tag);
  }
}

struct Fmt {
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
  uint16_t bits = 0;
};

Result<Fmt> ParseFmt(std::span<const std::byte> body) {
  if (body.size() < 16)
    return Error{"fmt chunk is " + std::to_string(body.size()) + " bytes, expected >= 16"};
  uint16_t tag = Le16(&body[0]);
  if (tag == kFormatExtensible) {
    if (body.size() < 40) {
      return Error{"fmt chunk of WAVE_FORMAT_EXTENSIBLE is " + std::to_string(body.size()) +
                   " bytes, expected >= 40"};
    }
    if (std::memcmp(&body[24], kPcmSubFormat.data(), kPcmSubFormat.size()) != 0) {
      return Error{"WAVE_FORMAT_EXTENSIBLE with a sub-format other than PCM; need 16-bit PCM"};
    }
    tag = kFormatPcm;
  }
  if (tag != kFormatPcm) return Error{"format tag " + FormatTagName(tag) + "; need 1 (PCM)"};
  Fmt fmt{Le16(&body[2]), Le32(&body[4]), Le16(&body[14])};
  const uint32_t byte_rate = Le32(&body[8]);
  const uint16_t block_align = Le16(&body[12]);
  if (fmt.channels != 1) {
    return Error{std::to_string(fmt.channels) + " channels" + (fmt.channels == 2 ? " (stereo)" : "") +
                 "; need 1 (mono)"};
  }
  if (fmt.sample_rate != kWavSampleRateHz) {
    return Error{"sample rate " + std::to_string(fmt.sample_rate) + " Hz; need 8000 Hz"};
  }
  if (fmt.bits != 16) return Error{std::to_string(fmt.bits) + " bits per sample; need 16"};
  if (block_align != 2 || byte_rate != 2 * kWavSampleRateHz) {
    return Error{"inconsistent fmt chunk: block align " + std::to_string(block_align) + ", byte rate " +
                 std::to_string(byte_rate) + "; expected 2 and 16000 for 8 kHz mono 16-bit"};
  }
  return fmt;
}

}  // namespace

Result<std::vector<int16_t>> ParseWav(std::span<const std::byte> file) {
  const auto fail = [](const std::string& why) {
    return Error{"not an 8 kHz mono 16-bit PCM WAV file: " + why};
  };
  if (file.size() < 12 || !IdIs(&file[0], "RIFF") || !IdIs(&file[8], "WAVE")) {
    return fail("no RIFF/WAVE header");
  }
  const uint64_t riff_end = uint64_t{Le32(&file[4])} + 8;
  if (riff_end > file.size()) {
    return fail("truncated: the RIFF header declares " + std::to_string(riff_end) + " bytes, the file has " +
                std::to_string(file.size()));
  }
  bool have_fmt = false;
  size_t at = 12;
  while (at < riff_end) {
    if (riff_end - at < 8) return fail("truncated chunk header at byte " + std::to_string(at));
    const std::byte* header = &file[at];
    const uint32_t size = Le32(header + 4);
    const size_t body_at = at + 8;
    if (size > riff_end - body_at) {
      return fail("truncated: chunk " + ChunkName(header) + " declares " + std::to_string(size) +
                  " bytes, only " + std::to_string(riff_end - body_at) + " remain");
    }
    const std::span<const std::byte> body = file.subspan(body_at, size);
    if (IdIs(header, "fmt ")) {
      if (have_fmt) return fail("two fmt chunks");
      Result<Fmt> fmt = ParseFmt(body);
      if (!fmt.ok()) return fail(fmt.error());
      have_fmt = true;
    } else if (IdIs(header, "data")) {
      if (!have_fmt) return fail("data chunk before the fmt chunk");
      if (size % 2 != 0)
        return fail("data chunk of " + std::to_string(size) + " bytes: not whole 16-bit samples");
      if (size / 2 > kMaxWavSamples) {
        return fail("too long: " + std::to_string(size / 2 / kWavSampleRateHz) + " s, at most " +
                    std::to_string(kMaxWavSamples / kWavSampleRateHz) + " s");
      }
      std::vector<int16_t> samples(size / 2);
      for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(Le16(&body[2 * i]));
      return samples;
    }
    // Bodies are padded to an even length; a missing pad byte at the very end is tolerated.
    at = body_at + size + (size % 2);
  }
  return fail(have_fmt ? "no data chunk" : "no fmt chunk");
}

Result<std::vector<int16_t>> ReadWavFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Error{"cannot open " + path + ": " + std::strerror(errno)};
  // Read at most a little more than the longest accepted file, so an enormous file is
  // refused without being loaded.
  constexpr size_t kMaxFileBytes = kMaxWavSamples * 2 + 64 * 1024;
  std::vector<std::byte> bytes;
  std::array<std::byte, 64 * 1024> chunk;
  size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), file)) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    if (bytes.size() > kMaxFileBytes) {
      std::fclose(file);
      return Error{path + ": file larger than " + std::to_string(kMaxFileBytes) + " bytes"};
    }
  }
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) return Error{"cannot read " + path};
  Result<std::vector<int16_t>> samples = ParseWav(bytes);
  if (!samples.ok()) return Error{path + ": " + samples.error()};
  return samples;
}

namespace {

std::array<std::byte, kHeaderBytes> MakeHeader(uint64_t samples) {
  const auto data_bytes = static_cast<uint32_t>(samples * 2);
  std::array<std::byte, kHeaderBytes> h{};
  std::memcpy(&h[0], "RIFF", 4);
  PutLe32(&h[4], 36 + data_bytes);
  std::memcpy(&h[8], "WAVE", 4);
  std::memcpy(&h[12], "fmt ", 4);
  PutLe32(&h[16], 16);
  PutLe16(&h[20], kFormatPcm);
  PutLe16(&h[22], 1);
  PutLe32(&h[24], kWavSampleRateHz);
  PutLe32(&h[28], 2 * kWavSampleRateHz);
  PutLe16(&h[32], 2);
  PutLe16(&h[34], 16);
  std::memcpy(&h[36], "data", 4);
  PutLe32(&h[40], data_bytes);
  return h;
}

}  // namespace

std::vector<std::byte> EncodeWav(std::span<const int16_t> samples) {
  const auto header = MakeHeader(samples.size());
  std::vector<std::byte> out(header.begin(), header.end());
  out.resize(kHeaderBytes + 2 * samples.size());
  for (size_t i = 0; i < samples.size(); ++i)
    PutLe16(&out[kHeaderBytes + 2 * i], static_cast<uint16_t>(samples[i]));
  return out;
}

WavFileWriter::~WavFileWriter() { Close(); }

WavFileWriter::WavFileWriter(WavFileWriter&& other) noexcept
    : file_(other.file_), path_(std::move(other.path_)), samples_written_(other.samples_written_) {
  other.file_ = nullptr;
}

WavFileWriter& WavFileWriter::operator=(WavFileWriter&& other) noexcept {
  if (this != &other) {
    Close();
    file_ = other.file_;
    path_ = std::move(other.path_);
    samples_written_ = other.samples_written_;
    other.file_ = nullptr;
  }
  return *this;
}

void WavFileWriter::Close() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

Result<WavFileWriter> WavFileWriter::Create(const std::string& path) {
  WavFileWriter writer;
  writer.file_ = std::fopen(path.c_str(), "wb");
  if (writer.file_ == nullptr) return Error{"cannot create " + path + ": " + std::strerror(errno)};
  writer.path_ = path;
  const auto header = MakeHeader(0);
  if (std::fwrite(header.data(), 1, header.size(), writer.file_) != header.size()) {
    return Error{"cannot write " + path + ": " + std::strerror(errno)};
  }
  return writer;
}

Status WavFileWriter::Append(std::span<const int16_t> samples) {
  if (file_ == nullptr) return Error{"recording file is not open"};
  std::array<std::byte, 4096> buffer;
  size_t done = 0;
  while (done < samples.size()) {
    const size_t n = std::min(samples.size() - done, buffer.size() / 2);
    for (size_t i = 0; i < n; ++i) PutLe16(&buffer[2 * i], static_cast<uint16_t>(samples[done + i]));
    if (std::fwrite(buffer.data(), 2, n, file_) != n)
      return Error{"cannot write " + path_ + ": " + std::strerror(errno)};
    done += n;
  }
  samples_written_ += samples.size();
  return Status::Ok();
}

Status WavFileWriter::Finish() {
  if (file_ == nullptr) return Error{"recording file is not open"};
  const auto header = MakeHeader(samples_written_);
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 &&
                  std::fwrite(header.data(), 1, header.size(), file_) == header.size();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) return Error{"cannot finish " + path_ + ": " + std::strerror(errno)};
  return Status::Ok();
}

}  // namespace linegate::media::tdm::sim
