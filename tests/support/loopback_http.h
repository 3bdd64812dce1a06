// Plain sockets to servers on 127.0.0.1 for tests: a connection with timeouts, and one HTTP/1.0
// exchange on it (so a server that never answers fails the read, not the whole test run).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace tds::test {

// A TCP connection to 127.0.0.1:port whose reads and writes give up after `timeout`, or -1.
inline int connect_loopback(int port, std::chrono::seconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const timeval limit{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a new connection and returns all that comes back until the server closes
// it; empty when nothing does.
inline std::string http_exchange(int port, const std::string& request,
                                 std::chrono::seconds timeout) {
  const int fd = connect_loopback(port, timeout);
  if (fd < 0) return {};
  std::string response;
  if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// The body of an HTTP response, or empty when it has none.
inline std::string http_body(const std::string& response) {
  const auto start = response.find("\r\n\r\n");
  return start == std::string::npos ? std::string() : response.substr(start + 4);
}

}  // namespace tds::test
