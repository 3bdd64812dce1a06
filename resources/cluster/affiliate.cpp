// AffiliateSpec merge, as Talos's AffiliateSpec.Merge.
#include "resources/cluster/affiliate.h"

#include <algorithm>

#include "values/net.h"

namespace resources::cluster {
namespace {

// Appends the items of `from` that `to` lacks, in from's order.
template <class Repeated>
void append_missing(Repeated* to, const Repeated& from) {
  for (const auto& item : from) {
    bool present = std::any_of(to->begin(), to->end(), [&](const auto& have) {
      using values::net::operator==;
      return have == item;
    });
    if (!present) *to->Add() = item;
  }
}

}  // namespace

bool has_kubespan(const pb::KubeSpanAffiliateSpec& ks) {
  return !ks.public_key().empty() || !ks.address().ip().empty() ||
         ks.additional_addresses_size() > 0 || ks.endpoints_size() > 0 ||
         ks.exclude_advertised_networks_size() > 0;
}

void merge_affiliate(AffiliateSpec& into, const AffiliateSpec& other) {
  append_missing(into.mutable_addresses(), other.addresses());
  if (other.has_control_plane()) *into.mutable_control_plane() = other.control_plane();
  if (!other.hostname().empty()) into.set_hostname(other.hostname());
  if (!other.nodename().empty()) into.set_nodename(other.nodename());
  if (other.machine_type() != talos::resource::definitions::enums::TYPE_UNKNOWN) {
    into.set_machine_type(other.machine_type());
  }

  const auto& theirs = other.kube_span();
  if (!has_kubespan(theirs)) return;  // keeps `into` without a kubespan block when both lack one
  auto* ks = into.mutable_kube_span();
  if (!theirs.public_key().empty()) ks->set_public_key(theirs.public_key());
  if (!theirs.address().ip().empty()) *ks->mutable_address() = theirs.address();
  append_missing(ks->mutable_additional_addresses(), theirs.additional_addresses());
  append_missing(ks->mutable_exclude_advertised_networks(), theirs.exclude_advertised_networks());
  append_missing(ks->mutable_endpoints(), theirs.endpoints());
}

}  // namespace resources::cluster
