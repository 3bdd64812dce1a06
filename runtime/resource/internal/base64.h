// Standard base64 (RFC 4648, padded), the YAML form of protobuf bytes fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace runtime::resource {

std::string base64_encode(std::string_view data);
// Null when text is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace runtime::resource
