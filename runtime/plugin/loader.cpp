// dlopen with RTLD_NOW so that a missing symbol fails here, with the file name, and not later in
// the middle of a reconcile.
#include "runtime/plugin/loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <stdexcept>

namespace runtime::plugin {
namespace {

struct DlClose {
  void operator()(void* handle) const { ::dlclose(handle); }
};
using Handle = std::unique_ptr<void, DlClose>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
  throw std::runtime_error("plugin " + path.string() + ": " + why);
}

class LoadedPlugin final : public Plugin {
 public:
  LoadedPlugin(std::filesystem::path path, Handle handle, const tds_plugin_descriptor& descriptor)
      : path_(std::move(path)),
        handle_(std::move(handle)),
        name_(descriptor.name),
        register_(descriptor.register_plugin) {}
  const std::string& name() const override { return name_; }
  const std::filesystem::path& path() const override { return path_; }
  void register_with(Host& host) override {
    try {
      register_(host);
    } catch (const std::exception& e) {
      fail(path_, "registering " + name_ + ": " + e.what());
    }
  }

 private:
  std::filesystem::path path_;
  Handle handle_;
  std::string name_;
  void (*register_)(Host&);
};

}  // namespace

std::unique_ptr<Plugin> open_plugin(const std::filesystem::path& path) {
  Handle handle(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!handle) fail(path, ::dlerror());
  auto* symbol = ::dlsym(handle.get(), kEntryPoint);
  if (symbol == nullptr) fail(path, std::string("no ") + kEntryPoint + " entry point");
  const tds_plugin_descriptor* descriptor = reinterpret_cast<tds_plugin_entry>(symbol)();
  if (descriptor == nullptr) fail(path, std::string(kEntryPoint) + " returned nothing");
  if (descriptor->abi_version != kAbiVersion) {
    fail(path, "ABI version " + std::to_string(descriptor->abi_version) + ", machined has " +
                   std::to_string(kAbiVersion) + " (rebuild the plugin)");
  }
  if (descriptor->name == nullptr || *descriptor->name == '\0' ||
      descriptor->register_plugin == nullptr) {
    fail(path, "descriptor without a name or register function");
  }
  return std::make_unique<LoadedPlugin>(path, std::move(handle), *descriptor);
}

void load_plugins(const std::filesystem::path& dir, Host& host,
                  std::vector<std::unique_ptr<Plugin>>& loaded) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so" && !entry.is_directory()) files.push_back(entry.path());
  }
  if (ec) throw std::runtime_error("plugin dir " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    loaded.push_back(open_plugin(f));
    loaded.back()->register_with(host);
  }
}

}  // namespace runtime::plugin
