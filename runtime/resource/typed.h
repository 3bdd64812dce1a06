// Typed resources: one traits declaration per resource type (spec, default namespace, type
// name), and a typed view of a stored resource, so that code names a type once instead of
// spelling its strings and casting its spec at every use.
#pragma once

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "runtime/resource/proto_spec.h"
#include "runtime/resource/resource.h"

namespace runtime::resource {

// What code needs to know of a resource type: its spec class, its default namespace and its
// type name. `Spec` is a protobuf message (stored in a ProtoSpec) or a class derived from Spec.
template <class T>
concept ResourceTraits = requires {
  typename T::Spec;
  { T::kNamespace } -> std::convertible_to<std::string_view>;
  { T::kType } -> std::convertible_to<std::string_view>;
};

// The traits of a type, declared in one line from its constants:
//   using Member = TypeTraits<MemberSpec, kNamespace, kMemberType>;
template <class S, const std::string_view& Ns, const std::string_view& Type>
struct TypeTraits {
  using Spec = S;
  static constexpr std::string_view kNamespace = Ns;
  static constexpr std::string_view kType = Type;
};

template <ResourceTraits T>
Kind kind_of(std::string_view ns = T::kNamespace) {
  return Kind{ns, T::kType};
}

template <ResourceTraits T>
Pointer pointer_to(std::string_view id, std::string_view ns = T::kNamespace) {
  return Pointer{ns, T::kType, id};
}

// r's spec as T::Spec; null when r holds another spec class (or none).
template <ResourceTraits T>
const typename T::Spec* spec_of(const Resource& r) {
  if constexpr (std::is_base_of_v<Spec, typename T::Spec>) {
    return dynamic_cast<const typename T::Spec*>(r.spec.get());
  } else {
    return spec_as<typename T::Spec>(r);
  }
}

// A stored resource of type T: shares the resource, reads its spec without a copy. Empty (false)
// when there is no such resource or it holds another spec class.
template <ResourceTraits T>
class Typed {
 public:
  using Spec = typename T::Spec;

  Typed() = default;
  explicit Typed(ResourcePtr r) : spec_(r ? spec_of<T>(*r) : nullptr) {
    if (spec_ != nullptr) resource_ = std::move(r);
  }

  explicit operator bool() const { return spec_ != nullptr; }
  const Spec& operator*() const { return *spec_; }
  const Spec* operator->() const { return spec_; }

  const Metadata& metadata() const { return resource_->metadata; }
  const std::string& id() const { return resource_->metadata.id; }
  const ResourcePtr& resource() const { return resource_; }

 private:
  ResourcePtr resource_;
  const Spec* spec_ = nullptr;  // points into resource_
};

}  // namespace runtime::resource
