// register_all: every group declares its namespaces and types once, and typed specs decode.
#include "resources/register.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cosi/v1alpha1/meta.pb.h"
#include "resources/config/config.h"
#include "resources/k8s/k8s.h"
#include "resources/kubespan/kubespan.h"
#include "resources/machine/machine.h"
#include "resources/network/network.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/state/inmem_state.h"
#include "values/net.h"

namespace resources {
namespace {

namespace net = values::net;

TEST(RegisterAll, DeclaresEveryNamespace) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);
  for (const char* ns : {"cluster", "cluster-raw", "config", "network", "k8s", "controlplane",
                         "kubespan", "runtime"}) {
    EXPECT_NE(st.get({"meta", "Namespaces.meta.cosi.dev", ns}), nullptr) << ns;
  }
  EXPECT_THROW(register_all(*reg), std::invalid_argument);  // types are declared once
}

TEST(RegisterAll, DecodesTypedSpecs) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);
  k8s::NodenameSpec n;
  n.set_nodename("worker-1");
  auto spec = reg->decode(k8s::kNodenameType, n.SerializeAsString(), "");
  ASSERT_NE(runtime::resource::spec_as<k8s::NodenameSpec>(runtime::resource::Resource{{}, spec}),
            nullptr);
}

TEST(RegisterAll, InputTypesUseTalosYamlKeys) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);
  k8s::NodeStatusSpec ns;
  *ns.add_pod_cid_rs() = net::prefix("10.244.1.0/24");
  EXPECT_NE(runtime::resource::spec_to_yaml(ns).find("podCIDRs:\n  - 10.244.1.0/24\n"),
            std::string::npos);
  kubespan::EndpointSpec e;
  e.set_affiliate_id("x");
  EXPECT_NE(runtime::resource::spec_to_yaml(e).find("affiliateID: x\n"), std::string::npos);
  config::MachineTypeSpec mt;
  mt.set_machine_type(talos::resource::definitions::enums::TYPE_CONTROL_PLANE);
  EXPECT_EQ(runtime::resource::spec_to_yaml(mt), "controlplane\n");
  // No omitempty on the domain name: Talos prints it empty.
  network::HostnameStatusSpec hs;
  hs.set_hostname("h1");
  EXPECT_EQ(runtime::resource::spec_to_yaml(hs), "hostname: h1\ndomainname: \"\"\n");
  network::NodeAddressSpec na;
  *na.add_addresses() = net::prefix("10.0.0.1/24");
  *na.add_addresses() = net::prefix("10.0.0.1/32");
  EXPECT_EQ(network::ips(na).size(), 1u);
}

// The definitions' explicit aliases and columns, as Talos declares them, so `get address`,
// `get hostname` and MachineTypes' Type column work as with talosctl.
TEST(RegisterAll, DefinitionsCarryTalosAliasesAndColumns) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);
  auto definition = [&](const std::string& id) {
    cosi::resource::meta::ResourceDefinitionSpec spec;
    auto rd = st.get({"meta", "ResourceDefinitions.meta.cosi.dev", id});
    EXPECT_NE(rd, nullptr) << id;
    if (rd != nullptr) {
      EXPECT_TRUE(spec.ParseFromString(rd->spec->proto_bytes()));
    }
    return spec;
  };
  const auto has = [](const auto& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  const auto address = definition("addressstatuses.net.talos.dev");
  EXPECT_TRUE(has(address.aliases(), "address"));
  EXPECT_TRUE(has(address.aliases(), "addresses"));
  EXPECT_TRUE(has(address.all_aliases(), "addresses"));
  EXPECT_TRUE(has(definition("hostnamestatuses.net.talos.dev").aliases(), "hostname"));
  const auto machine_type = definition("machinetypes.config.talos.dev");
  ASSERT_EQ(machine_type.print_columns_size(), 1);
  EXPECT_EQ(machine_type.print_columns(0).name(), "Type");
  EXPECT_EQ(machine_type.print_columns(0).json_path(), "{@}");
}

// Print columns as name=jsonPath, in the definition's order.
std::vector<std::string> columns_of(runtime::state::InMemoryState& st, const std::string& id) {
  std::vector<std::string> out;
  auto rd = st.get({"meta", "ResourceDefinitions.meta.cosi.dev", id});
  EXPECT_NE(rd, nullptr) << id;
  cosi::resource::meta::ResourceDefinitionSpec spec;
  if (rd == nullptr || !spec.ParseFromString(rd->spec->proto_bytes())) return out;
  for (const auto& c : spec.print_columns()) out.push_back(c.name() + "=" + c.json_path());
  return out;
}

// The columns `talosctl get` shows for these types, as their Talos definitions declare them.
TEST(RegisterAll, PrintColumnsAsTalos) {
  runtime::state::InMemoryState st;
  auto reg = runtime::registry::make_state_registry(st);
  register_all(*reg);
  using Columns = std::vector<std::string>;
  EXPECT_EQ(columns_of(st, "endpoints.kubernetes.talos.dev"),
            (Columns{"Addresses={.addresses}", "Hosts={.hosts}"}));
  EXPECT_EQ(columns_of(st, "nodeaddresses.net.talos.dev"),
            (Columns{"Addresses={.addresses}", "SortAlgorithm={.sortAlgorithm}"}));
  EXPECT_EQ(columns_of(st, "nodestatuses.kubernetes.talos.dev"),
            (Columns{"Ready={.nodeReady}", "Unschedulable={.unschedulable}"}));
  // The column's key is the one the spec renders.
  network::NodeAddressSpec na;
  na.set_sort_algorithm(talos::resource::definitions::enums::ADDRESS_SORT_ALGORITHM_V2);
  EXPECT_EQ(runtime::resource::spec_to_yaml(na), "addresses: []\nsortAlgorithm: v2\n");
}

}  // namespace
}  // namespace resources
