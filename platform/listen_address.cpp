// Parsing of listen-address flags.
#include "platform/listen_address.h"

#include <charconv>
#include <stdexcept>

namespace platform {

HostPort parse_listen_address(const std::string& address) {
  const auto bad = [&](const char* why) {
    return std::invalid_argument("listen address \"" + address + "\": " + why);
  };
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw bad("expected host:port or :port");
  HostPort out;
  out.host = address.substr(0, colon);
  if (out.host.starts_with('[')) {
    if (!out.host.ends_with(']')) throw bad("unterminated [");
    out.host = out.host.substr(1, out.host.size() - 2);
  } else if (out.host.find(':') != std::string::npos) {
    throw bad("IPv6 hosts go in brackets, as [::1]:50000");
  }
  const std::string port = address.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || out.port < 0 ||
      out.port > 65535) {
    throw bad("port must be a number from 0 to 65535");
  }
  return out;
}

}  // namespace platform
