// base62 with the 5-bit escape for values whose bits 1..4 are all set.
#include "controllers/internal/base62.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace controllers::internal {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Six bits starting at bit `pos`, bits numbered from the least-significant end of the input.
unsigned six_bits(std::string_view bytes, std::size_t pos) {
  unsigned g = 0;
  for (unsigned k = 0; k < 6; ++k) {
    std::size_t bit = pos + k;
    if (bit >= bytes.size() * 8) break;
    auto byte = static_cast<unsigned char>(bytes[bytes.size() - 1 - bit / 8]);
    g |= ((byte >> (bit % 8)) & 1u) << k;
  }
  return g;
}

int bit_length(unsigned v) {
  int n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

}  // namespace

std::string base62_encode(std::string_view bytes) {
  std::string out;
  const std::size_t total = bytes.size() * 8;
  for (std::size_t pos = 0; pos < total;) {
    unsigned g = six_bits(bytes, pos);
    bool last = total - pos <= 6;
    if ((g & 0x1E) == 0x1E && !(last && g <= 31)) {
      out.push_back(kAlphabet[g & 0x1F]);
      pos += 5;
    } else {
      out.push_back(kAlphabet[g]);
      pos += 6;
    }
  }
  return out;
}

std::string base62_decode(std::string_view text) {
  std::string reversed;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto idx = kAlphabet.find(text[i]);
    if (idx == std::string_view::npos) {
      throw std::invalid_argument("illegal base62 data at input byte " + std::to_string(i));
    }
    auto v = static_cast<unsigned>(idx);
    acc |= v << bits;
    if (i + 1 == text.size()) {
      bits += bit_length(v);
    } else {
      bits += (v & 0x1E) == 0x1E ? 5 : 6;
    }
    for (; bits >= 8; bits -= 8, acc >>= 8) reversed.push_back(static_cast<char>(acc & 0xff));
  }
  if (bits > 0) reversed.push_back(static_cast<char>(acc & 0xff));
  std::reverse(reversed.begin(), reversed.end());
  return reversed;
}

}  // namespace controllers::internal
