// The hot path allocates nothing: global operator new is replaced in this binary by a
// counting one, and Parse() (plus the typed accessors and the serializer) must leave
// the count unchanged.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "signaling/sip/sip_message.h"
#include "signaling/sip/sip_serializer.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// These replacements are the allocator, so malloc/free pairs are what they must use;
// GCC's heuristic sees a new/free mismatch here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace linegate::signaling::sip {
namespace {

const char kInvite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;rport\r\n"
    "v: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK77;received=192.0.2.1\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice \\\"A\\\"\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>;expires=60, <tel:+15551234567>\r\n"
    "Subject: folded\r\n value\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\r\n";

TEST(Allocation, ParseAllocatesNothing) {
  const std::string data = kInvite;
  Message message;
  char buffer[2048];
  // The counter itself works: an allocation is seen.
  size_t before = g_allocations.load();
  auto* probe = new std::string(100, 'x');
  EXPECT_GT(g_allocations.load(), before);
  delete probe;

  before = g_allocations.load();
  ParseResult result = Parse(data, Transport::kDatagram, message);
  const size_t after_parse = g_allocations.load();
  ASSERT_TRUE(result.ok()) << result.reason();
  EXPECT_EQ(after_parse, before);

  // Typed access, iteration, unfolding, serialization and the 400 builder as well.
  before = g_allocations.load();
  HeaderValueIterator vias(message, HeaderId::kVia);
  std::string_view element;
  size_t count = 0;
  while (vias.Next(element)) {
    Via via;
    count += ParseVia(element, via).ok() ? 1 : 0;
  }
  HeaderValueIterator contacts(message, HeaderId::kContact);
  while (contacts.Next(element)) {
    Contact contact;
    count += ParseContact(element, contact).ok() ? 1 : 0;
  }
  count += Unfold(message.FindHeader(HeaderId::kSubject)->value, buffer).has_value() ? 1 : 0;
  count += Serialize(message, buffer).has_value() ? 1 : 0;
  count += BuildResponse(message, 400, "Bad Request", "x1", buffer).has_value() ? 1 : 0;
  count += FrameStream(data).status == FrameResult::Status::kMessage ? 1 : 0;
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(count, 8u);

  // Rejections allocate nothing either (their reasons are static text).
  const std::string bad = std::string(kInvite).replace(std::string(kInvite).find("314159"), 6, "99999999999");
  before = g_allocations.load();
  result = Parse(bad, Transport::kDatagram, message);
  const Rejection rejection = DecideRejection(message, result);
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(rejection.status, 400);
  EXPECT_EQ(result.reason(), "Bad CSeq");
}

}  // namespace
}  // namespace linegate::signaling::sip
