// Snapshot files of the registry: our checksummed, optionally encrypted format (written and read)
// and upstream's plain ClusterSnapshot stream (read, for migration). Layout in
// docs/DISCOVERY-SERVICE.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/server/state.h"

namespace discovery::server {

// AES-256-GCM key for at-rest encryption.
using SnapshotKey = std::array<unsigned char, 32>;

// Reads a key file: 32 raw bytes, or 64 hex digits, or base64 of 32 bytes (a trailing newline is
// ignored). The file must give group and others no access (mode 0600 or stricter). Throws
// std::runtime_error naming the file on anything else.
SnapshotKey read_snapshot_key(const std::string& path);

struct SnapshotCounts {
  std::size_t clusters = 0;
  std::size_t affiliates = 0;
  std::size_t endpoints = 0;
  std::uint64_t bytes = 0;
};

// Serializes every cluster of `state` in our format, handing the bytes to `sink` in order, in
// chunks. Exceptions from `sink` propagate.
SnapshotCounts encode_snapshot(const State& state, const SnapshotKey* key,
                               const std::function<void(std::string_view)>& sink);

struct SnapshotProblem {
  std::uint64_t offset = 0;  // where in the file the problem starts
  std::string message;
  // The damaged header field (`magic`, `version`, `cipher`, `reserved`, `file_id`, `nonce`, or
  // `creation_time/tag` and `creation_time/nonce/tag` when the tag cannot tell which); empty for
  // problems past the header.
  std::string field = {};
};

struct DecodedSnapshot {
  std::vector<ClusterExport> clusters;  // every record that could be read and passed validation
  std::vector<SnapshotProblem> problems;  // damaged or invalid parts; the rest was still read
  // Set when nothing may be read and the file must not be replaced: wrong or missing key (or a
  // damaged file ID, which looks the same), or a newer format version.
  std::optional<std::string> refused;
  bool upstream_format = false;
};

// Reads our format or upstream's (told apart by the magic). Never throws on bad input. `now` turns
// upstream's legacy absolute expirations into remaining lifetimes.
DecodedSnapshot decode_snapshot(std::string_view bytes, const SnapshotKey* key,
                                std::chrono::system_clock::time_point now);

struct LoadResult {
  SnapshotCounts counts;                  // what was imported
  std::vector<SnapshotProblem> problems;  // empty when the whole file was read
  std::optional<std::string> refused;     // as DecodedSnapshot::refused, or the file is unreadable
  bool found = false;                     // false: no file yet (a fresh start, not an error)
};

// One snapshot file. Saves and loads are not concurrent; the owner serializes them.
class SnapshotFile {
 public:
  SnapshotFile(std::string path, std::optional<SnapshotKey> key);

  const std::string& path() const { return path_; }

  // Imports the file into `state` (clusters already present are reported and skipped).
  LoadResult load(State& state) const;
  // Writes atomically: `<path>.tmp` (mode 0600), fsync, rename over `<path>`, fsync of the
  // directory. Always writes, also an empty state. On failure throws std::runtime_error and leaves
  // the previous file untouched.
  SnapshotCounts save(const State& state) const;
  // Moves a damaged file out of the way (`<path>.damaged-<unix seconds>`) so the next save cannot
  // overwrite what could not be read. Returns the new name; throws std::runtime_error on failure.
  std::string set_aside() const;

 private:
  std::string path_;
  std::optional<SnapshotKey> key_;
};

}  // namespace discovery::server
