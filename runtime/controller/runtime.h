// The controller's view of the world: an access-checked, owner-injecting state plus the
// hooks of its own scheduling. One Runtime per controller; use it only on its strand.
#pragma once

#include <functional>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/state/state.h"

namespace runtime::controller {

using resource::Kind;
using resource::Pointer;
using resource::Resource;
using resource::ResourcePtr;

struct ModifyOptions {
  // Modify fails with a phase conflict unless the output is in this phase (nullopt: any).
  std::optional<resource::Phase> expected_phase = resource::Phase::kRunning;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual const std::string& name() const = 0;
  // The controller's strand: post long-lived work here.
  virtual state::Executor executor() const = 0;
  // Asks for one more reconcile; any number of calls before it starts coalesce into one.
  virtual void queue_reconcile() = 0;
  virtual void update_inputs(std::vector<Input> inputs) = 0;
  virtual void reset_restart_backoff() = 0;

  // Reads: outputs in any namespace, inputs as declared (an input with an id allows only Get).
  // Throw state::Error(kInvalidArgument) on an access violation.
  virtual ResourcePtr get(const Pointer& ptr) = 0;
  virtual std::vector<ResourcePtr> list(const Kind& kind, const state::ListOptions& opts = {}) = 0;

  // Writes: output types only, with this controller as owner.
  virtual ResourcePtr create(Resource r) = 0;
  virtual ResourcePtr update(Resource r) = 0;
  // Creates or updates ptr. `fn` gets the current resource (null when absent) and returns the
  // desired one; the write is skipped when nothing changed, and retried on version races.
  virtual ResourcePtr modify(const Pointer& ptr,
                             const std::function<Resource(const ResourcePtr& current)>& fn,
                             const ModifyOptions& opts = {}) = 0;
  virtual bool teardown(const Pointer& ptr) = 0;
  virtual void destroy(const Pointer& ptr) = 0;

  // Finalizers: strong inputs only, named after this controller.
  virtual void add_finalizer(const Pointer& ptr) = 0;
  virtual void remove_finalizer(const Pointer& ptr) = 0;  // a missing resource is fine

  // Output tracking: after start_tracking_outputs, cleanup_outputs destroys every owned
  // resource of the given kinds that this pass did not create, update or modify.
  virtual void start_tracking_outputs() = 0;
  virtual void cleanup_outputs(const std::vector<Kind>& kinds) = 0;
};

// Destroys ptr if this controller owns it, as cleanup_outputs would; an absent resource or
// another owner's (of a shared output type) is left alone.
void destroy_if_owned(Runtime& rt, const Pointer& ptr);

}  // namespace runtime::controller
