// The dependency database: which controller reads and writes what. Refuses conflicting
// registrations and maps a changed resource to the controllers that depend on it.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/resource/metadata.h"

namespace runtime::controller::internal {

struct Dependent {
  std::string controller;
  std::optional<std::string> id;  // the input's id; nullopt: the whole kind
  InputKind kind = InputKind::kWeak;

  auto operator<=>(const Dependent&) const = default;
};

// Thread-safe: one mutex guards every index; nothing is called out while it is held.
class DependencyDatabase {
 public:
  // All or nothing. Throws state::Error(kInvalidArgument) on a duplicate name, an exclusive
  // output claimed twice, exclusive against shared on one type, a shared output listed twice by
  // one controller, or two inputs with the same (ns, type, id).
  void add_controller(const std::string& name, const std::vector<Input>& inputs,
                      const std::vector<Output>& outputs);
  // Replaces the controller's inputs; the same checks as add_controller, all or nothing.
  void update_inputs(const std::string& name, const std::vector<Input>& inputs);

  // Controllers with an input on exactly this id, then those with an input on the whole kind.
  std::vector<Dependent> dependents(const resource::Pointer& ptr) const;
  // Every input on the kind, whatever its id.
  std::vector<Dependent> dependents(const resource::Kind& kind) const;

  std::vector<Input> inputs(const std::string& name) const;  // sorted
  std::vector<resource::Kind> input_kinds() const;           // kinds any controller reads

 private:
  static std::vector<Input> checked_inputs(const std::string& name, std::vector<Input> inputs);
  void index_inputs(const std::string& name, const std::vector<Input>& inputs);
  void unindex_inputs(const std::string& name, const std::vector<Input>& inputs);

  mutable std::mutex mu_;
  std::map<std::string, std::vector<Input>> inputs_;  // controller -> sorted inputs
  std::map<std::string, std::string> exclusive_;      // type -> controller
  std::map<std::string, std::set<std::string>> shared_;  // type -> controllers
  std::map<resource::Kind, std::set<Dependent>> by_kind_;  // every input, id or not
};

}  // namespace runtime::controller::internal
