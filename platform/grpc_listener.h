// A gRPC server's TCP listener of our own. gRPC's listener stops accepting for good after one
// "Too many open files" (gRPC 1.51); ours pauses and carries on, caps the connections it hands
// to gRPC, and counts what it refused. gRPC still does TLS, HTTP/2 and every call.
#pragma once

#include <memory>
#include <string>

#include "platform/connection_limits.h"

namespace grpc {
class ServerBuilder;
class ServerCredentials;
}  // namespace grpc

namespace platform {

class GrpcListener {
 public:
  virtual ~GrpcListener() = default;
  virtual int port() const = 0;
  // Any thread.
  virtual ListenerCounts counts() const = 0;
  // Starts handing connections to the server built from the builder; once, after BuildAndStart.
  virtual void start() = 0;
  // Stops accepting (open connections are the server's); idempotent, the destructor calls it.
  // Call it before shutting the server down.
  virtual void stop() = 0;
};

// Binds `address` ("host:port", "[v6]:port", ":port" for every address; port 0 picks one) and
// registers it with `builder` for connections with `credentials`. `surface` names it in logs.
// Throws std::invalid_argument for a malformed address, std::runtime_error when it cannot bind.
std::unique_ptr<GrpcListener> add_grpc_listener(
    grpc::ServerBuilder& builder, const std::string& address,
    std::shared_ptr<grpc::ServerCredentials> credentials, ConnectionLimits limits,
    std::string surface);

}  // namespace platform
