// Metrics: the exposition text for given stats, and the HTTP server answering /metrics, 404
// for other paths, and dropping garbage.
#include "machined/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace machined {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Metrics, RendersExpositionFormat) {
  std::vector<runtime::controller::ControllerStats> controllers{
      {"cluster.MemberController", 3, 2, 1}, {"odd\"name", 0, 0, 0}};
  runtime::state::InMemoryStateStats state{.resyncs = 4, .watchers = 7};
  kubernetes::ClientStats kubernetes{.requests = 9, .failures = 2, .watch_events = 5};
  platform::ListenerCounts api{.accepted = 6, .refused_total = 1, .refused_per_address = 8};
  ApiCallCounts calls{.local = 10, .node = 3, .nodes = 1, .refused = 2, .unreachable = 4};
  EXPECT_EQ(render_metrics(controllers, state, kubernetes, api, calls),
            "# HELP machined_controller_wakeups_total Input changes that woke the controller.\n"
            "# TYPE machined_controller_wakeups_total counter\n"
            "machined_controller_wakeups_total{controller=\"cluster.MemberController\"} 3\n"
            "machined_controller_wakeups_total{controller=\"odd\\\"name\"} 0\n"
            "# HELP machined_controller_reconciles_total Reconcile passes begun.\n"
            "# TYPE machined_controller_reconciles_total counter\n"
            "machined_controller_reconciles_total{controller=\"cluster.MemberController\"} 2\n"
            "machined_controller_reconciles_total{controller=\"odd\\\"name\"} 0\n"
            "# HELP machined_controller_crashes_total Starts and reconcile passes that failed.\n"
            "# TYPE machined_controller_crashes_total counter\n"
            "machined_controller_crashes_total{controller=\"cluster.MemberController\"} 1\n"
            "machined_controller_crashes_total{controller=\"odd\\\"name\"} 0\n"
            "# HELP machined_state_watchers Live watches on the resource store.\n"
            "# TYPE machined_state_watchers gauge\n"
            "machined_state_watchers 7\n"
            "# HELP machined_state_watch_resyncs_total Watchers that fell behind the event "
            "history and were rebootstrapped.\n"
            "# TYPE machined_state_watch_resyncs_total counter\n"
            "machined_state_watch_resyncs_total 4\n"
            "# HELP machined_kubernetes_requests_total Kubernetes API calls answered (the "
            "Kubernetes registry), watches included.\n"
            "# TYPE machined_kubernetes_requests_total counter\n"
            "machined_kubernetes_requests_total 9\n"
            "# HELP machined_kubernetes_failures_total Kubernetes API calls without an answer, "
            "with an error status, or whose watch ended in an error.\n"
            "# TYPE machined_kubernetes_failures_total counter\n"
            "machined_kubernetes_failures_total 2\n"
            "# HELP machined_kubernetes_watch_events_total Node events received on Kubernetes "
            "watches.\n"
            "# TYPE machined_kubernetes_watch_events_total counter\n"
            "machined_kubernetes_watch_events_total 5\n"
            "# HELP grpc_server_connections_accepted_total TCP connections handed to the gRPC "
            "server.\n"
            "# TYPE grpc_server_connections_accepted_total counter\n"
            "grpc_server_connections_accepted_total 6\n"
            "# HELP grpc_server_connections_refused_total TCP connections closed on arrival, by "
            "the cap they would have passed.\n"
            "# TYPE grpc_server_connections_refused_total counter\n"
            "grpc_server_connections_refused_total{cap=\"total\"} 1\n"
            "grpc_server_connections_refused_total{cap=\"per-address\"} 8\n"
            "# HELP machined_api_calls_total Calls to the TCP API by route: served here, "
            "forwarded to one node, one-to-many, or refused by routing.\n"
            "# TYPE machined_api_calls_total counter\n"
            "machined_api_calls_total{route=\"local\"} 10\n"
            "machined_api_calls_total{route=\"node\"} 3\n"
            "machined_api_calls_total{route=\"nodes\"} 1\n"
            "machined_api_calls_total{route=\"refused\"} 2\n"
            "# HELP machined_api_unreachable_nodes_total Other nodes a forwarded call could not "
            "reach, per node asked.\n"
            "# TYPE machined_api_unreachable_nodes_total counter\n"
            "machined_api_unreachable_nodes_total 4\n");
}

// Sends `request` on a fresh connection and returns everything the server writes back.
std::string exchange(int port, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  asio::write(socket, asio::buffer(request));
  std::string reply;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);  // until the server closes
  return reply;
}

TEST(Metrics, ServesOverHttp) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread thread([&] { io.run(); });
  auto server = start_metrics_server(io.get_executor(), "127.0.0.1:0",
                                     [] { return std::string("machined_up 1\n"); });
  ASSERT_GT(server->port(), 0);

  const std::string ok = exchange(server->port(),
                                  "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n");
  EXPECT_THAT(ok, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(ok, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(ok, HasSubstr("\r\n\r\nmachined_up 1\n# HELP process_cpu_seconds_total "));
  EXPECT_THAT(ok, HasSubstr("\nprocess_resident_memory_bytes "));

  EXPECT_THAT(exchange(server->port(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 404 Not Found\r\n"));
  // Not HTTP at all: the connection is dropped without a reply.
  EXPECT_EQ(exchange(server->port(), "\x01\x02garbage\r\n\r\n"), "");

  // An idle keep-alive connection does not hold up stop().
  asio::ip::tcp::socket idle(io);
  idle.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server->port())});
  server->stop();
  work.reset();
  thread.join();
}

TEST(Metrics, BadAddressIsAClearError) {
  asio::io_context io;
  EXPECT_THROW(start_metrics_server(io.get_executor(), "nonsense", [] { return ""; }),
               std::invalid_argument);
  EXPECT_THROW(start_metrics_server(io.get_executor(), "256.0.0.1:1", [] { return ""; }),
               std::runtime_error);
}

}  // namespace
}  // namespace machined
