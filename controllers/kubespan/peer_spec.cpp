// Peer specs from the cluster affiliates. Allowed IPs: the peer's additional networks and
// addresses minus what it excludes, plus its KubeSpan address; ranges that an earlier peer (in
// affiliate ID order) already claims are removed, so no two peers route the same address.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "controllers/internal/names.h"
#include "controllers/kubespan/controllers.h"
#include "controllers/kubespan/ip_set.h"
#include "resources/cluster/affiliate.h"
#include "resources/cluster/cluster.h"
#include "resources/kubespan/kubespan.h"
#include "runtime/controller/transform.h"
#include "values/net.h"

namespace controllers::kubespan {
namespace {

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

// Affiliates in ID order; the local node is not its own peer.
ctl::Transform<rks::PeerSpec>::Outputs peer_specs(ctl::Runtime& rt, const std::string& local_id) {
  ctl::Transform<rks::PeerSpec>::Outputs out;
  std::vector<std::pair<std::string, IpSet>> claimed;  // public key, allowed IPs
  for (const auto& a : ctl::list<rc::Affiliate>(rt)) {
    if (a.id() == local_id || a->kube_span().public_key().empty()) continue;
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

    rks::PeerSpecSpec& spec = out[ks.public_key()];
    spec.mutable_address()->set_ip(ks.address().ip());
    for (auto& p : set.prefixes()) *spec.add_allowed_ips() = std::move(p);
    *spec.mutable_endpoints() = ks.endpoints();
    spec.set_label(a->nodename());
    claimed.emplace_back(ks.public_key(), std::move(set));
  }
  return out;
}

}  // namespace

ControllerPtr make_peer_spec_controller() {
  return ctl::make_transform<rks::PeerSpec>({
      .name = "kubespan.PeerSpecController",
      .inputs = {ctl::input<rks::Config>(ctl::InputKind::kWeak, rks::kConfigId),
                 ctl::input<rc::Affiliate>(),
                 ctl::input<rc::Identity>(ctl::InputKind::kWeak, rc::kLocalIdentityId)},
      .map =
          [](ctl::Runtime& rt) {
            auto cfg = ctl::get<rks::Config>(rt, rks::kConfigId);
            auto identity = ctl::get<rc::Identity>(rt, rc::kLocalIdentityId);
            if (!cfg || !cfg->enabled() || !identity) {
              return std::optional(ctl::Transform<rks::PeerSpec>::Outputs{});
            }
            return std::optional(peer_specs(rt, identity->node_id()));
          },
  });
}

}  // namespace controllers::kubespan
