// KubeSpan identity: the WireGuard key (OpenSSL X25519), its file, and the KubeSpan address.
#include "controllers/kubespan/identity.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "platform/private_file.h"
#include "values/base64.h"

namespace controllers::kubespan {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr unsigned char kKubeSpanPurpose = 0x02;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::runtime_error crypto_error(const char* what) {
  return std::runtime_error(std::string("KubeSpan key: OpenSSL failed ") + what);
}

// What WireGuard does to every private key (and X25519 does anyway when it uses one).
void clamp(std::string& key) {
  key[0] = static_cast<char>(static_cast<unsigned char>(key[0]) & 248);
  key[31] = static_cast<char>((static_cast<unsigned char>(key[31]) & 127) | 64);
}

std::string public_of_raw(const std::string& raw_private) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(raw_private.data()),
                                        raw_private.size()));
  if (!key) throw crypto_error("loading the private key");
  std::string pub(kKeySize, '\0');
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) !=
          1 ||
      len != kKeySize) {
    throw crypto_error("deriving the public key");
  }
  return pub;
}

std::runtime_error file_error(const std::filesystem::path& p, const std::string& what) {
  return std::runtime_error(p.string() + ": " + what +
                            "; remove the file to generate a new KubeSpan key (peers then see a "
                            "new public key)");
}

WireguardKey read_key(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::runtime_error(p.string() + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) throw file_error(p, "the file is empty");
  std::string private_key, public_key;
  try {
    YAML::Node doc = YAML::Load(text.str());
    if (!doc.IsMap()) throw file_error(p, "expected a mapping with privateKey and publicKey");
    if (doc["privateKey"] && doc["privateKey"].IsScalar()) {
      private_key = doc["privateKey"].Scalar();
    }
    if (doc["publicKey"] && doc["publicKey"].IsScalar()) public_key = doc["publicKey"].Scalar();
  } catch (const YAML::Exception& e) {
    throw file_error(p, "not valid YAML (" + e.msg + ")");
  }
  if (private_key.empty()) throw file_error(p, "privateKey is missing or empty");
  std::string derived;
  try {
    derived = wireguard_public_key(private_key);
  } catch (const std::invalid_argument& e) {
    throw file_error(p, std::string("privateKey: ") + e.what());
  }
  // Talos writes both keys; a public key that does not belong to the private one means the file
  // was edited or damaged, and announcing either would break the peers' tunnels.
  if (!public_key.empty() && public_key != derived) {
    throw file_error(p, "publicKey does not match privateKey");
  }
  return {private_key, derived};
}

}  // namespace

WireguardKey generate_wireguard_key() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    throw crypto_error("generating an X25519 key");
  }
  Pkey key(raw);
  std::string priv(kKeySize, '\0');
  std::size_t len = priv.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), reinterpret_cast<unsigned char*>(priv.data()),
                                   &len) != 1 ||
      len != kKeySize) {
    throw crypto_error("reading the generated key");
  }
  clamp(priv);
  return {values::base64_encode(priv),
          values::base64_encode(public_of_raw(priv))};
}

std::string wireguard_public_key(std::string_view private_key) {
  auto raw = values::base64_decode(private_key);
  if (!raw || raw->size() != kKeySize) {
    throw std::invalid_argument("expected base64 of 32 bytes");
  }
  return values::base64_encode(public_of_raw(*raw));
}

WireguardKey load_or_create_wireguard_key(const std::filesystem::path& dir) {
  const auto p = dir / kIdentityFile;
  std::error_code ec;
  if (std::filesystem::exists(p, ec)) return read_key(p);
  if (ec) throw std::runtime_error(p.string() + ": " + ec.message());
  auto key = generate_wireguard_key();
  // Only the keys: the address is derived again on every start (cluster ID and MAC may change).
  platform::write_private_file(
      p, "privateKey: " + key.private_key + "\npublicKey: " + key.public_key + "\n");
  return key;
}

KubeSpanAddress kubespan_address(std::string_view cluster_id, std::string_view mac) {
  if (mac.size() != 6) throw std::invalid_argument("a MAC address is 6 bytes");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(md.get(), cluster_id.data(), cluster_id.size()) != 1 ||
      EVP_DigestFinal_ex(md.get(), digest, &digest_len) != 1 || digest_len != 32) {
    throw std::runtime_error("KubeSpan address: OpenSSL failed hashing the cluster ID");
  }
  std::string subnet(reinterpret_cast<const char*>(digest) + 16, 16);
  subnet[0] = static_cast<char>(0xfd);
  subnet[7] = static_cast<char>(kKubeSpanPurpose);
  std::fill(subnet.begin() + 8, subnet.end(), '\0');

  // Modified EUI-64 (RFC 4291 appendix A): flip the universal/local bit, insert ff:fe.
  std::string address = subnet;
  const auto m = [&](std::size_t i) { return static_cast<unsigned char>(mac[i]); };
  const unsigned char iid[8] = {
      static_cast<unsigned char>(m(0) ^ 0x02), m(1), m(2), 0xff, 0xfe, m(3), m(4), m(5)};
  for (std::size_t i = 0; i < 8; ++i) address[8 + i] = static_cast<char>(iid[i]);

  KubeSpanAddress out;
  out.subnet.set_ip(subnet);
  out.subnet.set_prefix_length(64);
  out.address.set_ip(address);
  out.address.set_prefix_length(128);
  return out;
}

}  // namespace controllers::kubespan
