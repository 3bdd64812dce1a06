// Shared helpers for the controller tests: resources with opaque specs, an io_context run by
// worker threads, and polling waits with a deadline.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange under C++20

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/resource/resource.h"
#include "tests/support/eventually.h"

namespace runtime::controller::testing {

inline constexpr char kNs[] = "test";

inline resource::Resource opaque(const std::string& type, const std::string& id,
                                 const std::string& value, const std::string& ns = kNs) {
  return resource::Resource{resource::Metadata(resource::Pointer{ns, type, id}),
                            std::make_shared<resource::OpaqueSpec>("", value)};
}

// The opaque value of r, or nullopt for a missing resource.
inline std::optional<std::string> value_of(const resource::ResourcePtr& r) {
  if (!r || !r->spec) return std::nullopt;
  return r->spec->yaml();
}

using tds::test::eventually;

// An io_context run by `threads` workers until destruction.
class IoThreads {
 public:
  explicit IoThreads(int threads = 2) : guard_(io_.get_executor()) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    io_.stop();
    for (auto& w : workers_) w.join();
  }

  boost::asio::io_context& io() { return io_; }
  boost::asio::io_context::executor_type executor() { return io_.get_executor(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> workers_;
};

}  // namespace runtime::controller::testing
