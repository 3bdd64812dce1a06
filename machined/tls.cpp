// Self-signed API certificates with OpenSSL 3; every OpenSSL object is owned by a unique_ptr.
#include "machined/tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "platform/private_file.h"

namespace machined {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "unknown OpenSSL error";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  ERR_clear_error();
  throw std::runtime_error(what + ": " + reason);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) fail("certificate extension " + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A self-signed certificate for `key`, and the key, in PEM.
KeyPair self_signed_for(EVP_PKEY* key, const std::string& common_name,
                        const std::vector<std::string>& dns_names,
                        const std::vector<std::string>& ip_addresses, int days) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  BnPtr serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("serial");

  // An hour of slack for clients whose clock is slightly behind.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * days)) {
    fail("certificate validity");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "subject name");
  check(X509_set_issuer_name(cert.get(), name), "issuer name");

  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  std::string san;
  for (const auto& dns : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert.get(), NID_subject_alt_name, san);

  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) fail("signing the certificate");

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio) fail("BIO_new");
  check(PEM_write_bio_X509(cert_bio.get(), cert.get()), "PEM_write_bio_X509");
  check(PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return KeyPair{bio_contents(cert_bio.get()), bio_contents(key_bio.get())};
}

// The SANs of the generated API certificate: localhost and this host's name, and loopback.
KeyPair self_signed_api_pair(EVP_PKEY* key) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  std::vector<std::string> dns{"localhost"};
  if (std::string_view(host) != "localhost") dns.emplace_back(host);
  return self_signed_for(key, host, dns, {"127.0.0.1", "::1"}, 3650);
}

}  // namespace

KeyPair generate_self_signed(const std::string& common_name,
                             const std::vector<std::string>& dns_names,
                             const std::vector<std::string>& ip_addresses, int days) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating a P-256 key");
  return self_signed_for(key.get(), common_name, dns_names, ip_addresses, days);
}

KeyPair load_key_pair(const std::filesystem::path& cert_path,
                      const std::filesystem::path& key_path) {
  KeyPair pair{read_file(cert_path), read_file(key_path)};

  BioPtr cert_bio(BIO_new_mem_buf(pair.cert_pem.data(), static_cast<int>(pair.cert_pem.size())));
  X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) fail(cert_path.string() + ": not a PEM certificate");

  BioPtr key_bio(BIO_new_mem_buf(pair.key_pem.data(), static_cast<int>(pair.key_pem.size())));
  PkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)
                      : nullptr);
  if (!key) fail(key_path.string() + ": not a PEM private key");

  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    fail(key_path.string() + ": does not match the certificate " + cert_path.string());
  }
  return pair;
}

KeyPair load_or_create_api_key_pair(const std::filesystem::path& dir) {
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
    const std::string key_pem = read_file(key);
    BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    PkeyPtr parsed(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)
                           : nullptr);
    if (!parsed) {
      fail(key.string() + ": not a PEM private key, and " + cert.string() +
           " is missing; remove the key to regenerate both");
    }
    KeyPair pair = self_signed_api_pair(parsed.get());
    pair.key_pem = key_pem;
    platform::write_private_file(cert, pair.cert_pem);
    spdlog::warn(
        "api_certificate_regenerated key={} cert={} reason=\"the key was there without "
        "its certificate (an interrupted first start or reset)\"",
        key.string(), cert.string());
    return pair;
  }
  PkeyPtr generated(EVP_EC_gen("P-256"));
  if (!generated) fail("generating a P-256 key");
  KeyPair pair = self_signed_api_pair(generated.get());
  platform::write_private_file(key, pair.key_pem);
  platform::write_private_file(cert, pair.cert_pem);
  return pair;
}

}  // namespace machined
