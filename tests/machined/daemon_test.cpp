// The daemon in-process: the read-write State API on a 0600 unix socket, the read-only one plus
// Version over TLS, metrics, the state-dir lock, config errors and reloads, reset, and a clean
// stop.
#include "machined/daemon.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "machine/machine.grpc.pb.h"
#include "machined/machine_service.h"
#include "tests/machined/channels.h"
#include "tests/machined/temp_dir.h"
#include "tests/runtime/controller/test_util.h"

namespace machined {
namespace {

using tds::test::read_file;

namespace wire = ::cosi::resource;
using runtime::controller::testing::eventually;
using ::testing::HasSubstr;

DaemonOptions options_for(const std::filesystem::path& dir) {
  DaemonOptions options;
  options.state_dir = dir / "state";
  options.api_addr = "127.0.0.1:0";
  options.api_insecure = true;
  return options;
}

using tds::test::unix_channel;

constexpr auto tls_channel = &tds::test::insecure_tls_channel;

std::vector<std::string> list_ids(wire::State::Stub& stub, const std::string& ns,
                                  const std::string& type) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  wire::ListRequest request;
  request.set_namespace_(ns);
  request.set_type(type);
  auto reader = stub.List(&ctx, request);
  std::vector<std::string> ids;
  wire::ListResponse response;
  while (reader->Read(&response)) ids.push_back(response.resource().metadata().id());
  EXPECT_TRUE(reader->Finish().ok());
  return ids;
}

grpc::Status create_namespace(wire::State::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  wire::CreateRequest request;
  auto* md = request.mutable_resource()->mutable_metadata();
  md->set_namespace_("meta");
  md->set_type("Namespaces.meta.cosi.dev");
  md->set_id(id);
  md->set_version("1");
  md->set_phase("running");
  request.mutable_resource()->mutable_spec()->set_yaml_spec("description: test\n");
  wire::CreateResponse response;
  return stub.Create(&ctx, request, &response);
}

TEST(Daemon, ServesBothSurfacesAndStopsCleanly) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  options.metrics_addr = "127.0.0.1:0";
  auto daemon = start_daemon(options);
  ASSERT_GT(daemon->api_port(), 0);
  EXPECT_GT(daemon->metrics_port(), 0);
  EXPECT_EQ(daemon->socket_path(), options.state_dir / "machined.sock");

  struct stat st {};
  ASSERT_EQ(stat(daemon->socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto local = wire::State::NewStub(unix_channel(daemon->socket_path()));
  auto remote = wire::State::NewStub(tls_channel(daemon->api_port()));
  const auto rds = list_ids(*local, "meta", "ResourceDefinitions.meta.cosi.dev");
  EXPECT_THAT(rds, ::testing::Contains("namespaces.meta.cosi.dev"));
  EXPECT_EQ(list_ids(*remote, "meta", "ResourceDefinitions.meta.cosi.dev"), rds);

  const grpc::Status denied = create_namespace(*remote, "from-api");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(create_namespace(*local, "from-socket").ok());
  EXPECT_THAT(list_ids(*remote, "meta", "Namespaces.meta.cosi.dev"),
              ::testing::Contains("from-socket"));
  EXPECT_THAT(list_ids(*remote, "meta", "Namespaces.meta.cosi.dev"),
              ::testing::Not(::testing::Contains("from-api")));

  for (auto channel : {unix_channel(daemon->socket_path()), tls_channel(daemon->api_port())}) {
    grpc::ClientContext ctx;
    ::machine::VersionResponse version;
    ASSERT_TRUE(::machine::MachineService::NewStub(channel)
                    ->Version(&ctx, google::protobuf::Empty(), &version)
                    .ok());
    EXPECT_EQ(version.messages(0).version().tag(), platform::kTalosApiTag);
  }

  daemon->stop();
  daemon->stop();
  EXPECT_FALSE(std::filesystem::exists(options.state_dir / "machined.sock"));
  EXPECT_TRUE(std::filesystem::exists(options.state_dir / "api.crt"));
}

// A second daemon with `second`'s options fails to start, saying `why`, and `first` keeps
// serving on its socket.
void expect_second_refused(const Daemon& first, const DaemonOptions& second,
                           const std::string& why) {
  try {
    start_daemon(second);
    ADD_FAILURE() << "the second daemon started";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(why));
  }
  auto local = wire::State::NewStub(unix_channel(first.socket_path()));
  EXPECT_FALSE(list_ids(*local, "meta", "Namespaces.meta.cosi.dev").empty());
}

// --socket naming a live daemon's socket: the second daemon refuses, and the first keeps it.
TEST(Daemon, ALiveSocketIsNotTakenOver) {
  tds::test::TempDir dir;
  auto first = start_daemon(options_for(dir.path() / "one"));
  auto options = options_for(dir.path() / "two");
  options.socket_path = first->socket_path();
  expect_second_refused(*first, options, "in use by another process");
}

// The state dir holds keys: a pre-existing one open to others is closed to them.
TEST(Daemon, StateDirIsTightenedToTheOwner) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  std::filesystem::create_directories(options.state_dir);
  std::filesystem::permissions(options.state_dir, std::filesystem::perms::all);
  auto daemon = start_daemon(options);
  EXPECT_EQ(std::filesystem::status(options.state_dir).permissions(),
            std::filesystem::perms::owner_all);
}

TEST(Daemon, StateDirIsExclusive) {
  tds::test::TempDir dir;
  auto first = start_daemon(options_for(dir.path()));
  // The first one's socket survives the attempt.
  expect_second_refused(*first, options_for(dir.path()), "in use by another machined");
}

// A directory, an empty file or an oversized file in the config's place is an error naming the
// path, not a node that starts with no config.
TEST(Daemon, RefusesAConfigThatCannotBeOne) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  const auto expect_refused = [&](const std::filesystem::path& path, const std::string& why) {
    options.config_path = path;
    try {
      start_daemon(options);
      ADD_FAILURE() << path << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string()));
      EXPECT_THAT(e.what(), HasSubstr(why));
    }
  };
  std::filesystem::create_directories(dir.path() / "a-dir");
  expect_refused(dir.path() / "a-dir", "not a regular file");
  std::ofstream(dir.path() / "empty.yaml").flush();
  expect_refused(dir.path() / "empty.yaml", "the file is empty");
  {
    std::ofstream big(dir.path() / "big.yaml");
    big << "version: v1alpha1\n# " << std::string(2 << 20, 'x') << "\n";
  }
  expect_refused(dir.path() / "big.yaml", "more than the 1048576");
}

TEST(Daemon, StartupErrorsAreClear) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  options.config_path = dir.path() / "missing.yaml";
  try {
    start_daemon(options);
    FAIL() << "a missing config was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.yaml"));
  }

  options = options_for(dir.path());
  options.api_addr = "127.0.0.1:nope";
  EXPECT_THROW(start_daemon(options), std::invalid_argument);

  options = options_for(dir.path());
  options.tls_cert = dir.path() / "only-cert.pem";
  try {
    start_daemon(options);
    FAIL() << "a certificate without a key was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--tls-key"));
  }

  options = options_for(dir.path());
  options.socket_path = "/tmp/" + std::string(120, 's');
  EXPECT_THROW(start_daemon(options), std::runtime_error);
}

std::string config_version(wire::State::Stub& stub) {
  grpc::ClientContext ctx;
  wire::GetRequest request;
  request.set_namespace_("config");
  request.set_type("MachineConfigs.config.talos.dev");
  request.set_id("v1alpha1");
  wire::GetResponse response;
  const grpc::Status status = stub.Get(&ctx, request, &response);
  return status.ok() ? response.resource().metadata().version() : status.error_message();
}

constexpr char kWorkerConfig[] = "version: v1alpha1\nmachine:\n  type: worker\n";

// Options whose config file holds `yaml`.
DaemonOptions options_with_config(const std::filesystem::path& dir, const std::string& yaml) {
  auto options = options_for(dir);
  options.config_path = dir / "config.yaml";
  std::ofstream(options.config_path) << yaml;
  return options;
}

TEST(Daemon, ConfigIsStoredAndReloadedOnlyWhenValid) {
  tds::test::TempDir dir;
  const auto options = options_with_config(dir.path(), kWorkerConfig);
  auto daemon = start_daemon(options);
  auto local = wire::State::NewStub(unix_channel(daemon->socket_path()));
  EXPECT_EQ(config_version(*local), "1");

  daemon->reload_config();  // same text: not a write
  EXPECT_EQ(config_version(*local), "1");

  std::ofstream(options.config_path) << "version: v1alpha1\nmachine: [not, a, map]\n";
  EXPECT_THROW(daemon->reload_config(), std::runtime_error);
  EXPECT_EQ(config_version(*local), "1");

  std::filesystem::remove(options.config_path);
  EXPECT_THROW(daemon->reload_config(), std::runtime_error);
  EXPECT_EQ(config_version(*local), "1");

  std::ofstream(options.config_path) << "version: v1alpha1\nmachine:\n  type: controlplane\n";
  daemon->reload_config();
  EXPECT_EQ(config_version(*local), "2");
}

TEST(Daemon, ConfigFileChangesAreReloadedWithoutASignal) {
  tds::test::TempDir dir;
  const auto options = options_with_config(dir.path(), kWorkerConfig);
  auto daemon = start_daemon(options);
  auto local = wire::State::NewStub(unix_channel(daemon->socket_path()));
  ASSERT_EQ(config_version(*local), "1");

  // Saved the way editors do: a new file renamed over the old one.
  const auto next = dir.path() / "config.yaml.new";
  std::ofstream(next) << "version: v1alpha1\nmachine:\n  type: controlplane\n";
  std::filesystem::rename(next, options.config_path);
  EXPECT_TRUE(eventually([&] { return config_version(*local) == "2"; }));
}

grpc::Status reset(const std::shared_ptr<grpc::Channel>& channel, bool graceful) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ::machine::ResetRequest request;
  request.set_graceful(graceful);
  ::machine::ResetResponse response;
  return ::machine::MachineService::NewStub(channel)->Reset(&ctx, request, &response);
}

TEST(Daemon, ResetSignalsLeavesAsksToStopAndWipesTheNodeState) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  std::atomic<int> exit_requests{0};
  options.on_exit_request = [&] { ++exit_requests; };
  auto daemon = start_daemon(options);
  const auto identity = options.state_dir / "node-identity.yaml";
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(identity); }));
  const std::string first_identity = read_file(identity);

  // Not over TLS: that surface is read-only.
  EXPECT_EQ(reset(tls_channel(daemon->api_port()), true).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(exit_requests, 0);

  // No discovery service configured: nothing to leave, so the daemon asks to stop at once.
  ASSERT_TRUE(reset(unix_channel(daemon->socket_path()), true).ok());
  EXPECT_TRUE(eventually([&] { return exit_requests == 1; }));
  auto local = wire::State::NewStub(unix_channel(daemon->socket_path()));
  EXPECT_EQ(list_ids(*local, "runtime", "MachineResetSignals.runtime.talos.dev"),
            std::vector<std::string>{"machine"});
  const auto again = reset(unix_channel(daemon->socket_path()), true);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), HasSubstr("already in progress"));
  EXPECT_TRUE(std::filesystem::exists(identity));  // wiped on the way out, not before

  daemon->stop();
  EXPECT_EQ(exit_requests, 1);
  EXPECT_FALSE(std::filesystem::exists(identity));
  EXPECT_FALSE(std::filesystem::exists(options.state_dir / "api.crt"));
  EXPECT_FALSE(std::filesystem::exists(options.state_dir / "api.key"));

  // The next start is a new node.
  daemon.reset();
  daemon = start_daemon(options);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(identity); }));
  EXPECT_NE(read_file(identity), first_identity);
}

// The KubeSpan key is node state too: a reset node comes back with a new WireGuard key, as a
// Talos node whose STATE partition was wiped does.
TEST(Daemon, ResetWipesEveryFileItsControllersDeclare) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  std::filesystem::create_directories(options.state_dir);
  options.config_path = dir.path() / "config.yaml";
  std::ofstream(options.config_path)
      << "version: v1alpha1\nmachine:\n  type: worker\n  network:\n    kubespan:\n"
      << "      enabled: true\ncluster:\n  clusterName: c\n"
      // KubeSpan needs discovery; nothing listens there, and the reset does not wait for it.
      << "---\napiVersion: v1alpha1\nkind: DiscoveryServiceConfig\nname: none\n"
      << "endpoint: http://127.0.0.1:1\n"
      << "---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: c1\n"
      << "clusterSecret: kCQsKr4B28VUl7qw1sVkTDNF9fFH++ViIuKsss+C6kc=\n"
      << "---\napiVersion: v1alpha1\nkind: HostConfig\nhardwareAddress: 02:00:00:00:00:01\n";
  std::atomic<int> exit_requests{0};
  options.on_exit_request = [&] { ++exit_requests; };
  const auto key_file = options.state_dir / "kubespan-identity.yaml";
  const auto identity = options.state_dir / "node-identity.yaml";

  auto daemon = start_daemon(options);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(key_file); }));
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(identity); }));
  const std::string first_key = read_file(key_file);
  ASSERT_TRUE(reset(unix_channel(daemon->socket_path()), false).ok());
  EXPECT_TRUE(eventually([&] { return exit_requests == 1; }));
  daemon->stop();
  EXPECT_FALSE(std::filesystem::exists(key_file));
  EXPECT_FALSE(std::filesystem::exists(identity));
  EXPECT_TRUE(std::filesystem::exists(options.config_path));  // the operator's

  daemon.reset();
  daemon = start_daemon(options);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(key_file); }));
  EXPECT_NE(read_file(key_file), first_key);
}

TEST(Daemon, LoadsPluginsAndRefusesToStartWithABadOne) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  options.plugin_dir = dir.path() / "plugins";
  std::filesystem::create_directories(options.plugin_dir);
  std::filesystem::copy_file(MEMBER_SUMMARY_PLUGIN, options.plugin_dir / "member_summary.so");
  {
    auto daemon = start_daemon(options);
    auto local = wire::State::NewStub(unix_channel(daemon->socket_path()));
    EXPECT_THAT(list_ids(*local, "meta", "ResourceDefinitions.meta.cosi.dev"),
                ::testing::Contains("membersummaries.example.tds.dev"));
    // The plugin's controller runs: it writes its summary (no members without discovery).
    EXPECT_TRUE(eventually([&] {
      return list_ids(*local, "cluster", "MemberSummaries.example.tds.dev") ==
             std::vector<std::string>{"members"};
    }));
  }

  std::ofstream(options.plugin_dir / "broken.so") << "not a shared object";
  try {
    start_daemon(options);
    FAIL() << "started with a broken plugin";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("broken.so"));
  }
  EXPECT_FALSE(std::filesystem::exists(options.state_dir / "machined.sock"));
}

TEST(Daemon, StoppingWithoutAResetKeepsTheIdentity) {
  tds::test::TempDir dir;
  auto options = options_for(dir.path());
  auto daemon = start_daemon(options);
  const auto identity = options.state_dir / "node-identity.yaml";
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(identity); }));
  daemon->stop();
  EXPECT_TRUE(std::filesystem::exists(identity));
}

}  // namespace
}  // namespace machined
