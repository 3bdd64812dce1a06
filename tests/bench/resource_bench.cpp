// Benchmarks of the resource layer: ProtoSpec equality (run on every controller Modify) against
// MessageDifferencer, and the YAML codec in both directions.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/message_differencer.h>

#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "yaml_test.pb.h"

namespace {

using runtime::resource::ProtoSpec;
using tds::test::Everything;

// Roughly an AffiliateSpec: a few strings, addresses, endpoints, one nested message.
Everything affiliate_like() {
  Everything m;
  m.set_text("7x1SuC8Ege5BGXdAfTEff5iQnlWZLfv9h1LGMxA2pYkC");
  m.set_renamed_field("talos-default-controlplane-1");
  m.set_kube_span("Talos (v1.14.0)");
  m.set_color(tds::test::COLOR_RED);
  for (int i = 0; i < 3; ++i) {
    std::string ip(4, '\0');
    ip[0] = 10;
    ip[3] = static_cast<char>(i + 1);
    m.add_addresses()->set_ip(ip);
    auto* ep = m.add_endpoints();
    ep->set_ip(ip);
    ep->set_port(51820);
  }
  m.mutable_inner()->set_name("controlplane");
  m.mutable_inner()->set_count(6443);
  m.mutable_prefix()->set_ip(std::string("\x0a\xf4\x00\x00", 4));
  m.mutable_prefix()->set_prefix_length(16);
  return m;
}

void BM_ProtoSpecEquals(benchmark::State& state) {
  const ProtoSpec a(std::make_shared<Everything>(affiliate_like()));
  const ProtoSpec b(std::make_shared<Everything>(affiliate_like()));
  for (auto _ : state) benchmark::DoNotOptimize(a.equals(b));
}
BENCHMARK(BM_ProtoSpecEquals);

void BM_MessageDifferencerEquals(benchmark::State& state) {
  const Everything a = affiliate_like();
  const Everything b = affiliate_like();
  for (auto _ : state) {
    benchmark::DoNotOptimize(google::protobuf::util::MessageDifferencer::Equals(a, b));
  }
}
BENCHMARK(BM_MessageDifferencerEquals);

void BM_SpecToYaml(benchmark::State& state) {
  const Everything m = affiliate_like();
  for (auto _ : state) benchmark::DoNotOptimize(runtime::resource::spec_to_yaml(m));
}
BENCHMARK(BM_SpecToYaml);

void BM_SpecFromYaml(benchmark::State& state) {
  const std::string yaml = runtime::resource::spec_to_yaml(affiliate_like());
  Everything m;
  for (auto _ : state) runtime::resource::spec_from_yaml(yaml, &m);
}
BENCHMARK(BM_SpecFromYaml);

}  // namespace

BENCHMARK_MAIN();
