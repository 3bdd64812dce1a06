// Role names as Talos spells them in certificates and metadata.
#include "runtime/api/roles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runtime::api {
namespace {

using ::testing::ElementsAre;

TEST(Roles, ParsesTalosNamesAndIgnoresOthers) {
  const Roles roles = parse_roles({"os:reader", " os:operator ", "", "os:future", "admin"});
  EXPECT_TRUE(roles.has(Role::kReader));
  EXPECT_TRUE(roles.has(Role::kOperator));
  EXPECT_FALSE(roles.has(Role::kAdmin));
  EXPECT_THAT(role_names(roles), ElementsAre("os:operator", "os:reader"));
  EXPECT_TRUE(parse_roles({"os:future"}).empty());
}

TEST(Roles, EveryRoleRoundTripsThroughItsName) {
  EXPECT_EQ(parse_roles(role_names(Roles::all())), Roles::all());
  EXPECT_THAT(role_names({Role::kEtcdBackup, Role::kImpersonator, Role::kAdmin}),
              ElementsAre("os:admin", "os:etcd:backup", "os:impersonator"));
}

TEST(Roles, MethodRulesFollowTalos) {
  EXPECT_TRUE(Roles{Role::kReader}.any_of(kReadRoles));
  EXPECT_TRUE(Roles{Role::kOperator}.any_of(kReadRoles));
  EXPECT_FALSE(Roles{Role::kOperator}.any_of(kWriteRoles));
  EXPECT_FALSE(Roles{Role::kEtcdBackup}.any_of(kReadRoles));
  EXPECT_FALSE(Roles{Role::kImpersonator}.any_of(kReadRoles));
  EXPECT_FALSE(Roles{}.any_of(kReadRoles));
}

}  // namespace
}  // namespace runtime::api
