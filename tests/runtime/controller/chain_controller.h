// A controller that maps every resource of one type to a resource of another with the same id,
// appending its name to the value; three of them make the T0 -> T1 -> T2 -> T3 test chain.
#pragma once

#include <string>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/controller/runtime.h"
#include "tests/runtime/controller/test_util.h"

namespace runtime::controller::testing {

class ChainController final : public Controller {
 public:
  ChainController(std::string name, std::string in, std::string out)
      : name_(std::move(name)), in_(std::move(in)), out_(std::move(out)) {}

  std::string name() const override { return name_; }
  std::vector<Input> inputs() const override {
    return {Input{kNs, in_, std::nullopt, InputKind::kWeak}};
  }
  std::vector<Output> outputs() const override { return {Output{out_, OutputKind::kExclusive}}; }

  void reconcile(Runtime& rt) override {
    rt.start_tracking_outputs();
    for (const auto& r : rt.list(resource::Kind{kNs, in_})) {
      const std::string& id = r->metadata.id;
      const std::string value = value_of(r).value_or("") + "|" + name_;
      rt.modify(resource::Pointer{kNs, out_, id},
                [&](const resource::ResourcePtr&) { return opaque(out_, id, value); });
    }
    rt.cleanup_outputs({resource::Kind{kNs, out_}});
  }

 private:
  const std::string name_;
  const std::string in_;
  const std::string out_;
};

}  // namespace runtime::controller::testing
