// Listen addresses for machined's gRPC listeners; the flag syntax is platform's.
#pragma once

#include <string>

#include "platform/listen_address.h"

namespace machined {

using platform::HostPort;
using platform::parse_listen_address;

// The form gRPC's AddListeningPort takes: "[::]:port" for every interface.
std::string grpc_listen_address(const std::string& address);

}  // namespace machined
