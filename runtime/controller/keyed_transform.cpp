// The keyed transform's machinery: what each input contributed at its last mapping (kept with
// the input resource it came from, so a change is a different resource object), which inputs
// contribute to each output, and the pass that remaps and rewrites only what changed.
#include "runtime/controller/keyed_transform.h"

#include <map>
#include <set>

namespace runtime::controller::internal {
namespace {

class KeyedTransformController final : public Controller {
 public:
  explicit KeyedTransformController(SpecKeyedTransform t)
      : t_(std::move(t)),
        input_kind_{t_.input.ns, t_.input.type},
        output_kind_{t_.ns, t_.output.type} {}

  std::string name() const override { return t_.name; }
  std::vector<Input> inputs() const override { return {t_.input}; }
  std::vector<Output> outputs() const override { return {t_.output}; }

  void reconcile(Runtime& rt) override {
    // The first pass, and any pass after one that failed, starts over: it maps every input,
    // writes every output and destroys the owned outputs nobody contributes to any more.
    const bool full = !primed_;
    primed_ = false;
    if (full) {
      by_input_.clear();
      inputs_of_.clear();
    }

    std::set<std::string> dirty;  // outputs whose contributions changed
    const auto inputs = rt.list(input_kind_);
    auto cached = by_input_.begin();
    for (const ResourcePtr& r : inputs) {  // both sorted by ID
      const std::string& id = r->metadata.id;
      while (cached != by_input_.end() && cached->first < id) cached = drop(cached, dirty);
      if (cached != by_input_.end() && cached->first == id) {
        // Resources are immutable: the same object is the same version of the input.
        if (cached->second.source == r) {
          ++cached;
          continue;
        }
        cached = drop(cached, dirty);
      }
      auto mapped = t_.map(r);
      if (!mapped) continue;
      dirty.insert(mapped->first);
      inputs_of_[mapped->first].insert(id);
      by_input_.emplace_hint(cached, id,
                             Contribution{r, std::move(mapped->first), std::move(mapped->second)});
    }
    while (cached != by_input_.end()) cached = drop(cached, dirty);

    if (full) {
      rt.start_tracking_outputs();
      for (const auto& entry : inputs_of_) write(rt, entry.first, entry.second);
      rt.cleanup_outputs({output_kind_});
    } else {
      for (const auto& output_id : dirty) {
        auto it = inputs_of_.find(output_id);
        if (it != inputs_of_.end()) {
          write(rt, output_id, it->second);
        } else {
          // A shared output type's resource may be another controller's.
          destroy_if_owned(rt, Pointer{t_.ns, t_.output.type, output_id});
        }
      }
      rt.reset_restart_backoff();
    }
    primed_ = true;
  }

 private:
  struct Contribution {
    ResourcePtr source;
    std::string output_id;
    resource::SpecPtr spec;
  };
  using Cache = std::map<std::string, Contribution>;

  // Forgets one input's contribution; returns the next cached input.
  Cache::iterator drop(Cache::iterator it, std::set<std::string>& dirty) {
    const std::string& output_id = it->second.output_id;
    dirty.insert(output_id);
    auto sources = inputs_of_.find(output_id);
    sources->second.erase(it->first);
    if (sources->second.empty()) inputs_of_.erase(sources);
    return by_input_.erase(it);
  }

  void write(Runtime& rt, const std::string& output_id, const std::set<std::string>& sources) {
    std::vector<resource::SpecPtr> parts;
    parts.reserve(sources.size());
    for (const auto& input_id : sources) parts.push_back(by_input_.at(input_id).spec);
    const resource::SpecPtr spec = t_.reduce(parts);
    const Pointer ptr{t_.ns, t_.output.type, output_id};
    rt.modify(ptr, [&](const ResourcePtr& current) {
      return Resource{current ? current->metadata : resource::Metadata(ptr), spec};
    });
  }

  const SpecKeyedTransform t_;
  const Kind input_kind_;
  const Kind output_kind_;
  // On the controller's strand, as reconcile() is.
  Cache by_input_;                                          // input ID -> its contribution
  std::map<std::string, std::set<std::string>> inputs_of_;  // output ID -> contributing inputs
  bool primed_ = false;  // the last pass succeeded, so the cache matches the state
};

}  // namespace

std::unique_ptr<Controller> make_spec_keyed_transform(SpecKeyedTransform t) {
  return std::make_unique<KeyedTransformController>(std::move(t));
}

}  // namespace runtime::controller::internal
