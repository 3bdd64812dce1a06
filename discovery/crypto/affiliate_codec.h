// The plaintext messages of sidero.discovery.client sealed and opened with a Cipher, byte-for-byte
// as the upstream Go client does (so Go and C++ nodes read each other and endpoints deduplicate).
#pragma once

#include <string>
#include <string_view>

#include "discovery/affiliate.pb.h"
#include "discovery/crypto/cipher.h"

namespace discovery::crypto {

namespace pb = ::sidero::discovery::client;

std::string seal_affiliate(const Cipher& cipher, const pb::Affiliate& affiliate);
Decrypted<pb::Affiliate> open_affiliate(const Cipher& cipher, std::string_view blob);

std::string encrypt_endpoint(const Cipher& cipher, const pb::Endpoint& endpoint);
Decrypted<pb::Endpoint> decrypt_endpoint(const Cipher& cipher, std::string_view blob);

}  // namespace discovery::crypto
