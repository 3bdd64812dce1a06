// Benchmarks of the in-memory State: single-thread Create/Update/Get throughput, write-to-watch
// delivery latency with 1 and 100 watchers, and memory per stored resource.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "runtime/state/inmem_state.h"

namespace {

using runtime::resource::Metadata;
using runtime::resource::OpaqueSpec;
using runtime::resource::Pointer;
using runtime::resource::Resource;
using runtime::state::InMemoryState;
using Clock = std::chrono::steady_clock;

const std::string kNs = "cluster";
const std::string kType = "Affiliates.cluster.talos.dev";

// A small resource: a couple of labels and a ~100-byte spec, like a discovery affiliate.
Resource small_resource(const std::string& id) {
  Metadata md(Pointer{kNs, kType, id});
  md.labels = {{"talos.dev/source", "service"}, {"role", "worker"}};
  return Resource{std::move(md),
                  std::make_shared<OpaqueSpec>(std::string(64, 'p'),
                                               "nodeId: " + id + "\nhostname: worker-1\n")};
}

std::string id_of(std::size_t i) { return "node-" + std::to_string(i); }

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0;
  std::size_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// Registered first so that the allocator has no freed memory from other benchmarks to reuse.
void BM_MemoryPer100kResources(benchmark::State& state) {
  constexpr std::size_t kCount = 100'000;
  for (auto _ : state) {
    const std::size_t before = rss_bytes();
    InMemoryState s;
    for (std::size_t i = 0; i < kCount; ++i) s.create(small_resource(id_of(i)));
    const std::size_t after = rss_bytes();
    state.counters["bytes_per_resource"] =
        static_cast<double>(after - before) / static_cast<double>(kCount);
  }
}
BENCHMARK(BM_MemoryPer100kResources)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_Create(benchmark::State& state) {
  InMemoryState s;
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s.create(small_resource(id_of(i++))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Create);

void BM_Update(benchmark::State& state) {
  InMemoryState s;
  auto current = s.create(small_resource("node-1"));
  for (auto _ : state) current = s.update(*current);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Update);

void BM_Get(benchmark::State& state) {
  constexpr std::size_t kResources = 1000;
  InMemoryState s;
  std::vector<Pointer> ptrs;
  for (std::size_t i = 0; i < kResources; ++i) {
    s.create(small_resource(id_of(i)));
    ptrs.push_back(Pointer{kNs, kType, id_of(i)});
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s.get(ptrs[i++ % kResources]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Get);

// Write-to-watch latency: one update at a time, timed from just before update() to each
// watcher's callback, on an io_context run by args[1] threads with one strand per watcher.
// args[2] = 1 writes from a strand of that io_context (as controllers do) instead of from the
// benchmark thread.
void BM_WatchLatency(benchmark::State& state) {
  const auto watchers = static_cast<std::size_t>(state.range(0));
  const auto threads = static_cast<std::size_t>(state.range(1));
  const bool writer_on_io = state.range(2) != 0;
  InMemoryState s;
  auto current = s.create(small_resource("node-1"));

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::atomic<std::int64_t> written_at{0};
  std::atomic<std::size_t> delivered{0};
  // samples[w] is only touched by watcher w's callbacks (its strand), then read after join.
  std::vector<std::vector<std::int64_t>> samples(watchers);
  std::vector<std::unique_ptr<runtime::state::Watch>> watches;
  for (std::size_t w = 0; w < watchers; ++w) {
    watches.push_back(s.watch_kind(
        runtime::state::Kind{kNs, kType}, boost::asio::make_strand(io),
        [&, w](runtime::state::WatchBatch batch) {
          const auto now = Clock::now().time_since_epoch().count();
          for (const auto& e : batch.events) {
            if (e.type != runtime::state::EventType::kUpdated) continue;
            samples[w].push_back(now - written_at.load());
            if (delivered.fetch_add(1) + 1 == watchers) delivered.notify_one();
          }
        }));
  }
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back([&] { io.run(); });

  auto writer = boost::asio::make_strand(io);
  auto write = [&] {
    written_at.store(Clock::now().time_since_epoch().count());
    current = s.update(*current);
  };
  for (auto _ : state) {
    delivered.store(0);
    if (writer_on_io) {
      boost::asio::post(writer, write);
    } else {
      write();
    }
    for (auto seen = delivered.load(); seen < watchers; seen = delivered.load()) {
      delivered.wait(seen);
    }
  }

  watches.clear();
  work.reset();
  for (auto& t : pool) t.join();

  std::vector<std::int64_t> all;
  for (const auto& v : samples) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto percentile_us = [&](double p) {
    if (all.empty()) return 0.0;
    const auto idx = static_cast<std::size_t>(p * static_cast<double>(all.size() - 1));
    return std::chrono::duration<double, std::micro>(Clock::duration(all[idx])).count();
  };
  state.counters["p50_us"] = percentile_us(0.50);
  state.counters["p99_us"] = percentile_us(0.99);
  state.counters["max_us"] = percentile_us(1.0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WatchLatency)
    ->ArgNames({"watchers", "threads", "io_writer"})
    ->Args({1, 1, 0})
    ->Args({1, 2, 0})
    ->Args({100, 1, 0})
    ->Args({100, 2, 0})
    ->Args({1, 1, 1})
    ->Args({1, 2, 1})
    ->Args({100, 1, 1})
    ->Args({100, 2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
