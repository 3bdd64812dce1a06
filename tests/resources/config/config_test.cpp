// The machine config resource: parsed and validated once when stored, carried on the wire as
// Talos's MachineConfigSpec (the text), and decoded from the wire with the same validation.
#include "resources/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/machine_config.h"
#include "values/machine_type.h"
#include "resources/register.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/typed.h"
#include "runtime/state/inmem_state.h"

namespace resources::config {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] =
    "version: v1alpha1\nmachine:\n  type: controlplane\n  network:\n    hostname: cp-1\n";

std::string wire_bytes(const std::string& text) {
  pb::MachineConfigSpec m;
  m.set_yaml_marshalled(text);
  return m.SerializeAsString();
}

TEST(MachineConfigSpec, KeepsTheTextAndTheParsedConfig) {
  auto spec = MachineConfigSpec::parse(kConfig, "node.yaml");
  EXPECT_EQ(spec->text(), kConfig);
  EXPECT_EQ(spec->config().hostname, "cp-1");
  EXPECT_TRUE(values::is_control_plane(spec->config().machine_type));
  EXPECT_EQ(spec->proto_bytes(), wire_bytes(kConfig));
  EXPECT_TRUE(spec->equals(*MachineConfigSpec::parse(kConfig, "other name")));
  EXPECT_FALSE(spec->equals(*MachineConfigSpec::parse(std::string(kConfig) + "\n", "x")));
}

TEST(MachineConfigSpec, RefusesAnInvalidConfigNamingTheSource) {
  try {
    MachineConfigSpec::parse("version: v1alpha1\nmachine: [not, a, map]\n", "node.yaml");
    FAIL() << "parsed";
  } catch (const ::config::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node.yaml"));
  }
}

// What a State API client writes goes through the registry: a valid config becomes a parsed
// spec, an invalid one is refused before anything is stored.
TEST(MachineConfigSpec, TheRegistryDecodesAndValidatesWhatComesOverTheWire) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);

  auto spec = reg->decode(kMachineConfigType, wire_bytes(kConfig), "");
  runtime::resource::Typed<MachineConfig> typed(std::make_shared<const runtime::resource::Resource>(
      runtime::resource::Resource{{}, spec}));
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->config().hostname, "cp-1");

  EXPECT_THROW(reg->decode(kMachineConfigType, wire_bytes("machine: [1\n"), ""),
               std::invalid_argument);
  EXPECT_THROW(reg->decode(kMachineConfigType, "\xff\xff\xff", ""), std::invalid_argument);
}

}  // namespace
}  // namespace resources::config
