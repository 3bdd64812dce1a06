// The incremental transform (COSI's generic/transform, where each input maps on its own): every
// input resource gives at most one output ID and a contribution to it; an output is its
// contributions reduced in input ID order. A pass maps only the inputs that changed since the
// last one and writes only the outputs whose contributions changed, so a burst of N input
// changes costs O(N) instead of O(N) per change. Use Transform (transform.h) when an output
// depends on the inputs as a whole.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/controller/controller.h"
#include "runtime/controller/typed.h"
#include "runtime/resource/proto_spec.h"

namespace runtime::controller {

template <ResourceTraits In, ResourceTraits Out>
struct KeyedTransform {
  using Spec = typename Out::Spec;

  std::string name{};
  InputKind input_kind = InputKind::kWeak;
  std::string_view input_ns = In::kNamespace;
  // One input's output ID and contribution; nullopt when it contributes nothing. Must depend on
  // that input alone.
  std::function<std::optional<std::pair<std::string, Spec>>(const Typed<In>&)> map{};
  // Folds a later contribution (in input ID order) into the output built so far. Unset: the
  // later contribution replaces it.
  std::function<void(Spec& output, const Spec& later)> fold{};
  OutputKind output_kind = OutputKind::kExclusive;
  std::string_view ns = Out::kNamespace;  // of the outputs
};

namespace internal {

// The keyed transform with its specs erased, so that its machinery is compiled once.
struct SpecKeyedTransform {
  std::string name;
  Input input;
  Output output;
  std::string ns;
  std::function<std::optional<std::pair<std::string, resource::SpecPtr>>(const ResourcePtr&)> map;
  // The output from its contributions, in input ID order (never empty).
  std::function<resource::SpecPtr(const std::vector<resource::SpecPtr>&)> reduce;
};

std::unique_ptr<Controller> make_spec_keyed_transform(SpecKeyedTransform t);

}  // namespace internal

template <ResourceTraits In, ResourceTraits Out>
std::unique_ptr<Controller> make_keyed_transform(KeyedTransform<In, Out> t) {
  using M = typename Out::Spec;
  auto wrap = [](M spec) -> resource::SpecPtr {
    return std::make_shared<resource::ProtoSpec>(std::make_shared<const M>(std::move(spec)));
  };
  auto message = [](const resource::SpecPtr& spec) -> const M& {
    return *static_cast<const resource::ProtoSpec&>(*spec).as<M>();
  };
  return internal::make_spec_keyed_transform({
      std::move(t.name),
      input<In>(t.input_kind, std::nullopt, t.input_ns),
      output<Out>(t.output_kind),
      std::string(t.ns),
      [map = std::move(t.map),
       wrap](const ResourcePtr& r) -> std::optional<std::pair<std::string, resource::SpecPtr>> {
        Typed<In> typed(r);
        if (!typed) return std::nullopt;  // another spec class: a foreign writer's
        auto mapped = map(typed);
        if (!mapped) return std::nullopt;
        return std::pair(std::move(mapped->first), wrap(std::move(mapped->second)));
      },
      [fold = std::move(t.fold), wrap, message](const std::vector<resource::SpecPtr>& parts) {
        // One contribution, or no fold: shared as it is, not copied.
        if (parts.size() == 1 || !fold) return parts.back();
        M out = message(parts.front());
        for (std::size_t i = 1; i < parts.size(); ++i) fold(out, message(parts[i]));
        return wrap(std::move(out));
      },
  });
}

}  // namespace runtime::controller
