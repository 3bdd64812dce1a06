// A local mirror of Node objects kept current on its own thread: LIST, then WATCH from the
// list's resourceVersion; a 410 Gone or a broken stream lists again; errors back off with
// jitter. The owner is told of changes through a coalesced callback, like discovery::client.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kubernetes/client.h"

namespace kubernetes {

struct InformerOptions {
  std::string field_selector;  // e.g. "metadata.name=node-1"; empty: every Node
  ClientOptions client;
  // Retry backoff: first delay, growing x2 with +-50% jitter up to the maximum.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

using NodeMap = std::map<std::string, Node, std::less<>>;  // by name; immutable once published

class NodeInformer {
 public:
  virtual ~NodeInformer() = default;

  // The Nodes as of the last event; empty until the first list (never null).
  virtual std::shared_ptr<const NodeMap> nodes() const = 0;
  // True once a list succeeded; false again while the mirror may be stale (an error since).
  virtual bool synced() const = 0;
  // The last error, until the next successful list or watch event.
  virtual std::optional<std::string> last_error() const = 0;
};

// Starts the informer on its own thread. `on_change` is posted to `notify` after nodes(),
// synced() or last_error() changed, coalesced (at most one pending); it is never invoked after
// the informer is destroyed if destruction happens on `notify`'s strand. Destruction cancels the
// call in flight and joins the thread. An error is logged once when it starts (warn) and once
// when it clears (info), not on every retry. Throws CredentialsError as make_client does.
std::unique_ptr<NodeInformer> start_node_informer(Credentials credentials, InformerOptions options,
                                                  boost::asio::any_io_executor notify,
                                                  std::function<void()> on_change);

}  // namespace kubernetes
