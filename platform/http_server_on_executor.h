// start_http_server on an Asio executor the caller already runs, for a daemon whose handlers
// belong on its event loop. Separate from http_server.h so that header stays free of Asio.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "platform/http_server.h"

namespace platform {

// As start_http_server, but the server and `handler` run on a strand of `executor`, which must
// keep running until stop() has returned.
std::unique_ptr<HttpServer> start_http_server(boost::asio::any_io_executor executor,
                                              const std::string& address, HttpHandler handler,
                                              const std::string& server_name = "");

}  // namespace platform
