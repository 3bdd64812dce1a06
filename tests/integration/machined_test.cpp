// Real machined and nodectl processes: nodectl get over the unix socket and the TLS port, the
// read-only port refusing writes, watch output, SIGHUP config reload, and a clean SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "tests/integration/nodes.h"
#include "tests/machined/channels.h"
#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"

namespace {

namespace wire = ::cosi::resource;
using tds::test::ChildProcess;
using tds::test::nodectl;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

grpc::Status create_namespace(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  wire::CreateRequest request;
  auto* md = request.mutable_resource()->mutable_metadata();
  md->set_namespace_("meta");
  md->set_type("Namespaces.meta.cosi.dev");
  md->set_id(id);
  md->set_version("1");
  md->set_phase("running");
  request.mutable_resource()->mutable_spec()->set_yaml_spec("description: test\n");
  wire::CreateResponse response;
  return wire::State::NewStub(channel)->Create(&ctx, request, &response);
}

class Machined : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.path() / "config.yaml";
    std::ofstream(config_) << "version: v1alpha1\nmachine:\n  type: worker\n";
    proc_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        MACHINED_BIN, "--state-dir", state_dir().string(), "--api-addr", "127.0.0.1:0",
        "--api-insecure", "--metrics-addr", "127.0.0.1:0", "--config", config_.string()});
    auto port = proc_->wait_for_output(std::regex("event=started .*api_port=([0-9]+)"), 30s);
    ASSERT_TRUE(port) << proc_->output();
    api_port_ = std::stoi(*port);
    socket_ = (state_dir() / "machined.sock").string();
  }

  std::filesystem::path state_dir() const { return dir_.path() / "state"; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(api_port_); }

  tds::test::TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<ChildProcess> proc_;
  int api_port_ = 0;
  std::string socket_;
};

TEST_F(Machined, NodectlGetOverSocketAndTls) {
  for (const std::vector<std::string>& target :
       {std::vector<std::string>{"--socket", socket_}, {"--insecure", "-n", endpoint()}}) {
    const bool tls = target[0] == "--insecure";
    const std::string node = tls ? endpoint() : "";
    auto with = [&](std::vector<std::string> args) {
      args.insert(args.begin(), target.begin(), target.end());
      return nodectl(args);
    };

    auto ns = with({"get", "namespaces"});
    ASSERT_EQ(ns.exit_code, 0) << ns.output;
    EXPECT_THAT(ns.output, ::testing::StartsWith(tls ? "NODE              NAMESPACE"
                                                     : "NODE   NAMESPACE   TYPE        ID"));
    EXPECT_TRUE(std::regex_search(ns.output, std::regex(node + " +meta +Namespace +cluster +1\n")))
        << ns.output;

    auto rds = with({"get", "resourcedefinitions"});
    ASSERT_EQ(rds.exit_code, 0) << rds.output;
    EXPECT_THAT(rds.output, HasSubstr("VERSION   ALIASES\n"));
    EXPECT_TRUE(std::regex_search(
        rds.output, std::regex("ResourceDefinition +members\\.cluster\\.talos\\.dev +1 +member\n")))
        << rds.output;

    auto yaml = with({"get", "rd", "namespaces.meta.cosi.dev", "-o", "yaml"});
    ASSERT_EQ(yaml.exit_code, 0) << yaml.output;
    EXPECT_THAT(yaml.output, ::testing::StartsWith("node: " + node +
                                                   "\nmetadata:\n"
                                                   "    namespace: meta\n"
                                                   "    type: ResourceDefinitions.meta.cosi.dev\n"
                                                   "    id: namespaces.meta.cosi.dev\n"));
    EXPECT_THAT(yaml.output, HasSubstr("spec:\n    type: Namespaces.meta.cosi.dev\n"
                                       "    displayType: Namespace\n"));

    auto json = with({"get", "members", "-o", "json"});
    EXPECT_EQ(json.exit_code, 0) << json.output;

    auto jsonpath = with({"get", "namespaces", "cluster", "-o", "jsonpath={.metadata.id}"});
    EXPECT_EQ(jsonpath.exit_code, 0) << jsonpath.output;
    EXPECT_EQ(jsonpath.output, "cluster\n");

    auto unknown = with({"get", "nosuchthings"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_THAT(unknown.output, HasSubstr("resource \"nosuchthings\" is not registered"));

    auto missing = with({"get", "namespaces", "nope"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_THAT(missing.output,
                HasSubstr("resource Namespaces.meta.cosi.dev(meta/nope@undefined) doesn't exist"));
  }
}

TEST_F(Machined, ReadOnlyPortRefusesWrites) {
  const auto denied = create_namespace(tds::test::insecure_tls_channel(api_port_), "via-tls");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
  EXPECT_TRUE(create_namespace(tds::test::unix_channel(socket_), "via-socket").ok());
  auto ns = nodectl({"--insecure", "-n", endpoint(), "get", "namespaces"});
  EXPECT_THAT(ns.output, HasSubstr(" via-socket "));
  EXPECT_THAT(ns.output, Not(HasSubstr("via-tls")));
}

TEST_F(Machined, WatchShowsBootstrapThenChanges) {
  ChildProcess watch({NODECTL_BIN, "--socket", socket_, "get", "namespaces", "-w"});
  ASSERT_TRUE(watch.wait_for_output(std::regex("\\+ +meta +Namespace +runtime +1\n"), 30s))
      << watch.output();
  EXPECT_THAT(watch.output(), ::testing::StartsWith("NODE   *   NAMESPACE   TYPE"));
  ASSERT_TRUE(create_namespace(tds::test::unix_channel(socket_), "late").ok());
  EXPECT_TRUE(watch.wait_for_output(std::regex("\\+ +meta +Namespace +late +1\n"), 30s))
      << watch.output();
  // Ctrl-C ends the watch with status 0, as it does talosctl's.
  watch.signal(SIGINT);
  const auto status = watch.wait_exit(30s);
  ASSERT_TRUE(status) << watch.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << watch.output();
}

TEST_F(Machined, SighupReloadsConfigAndSigtermStopsCleanly) {
  auto before = nodectl({"--socket", socket_, "get", "machineconfigs", "v1alpha1"});
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_TRUE(std::regex_search(before.output, std::regex("v1alpha1 +1\n"))) << before.output;

  std::ofstream(config_) << "version: v1alpha1\nmachine:\n  type: controlplane\n";
  proc_->signal(SIGHUP);
  ASSERT_TRUE(proc_->wait_for_output(std::regex("event=config_loaded[^\n]*\n[^]*"
                                                "event=config_loaded"),
                                     30s))
      << proc_->output();
  auto after = nodectl({"--socket", socket_, "get", "machineconfigs", "v1alpha1"});
  EXPECT_TRUE(std::regex_search(after.output, std::regex("v1alpha1 +2\n"))) << after.output;

  // A broken edit is refused and the daemon keeps running with the previous config.
  std::ofstream(config_) << "machine: [\n";
  proc_->signal(SIGHUP);
  ASSERT_TRUE(proc_->wait_for_output(std::regex("event=config_reload_failed"), 30s))
      << proc_->output();
  EXPECT_TRUE(
      std::regex_search(nodectl({"--socket", socket_, "get", "machineconfigs", "v1alpha1"}).output,
                        std::regex("v1alpha1 +2\n")));

  proc_->signal(SIGTERM);
  const auto status = proc_->wait_exit(30s);
  ASSERT_TRUE(status) << proc_->output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << proc_->output();
  EXPECT_THAT(proc_->output(), HasSubstr("event=stopped"));
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST(MachinedFlags, BadFlagsFailClearly) {
  tds::test::TempDir dir;
  ChildProcess bad({MACHINED_BIN, "--state-dir", (dir.path() / "s").string(), "--api-addr",
                    "127.0.0.1:notaport"});
  const auto status = bad.wait_exit(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(bad.output(), HasSubstr("notaport"));
}

TEST(MachinedFlags, BadCommandLinesAreOneLineOnStderrAndStatusTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--state-dir", "/nonexistent", "--no-such-flag"},
        {"--state-dir", "/nonexistent", "--log-level="},
        {"--api-addr", ":1"}}) {
    std::vector<std::string> command = {MACHINED_BIN};
    command.insert(command.end(), args.begin(), args.end());
    const auto r = tds::test::run_for_stderr(command, 30s);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, ::testing::StartsWith("machined: "));
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "one line: " << r.output;
  }
  const auto missing = tds::test::run_for_stderr({MACHINED_BIN}, 30s);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("--state-dir"));
  const auto help = tds::test::run_to_exit({MACHINED_BIN, "--help"}, 30s);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("--metrics-addr"));
}

TEST(MachinedFlags, StartupFailureLogsFatal) {
  tds::test::TempDir dir;
  const auto r = tds::test::run_to_exit(
      {MACHINED_BIN, "--state-dir", (dir.path() / "s").string(), "--metrics-addr=", "--config",
       (dir.path() / "missing.yaml").string()},
      30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, ::testing::ContainsRegex("level=error event=fatal error=\".*missing.yaml"));
}

}  // namespace
