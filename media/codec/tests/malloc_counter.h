#pragma once
// Counts heap allocations (malloc, calloc, realloc, and so operator new) made by any
// code in the process, the C libraries included, while a MallocCounter is alive. Used
// to check that per-frame calls do not allocate.
//
// Works by interposing malloc/calloc/realloc in the test binary over glibc's (which
// still does the work through __libc_malloc and friends). Not available under
// AddressSanitizer, which interposes them itself: tests skip then.

#include <cstdint>

namespace linegate::media::codec::testing {

bool MallocCountingAvailable();

class MallocCounter {
 public:
  MallocCounter();
  ~MallocCounter();
  MallocCounter(const MallocCounter&) = delete;
  MallocCounter& operator=(const MallocCounter&) = delete;

  uint64_t allocations() const;
};

}  // namespace linegate::media::codec::testing
