#include "runtime/registry/registry.h"

#include <google/protobuf/message.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include "runtime/resource/proto_spec.h"
#include "runtime/state/state.h"

namespace runtime::registry {
namespace {

class StateRegistry final : public Registry {
 public:
  explicit StateRegistry(state::State& state) : state_(state) {
    add_namespace(resource::kMetaNamespace, "Metadata: namespaces and resource definitions.");
    add_type(ResourceType{resource::namespace_definition(), nullptr, nullptr});
    add_type(ResourceType{resource::resource_definition_definition(), nullptr, nullptr});
  }

  void add_namespace(std::string_view name, std::string_view description) override {
    auto ns = resource::make_namespace(name, description);
    {
      std::lock_guard lock(mu_);
      auto [it, inserted] = namespaces_.emplace(std::string(name), std::string(description));
      if (!inserted) {
        if (it->second == description) return;
        throw std::invalid_argument("namespace \"" + std::string(name) +
                                    "\" is already registered with another description");
      }
    }
    state_.create(std::move(ns), state::CreateOptions{std::string(resource::kMetaOwner)});
  }

  void add_type(ResourceType type) override {
    auto rd = resource::make_resource_definition(type.definition);
    {
      std::lock_guard lock(mu_);
      if (!types_
               .emplace(type.definition.type,
                        Decoders{std::move(type.new_spec), std::move(type.decode)})
               .second) {
        throw std::invalid_argument("resource type \"" + type.definition.type +
                                    "\" is already registered");
      }
    }
    state_.create(std::move(rd), state::CreateOptions{std::string(resource::kMetaOwner)});
  }

  resource::SpecPtr decode(std::string_view type, const std::string& proto_bytes,
                           const std::string& yaml) const override {
    Decoders decoders;
    {
      std::lock_guard lock(mu_);
      auto it = types_.find(type);
      if (it != types_.end()) decoders = it->second;
    }
    if (decoders.decode) return decoders.decode(proto_bytes);
    if (!decoders.new_spec) return std::make_shared<resource::OpaqueSpec>(proto_bytes, yaml);
    std::shared_ptr<google::protobuf::Message> message = decoders.new_spec();
    if (!message->ParseFromString(proto_bytes)) {
      throw std::invalid_argument("spec of type \"" + std::string(type) + "\" is not a valid " +
                                  message->GetTypeName());
    }
    return std::make_shared<resource::ProtoSpec>(std::move(message));
  }

 private:
  state::State& state_;
  mutable std::mutex mu_;  // guards the maps (add_* and decode may run on any thread)
  std::map<std::string, std::string, std::less<>> namespaces_;
  struct Decoders {
    std::function<std::unique_ptr<google::protobuf::Message>()> new_spec;
    std::function<resource::SpecPtr(const std::string& proto_bytes)> decode;
  };
  std::map<std::string, Decoders, std::less<>> types_;
};

}  // namespace

std::unique_ptr<Registry> make_state_registry(state::State& state) {
  return std::make_unique<StateRegistry>(state);
}

}  // namespace runtime::registry
