// Typed modify: create-or-update an output through a function that edits its protobuf spec and
// metadata in place (the shape of COSI's safe.WriterModify).
#pragma once

#include <string>
#include <utility>

#include "runtime/controller/runtime.h"
#include "runtime/resource/proto_spec.h"

namespace runtime::controller {

// `fn(M& spec, resource::Metadata& md)` gets a copy of the current spec and metadata, or a
// default spec and fresh metadata for ptr when the resource is absent. Nothing is written when
// fn changes nothing. Throws state::Error(kInvalidArgument) when the stored spec is not an M.
template <class M, class Fn>
ResourcePtr modify(Runtime& rt, const Pointer& ptr, Fn&& fn, const ModifyOptions& opts = {}) {
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
        fn(spec, md);
        return resource::make_resource<M>(std::move(md), std::move(spec));
      },
      opts);
}

}  // namespace runtime::controller
