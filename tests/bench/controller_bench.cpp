// Controller engine benchmarks: change latency through the three-controller chain
// (T0 -> A -> T1 -> B -> T2 -> C -> T3) and 10k resources fanned through it.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/controller/engine.h"
#include "runtime/state/inmem_state.h"
#include "tests/runtime/controller/chain_controller.h"
#include "tests/runtime/controller/test_util.h"

namespace {

using runtime::controller::Engine;
using runtime::controller::testing::ChainController;
using runtime::controller::testing::IoThreads;
using runtime::controller::testing::kNs;
using runtime::controller::testing::opaque;
using runtime::controller::testing::value_of;
namespace state = runtime::state;

// The chain on a fresh store, with its io_context run by `threads` threads.
struct Chain {
  state::InMemoryState store;  // default history sizes, as machined runs
  IoThreads io;
  Engine engine{store, io.executor()};

  explicit Chain(int threads) : io(threads) {
    engine.register_controller(std::make_unique<ChainController>("A", "T0", "T1"));
    engine.register_controller(std::make_unique<ChainController>("B", "T1", "T2"));
    engine.register_controller(std::make_unique<ChainController>("C", "T2", "T3"));
    engine.start();
  }
  ~Chain() { engine.stop(); }
};

template <class Pred>
void wait_for(Pred pred, std::chrono::microseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("no convergence");
    if (poll.count() == 0) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(poll);
    }
  }
}

// One input change until the T3 output reflects it.
void BM_ChainLatency(benchmark::State& bench) {
  Chain chain(static_cast<int>(bench.range(0)));
  const runtime::resource::Pointer in{kNs, "T0", "x"};
  const runtime::resource::Pointer out{kNs, "T3", "x"};
  chain.store.create(opaque("T0", "x", "0"));
  wait_for([&] { return value_of(chain.store.get(out)) == "0|A|B|C"; }, {});

  int i = 0;
  for (auto _ : bench) {
    const std::string value = std::to_string(++i);
    auto next = opaque("T0", "x", value);
    next.metadata.version = chain.store.get(in)->metadata.version;
    chain.store.update(next);
    const std::string want = value + "|A|B|C";
    wait_for([&] { return value_of(chain.store.get(out)) == want; }, {});
  }
}
BENCHMARK(BM_ChainLatency)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Creates n T0 resources on an idle chain and waits until all n T3 exist with the right value.
void BM_ChainFanOut(benchmark::State& bench) {
  const int n = static_cast<int>(bench.range(0));
  for (auto _ : bench) {
    bench.PauseTiming();
    auto chain = std::make_unique<Chain>(static_cast<int>(bench.range(1)));
    // Let the start passes finish so that they are not timed.
    wait_for([&] { return chain->engine.stats()[2].reconciles >= 1; },
             std::chrono::microseconds(100));
    bench.ResumeTiming();

    // Counting T3 creations through a watch: polling list() would sort 10k ids every time.
    std::atomic<std::size_t> outputs{0};
    auto watch = chain->store.watch_kind(
        {kNs, "T3"}, chain->io.executor(), [&outputs](state::WatchBatch batch) {
          std::size_t created = 0;
          for (const auto& ev : batch.events) created += ev.type == state::EventType::kCreated;
          if (batch.resync) {
            outputs = created;
          } else {
            outputs += created;
          }
        });

    for (int k = 0; k < n; ++k) chain->store.create(opaque("T0", std::to_string(k), "v"));
    wait_for([&] { return outputs.load() >= static_cast<std::size_t>(n); },
             std::chrono::microseconds(200));

    bench.PauseTiming();
    for (const auto& r : chain->store.list({kNs, "T3"})) {
      if (value_of(r) != "v|A|B|C") throw std::runtime_error("T3 did not converge");
    }
    std::uint64_t passes = 0;
    for (const auto& s : chain->engine.stats()) passes += s.reconciles;
    bench.counters["passes"] = static_cast<double>(passes);
    bench.counters["resyncs"] = static_cast<double>(chain->store.stats().resyncs);
    watch.reset();
    chain.reset();
    bench.ResumeTiming();
  }
  bench.SetItemsProcessed(bench.iterations() * n);
}
BENCHMARK(BM_ChainFanOut)
    ->ArgNames({"n", "threads"})
    ->ArgsProduct({{1000, 10000}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
