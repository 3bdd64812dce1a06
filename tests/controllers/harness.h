// A node in a test: InMemoryState with every resource type declared, an Engine over it, and
// helpers to write inputs and wait for typed outputs.
#pragma once

#include <utility>  // before Asio (Boost 1.74 awaitable.hpp)

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "resources/config/config.h"
#include "resources/register.h"
#include "runtime/controller/engine.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/test_util.h"
#include "tests/support/eventually.h"

namespace controllers::testing {

using runtime::resource::Pointer;
using tds::test::eventually;

class Harness {
 public:
  Harness() : registry_(runtime::registry::make_state_registry(state_)) {
    resources::register_all(*registry_);
  }
  ~Harness() { engine_.stop(); }

  void add(std::unique_ptr<runtime::controller::Controller> c) {
    engine_.register_controller(std::move(c));
  }
  void start() { engine_.start(); }
  template <class Fn>
  void register_with(Fn&& fn) {
    fn(engine_);
  }

  // Creates or replaces a resource as a foreign owner (the test plays the other controllers).
  template <class M>
  void put(const Pointer& ptr, const M& spec) {
    put(runtime::resource::make_resource<M>(runtime::resource::Metadata(ptr), spec));
  }
  void put(runtime::resource::Resource r) {
    if (auto current = state_.get(r.pointer())) {
      r.metadata = current->metadata;
      state_.update(std::move(r));
    } else {
      state_.create(std::move(r));
    }
  }
  void remove(const Pointer& ptr) { state_.destroy(ptr); }

  // Stores the config as machined does: parsed and validated (throws config::Error).
  void put_config(const std::string& yaml) {
    put(runtime::resource::Resource{runtime::resource::Metadata(config_ptr()),
                                    resources::config::MachineConfigSpec::parse(yaml, "test")});
  }
  static Pointer config_ptr() {
    return {std::string(resources::config::kNamespace),
            std::string(resources::config::kMachineConfigType),
            std::string(resources::config::kActiveId)};
  }

  template <class M>
  std::optional<M> get(const Pointer& ptr) {
    auto r = state_.get(ptr);
    if (!r) return std::nullopt;
    const M* spec = runtime::resource::spec_as<M>(*r);
    return spec ? std::optional<M>(*spec) : std::nullopt;
  }

  // Waits until the resource exists and `pred` holds for its spec; returns the last spec seen.
  template <class M>
  std::optional<M> wait_for(const Pointer& ptr, std::function<bool(const M&)> pred = nullptr) {
    std::optional<M> seen;
    eventually([&] {
      seen = get<M>(ptr);
      return seen && (!pred || pred(*seen));
    });
    return seen;
  }

  bool wait_gone(const Pointer& ptr) {
    return eventually([&] { return state_.get(ptr) == nullptr; });
  }

  runtime::state::InMemoryState& state() { return state_; }

 private:
  runtime::state::InMemoryState state_;
  std::unique_ptr<runtime::registry::Registry> registry_;
  runtime::controller::testing::IoThreads io_{2};
  runtime::controller::Engine engine_{state_, io_.executor()};
};

}  // namespace controllers::testing
