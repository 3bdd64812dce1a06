// YAML codecs of Talos's IP messages (common.NetIP, NetIPPrefix, NetIPPort): text as Go's
// netip prints it, "" for the zero value.
#pragma once

namespace resources::internal {

// Process-wide and idempotent, like every YAML registration.
void register_net_yaml_codecs();

}  // namespace resources::internal
