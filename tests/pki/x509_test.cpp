// What the OS CA issues: chains that verify, the roles in the subject, the names and usages a
// TLS peer checks, and keys in Talos's PEM label.
#include "pki/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "tests/support/x509.h"

namespace pki {
namespace {

using tds::test::parse_cert;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// OpenSSL's own chain check of `leaf` against `ca` for `purpose` (X509_PURPOSE_SSL_CLIENT...).
bool verifies(const KeyPair& ca, const KeyPair& leaf, int purpose) {
  auto root = parse_cert(ca.cert_pem);
  auto cert = parse_cert(leaf.cert_pem);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), root.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  return X509_verify_cert(ctx.get()) == 1;
}

TEST(X509, CaIsEd25519AndACertificateAuthority) {
  const KeyPair ca = generate_ca("talos");
  auto cert = parse_cert(ca.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())), EVP_PKEY_ED25519);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_THAT(subject_organizations(ca.cert_pem), ElementsAre("talos"));
  EXPECT_NO_THROW(check_key_pair(ca, "ca"));
}

TEST(X509, ClientCertificateCarriesItsRolesAndVerifiesOnlyAgainstItsCa) {
  const KeyPair ca = generate_ca("talos");
  const KeyPair other = generate_ca("talos");
  const KeyPair client = issue(ca, {.common_name = "admin",
                                    .organizations = {"os:reader", "os:operator"},
                                    .usage = Usage::kClient});
  EXPECT_THAT(subject_organizations(client.cert_pem), ElementsAre("os:reader", "os:operator"));
  EXPECT_TRUE(verifies(ca, client, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(verifies(ca, client, X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(verifies(other, client, X509_PURPOSE_SSL_CLIENT));
  auto cert = parse_cert(client.cert_pem);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
}

TEST(X509, ServingCertificateNamesItsAddressesAndNeverOutlivesTheCa) {
  const KeyPair ca = generate_ca("talos", 30);
  const KeyPair node = issue(ca, {.common_name = "node-1",
                                  .dns_names = {"node-1"},
                                  .ip_addresses = {"127.0.0.1", "fd00::1"},
                                  .usage = Usage::kServerAndClient,
                                  .days = 3650});
  EXPECT_TRUE(verifies(ca, node, X509_PURPOSE_SSL_SERVER));
  EXPECT_TRUE(verifies(ca, node, X509_PURPOSE_SSL_CLIENT));
  auto cert = parse_cert(node.cert_pem);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "fd00::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 0);
  EXPECT_EQ(X509_check_host(cert.get(), "node-1", 0, 0, nullptr), 1);
  auto root = parse_cert(ca.cert_pem);
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(root.get())), 0);
  EXPECT_TRUE(subject_organizations(node.cert_pem).empty());
}

TEST(X509, BadRequestsAndBrokenCasAreErrors) {
  const KeyPair ca = generate_ca("talos");
  EXPECT_THROW(issue(ca, {.common_name = "x", .ip_addresses = {"not-an-ip"}}), std::runtime_error);
  EXPECT_THROW(issue(KeyPair{"junk", ca.key_pem}, {.common_name = "x"}), std::runtime_error);
  const KeyPair stranger = generate_ca("talos");
  try {
    issue(KeyPair{ca.cert_pem, stranger.key_pem}, {.common_name = "x"});
    FAIL() << "a CA certificate with another CA's key issued a certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not match"));
  }
}

TEST(X509, KeyPairCheckAcceptsTalosKeyLabelAndRefusesMismatches) {
  const KeyPair ca = generate_ca("talos");
  std::string talos_key = ca.key_pem;
  for (const char* edge : {"BEGIN ", "END "}) {
    const std::string from = std::string(edge) + "PRIVATE KEY";
    talos_key.replace(talos_key.find(from), from.size(), std::string(edge) + "ED25519 PRIVATE KEY");
  }
  ASSERT_THAT(talos_key, HasSubstr("-----BEGIN ED25519 PRIVATE KEY-----"));
  const KeyPair checked = check_key_pair({ca.cert_pem, talos_key}, "talos ca");
  EXPECT_EQ(checked.key_pem, ca.key_pem);
  // What Talos wrote signs for us too.
  EXPECT_NO_THROW(issue({ca.cert_pem, talos_key}, {.common_name = "x"}));

  const KeyPair other = generate_ca("talos");
  try {
    check_key_pair({ca.cert_pem, other.key_pem}, "machine.ca");
    FAIL() << "a mismatched pair was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("machine.ca: the key does not match the certificate"));
  }
  EXPECT_THROW(check_key_pair({"junk", ca.key_pem}, "x"), std::runtime_error);
  EXPECT_THROW(check_key_pair({ca.cert_pem, "junk"}, "x"), std::runtime_error);
}

TEST(X509, SelfSignedIsP256WithNamesAndCanKeepAKey) {
  const KeyPair pair = generate_self_signed(
      {.common_name = "node-1", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
  auto cert = parse_cert(pair.cert_pem);
  ASSERT_TRUE(cert);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_THAT(pair.key_pem, HasSubstr("BEGIN PRIVATE KEY"));

  const KeyPair again = generate_self_signed({.common_name = "node-1"}, pair.key_pem);
  EXPECT_EQ(again.key_pem, pair.key_pem);
  EXPECT_NE(again.cert_pem, pair.cert_pem);
  EXPECT_NO_THROW(check_key_pair(again, "again"));
}

}  // namespace
}  // namespace pki
