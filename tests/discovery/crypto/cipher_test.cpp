// Cipher and affiliate codec: known answers produced by Go's crypto/aes with the upstream
// discovery-api messages, round trips, and every way a blob from the wire can be wrong.
#include "discovery/crypto/cipher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "discovery/crypto/affiliate_codec.h"

namespace discovery::crypto {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Key 00 01 02 ... 1f (the FIPS-197 AES-256 example key).
std::string test_key() {
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  return key;
}

const std::string kIp6 = unhex("fd508d6042386302f85723fffe21d1e0");

pb::Endpoint endpoint(std::string ip, std::uint32_t port) {
  pb::Endpoint e;
  e.set_ip(std::move(ip));
  e.set_port(port);
  return e;
}

// The affiliate of Talos's discovery_service_test, with node_id "node-1".
pb::Affiliate sample_affiliate() {
  pb::Affiliate a;
  a.set_node_id("node-1");
  a.add_addresses(unhex("c0a80304"));
  a.set_hostname("foo.com");
  a.set_nodename("bar");
  a.set_machine_type("controlplane");
  auto* ks = a.mutable_kubespan();
  ks->set_public_key("PLPNBddmTgHJhtw0vxltq1ZBdPP9RNOEUd5JjJZzBRY=");
  ks->set_address(kIp6);
  auto* add = ks->add_additional_addresses();
  add->set_ip(unhex("0af40301"));
  add->set_bits(24);
  ks->add_exclude_advertised_addresses()->set_ip(unhex("00000000"));
  a.mutable_control_plane()->set_api_server_port(6443);
  return a;
}

// Go: aff.MarshalVT() of sample_affiliate().
const std::string kAffiliatePlain = unhex(
    "0a066e6f64652d311204c0a803041a07666f6f2e636f6d22036261722a0c636f6e74726f6c706c616e653a520a2c"
    "504c504e4264646d5467484a6874773076786c7471315a4264505039524e4f455564354a6a4a5a7a4252593d1210"
    "fd508d6042386302f85723fffe21d1e01a080a040af40301101822060a0400000000420308ab32");

// Go: cipher.NewGCM(aes key).Seal(nonce, nonce, plain, nil) with nonce 00 01 .. 0b.
const std::string kAffiliateSealed = unhex(
    "000102030405060708090a0b4d04b874a180ef2a9f455723b2ed626ae5b9e81a9314325e3b0584f7376563dd6f64"
    "dc93c3b17ef91ac145bf82ab7874be1722e93ebbf7bd77dd426d6fd383969c48b74b899342314c6df820a0ca5b8c"
    "0dc0a3282c19113aa4c08cdc85a034ed89c03ae45c16ebe5603def52527d2b7bb09361aaf3dd079c47fb57cd82e6"
    "2c0db3f9320b1acfabf46be5e103316ef2bbeb017e");

TEST(CipherTest, RejectsBadKeySizes) {
  for (std::size_t size : {0, 1, 15, 17, 31, 33, 64}) {
    EXPECT_THROW(Cipher(std::string(size, 'k')), KeyError) << size;
  }
  for (std::size_t size : {16, 24, 32}) EXPECT_EQ(Cipher(std::string(size, 'k')).key_size(), size);
}

TEST(CipherTest, Fips197BlockVector) {
  // ECB encrypts blocks independently, so the second block of a 31-byte payload is a raw AES
  // block: 00112233..eeff under key 00..1f must give FIPS-197 C.3's ciphertext.
  Cipher cipher(test_key());
  std::string payload(15, 'p');
  payload += unhex("00112233445566778899aabbccddeeff");
  EXPECT_EQ(hex(cipher.encrypt_blocks(payload).substr(16)), "8ea2b7ca516745bfeafc49904b496089");

  // Decrypted alone, that block has length 0 and a non-zero tail.
  auto plain = cipher.decrypt_blocks(unhex("8ea2b7ca516745bfeafc49904b496089"));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, DecryptErrorCode::kBadPadding);
}

TEST(CipherTest, EndpointKnownAnswersMatchGoClient) {
  Cipher cipher(test_key());
  std::string v4 = encrypt_endpoint(cipher, endpoint(unhex("0a000002"), 51820));
  EXPECT_EQ(hex(v4), "45c55198f8ad5b07dd423e192f7e13e8");
  std::string v6 = encrypt_endpoint(cipher, endpoint(kIp6, 51820));
  EXPECT_EQ(hex(v6), "9b4f670e3066785f2d206fa4d4fc79121ed8ae5e2dd2951ee54434e9de7b1e31");

  auto back = decrypt_endpoint(cipher, v6);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value().ip(), kIp6);
  EXPECT_EQ(back.value().port(), 51820u);
}

TEST(CipherTest, AffiliateKnownAnswerFromGo) {
  Cipher cipher(test_key());
  EXPECT_EQ(hex(sample_affiliate().SerializeAsString()), hex(kAffiliatePlain));
  auto opened = open_affiliate(cipher, kAffiliateSealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened.value().SerializeAsString(), kAffiliatePlain);
  EXPECT_EQ(opened.value().kubespan().exclude_advertised_addresses_size(), 1);
}

TEST(CipherTest, SealUsesFreshNonceAndRoundTrips) {
  Cipher cipher(test_key());
  std::string a = seal_affiliate(cipher, sample_affiliate());
  std::string b = seal_affiliate(cipher, sample_affiliate());
  EXPECT_EQ(a.size(), kAffiliatePlain.size() + kNonceSize + kTagSize);
  EXPECT_NE(a.substr(0, kNonceSize), b.substr(0, kNonceSize));
  EXPECT_EQ(a.find("foo.com"), std::string::npos);
  for (const auto& blob : {a, b}) {
    auto opened = open_affiliate(cipher, blob);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(opened.value().hostname(), "foo.com");
  }
  auto empty = cipher.open(cipher.seal(""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value(), "");
}

TEST(CipherTest, EndpointsAreDeterministicAndPadded) {
  Cipher cipher(test_key());
  EXPECT_EQ(encrypt_endpoint(cipher, endpoint(kIp6, 1)),
            encrypt_endpoint(cipher, endpoint(kIp6, 1)));
  EXPECT_NE(encrypt_endpoint(cipher, endpoint(kIp6, 1)),
            encrypt_endpoint(cipher, endpoint(kIp6, 2)));
  // Payloads of 15 and 31 bytes fill their blocks exactly; one more byte adds a block.
  EXPECT_EQ(cipher.encrypt_blocks(std::string(15, 'x')).size(), 16u);
  EXPECT_EQ(cipher.encrypt_blocks(std::string(16, 'x')).size(), 32u);
  EXPECT_EQ(cipher.encrypt_blocks(std::string(31, 'x')).size(), 32u);
  EXPECT_EQ(cipher.encrypt_blocks(std::string(255, 'x')).size(), 256u);
  EXPECT_THROW(cipher.encrypt_blocks(std::string(256, 'x')), std::invalid_argument);
  for (std::size_t n : {0, 1, 15, 16, 31, 200, 255}) {
    std::string payload(n, static_cast<char>(n));
    auto back = cipher.decrypt_blocks(cipher.encrypt_blocks(payload));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(back.value(), payload);
  }
}

TEST(CipherTest, AesSizesInteroperateWithThemselvesOnly) {
  Cipher k16(std::string(16, 'a'));
  Cipher k24(std::string(24, 'a'));
  auto ok = k24.open(k24.seal("hello"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), "hello");
  auto bad = k16.open(k24.seal("hello"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, DecryptErrorCode::kAuthFailed);
}

TEST(CipherErrorTest, ShortBlob) {
  Cipher cipher(test_key());
  for (std::size_t n : {0, 1, 12, 27}) {
    auto r = cipher.open(std::string(n, '\x01'));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, DecryptErrorCode::kShortBlob);
    EXPECT_NE(r.error().message.find(std::to_string(n) + " bytes"), std::string::npos);
  }
  // Exactly nonce + tag is an empty ciphertext: the tag decides.
  EXPECT_EQ(cipher.open(std::string(28, '\x01')).error().code, DecryptErrorCode::kAuthFailed);
}

TEST(CipherErrorTest, FailedTagOnAnyFlippedBit) {
  Cipher cipher(test_key());
  for (std::size_t i = 0; i < kAffiliateSealed.size(); i += 7) {
    std::string blob = kAffiliateSealed;
    blob[i] = static_cast<char>(blob[i] ^ 0x01);
    auto r = open_affiliate(cipher, blob);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.error().code, DecryptErrorCode::kAuthFailed) << i;
  }
}

TEST(CipherErrorTest, WrongKey) {
  Cipher other(std::string(32, 'w'));
  auto data = open_affiliate(other, kAffiliateSealed);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.error().code, DecryptErrorCode::kAuthFailed);
  EXPECT_NE(data.error().message.find("wrong key"), std::string::npos);

  // ECB has no tag: a wrong key shows as a bad length byte or bad padding, never a bogus value.
  auto ep = decrypt_endpoint(other, unhex("45c55198f8ad5b07dd423e192f7e13e8"));
  ASSERT_FALSE(ep.ok());
  EXPECT_TRUE(ep.error().code == DecryptErrorCode::kBadLengthByte ||
              ep.error().code == DecryptErrorCode::kBadPadding)
      << to_string(ep.error().code);
}

TEST(CipherErrorTest, EndpointBlockSizes) {
  Cipher cipher(test_key());
  for (std::size_t n : {0, 1, 15, 17, 31, 33}) {
    auto r = cipher.decrypt_blocks(std::string(n, '\x02'));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, DecryptErrorCode::kBadBlockSize);
  }
}

TEST(CipherErrorTest, BadLengthByteAndPlaintext) {
  Cipher cipher(test_key());
  // A 16-byte plaintext frame "length=200" cannot be produced by encrypt_blocks; make it by
  // encrypting a 31-byte payload and keeping the second block, whose plaintext we control.
  std::string payload(15, '\0');
  payload += std::string(1, static_cast<char>(200)) + std::string(15, '\0');
  std::string blob = cipher.encrypt_blocks(payload).substr(16, 16);
  auto r = cipher.decrypt_blocks(blob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, DecryptErrorCode::kBadLengthByte);
  EXPECT_NE(r.error().message.find("200"), std::string::npos);

  // Well-framed garbage: a payload that is not an Endpoint message (field 1 claims 9 bytes).
  auto bad = decrypt_endpoint(cipher, cipher.encrypt_blocks("\x0a\x09zz"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, DecryptErrorCode::kBadPlaintext);
  auto bad_aff = open_affiliate(cipher, cipher.seal("\x0a\x7fxx"));
  ASSERT_FALSE(bad_aff.ok());
  EXPECT_EQ(bad_aff.error().code, DecryptErrorCode::kBadPlaintext);
}

// What a fuzzer would do, bounded: random blobs of every small size never crash or decrypt.
TEST(CipherErrorTest, RandomBlobsAreRejectedNotFatal) {
  Cipher cipher(test_key());
  std::mt19937 rng(1234);
  int endpoint_accepts = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string blob(static_cast<std::size_t>(i % 80), '\0');
    for (auto& c : blob) c = static_cast<char>(rng());
    EXPECT_FALSE(open_affiliate(cipher, blob).ok());
    if (decrypt_endpoint(cipher, blob).ok()) ++endpoint_accepts;
  }
  // A random block passes the length and padding checks only if the payload byte count fits and
  // the tail happens to be zero: about 1 in 2^100 per block.
  EXPECT_EQ(endpoint_accepts, 0);
}

}  // namespace
}  // namespace discovery::crypto
