// member_watch: the convergence benchmark's probe (tests/bench/convergence.sh). Watches the
// Members of many machined nodes over their unix sockets from one process and one thread, and
// prints the wall-clock time at which each node, and then all of them, saw the expected count.
// A watch per node instead of polling `nodectl get members`: no process per check. Besides the
// time the probe saw it (at_ms), each line carries the newest member's `created` stamp in that
// node's store (created_ms): when the node really got there, even if the probe connected later.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <cstdio>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/api/state_client.h"

namespace {

namespace state = runtime::state;

constexpr const char* kNamespace = "cluster";
constexpr const char* kMemberType = "Members.cluster.talos.dev";

long long ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
long long now_ms() { return ms(std::chrono::system_clock::now()); }

// Owned by the io_context's single thread.
struct Node {
  std::string socket;
  std::unique_ptr<state::State> client;
  std::unique_ptr<state::Watch> watch;
  std::map<std::string, long long> members;  // id -> created, ms since the epoch
  long long reached_ms = 0;  // last time the count became `expect`; 0 while below
  long long created_ms = 0;  // newest member's created stamp at that time
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"member_watch: report when every machined sees the expected member count"};
  int expect = 0;
  int timeout_s = 120;
  std::vector<std::string> sockets;
  app.add_option("--expect", expect, "member count every node must reach")->required();
  app.add_option("--timeout", timeout_s, "give up after this many seconds")->capture_default_str();
  app.add_option("sockets", sockets, "machined unix sockets")->required();
  CLI11_PARSE(app, argc, argv);

  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  std::vector<Node> nodes(sockets.size());
  int converged = 0;  // nodes whose count is `expect` right now
  long long created_max = 0;
  int status = 1;
  bool done = false;

  // Posted, not called from a watch callback: a watch is not destroyed inside its own callback.
  auto finish = [&](int code) {
    if (done) return;
    done = true;
    status = code;
    for (auto& n : nodes) n.watch.reset();
    work.reset();
    io.stop();
  };

  for (std::size_t i = 0; i < sockets.size(); ++i) {
    Node& node = nodes[i];
    node.socket = sockets[i];
    node.client = runtime::api::make_state_client(
        grpc::CreateChannel("unix:" + node.socket, grpc::InsecureChannelCredentials()));
    state::WatchKindOptions opts;
    opts.bootstrap_contents = true;
    auto on_batch = [&, i](state::WatchBatch batch) {
      if (done) return;
      Node& n = nodes[i];
      const bool was = static_cast<int>(n.members.size()) == expect;
      if (batch.resync) n.members.clear();
      for (const auto& e : batch.events) {
        switch (e.type) {
          case state::EventType::kCreated:
          case state::EventType::kUpdated:
            n.members[e.resource->metadata.id] = ms(e.resource->metadata.created);
            break;
          case state::EventType::kDestroyed:
            n.members.erase(e.resource->metadata.id);
            break;
          case state::EventType::kErrored:
            std::printf("error socket=%s error=\"%s\"\n", n.socket.c_str(), e.error.c_str());
            std::fflush(stdout);
            boost::asio::post(io, [&finish] { finish(2); });
            return;
          default:
            break;
        }
      }
      const bool is = static_cast<int>(n.members.size()) == expect;
      if (is == was) return;
      if (is) {
        n.reached_ms = now_ms();
        n.created_ms = 0;
        for (const auto& m : n.members) n.created_ms = std::max(n.created_ms, m.second);
        created_max = std::max(created_max, n.created_ms);
        ++converged;
        std::printf("node socket=%s members=%d at_ms=%lld created_ms=%lld\n", n.socket.c_str(),
                    expect, n.reached_ms, n.created_ms);
      } else {
        --converged;
        std::printf("node_left socket=%s members=%zu at_ms=%lld\n", n.socket.c_str(),
                    n.members.size(), now_ms());
      }
      if (converged == static_cast<int>(nodes.size())) {
        std::printf("all nodes=%zu members=%d at_ms=%lld created_ms=%lld\n", nodes.size(), expect,
                    now_ms(), created_max);
        std::fflush(stdout);
        boost::asio::post(io, [&finish] { finish(0); });
      }
    };
    try {
      node.watch = node.client->watch_kind(state::Kind{kNamespace, kMemberType},
                                           io.get_executor(), on_batch, opts);
    } catch (const std::exception& e) {
      std::printf("error socket=%s error=\"%s\"\n", node.socket.c_str(), e.what());
      return 2;
    }
  }
  std::printf("watching nodes=%zu at_ms=%lld\n", nodes.size(), now_ms());
  std::fflush(stdout);

  boost::asio::steady_timer deadline(io, std::chrono::seconds(timeout_s));
  deadline.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    std::printf("timeout converged=%d of %zu\n", converged, nodes.size());
    for (const auto& n : nodes) {
      if (static_cast<int>(n.members.size()) != expect) {
        std::printf("behind socket=%s members=%zu\n", n.socket.c_str(), n.members.size());
      }
    }
    finish(1);
  });
  io.run();
  deadline.cancel();
  nodes.clear();
  return status;
}
