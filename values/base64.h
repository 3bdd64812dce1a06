// Standard base64 (RFC 4648, padded): the YAML form of protobuf bytes fields, and the encoding of
// cluster secrets in machine configs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace values {

std::string base64_encode(std::string_view data);
// Null when text is not padded standard base64 (no whitespace, '=' only as trailing padding).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace values
