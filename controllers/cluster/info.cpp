// Info: the cluster ID and name, present when the config has an identity and a v1alpha1 document.
#include "controllers/cluster/controllers.h"
#include "controllers/internal/config_transform.h"
#include "controllers/internal/names.h"
#include "resources/cluster/cluster.h"

namespace controllers::cluster {

ControllerPtr make_info_controller() {
  return internal::make_config_transform<rc::Info>(
      "cluster.InfoController", [](const config::MachineConfig* cfg) {
        runtime::controller::Transform<rc::Info>::Outputs out;
        if (cfg == nullptr || !cfg->has_v1alpha1) return out;
        auto identity = config::discovery_identity(*cfg);
        if (!identity) return out;
        rc::InfoSpec spec;
        spec.set_cluster_id(identity->cluster_id);
        spec.set_cluster_name(cfg->cluster_name);
        out.emplace(rc::kInfoId, std::move(spec));
        return out;
      });
}

}  // namespace controllers::cluster
