// A small HTTP/1.1 server (Boost.Beast) for the landing page, /stats, /healthz and /metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace discovery::server {

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

// Runs on the server's own thread; it must not block.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
  // Closes the listener and every connection; idempotent, the destructor calls it.
  virtual void shutdown() = 0;
};

// Listens on `address` ("host:port", ":port" for every address). Every connection has a 10 s
// read timeout, requests are limited to 8 KiB, and at most 512 connections are open at once.
// Throws std::runtime_error when the address cannot be bound.
std::unique_ptr<HttpServer> start_http_server(const std::string& address, HttpHandler handler);

}  // namespace discovery::server
