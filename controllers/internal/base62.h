// jxskiss/base62 (v1.1.0), the encoding of Talos node IDs. It is not big-integer base62: bits are
// taken 6 (sometimes 5) at a time from the least-significant end, as jxskiss/base62 v1.1.0 does.
#pragma once

#include <string>
#include <string_view>

namespace controllers::internal {

std::string base62_encode(std::string_view bytes);

// Throws std::invalid_argument("illegal base62 data at input byte N").
std::string base62_decode(std::string_view text);

}  // namespace controllers::internal
