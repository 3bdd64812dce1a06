// Ports for test servers that take their listen addresses as flags and cannot report an
// ephemeral port back.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

namespace tds::test {

// `n` distinct ports the kernel considers free on 127.0.0.1; empty on failure. The sockets are
// held until all are picked (so they differ) and then closed: another process could take one
// before our child binds it, a race tests accept.
inline std::vector<int> pick_free_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<int> ports;
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (const int fd : fds) ::close(fd);
  if (ports.size() != n) ports.clear();
  return ports;
}

}  // namespace tds::test
