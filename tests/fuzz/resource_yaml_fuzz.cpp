// libFuzzer target: the resource YAML codecs (the reflection codec with every built-in type's
// registered shapes, enum texts and custom codecs; metadata YAML; `-o yaml` of whole resources)
// and resource definitions (type-name validation, aliases, plural forms). The first byte picks
// the surface:
//   0: a spec of the type picked by the next byte, from YAML text
//   1: a spec of that type from protobuf bytes, rendered to YAML
//   2: metadata YAML;  3: a resource with an opaque YAML spec;  4: a resource definition
// What parses must render, and the rendering must parse back to the same value.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "resources/register.h"
#include "runtime/registry/registry.h"
#include "runtime/resource/definition.h"
#include "runtime/resource/inflection.h"
#include "runtime/resource/proto_spec.h"
#include "runtime/resource/yaml_codec.h"
#include "runtime/state/inmem_state.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace rr = runtime::resource;
namespace gpb = google::protobuf;
using fuzz::check;
using fuzz::fail;

// One empty message of every type the built-in registry declares with a protobuf spec.
std::vector<std::unique_ptr<gpb::Message>> spec_prototypes() {
  runtime::state::InMemoryState state;
  auto registry = runtime::registry::make_state_registry(state);
  resources::register_all(*registry);
  std::vector<std::unique_ptr<gpb::Message>> out;
  for (const auto& rd :
       state.list({std::string(rr::kMetaNamespace), std::string(rr::kResourceDefinitionType)})) {
    cosi::resource::meta::ResourceDefinitionSpec spec;
    if (!spec.ParseFromString(rd->spec->proto_bytes())) fail("a definition parses");
    const auto decoded = registry->decode(spec.resource_type(), "", "");
    if (const auto* typed = dynamic_cast<const rr::ProtoSpec*>(decoded.get())) {
      out.emplace_back(typed->message().New());
    }
  }
  check(!out.empty(), "the registry declares typed specs");
  return out;
}

const std::vector<std::unique_ptr<gpb::Message>>& prototypes() {
  static const auto all = spec_prototypes();
  return all;
}

bool same(const gpb::Message& a, const gpb::Message& b) {
  gpb::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  gpb::util::MessageDifferencer differ;
  differ.set_field_comparator(&comparator);
  return differ.Compare(a, b);
}

// Renders `spec`, parses the rendering, and renders again. A spec read from YAML (`from_yaml`)
// must come back exactly, value and text. One decoded from protobuf bytes may hold values no text
// stands for (an IP of 5 bytes, a prefix length of -3, an enum number nobody named): shown as best
// they can be, they need not read back, but what reads back must show the same again.
void round_trip(const gpb::Message& spec, bool from_yaml = true) {
  const std::string yaml = rr::spec_to_yaml(spec);
  std::unique_ptr<gpb::Message> back(spec.New());
  try {
    rr::spec_from_yaml(yaml, back.get());
  } catch (const std::invalid_argument& e) {
    if (!from_yaml) return;
    fail("a rendered spec parses back", std::string(e.what()) + "\n" + yaml);
  }
  if (from_yaml) check(same(spec, *back), "a rendered spec parses back to the same value", yaml);
  check(rr::spec_to_yaml(*back) == yaml, "rendering is stable", yaml);
}

void spec_from_text(const gpb::Message& prototype, const std::string& text) {
  std::unique_ptr<gpb::Message> spec(prototype.New());
  // A failed parse leaves the message as it was: give it a value first.
  std::unique_ptr<gpb::Message> before(prototype.New());
  before->ParseFromString(text.substr(0, 16));
  spec->CopyFrom(*before);
  try {
    rr::spec_from_yaml(text, spec.get());
  } catch (const std::invalid_argument&) {
    check(same(*spec, *before), "a failed parse leaves the spec unchanged");
    return;
  }
  round_trip(*spec);
}

void spec_from_proto(const gpb::Message& prototype, const std::string& bytes) {
  std::unique_ptr<gpb::Message> spec(prototype.New());
  if (!spec->ParseFromString(bytes)) return;
  spec->DiscardUnknownFields();  // YAML has no form for fields the type does not declare
  round_trip(*spec, false);
}

void metadata(const std::string& text) {
  rr::Metadata md;
  try {
    md = rr::metadata_from_yaml(text);
  } catch (const std::invalid_argument&) {
    return;
  }
  const std::string yaml = rr::metadata_to_yaml(md);
  rr::Metadata back;
  try {
    back = rr::metadata_from_yaml(yaml);
  } catch (const std::invalid_argument& e) {
    fail("rendered metadata parses back", std::string(e.what()) + "\n" + yaml);
  }
  check(back == md, "rendered metadata parses back to the same value", yaml);
  // Times render to the second; from then on they are stable.
  check(rr::metadata_to_yaml(back) ==
            rr::metadata_to_yaml(rr::metadata_from_yaml(rr::metadata_to_yaml(back))),
        "metadata rendering is stable", yaml);
}

// Whether two parsed YAML trees hold the same scalars in the same shape.
bool same_tree(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) return a.Scalar() == b.Scalar();
  if (a.size() != b.size()) return false;
  if (a.IsSequence()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_tree(a[i], b[i])) return false;
    }
    return true;
  }
  if (!a.IsMap()) return true;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (!same_tree(i->first, j->first) || !same_tree(i->second, j->second)) return false;
  }
  return true;
}

// `-o yaml` of a resource whose spec is text from elsewhere (a plugin, a remote client): the
// metadata must read back as it is, and a spec that is YAML as the same tree.
void resource_yaml(fuzz::Input& in) {
  rr::Resource r;
  r.metadata.ns = in.str();
  r.metadata.type = in.str();
  r.metadata.id = in.str();
  r.metadata.version = in.u64();
  r.metadata.owner = in.str();
  const std::uint8_t labels = in.u8();
  for (int i = 0; i < labels % 4; ++i) r.metadata.labels[in.str()] = in.str();
  if (labels & 0x80) r.metadata.finalizers.add(in.str());
  const std::string spec_text = in.rest();
  r.spec = std::make_shared<rr::OpaqueSpec>("", spec_text);
  const std::string yaml = rr::resource_to_yaml(r);
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail("a rendered resource is YAML", e.msg + "\n" + yaml);
  }
  check(doc.IsMap() && doc["metadata"].IsMap(), "a rendered resource has its metadata", yaml);
  const YAML::Node md = doc["metadata"];
  auto text = [&](const char* key) {
    check(md[key].IsScalar(), "a metadata field renders as a scalar", key);
    return md[key].Scalar();
  };
  check(text("namespace") == r.metadata.ns && text("type") == r.metadata.type &&
            text("id") == r.metadata.id && text("owner") == r.metadata.owner,
        "rendered metadata reads back as it is", yaml);
  check(text("version") == rr::version_to_string(r.metadata.version), "the version reads back");
  for (const auto& [key, value] : r.metadata.labels) {
    check(md["labels"][key].IsDefined() && md["labels"][key].Scalar() == value, "labels read back",
          yaml);
  }
  YAML::Node spec;
  try {
    spec = YAML::Load(spec_text);
  } catch (const YAML::Exception&) {
    check(doc["spec"].IsScalar() && doc["spec"].Scalar() == spec_text,
          "a spec that is not YAML is shown as its text", yaml);
    return;
  }
  if (doc["spec"].IsScalar() && doc["spec"].Scalar() == spec_text) return;  // shown as text
  check(same_tree(doc["spec"], spec), "a YAML spec is shown as the same tree", yaml);
}

void definition(fuzz::Input& in) {
  rr::ResourceDefinitionInput input;
  input.type = in.str();
  input.default_namespace = in.str();
  const std::uint8_t shape = in.u8();
  for (int i = 0; i < shape % 4; ++i) input.aliases.push_back(in.str());
  if (shape & 0x10) input.print_columns.push_back({in.str(), in.str()});
  input.sensitivity = (shape & 0x20) ? rr::Sensitivity::kSensitive : rr::Sensitivity::kNonSensitive;
  input.skip_automatic_aliases = (shape & 0x40) != 0;
  for (const auto& word :
       {std::string_view(input.type), std::string_view(input.default_namespace)}) {
    rr::inflection::plural(word);
    rr::inflection::singular(word);
    rr::inflection::is_plural(word);
  }
  rr::Resource resource;
  try {
    resource = rr::make_resource_definition(input);
  } catch (const std::invalid_argument&) {
    return;
  }
  check(resource.metadata.id == rr::resource_definition_id(input.type),
        "a definition's ID is its type's");
  const auto* spec = dynamic_cast<const rr::ProtoSpec*>(resource.spec.get());
  check(spec != nullptr, "a definition has a typed spec");
  round_trip(spec->message());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gpb::SetLogHandler(nullptr);
  prototypes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.u8();
  switch (mode % 5) {
    case 0: {
      const auto& p = prototypes();
      const auto& prototype = *p[in.u8() % p.size()];
      spec_from_text(prototype, in.rest());
      break;
    }
    case 1: {
      const auto& p = prototypes();
      const auto& prototype = *p[in.u8() % p.size()];
      spec_from_proto(prototype, in.rest());
      break;
    }
    case 2:
      metadata(in.rest());
      break;
    case 3:
      resource_yaml(in);
      break;
    case 4:
      definition(in);
      break;
  }
  return 0;
}
