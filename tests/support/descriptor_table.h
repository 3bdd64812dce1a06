// Runs out of descriptors on purpose: the soft limit lowered to 256 and every free slot taken,
// until the object is destroyed. For tests of servers that must survive EMFILE.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace tds::test {

class FullDescriptorTable {
 public:
  FullDescriptorTable() {
    ok_ = ::getrlimit(RLIMIT_NOFILE, &saved_) == 0;
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
    ok_ = ok_ && ::setrlimit(RLIMIT_NOFILE, &low) == 0;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler_.push_back(fd);
    full_ = errno == EMFILE;
  }
  ~FullDescriptorTable() { release(); }
  FullDescriptorTable(const FullDescriptorTable&) = delete;
  FullDescriptorTable& operator=(const FullDescriptorTable&) = delete;

  // Whether the last open() failed for want of a descriptor (and the limit was lowered).
  bool full() const { return ok_ && full_; }

  // Frees the descriptors and restores the limit; idempotent.
  void release() {
    for (int fd : filler_) ::close(fd);
    filler_.clear();
    if (ok_) ::setrlimit(RLIMIT_NOFILE, &saved_);
    ok_ = false;
  }

 private:
  rlimit saved_{};
  bool ok_ = false;
  bool full_ = false;
  std::vector<int> filler_;
};

}  // namespace tds::test
