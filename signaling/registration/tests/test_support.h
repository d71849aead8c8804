#pragma once
// Fakes for the registration tests: a seeded random source, and a RequestChannel that
// records requests and lets a test answer them with real SIP response texts, parsed by
// the project parser and converted by ExtractResponseInfo.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/scheduler.h"
#include "signaling/auth/random_source.h"
#include "signaling/registration/request_channel.h"
#include "signaling/registration/response_info.h"
#include "signaling/sip/sip_message.h"

namespace linegate::signaling::registration::testing {

class SeededRandom final : public auth::RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  Status Fill(std::span<uint8_t> out) override {
    if (fail_) return Error{"no entropy"};
    for (uint8_t& b : out) b = static_cast<uint8_t>(engine_() >> 56);
    return Status::Ok();
  }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  std::mt19937_64 engine_;
  bool fail_ = false;
};

inline transport::SocketAddress Address(std::string_view host, uint16_t port) {
  std::optional<transport::SocketAddress> address = transport::SocketAddress::Parse(host, port);
  EXPECT_TRUE(address.has_value()) << host;
  return address.value_or(transport::SocketAddress());
}

inline transport::Destination Udp(std::string_view host, uint16_t port = 5060) {
  transport::Destination destination;
  destination.protocol = transport::Protocol::kUdp;
  destination.address = Address(host, port);
  return destination;
}

struct SentRequest {
  transport::Destination to;
  std::string bytes;
  std::function<void(const ResponseInfo&)> on_final;
  TimePoint at;
  bool answered = false;

  // A parse of `bytes` (views into this object, which does not move).
  sip::Message Parsed() const {
    sip::Message message;
    const sip::ParseResult result = sip::Parse(bytes, sip::Transport::kDatagram, message);
    EXPECT_TRUE(result.ok()) << result.reason() << "\n" << bytes;
    return message;
  }
  std::string Method() const { return std::string(Parsed().method()); }
  // The first value of a header, "<absent>" when there is none.
  std::string Header(std::string_view name) const {
    const sip::Message message = Parsed();
    const sip::HeaderField* field = message.FindHeader(name);
    return field == nullptr ? std::string("<absent>") : std::string(field->value);
  }
  uint32_t CSeq() const { return Parsed().cseq()->number; }
  // The Contact URI without <> and params, e.g. "sip:1001@192.0.2.10:5060;transport=udp".
  std::string ContactUri() const {
    const sip::Message message = Parsed();
    sip::HeaderValueIterator contacts(message, sip::HeaderId::kContact);
    std::string_view element;
    if (!contacts.Next(element)) return "";
    sip::Contact contact;
    EXPECT_TRUE(sip::ParseContact(element, contact).ok());
    return std::string(contact.address.uri.text);
  }
  // "user@host:port" of the Contact, the key ExtractResponseInfo matches on.
  std::string ContactKey() const {
    const sip::Message message = Parsed();
    sip::HeaderValueIterator contacts(message, sip::HeaderId::kContact);
    std::string_view element;
    if (!contacts.Next(element)) return "";
    sip::Contact contact;
    EXPECT_TRUE(sip::ParseContact(element, contact).ok());
    const sip::Uri& uri = contact.address.uri;
    return std::string(uri.user) + "@" + std::string(uri.host) + ":" + std::to_string(uri.port);
  }
};

// A response to `request`: its Via, From, To (with a tag), Call-ID and CSeq, then
// `extra` (header lines, each ending in CRLF).
inline std::string MakeResponse(const SentRequest& request, int status, std::string_view reason,
                                std::string_view extra = "") {
  std::string out = "SIP/2.0 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Via: " + request.Header("Via") + "\r\n";
  out += "From: " + request.Header("From") + "\r\n";
  out += "To: " + request.Header("To") + ";tag=registrar-1\r\n";
  out += "Call-ID: " + request.Header("Call-ID") + "\r\n";
  out += "CSeq: " + request.Header("CSeq") + "\r\n";
  out += std::string(extra);
  out += "Server: test-registrar\r\nContent-Length: 0\r\n\r\n";
  return out;
}

class FakeRequestChannel final : public RequestChannel {
 public:
  explicit FakeRequestChannel(const Scheduler& scheduler) : scheduler_(scheduler) {}

  void SendRequest(const transport::Destination& to, std::string request_bytes,
                   std::function<void(const ResponseInfo&)> on_final) override {
    auto request = std::make_unique<SentRequest>();
    request->to = to;
    request->bytes = std::move(request_bytes);
    request->on_final = std::move(on_final);
    request->at = scheduler_.clock().Now();
    sent_.push_back(std::move(request));
    if (auto_answer_) auto_answer_(*sent_.back());
  }

  // Answers with a response text; it must parse.
  void Answer(SentRequest& request, const std::string& response) {
    ASSERT_FALSE(request.answered) << "answered twice";
    sip::Message message;
    const sip::ParseResult result = sip::Parse(response, sip::Transport::kDatagram, message);
    ASSERT_TRUE(result.ok()) << result.reason() << "\n" << response;
    const ResponseInfo info = ExtractResponseInfo(message, request.ContactKey());
    Deliver(request, info);
  }
  void Answer(SentRequest& request, int status, std::string_view reason, std::string_view extra = "") {
    Answer(request, MakeResponse(request, status, reason, extra));
  }
  void TimeOut(SentRequest& request) { Deliver(request, ResponseInfo::Timeout()); }
  void RefuseLocally(SentRequest& request) {
    Deliver(request, ResponseInfo::LocalRefusal("transaction limit reached"));
  }

  std::vector<SentRequest*> All(std::string_view method) const {
    std::vector<SentRequest*> out;
    for (const auto& request : sent_) {
      if (request->Method() == method) out.push_back(request.get());
    }
    return out;
  }
  std::vector<SentRequest*> Pending(std::string_view method) const {
    std::vector<SentRequest*> out;
    for (SentRequest* request : All(method)) {
      if (!request->answered) out.push_back(request);
    }
    return out;
  }
  size_t Count(std::string_view method) const { return All(method).size(); }
  // The last REGISTER, which must exist.
  SentRequest& LastRegister() const {
    std::vector<SentRequest*> all = All("REGISTER");
    EXPECT_FALSE(all.empty());
    return *all.back();
  }
  // Answers every pending OPTIONS sent to `address` with 200, or times it out.
  void AnswerKeepAlives(const transport::SocketAddress& address, bool alive) {
    for (SentRequest* request : Pending("OPTIONS")) {
      if (!(request->to.address == address)) continue;
      if (alive) {
        Answer(*request, 200, "OK");
      } else {
        TimeOut(*request);
      }
    }
  }
  void set_auto_answer(std::function<void(SentRequest&)> answer) { auto_answer_ = std::move(answer); }

 private:
  void Deliver(SentRequest& request, const ResponseInfo& info) {
    request.answered = true;
    auto callback = std::move(request.on_final);
    callback(info);
  }

  const Scheduler& scheduler_;
  std::vector<std::unique_ptr<SentRequest>> sent_;
  std::function<void(SentRequest&)> auto_answer_;
};

// The value of one parameter of an Authorization header value, unquoted.
inline std::string AuthParam(std::string_view header, std::string_view name) {
  const std::string key = std::string(name) + "=";
  size_t at = 0;
  while ((at = header.find(key, at)) != std::string_view::npos) {
    if (at == 0 || header[at - 1] == ' ' || header[at - 1] == ',') break;
    at += key.size();
  }
  if (at == std::string_view::npos) return "<absent>";
  size_t begin = at + key.size();
  if (begin < header.size() && header[begin] == '"') {
    const size_t end = header.find('"', begin + 1);
    return std::string(header.substr(begin + 1, end - begin - 1));
  }
  const size_t end = header.find(',', begin);
  return std::string(
      header.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
}

}  // namespace linegate::signaling::registration::testing
