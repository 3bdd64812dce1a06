// Files that hold secrets (keys, cluster secrets): mode 0600 from the first byte, and written
// whole or not at all, so a crash never leaves a truncated key behind.
#pragma once

#include <filesystem>
#include <string>

namespace platform {

// Writes `<path>.tmp` (0600), fsyncs it and renames it over `path`. Throws std::system_error
// naming the file; the temp file is removed on failure and `path` is left as it was.
void write_private_file(const std::filesystem::path& path, const std::string& contents);

}  // namespace platform
