// The registry writes COSI's meta resources into the state and decodes typed specs.
#include "runtime/registry/registry.h"

#include <gtest/gtest.h>

#include "cosi/v1alpha1/meta.pb.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/state/inmem_state.h"

namespace runtime::registry {
namespace {

using resource::Pointer;
namespace meta = ::cosi::resource::meta;

ResourceType namespaces_like(const std::string& type) {
  ResourceType t;
  t.definition.type = type;
  t.definition.default_namespace = "test";
  t.new_spec = [] { return std::make_unique<meta::NamespaceSpec>(); };
  return t;
}

TEST(Registry, PublishesCosisOwnMetaResources) {
  state::InMemoryState st;
  auto reg = make_state_registry(st);
  auto ns = st.get(Pointer{"meta", "Namespaces.meta.cosi.dev", "meta"});
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->metadata.owner, "meta");
  auto rd = st.get(Pointer{"meta", "ResourceDefinitions.meta.cosi.dev",
                           "resourcedefinitions.meta.cosi.dev"});
  ASSERT_NE(rd, nullptr);
  meta::ResourceDefinitionSpec spec;
  ASSERT_TRUE(spec.ParseFromString(rd->spec->proto_bytes()));
  EXPECT_EQ(spec.display_type(), "ResourceDefinition");
  EXPECT_NE(st.get(Pointer{"meta", "ResourceDefinitions.meta.cosi.dev",
                           "namespaces.meta.cosi.dev"}),
            nullptr);
}

TEST(Registry, AddsTypesAndNamespacesOnceAndRefusesConflicts) {
  state::InMemoryState st;
  auto reg = make_state_registry(st);
  reg->add_namespace("test", "Test resources.");
  reg->add_namespace("test", "Test resources.");  // the same declaration again is fine
  EXPECT_THROW(reg->add_namespace("test", "Something else."), std::invalid_argument);
  EXPECT_EQ(st.list(resource::Kind{"meta", "Namespaces.meta.cosi.dev"}).size(), 2u);

  reg->add_type(namespaces_like("Widgets.test.dev"));
  EXPECT_THROW(reg->add_type(namespaces_like("Widgets.test.dev")), std::invalid_argument);
  EXPECT_THROW(reg->add_type(namespaces_like("widget.test.dev")), std::invalid_argument);
  auto rd = st.get(Pointer{"meta", "ResourceDefinitions.meta.cosi.dev", "widgets.test.dev"});
  ASSERT_NE(rd, nullptr);
  meta::ResourceDefinitionSpec spec;
  ASSERT_TRUE(spec.ParseFromString(rd->spec->proto_bytes()));
  EXPECT_EQ(spec.default_namespace(), "test");
}

TEST(Registry, DecodesDeclaredTypesAndKeepsOthersOpaque) {
  state::InMemoryState st;
  auto reg = make_state_registry(st);
  reg->add_type(namespaces_like("Widgets.test.dev"));
  meta::NamespaceSpec in;
  in.set_description("hello");

  auto typed = reg->decode("Widgets.test.dev", in.SerializeAsString(), "");
  const auto* spec = dynamic_cast<const resource::ProtoSpec*>(typed.get());
  ASSERT_NE(spec, nullptr);
  ASSERT_NE(spec->as<meta::NamespaceSpec>(), nullptr);
  EXPECT_EQ(spec->as<meta::NamespaceSpec>()->description(), "hello");

  auto opaque = reg->decode("Unknowns.test.dev", "raw", "yaml: 1\n");
  EXPECT_EQ(opaque->proto_bytes(), "raw");
  EXPECT_EQ(opaque->yaml(), "yaml: 1\n");

  EXPECT_THROW(reg->decode("Widgets.test.dev", "\xff\xff", ""), std::invalid_argument);
}

}  // namespace
}  // namespace runtime::registry
