// WAV parsing and writing: round trips, chunk walking, and a clear refusal of every
// format the line cannot carry.

#include "media/tdm/sim/wav.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "media/tdm/sim/tests/test_util.h"

namespace linegate::media::tdm::sim {
namespace {

using Bytes = std::vector<std::byte>;

void Put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = std::byte(v & 0xFF);
  b[at + 1] = std::byte(v >> 8);
}
void Put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}
void Append(Bytes& b, std::string_view s) {
  for (char c : s) b.push_back(std::byte(c));
}
void Append32(Bytes& b, uint32_t v) {
  b.resize(b.size() + 4);
  Put32(b, b.size() - 4, v);
}

std::vector<int16_t> Ramp(size_t n) {
  std::vector<int16_t> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<int16_t>(static_cast<int>(i * 7919 % 65536) - 32768);
  return s;
}

// A file built from a 44-byte canonical header: offsets 22 channels, 24 rate, 28 byte
// rate, 32 block align, 34 bits.
Bytes Canonical(size_t samples = 100) { return EncodeWav(Ramp(samples)); }

std::string ParseError(const Bytes& file) {
  Result<std::vector<int16_t>> r = ParseWav(file);
  return r.ok() ? "(accepted)" : r.error();
}

TEST(WavTest, EncodeParseRoundTripIsExact) {
  const std::vector<int16_t> samples = Ramp(12345);
  Result<std::vector<int16_t>> parsed = ParseWav(EncodeWav(samples));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(*parsed, samples);
  // Every 16-bit value survives.
  std::vector<int16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<int16_t>(i - 32768);
  EXPECT_EQ(*ParseWav(EncodeWav(all)), all);
}

TEST(WavTest, SkipsOtherChunksWithPaddingAndAcceptsExtensiblePcm) {
  const std::vector<int16_t> samples = Ramp(50);
  Bytes file;
  Append(file, "RIFF");
  Append32(file, 0);  // patched below
  Append(file, "WAVE");
  // A LIST chunk of odd length, padded.
  Append(file, "LIST");
  Append32(file, 5);
  Append(file, "INFOx");
  file.push_back(std::byte{0});
  // WAVE_FORMAT_EXTENSIBLE fmt chunk (40 bytes) with the PCM sub-format.
  Append(file, "fmt ");
  Append32(file, 40);
  const size_t fmt_at = file.size();
  file.resize(file.size() + 40);
  Put16(file, fmt_at + 0, 0xFFFE);
  Put16(file, fmt_at + 2, 1);
  Put32(file, fmt_at + 4, 8000);
  Put32(file, fmt_at + 8, 16000);
  Put16(file, fmt_at + 12, 2);
  Put16(file, fmt_at + 14, 16);
  Put16(file, fmt_at + 16, 22);
  Put16(file, fmt_at + 18, 16);
  const uint8_t kPcm[16] = {1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
  std::memcpy(&file[fmt_at + 24], kPcm, 16);
  Append(file, "fact");
  Append32(file, 4);
  Append32(file, 50);
  Append(file, "data");
  Append32(file, 100);
  for (int16_t s : samples) {
    file.resize(file.size() + 2);
    Put16(file, file.size() - 2, static_cast<uint16_t>(s));
  }
  Put32(file, 4, static_cast<uint32_t>(file.size() - 8));
  Result<std::vector<int16_t>> parsed = ParseWav(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(*parsed, samples);

  // The same with a non-PCM sub-format (IEEE float) is refused.
  file[fmt_at + 24] = std::byte{3};
  EXPECT_NE(ParseError(file).find("sub-format other than PCM"), std::string::npos) << ParseError(file);
}

TEST(WavTest, RefusesWhatTheLineCannotCarryWithAClearMessage) {
  struct Case {
    std::string name;
    std::function<void(Bytes&)> corrupt;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"stereo",
       [](Bytes& b) {
         Put16(b, 22, 2);
         Put16(b, 32, 4);
         Put32(b, 28, 32000);
       },
       "2 channels (stereo); need 1 (mono)"},
      {"44.1 kHz",
       [](Bytes& b) {
         Put32(b, 24, 44100);
         Put32(b, 28, 88200);
       },
       "sample rate 44100 Hz; need 8000 Hz"},
      {"8-bit",
       [](Bytes& b) {
         Put16(b, 34, 8);
         Put16(b, 32, 1);
         Put32(b, 28, 8000);
       },
       "8 bits per sample; need 16"},
      {"float", [](Bytes& b) { Put16(b, 20, 3); }, "format tag 3 (IEEE float); need 1 (PCM)"},
      {"mu-law", [](Bytes& b) { Put16(b, 20, 7); }, "format tag 7 (mu-law)"},
      {"inconsistent block align", [](Bytes& b) { Put16(b, 32, 4); }, "inconsistent fmt chunk"},
      {"truncated data", [](Bytes& b) { b.resize(b.size() - 10); }, "truncated"},
      {"truncated data, RIFF size patched",
       [](Bytes& b) {
         b.resize(b.size() - 10);
         Put32(b, 4, static_cast<uint32_t>(b.size() - 8));
       },
       "truncated: chunk 'data' declares 200 bytes, only 190 remain"},
      {"truncated header", [](Bytes& b) { b.resize(40); }, "truncated"},
      {"not RIFF", [](Bytes& b) { std::memcpy(&b[0], "RIFX", 4); }, "no RIFF/WAVE header"},
      {"not WAVE", [](Bytes& b) { std::memcpy(&b[8], "AVI ", 4); }, "no RIFF/WAVE header"},
      {"empty", [](Bytes& b) { b.clear(); }, "no RIFF/WAVE header"},
      {"odd data size",
       [](Bytes& b) {
         Put32(b, 40, 199);
         Put32(b, 4, static_cast<uint32_t>(b.size() - 8));
       },
       "not whole 16-bit samples"},
      {"no fmt", [](Bytes& b) { std::memcpy(&b[12], "junk", 4); }, "data chunk before the fmt chunk"},
      {"no data",
       [](Bytes& b) {
         b.resize(36);
         Put32(b, 4, 28);
       },
       "no data chunk"},
      {"short fmt",
       [](Bytes& b) {
         // fmt chunk of 8 bytes, followed by data.
         Put32(b, 16, 8);
         b.erase(b.begin() + 28, b.begin() + 36);
         Put32(b, 4, static_cast<uint32_t>(b.size() - 8));
       },
       "fmt chunk is 8 bytes, expected >= 16"},
  };
  for (const Case& c : cases) {
    Bytes file = Canonical();
    ASSERT_TRUE(ParseWav(file).ok());
    c.corrupt(file);
    const std::string error = ParseError(file);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.name << ": " << error;
    EXPECT_NE(error.find("not an 8 kHz mono 16-bit PCM WAV file"), std::string::npos)
        << c.name << ": " << error;
  }
}

TEST(WavTest, FileWriterWritesWhatReadWavFileReads) {
  testing::FileCleanup file(testing::TempPath("writer.wav"));
  const std::vector<int16_t> samples = Ramp(20000);
  {
    Result<WavFileWriter> writer = WavFileWriter::Create(file.path());
    ASSERT_TRUE(writer.ok()) << writer.error();
    ASSERT_TRUE(writer->Append(std::span(samples).first(7)).ok());
    ASSERT_TRUE(writer->Append(std::span(samples).subspan(7)).ok());
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_FALSE(writer->Append(samples).ok());  // finished
  }
  Result<std::vector<int16_t>> read = ReadWavFile(file.path());
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(*read, samples);
}

TEST(WavTest, ReadWavFileNamesTheFileInErrors) {
  Result<std::vector<int16_t>> missing = ReadWavFile("/nonexistent/dir/x.wav");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("cannot open /nonexistent/dir/x.wav"), std::string::npos);

  testing::FileCleanup file(testing::TempPath("stereo.wav"));
  Bytes stereo = Canonical();
  Put16(stereo, 22, 2);
  std::FILE* f = std::fopen(file.path().c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(stereo.data(), 1, stereo.size(), f);
  std::fclose(f);
  Result<std::vector<int16_t>> r = ReadWavFile(file.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind(file.path() + ": not an 8 kHz", 0), 0u) << r.error();
}

}  // namespace
}  // namespace linegate::media::tdm::sim
