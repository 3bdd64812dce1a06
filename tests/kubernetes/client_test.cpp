// The Node client against a scripted HTTPS server on 127.0.0.1: authentication, TLS verification,
// timeouts, paging, error answers, watch streams and cancel().
#include "kubernetes/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/kubernetes/support.h"
#include "tests/support/eventually.h"

namespace kubernetes {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeApiServer;
using test::FakeRequest;
using test::Responder;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;

const test::TestPki& pki() {
  static const test::TestPki instance;
  return instance;
}

Credentials token_credentials(const FakeApiServer& server, const std::string& token = "tok") {
  Credentials c;
  c.server = server.url();
  c.ca_pem = pki().ca.cert;
  c.token = token;
  c.description = "test token";
  return c;
}

// The ApiError a call throws; fails the test when it returns.
template <class Call>
ApiError error_of(Call&& call) {
  try {
    call();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(-1, "", "");
}

TEST(Client, GetNodeWithBearerToken) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    if (r.authorization != "Bearer tok")
      return out.reply(401, test::status_json(401, "Unauthorized", "Unauthorized"));
    out.reply(200, test::node_json("node-1", "7", {{"a", "b"}}));
  });
  auto client = make_client(token_credentials(server));
  const ClientStats before = client_stats();
  const Node node = client->get_node("node-1");
  EXPECT_EQ(client_stats().requests, before.requests + 1);
  EXPECT_EQ(client_stats().failures, before.failures);
  EXPECT_EQ(node.name, "node-1");
  EXPECT_EQ(node.resource_version, "7");
  EXPECT_EQ(node.annotations.at("a"), "b");
  EXPECT_EQ(node.hostname, "node-1");
  EXPECT_EQ(node.os_image, "Talos (v1.9.0)");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/api/v1/nodes/node-1");
  EXPECT_EQ(server.requests()[0].client_cn, "");

  const ApiError denied =
      error_of([&] { make_client(token_credentials(server, "bad"))->get_node("node-1"); });
  EXPECT_EQ(denied.status(), 401);
  EXPECT_EQ(denied.reason(), "Unauthorized");
  EXPECT_THAT(denied.what(), HasSubstr("GET " + server.url() +
                                       "/api/v1/nodes/node-1: 401 "
                                       "Unauthorized: Unauthorized; credentials: test token"));
}

TEST(Client, ClientCertificate) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    out.reply(200, test::node_json(r.client_cn, "1"));
  });
  Credentials c;
  c.server = server.url();
  c.ca_pem = pki().ca.cert;
  c.client_cert_pem = pki().node_client.cert;
  c.client_key_pem = pki().node_client.key;
  EXPECT_EQ(make_client(c)->get_node("x").name, "system:node:node-1");
  EXPECT_TRUE(server.requests()[0].authorization.empty());
}

TEST(Client, BadPemIsACredentialsError) {
  Credentials c;
  c.server = "https://127.0.0.1:1";
  c.description = "kubeconfig k";
  c.ca_pem = "garbage";
  EXPECT_THROW(make_client(c), CredentialsError);
  c.ca_pem.clear();
  c.client_cert_pem = pki().node_client.cert;
  c.client_key_pem = pki().admin_client.key;  // not this certificate's key
  try {
    make_client(c);
    FAIL() << "a mismatched key was accepted";
  } catch (const CredentialsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("kubeconfig k: the client key does not match"));
  }
  c.client_key_pem = "nope";
  EXPECT_THROW(make_client(c), CredentialsError);
  c = {};
  c.server = "http://127.0.0.1:1";
  EXPECT_THROW(make_client(c), CredentialsError);
}

TEST(Client, WrongCaFailsVerificationClearly) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.reply(200, test::node_json("n", "1"));
  });
  const test::Pem other_ca = test::make_certificate("other-ca", nullptr, true);
  Credentials c = token_credentials(server);
  c.ca_pem = other_ca.cert;
  const ApiError error = error_of([&] { make_client(c)->get_node("n"); });
  EXPECT_EQ(error.status(), 0);
  EXPECT_THAT(error.what(), HasSubstr("GET " + server.url() +
                                      "/api/v1/nodes/n: no answer: TLS "
                                      "handshake with 127.0.0.1:"));
  EXPECT_THAT(error.what(), HasSubstr("certificate verify failed ("));
  EXPECT_THAT(error.what(), HasSubstr("trusting the credentials' certificate authority"));
  EXPECT_TRUE(server.requests().empty());

  c.ca_pem.clear();
  c.insecure_skip_verify = true;
  EXPECT_EQ(make_client(c)->get_node("n").name, "n");
}

TEST(Client, CertificateForAnotherAddressIsRefused) {
  const test::Pem elsewhere = test::make_certificate("elsewhere", &pki().ca, false, "127.0.0.2");
  FakeApiServer server(elsewhere, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.reply(200, test::node_json("n", "1"));
  });
  const ApiError error = error_of([&] { make_client(token_credentials(server))->get_node("n"); });
  EXPECT_EQ(error.status(), 0);
  EXPECT_THAT(error.what(), HasSubstr("IP address mismatch"));
}

TEST(Client, RequestTimeout) {
  FakeApiServer server(pki().server, pki().ca.cert,
                       [](const FakeRequest&, Responder& out) { out.wait_for_stop(seconds(10)); });
  ClientOptions options;
  options.request_timeout = milliseconds(300);
  auto client = make_client(token_credentials(server), options);
  const auto start = SteadyClock::now();
  const ApiError error = error_of([&] { client->list_nodes(); });
  EXPECT_LT(SteadyClock::now() - start, seconds(5));
  EXPECT_EQ(error.status(), 0);
  EXPECT_THAT(error.what(),
              HasSubstr("no answer: timed out waiting for the answer (request timeout 300 ms)"));
}

TEST(Client, ConnectionRefused) {
  int port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  Credentials c;
  c.server = "https://127.0.0.1:" + std::to_string(port);
  const ApiError error = error_of([&] { make_client(c)->get_node("n"); });
  EXPECT_EQ(error.status(), 0);
  EXPECT_THAT(error.what(), HasSubstr("no answer: connect to 127.0.0.1:" + std::to_string(port) +
                                      ": Connection refused"));
}

TEST(Client, ListFollowsPagesWithTheSelector) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    if (r.query("continue").empty()) {
      auto page = nlohmann::json::parse(test::list_json({test::node_json("a", "5")}, "10"));
      page["metadata"]["continue"] = "next page";
      return out.reply(200, page.dump());
    }
    out.reply(200, test::list_json({test::node_json("b", "6")}, "10"));
  });
  const NodeList list = make_client(token_credentials(server))->list_nodes("metadata.name!=c");
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0].name, "a");
  EXPECT_EQ(list.items[1].name, "b");
  EXPECT_EQ(list.resource_version, "10");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/api/v1/nodes?limit=500&fieldSelector=metadata.name%21%3Dc");
  EXPECT_EQ(requests[1].query("continue"), "next page");
  EXPECT_EQ(requests[1].query("fieldSelector"), "metadata.name!=c");
}

TEST(Client, ErrorAnswers) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    if (r.path() == "/api/v1/nodes") {
      return out.reply(403, test::status_json(403, "Forbidden",
                                              "nodes is forbidden: User \"system:node:node-1\" "
                                              "cannot list resource \"nodes\""));
    }
    if (r.path() == "/api/v1/nodes/proxy")
      return out.reply(502, "<html>bad gateway</html>", "text/html");
    if (r.path() == "/api/v1/nodes/garbage") return out.reply(200, "{\"metadata\": ");
    out.reply(404, test::status_json(404, "NotFound", "nodes \"x\" not found"));
  });
  Credentials c = token_credentials(server);
  c.node_user = "system:node:node-1";
  auto client = make_client(c);

  const ApiError forbidden = error_of([&] { client->list_nodes(); });
  EXPECT_EQ(forbidden.status(), 403);
  EXPECT_EQ(forbidden.reason(), "Forbidden");
  EXPECT_THAT(forbidden.what(), HasSubstr("AuthorizeNodeWithSelectors"));

  const ApiError missing = error_of([&] { client->get_node("x"); });
  EXPECT_EQ(missing.status(), 404);
  EXPECT_EQ(missing.reason(), "NotFound");

  const ApiError proxy = error_of([&] { client->get_node("proxy"); });
  EXPECT_EQ(proxy.status(), 502);
  EXPECT_EQ(proxy.reason(), "BadGateway");
  EXPECT_THAT(proxy.what(), HasSubstr(": 502 BadGateway: <html>bad gateway</html>"));

  const ApiError garbage = error_of([&] { client->get_node("garbage"); });
  EXPECT_EQ(garbage.status(), 200);
  EXPECT_EQ(garbage.reason(), "InvalidResponse");
  EXPECT_THAT(garbage.what(), HasSubstr("200 with an invalid body: not JSON"));

  // request() hands error answers back.
  const Response answer = client->request("GET", "/api/v1/nodes/x", "");
  EXPECT_EQ(answer.status, 404);
  EXPECT_THAT(answer.body, HasSubstr("NotFound"));
}

TEST(Client, PatchAnnotations) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    out.reply(200, test::node_json("node-1", "8", {{"a", "1"}}));
    (void)r;
  });
  const Node node = make_client(token_credentials(server))
                        ->patch_node_annotations("node-1", {{"a", "1"}, {"gone", std::nullopt}});
  EXPECT_EQ(node.resource_version, "8");
  const auto request = server.requests().at(0);
  EXPECT_EQ(request.method, "PATCH");
  EXPECT_EQ(request.target, "/api/v1/nodes/node-1");
  EXPECT_EQ(request.content_type, "application/strategic-merge-patch+json");
  EXPECT_EQ(nlohmann::json::parse(request.body),
            nlohmann::json::parse(R"({"metadata":{"annotations":{"a":"1","gone":null}}})"));
}

TEST(Client, TokenFileIsReadAgainForEachRequest) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.reply(200, test::node_json("n", "1"));
  });
  test::TempDir dir;
  Credentials c = token_credentials(server, "first");
  c.token_file = dir.write("token", "first\n");
  auto client = make_client(c);
  client->get_node("n");
  dir.write("token", "second\n");
  client->get_node("n");
  std::filesystem::remove(c.token_file);  // mid-rotation: the last token is kept
  client->get_node("n");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].authorization, "Bearer first");
  EXPECT_EQ(requests[1].authorization, "Bearer second");
  EXPECT_EQ(requests[2].authorization, "Bearer second");
}

std::string event(const std::string& type, const std::string& name, const std::string& version) {
  return test::event_json(type, test::node_json(name, version));
}

TEST(Watch, EventsThenGone) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.start_stream();
    out.write_line(event("ADDED", "a", "11"));
    // One event split over chunks, then two in one chunk.
    const std::string modified = event("MODIFIED", "a", "12");
    out.write_chunk(modified.substr(0, 10));
    out.write_chunk(
        modified.substr(10) + "\n" + event("DELETED", "a", "13") + "\r\n" +
        R"({"type":"BOOKMARK","object":{"kind":"Node","metadata":{"resourceVersion":"14"}}})" +
        "\n");
    out.write_line(test::event_json(
        "ERROR", test::status_json(410, "Expired", "too old resource version: 10 (14)")));
    out.end_stream();
  });
  auto client = make_client(token_credentials(server));
  const ClientStats before = client_stats();
  std::vector<std::pair<WatchEvent::Type, std::string>> seen;
  const ApiError gone = error_of([&] {
    client->watch_nodes("10", "metadata.name=a", [&](const WatchEvent& e) {
      seen.emplace_back(e.type, e.node.name + "@" + e.node.resource_version);
    });
  });
  EXPECT_EQ(gone.status(), 410);
  EXPECT_EQ(gone.reason(), "Expired");
  EXPECT_THAT(gone.what(), HasSubstr("410 Expired: too old resource version: 10 (14)"));
  const std::vector<std::pair<WatchEvent::Type, std::string>> expected = {
      {WatchEvent::Type::kAdded, "a@11"},
      {WatchEvent::Type::kModified, "a@12"},
      {WatchEvent::Type::kDeleted, "a@13"},
      {WatchEvent::Type::kBookmark, "@14"},
  };
  EXPECT_EQ(seen, expected);
  // The metrics: four events, and a watch that ended in an error.
  EXPECT_EQ(client_stats().watch_events, before.watch_events + 4);
  EXPECT_EQ(client_stats().failures, before.failures + 1);
  const FakeRequest request = server.requests().at(0);
  EXPECT_EQ(request.path(), "/api/v1/nodes");
  EXPECT_EQ(request.query("watch"), "1");
  EXPECT_EQ(request.query("resourceVersion"), "10");
  EXPECT_EQ(request.query("allowWatchBookmarks"), "true");
  EXPECT_EQ(request.query("timeoutSeconds"), "300");
  EXPECT_EQ(request.query("fieldSelector"), "metadata.name=a");
}

TEST(Watch, StreamEndReturns) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.start_stream();
    out.write_line(event("ADDED", "a", "11"));
    out.end_stream();
  });
  int events = 0;
  make_client(token_credentials(server))->watch_nodes("10", "", [&](const WatchEvent&) {
    ++events;
  });
  EXPECT_EQ(events, 1);
}

TEST(Watch, GarbageLineIsAnError) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.start_stream();
    out.write_line(event("ADDED", "a", "11"));
    out.write_line("{not json");
    out.wait_for_stop(seconds(10));
  });
  int events = 0;
  const ApiError error = error_of([&] {
    make_client(token_credentials(server))->watch_nodes("10", "", [&](const WatchEvent&) {
      ++events;
    });
  });
  EXPECT_EQ(events, 1);
  EXPECT_EQ(error.reason(), "InvalidResponse");
  EXPECT_THAT(error.what(), HasSubstr("watch: not JSON"));
}

TEST(Watch, ErrorStatusBeforeTheStream) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.reply(403,
              test::status_json(403, "Forbidden", "nodes is forbidden: User \"system:node:n\""));
  });
  const ApiError error = error_of([&] {
    make_client(token_credentials(server))->watch_nodes("1", "", [](const WatchEvent&) {});
  });
  EXPECT_EQ(error.status(), 403);
  EXPECT_THAT(error.what(), HasSubstr("AuthorizeNodeWithSelectors"));
}

TEST(Watch, CancelEndsItPromptlyAndEveryLaterCall) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest& r, Responder& out) {
    if (r.query("watch") != "1") return out.reply(200, test::node_json("n", "1"));
    out.start_stream();
    out.write_line(event("ADDED", "a", "11"));
    out.wait_for_stop(seconds(30));
  });
  auto client = make_client(token_credentials(server));
  std::promise<void> first_event;
  auto watching = std::async(std::launch::async, [&] {
    bool first = true;
    client->watch_nodes("10", "", [&](const WatchEvent&) {
      if (std::exchange(first, false)) first_event.set_value();
    });
  });
  first_event.get_future().wait();
  const auto start = SteadyClock::now();
  client->cancel();
  ASSERT_EQ(watching.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_NO_THROW(watching.get());  // a cancelled watch returns
  EXPECT_LT(SteadyClock::now() - start, seconds(2));

  const int connections = server.connections();
  const ApiError later = error_of([&] { client->get_node("n"); });
  EXPECT_EQ(later.status(), 0);
  EXPECT_EQ(later.reason(), "Cancelled");
  client->watch_nodes("10", "", [](const WatchEvent&) { ADD_FAILURE() << "event after cancel"; });
  EXPECT_EQ(server.connections(), connections);  // nothing was even attempted
}

TEST(Watch, CancelAtAnyMomentOfTheStartEndsIt) {
  FakeApiServer server(pki().server, pki().ca.cert, [](const FakeRequest&, Responder& out) {
    out.start_stream();
    out.wait_for_stop(seconds(30));
  });
  for (int i = 0; i < 30; ++i) {
    auto client = make_client(token_credentials(server));
    auto watching = std::async(std::launch::async,
                               [&] { client->watch_nodes("1", "", [](const WatchEvent&) {}); });
    std::this_thread::sleep_for(std::chrono::microseconds(i * 200));
    client->cancel();
    ASSERT_EQ(watching.wait_for(seconds(5)), std::future_status::ready) << "cancel lost at " << i;
  }
}

TEST(Client, CancelEndsABlockedRequest) {
  FakeApiServer server(pki().server, pki().ca.cert,
                       [](const FakeRequest&, Responder& out) { out.wait_for_stop(seconds(30)); });
  auto client = make_client(token_credentials(server));
  auto calling =
      std::async(std::launch::async, [&] { return error_of([&] { client->get_node("n"); }); });
  ASSERT_TRUE(tds::test::eventually([&] { return server.requests().size() == 1; }));
  client->cancel();
  ASSERT_EQ(calling.wait_for(seconds(5)), std::future_status::ready);
  const ApiError error = calling.get();
  EXPECT_EQ(error.status(), 0);
  EXPECT_EQ(error.reason(), "Cancelled");
  EXPECT_THAT(error.what(), HasSubstr("/api/v1/nodes/n: cancelled"));
}

}  // namespace
}  // namespace kubernetes
