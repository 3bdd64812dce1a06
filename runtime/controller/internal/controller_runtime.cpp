// ControllerRuntime: the access-checked, owner-injecting view of the state, as COSI's controller runtime has it.
#include "runtime/controller/internal/controller_runtime.h"

#include <algorithm>

#include "runtime/state/errors.h"

namespace runtime::controller::internal {
namespace {

using state::Error;
using state::ErrorCode;

// A bound on modify's retry loop, so that a pathological writer cannot spin a strand forever.
constexpr int kMaxModifyAttempts = 64;

std::set<std::string> output_types(const std::vector<Output>& outputs) {
  std::set<std::string> types;
  for (const auto& out : outputs) types.insert(out.type);
  return types;
}

std::string kind_string(const Kind& kind) { return kind.ns + "/" + kind.type; }

}  // namespace

ControllerRuntime::ControllerRuntime(state::State& state, std::string name,
                                     std::vector<Input> inputs,
                                     const std::vector<Output>& outputs, SchedulerHooks& hooks)
    : state_(state),
      name_(std::move(name)),
      inputs_(std::move(inputs)),
      output_types_(output_types(outputs)),
      hooks_(hooks) {}

void ControllerRuntime::update_inputs(std::vector<Input> inputs) {
  hooks_.update_inputs(inputs);
  inputs_ = std::move(inputs);
}

void ControllerRuntime::check_read(const Pointer& ptr, bool whole_kind, const char* verb) const {
  if (output_types_.count(ptr.type) != 0) return;
  bool kind_declared = false;
  for (const Input& in : inputs_) {
    if (in.ns != ptr.ns || in.type != ptr.type) continue;
    kind_declared = true;
    if (!in.id || (!whole_kind && *in.id == ptr.id)) return;
  }
  const std::string what = whole_kind ? kind_string(ptr.kind()) : resource::to_string(ptr);
  throw Error(ErrorCode::kInvalidArgument,
              "controller " + name_ + ": " + verb + " " + what + ": " +
                  (kind_declared ? (whole_kind ? "inputs of this kind name an id; list needs "
                                                 "an input without one"
                                               : "not among the ids of its inputs")
                                 : "not an input or output of the controller"));
}

void ControllerRuntime::check_output(const std::string& type, const std::string& what,
                                     const char* verb) const {
  if (output_types_.count(type) != 0) return;
  throw Error(ErrorCode::kInvalidArgument, "controller " + name_ + ": " + verb + " " + what +
                                               ": type " + type + " is not an output");
}

void ControllerRuntime::check_finalizer(const Pointer& ptr, const char* verb) const {
  for (const Input& in : inputs_) {
    if (in.kind == InputKind::kStrong && in.ns == ptr.ns && in.type == ptr.type &&
        (!in.id || *in.id == ptr.id)) {
      return;
    }
  }
  throw Error(ErrorCode::kInvalidArgument, "controller " + name_ + ": " + verb + " " +
                                               resource::to_string(ptr) +
                                               ": finalizers need a strong input");
}

void ControllerRuntime::track(const Pointer& ptr) {
  if (!touched_) return;
  // Passes usually write one kind over and over: look it up without building a Kind.
  auto it = std::find_if(touched_->begin(), touched_->end(), [&](const auto& entry) {
    return entry.first.type == ptr.type && entry.first.ns == ptr.ns;
  });
  if (it == touched_->end()) {
    it = touched_->emplace(ptr.kind(), std::unordered_set<std::string>{}).first;
  }
  it->second.insert(ptr.id);
}

ResourcePtr ControllerRuntime::get(const Pointer& ptr) {
  check_read(ptr, false, "get");
  return state_.get(ptr);
}

std::vector<ResourcePtr> ControllerRuntime::list(const Kind& kind,
                                                 const state::ListOptions& opts) {
  check_read(Pointer{kind.ns, kind.type, {}}, true, "list");
  return state_.list(kind, opts);
}

ResourcePtr ControllerRuntime::create(Resource r) {
  const Pointer ptr = r.pointer();
  check_output(ptr.type, resource::to_string(ptr), "create");
  track(ptr);
  return state_.create(std::move(r), state::CreateOptions{name_});
}

ResourcePtr ControllerRuntime::update(Resource r) {
  const Pointer ptr = r.pointer();
  check_output(ptr.type, resource::to_string(ptr), "update");
  track(ptr);
  return state_.update(std::move(r), state::UpdateOptions{name_, resource::Phase::kRunning});
}

ResourcePtr ControllerRuntime::modify(const Pointer& ptr,
                                      const std::function<Resource(const ResourcePtr&)>& fn,
                                      const ModifyOptions& opts) {
  check_output(ptr.type, resource::to_string(ptr), "modify");
  track(ptr);
  auto checked = [&](Resource r) {
    if (r.pointer() != ptr) {
      throw Error(ErrorCode::kInvalidArgument,
                  "controller " + name_ + ": modify " + resource::to_string(ptr) +
                      ": the function returned " + resource::to_string(r.pointer()));
    }
    return r;
  };

  for (int attempt = 1;; ++attempt) {
    const ResourcePtr current = state_.get(ptr);
    try {
      if (!current) return state_.create(checked(fn(nullptr)), state::CreateOptions{name_});

      if (opts.expected_phase && current->metadata.phase != *opts.expected_phase) {
        throw Error(ErrorCode::kPhaseConflict,
                    "controller " + name_ + ": modify " + resource::to_string(ptr) +
                        ": phase is " + std::string(resource::to_string(current->metadata.phase)) +
                        ", expected " + std::string(resource::to_string(*opts.expected_phase)));
      }
      Resource desired = checked(fn(current));
      // The store keeps its own version and owner; compare what the write would change.
      desired.metadata.version = current->metadata.version;
      desired.metadata.owner = current->metadata.owner;
      if (desired == *current) return current;
      return state_.update(std::move(desired), state::UpdateOptions{name_, opts.expected_phase});
    } catch (const Error& e) {
      // Someone wrote between our read and write: read again.
      const bool raced = e.code() == ErrorCode::kVersionConflict ||
                         (e.code() == ErrorCode::kAlreadyExists && !current) ||
                         (e.code() == ErrorCode::kNotFound && current);
      if (!raced || attempt >= kMaxModifyAttempts) throw;
    }
  }
}

bool ControllerRuntime::teardown(const Pointer& ptr) {
  check_output(ptr.type, resource::to_string(ptr), "teardown");
  return state_.teardown(ptr, state::TeardownOptions{name_});
}

void ControllerRuntime::destroy(const Pointer& ptr) {
  check_output(ptr.type, resource::to_string(ptr), "destroy");
  state_.destroy(ptr, state::DestroyOptions{name_});
}

void ControllerRuntime::add_finalizer(const Pointer& ptr) {
  check_finalizer(ptr, "add finalizer to");
  state_.add_finalizers(ptr, {name_});
}

void ControllerRuntime::remove_finalizer(const Pointer& ptr) {
  check_finalizer(ptr, "remove finalizer from");
  try {
    state_.remove_finalizers(ptr, {name_});
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotFound) throw;
  }
}

void ControllerRuntime::start_tracking_outputs() { touched_.emplace(); }

void ControllerRuntime::cleanup_outputs(const std::vector<Kind>& kinds) {
  if (!touched_) {
    throw Error(ErrorCode::kInvalidArgument,
                "controller " + name_ + ": cleanup_outputs without start_tracking_outputs");
  }
  for (const Kind& kind : kinds) {
    check_output(kind.type, kind_string(kind), "clean up");
  }
  const auto touched = std::move(*touched_);
  touched_.reset();
  const std::unordered_set<std::string> none;
  for (const Kind& kind : kinds) {
    auto it = touched.find(kind);
    const auto& ids = it == touched.end() ? none : it->second;
    for (const ResourcePtr& r : state_.list(kind)) {
      if (r->metadata.owner != name_ || ids.count(r->metadata.id) != 0) continue;
      try {
        state_.destroy(r->pointer(), state::DestroyOptions{name_});
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kNotFound) throw;  // gone already is what we wanted
      }
    }
  }
  hooks_.reset_restart_backoff();
}

}  // namespace runtime::controller::internal
