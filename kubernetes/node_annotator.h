// Keeps a set of annotations on one Node, on its own thread: it watches that Node (an informer
// with a metadata.name field selector, which a node credential may do) and patches whenever the
// Node's annotations differ from the wanted ones, so a re-created Node or an annotation edited
// away is put back. Errors back off with jitter and are logged once, as the informer does.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kubernetes/node_informer.h"

namespace kubernetes {

// Annotation key -> value; nullopt: the annotation must be absent.
using Annotations = std::map<std::string, std::optional<std::string>>;

class NodeAnnotator {
 public:
  virtual ~NodeAnnotator() = default;

  // What the Node should carry from now on; returns at once, the patch happens on the
  // annotator's thread (when the Node exists; a missing Node is waited for, not an error).
  virtual void set(Annotations wanted) = 0;
  // True when the Node as last seen carries exactly what set() asked for.
  virtual bool applied() const = 0;
  virtual std::optional<std::string> last_error() const = 0;
};

// `on_change` as for start_node_informer: posted when applied() or last_error() changed.
// `options.field_selector` is replaced by the Node's name. Throws CredentialsError as make_client
// does.
std::unique_ptr<NodeAnnotator> start_node_annotator(Credentials credentials, std::string node_name,
                                                    InformerOptions options,
                                                    boost::asio::any_io_executor notify,
                                                    std::function<void()> on_change);

}  // namespace kubernetes
