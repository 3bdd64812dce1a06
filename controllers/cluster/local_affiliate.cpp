// The local affiliate: what this node announces to the registries.
#include "controllers/cluster/local_affiliate.h"

#include <algorithm>
#include <optional>

#include "controllers/cluster/controllers.h"
#include "controllers/internal/names.h"
#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/kubespan/kubespan.h"
#include "resources/network/network.h"
#include "runtime/controller/transform.h"
#include "values/machine_type.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

constexpr unsigned char kSideroLinkPurpose = 0x03;

bool is_siderolink(const std::string& ip) {
  return ip.size() == 16 && static_cast<unsigned char>(ip[0]) == 0xfd &&
         static_cast<unsigned char>(ip[7]) == kSideroLinkPurpose;
}

struct Inputs {
  ctl::Typed<rc::Identity> identity;
  ctl::Typed<rn::HostnameStatus> hostname;
  ctl::Typed<rk::Nodename> nodename;
  ctl::Typed<rn::NodeAddress> routed;
  ctl::Typed<rn::NodeAddress> current;
  ctl::Typed<rcfg::MachineType> machine_type;
};

void fill_kubespan(ctl::Runtime& rt, const rks::IdentitySpec& ks_identity,
                   const rks::ConfigSpec& ks_config, const std::string& nodename,
                   const rn::NodeAddressSpec& current, rc::pb::KubeSpanAffiliateSpec& ks) {
  const std::string& ks_address = ks_identity.address().ip();
  ks.mutable_address()->set_ip(ks_address);
  ks.set_public_key(ks_identity.public_key());
  if (ks_config.advertise_kubernetes_networks()) {
    if (auto status = ctl::get<rk::NodeStatus>(rt, nodename)) {
      *ks.mutable_additional_addresses() = status->pod_cid_rs();
    }
  }
  *ks.mutable_exclude_advertised_networks() = ks_config.exclude_advertised_networks();

  std::vector<std::string> ips;
  for (const auto& ip : rn::ips(current)) {
    if (ip != ks_address && !is_siderolink(ip)) ips.push_back(ip);
  }
  // Addresses the registries saw this node connect from.
  for (const auto& status : ctl::list<rn::AddressStatus>(rt, rc::kNamespace)) {
    const std::string& ip = status->address().ip();
    if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
  }
  if (ks_config.endpoint_filters_size() > 0) {
    ips =
        filter_ips(ips, {ks_config.endpoint_filters().begin(), ks_config.endpoint_filters().end()});
  }
  for (const auto& ip : ips) *ks.add_endpoints() = values::net::ip_port(ip, rks::kPort);
  for (const auto& extra : ks_config.extra_endpoints()) {
    bool present = std::any_of(ks.endpoints().begin(), ks.endpoints().end(), [&](const auto& e) {
      return e.ip() == extra.ip() && e.port() == extra.port();
    });
    if (!present) *ks.add_endpoints() = extra;
  }
}

rc::AffiliateSpec local_affiliate(ctl::Runtime& rt, const Inputs& in, const std::string& os) {
  rc::AffiliateSpec spec;
  spec.set_node_id(in.identity->node_id());
  spec.set_hostname(rn::fqdn(*in.hostname));
  spec.set_nodename(in.nodename->nodename());
  spec.set_machine_type(in.machine_type->machine_type());
  spec.set_operating_system(os);
  for (const auto& ip : rn::ips(*in.routed)) spec.add_addresses()->set_ip(ip);

  auto apiserver = ctl::get<rk::APIServerConfig>(rt, rk::kAPIServerConfigId);
  if (values::is_control_plane(in.machine_type->machine_type()) && apiserver) {
    spec.mutable_control_plane()->set_api_server_port(apiserver->local_port());
  }

  auto ks_identity = ctl::get<rks::Identity>(rt, rks::kLocalIdentityId);
  auto ks_config = ctl::get<rks::Config>(rt, rks::kConfigId);
  if (ks_identity && ks_config) {
    fill_kubespan(rt, *ks_identity, *ks_config, in.nodename->nodename(), *in.current,
                  *spec.mutable_kube_span());
    if (!rc::has_kubespan(spec.kube_span())) spec.clear_kube_span();
  }
  return spec;
}

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

ControllerPtr make_local_affiliate_controller(std::string operating_system) {
  return ctl::make_transform<rc::Affiliate>({
      .name = "cluster.LocalAffiliateController",
      .inputs =
          {
              ctl::input<rc::Config>(ctl::InputKind::kWeak, rc::kConfigId),
              ctl::input<rc::Identity>(ctl::InputKind::kWeak, rc::kLocalIdentityId),
              ctl::input<rn::HostnameStatus>(ctl::InputKind::kWeak, rn::kHostnameId),
              ctl::input<rk::Nodename>(ctl::InputKind::kWeak, rk::kNodenameId),
              ctl::input<rn::NodeAddress>(),
              ctl::input<rk::NodeStatus>(),
              ctl::input<rks::Identity>(ctl::InputKind::kWeak, rks::kLocalIdentityId),
              ctl::input<rks::Config>(ctl::InputKind::kWeak, rks::kConfigId),
              ctl::input<rcfg::MachineType>(ctl::InputKind::kWeak, rcfg::kMachineTypeId),
              ctl::input<rn::AddressStatus>(ctl::InputKind::kWeak, std::nullopt, rc::kNamespace),
              ctl::input<rk::APIServerConfig>(ctl::InputKind::kWeak, rk::kAPIServerConfigId),
          },
      .map = [os = std::move(operating_system)](
                 ctl::Runtime& rt) -> std::optional<ctl::Transform<rc::Affiliate>::Outputs> {
        auto discovery = ctl::get<rc::Config>(rt, rc::kConfigId);
        Inputs in{
            ctl::get<rc::Identity>(rt, rc::kLocalIdentityId),
            ctl::get<rn::HostnameStatus>(rt, rn::kHostnameId),
            ctl::get<rk::Nodename>(rt, rk::kNodenameId),
            ctl::get<rn::NodeAddress>(rt, rn::kRoutedNoK8sId),
            ctl::get<rn::NodeAddress>(rt, rn::kCurrentNoK8sId),
            ctl::get<rcfg::MachineType>(rt, rcfg::kMachineTypeId),
        };
        // As in Talos, a missing input leaves the current affiliate alone.
        if (!discovery || !in.identity || !in.hostname || !in.nodename || !in.routed ||
            !in.current || !in.machine_type) {
          return std::nullopt;
        }
        ctl::Transform<rc::Affiliate>::Outputs out;
        if (discovery->registry_kubernetes_enabled() || discovery->service_endpoints_size() > 0) {
          out.emplace(in.identity->node_id(), local_affiliate(rt, in, os));
        }
        return out;
      },
      // The affiliate merge controller writes the other nodes'.
      .output_kind = ctl::OutputKind::kShared,
  });
}

bool follow_local_affiliate(ctl::Runtime& rt, std::vector<ctl::Input> inputs,
                            std::string& node_id) {
  const auto identity = ctl::get<rc::Identity>(rt, rc::kLocalIdentityId);
  if (!identity || identity->node_id().empty()) return false;
  if (identity->node_id() != node_id) {
    node_id = identity->node_id();
    inputs.push_back(ctl::input<rc::Affiliate>(ctl::InputKind::kWeak, node_id));
    rt.update_inputs(std::move(inputs));
  }
  return true;
}

}  // namespace controllers::cluster
