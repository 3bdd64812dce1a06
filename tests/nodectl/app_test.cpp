// The nodectl command line in-process: `gen config` writes a private, valid config and never
// overwrites one by accident; bad options and an unreachable machined are clear errors.
#include "nodectl/app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "config/machine_config.h"
#include "tests/machined/temp_dir.h"

namespace nodectl {
namespace {

using tds::test::read_file;

using ::testing::HasSubstr;

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
                     "--cluster-name", "lab", "--type", "worker", "--hostname", "n1",
                     "--address", "10.0.0.1", "--address", "10.0.0.2", "-o", path.string()});
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
  ASSERT_EQ(run_args({"gen", "config", "--hostname", "n1", "-o", first.string()}).code, 0);
  auto r = run_args({"gen", "config", "--hostname", "n2", "--identity-from", first.string(), "-o",
                     second.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto a = config::discovery_identity(config::load_file(first.string()));
  const auto b = config::discovery_identity(config::load_file(second.string()));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->cluster_id, b->cluster_id);
  EXPECT_EQ(a->cluster_secret, b->cluster_secret);

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
