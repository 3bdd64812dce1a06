// machined's TCP API with an OS CA, as real processes: mutual TLS with client certificates from
// `nodectl gen talosconfig`, Talos's roles per call (readers refused sensitive types, admins
// allowed, certificates without a reading role refused), strangers refused at the handshake
// (no certificate, or one from another CA), and the start-up rules of --api-insecure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "pki/x509.h"
#include "tests/integration/nodes.h"
#include "tests/machined/temp_dir.h"
#include "tests/support/child_process.h"

namespace {

using tds::test::ChildProcess;
using tds::test::config_with_ca;
using tds::test::nodectl;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

class ApiWithCa : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.path() / "config.yaml";
    std::ofstream(config_) << config_with_ca(pki::generate_ca("talos"));
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{MACHINED_BIN, "--state-dir", (dir_.path() / "state").string(),
                                 "--api-addr", "127.0.0.1:0", "--config", config_.string()});
    auto port = proc_->wait_for_output(std::regex("event=started .*api_port=([0-9]+)"), 30s);
    ASSERT_TRUE(port) << proc_->output();
    endpoint_ = "127.0.0.1:" + *port;
  }

  // A talosconfig for `role`, signed by the CA of `config`, pointing at this node.
  std::string talosconfig(const std::string& role, const std::filesystem::path& config) {
    const auto path = dir_.path() / (role + "-" + config.stem().string() + ".talosconfig");
    const auto r = nodectl({"gen", "talosconfig", "-c", config.string(), "--role", role,
                            "--endpoints", endpoint_, "-o", path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return path.string();
  }

  tds::test::TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<ChildProcess> proc_;
  std::string endpoint_;
};

TEST_F(ApiWithCa, ReaderGetsNonSensitiveTypesOnly) {
  const auto reader = talosconfig("os:reader", config_);
  const auto members = nodectl({"--talosconfig", reader, "get", "identities"});
  EXPECT_EQ(members.exit_code, 0) << members.output;
  EXPECT_THAT(members.output, HasSubstr("NODE"));

  const auto secret = nodectl({"--talosconfig", reader, "get", "machineconfigs"});
  EXPECT_EQ(secret.exit_code, 1) << secret.output;
  EXPECT_THAT(secret.output, HasSubstr("not authorized"));
}

TEST_F(ApiWithCa, AdminReadsSensitiveTypesButCannotWrite) {
  const auto admin = talosconfig("os:admin", config_);
  const auto secret = nodectl({"--talosconfig", admin, "get", "machineconfigs", "-o", "yaml"});
  EXPECT_EQ(secret.exit_code, 0) << secret.output;
  EXPECT_THAT(secret.output, HasSubstr("clusterName: nodes"));
  // -n names the node itself here; the talosconfig's endpoint is replaced.
  const auto by_node = nodectl({"--talosconfig", admin, "-n", endpoint_, "get", "machinetypes"});
  EXPECT_EQ(by_node.exit_code, 0) << by_node.output;
  EXPECT_THAT(by_node.output, HasSubstr(endpoint_));
}

TEST_F(ApiWithCa, OperatorReadsButNotSecrets) {
  const auto op = talosconfig("os:operator", config_);
  EXPECT_EQ(nodectl({"--talosconfig", op, "get", "machinetypes"}).exit_code, 0);
  const auto secret = nodectl({"--talosconfig", op, "get", "machineconfigs"});
  EXPECT_EQ(secret.exit_code, 1);
  EXPECT_THAT(secret.output, HasSubstr("not authorized"));
}

TEST_F(ApiWithCa, VersionReportsBothSidesAndRbac) {
  const auto r = nodectl({"--talosconfig", talosconfig("os:reader", config_), "version"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Client:\n\tTag:         v1.11.0\n\tSHA:         tds-nodectl "));
  EXPECT_THAT(r.output, HasSubstr("Server:\n\tNODE:        " + endpoint_ +
                                  "\n\tTag:         v1.11.0\n\tSHA:         tds-machined "));
  EXPECT_THAT(r.output, HasSubstr("\tEnabled:     RBAC\n"));
}

TEST_F(ApiWithCa, CertificateWithoutAReadingRoleGetsNothing) {
  const auto backup = talosconfig("os:etcd:backup", config_);
  const auto r = nodectl({"--talosconfig", backup, "get", "machinetypes"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not authorized"));
  const auto v = nodectl({"--talosconfig", backup, "version"});
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("error getting version from node " + endpoint_));
}

TEST_F(ApiWithCa, NoClientCertificateOrAnotherCaIsRefused) {
  const auto insecure = nodectl({"--insecure", "-n", endpoint_, "get", "machinetypes"});
  EXPECT_EQ(insecure.exit_code, 1) << insecure.output;
  EXPECT_THAT(insecure.output, Not(HasSubstr("controlplane")));
  EXPECT_THAT(insecure.output, Not(HasSubstr("worker")));

  const auto other_config = dir_.path() / "other.yaml";
  std::ofstream(other_config) << config_with_ca(pki::generate_ca("talos"));
  const auto stranger = talosconfig("os:admin", other_config);
  const auto r = nodectl({"--talosconfig", stranger, "get", "machinetypes"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("worker")));
  // Still up for the right clients.
  EXPECT_EQ(nodectl({"--talosconfig", talosconfig("os:reader", config_), "get", "machinetypes"})
                .exit_code,
            0);
}

TEST(ApiStartup, NoCaNeedsApiInsecureAndACaRefusesIt) {
  tds::test::TempDir dir;
  const auto plain = dir.path() / "plain.yaml";
  std::ofstream(plain) << "version: v1alpha1\nmachine:\n  type: worker\n";
  const auto no_ca = tds::test::run_to_exit(
      {MACHINED_BIN, "--state-dir", (dir.path() / "a").string(), "--api-addr", "127.0.0.1:0",
       "--metrics-addr=", "--config", plain.string()},
      30s);
  EXPECT_EQ(no_ca.exit_code, 1) << no_ca.output;
  EXPECT_THAT(no_ca.output, HasSubstr("--api-insecure"));

  const auto with_ca = dir.path() / "ca.yaml";
  std::ofstream(with_ca) << config_with_ca(pki::generate_ca("talos"));
  const auto both = tds::test::run_to_exit(
      {MACHINED_BIN, "--state-dir", (dir.path() / "b").string(), "--api-addr", "127.0.0.1:0",
       "--metrics-addr=", "--config", with_ca.string(), "--api-insecure"},
      30s);
  EXPECT_EQ(both.exit_code, 1) << both.output;
  EXPECT_THAT(both.output, HasSubstr("machine.ca"));
}

}  // namespace
