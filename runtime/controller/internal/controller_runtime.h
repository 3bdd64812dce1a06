// The Runtime a controller sees: access checks against its declared inputs and outputs, owner
// injection on writes, modify with no-op skip and conflict retry, and output tracking.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/controller/runtime.h"

namespace runtime::controller::internal {

// What the engine provides for scheduling; a test can hand in a fake.
class SchedulerHooks {
 public:
  virtual ~SchedulerHooks() = default;
  virtual state::Executor executor() const = 0;
  virtual void queue_reconcile() = 0;
  // Registers the new inputs (throws on a conflict, changing nothing) and opens their watches.
  virtual void update_inputs(const std::vector<Input>& inputs) = 0;
  virtual void reset_restart_backoff() = 0;
};

// Used only on the controller's strand.
class ControllerRuntime final : public Runtime {
 public:
  ControllerRuntime(state::State& state, std::string name, std::vector<Input> inputs,
                    const std::vector<Output>& outputs, SchedulerHooks& hooks);

  const std::string& name() const override { return name_; }
  state::Executor executor() const override { return hooks_.executor(); }
  void queue_reconcile() override { hooks_.queue_reconcile(); }
  void update_inputs(std::vector<Input> inputs) override;
  void reset_restart_backoff() override { hooks_.reset_restart_backoff(); }

  ResourcePtr get(const Pointer& ptr) override;
  std::vector<ResourcePtr> list(const Kind& kind, const state::ListOptions& opts) override;

  ResourcePtr create(Resource r) override;
  ResourcePtr update(Resource r) override;
  ResourcePtr modify(const Pointer& ptr,
                     const std::function<Resource(const ResourcePtr& current)>& fn,
                     const ModifyOptions& opts) override;
  bool teardown(const Pointer& ptr) override;
  void destroy(const Pointer& ptr) override;

  void add_finalizer(const Pointer& ptr) override;
  void remove_finalizer(const Pointer& ptr) override;

  void start_tracking_outputs() override;
  void cleanup_outputs(const std::vector<Kind>& kinds) override;

  // Drops the tracking of a pass that ended without cleanup_outputs (e.g. it threw).
  void end_pass() { touched_.reset(); }

 private:
  void check_read(const Pointer& ptr, bool whole_kind, const char* verb) const;
  void check_output(const std::string& type, const std::string& what, const char* verb) const;
  void check_finalizer(const Pointer& ptr, const char* verb) const;
  void track(const Pointer& ptr);

  state::State& state_;
  const std::string name_;
  std::vector<Input> inputs_;
  const std::set<std::string> output_types_;
  SchedulerHooks& hooks_;
  // Ids written per kind, set while tracking outputs; hashed because a full-resync controller
  // touches every output on every pass.
  std::optional<std::map<Kind, std::unordered_set<std::string>>> touched_;
};

}  // namespace runtime::controller::internal
