// Info: the cluster ID and name, present when the config has an identity and a v1alpha1 document.
#include "controllers/cluster/info.h"

#include "controllers/internal/config_transform_impl.h"
#include "resources/cluster/cluster.h"

namespace controllers::cluster {

namespace rc = resources::cluster;

std::unique_ptr<runtime::controller::Controller> make_info_controller() {
  return internal::make_transform<rc::InfoSpec>({
      "cluster.InfoController",
      std::string(rc::kNamespace),
      std::string(rc::kInfoType),
      [](const config::MachineConfig* cfg) {
        std::map<std::string, rc::InfoSpec> out;
        if (cfg == nullptr || !cfg->has_v1alpha1) return out;
        auto identity = config::discovery_identity(*cfg);
        if (!identity) return out;
        rc::InfoSpec spec;
        spec.set_cluster_id(identity->cluster_id);
        spec.set_cluster_name(cfg->cluster_name);
        out.emplace(std::string(rc::kInfoId), std::move(spec));
        return out;
      },
  });
}

}  // namespace controllers::cluster
