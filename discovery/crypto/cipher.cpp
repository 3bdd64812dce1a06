// AES-GCM and AES-ECB over OpenSSL EVP; every OpenSSL object is owned by a unique_ptr.
#include "discovery/crypto/cipher.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <utility>

namespace discovery::crypto {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Failures here are out of memory or a broken OpenSSL, not bad input: they throw.
void check(int rc, const char* what) {
  if (rc != 1) throw std::runtime_error(fmt::format("openssl: {} failed", what));
}

CtxPtr new_ctx() {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("openssl: EVP_CIPHER_CTX_new failed");
  return ctx;
}

// The AES variants by key size; keys of any other size never reach them (the constructor refuses
// them), and the last row stands for the rest.
struct AesVariants {
  std::size_t key_size;
  const EVP_CIPHER* (*gcm)();
  const EVP_CIPHER* (*ecb)();
};
constexpr std::array kAesVariants{
    AesVariants{16, EVP_aes_128_gcm, EVP_aes_128_ecb},
    AesVariants{24, EVP_aes_192_gcm, EVP_aes_192_ecb},
    AesVariants{32, EVP_aes_256_gcm, EVP_aes_256_ecb},
};

const AesVariants& aes_for(std::size_t key_size) {
  const auto row = std::find_if(kAesVariants.begin(), kAesVariants.end(),
                                [&](const AesVariants& v) { return v.key_size == key_size; });
  return row == kAesVariants.end() ? kAesVariants.back() : *row;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

int int_size(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw std::length_error("crypto: input too large");
  return static_cast<int>(n);
}

// Raw block cipher: no padding, the caller guarantees whole blocks.
std::string ecb(const std::string& key, std::string_view in, bool encrypt) {
  CtxPtr ctx = new_ctx();
  check(EVP_CipherInit_ex(ctx.get(), aes_for(key.size()).ecb(), nullptr, bytes(key), nullptr,
                          encrypt ? 1 : 0),
        "EVP_CipherInit_ex(ecb)");
  check(EVP_CIPHER_CTX_set_padding(ctx.get(), 0), "EVP_CIPHER_CTX_set_padding");
  std::string out(in.size() + kBlockSize, '\0');
  int len = 0;
  int tail = 0;
  check(EVP_CipherUpdate(ctx.get(), bytes(out), &len, bytes(in), int_size(in.size())),
        "EVP_CipherUpdate(ecb)");
  check(EVP_CipherFinal_ex(ctx.get(), bytes(out) + len, &tail), "EVP_CipherFinal_ex(ecb)");
  out.resize(static_cast<std::size_t>(len + tail));
  return out;
}

}  // namespace

std::string_view to_string(DecryptErrorCode code) {
  static constexpr std::pair<DecryptErrorCode, std::string_view> kNames[] = {
      {DecryptErrorCode::kShortBlob, "short_blob"},
      {DecryptErrorCode::kAuthFailed, "auth_failed"},
      {DecryptErrorCode::kBadBlockSize, "bad_block_size"},
      {DecryptErrorCode::kBadLengthByte, "bad_length_byte"},
      {DecryptErrorCode::kBadPadding, "bad_padding"},
      {DecryptErrorCode::kBadPlaintext, "bad_plaintext"},
  };
  for (const auto& [known, name] : kNames) {
    if (known == code) return name;
  }
  return "unknown";
}

Cipher::Cipher(std::string_view key) : key_(key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    OPENSSL_cleanse(key_.data(), key_.size());
    throw KeyError(
        fmt::format("AES key must be 16, 24 or 32 bytes (Talos uses 32), got {}", key.size()));
  }
}

Cipher::~Cipher() { OPENSSL_cleanse(key_.data(), key_.size()); }
Cipher::Cipher(const Cipher&) = default;
Cipher& Cipher::operator=(const Cipher& other) {
  if (this != &other) {
    OPENSSL_cleanse(key_.data(), key_.size());
    key_ = other.key_;
  }
  return *this;
}

std::string Cipher::seal(std::string_view plaintext) const {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  unsigned char* nonce = bytes(out);
  check(RAND_bytes(nonce, static_cast<int>(kNonceSize)), "RAND_bytes");

  CtxPtr ctx = new_ctx();
  check(EVP_EncryptInit_ex(ctx.get(), aes_for(key_.size()).gcm(), nullptr, nullptr, nullptr),
        "EVP_EncryptInit_ex(gcm)");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr),
        "EVP_CTRL_GCM_SET_IVLEN");
  check(EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key_), nonce), "EVP_EncryptInit_ex");
  int len = 0;
  unsigned char* body = nonce + kNonceSize;
  check(EVP_EncryptUpdate(ctx.get(), body, &len, bytes(plaintext), int_size(plaintext.size())),
        "EVP_EncryptUpdate(gcm)");
  int tail = 0;
  check(EVP_EncryptFinal_ex(ctx.get(), body + len, &tail), "EVP_EncryptFinal_ex(gcm)");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()),
        "EVP_CTRL_GCM_GET_TAG");
  return out;
}

Decrypted<std::string> Cipher::open(std::string_view blob) const {
  if (blob.size() < kNonceSize + kTagSize) {
    return DecryptError{DecryptErrorCode::kShortBlob,
                        fmt::format("sealed data is {} bytes, shorter than nonce and tag ({})",
                                    blob.size(), kNonceSize + kTagSize)};
  }
  std::string_view nonce = blob.substr(0, kNonceSize);
  std::string_view body = blob.substr(kNonceSize, blob.size() - kNonceSize - kTagSize);
  std::string tag(blob.substr(blob.size() - kTagSize));

  CtxPtr ctx = new_ctx();
  check(EVP_DecryptInit_ex(ctx.get(), aes_for(key_.size()).gcm(), nullptr, nullptr, nullptr),
        "EVP_DecryptInit_ex(gcm)");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr),
        "EVP_CTRL_GCM_SET_IVLEN");
  check(EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key_), bytes(nonce)),
        "EVP_DecryptInit_ex");
  std::string out(body.size(), '\0');
  int len = 0;
  check(EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(body), int_size(body.size())),
        "EVP_DecryptUpdate(gcm)");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()),
        "EVP_CTRL_GCM_SET_TAG");
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), bytes(out) + len, &tail) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return DecryptError{DecryptErrorCode::kAuthFailed,
                        fmt::format("authentication failed for {} bytes of sealed data (wrong key "
                                    "or altered data)",
                                    blob.size())};
  }
  return out;
}

std::string Cipher::encrypt_blocks(std::string_view plaintext) const {
  if (plaintext.size() > 255) {
    throw std::invalid_argument(fmt::format(
        "crypto: block payload is {} bytes, at most 255 fit a length byte", plaintext.size()));
  }
  std::string padded;
  padded.reserve(1 + plaintext.size() + kBlockSize);
  padded.push_back(static_cast<char>(plaintext.size()));
  padded.append(plaintext);
  if (padded.size() % kBlockSize != 0)
    padded.resize(padded.size() + kBlockSize - padded.size() % kBlockSize, '\0');
  return ecb(key_, padded, true);
}

Decrypted<std::string> Cipher::decrypt_blocks(std::string_view blob) const {
  if (blob.empty() || blob.size() % kBlockSize != 0) {
    return DecryptError{DecryptErrorCode::kBadBlockSize,
                        fmt::format("endpoint is {} bytes, not a non-zero multiple of {}",
                                    blob.size(), kBlockSize)};
  }
  std::string plain = ecb(key_, blob, false);
  auto length = static_cast<unsigned char>(plain[0]);
  if (length > plain.size() - 1) {
    return DecryptError{DecryptErrorCode::kBadLengthByte,
                        fmt::format("endpoint length byte {} exceeds the {} decrypted bytes "
                                    "(wrong key or altered data)",
                                    length, plain.size() - 1)};
  }
  // Every writer zero-pads, so anything else means a wrong key: catching it here keeps a random
  // block that happens to parse as a protobuf from becoming a bogus endpoint.
  if (plain.find_first_not_of('\0', 1 + length) != std::string::npos) {
    return DecryptError{DecryptErrorCode::kBadPadding,
                        fmt::format("endpoint padding after {} payload bytes is not zero (wrong "
                                    "key or altered data)",
                                    length)};
  }
  return plain.substr(1, length);
}

}  // namespace discovery::crypto
