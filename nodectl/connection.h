// Where nodectl talks to machined: its unix socket (read-write API), or its TLS API port without
// verifying the certificate, as talosctl --insecure does (read-only).
#pragma once

#include <memory>
#include <string>

#include "nodectl/app.h"

namespace grpc {
class Channel;
}

namespace nodectl {

struct Target {
  std::string socket = kDefaultSocket;
  std::string endpoint;  // host[:port]; when set, used instead of the socket

  // The NODE column: the endpoint, or empty for the local socket.
  std::string node() const { return endpoint; }
};

// The TLS port is 50000 unless the endpoint names one.
std::shared_ptr<grpc::Channel> channel_for(const Target& target);

}  // namespace nodectl
