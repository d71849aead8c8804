#include "signaling/sip/sip_serializer.h"

#include <cstring>

namespace linegate::signaling::sip {
namespace {

class BufferWriter {
 public:
  explicit BufferWriter(std::span<char> out) : out_(out) {}

  void Put(std::string_view text) {
    if (text.size() > out_.size() - used_) {
      overflow_ = true;
      return;
    }
    if (!text.empty()) std::memcpy(out_.data() + used_, text.data(), text.size());
    used_ += text.size();
  }
  void Put(char c) { Put(std::string_view(&c, 1)); }
  void PutNumber(uint32_t value) {
    char digits[10];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (n > 0) Put(digits[--n]);
  }
  // Folds become one SP; the fold's own whitespace is dropped.
  void PutUnfolded(std::string_view value) {
    size_t i = 0;
    while (i < value.size()) {
      const size_t cr = value.find('\r', i);
      if (cr == std::string_view::npos) {
        Put(value.substr(i));
        return;
      }
      Put(value.substr(i, cr - i));
      i = cr;
      while (i < value.size() && IsChar(value[i], kLwsChar)) ++i;
      Put(' ');
    }
  }
  std::optional<size_t> Finish() const { return overflow_ ? std::nullopt : std::optional<size_t>(used_); }

 private:
  std::span<char> out_;
  size_t used_ = 0;
  bool overflow_ = false;
};

}  // namespace

std::optional<size_t> Serialize(const Message& message, std::span<char> out,
                                const SerializeOptions& options) {
  BufferWriter writer(out);
  if (message.is_request()) {
    writer.Put(message.method());
    writer.Put(' ');
    writer.Put(message.request_uri_text());
    writer.Put(' ');
    writer.Put(message.version());
  } else {
    writer.Put(message.version());
    writer.Put(' ');
    writer.PutNumber(message.status_code());
    writer.Put(' ');
    writer.Put(message.reason_phrase());
  }
  writer.Put("\r\n");
  for (const HeaderField& field : message.headers()) {
    const bool canonical = options.canonical_names && field.id != HeaderId::kUnknown;
    writer.Put(canonical ? CanonicalHeaderName(field.id) : field.name);
    writer.Put(": ");
    if (options.unfold) {
      writer.PutUnfolded(field.value);
    } else {
      writer.Put(field.value);
    }
    writer.Put("\r\n");
  }
  writer.Put("\r\n");
  writer.Put(message.body());
  return writer.Finish();
}

std::optional<size_t> BuildResponse(const Message& request, uint16_t status, std::string_view reason,
                                    std::string_view to_tag, std::span<char> out,
                                    std::string_view extra_headers) {
  if (status < 100 || status > 699) return std::nullopt;
  for (char c : reason) {
    if (c == '\r' || c == '\n') return std::nullopt;
  }
  for (char c : to_tag) {
    if (!IsChar(c, kTokenChar)) return std::nullopt;
  }
  BufferWriter writer(out);
  writer.Put("SIP/2.0 ");
  writer.PutNumber(status);
  writer.Put(' ');
  writer.Put(reason);
  writer.Put("\r\n");
  // RFC 3261 8.2.6.2: Via values in the same order, From, Call-ID and CSeq equal, To
  // equal except for the tag the UAS adds.
  for (const HeaderField& field : request.headers()) {
    if (field.id != HeaderId::kVia) continue;
    writer.Put("Via: ");
    writer.Put(field.value);
    writer.Put("\r\n");
  }
  for (HeaderId id : {HeaderId::kFrom, HeaderId::kTo, HeaderId::kCallId, HeaderId::kCSeq}) {
    const HeaderField* field = request.FindHeader(id);
    if (field == nullptr) continue;
    writer.Put(CanonicalHeaderName(id));
    writer.Put(": ");
    writer.Put(field->value);
    if (id == HeaderId::kTo && !to_tag.empty() && status > 100) {
      NameAddr to;
      if (ParseNameAddr(field->value, to) && to.tag.empty()) {
        writer.Put(";tag=");
        writer.Put(to_tag);
      }
    }
    writer.Put("\r\n");
  }
  writer.Put(extra_headers);
  writer.Put("Content-Length: 0\r\n\r\n");
  return writer.Finish();
}

bool EquivalentMessages(const Message& a, const Message& b) {
  if (a.is_request() != b.is_request() || a.version() != b.version()) return false;
  if (a.is_request()) {
    if (a.method() != b.method() || a.request_uri_text() != b.request_uri_text()) return false;
  } else if (a.status_code() != b.status_code() || a.reason_phrase() != b.reason_phrase()) {
    return false;
  }
  const auto ha = a.headers();
  const auto hb = b.headers();
  if (ha.size() != hb.size()) return false;
  for (size_t i = 0; i < ha.size(); ++i) {
    if (ha[i].id != hb[i].id) return false;
    if (ha[i].id == HeaderId::kUnknown && !EqualsIgnoreCase(ha[i].name, hb[i].name)) return false;
    if (!EqualValuesIgnoringLws(ha[i].value, hb[i].value)) return false;
  }
  return a.body() == b.body();
}

}  // namespace linegate::signaling::sip
