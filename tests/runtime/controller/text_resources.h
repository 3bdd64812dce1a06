// Resources whose spec is a google.protobuf.StringValue, for the transform tests.
#pragma once

#include <google/protobuf/wrappers.pb.h>

#include <string>

#include "runtime/resource/proto_spec.h"
#include "runtime/state/state.h"

namespace runtime::controller::testing {

inline google::protobuf::StringValue text(const std::string& v) {
  google::protobuf::StringValue s;
  s.set_value(v);
  return s;
}

// Creates the resource at ptr with `value`, or updates it to that value.
inline void put_text(state::State& state, const resource::Pointer& ptr, const std::string& value) {
  auto r = resource::make_resource(resource::Metadata(ptr), text(value));
  if (auto current = state.get(ptr)) {
    r.metadata.version = current->metadata.version;
    state.update(std::move(r));
  } else {
    state.create(std::move(r));
  }
}

}  // namespace runtime::controller::testing
