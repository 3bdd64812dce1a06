// What the running binary is: the project version, build date, compiler and platform, in the
// spellings Talos's Version API uses (Go's GOOS/GOARCH names).
#pragma once

#include <string>

namespace platform {

// The Talos release whose API machined's surfaces and nodectl match; talosctl parses it as a
// semver and only warns when it is older than the client.
inline constexpr char kTalosApiTag[] = "v1.11.0";

struct BuildInfo {
  std::string version;    // the project's version
  std::string built;      // build date
  std::string toolchain;  // compiler and its version
  std::string os = "linux";
  std::string arch;  // amd64, arm64, ...
};

BuildInfo build_info();

}  // namespace platform
