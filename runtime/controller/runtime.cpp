#include "runtime/controller/runtime.h"

#include "runtime/state/errors.h"

namespace runtime::controller {

void destroy_if_owned(Runtime& rt, const Pointer& ptr) {
  const ResourcePtr current = rt.get(ptr);
  if (!current || current->metadata.owner != rt.name()) return;
  try {
    rt.destroy(ptr);
  } catch (const state::Error& e) {
    if (e.code() != state::ErrorCode::kNotFound) throw;  // gone already is what we wanted
  }
}

}  // namespace runtime::controller
