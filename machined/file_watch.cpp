// inotify on the file's directory (the file itself may be replaced by a rename), read through an
// Asio stream descriptor on a strand; a short timer collapses the several events of one save.
#include "machined/file_watch.h"

#include <sys/inotify.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace machined {
namespace {

namespace asio = boost::asio;

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::any_io_executor executor, std::filesystem::path path,
          std::function<void()> on_change, std::chrono::milliseconds settle)
      : strand_(asio::make_strand(executor)),
        name_(path.filename().string()),
        on_change_(std::move(on_change)),
        settle_(settle),
        stream_(strand_),
        timer_(strand_) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
    stream_.assign(fd);
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    if (::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
      throw std::runtime_error("cannot watch " + dir.string() + ": " + std::strerror(errno));
    }
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->read(); });
  }

  void stop() {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      boost::system::error_code ignored;
      self->stream_.close(ignored);
      self->timer_.cancel();
    });
  }

 private:
  void read() {
    stream_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](auto ec, std::size_t n) {
                              if (ec || self->stopped_) return;
                              if (self->names_our_file(n)) self->schedule();
                              self->read();
                            });
  }

  bool names_our_file(std::size_t n) const {
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      inotify_event e;
      std::memcpy(&e, buffer_.data() + off, sizeof e);
      const char* name = buffer_.data() + off + sizeof e;
      if (e.len > 0 && name_ == name) return true;
      off += sizeof e + e.len;
    }
    return false;
  }

  void schedule() {
    if (pending_) return;
    pending_ = true;
    timer_.expires_after(settle_);
    timer_.async_wait([self = shared_from_this()](auto ec) {
      self->pending_ = false;
      if (!ec && !self->stopped_) self->on_change_();
    });
  }

  asio::strand<asio::any_io_executor> strand_;
  const std::string name_;
  const std::function<void()> on_change_;
  const std::chrono::milliseconds settle_;
  asio::posix::stream_descriptor stream_;
  asio::steady_timer timer_;
  std::array<char, 4096> buffer_{};
  // On the strand.
  bool pending_ = false;
  bool stopped_ = false;
};

class WatchHandle final : public FileWatch {
 public:
  explicit WatchHandle(std::shared_ptr<Watcher> watcher) : watcher_(std::move(watcher)) {
    watcher_->start();
  }
  ~WatchHandle() override { watcher_->stop(); }

 private:
  std::shared_ptr<Watcher> watcher_;
};

}  // namespace

std::unique_ptr<FileWatch> watch_file(boost::asio::any_io_executor executor,
                                      const std::filesystem::path& path,
                                      std::function<void()> on_change,
                                      std::chrono::milliseconds settle) {
  return std::make_unique<WatchHandle>(
      std::make_shared<Watcher>(std::move(executor), path, std::move(on_change), settle));
}

}  // namespace machined
