// The API's text formats without a server: Node, list, watch-event and Status JSON (complete,
// missing fields, garbage), server URLs, request paths and the ApiError messages.
#include "kubernetes/internal/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kubernetes::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNode[] = R"j({
  "kind": "Node", "apiVersion": "v1",
  "metadata": {"name": "node-1", "uid": "u-1", "resourceVersion": "42",
               "labels": {"kubernetes.io/os": "linux", "weird": 5},
               "annotations": {"cluster.talos.dev/affiliate": "abc"}},
  "spec": {"podCIDR": "10.244.0.0/24"},
  "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"},
                           {"type": "Hostname", "address": "host-1"},
                           {"type": "Hostname", "address": "second"}],
             "nodeInfo": {"osImage": "Talos (v1.9.0)", "kubeletVersion": "v1.34.0"}}
})j";

TEST(ParseNode, EveryField) {
  const Node node = parse_node(kNode);
  EXPECT_EQ(node.name, "node-1");
  EXPECT_EQ(node.uid, "u-1");
  EXPECT_EQ(node.resource_version, "42");
  EXPECT_EQ(node.labels, (std::map<std::string, std::string>{{"kubernetes.io/os", "linux"}}));
  EXPECT_EQ(node.annotations,
            (std::map<std::string, std::string>{{"cluster.talos.dev/affiliate", "abc"}}));
  EXPECT_EQ(node.hostname, "host-1");  // the first Hostname address
  EXPECT_EQ(node.os_image, "Talos (v1.9.0)");
}

TEST(ParseNode, MissingOrMistypedFieldsReadAsEmpty) {
  EXPECT_EQ(parse_node("{}"), Node{});
  EXPECT_EQ(parse_node(R"({"metadata": null, "status": 7})"), Node{});
  const Node node = parse_node(R"({"metadata": {"name": 3, "labels": [1, 2], "annotations": "x"},
      "status": {"addresses": {"type": "Hostname"}, "nodeInfo": []}})");
  EXPECT_EQ(node, Node{});
  const Node partial = parse_node(R"({"metadata": {"name": "n"},
      "status": {"addresses": [5, {"type": "Hostname"}, {"type": "Hostname", "address": "h"}]}})");
  EXPECT_EQ(partial.name, "n");
  EXPECT_EQ(partial.hostname, "");  // the first Hostname entry has no address
}

TEST(ParseNode, GarbageIsAParseError) {
  for (const std::string& text :
       {std::string(""), std::string("not json"), std::string("[1, 2]"), std::string("\"node\""),
        std::string(R"({"kind": "Pod", "metadata": {"name": "p"}})"),
        std::string(R"({"metadata": {"name": "n")"), std::string("{\"a\": \"\xff\"}"),
        std::string(200000, '['), std::string(100000, '{'),
        std::string(100000, '[') + std::string(100000, ']')}) {
    EXPECT_THROW(parse_node(text), ParseError) << text.substr(0, 40);
  }
}

TEST(ParseNodePage, ItemsVersionAndContinue) {
  const NodePage page = parse_node_page(
      std::string(R"({"kind": "NodeList", "metadata": {"resourceVersion": "77", "continue": "c2"},
          "items": [)") +
      kNode + R"(, {"metadata": {"name": "node-2"}}]})");
  ASSERT_EQ(page.list.items.size(), 2u);
  EXPECT_EQ(page.list.items[0].name, "node-1");
  EXPECT_EQ(page.list.items[1].name, "node-2");
  EXPECT_EQ(page.list.resource_version, "77");
  EXPECT_EQ(page.continue_token, "c2");

  EXPECT_TRUE(parse_node_page(R"({"metadata": {"resourceVersion": "1"}})").list.items.empty());
  EXPECT_TRUE(parse_node_page(R"({"items": null})").list.items.empty());
  EXPECT_THROW(parse_node_page(R"({"items": {}})"), ParseError);
  EXPECT_THROW(parse_node_page(R"({"items": [1]})"), ParseError);
  EXPECT_THROW(parse_node_page(R"({"kind": "Status"})"), ParseError);
  EXPECT_THROW(parse_node_page("<html>"), ParseError);
}

TEST(ParseWatchLine, EventsBookmarksAndErrors) {
  auto event = [](const std::string& line) { return std::get<WatchEvent>(parse_watch_line(line)); };
  const WatchEvent added = event(std::string(R"({"type": "ADDED", "object": )") + kNode + "}");
  EXPECT_EQ(added.type, WatchEvent::Type::kAdded);
  EXPECT_EQ(added.node.name, "node-1");
  EXPECT_EQ(event(R"({"type": "MODIFIED", "object": {}})").type, WatchEvent::Type::kModified);
  EXPECT_EQ(event(R"({"type": "DELETED", "object": {}})").type, WatchEvent::Type::kDeleted);

  const WatchEvent bookmark = event(
      R"({"type": "BOOKMARK", "object": {"kind": "Node", "metadata": {"resourceVersion": "99",
          "annotations": {"k8s.io/initial-events-end": "true"}}}})");
  EXPECT_EQ(bookmark.type, WatchEvent::Type::kBookmark);
  Node only_version;
  only_version.resource_version = "99";
  EXPECT_EQ(bookmark.node, only_version);

  const auto error = std::get<Status>(parse_watch_line(
      R"j({"type": "ERROR", "object": {"kind": "Status", "status": "Failure", "code": 410,
          "reason": "Expired", "message": "too old resource version: 5 (90)"}})j"));
  EXPECT_EQ(error.code, 410);
  EXPECT_EQ(error.reason, "Expired");
  EXPECT_EQ(error.message, "too old resource version: 5 (90)");
  // An ERROR without a usable code is still an error.
  EXPECT_EQ(
      std::get<Status>(parse_watch_line(R"({"type": "ERROR", "object": {"code": 1e9}})")).code,
      500);

  EXPECT_THROW(parse_watch_line(R"({"type": "SURPRISE", "object": {}})"), ParseError);
  EXPECT_THROW(parse_watch_line(R"({"type": "ADDED"})"), ParseError);
  EXPECT_THROW(parse_watch_line(R"({"type": "ADDED", "object": []})"), ParseError);
  EXPECT_THROW(parse_watch_line("[]"), ParseError);
  EXPECT_THROW(parse_watch_line("{\"type\":"), ParseError);
}

TEST(ParseStatus, KubernetesStatusOrAnythingElse) {
  const Status forbidden =
      parse_status(403, R"({"kind": "Status", "code": 403, "reason": "Forbidden",
              "message": "nodes is forbidden:\nline two"})");
  EXPECT_EQ(forbidden.code, 403);
  EXPECT_EQ(forbidden.reason, "Forbidden");
  EXPECT_EQ(forbidden.message, "nodes is forbidden: line two");

  const Status proxy = parse_status(502, "\n  <html>Bad gateway</html>\n<body>...</body>");
  EXPECT_EQ(proxy.code, 502);
  EXPECT_EQ(proxy.reason, "BadGateway");
  EXPECT_EQ(proxy.message, "<html>Bad gateway</html>");

  const Status empty = parse_status(503, "");
  EXPECT_EQ(empty.reason, "ServiceUnavailable");
  EXPECT_EQ(empty.message, "");

  EXPECT_EQ(parse_status(500, R"({"message": "m"})").reason, "InternalServerError");
  EXPECT_LT(parse_status(500, std::string(100000, 'x')).message.size(), 1000u);
}

TEST(ServerUrl, Parts) {
  std::string error;
  auto url = parse_server("https://10.5.0.2:6443", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "10.5.0.2");
  EXPECT_EQ(url->port, "6443");
  EXPECT_EQ(url->base_path, "");
  EXPECT_TRUE(url->ip);
  EXPECT_EQ(url->origin(), "https://10.5.0.2:6443");

  url = parse_server("HTTPS://[fd00::1]/k8s/clusters/c-1/", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "fd00::1");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->base_path, "/k8s/clusters/c-1");
  EXPECT_TRUE(url->ip);
  EXPECT_EQ(url->host_header(), "[fd00::1]:443");

  url = parse_server("https://kube.example.com:443", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_FALSE(url->ip);

  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"http://h:8080", "uses plain http"},
           {"ftp://h", "has scheme ftp"},
           {"h:6443", "has no https:// scheme"},
           {"https://", "has no host"},
           {"https://:6443", "has no host"},
           {"https://h:", "has an empty port"},
           {"https://h:99999", "has an invalid port"},
           {"https://h:0", "has an invalid port"},
           {"https://h:6x", "has an invalid port"},
           {"https://fd00::1:6443", "IPv6 host without brackets"},
           {"https://[fd00::1", "unclosed"},
           {"https://[nothex]:1", "invalid IPv6 host"},
           {"https://u:p@h", "has user info"},
           {"https://h/x?y=1", "has a query"},
       }) {
    EXPECT_FALSE(parse_server(bad, &error)) << bad;
    EXPECT_THAT(error, HasSubstr(why)) << bad;
  }
}

TEST(Paths, UrlEncodingOfSelectorsAndNames) {
  EXPECT_EQ(url_encode("metadata.name=node-1"), "metadata.name%3Dnode-1");
  EXPECT_EQ(url_encode("a b&c/d?e%f+g~h_i"), "a%20b%26c%2Fd%3Fe%25f%2Bg~h_i");
  EXPECT_EQ(url_encode("\xc3\xa9\x01"), "%C3%A9%01");
  EXPECT_EQ(node_path("node-1"), "/api/v1/nodes/node-1");
  EXPECT_EQ(node_path("../x"), "/api/v1/nodes/..%2Fx");
  EXPECT_EQ(list_path("", 500, ""), "/api/v1/nodes?limit=500");
  EXPECT_EQ(list_path("metadata.name=n", 500, "tok/en="),
            "/api/v1/nodes?limit=500&fieldSelector=metadata.name%3Dn&continue=tok%2Fen%3D");
  EXPECT_EQ(watch_path("123", "metadata.name=node-1", std::chrono::seconds(300)),
            "/api/v1/nodes?watch=1&resourceVersion=123&allowWatchBookmarks=true&timeoutSeconds=300"
            "&fieldSelector=metadata.name%3Dnode-1");
  EXPECT_EQ(watch_path("", "", std::chrono::seconds(5)),
            "/api/v1/nodes?watch=1&allowWatchBookmarks=true&timeoutSeconds=5");
  EXPECT_TRUE(lists_nodes("GET", "https://h:1/api/v1/nodes?watch=1"));
  EXPECT_TRUE(lists_nodes("GET", "/api/v1/nodes"));
  EXPECT_FALSE(lists_nodes("GET", "/api/v1/nodes/node-1"));
  EXPECT_FALSE(lists_nodes("PATCH", "/api/v1/nodes"));
}

TEST(AnnotationsPatch, SetsAndRemovals) {
  const auto body = nlohmann::json::parse(annotations_patch({{"a", "1"}, {"b", std::nullopt}}));
  EXPECT_EQ(body, nlohmann::json::parse(R"({"metadata": {"annotations": {"a": "1", "b": null}}})"));
  EXPECT_THROW(annotations_patch({{"a", std::string("\xff")}}), ParseError);
}

Credentials node_credentials() {
  Credentials c;
  c.description =
      "kubeconfig /etc/kubernetes/kubelet.conf, context default, user default "
      "(client certificate CN=system:node:node-1)";
  c.node_user = "system:node:node-1";
  return c;
}

Credentials admin_credentials() {
  Credentials c;
  c.description = "kubeconfig /root/.kube/config, context admin@c, user admin (token)";
  return c;
}

constexpr char kList[] = "https://10.5.0.2:6443/api/v1/nodes?limit=500";
constexpr char kNodeSelectorHint[] = "AuthorizeNodeWithSelectors";

TEST(ErrorMessage, UnauthorizedNamesTheCredential) {
  const std::string message =
      error_message("GET", kList, 401, {401, "Unauthorized", "Unauthorized"}, admin_credentials());
  EXPECT_EQ(message,
            "GET https://10.5.0.2:6443/api/v1/nodes?limit=500: 401 Unauthorized: Unauthorized; "
            "credentials: kubeconfig /root/.kube/config, context admin@c, user admin (token)");
}

TEST(ErrorMessage, NodeCredentialForbiddenToListNodes) {
  const std::string message = error_message(
      "GET", kList, 403,
      {403, "Forbidden",
       "nodes is forbidden: User \"system:node:node-1\" cannot list resource \"nodes\" in API "
       "group \"\" at the cluster scope: node 'node-1' cannot read all nodes, only its own Node "
       "object"},
      node_credentials());
  EXPECT_THAT(message, HasSubstr("GET https://10.5.0.2:6443/api/v1/nodes?limit=500: 403 "
                                 "Forbidden: nodes is forbidden: User \"system:node:node-1\""));
  EXPECT_THAT(message, HasSubstr("credentials: kubeconfig /etc/kubernetes/kubelet.conf"));
  EXPECT_THAT(message, HasSubstr("Kubernetes 1.32+ (AuthorizeNodeWithSelectors) forbids a node's "
                                 "credentials to list or watch other Nodes"));
  EXPECT_THAT(message, HasSubstr("needs admin or service-account credentials"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(ErrorMessage, ServerNamingANodeUserIsEnough) {
  // A token's user is not known before the server names it.
  const std::string message = error_message(
      "GET", "https://h:1/api/v1/nodes?watch=1", 403,
      {403, "Forbidden", "nodes is forbidden: User \"system:node:n2\" cannot watch resource"},
      admin_credentials());
  EXPECT_THAT(message, HasSubstr(kNodeSelectorHint));
}

TEST(ErrorMessage, NoNodeHintWhereItDoesNotApply) {
  const Status forbidden{403, "Forbidden", "nodes \"node-2\" is forbidden"};
  // A single Node, not a list.
  EXPECT_THAT(
      error_message("GET", "https://h:1/api/v1/nodes/node-2", 403, forbidden, node_credentials()),
      Not(HasSubstr(kNodeSelectorHint)));
  // Not a node credential.
  EXPECT_THAT(error_message("GET", kList, 403, forbidden, admin_credentials()),
              Not(HasSubstr(kNodeSelectorHint)));
  // Not a 403.
  const std::string not_found =
      error_message("GET", "https://h:1/api/v1/nodes/x", 404,
                    {404, "NotFound", "nodes \"x\" not found"}, node_credentials());
  EXPECT_EQ(not_found, "GET https://h:1/api/v1/nodes/x: 404 NotFound: nodes \"x\" not found");
}

TEST(ErrorMessage, FailureIsOneLine) {
  EXPECT_EQ(failure_message("GET", "https://h:1/api/v1/nodes", "no answer:\nconnection refused"),
            "GET https://h:1/api/v1/nodes: no answer: connection refused");
}

}  // namespace
}  // namespace kubernetes::internal
