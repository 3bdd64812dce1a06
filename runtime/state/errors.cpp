#include "runtime/state/errors.h"

namespace runtime::state {
namespace {

const Error* as_error(const std::exception& e) { return dynamic_cast<const Error*>(&e); }

}  // namespace

bool is_not_found(const std::exception& e) {
  const auto* err = as_error(e);
  return err != nullptr && err->code() == ErrorCode::kNotFound;
}

bool is_conflict(const std::exception& e) {
  const auto* err = as_error(e);
  if (err == nullptr) return false;
  switch (err->code()) {
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kVersionConflict:
    case ErrorCode::kPendingFinalizers:
    case ErrorCode::kOwnerConflict:
    case ErrorCode::kPhaseConflict:
      return true;
    default:
      return false;
  }
}

bool is_owner_conflict(const std::exception& e) {
  const auto* err = as_error(e);
  return err != nullptr && err->code() == ErrorCode::kOwnerConflict;
}

bool is_phase_conflict(const std::exception& e) {
  const auto* err = as_error(e);
  return err != nullptr && err->code() == ErrorCode::kPhaseConflict;
}

}  // namespace runtime::state
