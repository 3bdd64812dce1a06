// The discovery service registry: what this node announces to each configured service and what
// the services tell it about its peers.
#include "controllers/cluster/discovery_service.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "controllers/cluster/controllers.h"
#include "controllers/cluster/local_affiliate.h"
#include "controllers/internal/names.h"
#include "resources/kubespan/kubespan.h"
#include "resources/machine/machine.h"
#include "resources/network/network.h"
#include "runtime/controller/typed.h"
#include "values/machine_type.h"
#include "values/net.h"

namespace controllers::cluster {
namespace {

namespace dc = discovery::client;
using google::protobuf::util::MessageDifferencer;
using runtime::controller::Runtime;

bool valid_ip(const std::string& ip) { return ip.size() == 4 || ip.size() == 16; }

bool valid_prefix(const dc::pb::IPPrefix& p) {
  return valid_ip(p.ip()) && p.bits() <= p.ip().size() * 8;
}

dc::pb::IPPrefix to_wire(const common::NetIPPrefix& p) {
  dc::pb::IPPrefix out;
  out.set_ip(p.ip());
  out.set_bits(static_cast<std::uint32_t>(p.prefix_length()));
  return out;
}

// Appends the valid prefixes of `from`; a bad one is the peer's problem, not a reason to crash.
void add_prefixes(const google::protobuf::RepeatedPtrField<dc::pb::IPPrefix>& from,
                  google::protobuf::RepeatedPtrField<common::NetIPPrefix>& to,
                  const std::string& node_id, const char* field) {
  for (const auto& p : from) {
    if (!valid_prefix(p)) {
      spdlog::warn("discovery affiliate field skipped affiliate={} field={} reason=invalid_prefix",
                   node_id, field);
      continue;
    }
    auto* out = to.Add();
    out->set_ip(p.ip());
    out->set_prefix_length(static_cast<int>(p.bits()));
  }
}

// Everything that identifies one client's registration; a change means a new client.
struct ClientSpec {
  std::string endpoint;
  bool insecure = false;
  std::string cluster_id;
  std::string affiliate_id;
  std::string key;

  bool operator==(const ClientSpec&) const = default;
};

// What was last handed to a client, so a reconcile woken by the service echoing our own update
// does not send it again (that would loop).
struct Published {
  dc::Affiliate local;
  std::vector<dc::OtherEndpoints> other;
};

bool same_endpoints(const std::vector<dc::pb::Endpoint>& a,
                    const std::vector<dc::pb::Endpoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return MessageDifferencer::Equals(x, y); });
}

bool operator==(const Published& a, const Published& b) {
  return MessageDifferencer::Equals(a.local.data, b.local.data) &&
         same_endpoints(a.local.endpoints, b.local.endpoints) &&
         std::equal(a.other.begin(), a.other.end(), b.other.begin(), b.other.end(),
                    [](const auto& x, const auto& y) {
                      return x.affiliate_id == y.affiliate_id &&
                             same_endpoints(x.endpoints, y.endpoints);
                    });
}

// Peers by node ID, each with the affiliate it is built from.
using PeerSources = std::map<std::string, std::shared_ptr<const dc::Affiliate>>;

struct RunningClient {
  ClientSpec spec;
  std::unique_ptr<dc::Client> client;  // null when the options were refused (bad key size)
  std::optional<Published> published;
  bool deleted = false;  // reset: AffiliateDelete already requested
};

class DiscoveryServiceController final : public ctl::Controller {
 public:
  explicit DiscoveryServiceController(DiscoveryServiceOptions options)
      : options_(std::move(options)) {}

  std::string name() const override { return "cluster.DiscoveryServiceController"; }

  std::vector<ctl::Input> inputs() const override {
    return {
        ctl::input<rc::Config>(ctl::InputKind::kWeak, rc::kConfigId),
        ctl::input<rc::Identity>(ctl::InputKind::kWeak, rc::kLocalIdentityId),
        ctl::input<rks::Endpoint>(),
        ctl::input<rm::MachineResetSignal>(ctl::InputKind::kWeak, rm::kResetSignalId),
    };
  }

  std::vector<ctl::Output> outputs() const override {
    return {ctl::output<rc::Affiliate>(ctl::OutputKind::kShared),
            ctl::output<rn::AddressStatus>(ctl::OutputKind::kShared)};
  }

  void reconcile(Runtime& rt) override {
    reconcile_clients(rt);
    if (ctl::get<rm::MachineResetSignal>(rt, rm::kResetSignalId)) {
      leave();
    } else {
      reported_left_ = false;
      publish_local(rt);
    }
    publish_outputs(rt);
  }

  // Destroying a client on this strand guarantees its on_change never runs afterwards.
  void stop() override { clients_.clear(); }

 private:
  void reconcile_clients(Runtime& rt) {
    auto config = ctl::get<rc::Config>(rt, rc::kConfigId);
    // Unlike Talos, a vanished config also stops the clients: without it nothing says that
    // discovery is still wanted.
    if (!config || config->service_endpoints_size() == 0) {
      if (!clients_.empty()) spdlog::info("stopping all discovery clients");
      clients_.clear();
      return;
    }
    if (!follow_local_affiliate(rt, inputs(), node_id_)) return;

    std::map<std::string, ClientSpec> desired;
    for (const auto& e : config->service_endpoints()) {
      desired[e.name()] = ClientSpec{e.endpoint(), e.insecure(), config->service_cluster_id(),
                                     node_id_, config->service_encryption_key()};
    }
    std::erase_if(clients_, [&](const auto& entry) {
      auto it = desired.find(entry.first);
      if (it == desired.end()) {
        spdlog::info("stopping discovery client name={}", entry.first);
        return true;
      }
      if (it->second != entry.second.spec) {
        spdlog::info("recreating discovery client name={}", entry.first);
        return true;
      }
      return false;
    });
    for (auto& [name, spec] : desired) {
      if (clients_.count(name) == 0) clients_.emplace(name, start(rt, name, std::move(spec)));
    }
  }

  RunningClient start(Runtime& rt, const std::string& name, ClientSpec spec) {
    dc::Options o;
    o.endpoint = spec.endpoint;
    o.insecure = spec.insecure;
    o.ca_pem = options_.ca_pem;
    o.cluster_id = spec.cluster_id;
    o.affiliate_id = spec.affiliate_id;
    o.key = spec.key;
    o.client_version = options_.client_version;
    RunningClient running{std::move(spec), nullptr, std::nullopt, false};
    try {
      running.client =
          dc::start_client(std::move(o), rt.executor(), [rt = &rt] { rt->queue_reconcile(); });
      spdlog::info("starting discovery client name={} endpoint={} insecure={}", name,
                   running.spec.endpoint, running.spec.insecure);
    } catch (const std::invalid_argument& e) {
      // Kept as a placeholder so the same refused spec is not retried (and logged) on every
      // reconcile; a config change replaces it.
      spdlog::error("discovery client not started name={} endpoint={} error=\"{}\"", name,
                    running.spec.endpoint, e.what());
    }
    return running;
  }

  // Reset: each client deletes the local affiliate (and repeats it on every refresh); once all
  // of them have it acknowledged, the owner hears that the node has left.
  void leave() {
    bool all_left = true;
    for (auto& [name, c] : clients_) {
      if (!c.client) continue;
      if (!c.deleted) {
        spdlog::info("deleting local affiliate from discovery service name={}", name);
        c.client->delete_local_affiliate();
        c.deleted = true;
        c.published.reset();
      }
      all_left = all_left && c.client->left();
    }
    if (!all_left || reported_left_) return;
    reported_left_ = true;
    spdlog::info("left every discovery service services={}", clients_.size());
    if (options_.on_left) options_.on_left();
  }

  void publish_local(Runtime& rt) {
    if (clients_.empty()) return;
    auto local = ctl::get<rc::Affiliate>(rt, node_id_);
    if (!local) return;

    Published desired{to_discovery_affiliate(*local), {}};
    for (const auto& ep : ctl::list<rks::Endpoint>(rt)) {
      dc::pb::Endpoint e;
      e.set_ip(ep->endpoint().ip());
      e.set_port(static_cast<std::uint32_t>(ep->endpoint().port()));
      desired.other.push_back(dc::OtherEndpoints{ep->affiliate_id(), {std::move(e)}});
    }
    for (auto& [name, c] : clients_) {
      if (!c.client || (c.published && *c.published == desired)) continue;
      c.client->set_local_data(desired.local, desired.other);
      c.published = desired;
      c.deleted = false;
    }
  }

  // The peers as raw affiliates. Incremental: the clients' views share the affiliates a Watch
  // message did not change, so a peer whose affiliate is the object it was built from last time
  // is left as it is; the first pass, and the one after a pass that failed, rebuild every peer
  // and clean up the rest.
  void publish_outputs(Runtime& rt) {
    // Services are visited in name order, so the public IP and a peer reported by several
    // services come from the first service by name (Talos: Go map order, effectively random).
    PeerSources sources;
    std::string public_ip;
    for (const auto& [name, c] : clients_) {
      if (!c.client) continue;
      if (public_ip.empty()) public_ip = c.client->public_ip();
      // Held for the loop: the client thread may publish a new map meanwhile, and a temporary
      // shared_ptr in the range expression would be destroyed before the loop body runs.
      const auto affiliates = c.client->affiliates();
      for (const auto& [id, affiliate] : *affiliates) {
        const std::string& node_id = affiliate->data.node_id();
        if (node_id.empty()) {
          spdlog::warn("discovery affiliate skipped service={} affiliate={} reason=no_node_id",
                       name, id);
          continue;
        }
        sources.emplace(node_id, affiliate);
      }
    }
    // Never cleaned up, as in Talos: the address stays known when discovery is turned off.
    if (valid_ip(public_ip)) {
      ctl::modify<rn::AddressStatus>(
          rt, "service",
          [&](rn::AddressStatusSpec& spec) {
            spec.mutable_address()->set_ip(public_ip);
            spec.mutable_address()->set_prefix_length(static_cast<int>(public_ip.size() * 8));
          },
          rc::kNamespace);
    }

    const bool full = !peers_primed_;
    peers_primed_ = false;
    if (full) rt.start_tracking_outputs();
    for (const auto& [node_id, affiliate] : sources) {
      auto last = peer_sources_.find(node_id);
      if (!full && last != peer_sources_.end() && last->second == affiliate) continue;
      const rc::AffiliateSpec spec = from_discovery_affiliate(*affiliate);
      ctl::modify<rc::Affiliate>(
          rt, std::string(rc::kRawServicePrefix) + node_id,
          [&](rc::AffiliateSpec& current) { current = spec; }, rc::kRawNamespace);
    }
    if (full) {
      rt.cleanup_outputs({runtime::resource::kind_of<rc::Affiliate>(rc::kRawNamespace)});
    } else {
      for (const auto& [node_id, affiliate] : peer_sources_) {
        if (sources.count(node_id) == 0) {
          ctl::destroy_if_owned(
              rt, runtime::resource::pointer_to<rc::Affiliate>(
                      std::string(rc::kRawServicePrefix) + node_id, rc::kRawNamespace));
        }
      }
    }
    peer_sources_ = std::move(sources);
    peers_primed_ = true;
  }

  const DiscoveryServiceOptions options_;
  // Owned by the controller's strand (all methods run there).
  std::string node_id_;
  std::map<std::string, RunningClient> clients_;  // by service endpoint name
  bool reported_left_ = false;  // on_left already called for the current reset signal
  PeerSources peer_sources_;    // what each peer was last built from
  bool peers_primed_ = false;   // the last publish_outputs succeeded, so peer_sources_ is current
};

}  // namespace

dc::Affiliate to_discovery_affiliate(const rc::AffiliateSpec& spec) {
  dc::Affiliate out;
  auto& data = out.data;
  data.set_node_id(spec.node_id());
  for (const auto& a : spec.addresses()) data.add_addresses(a.ip());
  data.set_hostname(spec.hostname());
  data.set_nodename(spec.nodename());
  data.set_machine_type(std::string(values::machine_type_text(spec.machine_type())));
  data.set_operating_system(spec.operating_system());
  const auto& ks = spec.kube_span();
  if (!ks.public_key().empty()) {
    auto* wire = data.mutable_kubespan();
    wire->set_public_key(ks.public_key());
    wire->set_address(ks.address().ip());
    for (const auto& p : ks.additional_addresses()) *wire->add_additional_addresses() = to_wire(p);
    for (const auto& p : ks.exclude_advertised_networks()) {
      *wire->add_exclude_advertised_addresses() = to_wire(p);
    }
    for (const auto& e : ks.endpoints()) {
      dc::pb::Endpoint& wire_endpoint = out.endpoints.emplace_back();
      wire_endpoint.set_ip(e.ip());
      wire_endpoint.set_port(static_cast<std::uint32_t>(e.port()));
    }
  }
  if (spec.has_control_plane()) {
    data.mutable_control_plane()->set_api_server_port(
        static_cast<std::uint32_t>(spec.control_plane().api_server_port()));
  }
  return out;
}

rc::AffiliateSpec from_discovery_affiliate(const dc::Affiliate& affiliate) {
  const auto& data = affiliate.data;
  rc::AffiliateSpec spec;
  spec.set_node_id(data.node_id());
  spec.set_hostname(data.hostname());
  spec.set_nodename(data.nodename());
  spec.set_operating_system(data.operating_system());
  spec.set_machine_type(values::parse_machine_type(data.machine_type())
                            .value_or(talos::resource::definitions::enums::TYPE_UNKNOWN));
  if (data.has_control_plane()) {
    spec.mutable_control_plane()->set_api_server_port(data.control_plane().api_server_port());
  }
  for (const auto& ip : data.addresses()) {
    if (valid_ip(ip)) {
      spec.add_addresses()->set_ip(ip);
    } else {
      spdlog::warn(
          "discovery affiliate field skipped affiliate={} field=addresses reason=invalid_ip",
          data.node_id());
    }
  }
  if (!data.has_kubespan()) return spec;

  const auto& wire = data.kubespan();
  auto* ks = spec.mutable_kube_span();
  ks->set_public_key(wire.public_key());
  // An invalid address becomes the zero address, as Go's netip does.
  ks->mutable_address()->set_ip(valid_ip(wire.address()) ? wire.address() : std::string());
  add_prefixes(wire.additional_addresses(), *ks->mutable_additional_addresses(), data.node_id(),
               "additional_addresses");
  add_prefixes(wire.exclude_advertised_addresses(), *ks->mutable_exclude_advertised_networks(),
               data.node_id(), "exclude_advertised_addresses");
  for (const auto& e : affiliate.endpoints) {
    if (!valid_ip(e.ip()) || e.port() > 65535) {
      spdlog::warn("discovery affiliate field skipped affiliate={} field=endpoints reason=invalid",
                   data.node_id());
      continue;
    }
    *ks->add_endpoints() = values::net::ip_port(e.ip(), static_cast<int>(e.port()));
  }
  return spec;
}

ControllerPtr make_discovery_service_controller(DiscoveryServiceOptions options) {
  return std::make_unique<DiscoveryServiceController>(std::move(options));
}

}  // namespace controllers::cluster
