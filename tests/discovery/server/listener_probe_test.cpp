// The gRPC listener's self-probe: a port that takes connections but never answers gRPC (what a
// listener that stopped accepting looks like from outside) turns it unhealthy; a serving
// discovery gRPC server on that port makes it healthy again.
#include "discovery/server/listener_probe.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "discovery/server/service.h"
#include "discovery/server/state.h"
#include "tests/discovery/server/manual_clock.h"
#include "tests/support/eventually.h"

namespace discovery::server {
namespace {

using std::chrono::milliseconds;

TEST(ListenerProbe, SilentListenerIsUnhealthyUntilAServerAnswersAgain) {
  // Listening, never accepting: the kernel completes the handshakes, nothing speaks HTTP/2.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const int port = silent.local_endpoint().port();

  ListenerProbe probe({.target = "127.0.0.1:" + std::to_string(port),
                       .interval = milliseconds(50),
                       .timeout = milliseconds(200),
                       .failures = 2});
  EXPECT_TRUE(probe.healthy()) << "healthy until proven otherwise";
  EXPECT_TRUE(tds::test::eventually([&] { return !probe.healthy(); }))
      << "a listener that does not answer gRPC is not healthy";

  silent.close();
  test::ManualClock clock;
  State state(clock);
  ServerOptions options;
  options.address = "127.0.0.1:" + std::to_string(port);
  auto server = start_server(state, options);
  EXPECT_TRUE(tds::test::eventually([&] { return probe.healthy(); }))
      << "a serving listener on the port makes it healthy again";
  server->shutdown();
}

}  // namespace
}  // namespace discovery::server
