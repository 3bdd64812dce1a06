// Peer specs from the cluster affiliates. Allowed IPs: the peer's additional networks and
// addresses minus what it excludes, plus its KubeSpan address; ranges that an earlier peer (in
// affiliate ID order) already claims are removed, so no two peers route the same address.
#include "controllers/kubespan/peer_spec.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "controllers/internal/get_spec.h"
#include "controllers/internal/inputs.h"
#include "controllers/kubespan/ip_set.h"
#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "runtime/controller/modify.h"
#include "runtime/controller/runtime.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

namespace rc = resources::cluster;
namespace rks = resources::kubespan;

std::string dump(const IpSet& set) {
  std::string out;
  for (const auto& p : set.prefixes()) out += (out.empty() ? "" : ",") + values::net::text(p);
  return out;
}

IpSet allowed_ips(const rc::AffiliateSpec& a) {
  const auto& ks = a.kube_span();
  IpSet set;
  for (const auto& p : ks.additional_addresses()) set.add(p);
  for (const auto& ip : a.addresses()) set.add_ip(ip.ip());
  for (const auto& p : ks.exclude_advertised_networks()) set.remove(p);
  set.add_ip(ks.address().ip());
  return set;
}

class PeerSpecController final : public runtime::controller::Controller {
 public:
  std::string name() const override { return "kubespan.PeerSpecController"; }

  std::vector<runtime::controller::Input> inputs() const override {
    return {
        internal::weak_input(rks::kConfigNamespace, rks::kConfigType, rks::kConfigId),
        internal::weak_input(rc::kNamespace, rc::kAffiliateType, std::nullopt),
        internal::weak_input(rc::kNamespace, rc::kIdentityType, rc::kLocalIdentityId),
    };
  }

  std::vector<runtime::controller::Output> outputs() const override {
    return {{std::string(rks::kPeerSpecType), runtime::controller::OutputKind::kExclusive}};
  }

  void reconcile(runtime::controller::Runtime& rt) override {
    auto cfg = internal::get_spec<rks::ConfigSpec>(rt, rks::kConfigNamespace, rks::kConfigType,
                                                   rks::kConfigId);
    auto identity = internal::get_spec<rc::IdentitySpec>(rt, rc::kNamespace, rc::kIdentityType,
                                                         rc::kLocalIdentityId);
    rt.start_tracking_outputs();
    if (cfg && cfg->enabled() && identity) write_peers(rt, identity->node_id());
    rt.cleanup_outputs({{std::string(rks::kNamespace), std::string(rks::kPeerSpecType)}});
  }

 private:
  void write_peers(runtime::controller::Runtime& rt, const std::string& local_id) {
    auto affiliates = rt.list({std::string(rc::kNamespace), std::string(rc::kAffiliateType)});
    std::sort(affiliates.begin(), affiliates.end(),
              [](const auto& a, const auto& b) { return a->metadata.id < b->metadata.id; });
    std::vector<std::pair<std::string, IpSet>> claimed;  // public key, allowed IPs
    for (const auto& r : affiliates) {
      if (r->metadata.id == local_id) continue;
      const auto* a = runtime::resource::spec_as<rc::AffiliateSpec>(*r);
      if (a == nullptr || a->kube_span().public_key().empty()) continue;
      const auto& ks = a->kube_span();

      IpSet set = allowed_ips(*a);
      for (const auto& [other_key, other] : claimed) {
        if (!set.overlaps(other)) continue;
        spdlog::warn(
            "kubespan peer address overlap this_peer={} other_peer={} this_ips={} other_ips={}",
            ks.public_key(), other_key, dump(set), dump(other));
        set.remove(other);
        if (set.empty()) {
          spdlog::warn("kubespan overlap resolution removed all ranges this_peer={} other_peer={}",
                       ks.public_key(), other_key);
        }
      }

      rks::PeerSpecSpec spec;
      spec.mutable_address()->set_ip(ks.address().ip());
      for (auto& p : set.prefixes()) *spec.add_allowed_ips() = std::move(p);
      *spec.mutable_endpoints() = ks.endpoints();
      spec.set_label(a->nodename());
      runtime::controller::modify<rks::PeerSpecSpec>(
          rt, {std::string(rks::kNamespace), std::string(rks::kPeerSpecType), ks.public_key()},
          [&](rks::PeerSpecSpec& current, runtime::resource::Metadata&) { current = spec; });
      claimed.emplace_back(ks.public_key(), std::move(set));
    }
  }
};

}  // namespace

std::unique_ptr<runtime::controller::Controller> make_peer_spec_controller() {
  return std::make_unique<PeerSpecController>();
}

}  // namespace controllers::kubespan
