#include "runtime/api/convert.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <array>
#include <utility>

namespace runtime::api {
namespace {

using state::Error;
using state::ErrorCode;

using google::protobuf::util::TimeUtil;

void to_proto(resource::Timestamp t, google::protobuf::Timestamp* out) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  *out = TimeUtil::NanosecondsToTimestamp(ns);
}

resource::Timestamp from_proto(const google::protobuf::Timestamp& t) {
  return resource::Timestamp(std::chrono::duration_cast<resource::Timestamp::duration>(
      std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(t))));
}

Error invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

// How each wire operator reads locally. The deprecated NOT_EXISTS is an inverted EXISTS; the
// first row of a local operator is the one sent.
struct OperatorMapping {
  wire::LabelTerm::Operation wire;
  state::LabelOp op;
  bool inverts;
  bool needs_value;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
constexpr std::array kOperatorTable{
    OperatorMapping{wire::LabelTerm::EXISTS, state::LabelOp::kExists, false, false},
    OperatorMapping{wire::LabelTerm::NOT_EXISTS, state::LabelOp::kExists, true, false},
    // An empty set simply matches nothing.
    OperatorMapping{wire::LabelTerm::IN, state::LabelOp::kIn, false, false},
    OperatorMapping{wire::LabelTerm::EQUAL, state::LabelOp::kEqual, false, true},
    OperatorMapping{wire::LabelTerm::LT, state::LabelOp::kLt, false, true},
    OperatorMapping{wire::LabelTerm::LTE, state::LabelOp::kLte, false, true},
    OperatorMapping{wire::LabelTerm::LT_NUMERIC, state::LabelOp::kLtNumeric, false, true},
    OperatorMapping{wire::LabelTerm::LTE_NUMERIC, state::LabelOp::kLteNumeric, false, true},
};
#pragma GCC diagnostic pop

state::LabelTerm term_from_proto(const wire::LabelTerm& term) {
  const auto row = std::find_if(kOperatorTable.begin(), kOperatorTable.end(),
                                [&](const OperatorMapping& m) { return m.wire == term.op(); });
  if (row == kOperatorTable.end()) {
    throw invalid("label query on \"" + term.key() + "\": unsupported operator " +
                  std::to_string(term.op()));
  }
  // The Go server indexes value[0] unchecked and panics; we refuse the term instead.
  if (row->needs_value && term.value().empty()) {
    throw invalid("label query on \"" + term.key() + "\": operator " +
                  wire::LabelTerm::Operation_Name(term.op()) + " needs a value");
  }
  state::LabelTerm out;
  out.key = term.key();
  out.op = row->op;
  out.values.assign(term.value().begin(), term.value().end());
  out.invert = term.invert() != row->inverts;
  return out;
}

// Every local operator has a row.
wire::LabelTerm::Operation operator_to_proto(state::LabelOp op) {
  return std::find_if(kOperatorTable.begin(), kOperatorTable.end(),
                      [&](const OperatorMapping& m) { return m.op == op; })
      ->wire;
}

struct CodeMapping {
  ErrorCode error;
  grpc::StatusCode status;
};

// The server maps an error kind to its row; the client maps back with the first row that has the
// status code, unless the call names likelier kinds.
constexpr std::array kCodeTable{
    CodeMapping{ErrorCode::kNotFound, grpc::StatusCode::NOT_FOUND},
    CodeMapping{ErrorCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
    CodeMapping{ErrorCode::kVersionConflict, grpc::StatusCode::FAILED_PRECONDITION},
    CodeMapping{ErrorCode::kPendingFinalizers, grpc::StatusCode::FAILED_PRECONDITION},
    CodeMapping{ErrorCode::kInvalidBookmark, grpc::StatusCode::FAILED_PRECONDITION},
    CodeMapping{ErrorCode::kOwnerConflict, grpc::StatusCode::PERMISSION_DENIED},
    CodeMapping{ErrorCode::kPhaseConflict, grpc::StatusCode::INVALID_ARGUMENT},
    CodeMapping{ErrorCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
};

}  // namespace

void to_proto(const resource::Metadata& md, wire::Metadata* out) {
  out->set_namespace_(md.ns);
  out->set_type(md.type);
  out->set_id(md.id);
  out->set_version(resource::version_to_string(md.version));
  out->set_owner(md.owner);
  out->set_phase(std::string(resource::to_string(md.phase)));
  to_proto(md.created, out->mutable_created());
  to_proto(md.updated, out->mutable_updated());
  for (const auto& f : md.finalizers.names()) out->add_finalizers(f);
  for (const auto& [k, v] : md.labels) (*out->mutable_labels())[k] = v;
  for (const auto& [k, v] : md.annotations) (*out->mutable_annotations())[k] = v;
}

void to_proto(const resource::Resource& r, wire::Resource* out) {
  to_proto(r.metadata, out->mutable_metadata());
  auto* spec = out->mutable_spec();  // present even for tombstones
  if (r.spec != nullptr) {
    spec->set_proto_spec(r.spec->proto_bytes());
    spec->set_yaml_spec(r.spec->yaml());
  }
}

resource::Metadata from_proto(const wire::Metadata& md) {
  resource::Metadata out;
  out.ns = md.namespace_();
  out.type = md.type();
  out.id = md.id();
  auto version = resource::parse_version(md.version());
  if (!version) throw invalid("metadata.version: \"" + md.version() + "\" is not a version");
  out.version = *version;
  out.owner = md.owner();
  if (md.phase().empty()) {
    out.phase = resource::Phase::kRunning;  // absent: a fresh resource
  } else if (auto phase = resource::parse_phase(md.phase())) {
    out.phase = *phase;
  } else {
    throw invalid("metadata.phase: \"" + md.phase() + "\" is not running or tearingDown");
  }
  if (md.has_created()) out.created = from_proto(md.created());
  if (md.has_updated()) out.updated = from_proto(md.updated());
  for (const auto& f : md.finalizers()) out.finalizers.add(f);
  for (const auto& [k, v] : md.labels()) out.labels.emplace(k, v);
  for (const auto& [k, v] : md.annotations()) out.annotations.emplace(k, v);
  return out;
}

resource::Resource from_proto(const wire::Resource& r) {
  if (!r.has_metadata()) throw invalid("resource: metadata is missing");
  if (!r.has_spec()) throw invalid("resource: spec is missing");
  return resource::Resource{
      from_proto(r.metadata()),
      std::make_shared<resource::OpaqueSpec>(r.spec().proto_spec(), r.spec().yaml_spec())};
}

state::ResourceFilter filter_from_proto(
    const google::protobuf::RepeatedPtrField<wire::LabelQuery>& label_queries,
    const wire::IDQuery& id_query) {
  state::ResourceFilter filter;
  for (const auto& query : label_queries) {
    state::LabelQuery& q = filter.label_queries.emplace_back();
    for (const auto& term : query.terms()) q.terms.push_back(term_from_proto(term));
  }
  if (!id_query.regexp().empty()) filter.id_query = state::IdQuery(id_query.regexp());
  return filter;
}

void filter_to_proto(const state::ResourceFilter& filter,
                     google::protobuf::RepeatedPtrField<wire::LabelQuery>* label_queries,
                     wire::IDQuery* id_query) {
  for (const auto& query : filter.label_queries) {
    auto* q = label_queries->Add();
    for (const auto& term : query.terms) {
      auto* t = q->add_terms();
      t->set_key(term.key);
      t->set_op(operator_to_proto(term.op));
      for (const auto& v : term.values) t->add_value(v);
      t->set_invert(term.invert);
    }
  }
  id_query->set_regexp(filter.id_query.pattern());
}

grpc::Status to_status(const std::exception& e) {
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    for (const auto& row : kCodeTable) {
      if (row.error == err->code()) return grpc::Status(row.status, err->what());
    }
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, e.what());
}

Error from_status(const grpc::Status& status, std::initializer_list<ErrorCode> likely) {
  const CodeMapping* first = nullptr;
  for (const auto& row : kCodeTable) {
    if (row.status != status.error_code()) continue;
    if (std::find(likely.begin(), likely.end(), row.error) != likely.end()) {
      return Error(row.error, status.error_message());
    }
    if (first == nullptr) first = &row;
  }
  return Error(first ? first->error : ErrorCode::kInvalidArgument, status.error_message());
}

}  // namespace runtime::api
