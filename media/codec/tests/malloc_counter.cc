#include "media/codec/tests/malloc_counter.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>

namespace linegate::media::codec::testing {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};

}  // namespace

#if defined(__SANITIZE_ADDRESS__)

bool MallocCountingAvailable() { return false; }

#else

bool MallocCountingAvailable() { return true; }

namespace {
inline void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

}  // namespace linegate::media::codec::testing

// glibc's own entry points, which its malloc/calloc/realloc/free are aliases of.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void __libc_free(void* pointer);

void* malloc(size_t size) noexcept {
  linegate::media::codec::testing::Count();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
  linegate::media::codec::testing::Count();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, size_t size) noexcept {
  linegate::media::codec::testing::Count();
  return __libc_realloc(pointer, size);
}
void free(void* pointer) noexcept { __libc_free(pointer); }
}

namespace linegate::media::codec::testing {

#endif

MallocCounter::MallocCounter() {
  g_allocations.store(0);
  g_counting.store(true);
}

MallocCounter::~MallocCounter() { g_counting.store(false); }

uint64_t MallocCounter::allocations() const { return g_allocations.load(); }

}  // namespace linegate::media::codec::testing
