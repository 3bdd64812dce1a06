// Typed state errors. Each kind maps to one gRPC status code, as COSI's State API maps them; the
// mapping lives in one table in the API layer.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace runtime::state {

enum class ErrorCode {
  kNotFound,           // Get/Update/Destroy/Teardown of a missing id
  kAlreadyExists,      // Create of an existing id (a conflict)
  kVersionConflict,    // Update with a stale version (a conflict)
  kPendingFinalizers,  // Destroy while finalizers remain (a conflict)
  kOwnerConflict,      // write with the wrong owner (a conflict)
  kPhaseConflict,      // Update with an expected phase that does not match (a conflict)
  kInvalidBookmark,    // watch resume from an unknown or too old bookmark
  kInvalidArgument,    // malformed query or option combination
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

bool is_not_found(const std::exception& e);
// Any conflict, including owner and phase conflicts (as COSI's IsConflict).
bool is_conflict(const std::exception& e);
bool is_owner_conflict(const std::exception& e);
bool is_phase_conflict(const std::exception& e);

}  // namespace runtime::state
