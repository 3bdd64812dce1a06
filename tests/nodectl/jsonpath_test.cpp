// JSONPath print columns: the forms resource definitions use, client-go's printing of each
// value kind, missing keys, slices, and parse errors.
#include "nodectl/jsonpath.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nodectl {
namespace {

using nlohmann::json;

const json kSpec = json::parse(R"({
  "hostname": "node-1",
  "machineType": "controlplane",
  "addresses": ["172.20.0.2", "fd00::2"],
  "aliases": ["rd", "rds"],
  "controlPlane": {"port": 6443},
  "ratio": 1.5,
  "ready": true,
  "none": null,
  "tags": {"b": "<2>", "a": 1},
  "empty": []
})");

std::string eval(const char* path) { return JsonPath::parse(path).execute(kSpec); }

TEST(JsonPath, ScalarsAndNesting) {
  EXPECT_EQ(eval("{.hostname}"), "node-1");
  EXPECT_EQ(eval("{.controlPlane.port}"), "6443");
  EXPECT_EQ(eval("{$.controlPlane['port']}"), "6443");
  EXPECT_EQ(eval("{.ratio}"), "1.5");
  EXPECT_EQ(eval("{.ready}"), "true");
  EXPECT_EQ(eval("{.none}"), "null");
}

TEST(JsonPath, ListsPrintAsJsonAndRangesAsWords) {
  EXPECT_EQ(eval("{.addresses}"), R"(["172.20.0.2","fd00::2"])");
  EXPECT_EQ(eval("{.aliases[:]}"), "rd rds");
  EXPECT_EQ(eval("{.aliases[*]}"), "rd rds");
  EXPECT_EQ(eval("{.aliases[0]}"), "rd");
  EXPECT_EQ(eval("{.aliases[-1]}"), "rds");
  EXPECT_EQ(eval("{.addresses[1:]}"), "fd00::2");
  EXPECT_EQ(eval("{.empty}"), "[]");
  EXPECT_EQ(eval("{.empty[:]}"), "");
  // Maps print with sorted keys and Go's HTML escaping.
  EXPECT_EQ(eval("{.tags}"), R"({"a":1,"b":"\u003c2\u003e"})");
}

TEST(JsonPath, MissingKeysAndIndicesGiveNothing) {
  EXPECT_EQ(eval("{.nope}"), "");
  EXPECT_EQ(eval("{.hostname.deeper}"), "");
  EXPECT_EQ(eval("{.aliases[7]}"), "");
  EXPECT_EQ(JsonPath::parse("{.hostname}").execute(json()), "");
}

// client-go's FindResults: one group per segment; without missing keys allowed, a field that
// selects nothing is an error, while an empty selection before it is not.
TEST(JsonPath, FindResults) {
  const auto path = JsonPath::parse("a {.aliases[*]}{.empty[*].x}");
  EXPECT_EQ(path.find_results(kSpec, false),
            (std::vector<std::vector<json>>{{"a "}, {"rd", "rds"}, {}}));
  EXPECT_THROW(JsonPath::parse("{.nope}").find_results(kSpec, false), std::runtime_error);
  EXPECT_THROW(JsonPath::parse("{.hostname.deeper}").find_results(kSpec, false),
               std::runtime_error);
  EXPECT_EQ(JsonPath::parse("{.nope}").find_results(kSpec, true),
            (std::vector<std::vector<json>>{{}}));
}

TEST(JsonPath, LiteralTextAroundExpressions) {
  EXPECT_EQ(eval("host={.hostname}, type={.machineType}"), "host=node-1, type=controlplane");
  EXPECT_EQ(eval("plain"), "plain");
}

TEST(JsonPath, RejectsWhatItDoesNotSupport) {
  for (const char* bad : {"{.a", "{..a}", "{.a[?(@.x)]}", "{range .a}", "{.a[x]}", "{.a[1:2:0]}"}) {
    EXPECT_THROW(JsonPath::parse(bad), std::invalid_argument) << bad;
  }
  try {
    JsonPath::parse("{.a[x]}");
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("{.a[x]}"));
  }
}

}  // namespace
}  // namespace nodectl
