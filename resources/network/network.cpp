// Registration of the network group and its small helpers.
#include "resources/network/network.h"

#include <algorithm>

#include "resources/internal/net_yaml.h"
#include "resources/internal/resource_type.h"
#include "resources/internal/yaml_shape.h"

namespace resources::network {

std::string fqdn(const HostnameStatusSpec& spec) {
  if (spec.domainname().empty()) return spec.hostname();
  return spec.hostname() + "." + spec.domainname();
}

std::vector<std::string> ips(const NodeAddressSpec& spec) {
  std::vector<std::string> out;
  for (const auto& p : spec.addresses()) {
    if (std::find(out.begin(), out.end(), p.ip()) == out.end()) out.push_back(p.ip());
  }
  return out;
}

void register_network_resources(runtime::registry::Registry& registry) {
  internal::register_net_yaml_codecs();
  internal::register_enum_texts();
  internal::render_like_go(HostnameStatusSpec::descriptor());
  internal::render_like_go(NodeAddressSpec::descriptor());
  internal::render_like_go(AddressStatusSpec::descriptor());
  registry.add_namespace(kNamespace, "Networking resources.");
  using runtime::resource::Sensitivity;
  registry.add_type(internal::typed<HostnameStatus>(
      {{"Hostname", "{.hostname}"}, {"Domainname", "{.domainname}"}}, Sensitivity::kNonSensitive,
      {"hostname"}));
  registry.add_type(internal::typed<NodeAddress>(
      {{"Addresses", "{.addresses}"}, {"SortAlgorithm", "{.sortAlgorithm}"}}));
  registry.add_type(internal::typed<AddressStatus>(
      {{"Address", "{.address}"}, {"Link", "{.linkName}"}}, Sensitivity::kNonSensitive,
      {"address", "addresses"}));
}

}  // namespace resources::network
