// Agents, threads, executors and safepoints: agent start and broadcast latency per agent backend, thread
// spawn+join per thread backend, virtual-thread spawn+join per executor backend (one at a time, and in batches
// of 64 where the fiber backend's carriers never go idle), and the safepoint stop/resume round trip by
// mutator count.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "agent_backends.h"
#include "executor_backends.h"
#include "safepoint_backends.h"
#include "thread_backends.h"

namespace jostle {
namespace {

// ---- threads ----
template <class T>
void BM_ThreadSpawnJoin(benchmark::State& state) {
  for (auto _ : state) {
    auto h = spawn_thread<T>([](int x) { return x + 1; }, 41);
    benchmark::DoNotOptimize(h->join());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_ThreadSpawnJoin, PthreadThread)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ThreadSpawnJoin, StdThread)->UseRealTime();

// ---- virtual threads ----
// fiber: 2 carriers (the cores). os_thread: up to 64 running at once, so that in a batch every virtual thread
// really gets its own OS thread (with 2 it would reuse the two threads through its queue, a thread pool).
template <class E>
typename E::Executor& bench_executor() {
  constexpr bool kFiber = requires { typename E::RunQueue; };
  static typename E::Executor ex(ExecutorPolicy{kFiber ? 2 : 0, kFiber ? 2 : 64, 1024, kVtForever, Saturation::timeout});
  return ex;
}

template <class E>
void BM_VtSpawnJoin(benchmark::State& state) {
  auto& ex = bench_executor<E>();
  for (auto _ : state) {
    typename E::Task t;
    E::spawn_on(ex, t, [] { return std::int64_t{1}; });
    benchmark::DoNotOptimize(E::join(t).value);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_VtSpawnJoin, OsThreadVt)->UseRealTime();
BENCHMARK_TEMPLATE(BM_VtSpawnJoin, FiberVt)->UseRealTime();

// 64 spawns, then 64 joins: the per-task cost once the executor is kept busy.
template <class E>
void BM_VtSpawnJoinBatch(benchmark::State& state) {
  auto& ex = bench_executor<E>();
  constexpr int kBatch = 64;
  std::vector<typename E::Task> ts(kBatch);
  for (auto _ : state) {
    for (auto& t : ts) E::spawn_on(ex, t, [] { return std::int64_t{1}; });
    for (auto& t : ts) benchmark::DoNotOptimize(E::join(t).value);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK_TEMPLATE(BM_VtSpawnJoinBatch, OsThreadVt)->UseRealTime();
BENCHMARK_TEMPLATE(BM_VtSpawnJoinBatch, FiberVt)->UseRealTime();

// A sleep(0)/yield-free context switch pair: park + unpark ping-pong between two virtual threads.
template <class E>
void BM_VtParkPingPong(benchmark::State& state) {
  auto& ex = bench_executor<E>();
  const std::int64_t rounds = 1000;
  for (auto _ : state) {
    typename E::Task a, b;
    std::atomic<int> ready{0};
    E::spawn_on(ex, b, [&] {
      ready.fetch_add(1);
      for (std::int64_t i = 0; i < rounds; ++i) {
        E::park(kVtForever);
        E::unpark(a);
      }
      return std::int64_t{0};
    });
    E::spawn_on(ex, a, [&] {
      while (ready.load() == 0) E::sleep(10 * kMicro);
      for (std::int64_t i = 0; i < rounds; ++i) {
        E::unpark(b);
        E::park(kVtForever);
      }
      return std::int64_t{0};
    });
    E::join(a);
    E::join(b);
  }
  state.SetItemsProcessed(state.iterations() * rounds);
}
BENCHMARK_TEMPLATE(BM_VtParkPingPong, OsThreadVt)->UseRealTime();
BENCHMARK_TEMPLATE(BM_VtParkPingPong, FiberVt)->UseRealTime();

// ---- agents ----
// start(): from the call until the agent is running (the cluster's creation and teardown are not timed).
template <class A>
void BM_AgentStart(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto c = std::make_unique<typename A::Cluster>(ClusterOptions{});
    state.ResumeTiming();
    c->start([](typename A::Api& api) { api.receive_broadcast(); }, AgentOptions{});
    state.PauseTiming();
    c->teardown();
    c.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_AgentStart, ThreadAgents)->UseRealTime();
BENCHMARK_TEMPLATE(BM_AgentStart, ProcessAgents)->UseRealTime();

// broadcast(): one rendezvous with N agents that loop on receive_broadcast.
template <class A>
void BM_AgentBroadcast(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  typename A::Cluster c(ClusterOptions{});
  auto buf = c.new_buffer(64);
  for (int i = 0; i < n; ++i)
    c.start(
        [](typename A::Api& api) {
          for (;;) api.receive_broadcast();
        },
        AgentOptions{});
  std::int64_t k = 0;
  for (auto _ : state) c.broadcast(buf, ++k);
  state.SetItemsProcessed(state.iterations());
  c.teardown();
}
BENCHMARK_TEMPLATE(BM_AgentBroadcast, ThreadAgents)->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK_TEMPLATE(BM_AgentBroadcast, ProcessAgents)->Arg(1)->Arg(4)->UseRealTime();

// ---- safepoints ----
// stop_the_world() + resume() with N mutators polling in a tight loop.
void BM_SafepointRoundTrip(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  FlagSafepoint sp;
  std::atomic<bool> done{false};
  std::atomic<int> attached{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&] {
      const auto id = sp.attach();
      attached.fetch_add(1);
      while (!done.load(std::memory_order_relaxed)) sp.poll(id);
      sp.detach(id);
    });
  while (attached.load() < n) std::this_thread::yield();
  for (auto _ : state) {
    sp.stop_the_world();
    sp.resume();
  }
  done.store(true);
  for (auto& t : ts) t.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SafepointRoundTrip)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseRealTime();

}  // namespace
}  // namespace jostle

BENCHMARK_MAIN();
