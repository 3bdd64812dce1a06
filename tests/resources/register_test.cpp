// register_all: every group declares its namespaces and types once, and typed specs decode.
#include "resources/register.h"

#include <gtest/gtest.h>

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
  network::NodeAddressSpec na;
  *na.add_addresses() = net::prefix("10.0.0.1/24");
  *na.add_addresses() = net::prefix("10.0.0.1/32");
  EXPECT_EQ(network::ips(na).size(), 1u);
}

}  // namespace
}  // namespace resources
