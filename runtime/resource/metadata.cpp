#include "runtime/resource/metadata.h"

#include <algorithm>
#include <charconv>

namespace runtime::resource {

std::string to_string(const Pointer& p) { return p.ns + "/" + p.type + "/" + p.id; }

std::string not_found_message(const Pointer& p) {
  return "resource " + p.type + "(" + p.ns + "/" + p.id + "@undefined) doesn't exist";
}

std::string_view to_string(Phase phase) {
  return phase == Phase::kRunning ? "running" : "tearingDown";
}

std::optional<Phase> parse_phase(std::string_view text) {
  if (text == "running") return Phase::kRunning;
  if (text == "tearingDown") return Phase::kTearingDown;
  return std::nullopt;
}

std::string version_to_string(Version v) {
  return v == kUndefinedVersion ? std::string("undefined") : std::to_string(v);
}

std::optional<Version> parse_version(std::string_view text) {
  if (text == "undefined") return kUndefinedVersion;
  Version v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

Finalizers::Finalizers(std::initializer_list<std::string> names) {
  for (const auto& n : names) add(n);
}

bool Finalizers::add(std::string_view name) {
  if (has(name)) return false;
  names_.emplace_back(name);
  return true;
}

bool Finalizers::remove(std::string_view name) {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return false;
  names_.erase(it);
  return true;
}

bool Finalizers::has(std::string_view name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

bool Finalizers::operator==(const Finalizers& other) const {
  if (names_.size() != other.names_.size()) return false;
  // Sets are tiny (usually 0-2 entries): a quadratic scan beats sorting copies.
  return std::all_of(names_.begin(), names_.end(),
                     [&](const std::string& n) { return other.has(n); });
}

bool Metadata::operator==(const Metadata& other) const {
  return version == other.version && phase == other.phase && id == other.id &&
         type == other.type && ns == other.ns && owner == other.owner && labels == other.labels &&
         annotations == other.annotations && finalizers == other.finalizers;
}

}  // namespace runtime::resource
