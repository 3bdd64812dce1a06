#include "platform/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
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

std::string read_private_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const std::string name = path.string();
  auto system_failure = [&](int err) {
    return std::system_error(err, std::generic_category(), "cannot read " + name);
  };
  // O_NONBLOCK: a FIFO is refused below instead of blocking here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw system_failure(errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw system_failure(errno);
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error(name +
                             (S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error(name + " has mode " + mode +
                             ", which lets group or others access a secret; run chmod 600 " + name);
  }
  std::string out;
  char buf[4096];
  while (out.size() <= max_bytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_failure(errno);
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
  throw std::runtime_error(name + " is larger than " + std::to_string(max_bytes) + " bytes");
}

}  // namespace platform
