// Files that hold secrets (keys, cluster secrets): mode 0600 from the first byte, and written
// whole or not at all, so a crash never leaves a truncated key behind; read only when nobody but
// the owner may access them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace platform {

// Writes `<path>.tmp` (0600), fsyncs it and renames it over `path`. Throws std::system_error
// naming the file; the temp file is removed on failure and `path` is left as it was.
void write_private_file(const std::filesystem::path& path, const std::string& contents);

// Reads a secret of at most `max_bytes`. Refuses, as ssh does for private keys, a file whose mode
// gives group or others any access (the message gives the mode and `chmod 600`), and anything
// but a regular file. Throws std::runtime_error naming the file.
std::string read_private_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace platform
