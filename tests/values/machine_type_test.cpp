// Machine type texts as Talos spells and parses them.
#include "values/machine_type.h"

#include <gtest/gtest.h>

namespace values {
namespace {

namespace enums = talos::resource::definitions::enums;

TEST(MachineType, TextsRoundTrip) {
  for (auto t :
       {enums::TYPE_UNKNOWN, enums::TYPE_INIT, enums::TYPE_CONTROL_PLANE, enums::TYPE_WORKER}) {
    EXPECT_EQ(parse_machine_type(machine_type_text(t)), t);
  }
  EXPECT_EQ(machine_type_text(enums::TYPE_CONTROL_PLANE), "controlplane");
}

TEST(MachineType, ParsesLikeTalos) {
  EXPECT_EQ(parse_machine_type(""), enums::TYPE_WORKER);
  EXPECT_EQ(parse_machine_type("join"), enums::TYPE_WORKER);
  EXPECT_EQ(parse_machine_type("ControlPlane"), std::nullopt);
  EXPECT_EQ(parse_machine_type("master"), std::nullopt);
}

TEST(MachineType, ControlPlaneTypes) {
  EXPECT_TRUE(is_control_plane(enums::TYPE_INIT));
  EXPECT_TRUE(is_control_plane(enums::TYPE_CONTROL_PLANE));
  EXPECT_FALSE(is_control_plane(enums::TYPE_WORKER));
  EXPECT_FALSE(is_control_plane(enums::TYPE_UNKNOWN));
}

}  // namespace
}  // namespace values
