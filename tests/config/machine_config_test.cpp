// Machine config parsing: legacy and multi-document forms, precedence, Talos's validation
// messages, and refusal of malformed files with every error listed.
#include "config/machine_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pki/x509.h"
#include "values/base64.h"

namespace config {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace enums = talos::resource::definitions::enums;

constexpr const char* kSecret = "kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=";

std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    parse(yaml, "test.yaml");
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("test.yaml: "));
    return e.errors();
  }
  ADD_FAILURE() << "no error for:\n" << yaml;
  return {};
}

TEST(MachineConfig, LegacyEnabledTurnsOnDefaultServiceButKubernetesNeedsCredentials) {
  auto cfg = parse(std::string("version: v1alpha1\ncluster:\n  id: cluster1\n  secret: ") +
                       kSecret + "\n  discovery:\n    enabled: true\n",
                   "t");
  // Talos turns the Kubernetes registry on here and waits for the kubelet's kubeconfig; with no
  // credential source configured ours stays off.
  EXPECT_FALSE(kubernetes_registry_enabled(cfg));
  auto svcs = discovery_services(cfg);
  ASSERT_EQ(svcs.size(), 1u);
  EXPECT_EQ(svcs[0].name, "legacy");
  EXPECT_EQ(svcs[0].endpoint, "https://discovery.talos.dev/");
  auto id = discovery_identity(cfg);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->cluster_id, "cluster1");
}

TEST(MachineConfig, LegacyCustomEndpointAndKubernetesDisabled) {
  auto cfg = parse(std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
                       "\n  discovery:\n    enabled: true\n    registries:\n"
                       "      kubernetes: {disabled: true}\n"
                       "      service: {endpoint: 'http://localhost:3000'}\n",
                   "t");
  EXPECT_FALSE(kubernetes_registry_enabled(cfg));
  ASSERT_EQ(discovery_services(cfg).size(), 1u);
  EXPECT_EQ(discovery_services(cfg)[0].endpoint, "http://localhost:3000");
}

TEST(MachineConfig, LegacyDisabledOrServiceDisabledHasNoServices) {
  auto cfg = parse("version: v1alpha1\ncluster:\n  discovery:\n    enabled: false\n", "t");
  EXPECT_TRUE(discovery_services(cfg).empty());
  EXPECT_FALSE(kubernetes_registry_enabled(cfg));
  cfg = parse(std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
                  "\n  discovery:\n    enabled: true\n    registries:\n"
                  "      service: {disabled: true}\n",
              "t");
  EXPECT_TRUE(discovery_services(cfg).empty());
  EXPECT_FALSE(kubernetes_registry_enabled(cfg));
}

std::string legacy_with_kubernetes(const std::string& kubernetes_block) {
  return std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
         "\n  discovery:\n    enabled: true\n    registries:\n      kubernetes:\n" +
         kubernetes_block;
}

TEST(MachineConfig, KubernetesRegistryWithKubeconfigOrInCluster) {
  auto cfg = parse(legacy_with_kubernetes("        kubeconfig: /etc/k.yaml\n"), "t");
  ASSERT_TRUE(kubernetes_registry(cfg));
  EXPECT_EQ(kubernetes_registry(cfg)->kubeconfig, "/etc/k.yaml");

  cfg = parse(legacy_with_kubernetes("        disabled: false\n        inCluster: true\n"), "t");
  ASSERT_TRUE(kubernetes_registry(cfg));
  EXPECT_EQ(kubernetes_registry(cfg)->kubeconfig, "");

  // Disabled wins over a credential source; a disabled discovery block turns it all off.
  cfg = parse(legacy_with_kubernetes("        disabled: true\n        kubeconfig: /k\n"), "t");
  EXPECT_FALSE(kubernetes_registry(cfg));
  cfg = parse(
      "version: v1alpha1\ncluster:\n  discovery:\n    enabled: false\n    registries:\n"
      "      kubernetes: {kubeconfig: /k}\n",
      "t");
  EXPECT_FALSE(kubernetes_registry(cfg));
}

TEST(MachineConfig, KubernetesRegistryEnabledWithoutCredentialsNamesWhatIsMissing) {
  EXPECT_THAT(
      errors_of(legacy_with_kubernetes("        disabled: false\n")),
      ElementsAre(AllOf(HasSubstr("the Kubernetes registry is enabled but has no credentials"),
                        HasSubstr(".cluster.discovery.registries.kubernetes.kubeconfig"),
                        HasSubstr(".inCluster: true"))));
  EXPECT_THAT(
      errors_of(legacy_with_kubernetes("        kubeconfig: /k\n        inCluster: true\n")),
      ElementsAre(HasSubstr("set either .kubeconfig or .inCluster, not both")));
  EXPECT_THAT(errors_of(legacy_with_kubernetes("        kubeconfig: k.yaml\n")),
              ElementsAre(HasSubstr(".kubeconfig must be an absolute path, got \"k.yaml\"")));
  EXPECT_THAT(errors_of(legacy_with_kubernetes("        inCluster: maybe\n")),
              ElementsAre(HasSubstr("registries.kubernetes.inCluster: expected a bool")));
}

TEST(MachineConfig, MultiDocumentServicesInOrderAndFirstIdentityWins) {
  auto cfg = parse(std::string("version: v1alpha1\nmachine:\n  type: worker\ncluster:\n"
                               "  clusterName: foo\n---\n"
                               "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: b\n"
                               "endpoint: https://one.example/\n---\n"
                               "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: a\n"
                               "endpoint: http://two.example:3000\n---\n"
                               "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n"
                               "clusterID: first\nclusterSecret: ") +
                       kSecret +
                       "\n---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n"
                       "clusterID: second\nclusterSecret: " +
                       kSecret + "\n",
                   "t");
  auto svcs = discovery_services(cfg);
  ASSERT_EQ(svcs.size(), 2u);
  EXPECT_EQ(svcs[0].name, "b");
  EXPECT_EQ(svcs[1].name, "a");
  EXPECT_EQ(discovery_identity(cfg)->cluster_id, "first");
  EXPECT_EQ(cfg.machine_type, enums::TYPE_WORKER);
  EXPECT_EQ(cfg.cluster_name, "foo");
  EXPECT_FALSE(kubernetes_registry_enabled(cfg));
}

TEST(MachineConfig, HostConfigExtensionAndIgnoredKinds) {
  auto cfg = parse(
      "version: v1alpha1\nmachine:\n  network:\n    hostname: node-1\n---\n"
      "apiVersion: v1alpha1\nkind: HostConfig\nnodename: n1\naddresses: [10.0.0.1/24, fd00::1]\n"
      "---\napiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: x\n",
      "t");
  EXPECT_EQ(cfg.hostname, "node-1");
  EXPECT_EQ(cfg.nodename, "n1");
  ASSERT_TRUE(cfg.addresses);
  EXPECT_THAT(*cfg.addresses, ElementsAre("10.0.0.1/24", "fd00::1"));
  EXPECT_THAT(cfg.ignored_kinds, ElementsAre("NetworkRuleConfig"));
  EXPECT_FALSE(cfg.has_cluster);
}

TEST(MachineConfig, MultiDocValidationMessages) {
  auto errs = errors_of(
      "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\n---\n"
      "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: a\nendpoint: example.com\n---\n"
      "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: b\nendpoint: ftp://x\n---\n"
      "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: c\nendpoint: https://\n---\n"
      "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\n");
  EXPECT_THAT(
      errs, ElementsAre(HasSubstr("document 1 (DiscoveryServiceConfig): name is required"),
                        HasSubstr("endpoint is required"), HasSubstr("endpoint scheme is required"),
                        HasSubstr("endpoint scheme must be http://, https:// or grpc://"),
                        HasSubstr("endpoint host is required"), HasSubstr("clusterID is required"),
                        HasSubstr("clusterSecret is required")));
}

TEST(MachineConfig, ClusterSecretMustBe32BytesOfBase64) {
  auto errs = errors_of(
      "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: x\nclusterSecret: "
      "AAAA\n");
  EXPECT_THAT(errs,
              ElementsAre(HasSubstr("invalid clusterSecret: expected 32 bytes, got 3: AAAA")));
  errs = errors_of(
      "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: x\nclusterSecret: '!!'\n");
  EXPECT_THAT(errs,
              ElementsAre(HasSubstr("invalid clusterSecret: failed to decode from base64: !!; ")));
}

TEST(MachineConfig, ConflictsWithLegacyBlock) {
  auto errs = errors_of(std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
                        "\n  discovery:\n    enabled: false\n---\n"
                        "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: a\n"
                        "endpoint: https://x/\n---\n"
                        "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: x\n"
                        "clusterSecret: " +
                        kSecret + "\n");
  EXPECT_THAT(errs,
              ElementsAre("discovery service is already configured in .cluster.discovery of the "
                          "v1alpha1 config",
                          "cluster identity is already configured in .cluster.id/.cluster.secret "
                          "of the v1alpha1 config"));
}

TEST(MachineConfig, ServicesNeedAnIdentity) {
  auto errs = errors_of(
      "apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: a\nendpoint: https://x/\n");
  EXPECT_THAT(errs, ElementsAre("cluster ID (.cluster.id or DiscoveryIdentityConfig) should be set "
                                "when cluster discovery (DiscoveryServiceConfig) is enabled",
                                "cluster secret (.cluster.secret or DiscoveryIdentityConfig) "
                                "should be set when cluster discovery (DiscoveryServiceConfig) is "
                                "enabled"));
}

TEST(MachineConfig, LegacyValidationMessages) {
  auto errs = errors_of(
      "version: v1alpha1\ncluster:\n  discovery:\n    enabled: true\n    registries:\n"
      "      service: {endpoint: 'https://example.com/path'}\n");
  EXPECT_THAT(errs,
              ::testing::IsSupersetOf({"cluster discovery service path should be empty",
                                       "cluster discovery service requires .cluster.id",
                                       "cluster discovery service requires .cluster.secret"}));
  errs = errors_of(std::string("version: v1alpha1\ncluster:\n  id: c\n  secret: ") + kSecret +
                   "\n  discovery:\n    enabled: true\n    registries:\n"
                   "      service: {endpoint: 'example.com'}\n");
  EXPECT_THAT(errs,
              ElementsAre(HasSubstr("cluster discovery service registry endpoint is invalid: parse "
                                    "\"example.com\": invalid URI for request")));
}

TEST(MachineConfig, KubeSpanNeedsDiscovery) {
  auto errs = errors_of(
      "version: v1alpha1\nmachine:\n  network:\n    kubespan:\n"
      "      enabled: true\n");
  EXPECT_THAT(errs, ElementsAre("KubeSpan requires cluster discovery to be enabled"));
}

TEST(MachineConfig, KubeSpanSettingsAndExtraEndpoints) {
  auto cfg = parse(
      std::string("version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      enabled: true\n"
                  "      advertiseKubernetesNetworks: true\n      filters:\n"
                  "        endpoints: [\"0.0.0.0/0\", \"!192.168.0.0/16\", \"10.0.0.1\"]\n"
                  "        excludeAdvertisedNetworks: [\"2001:123:4567::/64\"]\n"
                  "cluster:\n  id: c\n  secret: ") +
          kSecret +
          "\n  discovery:\n    enabled: true\n---\napiVersion: v1alpha1\n"
          "kind: KubeSpanEndpointsConfig\nextraAnnouncedEndpoints: [\"1.2.3.4:5678\"]\n---\n"
          "apiVersion: v1alpha1\nkind: HostConfig\nhardwareAddress: EA-71-1B-B2-CC-EE\n",
      "t");
  EXPECT_TRUE(cfg.kubespan.enabled);
  EXPECT_TRUE(cfg.kubespan.advertise_kubernetes_networks);
  EXPECT_THAT(cfg.kubespan.endpoint_filters,
              ElementsAre("0.0.0.0/0", "!192.168.0.0/16", "10.0.0.1"));
  EXPECT_THAT(cfg.kubespan.exclude_advertised_networks, ElementsAre("2001:123:4567::/64"));
  EXPECT_THAT(cfg.kubespan.extra_announced_endpoints, ElementsAre("1.2.3.4:5678"));
  EXPECT_EQ(cfg.hardware_address, std::string("\xea\x71\x1b\xb2\xcc\xee", 6));
}

TEST(MachineConfig, BadKubeSpanListsAreRefused) {
  auto errs = errors_of(
      "version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      filters:\n"
      "        endpoints: [\"10\", \"!123::/456\", \"0.0.0.0/0\"]\n"
      "        excludeAdvertisedNetworks: [\"nope\"]\n---\n"
      "apiVersion: v1alpha1\nkind: KubeSpanEndpointsConfig\n"
      "extraAnnouncedEndpoints: [\"1.2.3.4\", \"[::1]:51820\"]\n---\n"
      "apiVersion: v1alpha1\nkind: KubeSpanEndpointsConfig\n---\n"
      "apiVersion: v1alpha1\nkind: HostConfig\nhardwareAddress: 00:00:00:00:00:00\n");
  EXPECT_THAT(
      errs,
      ElementsAre(
          "document 2 (KubeSpanEndpointsConfig): extraAnnouncedEndpoints: \"1.2.3.4\" is not an "
          "IP:port",
          "document 3 (KubeSpanEndpointsConfig): a second KubeSpanEndpointsConfig document",
          "document 4 (HostConfig): hardwareAddress: \"00:00:00:00:00:00\" is not a MAC address "
          "(aa:bb:cc:dd:ee:ff)"));
  errs = errors_of(
      "version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      filters:\n"
      "        endpoints: [\"10\", \"!123::/456\", \"0.0.0.0/0\"]\n"
      "        excludeAdvertisedNetworks: [\"nope\"]\n");
  EXPECT_THAT(errs, ElementsAre("KubeSpan endpoint filter is not valid: \"10\"",
                                "KubeSpan endpoint filter is not valid: \"123::/456\"",
                                "KubeSpan excluded advertised network is not valid: \"nope\""));
}

TEST(MachineConfig, ParseMac) {
  EXPECT_EQ(parse_mac("2e:1a:b6:53:81:69"), std::string("\x2e\x1a\xb6\x53\x81\x69", 6));
  EXPECT_EQ(parse_mac("2E-1A-B6-53-81-69"), std::string("\x2e\x1a\xb6\x53\x81\x69", 6));
  for (auto bad : {"", "2e:1a:b6:53:81", "2e:1a:b6:53:81:6g", "2e:1a-b6:53:81:69",
                   "2e:1a:b6:53:81:69:00", "2e1ab6538169"}) {
    EXPECT_FALSE(parse_mac(bad)) << bad;
  }
}

TEST(MachineConfig, LegacySecretThatCannotBeAnAesKeyIsRefused) {
  auto errs = errors_of(
      "version: v1alpha1\ncluster:\n  id: c\n  secret: AAAA\n  discovery:\n    enabled: true\n");
  EXPECT_THAT(errs, ElementsAre("invalid .cluster.secret: expected 16, 24 or 32 bytes, got 3"));
}

TEST(MachineConfig, ShapeErrorsNameDocumentAndPath) {
  auto errs = errors_of(
      "version: v1alpha1\nmachine:\n  type: boss\n  network: [1]\ncluster:\n"
      "  discovery:\n    enabled: maybe\n---\nkind: DiscoveryServiceConfig\napiVersion: v2\n---\n"
      "just text\n---\nfoo: bar\n");
  EXPECT_THAT(errs,
              ElementsAre("document 1 (v1alpha1): machine.type: unknown machine type \"boss\"",
                          "document 1 (v1alpha1): machine.network: expected a mapping",
                          "document 1 (v1alpha1): cluster.discovery.enabled: expected a bool",
                          HasSubstr("document 2 (DiscoveryServiceConfig): unsupported apiVersion"),
                          "document 3: expected a mapping",
                          "document 4: neither `version` nor `kind` is set"));
}

TEST(MachineConfig, MalformedYamlNamesTheFileAndPosition) {
  try {
    parse("version: v1alpha1\nmachine: [\n", "bad.yaml");
    FAIL() << "parsed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.yaml: 1 error occurred:\n\t* line "));
  }
}

// yaml-cpp 0.7 alone loops forever on these, one empty document after another, until memory runs
// out (the fuzz target found the first).
TEST(MachineConfig, StreamsYamlCppCannotGetPastAreRefused) {
  for (const char* text : {",", "- a\n,", "version: v1alpha1\n---\n,"}) {
    try {
      parse(text, "loop.yaml");
      FAIL() << "parsed: " << text;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("loop.yaml: 1 error occurred:\n\t* line ")) << text;
    }
  }
  // Empty documents and leading markers are still fine.
  EXPECT_FALSE(parse("---\n---\nversion: v1alpha1\n---\n", "ok.yaml").has_cluster);
}

// As Talos's parser: a config is printable UTF-8. yaml-cpp alone took the bytes, and `gen config`
// wrote a cluster ID with them back as a different ID (found by the machine config fuzz target).
TEST(MachineConfig, OnlyPrintableUtf8IsYaml) {
  const std::string base = "version: v1alpha1\ncluster:\n  id: ";
  for (const auto& [bytes, error] : std::vector<std::pair<std::string, std::string>>{
           {"a\xff\xff"
            "b",
            "line 3, column 8: invalid UTF-8"},
           {"\xc0\xaf", "line 3, column 7: invalid UTF-8"},      // overlong '/'
           {"\xed\xa0\x80", "line 3, column 7: invalid UTF-8"},  // a surrogate
           {"ab\x08", "line 3, column 9: control characters are not allowed"},
           {std::string(1, '\0'), "line 3, column 7: control characters are not allowed"}}) {
    try {
      parse(base + bytes + "\n", "bytes.yaml");
      FAIL() << "parsed";
    } catch (const Error& e) {
      EXPECT_THAT(e.errors(), ElementsAre(error));
    }
  }
  const std::string id = "ids-\xc3\xa9t\xe2\x82\xac-\xf0\x9f\x98\x80";  // é, €, an emoji
  EXPECT_EQ(parse(base + id + "\n", "ok.yaml").legacy_cluster_id, id);
}

TEST(MachineConfig, AllErrorsAreListed) {
  try {
    parse("apiVersion: v1alpha1\nkind: DiscoveryServiceConfig\n", "f.yaml");
    FAIL() << "parsed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("f.yaml: 2 errors occurred:\n\t* "));
    EXPECT_EQ(e.errors().size(), 2u);
  }
}

TEST(MachineConfig, LoadFileRefusesAMissingFile) {
  auto path = (std::filesystem::temp_directory_path() / "tds-no-such-config.yaml").string();
  std::filesystem::remove(path);
  EXPECT_THROW(load_file(path), Error);
}

TEST(MachineConfig, LoadFileReadsAFile) {
  auto path = (std::filesystem::temp_directory_path() / "tds-config-test.yaml").string();
  std::ofstream(path) << "version: v1alpha1\ncluster:\n  clusterName: x\n";
  auto cfg = load_file(path);
  EXPECT_EQ(cfg.cluster_name, "x");
  std::filesystem::remove(path);
}

std::string with_ca(const std::string& crt, const std::string& key) {
  return "version: v1alpha1\nmachine:\n  ca:\n    crt: " + crt + "\n    key: " + key + "\n";
}

TEST(MachineConfig, OsCaIsReadAndChecked) {
  const auto ca = pki::generate_ca("talos");
  auto cfg = parse(with_ca(values::base64_encode(ca.cert_pem), values::base64_encode(ca.key_pem)),
                   "test.yaml");
  ASSERT_TRUE(cfg.os_ca);
  EXPECT_EQ(cfg.os_ca->cert_pem, ca.cert_pem);
  EXPECT_EQ(cfg.os_ca->key_pem, ca.key_pem);
  EXPECT_FALSE(parse("version: v1alpha1\nmachine: {}\n", "test.yaml").os_ca);

  const auto other = pki::generate_ca("talos");
  EXPECT_THAT(
      errors_of(with_ca(values::base64_encode(ca.cert_pem), values::base64_encode(other.key_pem))),
      ElementsAre(HasSubstr("machine.ca: the key does not match the certificate")));
  EXPECT_THAT(errors_of(with_ca(values::base64_encode(ca.cert_pem), "\"\"")),
              ElementsAre(HasSubstr("machine.ca.key: is required")));
  EXPECT_THAT(errors_of(with_ca("not*base64", values::base64_encode(ca.key_pem))),
              ElementsAre(HasSubstr("machine.ca.crt: failed to decode from base64")));
  EXPECT_THAT(errors_of(with_ca(values::base64_encode("junk"), values::base64_encode(ca.key_pem))),
              ElementsAre(HasSubstr("not a PEM certificate")));
}

}  // namespace
}  // namespace config
