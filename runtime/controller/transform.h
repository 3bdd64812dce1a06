// The generic transform controller (COSI's generic/transform, as a reduce): each pass reads the
// inputs, computes every output of one type by ID, writes those that changed and destroys the
// owned ones it no longer produces. A controller built on it is only its mapping function.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/controller/typed.h"

namespace runtime::controller {

template <ResourceTraits Out>
struct Transform {
  using Outputs = std::map<std::string, typename Out::Spec>;

  std::string name;
  std::vector<Input> inputs;
  // Every output by ID, computed from the inputs read through rt (get<T>, list<T>). nullopt: an
  // input the outputs need is missing, so they are left as they are. Throwing retries the pass
  // with backoff.
  std::function<std::optional<Outputs>(Runtime& rt)> map;
  OutputKind output_kind = OutputKind::kExclusive;
  std::string_view ns = Out::kNamespace;  // of the outputs
  // Also recompute this often (zero: only when an input changes), for outputs that depend on
  // something outside the state (host facts change without telling anyone). Writes that change
  // nothing are skipped, so an idle period costs one pass.
  std::chrono::milliseconds refresh{0};
};

namespace internal {

// The transform with its outputs' specs erased, so that its machinery is compiled once.
struct SpecTransform {
  std::string name;
  std::vector<Input> inputs;
  Output output;
  std::string ns;
  std::function<std::optional<std::map<std::string, resource::SpecPtr>>(Runtime& rt)> map;
  std::chrono::milliseconds refresh{0};
};

std::unique_ptr<Controller> make_spec_transform(SpecTransform t);

}  // namespace internal

template <ResourceTraits Out>
std::unique_ptr<Controller> make_transform(Transform<Out> t) {
  using M = typename Out::Spec;
  return internal::make_spec_transform({
      std::move(t.name),
      std::move(t.inputs),
      output<Out>(t.output_kind),
      std::string(t.ns),
      [map = std::move(t.map)](
          Runtime& rt) -> std::optional<std::map<std::string, resource::SpecPtr>> {
        auto outputs = map(rt);
        if (!outputs) return std::nullopt;
        std::map<std::string, resource::SpecPtr> specs;
        for (auto& [id, spec] : *outputs) {
          specs.emplace(id, std::make_shared<resource::ProtoSpec>(
                                std::make_shared<const M>(std::move(spec))));
        }
        return specs;
      },
      t.refresh,
  });
}

}  // namespace runtime::controller
