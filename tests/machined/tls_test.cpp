// The insecure mode's TLS identity: the state-dir pair is created once, reused, and never
// overwritten when half of it is missing (a key alone, as a crash leaves it, gets a new
// certificate).
#include "machined/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

#include "tests/machined/temp_dir.h"
#include "tests/support/x509.h"

namespace machined {
namespace {

using ::testing::HasSubstr;

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(Tls, StateDirPairIsCreatedOnceWithMode0600) {
  tds::test::TempDir dir;
  const pki::KeyPair first = load_or_create_api_key_pair(dir.path());
  for (const char* name : {"api.crt", "api.key"}) {
    struct stat st {};
    ASSERT_EQ(stat((dir.path() / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  const pki::KeyPair second = load_or_create_api_key_pair(dir.path());
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
  const pki::KeyPair first = load_or_create_api_key_pair(dir.path());
  std::filesystem::remove(dir.path() / "api.crt");
  write(dir.path() / "api.crt.tmp", first.cert_pem.substr(0, 100));
  const pki::KeyPair second = load_or_create_api_key_pair(dir.path());
  EXPECT_EQ(second.key_pem, first.key_pem);
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.key"), first.key_pem);
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.crt"), second.cert_pem);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "api.crt.tmp"));
  struct stat st {};
  ASSERT_EQ(stat((dir.path() / "api.crt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The new certificate is for the kept key, and is what the next start loads.
  EXPECT_NO_THROW(load_key_pair(dir.path() / "api.crt", dir.path() / "api.key"));
  const pki::KeyPair third = load_or_create_api_key_pair(dir.path());
  EXPECT_EQ(third.cert_pem, second.cert_pem);
  auto cert = tds::test::parse_cert(second.cert_pem);
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
    EXPECT_THAT(e.what(), HasSubstr("not a PEM private key"));
    EXPECT_THAT(e.what(), HasSubstr("api.key"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "api.crt"));
  EXPECT_EQ(tds::test::read_file(dir.path() / "api.key"), "not a key");
}

TEST(Tls, LoadRejectsGarbageAndMismatchedKeys) {
  tds::test::TempDir dir;
  const pki::KeyPair a = pki::generate_self_signed({.common_name = "a"});
  const pki::KeyPair b = pki::generate_self_signed({.common_name = "b"});
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
