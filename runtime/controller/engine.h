// The controller engine: runs registered controllers over one State, waking each one when its
// inputs change, on its own strand of a shared executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/state/state.h"

namespace runtime::controller {

// Restart delays after a failed reconcile (defaults: COSI's cenkalti/backoff settings).
struct BackoffOptions {
  std::chrono::milliseconds initial{500};
  double multiplier = 1.5;
  double jitter = 0.5;  // each delay is drawn from interval * [1 - jitter, 1 + jitter]
  std::chrono::milliseconds max{60'000};
};

struct EngineOptions {
  BackoffOptions backoff;
};

struct ControllerStats {
  std::string name;
  std::uint64_t wakeups = 0;     // triggers received, before coalescing
  std::uint64_t reconciles = 0;  // reconcile passes begun
  std::uint64_t crashes = 0;     // passes (or starts) that threw
};

class Engine {
 public:
  // `executor` must be run by at least one thread for as long as the engine is running.
  Engine(state::State& state, state::Executor executor, EngineOptions opts = {});
  ~Engine();  // stop()s

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Before or after start(); a controller registered late starts at once. Throws
  // state::Error(kInvalidArgument) on a name, input or output conflict, or after stop().
  void register_controller(std::unique_ptr<Controller> controller);

  // Opens the input watches and starts every controller: start(), then one reconcile.
  void start();

  // Closes the watches, runs each controller's stop() on its strand after any reconcile in
  // flight, and blocks until no handler of any controller is pending or running. Must not be
  // called from a thread running the executor. Idempotent.
  void stop();

  std::vector<ControllerStats> stats() const;

  // Every registered controller's node_state(): the files a reset wipes.
  std::vector<std::filesystem::path> node_state() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtime::controller
