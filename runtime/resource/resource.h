// A resource: metadata plus an immutable spec. Stored resources are shared, never mutated:
// a write makes a new Resource.
#pragma once

#include <memory>
#include <string>

#include "runtime/resource/metadata.h"

namespace runtime::resource {

// The spec half of a resource. Implementations: ProtoSpec (a typed protobuf message) and
// OpaqueSpec (bytes and YAML of a type this process does not know, kept verbatim).
class Spec {
 public:
  virtual ~Spec() = default;

  // The protobuf encoding (the wire's proto_spec); empty for specs with no protobuf form.
  virtual std::string proto_bytes() const = 0;
  // The YAML rendering (the wire's yaml_spec), camelCase keys.
  virtual std::string yaml() const = 0;
  virtual bool equals(const Spec& other) const = 0;
};

using SpecPtr = std::shared_ptr<const Spec>;

// A spec known only by its encodings, e.g. a type created over the State API.
class OpaqueSpec final : public Spec {
 public:
  OpaqueSpec(std::string proto_bytes, std::string yaml)
      : proto_(std::move(proto_bytes)), yaml_(std::move(yaml)) {}

  std::string proto_bytes() const override { return proto_; }
  std::string yaml() const override { return yaml_; }
  bool equals(const Spec& other) const override;

 private:
  std::string proto_;
  std::string yaml_;
};

struct Resource {
  Metadata metadata;
  SpecPtr spec;  // null for tombstones (Bootstrapped/Noop markers, absent-resource events)

  Pointer pointer() const { return metadata.pointer(); }
  bool operator==(const Resource& other) const;  // metadata equality and spec equality
};

using ResourcePtr = std::shared_ptr<const Resource>;

// A resource with no spec that stands for an event rather than a stored object.
Resource tombstone(Metadata metadata);

}  // namespace runtime::resource
