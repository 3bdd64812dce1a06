// Plugins for loader_test, one per TDS_TEST_PLUGIN variant: they only touch the Host and the
// interfaces, so they load into the test binary without symbols from it.
#include "runtime/controller/controller.h"
#include "runtime/plugin/plugin.h"
#include "runtime/registry/registry.h"

namespace {

class NoopController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "test.NoopController"; }
  std::vector<runtime::controller::Input> inputs() const override { return {}; }
  std::vector<runtime::controller::Output> outputs() const override { return {}; }
  void reconcile(runtime::controller::Runtime&) override {}
};

void register_plugin(runtime::plugin::Host& host) {
#if TDS_TEST_PLUGIN == 2
  throw std::runtime_error("boom");
#endif
  runtime::registry::ResourceType type;
  type.definition.type = "Widgets.test.tds.dev";
  type.definition.default_namespace = "test";
  host.registry().add_type(std::move(type));
  host.register_controller(std::make_unique<NoopController>());
}

#if TDS_TEST_PLUGIN == 3
constexpr std::uint32_t kVersion = 999;
#else
constexpr std::uint32_t kVersion = runtime::plugin::kAbiVersion;
#endif

const tds_plugin_descriptor descriptor{kVersion, "test-plugin", &register_plugin};

}  // namespace

#if TDS_TEST_PLUGIN != 4
extern "C" const tds_plugin_descriptor* tds_plugin_v1() { return &descriptor; }
#endif
