// Dependency database: registration checks, with COSI's rules and dependent lookups.
#include "runtime/controller/internal/dependency_db.h"

#include <algorithm>

#include "runtime/state/errors.h"

namespace runtime::controller::internal {
namespace {

using state::Error;
using state::ErrorCode;

std::string describe(const Input& in) {
  std::string out = in.ns + "/" + in.type;
  if (in.id) out += "/" + *in.id;
  return out;
}

}  // namespace

std::vector<Input> DependencyDatabase::checked_inputs(const std::string& name,
                                                      std::vector<Input> inputs) {
  std::sort(inputs.begin(), inputs.end());
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const Input& a = inputs[i - 1];
    const Input& b = inputs[i];
    if (a.ns == b.ns && a.type == b.type && a.id == b.id) {
      throw Error(ErrorCode::kInvalidArgument,
                  "controller " + name + ": duplicate input " + describe(b));
    }
  }
  return inputs;
}

void DependencyDatabase::add_controller(const std::string& name, const std::vector<Input>& inputs,
                                        const std::vector<Output>& outputs) {
  if (name.empty()) throw Error(ErrorCode::kInvalidArgument, "controller name is empty");
  auto sorted = checked_inputs(name, inputs);

  std::lock_guard lock(mu_);
  if (inputs_.count(name) != 0) {
    throw Error(ErrorCode::kInvalidArgument, "controller " + name + " is already registered");
  }
  std::set<std::string> exclusive;
  std::set<std::string> shared;
  for (const Output& out : outputs) {
    const std::string prefix = "controller " + name + ": output " + out.type + ": ";
    if (out.type.empty()) throw Error(ErrorCode::kInvalidArgument, prefix + "empty type");
    if (auto it = exclusive_.find(out.type); it != exclusive_.end()) {
      throw Error(ErrorCode::kInvalidArgument,
                  prefix + "already an exclusive output of " + it->second);
    }
    if (exclusive.count(out.type) != 0 || shared.count(out.type) != 0) {
      throw Error(ErrorCode::kInvalidArgument, prefix + "declared twice");
    }
    if (out.kind == OutputKind::kExclusive) {
      if (auto it = shared_.find(out.type); it != shared_.end()) {
        throw Error(ErrorCode::kInvalidArgument,
                    prefix + "already a shared output of " + *it->second.begin());
      }
      exclusive.insert(out.type);
    } else {
      shared.insert(out.type);
    }
  }

  for (const auto& type : exclusive) exclusive_[type] = name;
  for (const auto& type : shared) shared_[type].insert(name);
  index_inputs(name, sorted);
  inputs_[name] = std::move(sorted);
}

void DependencyDatabase::update_inputs(const std::string& name, const std::vector<Input>& inputs) {
  auto sorted = checked_inputs(name, inputs);
  std::lock_guard lock(mu_);
  auto it = inputs_.find(name);
  if (it == inputs_.end()) {
    throw Error(ErrorCode::kInvalidArgument, "controller " + name + " is not registered");
  }
  unindex_inputs(name, it->second);
  index_inputs(name, sorted);
  it->second = std::move(sorted);
}

void DependencyDatabase::index_inputs(const std::string& name, const std::vector<Input>& inputs) {
  for (const Input& in : inputs) {
    by_kind_[resource::Kind{in.ns, in.type}].insert(Dependent{name, in.id, in.kind});
  }
}

void DependencyDatabase::unindex_inputs(const std::string& name,
                                        const std::vector<Input>& inputs) {
  for (const Input& in : inputs) {
    auto it = by_kind_.find(resource::Kind{in.ns, in.type});
    if (it == by_kind_.end()) continue;
    it->second.erase(Dependent{name, in.id, in.kind});
    if (it->second.empty()) by_kind_.erase(it);
  }
}

std::vector<Dependent> DependencyDatabase::dependents(const resource::Pointer& ptr) const {
  std::vector<Dependent> by_id;
  std::vector<Dependent> whole_kind;
  std::lock_guard lock(mu_);
  auto it = by_kind_.find(ptr.kind());
  if (it == by_kind_.end()) return {};
  for (const Dependent& d : it->second) {
    if (!d.id) {
      whole_kind.push_back(d);
    } else if (*d.id == ptr.id) {
      by_id.push_back(d);
    }
  }
  by_id.insert(by_id.end(), whole_kind.begin(), whole_kind.end());
  return by_id;
}

std::vector<Dependent> DependencyDatabase::dependents(const resource::Kind& kind) const {
  std::lock_guard lock(mu_);
  auto it = by_kind_.find(kind);
  if (it == by_kind_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<Input> DependencyDatabase::inputs(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = inputs_.find(name);
  return it == inputs_.end() ? std::vector<Input>{} : it->second;
}

std::vector<resource::Kind> DependencyDatabase::input_kinds() const {
  std::lock_guard lock(mu_);
  std::vector<resource::Kind> kinds;
  kinds.reserve(by_kind_.size());
  for (const auto& [kind, deps] : by_kind_) kinds.push_back(kind);
  return kinds;
}

}  // namespace runtime::controller::internal
