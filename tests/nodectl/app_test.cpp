// The nodectl command line in-process: `gen config` writes a private, valid config and never
// overwrites one by accident, `gen talosconfig` a client config for the given roles; the
// connection flags pick socket, talosconfig or --insecure; bad options and an unreachable
// machined are clear errors.
#include "nodectl/app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "config/machine_config.h"
#include "nodectl/connection.h"
#include "nodectl/talosconfig.h"
#include "pki/x509.h"
#include "tests/machined/temp_dir.h"
#include "values/base64.h"

namespace nodectl {
namespace {

using tds::test::read_file;

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result run_args(std::vector<std::string> args) {
  args.insert(args.begin(), "nodectl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int code = run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(GenConfig, WritesAPrivateConfigThatParses) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "node.yaml";
  auto r = run_args({"gen", "config", "--discovery-endpoint", "http://127.0.0.1:3000",
                     "--cluster-name", "lab", "--type", "worker", "--hostname", "n1", "--address",
                     "10.0.0.1", "--address", "10.0.0.2", "-o", path.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto cfg = config::parse(read_file(path), path.string());
  EXPECT_EQ(cfg.machine_type, talos::resource::definitions::enums::TYPE_WORKER);
  EXPECT_EQ(cfg.hostname, "n1");
  EXPECT_EQ(cfg.cluster_name, "lab");
  EXPECT_EQ(cfg.addresses, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  const auto identity = config::discovery_identity(cfg);
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->cluster_id.empty());
  EXPECT_FALSE(identity->cluster_secret.empty());
}

TEST(GenConfig, EachRunIsANewClusterAndFilesAreKeptWithoutForce) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "node.yaml";
  ASSERT_EQ(run_args({"gen", "config", "-o", path.string()}).code, 0);
  const std::string first = read_file(path);

  auto again = run_args({"gen", "config", "-o", path.string()});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("--force"));
  EXPECT_EQ(read_file(path), first);

  ASSERT_EQ(run_args({"gen", "config", "-o", path.string(), "--force"}).code, 0);
  const auto a = config::discovery_identity(config::parse(first, "first"));
  const auto b = config::discovery_identity(config::parse(read_file(path), "second"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->cluster_id, b->cluster_id);
  EXPECT_NE(a->cluster_secret, b->cluster_secret);
}

TEST(GenConfig, IdentityFromAnotherNodesConfigJoinsItsCluster) {
  tds::test::TempDir dir;
  const auto first = dir.path() / "n1.yaml";
  const auto second = dir.path() / "n2.yaml";
  ASSERT_EQ(run_args({"gen", "config", "--hostname", "n1", "--cluster-name", "lab",
                      "--discovery-endpoint", "http://127.0.0.1:3000", "--kubespan", "-o",
                      first.string()})
                .code,
            0);
  auto r = run_args({"gen", "config", "--hostname", "n2", "--identity-from", first.string(), "-o",
                     second.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto n1 = config::load_file(first.string());
  const auto n2 = config::load_file(second.string());
  const auto a = config::discovery_identity(n1);
  const auto b = config::discovery_identity(n2);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->cluster_id, b->cluster_id);
  EXPECT_EQ(a->cluster_secret, b->cluster_secret);
  // Every cluster-wide setting comes along: the OS CA, the name, the discovery service, KubeSpan.
  ASSERT_TRUE(n1.os_ca);
  EXPECT_EQ(n2.os_ca, n1.os_ca);
  EXPECT_EQ(n2.cluster_name, "lab");
  ASSERT_EQ(config::discovery_services(n2).size(), 1u);
  EXPECT_EQ(config::discovery_services(n2)[0].endpoint, "http://127.0.0.1:3000");
  EXPECT_TRUE(n2.kubespan.enabled);
  EXPECT_EQ(n2.hostname, "n2");
  // ... unless the command line says otherwise.
  r = run_args({"gen", "config", "--identity-from", first.string(), "--cluster-name", "other",
                "--discovery-endpoint", "http://127.0.0.1:4000"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto n3 = config::parse(r.out, "n3");
  EXPECT_EQ(n3.cluster_name, "other");
  EXPECT_EQ(config::discovery_services(n3)[0].endpoint, "http://127.0.0.1:4000");

  const auto plain = dir.path() / "plain.yaml";
  std::ofstream(plain) << "version: v1alpha1\nmachine:\n  type: worker\n";
  r = run_args({"gen", "config", "--identity-from", plain.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no cluster ID"));
  r = run_args({"gen", "config", "--identity-from", (dir.path() / "missing.yaml").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.yaml"));
}

TEST(GenConfig, BadOptionsWriteNothing) {
  tds::test::TempDir dir;
  const auto path = dir.path() / "node.yaml";
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--type", "bogus"}, {"--discovery-endpoint", "ftp://x"}, {"--address", "not-an-ip"}}) {
    auto args = std::vector<std::string>{"gen", "config", "-o", path.string()};
    args.insert(args.end(), bad.begin(), bad.end());
    auto r = run_args(args);
    EXPECT_EQ(r.code, 1) << bad[1];
    EXPECT_FALSE(r.err.empty()) << bad[1];
    EXPECT_FALSE(std::filesystem::exists(path)) << bad[1];
  }
}

TEST(GenConfig, KubeSpanAndHardwareAddress) {
  auto r = run_args({"gen", "config", "--kubespan", "--hardware-address", "02:00:00:00:00:01"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cfg = config::parse(r.out, "generated");
  EXPECT_TRUE(cfg.kubespan.enabled);
  EXPECT_EQ(cfg.hardware_address, std::string("\x02\0\0\0\0\x01", 6));
  EXPECT_EQ(run_args({"gen", "config", "--hardware-address", "not-a-mac"}).code, 1);
}

TEST(GenConfig, StdoutByDefault) {
  auto r = run_args({"gen", "config", "--discovery-endpoint", "http://127.0.0.1:3000"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("kind: DiscoveryServiceConfig"));
  EXPECT_THAT(r.out, HasSubstr("endpoint: http://127.0.0.1:3000"));
}

TEST(GenTalosconfig, WritesAPrivateClientConfigForTheRoles) {
  tds::test::TempDir dir;
  const auto machine = dir.path() / "node.yaml";
  ASSERT_EQ(run_args({"gen", "config", "--cluster-name", "lab", "-o", machine.string()}).code, 0);
  const auto path = dir.path() / "talosconfig";
  auto r = run_args({"gen", "talosconfig", "-c", machine.string(), "--role", "os:reader",
                     "--endpoints", "127.0.0.1:50001,127.0.0.1:50002", "-o", path.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto talosconfig = load_talosconfig(path);
  EXPECT_EQ(talosconfig.context, "lab");
  ASSERT_EQ(talosconfig.contexts.count("lab"), 1u);
  const auto& ctx = talosconfig.contexts.at("lab");
  EXPECT_EQ(ctx.endpoints, (std::vector<std::string>{"127.0.0.1:50001", "127.0.0.1:50002"}));
  EXPECT_EQ(ctx.ca_pem, config::load_file(machine.string()).os_ca->cert_pem);
  EXPECT_EQ(pki::subject_organizations(ctx.crt_pem), std::vector<std::string>{"os:reader"});
  EXPECT_NO_THROW(pki::check_key_pair({ctx.crt_pem, ctx.key_pem}, "client"));
  EXPECT_THAT(read_file(path), HasSubstr("context: lab"));

  // Kept without --force; unknown roles and configs without a CA are refused.
  EXPECT_EQ(run_args({"gen", "talosconfig", "-c", machine.string(), "-o", path.string()}).code, 1);
  r = run_args({"gen", "talosconfig", "-c", machine.string(), "--role", "os:root"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown role \"os:root\""));
  const auto plain = dir.path() / "plain.yaml";
  std::ofstream(plain) << "version: v1alpha1\nmachine:\n  type: worker\n";
  r = run_args({"gen", "talosconfig", "-c", plain.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no OS CA"));
}

TEST(Talosconfig, ParsesTalosctlFilesAndNamesWhatIsWrong) {
  const auto cfg = parse_talosconfig(
      "context: a\ncontexts:\n  a:\n    endpoints: [10.0.0.1]\n    nodes: [10.0.0.2, 10.0.0.3]\n"
      "    ca: " +
          values::base64_encode("CA") + "\n  b: {}\n",
      "t");
  EXPECT_EQ(cfg.context, "a");
  EXPECT_EQ(cfg.contexts.at("a").nodes, (std::vector<std::string>{"10.0.0.2", "10.0.0.3"}));
  EXPECT_EQ(cfg.contexts.at("a").ca_pem, "CA");
  EXPECT_TRUE(cfg.contexts.at("b").endpoints.empty());
  for (const auto& [yaml, what] : std::vector<std::pair<std::string, std::string>>{
           {"contexts:\n  a:\n    ca: \"!!\"\n", "t: contexts.a.ca: failed to decode"},
           {"contexts:\n  a:\n    endpoints: x\n", "t: contexts.a.endpoints: expected a list"},
           {"- 1\n", "t: expected a mapping"}}) {
    try {
      parse_talosconfig(yaml, "t");
      ADD_FAILURE() << yaml;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  }
}

TEST(Connection, FlagsChooseSocketTalosconfigOrInsecure) {
  tds::test::TempDir dir;
  ::unsetenv("TALOSCONFIG");
  ConnectionFlags flags;
  flags.socket = "/run/x.sock";
  auto targets = resolve_targets(flags);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_TRUE(targets[0].endpoint.empty());
  EXPECT_EQ(targets[0].socket, "/run/x.sock");

  // --insecure: each node is dialled itself, unverified.
  flags.insecure = true;
  flags.nodes = {"10.0.0.5", "10.0.0.6"};
  targets = resolve_targets(flags);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[1].endpoint, "10.0.0.6");
  EXPECT_TRUE(targets[1].target_node.empty());
  EXPECT_FALSE(targets[1].credentials);

  flags.insecure = false;
  flags.talosconfig = dir.path() / "missing";
  try {
    resolve_targets(flags);
    ADD_FAILURE() << "a missing talosconfig was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--insecure"));
  }

  const auto machine = dir.path() / "node.yaml";
  ASSERT_EQ(run_args({"gen", "config", "--cluster-name", "lab", "-o", machine.string()}).code, 0);
  flags.talosconfig = dir.path() / "talosconfig";
  ASSERT_EQ(run_args({"gen", "talosconfig", "-c", machine.string(), "--endpoints",
                      "10.0.0.1,10.0.0.2", "-o", flags.talosconfig.string()})
                .code,
            0);
  // No node: each endpoint answers for itself.
  flags.nodes.clear();
  targets = resolve_targets(flags);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].endpoint, "10.0.0.1");
  EXPECT_EQ(targets[1].endpoint, "10.0.0.2");
  ASSERT_TRUE(targets[0].credentials);
  EXPECT_THAT(targets[0].credentials->crt_pem, HasSubstr("BEGIN CERTIFICATE"));
  // Nodes go through the first endpoint, named in each call's metadata.
  flags.nodes = {"10.0.0.7", "10.0.0.1"};
  targets = resolve_targets(flags);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].endpoint, "10.0.0.1");
  EXPECT_EQ(targets[0].target_node, "10.0.0.7");
  EXPECT_EQ(targets[0].node(), "10.0.0.7");
  EXPECT_EQ(targets[0].fallback_endpoints, std::vector<std::string>{"10.0.0.2"});
  // With other endpoints to fall back on, a node that is an endpoint is named as well, so that
  // whichever endpoint answers routes to it.
  EXPECT_EQ(targets[1].target_node, "10.0.0.1");
  EXPECT_EQ(targets[1].node(), "10.0.0.1");
  // One endpoint: a node that is the endpoint is asked directly.
  flags.endpoints = {"10.0.0.1"};
  targets = resolve_targets(flags);
  EXPECT_TRUE(targets[1].target_node.empty());
  EXPECT_TRUE(targets[1].fallback_endpoints.empty());
  flags.endpoints.clear();
  flags.nodes.clear();
  flags.context = "nope";
  EXPECT_THROW(resolve_targets(flags), std::runtime_error);
}

TEST(Version, ClientOnlyNeedsNoNode) {
  auto r = run_args({"--talosconfig", "/nonexistent", "version", "--client"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("Client:\n\tTag:         v1.11.0\n"));
  EXPECT_THAT(r.out, HasSubstr("\tOS/Arch:     linux/"));
  EXPECT_THAT(r.out, Not(HasSubstr("Server:")));
  r = run_args({"version", "--client", "--short"});
  EXPECT_EQ(r.out, "Client:\ntds-nodectl v1.11.0\n");
}

TEST(Reset, UnreachableMachinedIsAClearError) {
  tds::test::TempDir dir;
  auto r = run_args({"--socket", (dir.path() / "none.sock").string(), "reset", "--graceful=false"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("reset refused"));
}

TEST(Usage, UnknownSubcommandsAndFlagsAreUsageErrors) {
  EXPECT_EQ(run_args({"frobnicate"}).code, 2);
  EXPECT_EQ(run_args({"reset", "--graceful=maybe"}).code, 2);
  EXPECT_EQ(run_args({"gen"}).code, 2);
}

}  // namespace
}  // namespace nodectl
