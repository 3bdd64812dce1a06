#include "machined/tls.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "platform/private_file.h"

namespace machined {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The generated API certificate names localhost, this host's name and loopback.
pki::KeyPair self_signed_api_pair(std::string_view key_pem = {}) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  pki::CertificateRequest request{.common_name = host,
                                  .dns_names = {"localhost"},
                                  .ip_addresses = {"127.0.0.1", "::1"},
                                  .days = 3650};
  if (std::string_view(host) != "localhost") request.dns_names.emplace_back(host);
  return pki::generate_self_signed(request, key_pem);
}

}  // namespace

pki::KeyPair load_key_pair(const std::filesystem::path& cert_path,
                           const std::filesystem::path& key_path) {
  pki::KeyPair pair{read_file(cert_path), read_file(key_path)};
  return pki::check_key_pair(std::move(pair), cert_path.string() + ", " + key_path.string());
}

pki::KeyPair load_or_create_api_key_pair(const std::filesystem::path& dir) {
  const auto cert = dir / kApiCertFile;
  const auto key = dir / kApiKeyFile;
  const bool have_cert = std::filesystem::exists(cert);
  const bool have_key = std::filesystem::exists(key);
  if (have_cert && have_key) return load_key_pair(cert, key);
  // The key is written first and removed last (a reset removes the certificate first), so no
  // crash leaves a certificate without its key: that is someone else's doing, and is refused.
  if (have_cert) {
    throw std::runtime_error(key.string() +
                             ": missing while its pair exists; remove both to regenerate");
  }
  if (have_key) {
    // A crash between the two writes of the first start, or between the two removals of a
    // reset: the key gets a new certificate, and stays as it is.
    pki::KeyPair pair;
    try {
      pair = self_signed_api_pair(read_file(key));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string(e.what()) + " (" + key.string() + "; " + cert.string() +
                               " is missing; remove the key to regenerate both)");
    }
    platform::write_private_file(cert, pair.cert_pem);
    spdlog::warn(
        "api_certificate_regenerated key={} cert={} reason=\"the key was there without "
        "its certificate (an interrupted first start or reset)\"",
        key.string(), cert.string());
    return pair;
  }
  pki::KeyPair pair = self_signed_api_pair();
  platform::write_private_file(key, pair.key_pem);
  platform::write_private_file(cert, pair.cert_pem);
  return pair;
}

}  // namespace machined
