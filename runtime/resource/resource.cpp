#include "runtime/resource/resource.h"

namespace runtime::resource {

bool OpaqueSpec::equals(const Spec& other) const {
  const auto* o = dynamic_cast<const OpaqueSpec*>(&other);
  return o != nullptr && o->proto_ == proto_ && o->yaml_ == yaml_;
}

bool Resource::operator==(const Resource& other) const {
  if (!(metadata == other.metadata)) return false;
  if (spec == other.spec) return true;  // same object, or both tombstones
  return spec && other.spec && spec->equals(*other.spec);
}

Resource tombstone(Metadata metadata) { return Resource{std::move(metadata), nullptr}; }

}  // namespace runtime::resource
