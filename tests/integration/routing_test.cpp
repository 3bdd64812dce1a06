// Three machined nodes of one cluster (one OS CA) on 127.0.0.1, asked through node 1's API for
// other nodes, as talosctl -e NODE1 -n NODE2 asks: answers come from the node named, with the
// caller's roles; an unreachable node is an error naming it; a watch through node 1 follows
// node 2's changes and ends when node 2 stops; Version one-to-many answers per node.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "machine/machine.grpc.pb.h"
#include "pki/x509.h"
#include "tests/integration/nodes.h"
#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/free_ports.h"
#include "tests/support/loopback_http.h"

namespace {

using tds::test::ChildProcess;
using tds::test::config_with_ca;
using tds::test::nodectl;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// The node ID in `get identities -o yaml` output.
std::string node_id(const std::string& yaml) {
  std::smatch m;
  return std::regex_search(yaml, m, std::regex("nodeId: (\\S+)")) ? m[1].str() : "";
}

class Routing : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;

  void SetUp() override {
    ca_ = pki::generate_ca("talos");
    for (int i = 0; i < kNodes; ++i) {
      start(i, "node-" + std::to_string(i + 1));
      if (HasFatalFailure()) return;
    }
    admin_ = talosconfig("os:admin");
  }

  std::filesystem::path config(int i) const {
    return dir_.path() / ("node-" + std::to_string(i + 1) + ".yaml");
  }
  std::string socket(int i) const {
    return (dir_.path() / ("state-" + std::to_string(i + 1)) / "machined.sock").string();
  }
  std::string endpoint(int i) const { return "127.0.0.1:" + std::to_string(ports_[i]); }

  void write_config(int i, const std::string& hostname) {
    std::ofstream(config(i)) << config_with_ca(ca_, hostname);
  }

  void start(int i, const std::string& hostname) {
    write_config(i, hostname);
    nodes_.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{
        MACHINED_BIN, "--state-dir", (dir_.path() / ("state-" + std::to_string(i + 1))).string(),
        "--api-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--config",
        config(i).string()}));
    const std::regex started("event=started .*api_port=([0-9]+) metrics_port=([0-9]+)");
    ASSERT_TRUE(nodes_.back()->wait_for_output(started, 30s)) << nodes_.back()->output();
    std::smatch m;
    const std::string out = nodes_.back()->output();
    ASSERT_TRUE(std::regex_search(out, m, started));
    ports_.push_back(std::stoi(m[1]));
    metrics_ports_.push_back(std::stoi(m[2]));
  }

  // A talosconfig for `role` whose endpoint is node 1.
  std::string talosconfig(const std::string& role) {
    const auto path = dir_.path() / (role + ".talosconfig");
    const auto r = nodectl({"gen", "talosconfig", "-c", config(0).string(), "--role", role,
                            "--endpoints", endpoint(0), "-o", path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return path.string();
  }

  tds::test::TempDir dir_;
  pki::KeyPair ca_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
  std::vector<int> ports_;
  std::vector<int> metrics_ports_;
  std::string admin_;

  std::string metrics(int i) const {
    return tds::test::http_body(tds::test::http_exchange(
        metrics_ports_[i], "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10s));
  }
};

TEST_F(Routing, NodeThroughAnotherNodeAnswersForItself) {
  const auto direct = nodectl({"--socket", socket(1), "get", "identities", "-o", "yaml"});
  ASSERT_EQ(direct.exit_code, 0) << direct.output;
  const auto routed =
      nodectl({"--talosconfig", admin_, "-n", endpoint(1), "get", "identities", "-o", "yaml"});
  ASSERT_EQ(routed.exit_code, 0) << routed.output;
  ASSERT_FALSE(node_id(direct.output).empty());
  EXPECT_EQ(node_id(routed.output), node_id(direct.output));
  EXPECT_THAT(routed.output, HasSubstr("node: " + endpoint(1)));
  // And node 1 without -n is node 1.
  const auto own = nodectl({"--talosconfig", admin_, "get", "identities", "-o", "yaml"});
  const auto own_direct = nodectl({"--socket", socket(0), "get", "identities", "-o", "yaml"});
  EXPECT_EQ(node_id(own.output), node_id(own_direct.output));
  EXPECT_NE(node_id(own.output), node_id(direct.output));
}

// As talosctl uses every endpoint of its context: the first one refuses connections, the next
// one routes the request.
TEST_F(Routing, AnUnreachableFirstEndpointFallsBackToTheNext) {
  const auto ports = tds::test::pick_free_ports(1);  // nothing listens there
  ASSERT_EQ(ports.size(), 1u);
  const std::string dead = "127.0.0.1:" + std::to_string(ports[0]);
  const auto path = (dir_.path() / "two-endpoints.talosconfig").string();
  const auto gen = nodectl({"gen", "talosconfig", "-c", config(0).string(), "--role", "os:admin",
                            "--endpoints", dead + "," + endpoint(0), "-o", path});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;

  const auto direct = nodectl({"--socket", socket(1), "get", "identities", "-o", "yaml"});
  const auto routed =
      nodectl({"--talosconfig", path, "-n", endpoint(1), "get", "identities", "-o", "yaml"});
  ASSERT_EQ(routed.exit_code, 0) << routed.output;
  ASSERT_FALSE(node_id(direct.output).empty());
  EXPECT_EQ(node_id(routed.output), node_id(direct.output));

  // No endpoint answers: the first one's error is reported.
  const auto none = nodectl(
      {"--talosconfig", path, "-e", dead + "," + dead, "-n", endpoint(1), "get", "identities"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_THAT(none.output, HasSubstr(dead));
}

TEST_F(Routing, SeveralNodesAnswerInOneTable) {
  const std::string nodes = endpoint(0) + "," + endpoint(1) + "," + endpoint(2);
  const auto r = nodectl({"--talosconfig", admin_, "-n", nodes, "get", "hostnamestatuses"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 4) << r.output;  // header + 3
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_THAT(r.output,
                ::testing::ContainsRegex(endpoint(i) + " +network +HostnameStatus +hostname"))
        << r.output;
    EXPECT_THAT(r.output, HasSubstr("node-" + std::to_string(i + 1)));
  }
  // A node that does not answer is named; the others still answer.
  const auto partial = nodectl(
      {"--talosconfig", admin_, "-n", endpoint(1) + ",127.0.0.1:1", "get", "hostnamestatuses"});
  EXPECT_EQ(partial.exit_code, 1) << partial.output;
  EXPECT_THAT(partial.output, HasSubstr("node-2"));
  EXPECT_THAT(partial.output, HasSubstr("nodectl: node 127.0.0.1:1: "));

  const auto versions = nodectl({"--talosconfig", admin_, "-n", nodes, "version"});
  ASSERT_EQ(versions.exit_code, 0) << versions.output;
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_THAT(versions.output, HasSubstr("\tNODE:        " + endpoint(i) + "\n"));
  }
}

TEST_F(Routing, CallersRolesTravelWithTheRequest) {
  const auto reader = talosconfig("os:reader");
  const auto r = nodectl({"--talosconfig", reader, "-n", endpoint(2), "get", "machineconfigs"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not authorized"));
  EXPECT_EQ(nodectl({"--talosconfig", reader, "-n", endpoint(2), "get", "machinetypes"}).exit_code,
            0);
  EXPECT_EQ(
      nodectl({"--talosconfig", admin_, "-n", endpoint(2), "get", "machineconfigs"}).exit_code, 0);
}

TEST_F(Routing, UnreachableNodeIsAnErrorNamingIt) {
  const auto r = nodectl({"--talosconfig", admin_, "-n", "127.0.0.1:1", "get", "identities"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.output, Not(HasSubstr("nodeId")));
  // Node 1 counted the forwarded call and the node it could not reach.
  const auto text = metrics(0);
  EXPECT_THAT(text, HasSubstr("machined_api_calls_total{route=\"node\"} 1\n")) << text;
  EXPECT_THAT(text, HasSubstr("machined_api_unreachable_nodes_total 1\n")) << text;
}

TEST_F(Routing, WatchThroughANodeFollowsTheTargetAndEndsWhenItStops) {
  ChildProcess watch(
      {NODECTL_BIN, "--talosconfig", admin_, "-n", endpoint(1), "get", "hostnamestatuses", "-w"});
  ASSERT_TRUE(watch.wait_for_output(std::regex("node-2"), 30s)) << watch.output();
  write_config(1, "renamed-2");
  ASSERT_TRUE(watch.wait_for_output(std::regex("renamed-2"), 30s)) << watch.output();
  nodes_[1]->signal(SIGTERM);
  const auto status = watch.wait_exit(30s);
  ASSERT_TRUE(status) << "the watch outlived its node:\n" << watch.output();
  EXPECT_THAT(watch.output(), HasSubstr("error watching"));
}

TEST_F(Routing, VersionOneToManyAnswersPerNode) {
  const auto client = pki::issue(
      ca_, {.common_name = "t", .organizations = {"os:reader"}, .usage = pki::Usage::kClient});
  grpc::SslCredentialsOptions ssl{ca_.cert_pem, client.key_pem, client.cert_pem};
  auto stub = ::machine::MachineService::NewStub(
      grpc::CreateChannel(endpoint(0), grpc::SslCredentials(ssl)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  const std::vector<std::string> asked{endpoint(0), endpoint(1), "127.0.0.1:1", endpoint(2)};
  for (const auto& n : asked) ctx.AddMetadata("nodes", n);
  ::machine::VersionResponse reply;
  const auto status = stub->Version(&ctx, google::protobuf::Empty(), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(reply.messages_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(reply.messages(i).metadata().hostname(), asked[i]);
    if (asked[i] == "127.0.0.1:1") {
      EXPECT_FALSE(reply.messages(i).metadata().error().empty());
    } else {
      EXPECT_TRUE(reply.messages(i).metadata().error().empty()) << asked[i];
      EXPECT_TRUE(reply.messages(i).features().rbac()) << asked[i];
    }
  }
  // COSI is one node per request.
  grpc::ClientContext cosi;
  cosi.set_deadline(std::chrono::system_clock::now() + 30s);
  cosi.AddMetadata("nodes", endpoint(1));
  ::cosi::resource::ListRequest list;
  list.set_namespace_("meta");
  list.set_type("Namespaces.meta.cosi.dev");
  auto reader =
      ::cosi::resource::State::NewStub(grpc::CreateChannel(endpoint(0), grpc::SslCredentials(ssl)))
          ->List(&cosi, list);
  ::cosi::resource::ListResponse item;
  while (reader->Read(&item)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
