// The daemons' log format: one `ts=… level=… event=…` line per event, key=value fields, and the
// --log-level flag that sets how much of it is written.
#pragma once

#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace platform {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical or off
};

// Adds --log-level, which accepts only the levels above, writing into `options`.
void add_log_flags(CLI::App& app, LogOptions& options);

// Sets the line format and the level for the whole process; call once flags are parsed.
void setup_logging(const LogOptions& options);

// Logs `event=fatal error="…"`: the last line of a daemon that cannot start or go on.
void log_fatal(std::string_view error);

}  // namespace platform
