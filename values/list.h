// Comma-separated lists, as flags and gRPC metadata carry them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace values {

// The items of "a, b,,c": each trimmed of spaces, empty ones dropped.
inline std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace values
