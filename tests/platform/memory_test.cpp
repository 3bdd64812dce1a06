// Free heap memory goes back to the kernel: what a flood leaves behind, with live blocks spread
// through it so that free() alone cannot shrink the heap.
#include "platform/memory.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace platform {
namespace {

TEST(Memory, FreedHeapPagesGoBackToTheKernel) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's";
#endif
  constexpr std::size_t kBlock = 1024;  // well below the size glibc serves with mmap
  constexpr std::size_t kBlocks = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks(kBlocks);
  for (auto& block : blocks) {
    block = std::make_unique<char[]>(kBlock);
    block[0] = 1;  // touched, so resident
  }
  release_free_memory();  // start from a trimmed heap
  // Every 64th block stays: the heap keeps its extent and free() trims nothing.
  for (std::size_t i = 0; i < kBlocks; ++i) {
    if (i % 64 != 0) blocks[i].reset();
  }
  EXPECT_GT(release_free_memory(), std::uint64_t{16} << 20) << "of ~63 MiB freed";
}

}  // namespace
}  // namespace platform
