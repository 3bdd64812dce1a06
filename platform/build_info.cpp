#include "platform/build_info.h"

#include <fmt/format.h>

#ifndef TDS_VERSION
#define TDS_VERSION "0.0.0"
#endif

namespace platform {
namespace {

std::string go_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

}  // namespace

BuildInfo build_info() {
  BuildInfo info;
  info.version = TDS_VERSION;
  info.built = __DATE__;
#if defined(__clang__)
  info.toolchain = fmt::format("clang {}", __clang_version__);
#else
  info.toolchain = fmt::format("gcc {}", __VERSION__);
#endif
  info.arch = go_arch();
  return info;
}

}  // namespace platform
