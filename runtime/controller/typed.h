// Typed access for controllers (the shape of COSI's `safe` package): inputs, outputs, reads and
// writes named by a resource type's traits instead of its strings, specs without casts.
//   input<Member>()                      every Member in Member's namespace, weak
//   get<Identity>(rt, kLocalIdentityId)  one resource, empty when absent
//   list<Affiliate>(rt, kRawNamespace)   every Affiliate of a namespace
//   modify<Member>(rt, id, [](MemberSpec& m) { ... })
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/controller/runtime.h"
#include "runtime/resource/typed.h"

namespace runtime::controller {

using resource::ResourceTraits;
using resource::Typed;

template <ResourceTraits T>
Input input(InputKind kind = InputKind::kWeak, std::optional<std::string_view> id = std::nullopt,
            std::string_view ns = T::kNamespace) {
  return Input{std::string(ns), std::string(T::kType),
               id ? std::optional<std::string>(std::string(*id)) : std::nullopt, kind};
}

template <ResourceTraits T>
Output output(OutputKind kind = OutputKind::kExclusive) {
  return Output{std::string(T::kType), kind};
}

// Resources of another spec class (a foreign writer's) are left out.
template <ResourceTraits T>
std::vector<Typed<T>> list(Runtime& rt, std::string_view ns = T::kNamespace) {
  std::vector<Typed<T>> out;
  for (auto& r : rt.list(resource::kind_of<T>(ns))) {
    Typed<T> typed(std::move(r));
    if (typed) out.push_back(std::move(typed));
  }
  return out;
}

template <ResourceTraits T>
Typed<T> get(Runtime& rt, std::string_view id, std::string_view ns = T::kNamespace) {
  return Typed<T>(rt.get(resource::pointer_to<T>(id, ns)));
}

// Create-or-update of ptr through `fn`, which edits a copy of the current spec (and, when it
// takes two arguments, the metadata) in place; a default spec and fresh metadata when absent.
// Nothing is written when fn changes nothing. Throws state::Error(kInvalidArgument) when the
// stored spec is not an M.
template <class M, class Fn>
requires(!ResourceTraits<M>) ResourcePtr
    modify(Runtime& rt, const Pointer& ptr, Fn&& fn, const ModifyOptions& opts = {}) {
  return rt.modify(
      ptr,
      [&](const ResourcePtr& current) {
        M spec;
        resource::Metadata md(ptr);
        if (current) {
          const M* typed = resource::spec_as<M>(*current);
          if (typed == nullptr) {
            throw state::Error(state::ErrorCode::kInvalidArgument,
                               "modify " + resource::to_string(ptr) + ": spec is not a " +
                                   std::string(M::descriptor()->full_name()));
          }
          spec = *typed;
          md = current->metadata;
        }
        if constexpr (std::is_invocable_v<Fn&, M&, resource::Metadata&>) {
          fn(spec, md);
        } else {
          fn(spec);
        }
        return resource::make_resource<M>(std::move(md), std::move(spec));
      },
      opts);
}

template <ResourceTraits T, class Fn>
ResourcePtr modify(Runtime& rt, std::string_view id, Fn&& fn, std::string_view ns = T::kNamespace,
                   const ModifyOptions& opts = {}) {
  return modify<typename T::Spec>(rt, resource::pointer_to<T>(id, ns), std::forward<Fn>(fn), opts);
}

}  // namespace runtime::controller
