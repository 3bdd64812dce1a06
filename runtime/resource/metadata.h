// Resource identity and metadata: the COSI fields every resource carries, as a value type.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runtime::resource {

// (namespace, type): a collection of resources.
struct Kind {
  std::string ns;
  std::string type;

  Kind() = default;
  Kind(std::string_view ns, std::string_view type) : ns(ns), type(type) {}

  auto operator<=>(const Kind&) const = default;
};

// (namespace, type, id): one resource.
struct Pointer {
  std::string ns;
  std::string type;
  std::string id;

  Pointer() = default;
  Pointer(std::string_view ns, std::string_view type, std::string_view id)
      : ns(ns), type(type), id(id) {}

  Kind kind() const { return Kind{ns, type}; }
  auto operator<=>(const Pointer&) const = default;
};

std::string to_string(const Pointer& p);  // "ns/type/id", for messages and logs
// COSI's words for a resource that does not exist, which talosctl shows:
// "resource Type(ns/id@undefined) doesn't exist".
std::string not_found_message(const Pointer& p);

enum class Phase : std::uint8_t { kRunning, kTearingDown };

std::string_view to_string(Phase phase);  // "running" | "tearingDown"
std::optional<Phase> parse_phase(std::string_view text);

// Optimistic-concurrency counter. Create stores 1; 0 is "undefined" (tombstones only).
using Version = std::uint64_t;
inline constexpr Version kUndefinedVersion = 0;

std::string version_to_string(Version v);  // decimal, or "undefined" for 0
std::optional<Version> parse_version(std::string_view text);

using Timestamp = std::chrono::system_clock::time_point;

// Sorted so that YAML and table output are stable.
using Labels = std::map<std::string, std::string, std::less<>>;
using Annotations = std::map<std::string, std::string, std::less<>>;

// A set of finalizer names; insertion order is kept for display, equality ignores it.
class Finalizers {
 public:
  Finalizers() = default;
  Finalizers(std::initializer_list<std::string> names);

  bool add(std::string_view name);     // false if already present
  bool remove(std::string_view name);  // false if absent
  bool has(std::string_view name) const;
  bool empty() const { return names_.empty(); }
  std::size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

  bool operator==(const Finalizers& other) const;

 private:
  std::vector<std::string> names_;
};

struct Metadata {
  std::string ns;
  std::string type;
  std::string id;
  Version version = kUndefinedVersion;
  std::string owner;
  Phase phase = Phase::kRunning;
  Timestamp created{};
  Timestamp updated{};
  Labels labels;
  Annotations annotations;
  Finalizers finalizers;

  Metadata() = default;
  explicit Metadata(Pointer p)
      : ns(std::move(p.ns)), type(std::move(p.type)), id(std::move(p.id)) {}

  Pointer pointer() const { return Pointer{ns, type, id}; }
  Kind kind() const { return Kind{ns, type}; }

  // COSI equality: every field but the timestamps; finalizers compared as a set.
  bool operator==(const Metadata& other) const;
};

}  // namespace runtime::resource
