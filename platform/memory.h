// Giving the heap's free memory back to the kernel.
#pragma once

#include <cstdint>

namespace platform {

// Returns the heap's free pages to the kernel (glibc's malloc_trim), so that after a burst (a
// flood of streams, a cluster collected) the resident size follows the live data instead of
// staying at its peak. Returns the resident bytes that went, or 0 when /proc cannot be read.
// It locks each allocator arena in turn for a walk over its free chunks: call it from a
// background thread now and then, never per request.
std::uint64_t release_free_memory();

}  // namespace platform
