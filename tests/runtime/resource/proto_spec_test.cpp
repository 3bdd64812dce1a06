// Tests of ProtoSpec: deterministic encoding, YAML, equality, and the typed helpers.
#include "runtime/resource/proto_spec.h"

#include <gtest/gtest.h>

#include "common/common.pb.h"
#include "yaml_test.pb.h"

namespace runtime::resource {
namespace {

using tds::test::Everything;

Everything with_labels(std::initializer_list<std::pair<const char*, const char*>> labels) {
  Everything m;
  for (const auto& [k, v] : labels) (*m.mutable_labels())[k] = v;
  return m;
}

TEST(ProtoSpec, EncodingIsDeterministicAndDecodes) {
  // Maps encode in key order whatever the insertion order.
  const ProtoSpec a(
      std::make_shared<Everything>(with_labels({{"a", "1"}, {"b", "2"}, {"c", "3"}})));
  const ProtoSpec b(
      std::make_shared<Everything>(with_labels({{"c", "3"}, {"a", "1"}, {"b", "2"}})));
  EXPECT_EQ(a.proto_bytes(), b.proto_bytes());
  Everything decoded;
  ASSERT_TRUE(decoded.ParseFromString(a.proto_bytes()));
  EXPECT_EQ(decoded.labels().at("b"), "2");
}

TEST(ProtoSpec, EqualsComparesTypeAndContent) {
  Everything m;
  m.set_text("x");
  m.add_numbers(1);
  const ProtoSpec a(std::make_shared<Everything>(m));
  const ProtoSpec same(std::make_shared<Everything>(m));
  Everything other = m;
  other.add_numbers(2);
  const ProtoSpec different(std::make_shared<Everything>(other));
  const ProtoSpec other_type(std::make_shared<tds::test::Inner>());
  const ProtoSpec empty(std::make_shared<Everything>());
  const OpaqueSpec opaque(a.proto_bytes(), a.yaml());

  EXPECT_TRUE(a.equals(a));
  EXPECT_TRUE(a.equals(same));
  EXPECT_FALSE(a.equals(different));
  EXPECT_FALSE(a.equals(other_type));
  EXPECT_FALSE(empty.equals(other_type));  // both encode to nothing, still different types
  EXPECT_FALSE(a.equals(opaque));
  const ProtoSpec ab(std::make_shared<Everything>(with_labels({{"a", "1"}, {"b", "2"}})));
  const ProtoSpec ba(std::make_shared<Everything>(with_labels({{"b", "2"}, {"a", "1"}})));
  EXPECT_TRUE(ab.equals(ba));
}

TEST(ProtoSpec, YamlIsTheCodecRendering) {
  Everything m;
  m.add_tags("a");
  const ProtoSpec spec(std::make_shared<Everything>(m));
  EXPECT_EQ(spec.yaml(), "tags:\n  - a\n");
}

TEST(ProtoSpec, TypedHelpers) {
  Everything m;
  m.set_text("typed");
  const Resource r = make_resource(Metadata(Pointer{"ns", "Things.test.dev", "1"}), m);
  ASSERT_NE(spec_as<Everything>(r), nullptr);
  EXPECT_EQ(spec_as<Everything>(r)->text(), "typed");
  EXPECT_EQ(spec_as<tds::test::Inner>(r), nullptr);
  const Resource opaque{r.metadata, std::make_shared<OpaqueSpec>("", "")};
  EXPECT_EQ(spec_as<Everything>(opaque), nullptr);
  EXPECT_EQ(spec_as<Everything>(tombstone(r.metadata)), nullptr);
}

}  // namespace
}  // namespace runtime::resource
