// What machined's TCP API costs per call: one State Get over the unix socket (no proxy), over the
// TCP API with mutual TLS (proxy, then the in-process services), and routed through that node to
// another node of the cluster (a second proxy hop over mutual TLS). Two daemons run in this
// process on 127.0.0.1 with ephemeral ports; each call is a synchronous unary Get on a warm
// connection, so the figure is latency per call.
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "cosi/v1alpha1/state.grpc.pb.h"
#include "machined/daemon.h"
#include "pki/x509.h"
#include "tests/support/ca_config.h"

namespace {

namespace wire = ::cosi::resource;

// Two nodes of one cluster, for the whole run.
class Cluster {
 public:
  Cluster() {
    dir_ = std::filesystem::temp_directory_path() /
           ("tds-api-bench-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    ca_ = pki::generate_ca("talos");
    for (int i = 0; i < 2; ++i) {
      const auto config = dir_ / ("node-" + std::to_string(i) + ".yaml");
      std::ofstream(config) << tds::test::config_with_ca(ca_);
      machined::DaemonOptions options;
      options.state_dir = dir_ / ("state-" + std::to_string(i));
      options.config_path = config;
      options.api_addr = "127.0.0.1:0";
      nodes_.push_back(machined::start_daemon(options));
    }
  }
  ~Cluster() {
    nodes_.clear();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::shared_ptr<grpc::Channel> socket_channel() const {
    return grpc::CreateChannel("unix:" + nodes_[0]->socket_path().string(),
                               grpc::InsecureChannelCredentials());
  }
  std::shared_ptr<grpc::Channel> api_channel() const {
    const auto client = pki::issue(
        ca_,
        {.common_name = "bench", .organizations = {"os:reader"}, .usage = pki::Usage::kClient});
    grpc::SslCredentialsOptions ssl{ca_.cert_pem, client.key_pem, client.cert_pem};
    return grpc::CreateChannel(address(0), grpc::SslCredentials(ssl));
  }
  std::string address(int i) const { return "127.0.0.1:" + std::to_string(nodes_[i]->api_port()); }

 private:
  std::filesystem::path dir_;
  pki::KeyPair ca_;
  std::vector<std::unique_ptr<machined::Daemon>> nodes_;
};

Cluster& cluster() {
  static Cluster c;
  return c;
}

void get_loop(benchmark::State& state, const std::shared_ptr<grpc::Channel>& channel,
              const std::string& node) {
  auto stub = wire::State::NewStub(channel);
  wire::GetRequest request;
  request.set_namespace_("meta");
  request.set_type("Namespaces.meta.cosi.dev");
  request.set_id("cluster");
  for (auto _ : state) {
    grpc::ClientContext ctx;
    if (!node.empty()) ctx.AddMetadata("node", node);
    wire::GetResponse response;
    const auto status = stub->Get(&ctx, request, &response);
    if (!status.ok()) {
      state.SkipWithError(status.error_message().c_str());
      return;
    }
    benchmark::DoNotOptimize(response);
  }
}

void BM_GetOverSocket(benchmark::State& state) { get_loop(state, cluster().socket_channel(), ""); }
void BM_GetOverApi(benchmark::State& state) { get_loop(state, cluster().api_channel(), ""); }
void BM_GetRoutedToAnotherNode(benchmark::State& state) {
  get_loop(state, cluster().api_channel(), cluster().address(1));
}

BENCHMARK(BM_GetOverSocket)->UseRealTime();
BENCHMARK(BM_GetOverApi)->UseRealTime();
BENCHMARK(BM_GetRoutedToAnotherNode)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
