// The KubeSpan identity controller: the state directory's WireGuard key and the KubeSpan address,
// while KubeSpan is enabled.
#include <spdlog/spdlog.h>

#include <optional>

#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "controllers/kubespan/controllers.h"
#include "controllers/kubespan/identity.h"
#include "controllers/node/host_facts.h"
#include "resources/config/config.h"
#include "resources/kubespan/kubespan.h"
#include "runtime/controller/typed.h"

namespace controllers::kubespan {
namespace {

class IdentityController final : public ctl::Controller {
 public:
  IdentityController(std::filesystem::path dir, std::shared_ptr<const node::HostFacts> host)
      : dir_(std::move(dir)), host_(std::move(host)) {}

  std::string name() const override { return "kubespan.IdentityController"; }

  std::vector<ctl::Input> inputs() const override {
    return {
        ctl::input<rks::Config>(ctl::InputKind::kWeak, rks::kConfigId),
        // HostConfig's hardwareAddress.
        internal::active_config_input(),
    };
  }

  std::vector<ctl::Output> outputs() const override { return {ctl::output<rks::Identity>()}; }

  // The key outlives a disabled KubeSpan, but not a reset.
  std::vector<std::filesystem::path> node_state() const override { return {dir_ / kIdentityFile}; }

  void reconcile(ctl::Runtime& rt) override {
    auto cfg = ctl::get<rks::Config>(rt, rks::kConfigId);
    rt.start_tracking_outputs();
    if (cfg && cfg->enabled()) {
      auto identity = establish(rt, *cfg);
      ctl::modify<rks::Identity>(rt, rks::kLocalIdentityId,
                                 [&](rks::IdentitySpec& spec) { spec = identity; });
    }
    // KubeSpan disabled (or no config): the identity goes, the key file stays for next time.
    rt.cleanup_outputs({runtime::resource::kind_of<rks::Identity>()});
  }

 private:
  rks::IdentitySpec establish(ctl::Runtime& rt, const rks::ConfigSpec& cfg) {
    auto machine = internal::active_config(rt);
    std::string mac = machine ? machine->hardware_address : std::string();
    if (mac.empty()) mac = host_->first_mac();
    if (mac.empty()) {
      throw std::runtime_error(
          "KubeSpan address: no network interface has a MAC address; set hardwareAddress in the "
          "HostConfig document");
    }
    // Loaded once per process, as the node identity is; the file is the source of truth.
    if (!key_) {
      key_ = load_or_create_wireguard_key(dir_);
      spdlog::info("kubespan identity established public_key={}", key_->public_key);
    }
    auto addr = kubespan_address(cfg.cluster_id(), mac);
    rks::IdentitySpec spec;
    *spec.mutable_address() = addr.address;
    *spec.mutable_subnet() = addr.subnet;
    spec.set_private_key(key_->private_key);
    spec.set_public_key(key_->public_key);
    return spec;
  }

  const std::filesystem::path dir_;
  const std::shared_ptr<const node::HostFacts> host_;
  std::optional<WireguardKey> key_;  // controller strand
};

}  // namespace

ControllerPtr make_identity_controller(std::filesystem::path state_dir,
                                       std::shared_ptr<const node::HostFacts> host) {
  return std::make_unique<IdentityController>(std::move(state_dir), std::move(host));
}

}  // namespace controllers::kubespan
