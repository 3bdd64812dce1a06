#include "platform/private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace platform {

void write_private_file(const std::filesystem::path& path, const std::string& contents) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  auto fail = [&](int err, const std::filesystem::path& what) {
    ::unlink(tmp.c_str());
    throw std::system_error(err, std::generic_category(), what.string());
  };
  // A stale temp file from a crash could have a wider mode, which O_TRUNC would keep.
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), tmp.string());
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      fail(err, tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(err, tmp);
  }
  if (::close(fd) != 0) fail(errno, tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(errno, path);
}

}  // namespace platform
