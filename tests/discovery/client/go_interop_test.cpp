// The upstream Go discovery client (tests/interop/cmd/goclient, from the Go module proxy) and our
// C++ client in one cluster on our in-process discovery-service: each decrypts the other, and
// endpoints both report for a third affiliate deduplicate (byte-identical AES-ECB).
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20

#include "discovery/client/client.h"
#include "discovery/server/service.h"
#include "discovery/server/state.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace discovery::client {
namespace {

using std::chrono::seconds;

// Each check lists the registry or copies the affiliate map: no need to spin.
constexpr auto kPoll = std::chrono::milliseconds(50);

const std::string kCluster = "interop-cluster";

std::string key_hex(const std::string& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

pb::Endpoint endpoint(std::string ip, std::uint32_t port) {
  pb::Endpoint e;
  e.set_ip(std::move(ip));
  e.set_port(port);
  return e;
}

TEST(GoInteropTest, GoAndCppClientsDecryptEachOther) {
  auto dir = std::filesystem::temp_directory_path() / ("tds-goclient-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string binary = (dir / "goclient").string();
  ::setenv("GOFLAGS", "-mod=mod", 1);
  {
    tds::test::ChildProcess build(
        {TDS_GO_PROGRAM, "-C", TDS_INTEROP_DIR, "build", "-o", binary, "./cmd/goclient"});
    auto status = build.wait_exit(std::chrono::minutes(5));
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << build.output();
  }

  server::SteadyClock clock;
  server::State state(clock);
  server::ServerOptions server_options;
  server_options.address = "127.0.0.1:0";
  auto server = server::start_server(state, server_options);
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  const std::string key(32, '\x42');

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread notify_thread([&] { io.run(); });

  Options options;
  options.endpoint = address;
  options.insecure = true;
  options.cluster_id = kCluster;
  options.affiliate_id = "cpp";
  options.key = key;
  options.client_version = "v1.8.0";
  auto cpp = start_client(options, io.get_executor(), [] {});
  Affiliate local;
  local.data.set_node_id("cpp");
  local.data.set_hostname("host-cpp");
  local.data.mutable_kubespan()->set_public_key("cpp-public-key");
  local.endpoints.push_back(endpoint(std::string("\x0a\x00\x00\x08", 4), 51820));
  // 192.0.2.2:1002 is also what the Go peer reports for "shared": the server must keep one copy.
  cpp->set_local_data(local, {{"shared",
                               {endpoint(std::string("\xc0\x00\x02\x02", 4), 1002),
                                endpoint(std::string("\xc0\x00\x02\x03", 4), 1003)}}});

  tds::test::ChildProcess go({binary, "-endpoint", address, "-cluster", kCluster, "-id", "go",
                              "-key", key_hex(key), "-hostname", "host-go", "-other-id", "shared"});

  // Go decrypts ours: data and the endpoint.
  EXPECT_TRUE(go.wait_for_output(std::regex("peer id=cpp hostname=host-cpp "
                                            "public_key=cpp-public-key endpoints=10.0.0.8:51820"),
                                 seconds(30)))
      << go.output();

  // We decrypt Go's.
  std::shared_ptr<const Affiliate> seen;
  tds::test::eventually(
      [&] {
        auto map = cpp->affiliates();
        if (auto it = map->find("go"); it != map->end()) seen = it->second;
        return seen != nullptr;
      },
      seconds(30), kPoll);
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->data.hostname(), "host-go");
  EXPECT_EQ(seen->data.kubespan().public_key(), "go-public-key");
  ASSERT_EQ(seen->data.kubespan().exclude_advertised_addresses_size(), 1);
  ASSERT_EQ(seen->endpoints.size(), 1u);
  EXPECT_EQ(seen->endpoints[0].ip(), std::string("\x0a\x00\x00\x09", 4));
  EXPECT_EQ(seen->endpoints[0].port(), 51820u);

  // Go reports .1 and .2 for "shared", we report .2 and .3; each write is one request, so three
  // endpoints means both landed and .2 deduplicated (four would mean the ciphertexts differ).
  std::size_t shared_endpoints = 0;
  tds::test::eventually(
      [&] {
        for (const auto& a : state.list(kCluster)) {
          if (a->id == "shared") shared_endpoints = a->endpoints.size();
        }
        return shared_endpoints >= 3;
      },
      seconds(30), kPoll);
  EXPECT_EQ(shared_endpoints, 3u);

  cpp.reset();
  work.reset();
  notify_thread.join();
  server->shutdown();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace discovery::client
