// The daemons' small HTTP/1.1 server (landing pages, /healthz, /metrics): requests go to one
// handler, which answers synchronously. Beast stays inside the implementation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace platform {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // path and query, as sent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs on the server's strand; it must not block.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// The path of a request target: "/inspect" from "/inspect?clusterID=x".
std::string_view http_path(std::string_view target);

// A handler that picks the route by path (query ignored) and gives every other path to
// `fallback`.
HttpHandler route_by_path(std::map<std::string, HttpHandler, std::less<>> routes,
                          HttpHandler fallback);

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
  // Closes the listener and every connection and waits until no handler runs; idempotent, the
  // destructor calls it. Not from the thread that runs the server.
  virtual void stop() = 0;
};

// Listens on `address` ("host:port", "[v6]:port", or ":port" for every address: IPv6 and IPv4
// where the host has IPv6, else IPv4; port 0 picks one) on a thread of its own. Every connection
// has a 10 s read timeout, requests are limited to 8 KiB, and at most 512 connections are open
// at once, 32 from one client address (more are closed as they arrive); accept errors (out of
// descriptors) pause accepting for 100 ms; HEAD is answered without the body. `server_name`,
// when set, goes in every response's Server header. Throws std::invalid_argument for a
// malformed address and std::runtime_error when it cannot be bound.
std::unique_ptr<HttpServer> start_http_server(const std::string& address, HttpHandler handler,
                                              const std::string& server_name = "");

}  // namespace platform
