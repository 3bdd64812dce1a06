// Conversions between the runtime's resources, queries and errors and the COSI wire types
// (cosi.resource), shared by the State API server and client.
#pragma once

#include <exception>
#include <initializer_list>
#include <string>

#include "cosi/v1alpha1/resource.pb.h"
#include "runtime/resource/resource.h"
#include "runtime/state/errors.h"
#include "runtime/state/query.h"

namespace grpc {
class Status;
}

namespace runtime::api {

namespace wire = ::cosi::resource;

void to_proto(const resource::Metadata& md, wire::Metadata* out);
// A resource as the Go client requires it: metadata and spec always present (an empty Spec for
// tombstones), version a number or "undefined", phase "running" or "tearingDown".
void to_proto(const resource::Resource& r, wire::Resource* out);

// Throws state::Error(kInvalidArgument) naming the field when the message is malformed.
resource::Metadata from_proto(const wire::Metadata& md);
// The spec is kept opaque: proto bytes and YAML verbatim.
resource::Resource from_proto(const wire::Resource& r);

// Label queries (OR of ANDed terms) and the id regexp of List and Watch. Throws
// state::Error(kInvalidArgument) for terms that cannot be evaluated (no values for an op that
// needs one) and for a regexp that does not compile.
state::ResourceFilter filter_from_proto(
    const google::protobuf::RepeatedPtrField<wire::LabelQuery>& label_queries,
    const wire::IDQuery& id_query);

void filter_to_proto(const state::ResourceFilter& filter,
                     google::protobuf::RepeatedPtrField<wire::LabelQuery>* label_queries,
                     wire::IDQuery* id_query);

// The one table from error kinds to gRPC status codes. Errors that are not state::Error become
// UNKNOWN.
grpc::Status to_status(const std::exception& e);
// The reverse, used by the client so that is_conflict() and friends work across the wire. Some
// codes stand for several kinds (FAILED_PRECONDITION is a version race on Update and pending
// finalizers on Destroy): `likely` lists the kinds the call can produce, tried first.
state::Error from_status(const grpc::Status& status,
                         std::initializer_list<state::ErrorCode> likely = {});

}  // namespace runtime::api
