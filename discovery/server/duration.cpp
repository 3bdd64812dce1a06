// Go-style duration parsing for flags.
#include "discovery/server/duration.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace discovery::server {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {
      {"ns", 1},           {"us", 1'000},          {"ms", 1'000'000},
      {"s", 1'000'000'000}, {"m", 60'000'000'000}, {"h", 3'600'000'000'000}};
  if (text == "0") return std::chrono::nanoseconds::zero();
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t value = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      if (value > (kMax - 9) / 10) return std::nullopt;
      value = value * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    std::int64_t scale = 0;
    for (const auto& [name, ns] : kUnits) {
      // "ms" must win over "m": the two-letter units come first in the table.
      if (text.starts_with(name)) {
        scale = ns;
        text.remove_prefix(name.size());
        break;
      }
    }
    if (scale == 0 || value > (kMax - total) / scale) return std::nullopt;
    total += value * scale;
  }
  return std::chrono::nanoseconds(total);
}

}  // namespace discovery::server
