// A typed spec backed by a protobuf message, and helpers to build and read typed resources.
#pragma once

#include <memory>
#include <type_traits>

#include "runtime/resource/resource.h"

namespace google::protobuf {
class Message;
}

namespace runtime::resource {

class ProtoSpec final : public Spec {
 public:
  explicit ProtoSpec(std::shared_ptr<const google::protobuf::Message> message)
      : message_(std::move(message)) {}

  std::string proto_bytes() const override;  // deterministic serialization
  std::string yaml() const override;         // yaml_codec.h's spec_to_yaml
  bool equals(const Spec& other) const override;

  const google::protobuf::Message& message() const { return *message_; }

  template <class M>
  const M* as() const {
    return dynamic_cast<const M*>(message_.get());
  }

 private:
  std::shared_ptr<const google::protobuf::Message> message_;
};

template <class M>
Resource make_resource(Metadata metadata, M spec) {
  return Resource{std::move(metadata),
                  std::make_shared<ProtoSpec>(std::make_shared<const M>(std::move(spec)))};
}

// The typed spec of r, or null when r has another spec type (or none).
template <class M>
const M* spec_as(const Resource& r) {
  const auto* typed = dynamic_cast<const ProtoSpec*>(r.spec.get());
  return typed ? typed->template as<M>() : nullptr;
}

}  // namespace runtime::resource
