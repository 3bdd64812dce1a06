// Config generation: fresh identities, the multi-document form, and round trips through parse.
#include "config/generate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "values/base64.h"

namespace config {
namespace {

using ::testing::HasSubstr;

TEST(Generate, IdentitiesAreFreshBase64Of32Bytes) {
  auto a = generate_identity();
  auto b = generate_identity();
  EXPECT_NE(a.cluster_id, b.cluster_id);
  EXPECT_NE(a.cluster_secret, b.cluster_secret);
  auto key = values::base64_decode(a.cluster_secret);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(values::base64_decode(a.cluster_id)->size(), 32u);
}

TEST(Generate, ParsesBackToTheOptions) {
  GenerateOptions opts;
  opts.cluster_name = "lab";
  opts.discovery_endpoint = "http://127.0.0.1:3000";
  opts.machine_type = talos::resource::definitions::enums::TYPE_WORKER;
  opts.nodename = "n1";
  opts.addresses = {"127.0.0.2"};
  opts.identity = DiscoveryIdentity{"id", "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc="};
  auto text = generate(opts);
  auto cfg = parse(text, "generated");
  EXPECT_EQ(cfg.cluster_name, "lab");
  EXPECT_EQ(cfg.machine_type, talos::resource::definitions::enums::TYPE_WORKER);
  ASSERT_EQ(discovery_services(cfg).size(), 1u);
  EXPECT_EQ(discovery_services(cfg)[0].name, "default");
  EXPECT_EQ(discovery_services(cfg)[0].endpoint, "http://127.0.0.1:3000");
  EXPECT_EQ(discovery_identity(cfg)->cluster_id, "id");
  EXPECT_EQ(cfg.nodename, "n1");
  EXPECT_FALSE(cfg.legacy_discovery.has_value());
}

TEST(Generate, WritesAFreshOsCaOrTheGivenOne) {
  const auto a = parse(generate({}), "a");
  const auto b = parse(generate({}), "b");
  ASSERT_TRUE(a.os_ca && b.os_ca);
  EXPECT_NE(a.os_ca->cert_pem, b.os_ca->cert_pem);
  EXPECT_THAT(a.os_ca->cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  GenerateOptions same;
  same.os_ca = a.os_ca;
  EXPECT_EQ(parse(generate(same), "same").os_ca, a.os_ca);
}

TEST(Generate, RefusesABadEndpoint) {
  GenerateOptions opts;
  opts.discovery_endpoint = "discovery.example.com";
  try {
    generate(opts);
    FAIL() << "generated";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("endpoint scheme is required"));
  }
}

}  // namespace
}  // namespace config
