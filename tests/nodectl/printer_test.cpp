// Printers against golden text: talosctl's table layout (with and without watch markers), YAML
// documents as yaml.v3 indents them, and JSON objects.
#include "nodectl/printer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace nodectl {
namespace {

using runtime::resource::Metadata;
using runtime::resource::OpaqueSpec;
using runtime::resource::Resource;
using runtime::state::EventType;

const ResolvedType kMembers{"Members.cluster.talos.dev",
                            "Member",
                            "cluster",
                            {{"Hostname", "{.hostname}"},
                             {"Machine Type", "{.machineType}"},
                             {"Addresses", "{.addresses}"}}};

Resource member(const std::string& id, std::uint64_t version, const std::string& yaml) {
  Metadata md({"cluster", "Members.cluster.talos.dev", id});
  md.version = version;
  md.created = md.updated = std::chrono::sys_days(std::chrono::year(2026) / 1 / 2);
  return Resource{md, std::make_shared<OpaqueSpec>("", yaml)};
}

const Resource kA = member("talos-cp-1", 2,
                           "hostname: talos-cp-1\nmachineType: controlplane\n"
                           "addresses:\n  - 172.20.0.2\n  - fd00::2\n");
const Resource kB = member("w", 11, "hostname: w\nmachineType: worker\naddresses: []\n");

TEST(TablePrinter, TalosctlLayout) {
  std::ostringstream out;
  auto p = make_printer({Format::kTable}, out);
  p->header(kMembers, false);
  p->resource("172.20.0.2", kA, EventType::kCreated);
  p->resource("172.20.0.2", kB, EventType::kCreated);
  p->flush();
  EXPECT_EQ(out.str(),
            "NODE         NAMESPACE   TYPE     ID           VERSION   HOSTNAME     MACHINE TYPE   "
            "ADDRESSES\n"
            "172.20.0.2   cluster     Member   talos-cp-1   2         talos-cp-1   controlplane   "
            "[\"172.20.0.2\",\"fd00::2\"]\n"
            "172.20.0.2   cluster     Member   w            11        w            worker         "
            "[]\n");
}

TEST(TablePrinter, WatchMarkersAndPerFlushAlignment) {
  std::ostringstream out;
  auto p = make_printer({Format::kTable}, out);
  p->header(ResolvedType{"Members.cluster.talos.dev", "Member", "cluster", {}}, true);
  p->resource("", kA, EventType::kCreated);
  p->flush();
  p->resource("", kB, EventType::kUpdated);
  p->flush();
  p->resource("", kB, EventType::kDestroyed);
  p->flush();
  EXPECT_EQ(out.str(),
            "NODE   *   NAMESPACE   TYPE     ID           VERSION\n"
            "       +   cluster     Member   talos-cp-1   2\n"
            "       cluster   Member   w   11\n"
            "   -   cluster   Member   w   11\n");
}

TEST(TablePrinter, UnparsableSpecGivesEmptyColumns) {
  std::ostringstream out;
  auto p = make_printer({Format::kTable}, out);
  p->header(ResolvedType{"X.y.z", "X", "n", {{"A", "{.a}"}}}, false);
  p->resource("", member("bad", 1, "a: ["), EventType::kCreated);
  p->flush();
  EXPECT_EQ(out.str(),
            "NODE   NAMESPACE   TYPE   ID    VERSION   A\n"
            "       cluster     X      bad   1         \n");
}

TEST(YamlPrinter, DocumentsWithNodeAndEvents) {
  std::ostringstream out;
  auto p = make_printer({Format::kYaml}, out);
  p->header(kMembers, true);
  p->resource("n1", kA, EventType::kCreated);
  p->resource("n1", kB, EventType::kDestroyed);
  const std::string text = out.str();
  EXPECT_EQ(text.substr(0, text.find("---")),
            "node: n1\n"
            "event: created\n"
            "metadata:\n"
            "    namespace: cluster\n"
            "    type: Members.cluster.talos.dev\n"
            "    id: talos-cp-1\n"
            "    version: 2\n"
            "    owner: \"\"\n"
            "    phase: running\n"
            "    created: 2026-01-02T00:00:00Z\n"
            "    updated: 2026-01-02T00:00:00Z\n"
            "spec:\n"
            "    hostname: talos-cp-1\n"
            "    machineType: controlplane\n"
            "    addresses:\n"
            "        - 172.20.0.2\n"
            "        - fd00::2\n");
  EXPECT_NE(text.find("---\nnode: n1\nevent: destroyed\nmetadata:\n"), std::string::npos);
}

TEST(YamlPrinter, ReindentsNestedBlocksLikeYamlV3) {
  EXPECT_EQ(reindent_yaml("spec:\n"
                          "  printColumns:\n"
                          "    - name: Aliases\n"
                          "      jsonPath: x\n"
                          "    - name: B\n"
                          "  nested:\n"
                          "    - - 1\n"
                          "      - 2\n"
                          "    - k:\n"
                          "        v: 1\n"
                          "top: 1\n"),
            "spec:\n"
            "    printColumns:\n"
            "        - name: Aliases\n"
            "          jsonPath: x\n"
            "        - name: B\n"
            "    nested:\n"
            "        - - 1\n"
            "          - 2\n"
            "        - k:\n"
            "              v: 1\n"
            "top: 1\n");
}

TEST(JsonPrinter, SortedKeysTypedValues) {
  std::ostringstream out;
  auto p = make_printer({Format::kJson}, out);
  p->header(kMembers, false);
  p->resource("", kB, EventType::kCreated);
  EXPECT_EQ(out.str(),
            "{\n"
            "    \"metadata\": {\n"
            "        \"created\": \"2026-01-02T00:00:00Z\",\n"
            "        \"id\": \"w\",\n"
            "        \"namespace\": \"cluster\",\n"
            "        \"owner\": \"\",\n"
            "        \"phase\": \"running\",\n"
            "        \"type\": \"Members.cluster.talos.dev\",\n"
            "        \"updated\": \"2026-01-02T00:00:00Z\",\n"
            "        \"version\": 11\n"
            "    },\n"
            "    \"node\": \"\",\n"
            "    \"spec\": {\n"
            "        \"addresses\": [],\n"
            "        \"hostname\": \"w\",\n"
            "        \"machineType\": \"worker\"\n"
            "    }\n"
            "}\n");
}

// What -o jsonpath=TEMPLATE prints for `resources` from node n1 (in a watch, with `event`).
std::string jsonpath_output(const std::string& tmpl, std::initializer_list<Resource> resources,
                            bool watch = false, EventType event = EventType::kCreated) {
  std::ostringstream out;
  auto p = make_printer(parse_output("jsonpath=" + tmpl), out);
  p->header(kMembers, watch);
  for (const auto& r : resources) p->resource("n1", r, event);
  return out.str();
}

// talosctl's -o jsonpath=: each result on a line of its own, literal text included, scalars raw
// and lists and maps as JSON indented by 4, over the same object -o json prints.
TEST(JsonPathPrinter, EachResultOnItsOwnLine) {
  EXPECT_EQ(jsonpath_output("{.metadata.id}{.spec.addresses}", {kA, kB}),
            "talos-cp-1\n"
            "[\n"
            "    \"172.20.0.2\",\n"
            "    \"fd00::2\"\n"
            "]\n"
            "w\n"
            "[]\n");
  EXPECT_EQ(jsonpath_output("id {.metadata.id} {.event}@{.node}{.spec.addresses[*]}", {kA}, true,
                            EventType::kDestroyed),
            "id \ntalos-cp-1\n \ndestroyed\n@\nn1\n172.20.0.2\nfd00::2\n");
  // Outside braces everything is literal (talosctl does not add braces the way kubectl does).
  EXPECT_EQ(jsonpath_output(".metadata.id", {kA}), ".metadata.id\n");
}

// A key the resource does not have fails, as talosctl does (missing keys are not allowed).
TEST(JsonPathPrinter, MissingKeyFails) {
  try {
    jsonpath_output("{.spec.nope}", {kA});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "error finding result for jsonpath: nope is not found");
  }
}

TEST(Printer, OutputNames) {
  EXPECT_EQ(parse_output("yaml").format, Format::kYaml);
  const auto jsonpath = parse_output("jsonpath={.spec}");
  EXPECT_EQ(jsonpath.format, Format::kJsonPath);
  EXPECT_EQ(jsonpath.jsonpath, "{.spec}");
  EXPECT_THROW(parse_output("wide"), std::invalid_argument);
  EXPECT_THROW(parse_output("jsonpath"), std::invalid_argument);
  EXPECT_THROW(make_printer(parse_output("jsonpath={.spec"), std::cout), std::invalid_argument);
}

}  // namespace
}  // namespace nodectl
