// Request routing by path, apart from the server so that handlers build without Beast.
#include "platform/http_server.h"

namespace platform {

std::string_view http_path(std::string_view target) { return target.substr(0, target.find('?')); }

HttpHandler route_by_path(std::map<std::string, HttpHandler, std::less<>> routes,
                          HttpHandler fallback) {
  return [routes = std::move(routes), fallback = std::move(fallback)](const HttpRequest& request) {
    const auto route = routes.find(http_path(request.target));
    return route == routes.end() ? fallback(request) : route->second(request);
  };
}

}  // namespace platform
