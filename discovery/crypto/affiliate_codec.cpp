// Protobuf framing around Cipher: the serialized plaintext messages, and parse failures as
// kBadPlaintext so callers see one error type for everything that comes off the wire.
#include "discovery/crypto/affiliate_codec.h"

#include <fmt/format.h>

namespace discovery::crypto {
namespace {

template <typename Message>
Decrypted<Message> parse(Decrypted<std::string> plain, std::string_view what) {
  if (!plain.ok()) return plain.error();
  Message message;
  if (!message.ParseFromString(plain.value())) {
    return DecryptError{DecryptErrorCode::kBadPlaintext,
                        fmt::format("decrypted {} ({} bytes) is not a valid {}", what,
                                    plain.value().size(), Message::descriptor()->full_name())};
  }
  return message;
}

}  // namespace

std::string seal_affiliate(const Cipher& cipher, const pb::Affiliate& affiliate) {
  return cipher.seal(affiliate.SerializeAsString());
}

Decrypted<pb::Affiliate> open_affiliate(const Cipher& cipher, std::string_view blob) {
  return parse<pb::Affiliate>(cipher.open(blob), "affiliate data");
}

std::string encrypt_endpoint(const Cipher& cipher, const pb::Endpoint& endpoint) {
  return cipher.encrypt_blocks(endpoint.SerializeAsString());
}

Decrypted<pb::Endpoint> decrypt_endpoint(const Cipher& cipher, std::string_view blob) {
  return parse<pb::Endpoint>(cipher.decrypt_blocks(blob), "endpoint");
}

}  // namespace discovery::crypto
