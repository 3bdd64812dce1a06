// Tests of the protobuf <-> YAML codec: every field kind, omitempty, registries,
// errors that name the field and leave the target untouched, metadata and resource YAML.
#include "runtime/resource/yaml_codec.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_registry.h"
#include "yaml_test.pb.h"

namespace runtime::resource {
namespace {

using google::protobuf::util::MessageDifferencer;
using tds::test::Everything;

std::string v4(unsigned char a, unsigned char b, unsigned char c, unsigned char d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                     static_cast<char>(d)};
}

std::string fd00_1() {
  std::string ip(16, '\0');
  ip[0] = static_cast<char>(0xfd);
  ip[15] = 1;
  return ip;
}

Everything full() {
  Everything m;
  m.set_i32(-7);
  m.set_i64(std::numeric_limits<std::int64_t>::min());
  m.set_u32(4000000000u);
  m.set_u64(std::numeric_limits<std::uint64_t>::max());
  m.set_s32(-3);
  m.set_f64(42);
  m.set_f(1.5f);
  m.set_d(0.1);
  m.set_flag(true);
  m.set_text("hello world");
  m.set_blob(std::string("\x00\xff\x10", 3));
  m.set_color(tds::test::COLOR_DARK_BLUE);
  m.mutable_inner()->set_name("in");
  m.mutable_inner()->set_count(9);
  m.add_tags("a");
  m.add_tags("123");
  auto* item = m.add_items();
  item->set_name("first");
  m.add_items();  // an empty element survives as {}
  m.add_numbers(1);
  m.add_numbers(-2);
  m.add_colors(tds::test::COLOR_RED);
  m.add_colors(tds::test::COLOR_UNSPECIFIED);
  (*m.mutable_labels())["k"] = "v";
  (*m.mutable_by_id())[5].set_name("five");
  m.set_renamed_field("r");
  m.set_maybe(0);
  m.mutable_ip()->set_ip(v4(10, 0, 0, 1));
  m.add_addresses()->set_ip(v4(192, 168, 3, 4));
  m.add_addresses()->set_ip(fd00_1());
  m.mutable_prefix()->set_ip(v4(10, 244, 0, 0));
  m.mutable_prefix()->set_prefix_length(16);
  auto* ep = m.add_endpoints();
  ep->set_ip(fd00_1());
  ep->set_port(51820);
  m.set_choice_text("");
  return m;
}

TEST(YamlCodec, EmptyMessageRendersEmptyMap) { EXPECT_EQ(spec_to_yaml(Everything()), "{}\n"); }

TEST(YamlCodec, RendersJsonNamesAndOmitsDefaults) {
  Everything m;
  m.set_i64(-5);
  m.set_color(tds::test::COLOR_DARK_BLUE);
  m.set_renamed_field("x");
  m.mutable_inner();  // set but empty: present, like a non-nil Go pointer
  m.set_blob("hi");
  EXPECT_EQ(spec_to_yaml(m),
            "i64: -5\n"
            "blob: aGk=\n"
            "color: color_dark_blue\n"
            "inner: {}\n"
            "other: x\n");
}

TEST(YamlCodec, PresenceFieldsRenderTheirDefault) {
  Everything m;
  m.set_maybe(0);
  m.set_choice_number(0);
  EXPECT_EQ(spec_to_yaml(m), "maybe: 0\nchoiceNumber: 0\n");
}

TEST(YamlCodec, RoundTripsEveryFieldKind) {
  const Everything m = full();
  const std::string yaml = spec_to_yaml(m);
  Everything back;
  spec_from_yaml(yaml, &back);
  EXPECT_TRUE(MessageDifferencer::Equals(m, back)) << yaml << "\n--- parsed:\n"
                                                   << back.DebugString();
}

TEST(YamlCodec, SixtyFourBitIntegersAreNumbers) {
  const std::string yaml = spec_to_yaml(full());
  EXPECT_NE(yaml.find("i64: -9223372036854775808\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("u64: 18446744073709551615\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("f64: 42\n"), std::string::npos) << yaml;
}

TEST(YamlCodec, FloatsUseTheShortestTextOfTheirWidth) {
  Everything m;
  m.set_f(0.1f);
  m.set_d(0.1);
  EXPECT_EQ(spec_to_yaml(m), "f: 0.1\nd: 0.1\n");
  m.set_f(std::numeric_limits<float>::infinity());
  m.set_d(std::nan(""));
  EXPECT_EQ(spec_to_yaml(m), "f: .inf\nd: .nan\n");
  Everything back;
  spec_from_yaml(spec_to_yaml(m), &back);
  EXPECT_TRUE(std::isinf(back.f()));
  EXPECT_TRUE(std::isnan(back.d()));
}

TEST(YamlCodec, QuotesTextThatWouldReadAsAnotherType) {
  for (const char* text : {"123", "true", "no", "null", "~", "1.5e3", "0x1f", "-4"}) {
    Everything m;
    m.set_text(text);
    EXPECT_EQ(spec_to_yaml(m), "text: \"" + std::string(text) + "\"\n");
    Everything back;
    spec_from_yaml(spec_to_yaml(m), &back);
    EXPECT_EQ(back.text(), text);
  }
  for (const char* text :
       {"a: b", "- x", "#c", "multi\nline", " padded ", "'q'", "\"dq\"", "tab\there", "back\\slash",
        "bell\x07", "\xc3\xbc" "nic\xc3\xb6" "de", "a #b", "x:", "::1", "-", ":", "?x", "[x]",
        "{x}", "a,b", "%x", "@x", "`x", "!x", "&x", "*x", "|x", ">x", "a:b", "a#b"}) {
    Everything m;
    m.set_text(text);
    Everything back;
    spec_from_yaml(spec_to_yaml(m), &back);
    EXPECT_EQ(back.text(), text) << spec_to_yaml(m);
  }
}

TEST(YamlCodec, AcceptsProtoNamesEnumNamesAndNumbers) {
  Everything m;
  spec_from_yaml(
      "renamed_field: a\ncolor: COLOR_RED\ncolors: [color_dark_blue, COLOR_RED]\ni32: +12\n"
      "flag: False\nmaybe: ~\n",
      &m);
  EXPECT_EQ(m.renamed_field(), "a");
  EXPECT_EQ(m.color(), tds::test::COLOR_RED);
  ASSERT_EQ(m.colors_size(), 2);
  EXPECT_EQ(m.colors(0), tds::test::COLOR_DARK_BLUE);
  EXPECT_EQ(m.i32(), 12);
  EXPECT_FALSE(m.flag());
  EXPECT_FALSE(m.has_maybe());  // null is "absent"
}

TEST(YamlCodec, RendersMapsAsYamlMaps) {
  Everything m;
  (*m.mutable_labels())["b"] = "2";
  (*m.mutable_by_id())[7].set_count(3);
  EXPECT_EQ(spec_to_yaml(m),
            "labels:\n"
            "  b: \"2\"\n"
            "byId:\n"
            "  7:\n"
            "    count: 3\n");
}

// As Go's yaml.v3 writes them (Talos renders specs with it): digit runs by value, a letter after
// other characters unless digits precede it, numeric keys by value. Equal maps render the same
// whatever order protobuf keeps them in.
TEST(YamlCodec, WritesMapKeysInGoYamlOrder) {
  Everything m;
  for (const char* key : {"b", "a10", "a2", "a", "a-1", "10", "9", "x100", "x11", "a02"}) {
    (*m.mutable_labels())[key] = "";
  }
  for (const int id : {10, -1, 2}) (*m.mutable_by_id())[id].set_count(1);
  EXPECT_EQ(spec_to_yaml(m),
            "labels:\n"
            "  \"9\": \"\"\n"
            "  \"10\": \"\"\n"
            "  a: \"\"\n"
            "  a-1: \"\"\n"
            "  a2: \"\"\n"
            "  a02: \"\"\n"
            "  a10: \"\"\n"
            "  b: \"\"\n"
            "  x11: \"\"\n"
            "  x100: \"\"\n"
            "byId:\n"
            "  -1:\n"
            "    count: 1\n"
            "  2:\n"
            "    count: 1\n"
            "  10:\n"
            "    count: 1\n");

  Everything reversed;
  const auto& labels = m.labels();
  std::vector<std::pair<std::string, std::string>> entries(labels.begin(), labels.end());
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    (*reversed.mutable_labels())[it->first] = it->second;
  }
  *reversed.mutable_by_id() = m.by_id();
  EXPECT_EQ(spec_to_yaml(reversed), spec_to_yaml(m));
}

TEST(YamlCodec, RegistriesRenameFieldsKeepEmptyAndNameEnumValues) {
  register_yaml_enum("tds.test.Shade", {{0, "unknown"}, {1, "controlplane"}});
  register_yaml_field("tds.test.Everything.kube_span", {"kubespan", false});
  register_yaml_field("tds.test.Everything.always", {"", true});

  Everything m;
  m.set_shade(tds::test::SHADE_CONTROL_PLANE);
  m.set_kube_span("k");
  EXPECT_EQ(spec_to_yaml(m), "shade: controlplane\nkubespan: k\nalways: \"\"\n");

  Everything back;
  spec_from_yaml("shade: controlplane\nkubespan: k\n", &back);
  EXPECT_EQ(back.shade(), tds::test::SHADE_CONTROL_PLANE);
  EXPECT_EQ(back.kube_span(), "k");
  spec_from_yaml("shade: SHADE_CONTROL_PLANE\nkubeSpan: j\n", &back);
  EXPECT_EQ(back.shade(), tds::test::SHADE_CONTROL_PLANE);
  EXPECT_EQ(back.kube_span(), "j");
  EXPECT_THROW(spec_from_yaml("shade: control_plane\n", &back), std::invalid_argument);

  // Back to the defaults, so other tests see plain json names.
  register_yaml_field("tds.test.Everything.kube_span", {});
  register_yaml_field("tds.test.Everything.always", {});
  EXPECT_EQ(spec_to_yaml(m), "shade: controlplane\nkubeSpan: k\n");
}

TEST(YamlCodec, CustomCodecReplacesAWholeType) {
  register_yaml_codec("tds.test.Inner",
                      {[](const google::protobuf::Message& m) {
                         const auto& in = static_cast<const tds::test::Inner&>(m);
                         return yaml_text(in.name() + "=" + std::to_string(in.count()));
                       },
                       [](const YAML::Node& n, google::protobuf::Message* m) {
                         const auto& text = n.Scalar();
                         const auto eq = text.find('=');
                         if (eq == std::string::npos) throw std::invalid_argument("missing '='");
                         auto* in = static_cast<tds::test::Inner*>(m);
                         in->set_name(text.substr(0, eq));
                         in->set_count(std::stoll(text.substr(eq + 1)));
                       }});
  Everything m;
  m.mutable_inner()->set_name("a");
  m.mutable_inner()->set_count(2);
  EXPECT_EQ(spec_to_yaml(m), "inner: a=2\n");
  Everything back;
  spec_from_yaml("inner: b=3\n", &back);
  EXPECT_EQ(back.inner().name(), "b");
  EXPECT_EQ(back.inner().count(), 3);
  try {
    spec_from_yaml("items: [x=1, bad]\n", &back);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "spec.items[1]: missing '='");
  }
  register_yaml_codec("tds.test.Inner", {});  // back to the reflection codec for other tests
}

struct BadInput {
  const char* yaml;
  const char* error;
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << '"' << c.yaml << '"'; }

class YamlCodecErrors : public testing::TestWithParam<BadInput> {};

TEST_P(YamlCodecErrors, NameTheFieldAndLeaveTheTargetUntouched) {
  Everything m = full();
  const Everything before = m;
  try {
    spec_from_yaml(GetParam().yaml, &m);
    FAIL() << "no error for " << GetParam().yaml;
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), GetParam().error);
  }
  EXPECT_TRUE(MessageDifferencer::Equals(m, before));
}

INSTANTIATE_TEST_SUITE_P(
    All, YamlCodecErrors,
    testing::Values(
        BadInput{"i32: 3000000000", "spec.i32: \"3000000000\" is out of range for int32"},
        BadInput{"u32: -1", "spec.u32: \"-1\" is not an integer"},
        BadInput{"i64: 12abc", "spec.i64: \"12abc\" is not an integer"},
        BadInput{"d: fast", "spec.d: \"fast\" is not a number"},
        BadInput{"flag: maybe", "spec.flag: \"maybe\" is not a boolean (true or false)"},
        BadInput{"color: purple",
                 "spec.color: \"purple\" is not one of: color_unspecified, color_red, "
                 "color_dark_blue"},
        BadInput{"blob: '!!!!'", "spec.blob: \"!!!!\" is not valid base64"},
        BadInput{"nope: 1", "spec.nope: unknown field of tds.test.Everything"},
        BadInput{"inner: [1, 2]", "spec.inner: expected a map, got a sequence"},
        BadInput{"inner: {name: [x]}", "spec.inner.name: expected a scalar, got a sequence"},
        BadInput{"tags: one", "spec.tags: expected a sequence, got a scalar"},
        BadInput{"labels: [a]", "spec.labels: expected a map, got a sequence"},
        BadInput{"byId: {x: {}}", "spec.byId.x: \"x\" is not an integer"},
        BadInput{"- a\n- b", "spec: expected a map, got a sequence"},
        BadInput{"text: [unclosed",
                 "spec: invalid YAML: end of sequence flow not found at line 1"}));

// "Billion laughs": nine levels of nine aliases stand for 9^9 strings.
std::string alias_bomb() {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 9; ++i) yaml += (i ? ", " : "") + prev;
    yaml += "]\n";
  }
  return yaml + "tags: *a8\n";
}

TEST(YamlCodec, AliasExpansionIsBounded) {
  Everything m = full();
  const Everything before = m;
  try {
    spec_from_yaml(alias_bomb(), &m);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "spec: document too large (over 1000000 values or 100 levels once aliases are "
                 "expanded)");
  }
  EXPECT_TRUE(MessageDifferencer::Equals(m, before));

  // Small aliases are fine.
  spec_from_yaml("inner: &i {name: n}\nitems: [*i, *i]\n", &m);
  EXPECT_EQ(m.items_size(), 2);
  EXPECT_EQ(m.items(1).name(), "n");
}

TEST(YamlCodec, HostileDocumentsGiveErrorsNotCrashes) {
  const std::string deep(100000, '[');
  const std::string nested = "items: " + std::string(150, '[') + std::string(150, ']');
  for (const std::string& yaml :
       {deep, nested, std::string("\0\xff\xfe", 3), std::string("!!binary AAAA"),
        std::string("? [a]\n: b"), std::string("*undefined"), std::string("tags: !!map {a: b}"),
        std::string("---\na: 1\n---\nb: 2"), std::string("inner: &x {name: *x}"),
        std::string("inner: &x [*x]"), std::string("%YAML 9.9\n---\na")}) {
    Everything m;
    try {
      spec_from_yaml(yaml, &m);
      ADD_FAILURE() << "accepted " << yaml.substr(0, 40);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("spec", 0), 0u) << e.what();
    }
  }
}

Metadata sample_metadata() {
  Metadata md(Pointer{"cluster", "Members.cluster.talos.dev", "node-1"});
  md.version = 3;
  md.owner = "cluster.MemberController";
  md.created = Timestamp(std::chrono::seconds(1795797794));  // 2026-11-27T16:43:14Z
  md.updated = md.created + std::chrono::milliseconds(61500);
  return md;
}

TEST(MetadataYaml, KeyOrderAndTimes) {
  EXPECT_EQ(metadata_to_yaml(sample_metadata()),
            "namespace: cluster\n"
            "type: Members.cluster.talos.dev\n"
            "id: node-1\n"
            "version: 3\n"
            "owner: cluster.MemberController\n"
            "phase: running\n"
            "created: 2026-11-27T16:43:14Z\n"
            "updated: 2026-11-27T16:44:15Z\n");
}

TEST(MetadataYaml, OptionalSectionsOnlyWhenNonEmpty) {
  Metadata md = sample_metadata();
  md.owner.clear();
  md.phase = Phase::kTearingDown;
  md.labels["role"] = "1";
  md.annotations["note"] = "x";
  md.finalizers.add("b");
  md.finalizers.add("a");
  EXPECT_EQ(metadata_to_yaml(md),
            "namespace: cluster\n"
            "type: Members.cluster.talos.dev\n"
            "id: node-1\n"
            "version: 3\n"
            "owner: \"\"\n"
            "phase: tearingDown\n"
            "created: 2026-11-27T16:43:14Z\n"
            "updated: 2026-11-27T16:44:15Z\n"
            "labels:\n"
            "  role: \"1\"\n"
            "annotations:\n"
            "  note: x\n"
            "finalizers:\n"
            "  - b\n"
            "  - a\n");
}

TEST(MetadataYaml, ParsesBack) {
  Metadata md = sample_metadata();
  md.phase = Phase::kTearingDown;
  md.labels["role"] = "1";
  md.labels["empty"] = "";
  md.annotations["note"] = "a: b";
  md.finalizers = Finalizers{"z", "a"};
  const Metadata back = metadata_from_yaml(metadata_to_yaml(md));
  EXPECT_EQ(back, md);
  EXPECT_EQ(back.created, md.created);
  EXPECT_EQ(back.updated, md.created + std::chrono::seconds(61));  // YAML keeps whole seconds
  EXPECT_EQ(back.finalizers.names(), md.finalizers.names());

  const Metadata offset = metadata_from_yaml(
      "created: 2026-11-27T18:43:14.25+02:00\nupdated: 2026-11-27T16:43:14z\nversion: undefined\n");
  EXPECT_EQ(offset.created, md.created + std::chrono::milliseconds(250));
  EXPECT_EQ(offset.updated, md.created);
  EXPECT_EQ(offset.version, kUndefinedVersion);
}

TEST(MetadataYaml, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"version: \"\"", "metadata.version: \"\" is not a version (a number or \"undefined\")"},
      {"version: -1", "metadata.version: \"-1\" is not a version (a number or \"undefined\")"},
      {"phase: done", "metadata.phase: \"done\" is not a phase (running or tearingDown)"},
      {"created: 2026-13-01T00:00:00Z",
       "metadata.created: \"2026-13-01T00:00:00Z\" is not an RFC3339 time"},
      {"updated: 2026-11-27 16:43:14",
       "metadata.updated: \"2026-11-27 16:43:14\" is not an RFC3339 time"},
      // Nanoseconds since 1970 in 64 bits end in 2262; the resource YAML fuzz target found the
      // conversion overflowing past it.
      {"created: 2784-01-01T00:00:00Z",
       "metadata.created: \"2784-01-01T00:00:00Z\" is out of range (years 1678 to 2261)"},
      {"updated: 1000-01-01T00:00:00Z",
       "metadata.updated: \"1000-01-01T00:00:00Z\" is out of range (years 1678 to 2261)"},
      {"labels: [a]", "metadata.labels: expected a map, got a sequence"},
      {"finalizers: {a: b}", "metadata.finalizers: expected a sequence, got a map"},
      {"colour: red", "metadata.colour: unknown metadata field"},
      {"[", "metadata: invalid YAML: end of sequence flow not found at line 1"},
  };
  for (const auto& [yaml, error] : cases) {
    try {
      metadata_from_yaml(yaml);
      ADD_FAILURE() << "no error for " << yaml;
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), error);
    }
  }
}

TEST(ResourceYaml, NestsSpecUnderMetadata) {
  Everything spec;
  spec.set_text("t");
  spec.add_tags("a");
  const Resource r = make_resource(sample_metadata(), spec);
  const std::string yaml = resource_to_yaml(r);
  EXPECT_EQ(yaml.substr(yaml.find("spec:")),
            "spec:\n"
            "  text: t\n"
            "  tags:\n"
            "    - a\n");
  EXPECT_EQ(yaml.rfind("metadata:\n  namespace: cluster\n", 0), 0u) << yaml;
}

TEST(ResourceYaml, OpaqueAndTombstoneSpecs) {
  const Resource opaque{sample_metadata(), std::make_shared<OpaqueSpec>("", "a: \"1\"\nb: [x]\n")};
  std::string yaml = resource_to_yaml(opaque);
  EXPECT_EQ(yaml.substr(yaml.find("spec:")), "spec:\n  a: \"1\"\n  b:\n    - x\n");

  const Resource nested{sample_metadata(),
                        std::make_shared<OpaqueSpec>("", "a: [[1, 2], [x]]\nb: [{k: v, n: 1}]\n")};
  yaml = resource_to_yaml(nested);
  EXPECT_EQ(yaml.substr(yaml.find("spec:")),
            "spec:\n"
            "  a:\n"
            "    - - 1\n"
            "      - 2\n"
            "    - - x\n"
            "  b:\n"
            "    - k: v\n"
            "      n: 1\n");

  const Resource bomb{sample_metadata(), std::make_shared<OpaqueSpec>("", alias_bomb())};
  yaml = resource_to_yaml(bomb);
  EXPECT_EQ(yaml.substr(yaml.find("spec:"), 20), "spec: \"a0: &a0 [x, x");

  const Resource cycle{sample_metadata(), std::make_shared<OpaqueSpec>("", "a: &x {b: *x}")};
  yaml = resource_to_yaml(cycle);
  EXPECT_EQ(yaml.substr(yaml.find("spec:")), "spec: \"a: &x {b: *x}\"\n");

  const Resource broken{sample_metadata(), std::make_shared<OpaqueSpec>("", "a: [")};
  yaml = resource_to_yaml(broken);
  EXPECT_EQ(yaml.substr(yaml.find("spec:")), "spec: \"a: [\"\n");

  yaml = resource_to_yaml(tombstone(sample_metadata()));
  EXPECT_EQ(yaml.substr(yaml.find("spec:")), "spec: null\n");
}

}  // namespace
}  // namespace runtime::resource
