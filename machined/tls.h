// The API listener's TLS identity: a configured certificate, or a self-signed ECDSA P-256 one
// that machined generates into its state dir on first start (talosctl --insecure and nodectl
// --endpoint do not verify it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace machined {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A fresh P-256 key and a self-signed certificate for it, valid from now for `days`, with
// `dns_names` and `ip_addresses` as subject alternative names. Throws std::runtime_error with
// OpenSSL's reason on failure.
KeyPair generate_self_signed(const std::string& common_name,
                             const std::vector<std::string>& dns_names,
                             const std::vector<std::string>& ip_addresses, int days = 3650);

// Reads a PEM certificate and key and checks that they parse and belong together. Throws
// std::runtime_error naming the file and the problem.
KeyPair load_key_pair(const std::filesystem::path& cert, const std::filesystem::path& key);

inline constexpr char kApiCertFile[] = "api.crt";
inline constexpr char kApiKeyFile[] = "api.key";

// <dir>/api.crt and <dir>/api.key: loaded when both exist, generated (mode 0600, written
// atomically, the key first) when neither does. A key without its certificate, which a crash
// between the two writes (or between a reset's two removals) leaves, gets a new self-signed
// certificate. A certificate without its key is an error. Existing files are never overwritten.
KeyPair load_or_create_api_key_pair(const std::filesystem::path& dir);

}  // namespace machined
