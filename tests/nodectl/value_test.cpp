// YAML to untyped values with yaml.v3's resolution, and Go-style JSON text.
#include "nodectl/value.h"

#include <gtest/gtest.h>

namespace nodectl {
namespace {

TEST(Value, ResolvesPlainScalarsLikeGo) {
  const auto v = yaml_to_value(
      "i: 12\nneg: -3\nf: 1.25\nb: true\nn: null\ntilde: ~\ns: hello\nq: \"12\"\n"
      "ts: 2026-01-02T03:04:05Z\nip: 10.0.0.1\nhuge: 99999999999999999999\nl: [a, 1]\n");
  EXPECT_EQ(v["i"], 12);
  EXPECT_EQ(v["neg"], -3);
  EXPECT_EQ(v["f"], 1.25);
  EXPECT_EQ(v["b"], true);
  EXPECT_TRUE(v["n"].is_null());
  EXPECT_TRUE(v["tilde"].is_null());
  EXPECT_EQ(v["s"], "hello");
  EXPECT_EQ(v["q"], "12");
  EXPECT_EQ(v["ts"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(v["ip"], "10.0.0.1");
  EXPECT_TRUE(v["huge"].is_number_float());
  EXPECT_EQ(v["l"], nlohmann::json::parse(R"(["a", 1])"));
}

TEST(Value, MalformedYamlIsAnError) { EXPECT_THROW(yaml_to_value("a: ["), std::invalid_argument); }

TEST(Value, GoJsonEscapesHtmlAndIndents) {
  const auto v = nlohmann::json::parse(R"({"b": "<&>", "a": [1]})");
  EXPECT_EQ(go_json(v), R"({"a":[1],"b":"\u003c\u0026\u003e"})");
  EXPECT_EQ(go_json(v, 4),
            "{\n    \"a\": [\n        1\n    ],\n    \"b\": \"\\u003c\\u0026\\u003e\"\n}");
}

}  // namespace
}  // namespace nodectl
