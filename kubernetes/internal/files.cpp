// Small-file reads with a reason on failure.
#include "kubernetes/internal/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace kubernetes::internal {
namespace {

constexpr std::uintmax_t kMaxFile = 16 << 20;

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& path, std::string* error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) {
    *error = ec.message();
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    *error = std::filesystem::is_directory(status) ? "is a directory" : "not a regular file";
    return std::nullopt;
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFile) {
    *error = "larger than 16 MiB";
    return std::nullopt;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    *error = "read error";
    return std::nullopt;
  }
  return text;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

}  // namespace kubernetes::internal
