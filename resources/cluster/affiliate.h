// AffiliateSpec merge: how the records of one node from several registries combine.
#pragma once

#include "resources/cluster/cluster.h"

namespace resources::cluster {

// Overlays `other` onto `into` as Talos's AffiliateSpec.Merge does: addresses and KubeSpan lists
// gain other's missing items (order kept), non-empty scalars replace, a set control plane
// replaces. NodeID and OperatingSystem are never taken from other.
void merge_affiliate(AffiliateSpec& into, const AffiliateSpec& other);

// Whether the KubeSpan part carries anything (Go's zero-struct test for `kubespan,omitempty`).
bool has_kubespan(const pb::KubeSpanAffiliateSpec& ks);

}  // namespace resources::cluster
