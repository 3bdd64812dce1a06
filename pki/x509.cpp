// X.509 with OpenSSL 3; every OpenSSL object is owned by a unique_ptr.
#include "pki/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace pki {
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

// The PEM label Talos (siderolabs/crypto) gives Ed25519 keys; the content is standard PKCS#8.
constexpr std::string_view kTalosEd25519Label = "ED25519 PRIVATE KEY";

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

BioPtr memory_bio(std::string_view text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) fail("BIO_new_mem_buf");
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

X509Ptr parse_cert(std::string_view pem, std::string_view source) {
  auto bio = memory_bio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail(std::string(source) + ": not a PEM certificate");
  return cert;
}

// Talos's label is rewritten to the standard one, which is all OpenSSL knows.
std::string standard_key_pem(std::string pem) {
  for (const char* edge : {"-----BEGIN ", "-----END "}) {
    const std::string from = std::string(edge) + std::string(kTalosEd25519Label) + "-----";
    if (auto at = pem.find(from); at != std::string::npos) {
      pem.replace(at, from.size(), std::string(edge) + "PRIVATE KEY-----");
    }
  }
  return pem;
}

PkeyPtr parse_key(const std::string& pem, std::string_view source) {
  auto bio = memory_bio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail(std::string(source) + ": not a PEM private key");
  return key;
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return bio_contents(bio.get());
}

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return bio_contents(bio.get());
}

PkeyPtr new_key(int type) {
  PkeyPtr key(type == EVP_PKEY_ED25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                       : EVP_EC_gen("P-256"));
  if (!key) fail("generating a key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) fail("certificate extension " + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  check(
      X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
      "subject name");
}

// A certificate for `key` with a random 127-bit serial and the request's subject, valid from an
// hour ago (slack for clients whose clock is slightly behind) for `days`.
X509Ptr new_cert(EVP_PKEY* key, const std::string& common_name,
                 const std::vector<std::string>& organizations, int days) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  BnPtr serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("serial");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * days)) {
    fail("certificate validity");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& o : organizations) add_name_entry(name, "O", o);
  if (!common_name.empty()) add_name_entry(name, "CN", common_name);
  return cert;
}

void add_leaf_extensions(X509* cert, X509* issuer, const CertificateRequest& request) {
  add_extension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, issuer, NID_key_usage, "critical,digitalSignature");
  static constexpr const char* kUsage[] = {"serverAuth", "clientAuth", "serverAuth,clientAuth"};
  add_extension(cert, issuer, NID_ext_key_usage, kUsage[static_cast<int>(request.usage)]);
  std::string san;
  for (const auto& dns : request.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : request.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert, issuer, NID_subject_alt_name, san);
}

void sign(X509* cert, EVP_PKEY* key) {
  // Ed25519 signs the whole message itself: no separate digest.
  const EVP_MD* digest = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert, key, digest) <= 0) fail("signing the certificate");
}

}  // namespace

KeyPair generate_ca(const std::string& organization, int days) {
  auto key = new_key(EVP_PKEY_ED25519);
  auto cert = new_cert(key.get(), organization, {organization}, days);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "issuer name");
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  sign(cert.get(), key.get());
  return KeyPair{cert_pem(cert.get()), key_pem(key.get())};
}

KeyPair issue(const KeyPair& ca, const CertificateRequest& request) {
  auto ca_cert = parse_cert(ca.cert_pem, "CA certificate");
  auto ca_key = parse_key(standard_key_pem(ca.key_pem), "CA key");
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    fail("CA key does not match the CA certificate");
  }
  auto key = new_key(EVP_PKEY_ED25519);
  auto cert = new_cert(key.get(), request.common_name, request.organizations, request.days);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())), "issuer name");
  // Never valid past the CA: a verifier would refuse the chain then anyway.
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca_cert.get())) > 0) {
    check(X509_set1_notAfter(cert.get(), X509_get0_notAfter(ca_cert.get())), "validity");
  }
  add_leaf_extensions(cert.get(), ca_cert.get(), request);
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid");
  sign(cert.get(), ca_key.get());
  return KeyPair{cert_pem(cert.get()), key_pem(key.get())};
}

KeyPair generate_self_signed(const CertificateRequest& request, std::string_view key_pem_in) {
  auto key = key_pem_in.empty() ? new_key(EVP_PKEY_EC)
                                : parse_key(standard_key_pem(std::string(key_pem_in)), "key");
  auto cert = new_cert(key.get(), request.common_name, request.organizations, request.days);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "issuer name");
  add_leaf_extensions(cert.get(), cert.get(), request);
  sign(cert.get(), key.get());
  return KeyPair{cert_pem(cert.get()),
                 key_pem_in.empty() ? key_pem(key.get()) : std::string(key_pem_in)};
}

KeyPair check_key_pair(KeyPair pair, std::string_view source) {
  auto cert = parse_cert(pair.cert_pem, std::string(source) + " certificate");
  pair.key_pem = standard_key_pem(std::move(pair.key_pem));
  auto key = parse_key(pair.key_pem, std::string(source) + " key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    fail(std::string(source) + ": the key does not match the certificate");
  }
  return pair;
}

std::vector<std::string> subject_organizations(std::string_view pem) {
  auto cert = parse_cert(pem, "certificate");
  const X509_NAME* name = X509_get_subject_name(cert.get());
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, value);
    if (n < 0) fail("certificate organization");
    out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace pki
