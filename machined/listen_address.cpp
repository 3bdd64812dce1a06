// gRPC spelling of listen-address flags.
#include "machined/listen_address.h"

namespace machined {

std::string grpc_listen_address(const std::string& address) {
  const HostPort hp = parse_listen_address(address);
  if (hp.host.empty()) return "[::]:" + std::to_string(hp.port);
  if (hp.host.find(':') != std::string::npos) return "[" + hp.host + "]:" + std::to_string(hp.port);
  return hp.host + ":" + std::to_string(hp.port);
}

}  // namespace machined
