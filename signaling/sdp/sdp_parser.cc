// The SDP parser: one pass over the lines, views into the input, typed fields copied
// into the owned SessionDescription. Every error names the line.

#include <algorithm>
#include <charconv>
#include <string>

#include "signaling/sdp/sdp.h"

namespace linegate::signaling::sdp {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// RFC 4566 token characters (token-char), used for attribute names, media and proto.
bool IsTokenChar(char c) {
  if (IsDigit(c) || IsAlpha(c)) return true;
  return std::string_view("!#$%&'*+-.^_`{|}~/").find(c) != std::string_view::npos;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits `s` on runs of SP/HTAB into at most `max` fields; returns the count, or
// max + 1 when there are more.
size_t SplitFields(std::string_view s, std::string_view* fields, size_t max) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (n == max) return max + 1;
    fields[n++] = s.substr(i, j - i);
    i = j;
  }
  return n;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view s, T max) {
  if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), IsDigit)) return std::nullopt;
  T value{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

std::optional<AddrType> ParseAddrType(std::string_view s) {
  if (s == "IP4") return AddrType::kIp4;
  if (s == "IP6") return AddrType::kIp6;
  return std::nullopt;
}

// Hostnames and dotted quads for IP4; hex, ':' and '.' (an embedded IPv4) for IP6.
bool IsValidAddress(AddrType type, std::string_view s) {
  if (s.empty()) return false;
  if (type == AddrType::kIp4) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return IsDigit(c) || IsAlpha(c) || c == '.' || c == '-'; });
  }
  return s.find(':') != std::string_view::npos &&
         std::all_of(s.begin(), s.end(), [](char c) { return IsHex(c) || c == ':' || c == '.'; });
}

// "IN <addrtype> <address>[/suffix]" from three fields.
std::optional<std::string> ParseConnectionFields(std::string_view nettype, std::string_view addrtype,
                                                 std::string_view address, bool allow_suffix,
                                                 Connection& out) {
  if (nettype != "IN") return "network type is not IN";
  const auto type = ParseAddrType(addrtype);
  if (!type) return "address type is not IP4 or IP6";
  out.addr_type = *type;
  std::string_view suffix;
  if (const size_t slash = address.find('/'); slash != std::string_view::npos && allow_suffix) {
    suffix = address.substr(slash + 1);
    address = address.substr(0, slash);
    if (suffix.empty() ||
        !std::all_of(suffix.begin(), suffix.end(), [](char c) { return IsDigit(c) || c == '/'; }))
      return "bad multicast TTL or count";
  }
  if (!IsValidAddress(*type, address)) return "bad address";
  out.address = std::string(address);
  out.suffix = std::string(suffix);
  return std::nullopt;
}

// Stable-sorts kept lines into the groups Serialize writes, in that order; a type in
// no group goes last.
void SortOtherLines(std::vector<OtherLine>& lines, std::string_view first, std::string_view second,
                    std::string_view third) {
  const auto rank = [&](const OtherLine& line) {
    if (first.find(line.type) != std::string_view::npos) return 0;
    if (second.find(line.type) != std::string_view::npos) return 1;
    if (third.find(line.type) != std::string_view::npos) return 2;
    return 3;
  };
  std::stable_sort(lines.begin(), lines.end(),
                   [&](const OtherLine& a, const OtherLine& b) { return rank(a) < rank(b); });
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  Result<SessionDescription> Run() {
    if (text_.size() > limits_.max_size) {
      return Error{"SDP larger than " + std::to_string(limits_.max_size) + " octets"};
    }
    size_t pos = 0;
    size_t lines = 0;
    while (pos < text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      type_ = 0;
      if (++lines > limits_.max_lines)
        return Fail("more than " + std::to_string(limits_.max_lines) + " lines");
      if (line.size() > limits_.max_line_length)
        return Fail("longer than " + std::to_string(limits_.max_line_length) + " octets");
      if (std::any_of(line.begin(), line.end(), [](char c) { return c == '\0' || c == '\r'; }))
        return Fail("NUL or CR inside the line");
      if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
        return Fail("not of the form <type>=<value>");
      type_ = line[0];
      if (auto err = Line(TrimRight(line.substr(2)))) return Fail(*err);
    }
    line_no_ = 0;
    if (!seen_v_) return Error{"empty SDP (no v= line)"};
    // Kept lines in the order Serialize writes them (RFC 4566 5), so that a
    // description read from out-of-order text serializes back to an equal one.
    SortOtherLines(sdp_.other_lines, "iuep", "b", "tr");
    for (MediaDescription& m : sdp_.media) SortOtherLines(m.other_lines, "i", "bk", "");
    if (!seen_o_) return Error{"missing o= line"};
    if (!seen_s_) return Error{"missing s= line"};
    for (size_t i = 0; i < sdp_.media.size(); ++i) {
      if (sdp_.media[i].port != 0 && sdp_.MediaConnection(i) == nullptr) {
        return Error{"line " + std::to_string(media_lines_[i]) +
                     " (m=): no c= line for this media and none at session level"};
      }
    }
    return std::move(sdp_);
  }

 private:
  Error Fail(const std::string& what) const {
    std::string where = "line " + std::to_string(line_no_);
    if (type_ != 0) where += std::string(" (") + type_ + "=)";
    return Error{where + ": " + what};
  }

  // Returns an error phrase, or nothing when the line was accepted.
  std::optional<std::string> Line(std::string_view value) {
    if (!seen_v_) {
      if (type_ != 'v') return "the first line must be v=";
      if (value != "0") return "unsupported version (only v=0)";
      seen_v_ = true;
      return std::nullopt;
    }
    MediaDescription* media = sdp_.media.empty() ? nullptr : &sdp_.media.back();
    switch (type_) {
      case 'v':
        return "duplicate v= line";
      case 'o':
        if (media) return "o= inside a media description";
        if (seen_o_) return "duplicate o= line";
        seen_o_ = true;
        return ParseOrigin(value);
      case 's':
        if (media) return "s= inside a media description";
        if (seen_s_) return "duplicate s= line";
        seen_s_ = true;
        if (value.empty()) return "empty session name (use s=-)";
        sdp_.session_name = std::string(value);
        return std::nullopt;
      case 'c': {
        std::optional<Connection>& slot = media ? media->connection : sdp_.connection;
        if (slot) return "duplicate c= line";
        std::string_view f[4];
        if (SplitFields(value, f, 3) != 3) return "expected c=IN <IP4|IP6> <address>";
        slot.emplace();
        return ParseConnectionFields(f[0], f[1], f[2], true, *slot);
      }
      case 't': {
        if (media) return "t= inside a media description";
        std::string_view f[3];
        if (SplitFields(value, f, 2) != 2 || !ParseNumber<uint64_t>(f[0], UINT64_MAX) ||
            !ParseNumber<uint64_t>(f[1], UINT64_MAX))
          return "expected t=<start> <stop>";
        std::string timing = std::string(f[0]) + " " + std::string(f[1]);
        if (!seen_t_) {
          sdp_.timing = std::move(timing);
          seen_t_ = true;
        } else {
          sdp_.other_lines.push_back({'t', std::move(timing)});
        }
        return std::nullopt;
      }
      case 'm':
        return ParseMedia(value);
      case 'a':
        return ParseAttribute(value, media);
      case 'i':
      case 'b':
      case 'k':
        (media ? media->other_lines : sdp_.other_lines).push_back({type_, std::string(value)});
        return std::nullopt;
      case 'u':
      case 'e':
      case 'p':
      case 'r':
      case 'z':
        if (media) return std::string(1, type_) + "= inside a media description";
        if (type_ == 'r' && !seen_t_) return "r= before any t= line";
        sdp_.other_lines.push_back({type_, std::string(value)});
        return std::nullopt;
      default:
        return "unknown line type";
    }
  }

  std::optional<std::string> ParseOrigin(std::string_view value) {
    std::string_view f[7];
    if (SplitFields(value, f, 6) != 6)
      return "expected o=<username> <sess-id> <sess-version> IN <IP4|IP6> <address>";
    const auto id = ParseNumber<uint64_t>(f[1], UINT64_MAX);
    const auto version = ParseNumber<uint64_t>(f[2], UINT64_MAX);
    if (!id) return "session id is not a 64-bit number";
    if (!version) return "session version is not a 64-bit number";
    sdp_.origin.username = std::string(f[0]);
    sdp_.origin.session_id = *id;
    sdp_.origin.session_version = *version;
    Connection c;
    if (auto err = ParseConnectionFields(f[3], f[4], f[5], false, c)) return err;
    sdp_.origin.addr_type = c.addr_type;
    sdp_.origin.address = std::move(c.address);
    return std::nullopt;
  }

  std::optional<std::string> ParseMedia(std::string_view value) {
    if (!seen_o_ || !seen_s_) return "m= before the o= and s= lines";
    if (sdp_.media.size() == limits_.max_media)
      return "more than " + std::to_string(limits_.max_media) + " media descriptions";
    std::vector<std::string_view> f(limits_.max_formats + 3);
    const size_t n = SplitFields(value, f.data(), f.size());
    if (n > limits_.max_formats + 3) return "more than " + std::to_string(limits_.max_formats) + " formats";
    if (n < 4) return "expected m=<media> <port> <proto> <format>...";
    MediaDescription m;
    if (!IsToken(f[0])) return "bad media type";
    m.media = std::string(f[0]);
    std::string_view port = f[1];
    if (const size_t slash = port.find('/'); slash != std::string_view::npos) {
      const auto count = ParseNumber<uint16_t>(port.substr(slash + 1), UINT16_MAX);
      if (!count || *count == 0) return "bad port count";
      m.port_count = *count;
      port = port.substr(0, slash);
    }
    const auto p = ParseNumber<uint16_t>(port, UINT16_MAX);
    if (!p) return "port is not a number from 0 to 65535";
    m.port = *p;
    if (!IsToken(f[2])) return "bad transport protocol";
    m.proto = std::string(f[2]);
    const bool rtp = m.IsRtp();
    for (size_t i = 3; i < n; ++i) {
      if (rtp ? !ParseNumber<uint8_t>(f[i], 127) : !IsToken(f[i]))
        return "bad format '" + std::string(f[i]) + (rtp ? "' (RTP payload types are 0-127)" : "'");
      m.formats.emplace_back(f[i]);
    }
    sdp_.media.push_back(std::move(m));
    media_lines_.push_back(line_no_);
    return std::nullopt;
  }

  std::optional<std::string> ParseAttribute(std::string_view value, MediaDescription* media) {
    const size_t colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    const bool has_value = colon != std::string_view::npos;
    const std::string_view arg = has_value ? value.substr(colon + 1) : std::string_view();
    if (!IsToken(name)) return "bad attribute name";

    std::optional<Direction> direction;
    if (name == "sendrecv") direction = Direction::kSendRecv;
    if (name == "sendonly") direction = Direction::kSendOnly;
    if (name == "recvonly") direction = Direction::kRecvOnly;
    if (name == "inactive") direction = Direction::kInactive;
    if (direction) {
      if (has_value) return "a=" + std::string(name) + " takes no value";
      std::optional<Direction>& slot = media ? media->direction : sdp_.direction;
      if (slot) return "more than one direction attribute";
      slot = direction;
      return std::nullopt;
    }
    if (media != nullptr) {
      if (name == "rtpmap") return ParseRtpMap(arg, *media);
      if (name == "fmtp") {
        const size_t space = arg.find(' ');
        const std::string_view format = arg.substr(0, space);
        if (!IsToken(format)) return "expected a=fmtp:<format> <parameters>";
        media->fmtps.push_back({std::string(format), space == std::string_view::npos
                                                         ? std::string()
                                                         : std::string(arg.substr(space + 1))});
        return std::nullopt;
      }
      if (name == "ptime" || name == "maxptime") {
        std::optional<uint32_t>& slot = name == "ptime" ? media->ptime_ms : media->maxptime_ms;
        if (slot) return "duplicate a=" + std::string(name);
        const auto ms = ParseNumber<uint32_t>(arg, 10000);
        if (!ms || *ms == 0)
          return "a=" + std::string(name) + " is not a number of milliseconds from 1 to 10000";
        slot = *ms;
        return std::nullopt;
      }
      if (name == "rtcp") {
        if (media->rtcp) return "duplicate a=rtcp";
        std::string_view f[5];
        const size_t n = SplitFields(arg, f, 4);
        const auto port = n > 0 ? ParseNumber<uint16_t>(f[0], UINT16_MAX) : std::nullopt;
        if (!port || (n != 1 && n != 4)) return "expected a=rtcp:<port> [IN <IP4|IP6> <address>]";
        Rtcp rtcp{.port = *port, .connection = std::nullopt};
        if (n == 4) {
          rtcp.connection.emplace();
          if (auto err = ParseConnectionFields(f[1], f[2], f[3], false, *rtcp.connection)) return err;
        }
        media->rtcp = std::move(rtcp);
        return std::nullopt;
      }
    }
    (media ? media->attributes : sdp_.attributes).push_back({std::string(name), std::string(arg), has_value});
    return std::nullopt;
  }

  std::optional<std::string> ParseRtpMap(std::string_view arg, MediaDescription& media) {
    static constexpr const char* kForm =
        "expected a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>]";
    std::string_view f[3];
    if (SplitFields(arg, f, 2) != 2) return kForm;
    const auto pt = ParseNumber<uint8_t>(f[0], 127);
    if (!pt) return "rtpmap payload type is not a number from 0 to 127";
    if (media.FindRtpMap(*pt)) return "duplicate rtpmap for payload type " + std::to_string(*pt);
    std::string_view rest = f[1];
    const size_t s1 = rest.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return kForm;
    RtpMap map{
        .payload_type = *pt, .encoding = std::string(rest.substr(0, s1)), .clock_rate = 0, .channels = 0};
    if (!IsToken(map.encoding) || map.encoding.find('/') != std::string::npos) return "bad encoding name";
    rest = rest.substr(s1 + 1);
    const size_t s2 = rest.find('/');
    const auto clock = ParseNumber<uint32_t>(rest.substr(0, s2), UINT32_MAX);
    if (!clock || *clock == 0) return "rtpmap clock rate is not a positive number";
    map.clock_rate = *clock;
    if (s2 != std::string_view::npos) {
      const auto channels = ParseNumber<uint8_t>(rest.substr(s2 + 1), UINT8_MAX);
      if (!channels || *channels == 0) return "rtpmap channels is not a number from 1 to 255";
      map.channels = *channels;
    }
    media.rtpmaps.push_back(std::move(map));
    return std::nullopt;
  }

  std::string_view text_;
  const ParseLimits& limits_;
  SessionDescription sdp_;
  std::vector<size_t> media_lines_;
  size_t line_no_ = 0;
  char type_ = 0;
  bool seen_v_ = false, seen_o_ = false, seen_s_ = false, seen_t_ = false;
};

}  // namespace

Result<SessionDescription> Parse(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).Run();
}

}  // namespace linegate::signaling::sdp
