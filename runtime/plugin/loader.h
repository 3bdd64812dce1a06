// Loads plugins (runtime/plugin/plugin.h) and keeps them loaded.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plugin/plugin.h"

namespace runtime::plugin {

// An opened plugin. Unloads on destruction: destroy it only after everything it registered
// (controllers, types, resources with its specs) is gone.
class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual const std::string& name() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // Runs the plugin's register function. Throws std::runtime_error naming the file when it
  // throws; what it registered before that stays registered, so keep the Plugin alive.
  virtual void register_with(Host& host) = 0;
};

// Opens the plugin at `path` and checks its descriptor. Throws std::runtime_error naming the
// file: not loadable (with the loader's reason, e.g. an undefined symbol), no entry point, or an
// ABI version other than kAbiVersion.
std::unique_ptr<Plugin> open_plugin(const std::filesystem::path& path);

// Opens and registers every `*.so` in `dir`, in file-name order, appending each to `loaded`
// before it registers, so the caller owns whatever was loaded when one fails. Throws
// std::runtime_error for a missing directory or the first plugin that fails.
void load_plugins(const std::filesystem::path& dir, Host& host,
                  std::vector<std::unique_ptr<Plugin>>& loaded);

}  // namespace runtime::plugin
