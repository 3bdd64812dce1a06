// Go-style duration strings ("1m", "90s", "1h30m", "250ms") for command-line flags.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace discovery::server {

// Returns nullopt for anything malformed, negative or overflowing.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace discovery::server
