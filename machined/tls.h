// The API listener's TLS identity when the node has no OS CA (the insecure mode): a configured
// certificate, or a self-signed ECDSA P-256 one that machined generates into its state dir on
// first start (talosctl --insecure and nodectl --insecure do not verify it).
#pragma once

#include <filesystem>

#include "pki/x509.h"

namespace machined {

// Reads a PEM certificate and key and checks that they parse and belong together. Throws
// std::runtime_error naming the file and the problem.
pki::KeyPair load_key_pair(const std::filesystem::path& cert, const std::filesystem::path& key);

inline constexpr char kApiCertFile[] = "api.crt";
inline constexpr char kApiKeyFile[] = "api.key";

// <dir>/api.crt and <dir>/api.key: loaded when both exist, generated (mode 0600, written
// atomically, the key first) when neither does. A key without its certificate, which a crash
// between the two writes (or between a reset's two removals) leaves, gets a new self-signed
// certificate. A certificate without its key is an error. Existing files are never overwritten.
pki::KeyPair load_or_create_api_key_pair(const std::filesystem::path& dir);

}  // namespace machined
