// Log lines are `key=value` pairs, one event per line: a value from an error message (config
// errors list one problem per line) must not break the line or the quoting.
#pragma once

#include <string>
#include <string_view>

namespace platform {

// `text` with backslash, double quote, newline, carriage return and tab escaped as in Go's %q,
// for use inside key="…".
std::string log_value(std::string_view text);

}  // namespace platform
