// spdlog's default logger, set up as the house log format.
#include "platform/logging.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "platform/log_value.h"

namespace platform {

void add_log_flags(CLI::App& app, LogOptions& options) {
  app.add_option("--log-level", options.level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

void setup_logging(const LogOptions& options) {
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%e level=%l event=%v");
  spdlog::set_level(spdlog::level::from_str(options.level));
}

void log_fatal(std::string_view error) { spdlog::error("fatal error=\"{}\"", log_value(error)); }

}  // namespace platform
