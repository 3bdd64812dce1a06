#include "platform/log_value.h"

#include <algorithm>

namespace platform {

std::string escape(std::string_view text, std::span<const CharEscape> escapes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto it =
        std::find_if(escapes.begin(), escapes.end(), [c](const CharEscape& e) { return e.c == c; });
    if (it == escapes.end()) {
      out += c;
    } else {
      out += it->replacement;
    }
  }
  return out;
}

std::string log_value(std::string_view text) {
  static constexpr CharEscape kGoQuoted[] = {
      {'\\', "\\\\"}, {'"', "\\\""}, {'\n', "\\n"}, {'\r', "\\r"}, {'\t', "\\t"},
  };
  return escape(text, kGoQuoted);
}

}  // namespace platform
