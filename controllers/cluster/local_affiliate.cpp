// The local affiliate: what this node announces to the registries.
#include "controllers/cluster/local_affiliate.h"

#include <algorithm>
#include <optional>

#include "controllers/internal/get_spec.h"
#include "controllers/internal/inputs.h"
#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/kubespan/kubespan.h"
#include "resources/network/network.h"
#include "runtime/controller/controller.h"
#include "runtime/controller/modify.h"
#include "values/machine_type.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace rk = resources::k8s;
namespace rks = resources::kubespan;
namespace rn = resources::network;
namespace rcfg = resources::config;
using controllers::internal::get_spec;
using controllers::internal::weak_input;
using runtime::controller::Input;
using runtime::controller::Runtime;
using runtime::resource::Pointer;

constexpr unsigned char kSideroLinkPurpose = 0x03;

bool is_siderolink(const std::string& ip) {
  return ip.size() == 16 && static_cast<unsigned char>(ip[0]) == 0xfd &&
         static_cast<unsigned char>(ip[7]) == kSideroLinkPurpose;
}

class LocalAffiliateController final : public runtime::controller::Controller {
 public:
  explicit LocalAffiliateController(std::string os) : os_(std::move(os)) {}

  std::string name() const override { return "cluster.LocalAffiliateController"; }

  std::vector<Input> inputs() const override {
    return {
        weak_input(rc::kConfigNamespace, rc::kConfigType, rc::kConfigId),
        weak_input(rc::kNamespace, rc::kIdentityType, rc::kLocalIdentityId),
        weak_input(rn::kNamespace, rn::kHostnameStatusType, rn::kHostnameId),
        weak_input(rk::kNamespace, rk::kNodenameType, rk::kNodenameId),
        weak_input(rn::kNamespace, rn::kNodeAddressType, std::nullopt),
        weak_input(rk::kNamespace, rk::kNodeStatusType, std::nullopt),
        weak_input(rks::kNamespace, rks::kIdentityType, rks::kLocalIdentityId),
        weak_input(rks::kConfigNamespace, rks::kConfigType, rks::kConfigId),
        weak_input(rcfg::kNamespace, rcfg::kMachineTypeType, rcfg::kMachineTypeId),
        weak_input(rc::kNamespace, rn::kAddressStatusType, std::nullopt),
        weak_input(rk::kControlPlaneNamespace, rk::kAPIServerConfigType, rk::kAPIServerConfigId),
    };
  }

  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rc::kAffiliateType), runtime::controller::OutputKind::kShared}};
  }

  void reconcile(Runtime& rt) override {
    auto discovery = get_spec<rc::ConfigSpec>(rt, rc::kConfigNamespace, rc::kConfigType,
                                              rc::kConfigId);
    auto identity = get_spec<rc::IdentitySpec>(rt, rc::kNamespace, rc::kIdentityType,
                                               rc::kLocalIdentityId);
    auto hostname = get_spec<rn::HostnameStatusSpec>(rt, rn::kNamespace, rn::kHostnameStatusType,
                                                     rn::kHostnameId);
    auto nodename = get_spec<rk::NodenameSpec>(rt, rk::kNamespace, rk::kNodenameType,
                                               rk::kNodenameId);
    auto routed = get_spec<rn::NodeAddressSpec>(rt, rn::kNamespace, rn::kNodeAddressType,
                                                rn::kRoutedNoK8sId);
    auto current = get_spec<rn::NodeAddressSpec>(rt, rn::kNamespace, rn::kNodeAddressType,
                                                 rn::kCurrentNoK8sId);
    auto machine_type = get_spec<rcfg::MachineTypeSpec>(rt, rcfg::kNamespace,
                                                        rcfg::kMachineTypeType,
                                                        rcfg::kMachineTypeId);
    // Like Talos, a missing input leaves the current affiliate alone (no cleanup either).
    if (!discovery || !identity || !hostname || !nodename || !routed || !current ||
        !machine_type) {
      return;
    }

    rt.start_tracking_outputs();
    if (discovery->registry_kubernetes_enabled() || discovery->service_endpoints_size() > 0) {
      auto spec = build(rt, *identity, *hostname, *nodename, *routed, *current, *machine_type);
      runtime::controller::modify<rc::AffiliateSpec>(
          rt, Pointer{std::string(rc::kNamespace), std::string(rc::kAffiliateType),
                      identity->node_id()},
          [&](rc::AffiliateSpec& current_spec, runtime::resource::Metadata&) {
            current_spec = spec;
          });
    }
    rt.cleanup_outputs({runtime::resource::Kind{std::string(rc::kNamespace),
                                                std::string(rc::kAffiliateType)}});
  }

 private:
  rc::AffiliateSpec build(Runtime& rt, const rc::IdentitySpec& identity,
                          const rn::HostnameStatusSpec& hostname, const rk::NodenameSpec& nodename,
                          const rn::NodeAddressSpec& routed, const rn::NodeAddressSpec& current,
                          const rcfg::MachineTypeSpec& machine_type) {
    rc::AffiliateSpec spec;
    spec.set_node_id(identity.node_id());
    spec.set_hostname(rn::fqdn(hostname));
    spec.set_nodename(nodename.nodename());
    spec.set_machine_type(machine_type.machine_type());
    spec.set_operating_system(os_);
    for (const auto& ip : rn::ips(routed)) spec.add_addresses()->set_ip(ip);

    auto apiserver = get_spec<rk::APIServerConfigSpec>(
        rt, rk::kControlPlaneNamespace, rk::kAPIServerConfigType, rk::kAPIServerConfigId);
    if (values::is_control_plane(machine_type.machine_type()) && apiserver) {
      spec.mutable_control_plane()->set_api_server_port(apiserver->local_port());
    }

    auto ks_identity = get_spec<rks::IdentitySpec>(rt, rks::kNamespace, rks::kIdentityType,
                                                   rks::kLocalIdentityId);
    auto ks_config = get_spec<rks::ConfigSpec>(rt, rks::kConfigNamespace, rks::kConfigType,
                                               rks::kConfigId);
    if (ks_identity && ks_config) {
      fill_kubespan(rt, *ks_identity, *ks_config, nodename.nodename(), current,
                    *spec.mutable_kube_span());
      if (!resources::cluster::has_kubespan(spec.kube_span())) spec.clear_kube_span();
    }
    return spec;
  }

  void fill_kubespan(Runtime& rt, const rks::IdentitySpec& ks_identity,
                     const rks::ConfigSpec& ks_config, const std::string& nodename,
                     const rn::NodeAddressSpec& current, rc::pb::KubeSpanAffiliateSpec& ks) {
    const std::string& ks_address = ks_identity.address().ip();
    ks.mutable_address()->set_ip(ks_address);
    ks.set_public_key(ks_identity.public_key());
    if (ks_config.advertise_kubernetes_networks()) {
      if (auto status = get_spec<rk::NodeStatusSpec>(rt, rk::kNamespace, rk::kNodeStatusType,
                                                     nodename)) {
        *ks.mutable_additional_addresses() = status->pod_cid_rs();
      }
    }
    *ks.mutable_exclude_advertised_networks() = ks_config.exclude_advertised_networks();

    std::vector<std::string> ips;
    for (const auto& ip : rn::ips(current)) {
      if (ip != ks_address && !is_siderolink(ip)) ips.push_back(ip);
    }
    const runtime::resource::Kind discovered{std::string(rc::kNamespace),
                                             std::string(rn::kAddressStatusType)};
    for (const auto& r : rt.list(discovered)) {
      const auto* status = runtime::resource::spec_as<rn::AddressStatusSpec>(*r);
      if (status == nullptr) continue;
      const std::string& ip = status->address().ip();
      if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
    }
    if (ks_config.endpoint_filters_size() > 0) {
      ips = filter_ips(ips, {ks_config.endpoint_filters().begin(),
                             ks_config.endpoint_filters().end()});
    }
    for (const auto& ip : ips) *ks.add_endpoints() = values::net::ip_port(ip, rks::kPort);
    for (const auto& extra : ks_config.extra_endpoints()) {
      bool present = std::any_of(ks.endpoints().begin(), ks.endpoints().end(), [&](const auto& e) {
        return e.ip() == extra.ip() && e.port() == extra.port();
      });
      if (!present) *ks.add_endpoints() = extra;
    }
  }

  const std::string os_;
};

}  // namespace

std::vector<std::string> filter_ips(const std::vector<std::string>& ips,
                                    const std::vector<std::string>& filters) {
  std::vector<std::string> out;
  for (const auto& f : filters) {
    bool negate = !f.empty() && f.front() == '!';
    common::NetIPPrefix p;
    try {
      p = values::net::prefix(negate ? std::string_view(f).substr(1) : std::string_view(f));
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("KubeSpan endpoint filter \"" + f + "\" is not a CIDR or IP");
    }
    if (negate) {
      std::erase_if(out, [&](const std::string& ip) { return values::net::contains(p, ip); });
      continue;
    }
    for (const auto& ip : ips) {
      if (values::net::contains(p, ip) && std::find(out.begin(), out.end(), ip) == out.end()) {
        out.push_back(ip);
      }
    }
  }
  return out;
}

std::unique_ptr<runtime::controller::Controller> make_local_affiliate_controller(
    std::string operating_system) {
  return std::make_unique<LocalAffiliateController>(std::move(operating_system));
}

}  // namespace controllers::cluster
