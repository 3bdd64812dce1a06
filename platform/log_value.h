// Log lines are `key=value` pairs, one event per line: a value from an error message (config
// errors list one problem per line) must not break the line or the quoting. The escaping itself
// is shared with other text outputs (HTML pages).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace platform {

// A character to escape and the text that stands for it.
struct CharEscape {
  char c;
  std::string_view replacement;
};

// `text` with each character listed in `escapes` replaced; every other character is kept.
std::string escape(std::string_view text, std::span<const CharEscape> escapes);

// `text` with backslash, double quote, newline, carriage return and tab escaped as in Go's %q,
// for use inside key="…".
std::string log_value(std::string_view text);

}  // namespace platform
