// Tests of the meta resource builders: COSI's validation rules, alias computation (the examples of
// Talos's cluster types), and the RD's proto and YAML forms.
#include "runtime/resource/definition.h"

#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"

namespace runtime::resource {
namespace {

using RdSpec = cosi::resource::meta::ResourceDefinitionSpec;
using testing::ElementsAre;

std::vector<std::string> list(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return {items.begin(), items.end()};
}

ResourceDefinitionInput talos(std::string type) {
  ResourceDefinitionInput input;
  input.type = std::move(type);
  input.default_namespace = "cluster";
  return input;
}

TEST(ResourceDefinition, OwnDefinition) {
  const RdSpec spec = fill_resource_definition(resource_definition_definition());
  EXPECT_EQ(spec.resource_type(), "ResourceDefinitions.meta.cosi.dev");
  EXPECT_EQ(resource_definition_id(spec.resource_type()), "resourcedefinitions.meta.cosi.dev");
  EXPECT_EQ(spec.display_type(), "ResourceDefinition");
  EXPECT_EQ(spec.default_namespace(), "meta");
  EXPECT_THAT(list(spec.aliases()),
              ElementsAre("api-resources", "resourcedefinition", "rd", "rds"));
  EXPECT_THAT(list(spec.all_aliases()),
              ElementsAre("resourcedefinitions", "resourcedefinitions.meta",
                          "resourcedefinitions.meta.cosi", "api-resources", "resourcedefinition",
                          "rd", "rds"));
  ASSERT_EQ(spec.print_columns_size(), 1);
  EXPECT_EQ(spec.print_columns(0).name(), "Aliases");
  EXPECT_EQ(spec.print_columns(0).json_path(), "{.aliases[:]}");
  EXPECT_EQ(spec.sensitivity(), RdSpec::NON_SENSITIVE);
}

TEST(ResourceDefinition, NamespaceDefinition) {
  const RdSpec spec = fill_resource_definition(namespace_definition());
  EXPECT_EQ(spec.display_type(), "Namespace");
  EXPECT_THAT(list(spec.aliases()), ElementsAre("ns", "namespace"));
  EXPECT_THAT(list(spec.all_aliases()), ElementsAre("namespaces", "namespaces.meta",
                                                    "namespaces.meta.cosi", "ns", "namespace"));
}

TEST(ResourceDefinition, TalosMembers) {
  auto input = talos("Members.cluster.talos.dev");
  input.print_columns = {{"Hostname", "{.hostname}"},
                         {"Machine Type", "{.machineType}"},
                         {"OS", "{.operatingSystem}"},
                         {"Addresses", "{.addresses}"}};
  const RdSpec spec = fill_resource_definition(input);
  EXPECT_EQ(spec.display_type(), "Member");
  EXPECT_THAT(list(spec.aliases()), ElementsAre("member"));
  EXPECT_THAT(list(spec.all_aliases()),
              ElementsAre("members", "members.cluster", "members.cluster.talos", "member"));
  ASSERT_EQ(spec.print_columns_size(), 4);
  EXPECT_EQ(spec.print_columns(1).name(), "Machine Type");
  EXPECT_EQ(spec.print_columns(1).json_path(), "{.machineType}");
}

struct Expected {
  const char* type;
  const char* display_type;
  std::vector<std::string> aliases;
};

void PrintTo(const Expected& c, std::ostream* os) { *os << c.type; }

class TalosTypes : public testing::TestWithParam<Expected> {};

TEST_P(TalosTypes, DisplayTypeAndAliases) {
  const RdSpec spec = fill_resource_definition(talos(GetParam().type));
  EXPECT_EQ(spec.display_type(), GetParam().display_type);
  EXPECT_EQ(list(spec.aliases()), GetParam().aliases);
  const std::string plural = resource_definition_id(GetParam().type).substr(
      0, std::string_view(GetParam().type).find('.'));
  EXPECT_EQ(spec.all_aliases(0), plural);
  EXPECT_EQ(spec.all_aliases(1), plural + ".cluster");
  EXPECT_EQ(spec.all_aliases(2), plural + ".cluster.talos");
  EXPECT_EQ(spec.all_aliases_size(), 3 + spec.aliases_size());
}

INSTANTIATE_TEST_SUITE_P(
    Cluster, TalosTypes,
    testing::Values(
        Expected{"Affiliates.cluster.talos.dev", "Affiliate", {"affiliate"}},
        Expected{"Identities.cluster.talos.dev", "Identity", {"identity"}},
        Expected{"Configs.cluster.talos.dev", "Config", {"config"}},
        Expected{"Infos.cluster.talos.dev", "Info", {"info"}},
        Expected{"DiscoveryConfigs.cluster.talos.dev", "DiscoveryConfig",
                 {"discoveryconfig", "dc", "dcs"}},
        Expected{"KubeSpanIdentities.cluster.talos.dev", "KubeSpanIdentity",
                 {"kubespanidentity", "ksi", "ksis"}},
        Expected{"HostnameStatuses.cluster.talos.dev", "HostnameStatus",
                 {"hostnamestatus", "hs"}}));  // capitals end in S: no extra "s" form

TEST(ResourceDefinition, SkipAutomaticAliasesKeepsExplicitOnes) {
  ResourceDefinitionInput input;
  input.type = "MountStatuses.block.talos.dev";
  input.aliases = {"mounts"};
  input.skip_automatic_aliases = true;
  const RdSpec spec = fill_resource_definition(input);
  EXPECT_EQ(spec.display_type(), "MountStatus");
  EXPECT_THAT(list(spec.aliases()), ElementsAre("mounts"));
  EXPECT_THAT(list(spec.all_aliases()), ElementsAre("mounts"));
}

struct BadType {
  const char* type;
  const char* error;
};

void PrintTo(const BadType& c, std::ostream* os) { *os << '"' << c.type << '"'; }

class InvalidTypes : public testing::TestWithParam<BadType> {};

TEST_P(InvalidTypes, AreRefusedWithTheRule) {
  try {
    fill_resource_definition(talos(GetParam().type));
    FAIL() << "accepted " << GetParam().type;
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "resource type \"" + std::string(GetParam().type) + "\": " + GetParam().error);
  }
  EXPECT_THROW(make_resource_definition(talos(GetParam().type)), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, InvalidTypes,
    testing::Values(
        BadType{"", "missing suffix (expected Name.suffix)"},
        BadType{"Members", "missing suffix (expected Name.suffix)"},
        BadType{".", "name is empty"}, BadType{"a.", "suffix is empty"},
        BadType{"test.cosi.dev", "name should be in CamelCase"},
        BadType{"1Test.cosi.dev", "name doesn't match ^[A-Z][A-Za-z0-9-]+$"},
        BadType{"Mem_bers.cosi.dev", "name doesn't match ^[A-Z][A-Za-z0-9-]+$"},
        BadType{"Tests.cosi_dev", "suffix doesn't match ^[a-z][a-z0-9-]+(\\.[a-z][a-z0-9-]+)*$"},
        BadType{"Tests.Cosi.dev", "suffix doesn't match ^[a-z][a-z0-9-]+(\\.[a-z][a-z0-9-]+)*$"},
        BadType{"Tests.cosi..dev", "suffix doesn't match ^[a-z][a-z0-9-]+(\\.[a-z][a-z0-9-]+)*$"},
        BadType{"Tests.c.dev", "suffix doesn't match ^[a-z][a-z0-9-]+(\\.[a-z][a-z0-9-]+)*$"},
        BadType{"Test.cosi.dev", "name should be plural"},
        BadType{"Identity.cluster.talos.dev", "name should be plural"},
        BadType{"Info.cluster.talos.dev", "name should be plural"}));

TEST(ResourceDefinition, ResourceCarriesTheFilledSpec) {
  auto input = talos("Members.cluster.talos.dev");
  input.print_columns = {{"Hostname", "{.hostname}"}};
  const Resource r = make_resource_definition(input);
  EXPECT_EQ(r.metadata.ns, "meta");
  EXPECT_EQ(r.metadata.type, "ResourceDefinitions.meta.cosi.dev");
  EXPECT_EQ(r.metadata.id, "members.cluster.talos.dev");
  EXPECT_EQ(r.metadata.version, kUndefinedVersion);
  const RdSpec* spec = spec_as<RdSpec>(r);
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->display_type(), "Member");

  // What talosctl decodes: the proto_spec is a valid ResourceDefinitionSpec.
  RdSpec decoded;
  ASSERT_TRUE(decoded.ParseFromString(r.spec->proto_bytes()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(decoded, *spec));

  EXPECT_EQ(r.spec->yaml(),
            "type: Members.cluster.talos.dev\n"
            "displayType: Member\n"
            "defaultNamespace: cluster\n"
            "aliases:\n"
            "  - member\n"
            "allAliases:\n"
            "  - members\n"
            "  - members.cluster\n"
            "  - members.cluster.talos\n"
            "  - member\n"
            "printColumns:\n"
            "  - name: Hostname\n"
            "    jsonPath: \"{.hostname}\"\n");
}

TEST(ResourceDefinition, YamlOfSensitiveAndEmptyFieldsRoundTrips) {
  ResourceDefinitionInput input;
  input.type = "DiscoveryConfigs.cluster.talos.dev";
  input.sensitivity = Sensitivity::kSensitive;
  input.skip_automatic_aliases = true;
  const Resource r = make_resource_definition(input);
  const std::string yaml = r.spec->yaml();
  EXPECT_EQ(yaml,
            "type: DiscoveryConfigs.cluster.talos.dev\n"
            "displayType: DiscoveryConfig\n"
            "defaultNamespace: \"\"\n"
            "aliases: []\n"
            "allAliases: []\n"
            "printColumns: []\n"
            "sensitivity: sensitive\n");
  RdSpec back;
  spec_from_yaml(yaml, &back);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, *spec_as<RdSpec>(r)));

  const RdSpec before = back;
  EXPECT_THROW(spec_from_yaml("type: X\nsensitivity: secret\n", &back), std::invalid_argument);
  EXPECT_THROW(spec_from_yaml("printColumns: [{name: a}]\n", &back), std::invalid_argument);
  EXPECT_THROW(spec_from_yaml("kind: X\n", &back), std::invalid_argument);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, before));
}

TEST(Namespace, Builder) {
  const Resource ns = make_namespace("cluster", "Cluster discovery resources.");
  EXPECT_EQ(ns.pointer(), (Pointer{"meta", "Namespaces.meta.cosi.dev", "cluster"}));
  const auto* spec = spec_as<cosi::resource::meta::NamespaceSpec>(ns);
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->description(), "Cluster discovery resources.");
  EXPECT_EQ(ns.spec->yaml(), "description: Cluster discovery resources.\n");
  EXPECT_THROW(make_namespace("", "x"), std::invalid_argument);
}

}  // namespace
}  // namespace runtime::resource
