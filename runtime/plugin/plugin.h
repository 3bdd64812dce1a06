// The plugin ABI. A plugin is a shared object that machined loads from --plugin-dir at start. It
// exports one C function, `tds_plugin_v1`, returning a descriptor whose abi_version must equal
// kAbiVersion; its register function then adds resource types and controllers through the same
// interfaces the built-in ones use. C++ objects cross the boundary, so a plugin is built with
// the same compiler and headers as machined; the symbols it uses from the runtime resolve
// against the machined executable, which exports them (cmd/machined/plugin_abi.list).
#pragma once

#include <cstdint>
#include <memory>

namespace runtime::controller {
class Controller;
}
namespace runtime::registry {
class Registry;
}

namespace runtime::plugin {

// Bumped whenever Host, Registry, Controller, Runtime or the resource types change shape.
inline constexpr std::uint32_t kAbiVersion = 2;
inline constexpr char kEntryPoint[] = "tds_plugin_v1";

// What a plugin registers with, valid only during its register call.
class Host {
 public:
  virtual ~Host() = default;
  virtual registry::Registry& registry() = 0;
  // Throws state::Error on a name, input or output conflict with what is registered.
  virtual void register_controller(std::unique_ptr<controller::Controller> controller) = 0;
};

}  // namespace runtime::plugin

extern "C" {

struct tds_plugin_descriptor {
  std::uint32_t abi_version;  // runtime::plugin::kAbiVersion at the plugin's build
  const char* name;           // for logs and errors
  // May throw: the plugin is then refused and machined does not start.
  void (*register_plugin)(runtime::plugin::Host& host);
};

// The one symbol a plugin exports.
using tds_plugin_entry = const tds_plugin_descriptor* (*)();

}  // extern "C"
