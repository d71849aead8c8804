// The SDP serializer and the small helpers of the model.

#include <string>

#include "signaling/sdp/sdp.h"

namespace linegate::signaling::sdp {

std::string_view AddrTypeName(AddrType type) { return type == AddrType::kIp6 ? "IP6" : "IP4"; }

std::string_view DirectionName(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

Direction MakeDirection(bool sends, bool receives) {
  if (sends) return receives ? Direction::kSendRecv : Direction::kSendOnly;
  return receives ? Direction::kRecvOnly : Direction::kInactive;
}

bool MediaDescription::IsRtp() const { return proto.rfind("RTP/", 0) == 0; }

const RtpMap* MediaDescription::FindRtpMap(uint8_t payload_type) const {
  for (const RtpMap& map : rtpmaps) {
    if (map.payload_type == payload_type) return &map;
  }
  return nullptr;
}

const Fmtp* MediaDescription::FindFmtp(std::string_view format) const {
  for (const Fmtp& fmtp : fmtps) {
    if (fmtp.format == format) return &fmtp;
  }
  return nullptr;
}

const Connection* SessionDescription::MediaConnection(size_t index) const {
  if (index < media.size() && media[index].connection) return &*media[index].connection;
  return connection ? &*connection : nullptr;
}

Direction SessionDescription::MediaDirection(size_t index) const {
  if (index < media.size() && media[index].direction) return *media[index].direction;
  return direction.value_or(Direction::kSendRecv);
}

namespace {

void AppendLine(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void AppendConnection(std::string& out, const Connection& c) {
  out += "c=IN ";
  out += AddrTypeName(c.addr_type);
  out += ' ';
  out += c.address;
  if (!c.suffix.empty()) {
    out += '/';
    out += c.suffix;
  }
  out += "\r\n";
}

// The kept lines whose type is in `types`, in their received order.
void AppendOther(std::string& out, const std::vector<OtherLine>& lines, std::string_view types) {
  for (const OtherLine& line : lines) {
    if (types.find(line.type) != std::string_view::npos) AppendLine(out, line.type, line.value);
  }
}

void AppendAttributes(std::string& out, const std::vector<Attribute>& attributes) {
  for (const Attribute& a : attributes) {
    out += "a=";
    out += a.name;
    if (a.has_value) {
      out += ':';
      out += a.value;
    }
    out += "\r\n";
  }
}

void AppendDirection(std::string& out, const std::optional<Direction>& direction) {
  if (direction) AppendLine(out, 'a', DirectionName(*direction));
}

void AppendMedia(std::string& out, const MediaDescription& m) {
  out += "m=";
  out += m.media;
  out += ' ';
  out += std::to_string(m.port);
  if (m.port_count) out += '/' + std::to_string(*m.port_count);
  out += ' ';
  out += m.proto;
  for (const std::string& format : m.formats) {
    out += ' ';
    out += format;
  }
  out += "\r\n";
  AppendOther(out, m.other_lines, "i");
  if (m.connection) AppendConnection(out, *m.connection);
  AppendOther(out, m.other_lines, "bk");
  for (const RtpMap& map : m.rtpmaps) {
    out += "a=rtpmap:" + std::to_string(map.payload_type) + ' ' + map.encoding + '/' +
           std::to_string(map.clock_rate);
    if (map.channels != 0) out += '/' + std::to_string(map.channels);
    out += "\r\n";
  }
  for (const Fmtp& fmtp : m.fmtps) {
    out += "a=fmtp:" + fmtp.format;
    if (!fmtp.parameters.empty()) out += ' ' + fmtp.parameters;
    out += "\r\n";
  }
  if (m.ptime_ms) AppendLine(out, 'a', "ptime:" + std::to_string(*m.ptime_ms));
  if (m.maxptime_ms) AppendLine(out, 'a', "maxptime:" + std::to_string(*m.maxptime_ms));
  if (m.rtcp) {
    out += "a=rtcp:" + std::to_string(m.rtcp->port);
    if (m.rtcp->connection) {
      out += " IN ";
      out += AddrTypeName(m.rtcp->connection->addr_type);
      out += ' ' + m.rtcp->connection->address;
    }
    out += "\r\n";
  }
  AppendDirection(out, m.direction);
  AppendAttributes(out, m.attributes);
}

}  // namespace

std::string Serialize(const SessionDescription& sdp) {
  std::string out;
  out.reserve(512);
  out += "v=0\r\n";
  out += "o=" + sdp.origin.username + ' ' + std::to_string(sdp.origin.session_id) + ' ' +
         std::to_string(sdp.origin.session_version) + " IN ";
  out += AddrTypeName(sdp.origin.addr_type);
  out += ' ' + sdp.origin.address + "\r\n";
  AppendLine(out, 's', sdp.session_name);
  AppendOther(out, sdp.other_lines, "iuep");
  if (sdp.connection) AppendConnection(out, *sdp.connection);
  AppendOther(out, sdp.other_lines, "b");
  AppendLine(out, 't', sdp.timing);
  AppendOther(out, sdp.other_lines, "tr");
  AppendOther(out, sdp.other_lines, "zk");
  AppendDirection(out, sdp.direction);
  AppendAttributes(out, sdp.attributes);
  for (const MediaDescription& m : sdp.media) AppendMedia(out, m);
  return out;
}

}  // namespace linegate::signaling::sdp
