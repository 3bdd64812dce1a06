// The State conformance suite through the State API: client -> gRPC -> server -> InMemoryState.
#include "runtime/api/state_client.h"

#include "tests/runtime/api/test_server.h"
#include "tests/runtime/state/state_conformance.h"

namespace runtime::state::conformance {
namespace {

// A State that forwards to a client of its own server, so each test gets a fresh stack.
class RemoteState final : public State {
 public:
  explicit RemoteState(const HistoryLimits& limits)
      : server_({}, InMemoryStateOptions{limits.initial_capacity, limits.max_capacity,
                                         limits.gap}),
        client_(api::make_state_client(server_.channel())) {}

  ResourcePtr get(const Pointer& ptr) const override { return client_->get(ptr); }
  std::vector<ResourcePtr> list(const Kind& kind, const ListOptions& opts) const override {
    return client_->list(kind, opts);
  }
  ResourcePtr create(Resource r, const CreateOptions& opts) override {
    return client_->create(std::move(r), opts);
  }
  ResourcePtr update(Resource r, const UpdateOptions& opts) override {
    return client_->update(std::move(r), opts);
  }
  void destroy(const Pointer& ptr, const DestroyOptions& opts) override {
    client_->destroy(ptr, opts);
  }
  bool teardown(const Pointer& ptr, const TeardownOptions& opts) override {
    return client_->teardown(ptr, opts);
  }
  ResourcePtr add_finalizers(const Pointer& ptr, const std::vector<std::string>& names) override {
    return client_->add_finalizers(ptr, names);
  }
  ResourcePtr remove_finalizers(const Pointer& ptr,
                                const std::vector<std::string>& names) override {
    return client_->remove_finalizers(ptr, names);
  }
  std::unique_ptr<Watch> watch(const Pointer& ptr, Executor executor, WatchCallback cb,
                               const WatchOptions& opts) override {
    return client_->watch(ptr, std::move(executor), std::move(cb), opts);
  }
  std::unique_ptr<Watch> watch_kind(const Kind& kind, Executor executor, WatchCallback cb,
                                    const WatchKindOptions& opts) override {
    return client_->watch_kind(kind, std::move(executor), std::move(cb), opts);
  }

 private:
  api::Server server_;
  std::unique_ptr<State> client_;
};

std::unique_ptr<State> make_remote(const HistoryLimits& limits) {
  return std::make_unique<RemoteState>(limits);
}

INSTANTIATE_TEST_SUITE_P(OverGrpc, StateConformance,
                         ::testing::Values(StateFactory{"OverGrpc", make_remote, false}), factory_name);

}  // namespace
}  // namespace runtime::state::conformance
