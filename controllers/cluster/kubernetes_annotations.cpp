// The Kubernetes registry's annotations, both ways.
#include "controllers/cluster/kubernetes_annotations.h"

#include <charconv>
#include <cstdint>
#include <map>

#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace rc = resources::cluster;
namespace net = values::net;

template <class List, class Print>
std::string join(const List& items, Print print) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += print(item);
  }
  return out;
}

// Each comma-separated item that `parse` accepts, in order; the others are skipped.
template <class Parse, class Add>
void split(std::string_view text, Parse parse, Add add) {
  while (true) {
    const auto comma = text.find(',');
    if (auto parsed = parse(text.substr(0, comma))) add(std::move(*parsed));
    if (comma == std::string_view::npos) return;
    text.remove_prefix(comma + 1);
  }
}

// Go's netip.ParsePrefix: the "/bits" is required (a bare address is not a prefix).
std::optional<common::NetIPPrefix> parse_prefix(std::string_view text) {
  if (text.find('/') == std::string_view::npos) return std::nullopt;
  return net::parse_prefix(text);
}

const std::string* find(const std::map<std::string, std::string>& map, std::string_view key) {
  const auto it = map.find(std::string(key));
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

kubernetes::Annotations annotations_from_affiliate(std::string_view id,
                                                   const rc::AffiliateSpec& spec) {
  const auto& ks = spec.kube_span();
  const std::string port =
      spec.has_control_plane() ? std::to_string(spec.control_plane().api_server_port()) : "";
  const auto print_ip = [](const common::NetIP& ip) { return net::ip_text(ip.ip()); };
  const auto print_prefix = [](const common::NetIPPrefix& p) { return net::text(p); };
  const auto print_port = [](const common::NetIPPort& p) { return net::text(p); };

  kubernetes::Annotations out;
  const auto put = [&out](std::string_view key, std::string value) {
    out[std::string(key)] =
        value.empty() ? std::nullopt : std::optional<std::string>(std::move(value));
  };
  put(kNodeIdAnnotation, std::string(id));
  put(kSelfIpsAnnotation, join(spec.addresses(), print_ip));
  put(kApiServerPortAnnotation, port);
  put(kKubeSpanIpAnnotation, net::ip_text(ks.address().ip()));
  put(kKubeSpanPublicKeyAnnotation, ks.public_key());
  put(kAssignedPrefixesAnnotation, join(ks.additional_addresses(), print_prefix));
  put(kKubeSpanEndpointsAnnotation, join(ks.endpoints(), print_port));
  put(kExcludeAdvertisedNetworksAnnotation, join(ks.exclude_advertised_networks(), print_prefix));
  return out;
}

std::optional<rc::AffiliateSpec> affiliate_from_node(const kubernetes::Node& node) {
  const auto& a = node.annotations;
  const auto* node_id = find(a, kNodeIdAnnotation);
  if (node_id == nullptr) return std::nullopt;

  rc::AffiliateSpec spec;
  spec.set_node_id(*node_id);
  spec.set_nodename(node.name);
  spec.set_hostname(node.hostname);
  spec.set_operating_system(node.os_image);
  spec.set_machine_type(find(node.labels, kControlPlaneLabel) != nullptr
                            ? talos::resource::definitions::enums::TYPE_CONTROL_PLANE
                            : talos::resource::definitions::enums::TYPE_WORKER);

  if (const auto* ips = find(a, kSelfIpsAnnotation)) {
    split(*ips, net::parse_ip,
          [&](std::string ip) { spec.add_addresses()->set_ip(std::move(ip)); });
  }
  if (const auto* port = find(a, kApiServerPortAnnotation)) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (ec == std::errc() && end == port->data() + port->size()) {
      spec.mutable_control_plane()->set_api_server_port(value);
    }
  }

  // The KubeSpan part exists only when the Node carries one of its annotations, as an affiliate
  // from the discovery service has none without KubeSpan.
  const auto* key = find(a, kKubeSpanPublicKeyAnnotation);
  const auto* ip = find(a, kKubeSpanIpAnnotation);
  const auto* prefixes = find(a, kAssignedPrefixesAnnotation);
  const auto* endpoints = find(a, kKubeSpanEndpointsAnnotation);
  const auto* excluded = find(a, kExcludeAdvertisedNetworksAnnotation);
  if (!key && !ip && !prefixes && !endpoints && !excluded) return spec;

  auto& ks = *spec.mutable_kube_span();
  const auto add_to = [](auto* list) {
    return [list](auto item) { *list->Add() = std::move(item); };
  };
  if (key) ks.set_public_key(*key);
  if (ip) {
    if (auto parsed = net::parse_ip(*ip)) ks.mutable_address()->set_ip(std::move(*parsed));
  }
  if (prefixes) split(*prefixes, parse_prefix, add_to(ks.mutable_additional_addresses()));
  if (endpoints) split(*endpoints, net::parse_ip_port, add_to(ks.mutable_endpoints()));
  if (excluded) split(*excluded, parse_prefix, add_to(ks.mutable_exclude_advertised_networks()));
  return spec;
}

}  // namespace controllers::cluster
