// Listen addresses as the flags spell them: "host:port", ":port" (every interface) or
// "[v6]:port".
#pragma once

#include <string>

namespace platform {

struct HostPort {
  std::string host;  // empty: every interface; IPv6 without brackets
  int port = 0;
};

// Throws std::invalid_argument naming the address when it has no valid port (0-65535).
HostPort parse_listen_address(const std::string& address);

}  // namespace platform
