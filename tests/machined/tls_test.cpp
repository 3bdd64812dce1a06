// The API TLS identity: generated certificates parse and carry the right key and names; the
// state-dir pair is created once, reused, and never overwritten when half of it is missing (a key
// alone, as a crash leaves it, gets a new certificate).
#include "machined/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

#include "tests/machined/temp_dir.h"

namespace machined {
namespace {

using ::testing::HasSubstr;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

std::unique_ptr<X509, X509Free> parse_cert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(Tls, SelfSignedIsP256WithNames) {
  const KeyPair pair = generate_self_signed("node-1", {"localhost"}, {"127.0.0.1"}, 30);
  auto cert = parse_cert(pair.cert_pem);
  ASSERT_TRUE(cert);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
  EXPECT_THAT(pair.key_pem, HasSubstr("BEGIN PRIVATE KEY"));
}

TEST(Tls, StateDirPairIsCreatedOnceWithMode0600) {
  tds::test::TempDir dir;
  const KeyPair first = load_or_create_api_key_pair(dir.path());
  for (const char* name : {"api.crt", "api.key"}) {
    struct stat st {};
    ASSERT_EQ(stat((dir.path() / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  const KeyPair second = load_or_create_api_key_pair(dir.path());
  EXPECT_EQ(first.cert_pem, second.cert_pem);
  EXPECT_EQ(first.key_pem, second.key_pem);
}

TEST(Tls, HalfAPairIsAnErrorAndNothingIsWritten) {
  tds::test::TempDir dir;
  write(dir.path() / "api.crt", "not a certificate");
  try {
    load_or_create_api_key_pair(dir.path());
    FAIL() << "a lone api.crt was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("api.key"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "api.key"));
  std::ifstream in(dir.path() / "api.crt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "not a certificate");
}

// What a kill between the first start's two writes (or a reset's two removals) leaves.
TEST(Tls, KeyWithoutItsCertificateGetsANewCertificateAndIsKept) {
  tds::test::TempDir dir;
  const KeyPair first = load_or_create_api_key_pair(dir.path());
  std::filesystem::remove(dir.path() / "api.crt");
  write(dir.path() / "api.crt.tmp", first.cert_pem.substr(0, 100));
  const KeyPair second = load_or_create_api_key_pair(dir.path());
  EXPECT_EQ(second.key_pem, first.key_pem);
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.key"), first.key_pem);
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.crt"), second.cert_pem);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "api.crt.tmp"));
  struct stat st {};
  ASSERT_EQ(stat((dir.path() / "api.crt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The new certificate is for the kept key, and is what the next start loads.
  EXPECT_NO_THROW(load_key_pair(dir.path() / "api.crt", dir.path() / "api.key"));
  const KeyPair third = load_or_create_api_key_pair(dir.path());
  EXPECT_EQ(third.cert_pem, second.cert_pem);
  auto cert = parse_cert(second.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST(Tls, LoneKeyThatDoesNotParseIsAnErrorAndNothingIsWritten) {
  tds::test::TempDir dir;
  write(dir.path() / "api.key", "not a key");
  try {
    load_or_create_api_key_pair(dir.path());
    FAIL() << "a lone api.key that is not a key was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("api.key: not a PEM private key"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "api.crt"));
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.key"), "not a key");
}

TEST(Tls, LoadRejectsGarbageAndMismatchedKeys) {
  tds::test::TempDir dir;
  const KeyPair a = generate_self_signed("a", {}, {});
  const KeyPair b = generate_self_signed("b", {}, {});
  write(dir.path() / "a.crt", a.cert_pem);
  write(dir.path() / "b.key", b.key_pem);
  write(dir.path() / "junk", "junk");
  EXPECT_THROW(
      {
        try {
          load_key_pair(dir.path() / "a.crt", dir.path() / "b.key");
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("does not match"));
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(load_key_pair(dir.path() / "junk", dir.path() / "b.key"), std::runtime_error);
  EXPECT_THROW(load_key_pair(dir.path() / "a.crt", dir.path() / "junk"), std::runtime_error);
  EXPECT_THROW(load_key_pair(dir.path() / "missing", dir.path() / "b.key"), std::runtime_error);
}

}  // namespace
}  // namespace machined
