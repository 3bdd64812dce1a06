// The discovery-service's TLS over a real gRPC server on 127.0.0.1: served with the given pair,
// refused in plaintext, bad files refused at start, the pair re-read when the files change (a bad
// replacement keeps the old pair); and server reflection listing the Cluster service.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "discovery/server.grpc.pb.h"
#include "discovery/server/clock.h"
#include "discovery/server/listener_probe.h"
#include "discovery/server/service.h"
#include "discovery/server/state.h"
#include "tests/support/eventually.h"

namespace discovery::server {
namespace {

namespace fs = std::filesystem;
namespace pb = ::sidero::discovery::server;
using std::chrono::seconds;

std::string read_all(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void write_all(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Each check is a TLS handshake: a slower poll than the default.
bool handshake_eventually(const std::function<bool()>& done) {
  return tds::test::eventually(done, seconds(30), std::chrono::milliseconds(100));
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tds-discovery-tls-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    if (!make_pair("a")) GTEST_SKIP() << "openssl command line tool unavailable";
  }

  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // A self-signed P-256 pair for 127.0.0.1 in dir_/<name>.{crt,key}.
  bool make_pair(const std::string& name) {
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
        "/CN=discovery-test-" +
        name + " -addext subjectAltName=IP:127.0.0.1 -keyout " + (dir_ / (name + ".key")).string() +
        " -out " + (dir_ / (name + ".crt")).string() + " >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
  }

  fs::path cert() const { return dir_ / "server.crt"; }
  fs::path key() const { return dir_ / "server.key"; }

  // Puts pair `name` where the server reads it; each file replaced by rename, as tools do.
  void install(const std::string& name) {
    for (auto [from, to] : {std::pair{name + ".crt", cert()}, std::pair{name + ".key", key()}}) {
      fs::copy_file(dir_ / from, dir_ / "tmp", fs::copy_options::overwrite_existing);
      fs::rename(dir_ / "tmp", to);
    }
  }

  ServerOptions tls_options() const {
    ServerOptions options;
    options.address = "127.0.0.1:0";
    options.certificate_path = cert().string();
    options.key_path = key().string();
    options.tls_refresh_seconds = 1;
    return options;
  }

  void start_tls() { server_ = start_server(state_, tls_options()); }

  // One Hello over a fresh connection (a local subchannel pool, so no connection is reused).
  grpc::Status hello(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()),
                                             credentials, args);
    auto stub = pb::Cluster::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    pb::HelloRequest req;
    req.set_cluster_id("cluster1");
    req.set_client_version("v1.0.0");
    pb::HelloResponse resp;
    return stub->Hello(&ctx, req, &resp);
  }

  grpc::Status hello_trusting(const std::string& pair) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_all(dir_ / (pair + ".crt"));
    return hello(grpc::SslCredentials(ssl));
  }

  fs::path dir_;
  SteadyClock clock_;
  State state_{clock_};
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTest, ServesTlsWithTheGivenPairAndRefusesPlaintext) {
  install("a");
  start_tls();
  grpc::Status trusted = hello_trusting("a");
  EXPECT_TRUE(trusted.ok()) << trusted.error_message();

  EXPECT_EQ(hello(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(make_pair("other"));
  EXPECT_EQ(hello_trusting("other").error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a client that does not trust the server's certificate must not get through";
}

// The listener self-probe speaks TLS to a TLS listener: a TLS probe that would flip on one failed
// check stays healthy, while a plaintext one against the same port fails. Each probe ends within
// its 500 ms timeout, so the wait below spans finished TLS probes, not only ones in flight.
TEST_F(TlsTest, ListenerProbeSpeaksTls) {
  install("a");
  start_tls();
  const std::string target = "127.0.0.1:" + std::to_string(server_->port());
  const auto options = [&](bool tls) {
    return ListenerProbeOptions{.target = target,
                                .tls = tls,
                                .interval = std::chrono::milliseconds(50),
                                .timeout = std::chrono::milliseconds(500),
                                .failures = 1};
  };
  ListenerProbe tls(options(true));
  ListenerProbe plaintext(options(false));
  EXPECT_TRUE(tds::test::eventually([&] { return !plaintext.healthy(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(tls.healthy());
}

TEST_F(TlsTest, BadFilesAtStartAreAClearError) {
  auto start_error = [&](const ServerOptions& options) -> std::string {
    try {
      server_ = start_server(state_, options);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "started";
  };
  ASSERT_TRUE(make_pair("b"));

  EXPECT_EQ(start_error(tls_options()), "cannot read certificate " + cert().string());

  install("a");
  fs::remove(key());
  EXPECT_EQ(start_error(tls_options()), "cannot read key " + key().string());

  install("a");
  write_all(cert(), "not a certificate\n");
  EXPECT_EQ(start_error(tls_options()), "no PEM certificate in " + cert().string());

  install("a");
  write_all(key(), "not a key\n");
  EXPECT_EQ(start_error(tls_options()), "no PEM private key in " + key().string());

  install("a");
  fs::copy_file(dir_ / "b.key", key(), fs::copy_options::overwrite_existing);
  EXPECT_EQ(
      start_error(tls_options()),
      "the key in " + key().string() + " does not match the certificate in " + cert().string());

  ServerOptions half = tls_options();
  half.key_path.clear();
  EXPECT_EQ(start_error(half), "TLS needs both a certificate path and a key path");
  EXPECT_EQ(server_, nullptr);
}

TEST_F(TlsTest, PicksUpANewPairWithoutRestart) {
  ASSERT_TRUE(make_pair("b"));
  install("a");
  start_tls();
  ASSERT_TRUE(hello_trusting("a").ok());
  ASSERT_FALSE(hello_trusting("b").ok());

  install("b");
  EXPECT_TRUE(handshake_eventually([&] { return hello_trusting("b").ok(); }))
      << "the replaced pair was not picked up";
  EXPECT_FALSE(hello_trusting("a").ok()) << "the old pair is still served";
}

TEST_F(TlsTest, BadReplacementKeepsServingTheOldPair) {
  ASSERT_TRUE(make_pair("b"));
  install("a");
  start_tls();
  ASSERT_TRUE(hello_trusting("a").ok());

  // Nothing observable marks "the server looked and refused", so each bad state is held over
  // several refresh intervals (1 s each) while the old pair must keep working.
  auto old_pair_keeps_working = [&] {
    auto until = std::chrono::steady_clock::now() + seconds(3);
    while (std::chrono::steady_clock::now() < until) {
      grpc::Status status = hello_trusting("a");
      ASSERT_TRUE(status.ok()) << status.error_message();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  };
  write_all(cert(), "not a certificate\n");
  old_pair_keeps_working();
  fs::remove(cert());
  old_pair_keeps_working();

  // Half of a replacement: the new key, still without its certificate.
  install("a");
  fs::copy_file(dir_ / "b.key", dir_ / "tmp", fs::copy_options::overwrite_existing);
  fs::rename(dir_ / "tmp", key());
  old_pair_keeps_working();

  // The matching certificate arrives next: the good pair is then picked up.
  fs::copy_file(dir_ / "b.crt", dir_ / "tmp", fs::copy_options::overwrite_existing);
  fs::rename(dir_ / "tmp", cert());
  EXPECT_TRUE(handshake_eventually([&] { return hello_trusting("b").ok(); }));
}

// Server reflection (grpc.reflection.v1alpha, the version gRPC 1.51 serves) over a raw bidi
// call: the protos are not installed, and a list_services request is two bytes.
TEST(Reflection, ListsTheClusterServiceAndHealth) {
  SteadyClock clock;
  State state(clock);
  ServerOptions options;
  options.address = "127.0.0.1:0";
  auto server = start_server(state, options);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  // Runs one step and waits for it; the tag is the step's address.
  auto step = [&cq](auto&& start) {
    int tag = 0;
    start(&tag);
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(got, &tag);
    return ok;
  };
  ASSERT_TRUE(step([&](void* tag) { call->StartCall(tag); }));
  // ServerReflectionRequest{list_services (field 7): ""}
  grpc::Slice request_slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&request_slice, 1);
  ASSERT_TRUE(step([&](void* tag) { call->Write(request, tag); }));
  ASSERT_TRUE(step([&](void* tag) { call->WritesDone(tag); }));
  grpc::ByteBuffer reply;
  ASSERT_TRUE(step([&](void* tag) { call->Read(&reply, tag); }));
  grpc::Status status;
  step([&](void* tag) { call->Finish(&status, tag); });
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }

  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // ServiceResponse{name (field 1)} entries inside list_services_response: "\x0a" + length + name.
  auto has_service = [&bytes](const std::string& name) {
    return bytes.find("\x0a" + std::string(1, static_cast<char>(name.size())) + name) !=
           std::string::npos;
  };
  EXPECT_TRUE(has_service("sidero.discovery.server.Cluster"));
  EXPECT_TRUE(has_service("grpc.health.v1.Health"));
}

}  // namespace
}  // namespace discovery::server
