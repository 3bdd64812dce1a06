// Resolving names through ResourceDefinitions: ids, aliases, case, ambiguity and unknowns.
#include "nodectl/resolve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/resource/definition.h"

namespace nodectl {
namespace {

using runtime::resource::make_resource_definition;
using runtime::resource::ResourceDefinitionInput;
using ::testing::HasSubstr;

std::vector<runtime::resource::ResourcePtr> definitions() {
  std::vector<runtime::resource::ResourcePtr> out;
  auto input = [](std::string type, std::string ns) {
    ResourceDefinitionInput in;
    in.type = std::move(type);
    in.default_namespace = std::move(ns);
    return in;
  };
  auto members = input("Members.cluster.talos.dev", "cluster");
  members.print_columns = {{"Hostname", "{.hostname}"}};
  for (const auto& in : {members, input("DiscoveryConfigs.cluster.talos.dev", "config"),
                         input("DeviceConfigSpecs.net.talos.dev", "network"),
                         runtime::resource::resource_definition_definition()}) {
    out.push_back(std::make_shared<runtime::resource::Resource>(make_resource_definition(in)));
  }
  return out;
}

TEST(Resolve, ByAliasIdAndCase) {
  const auto rds = definitions();
  for (const char* name : {"members", "member", "Members", "members.cluster",
                           "members.cluster.talos", "MEMBERS.CLUSTER.TALOS.DEV"}) {
    const ResolvedType t = resolve_type(rds, name);
    EXPECT_EQ(t.type, "Members.cluster.talos.dev") << name;
    EXPECT_EQ(t.display_type, "Member");
    EXPECT_EQ(t.default_namespace, "cluster");
    ASSERT_EQ(t.print_columns.size(), 1u);
    EXPECT_EQ(t.print_columns[0].json_path, "{.hostname}");
  }
  EXPECT_EQ(resolve_type(rds, "rd").type, "ResourceDefinitions.meta.cosi.dev");
  EXPECT_EQ(resolve_type(rds, "dc").default_namespace, "config");
}

TEST(Resolve, AmbiguousListsTheCandidates) {
  try {
    resolve_type(definitions(), "dcs");
    FAIL() << "dcs resolved";
  } catch (const ResolveError& e) {
    EXPECT_STREQ(e.what(),
                 "resource type \"dcs\" is ambiguous: [DiscoveryConfigs.cluster.talos.dev "
                 "DeviceConfigSpecs.net.talos.dev]");
  }
}

TEST(Resolve, UnknownAndMalformed) {
  try {
    resolve_type(definitions(), "nodes");
    FAIL();
  } catch (const ResolveError& e) {
    EXPECT_STREQ(e.what(), "resource \"nodes\" is not registered");
  }
  auto rds = definitions();
  auto broken = std::make_shared<runtime::resource::Resource>(*rds[0]);
  broken->spec = std::make_shared<runtime::resource::OpaqueSpec>("\xff\xff", "x: 1\n");
  rds.push_back(broken);
  EXPECT_THROW(
      {
        try {
          resolve_type(rds, "members");
        } catch (const ResolveError& e) {
          EXPECT_THAT(e.what(), HasSubstr("malformed"));
          throw;
        }
      },
      ResolveError);
}

}  // namespace
}  // namespace nodectl
