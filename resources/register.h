// One call that declares every built-in resource group (what machined and tests call).
#pragma once

namespace runtime::registry {
class Registry;
}

namespace resources {

// Namespaces, types and YAML shapes of the cluster, config, k8s, kubespan, network and runtime
// groups. Call once per registry; the YAML registrations are process-wide and idempotent.
void register_all(runtime::registry::Registry& registry);

}  // namespace resources
