// Encryption of discovery data as the upstream client does it: AES-GCM with a random 12-byte nonce
// prefix for affiliate data, deterministic AES-ECB for endpoints (so the server can deduplicate).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace discovery::crypto {

inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kBlockSize = 16;

enum class DecryptErrorCode {
  kShortBlob,      // data shorter than nonce + tag
  kAuthFailed,     // GCM tag mismatch: wrong key, or the blob was altered
  kBadBlockSize,   // endpoint blob empty or not a multiple of the block size
  kBadLengthByte,  // endpoint length byte larger than the decrypted payload (usually a wrong key)
  kBadPadding,     // endpoint padding not all zero (usually a wrong key; upstream does not check)
  kBadPlaintext,   // decrypted bytes are not the expected protobuf message
};

std::string_view to_string(DecryptErrorCode code);

struct DecryptError {
  DecryptErrorCode code;
  std::string message;  // what was wrong, with sizes; never key material or plaintext
};

// A decrypted value or why it could not be decrypted.
template <typename T>
class Decrypted {
 public:
  Decrypted(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
  Decrypted(DecryptError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const DecryptError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, DecryptError> v_;
};

// Thrown by Cipher's constructor for a key that is not 16, 24 or 32 bytes.
class KeyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// An AES key (16, 24 or 32 bytes; Talos uses 32). Immutable and safe to share between threads:
// every call builds its own OpenSSL context.
class Cipher {
 public:
  explicit Cipher(std::string_view key);
  ~Cipher();
  Cipher(const Cipher&);
  Cipher& operator=(const Cipher&);

  // nonce(12, random) || ciphertext || tag(16), no associated data.
  std::string seal(std::string_view plaintext) const;
  Decrypted<std::string> open(std::string_view blob) const;

  // One length byte, `plaintext`, zero padding to a block multiple; each block encrypted alone.
  // Throws std::invalid_argument when `plaintext` is longer than 255 bytes (a length byte).
  std::string encrypt_blocks(std::string_view plaintext) const;
  Decrypted<std::string> decrypt_blocks(std::string_view blob) const;

  std::size_t key_size() const { return key_.size(); }

 private:
  std::string key_;  // wiped on destruction
};

}  // namespace discovery::crypto
