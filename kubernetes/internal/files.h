// Reading the small files credentials come from (kubeconfig, certificates, tokens), with the
// reason when it fails, shared by the kubeconfig loader and the client's token re-reads.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kubernetes::internal {

// The whole file, or nullopt with the reason (e.g. "No such file or directory") in *error.
// Files over 16 MiB are refused: no credential file is that large, and a device or a FIFO
// given by mistake must not be read forever.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string* error);

// `text` without leading and trailing whitespace (token files usually end in a newline).
std::string_view trim(std::string_view text);

}  // namespace kubernetes::internal
