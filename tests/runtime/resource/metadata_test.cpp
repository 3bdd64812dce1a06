// Tests of the metadata value types: version and phase texts, finalizer sets, COSI equality.
#include "runtime/resource/metadata.h"

#include <gtest/gtest.h>

#include "runtime/resource/resource.h"

namespace runtime::resource {
namespace {

TEST(Version, TextForms) {
  EXPECT_EQ(version_to_string(kUndefinedVersion), "undefined");
  EXPECT_EQ(version_to_string(42), "42");
  EXPECT_EQ(parse_version("undefined"), kUndefinedVersion);
  EXPECT_EQ(parse_version("1"), Version{1});
  EXPECT_EQ(parse_version("18446744073709551615"), Version{18446744073709551615ull});
  for (const char* bad :
       {"", "-1", "1.0", " 1", "1 ", "abc", "18446744073709551616", "Undefined"}) {
    EXPECT_FALSE(parse_version(bad).has_value()) << bad;
  }
}

TEST(Phase, TextForms) {
  EXPECT_EQ(to_string(Phase::kRunning), "running");
  EXPECT_EQ(to_string(Phase::kTearingDown), "tearingDown");
  EXPECT_EQ(parse_phase("running"), Phase::kRunning);
  EXPECT_EQ(parse_phase("tearingDown"), Phase::kTearingDown);
  for (const char* bad : {"", "Running", "tearingdown", "teardown"}) {
    EXPECT_FALSE(parse_phase(bad).has_value()) << bad;
  }
}

TEST(Finalizers, IsASetWithInsertionOrderForDisplay) {
  Finalizers f;
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(f.add("b"));
  EXPECT_TRUE(f.add("a"));
  EXPECT_FALSE(f.add("b"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(f.has("a"));
  EXPECT_FALSE(f.remove("c"));
  EXPECT_TRUE(f.remove("b"));
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ((Finalizers{"x", "y"}), (Finalizers{"y", "x"}));
  EXPECT_NE((Finalizers{"x", "y"}), (Finalizers{"x"}));
  EXPECT_NE((Finalizers{"x", "y"}), (Finalizers{"x", "z"}));
}

TEST(Metadata, EqualityIgnoresTimestampsOnly) {
  Metadata a(Pointer{"ns", "Things.test.dev", "1"});
  a.version = 2;
  a.owner = "o";
  a.labels["l"] = "v";
  a.annotations["a"] = "v";
  a.finalizers = Finalizers{"f1", "f2"};
  Metadata b = a;
  b.created = Timestamp(std::chrono::seconds(5));
  b.updated = Timestamp(std::chrono::seconds(6));
  b.finalizers = Finalizers{"f2", "f1"};
  EXPECT_EQ(a, b);

  auto differs = [&](auto change) {
    Metadata c = a;
    change(c);
    return !(c == a);
  };
  EXPECT_TRUE(differs([](Metadata& m) { m.ns = "x"; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.type = "x"; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.id = "x"; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.version = 3; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.owner = ""; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.phase = Phase::kTearingDown; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.labels["l"] = "w"; }));
  EXPECT_TRUE(differs([](Metadata& m) { m.annotations.clear(); }));
  EXPECT_TRUE(differs([](Metadata& m) { m.finalizers.remove("f1"); }));
}

TEST(Pointer, KindAndText) {
  const Pointer p{"cluster", "Members.cluster.talos.dev", "n1"};
  EXPECT_EQ(to_string(p), "cluster/Members.cluster.talos.dev/n1");
  EXPECT_EQ(p.kind(), (Kind{"cluster", "Members.cluster.talos.dev"}));
  EXPECT_EQ(Metadata(p).pointer(), p);
}

TEST(Resource, EqualityComparesMetadataAndSpec) {
  Metadata md(Pointer{"ns", "Things.test.dev", "1"});
  const Resource a{md, std::make_shared<OpaqueSpec>("p", "y")};
  const Resource b{md, std::make_shared<OpaqueSpec>("p", "y")};
  const Resource c{md, std::make_shared<OpaqueSpec>("p", "z")};
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == tombstone(md));
  EXPECT_EQ(tombstone(md), tombstone(md));
}

}  // namespace
}  // namespace runtime::resource
