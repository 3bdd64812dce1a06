// The plugin loader against real shared objects built from test_plugins.cpp: a good plugin
// registers its type and controller; a throwing one, a wrong ABI version, a missing entry point
// and a file that is not a shared object are refused with the file named.
#include "runtime/plugin/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/controller/controller.h"
#include "runtime/registry/registry.h"
#include "tests/machined/temp_dir.h"

namespace runtime::plugin {
namespace {

using ::testing::HasSubstr;

class RecordingRegistry final : public registry::Registry {
 public:
  void add_namespace(std::string_view, std::string_view) override {}
  void add_type(registry::ResourceType type) override { types.push_back(type.definition.type); }
  resource::SpecPtr decode(std::string_view, const std::string&, const std::string&) const override {
    return nullptr;
  }
  std::vector<std::string> types;
};

// Controllers registered here are destroyed before the plugins that made them (members below
// the plugins in each test).
class RecordingHost final : public Host {
 public:
  registry::Registry& registry() override { return registry_; }
  void register_controller(std::unique_ptr<controller::Controller> c) override {
    names.push_back(c->name());
    controllers.push_back(std::move(c));
  }
  RecordingRegistry registry_;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<controller::Controller>> controllers;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(PluginLoader, GoodPluginRegistersTypesAndControllers) {
  auto plugin = open_plugin(TDS_GOOD_PLUGIN);
  RecordingHost host;
  plugin->register_with(host);
  EXPECT_EQ(plugin->name(), "test-plugin");
  EXPECT_EQ(host.registry_.types, std::vector<std::string>{"Widgets.test.tds.dev"});
  EXPECT_EQ(host.names, std::vector<std::string>{"test.NoopController"});
}

TEST(PluginLoader, BadPluginsAreRefusedWithTheFileNamed) {
  tds::test::TempDir dir;
  const auto garbage = dir.path() / "garbage.so";
  std::ofstream(garbage) << "not an ELF file";
  EXPECT_THAT(error_of([&] { open_plugin(garbage); }), HasSubstr(garbage.string()));
  EXPECT_THAT(error_of([&] { open_plugin(dir.path() / "missing.so"); }), HasSubstr("missing.so"));
  EXPECT_THAT(error_of([] { open_plugin(TDS_NO_ENTRY_PLUGIN); }),
              HasSubstr("no tds_plugin_v1 entry point"));
  EXPECT_THAT(error_of([] { open_plugin(TDS_ABI_MISMATCH_PLUGIN); }),
              HasSubstr("ABI version 999, machined has " + std::to_string(kAbiVersion)));

  auto throwing = open_plugin(TDS_THROWING_PLUGIN);
  RecordingHost host;
  const auto error = error_of([&] { throwing->register_with(host); });
  EXPECT_THAT(error, HasSubstr(TDS_THROWING_PLUGIN));
  EXPECT_THAT(error, HasSubstr("boom"));
}

TEST(PluginLoader, DirectoryLoadsInNameOrderAndKeepsWhatLoadedBeforeAFailure) {
  tds::test::TempDir dir;
  std::filesystem::copy_file(TDS_GOOD_PLUGIN, dir.path() / "a-good.so");
  std::filesystem::copy_file(TDS_ABI_MISMATCH_PLUGIN, dir.path() / "b-old.so");
  std::ofstream(dir.path() / "README") << "ignored: not a .so";
  std::vector<std::unique_ptr<Plugin>> loaded;
  {
    RecordingHost host;
    EXPECT_THAT(error_of([&] { load_plugins(dir.path(), host, loaded); }), HasSubstr("b-old.so"));
    // a-good.so stays loaded: its controller is registered. b-old.so was refused before that.
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0]->path(), dir.path() / "a-good.so");
    EXPECT_EQ(host.names, std::vector<std::string>{"test.NoopController"});
  }
  EXPECT_THAT(error_of([&] {
                RecordingHost host;
                load_plugins(dir.path() / "nope", host, loaded);
              }),
              HasSubstr("nope"));
}

}  // namespace
}  // namespace runtime::plugin
