// Runs the real discovery-service binary on 127.0.0.1:0, talks to it over gRPC, and checks that
// SIGTERM ends it cleanly and that its final snapshot brings the registry back after a restart.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

#include "discovery/server.grpc.pb.h"
#include "tests/support/child_process.h"

namespace {

namespace pb = ::sidero::discovery::server;

// A private directory for one test's snapshot, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "discovery-it-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The service on ephemeral loopback ports with its snapshot in `snapshot`, plus `extra` flags.
std::vector<std::string> service_args(const std::string& snapshot,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {DISCOVERY_SERVICE_BIN,  "--addr",           "127.0.0.1:0",
                                   "--landing-addr",       "127.0.0.1:0",      "--metrics-addr",
                                   "127.0.0.1:0",          "--snapshot-path",  snapshot};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

const std::regex kPort("event=listening .* port=([0-9]+)");

// Waits for `proc` to exit and expects exit status `code`.
void expect_exit(tds::test::ChildProcess& proc, int code) {
  auto status = proc.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << proc.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == code) << proc.output();
}

TEST(DiscoveryService, ServesAndStopsCleanlyOnSigterm) {
  const std::string cluster = "c2VjcmV0LWNsdXN0ZXItaWQtdGhhdC1tdXN0LW5vdC1sZWFr";
  TempDir dir;
  tds::test::ChildProcess proc(service_args(dir.file("state.bin"),
                            {"--gc-interval", "1s", "--redirect-endpoint", "other.example:443",
                             "--log-level", "debug"}));
  ASSERT_TRUE(proc.running());
  auto port = proc.wait_for_output(kPort, std::chrono::seconds(30));
  ASSERT_TRUE(port.has_value()) << proc.output();

  auto stub = pb::Cluster::NewStub(
      grpc::CreateChannel("127.0.0.1:" + *port, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    pb::HelloRequest req;
    req.set_cluster_id(cluster);
    pb::HelloResponse resp;
    ASSERT_TRUE(stub->Hello(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.client_ip(), std::string("\x7f\x00\x00\x01", 4));
    EXPECT_EQ(resp.redirect().endpoint(), "other.example:443");
  }
  {
    grpc::ClientContext ctx;
    pb::AffiliateUpdateRequest req;
    req.set_cluster_id(cluster);
    req.set_affiliate_id("af1");
    req.set_affiliate_data("data");
    req.mutable_ttl()->set_seconds(60);
    pb::AffiliateUpdateResponse resp;
    ASSERT_TRUE(stub->AffiliateUpdate(&ctx, req, &resp).ok());
  }
  grpc::ClientContext watch_ctx;
  pb::WatchRequest watch_req;
  watch_req.set_cluster_id(cluster);
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub->Watch(&watch_ctx, watch_req);
  pb::WatchResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_EQ(msg.affiliates_size(), 1);
  EXPECT_EQ(msg.affiliates(0).data(), "data");

  proc.signal(SIGTERM);
  // The open watch ends with OK and the process exits 0.
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_TRUE(reader->Finish().ok());
  expect_exit(proc, 0);
  EXPECT_NE(proc.output().find("event=stopped"), std::string::npos) << proc.output();
  EXPECT_EQ(proc.output().find(cluster), std::string::npos) << "cluster ID leaked into logs";
}

// Runs the service with its snapshot at `snapshot`, stores one affiliate ("cluster"/"af1") and
// stops it with SIGTERM, which saves the snapshot.
void save_one_affiliate(const std::string& snapshot) {
  tds::test::ChildProcess proc(service_args(snapshot));
  auto port = proc.wait_for_output(kPort, std::chrono::seconds(30));
  ASSERT_TRUE(port.has_value()) << proc.output();
  auto stub = pb::Cluster::NewStub(
      grpc::CreateChannel("127.0.0.1:" + *port, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  pb::AffiliateUpdateRequest req;
  req.set_cluster_id("cluster");
  req.set_affiliate_id("af1");
  req.set_affiliate_data("data");
  req.add_affiliate_endpoints("endpoint");
  req.mutable_ttl()->set_seconds(600);
  pb::AffiliateUpdateResponse resp;
  ASSERT_TRUE(stub->AffiliateUpdate(&ctx, req, &resp).ok());
  proc.signal(SIGTERM);
  expect_exit(proc, 0);
  EXPECT_NE(proc.output().find("event=state saved"), std::string::npos) << proc.output();
}

// Starts the service on `snapshot` and expects the affiliate save_one_affiliate stored.
void expect_affiliate_loaded(const std::string& snapshot) {
  tds::test::ChildProcess proc(service_args(snapshot));
  auto port = proc.wait_for_output(kPort, std::chrono::seconds(30));
  ASSERT_TRUE(port.has_value()) << proc.output();
  EXPECT_NE(proc.output().find("event=state loaded"), std::string::npos) << proc.output();
  auto stub = pb::Cluster::NewStub(
      grpc::CreateChannel("127.0.0.1:" + *port, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  pb::ListRequest req;
  req.set_cluster_id("cluster");
  pb::ListResponse resp;
  ASSERT_TRUE(stub->List(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.affiliates_size(), 1);
  EXPECT_EQ(resp.affiliates(0).data(), "data");
  EXPECT_EQ(resp.affiliates(0).endpoints_size(), 1);
}

TEST(DiscoveryService, FinalSnapshotSurvivesRestart) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  ASSERT_NO_FATAL_FAILURE(save_one_affiliate(snapshot));
  expect_affiliate_loaded(snapshot);
}

std::string contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(DiscoveryService, FailedFinalSaveIsRetriedThenExitsOneKeepingThePreviousFile) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  ASSERT_NO_FATAL_FAILURE(save_one_affiliate(snapshot));
  const std::string previous = contents(snapshot);
  tds::test::ChildProcess proc(service_args(snapshot));
  ASSERT_TRUE(proc.wait_for_output(kPort, std::chrono::seconds(30)).has_value()) << proc.output();
  // A directory where the save writes its temp file: the save fails, also for root, which
  // permission bits would not stop.
  std::filesystem::create_directory(snapshot + ".tmp");
  const auto stopping = std::chrono::steady_clock::now();
  proc.signal(SIGTERM);
  expect_exit(proc, 1);
  const auto stopped_after = std::chrono::steady_clock::now() - stopping;
  const std::string error = "cannot create " + snapshot + ".tmp: Is a directory";
  EXPECT_NE(proc.output().find("event=snapshot_final_save_failed path=" + snapshot +
                               " attempts=3 error=\"" + error + "\""),
            std::string::npos)
      << proc.output();
  std::size_t failures = 0;
  for (auto at = proc.output().find("event=snapshot_save_failed"); at != std::string::npos;
       at = proc.output().find("event=snapshot_save_failed", at + 1)) {
    ++failures;
  }
  EXPECT_EQ(failures, 3u) << proc.output();
  // Waits of 0.5 s and 1 s between the tries.
  EXPECT_GE(stopped_after, std::chrono::milliseconds(1500));
  EXPECT_EQ(proc.output().find("event=stopped"), std::string::npos) << proc.output();
  EXPECT_EQ(contents(snapshot), previous) << "the previous snapshot must be kept";
}

TEST(DiscoveryService, DamagedSnapshotHeaderKeepsRecordsUnlessStrict) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  ASSERT_NO_FATAL_FAILURE(save_one_affiliate(snapshot));
  {
    // One byte of the header's creation time (bytes 28-35), which no record depends on.
    std::fstream f(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('\x5a');
  }
  const std::string damaged_line =
      "event=snapshot_damaged path=" + snapshot + " offset=28 field=creation_time/tag";
  {
    tds::test::ChildProcess strict(service_args(snapshot, {"--snapshot-strict"}));
    expect_exit(strict, 1);
    EXPECT_NE(strict.output().find(damaged_line), std::string::npos) << strict.output();
    EXPECT_NE(strict.output().find("event=snapshot_strict"), std::string::npos) << strict.output();
  }
  // Without --snapshot-strict the record is read, and the damaged file is set aside.
  expect_affiliate_loaded(snapshot);
  bool set_aside = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file(""))) {
    set_aside |= entry.path().filename().string().starts_with("state.bin.damaged-");
  }
  EXPECT_TRUE(set_aside);
}

TEST(DiscoveryService, DamagedSnapshotWithStrictRefusesToStart) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  {
    FILE* f = fopen(snapshot.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs("\x0a\x7f garbage", f);  // upstream framing that claims more bytes than exist
    fclose(f);
  }
  tds::test::ChildProcess proc(service_args(snapshot, {"--snapshot-strict"}));
  expect_exit(proc, 1);
  EXPECT_NE(proc.output().find("snapshot_damaged path=" + snapshot + " offset=0"),
            std::string::npos)
      << proc.output();
  EXPECT_TRUE(std::filesystem::exists(snapshot)) << "the damaged file must be kept";
}

TEST(DiscoveryService, SnapshotPathThatIsADirectoryIsRefusedNamingIt) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  std::filesystem::create_directory(snapshot);
  tds::test::ChildProcess proc(service_args(snapshot));
  expect_exit(proc, 1);
  EXPECT_NE(proc.output().find("event=snapshot_refused path=" + snapshot + " error=\"" + snapshot +
                               " is a directory; the snapshot path must name a file\""),
            std::string::npos)
      << proc.output();
  EXPECT_TRUE(std::filesystem::is_directory(snapshot));
}

TEST(DiscoveryService, KeyFileOthersMayReadRefusesToStart) {
  TempDir dir;
  const std::string snapshot = dir.file("state.bin");
  const std::string key = dir.file("snapshot.key");
  std::ofstream(key) << std::string(64, 'a') << "\n";
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  {
    tds::test::ChildProcess proc(service_args(snapshot, {"--snapshot-key-file", key}));
    expect_exit(proc, 1);
    EXPECT_NE(proc.output().find("event=fatal error=\"key file " + key + " has mode 0644, "),
              std::string::npos)
        << proc.output();
    EXPECT_NE(proc.output().find("chmod 600 " + key), std::string::npos) << proc.output();
    EXPECT_FALSE(std::filesystem::exists(snapshot));
  }
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  tds::test::ChildProcess proc(service_args(snapshot, {"--snapshot-key-file", key}));
  EXPECT_TRUE(proc.wait_for_output(kPort, std::chrono::seconds(30)).has_value()) << proc.output();
}

TEST(DiscoveryService, BadFlagsFailWithAClearError) {
  tds::test::ChildProcess proc({DISCOVERY_SERVICE_BIN, "--gc-interval", "soon"});
  ASSERT_TRUE(proc.running());
  expect_exit(proc, 2);
  EXPECT_NE(proc.output().find("--gc-interval"), std::string::npos) << proc.output();
}

TEST(DiscoveryService, EmptyAddressFlagsTurnTheHttpListenersOff) {
  // `--landing-addr=` is the empty value; it must not take `--metrics-addr=` as its value.
  tds::test::ChildProcess proc({DISCOVERY_SERVICE_BIN, "--addr", "127.0.0.1:0",
                                "--landing-addr=", "--metrics-addr=", "--snapshots-enabled=false"});
  auto ports =
      proc.wait_for_output(std::regex("event=listening .* (landing_port=.* metrics_port=[0-9]+)"),
                           std::chrono::seconds(30));
  ASSERT_TRUE(ports.has_value()) << proc.output();
  EXPECT_EQ(*ports, "landing_port=0 metrics_port=0");
}

TEST(DiscoveryService, BadCommandLinesAreOneLineOnStderrAndStatusTwo) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--no-such-flag"},
                                               {"--log-level=loud"},
                                               {"--landing-addr", "nowhere"},
                                               {"--trusted-proxies", "10.0.0.0/99"},
                                               {"--snapshot-interval", "0s"},
                                               {"--addr"},
                                               // Not port 4464, as gRPC would take it.
                                               {"--addr", "127.0.0.1:70000"}}) {
    std::vector<std::string> command = {DISCOVERY_SERVICE_BIN};
    command.insert(command.end(), args.begin(), args.end());
    const auto r = tds::test::run_for_stderr(command, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_TRUE(r.output.starts_with("discovery-service: ")) << r.output;
    EXPECT_NE(r.output.find(args[0].substr(0, args[0].find('='))), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "one line: " << r.output;
  }
  const auto help =
      tds::test::run_to_exit({DISCOVERY_SERVICE_BIN, "--help"}, std::chrono::seconds(30));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--landing-addr"), std::string::npos) << help.output;
}

}  // namespace
