// The Controller interface: who changes resources. A controller declares inputs and outputs,
// reads only its inputs, writes only its outputs, and is reconciled when an input changes.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace runtime::controller {

class Runtime;

enum class InputKind {
  kWeak,          // wake on change
  kStrong,        // wake on change; the controller may put finalizers on it
  kDestroyReady,  // wake only when the resource is tearing down with no finalizers left
};

struct Input {
  std::string ns;
  std::string type;
  std::optional<std::string> id;  // nullopt: every resource of the kind
  InputKind kind = InputKind::kWeak;

  auto operator<=>(const Input&) const = default;
};

enum class OutputKind {
  kExclusive,  // one controller owns every resource of the type
  kShared,     // several controllers, each owning what it created
};

struct Output {
  std::string type;
  OutputKind kind = OutputKind::kExclusive;

  auto operator<=>(const Output&) const = default;
};

class Controller {
 public:
  virtual ~Controller() = default;

  virtual std::string name() const = 0;
  // Initial inputs; Runtime::update_inputs changes them later.
  virtual std::vector<Input> inputs() const = 0;
  virtual std::vector<Output> outputs() const = 0;

  // Runs once on the controller's strand before the first reconcile. Long-lived tasks (a
  // network client, a timer) start here on rt.executor() and call rt.queue_reconcile().
  virtual void start(Runtime& rt) { (void)rt; }

  // Moves outputs towards what the inputs say. Runs on the controller's strand, never
  // concurrently with itself. Throwing restarts it after a jittered exponential backoff.
  virtual void reconcile(Runtime& rt) = 0;

  // Runs once on the controller's strand at shutdown: cancel what start() began.
  virtual void stop() {}

  // Files this controller keeps about the node (its identity, its keys): what a reset wipes, so
  // that the node comes back as a new one, as Talos does by wiping its STATE partition. Fixed
  // at construction; called from any thread.
  virtual std::vector<std::filesystem::path> node_state() const { return {}; }
};

using ControllerPtr = std::unique_ptr<Controller>;

}  // namespace runtime::controller
