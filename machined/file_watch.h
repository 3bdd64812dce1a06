// Notices when a file is written or replaced (editors and config management write a temp file and
// rename it over the original), so machined can re-read its config without a SIGHUP.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

namespace machined {

// Watching stops when this is destroyed. on_change may still run once if it was already queued,
// so the executor must outlive what on_change touches (machined joins its threads first).
class FileWatch {
 public:
  virtual ~FileWatch() = default;
};

// Watches `path`'s directory with inotify and calls `on_change` on `executor` (serialized) once
// the file was closed after writing or moved into place (not at creation: it may still be empty).
// The events of one save within `settle` collapse into one call. Throws std::runtime_error when the
// directory cannot be watched.
std::unique_ptr<FileWatch> watch_file(
    boost::asio::any_io_executor executor, const std::filesystem::path& path,
    std::function<void()> on_change,
    std::chrono::milliseconds settle = std::chrono::milliseconds(100));

}  // namespace machined
