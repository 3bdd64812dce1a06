// The host input controllers of a generic Linux node: HostnameStatus, Nodename, NodeAddress
// (routed-no-k8s, current-no-k8s) and MachineType, from the machine config with the host's own
// facts as fallback. On Talos other subsystems (networkd, kubelet) produce these.
#pragma once

#include <chrono>
#include <memory>

#include "runtime/controller/controller.h"

namespace controllers::node {

class HostFacts;

// How often the controllers that fall back to host facts read them again: the host has no
// change notification here (Talos's networkd watches netlink instead).
inline constexpr std::chrono::milliseconds kHostRefresh{10'000};

runtime::controller::ControllerPtr make_hostname_status_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh = kHostRefresh);
runtime::controller::ControllerPtr make_nodename_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh = kHostRefresh);
runtime::controller::ControllerPtr make_node_address_controller(
    std::shared_ptr<const HostFacts> host, std::chrono::milliseconds refresh = kHostRefresh);
runtime::controller::ControllerPtr make_machine_type_controller();

}  // namespace controllers::node
