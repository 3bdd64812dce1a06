#include "platform/memory.h"

#include <malloc.h>

#include "platform/process_metrics.h"

namespace platform {

std::uint64_t release_free_memory() {
  const auto before = read_process_stats();
  ::malloc_trim(0);
  const auto after = read_process_stats();
  if (!before || !after || after->resident_memory_bytes >= before->resident_memory_bytes) return 0;
  return before->resident_memory_bytes - after->resident_memory_bytes;
}

}  // namespace platform
