// What a chaos point costs: off (the price every backend pays always), on but not firing, firing a yield, and
// one PCT scheduling step. The figures are in docs/amplification.md.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>

#include "jostle/chaos.h"
#include "jostle/sys.h"

namespace {

void configure_or_die(benchmark::State& state, const char* spec) {
  if (!jostle::chaos::configure(spec, 1).empty()) state.SkipWithError("bad chaos spec");
}

// The loop body every variant shares: one relaxed RMW, like a backend's fast path.
std::atomic<std::uint64_t> g_word{0};

void BM_Baseline(benchmark::State& state) {
  configure_or_die(state, "p=0");
  for (auto _ : state) benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
}
BENCHMARK(BM_Baseline);

void BM_PointsOff(benchmark::State& state) {
  configure_or_die(state, "p=0");
  for (auto _ : state) {
    JOSTLE_CHAOS("bench.before");
    benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
    JOSTLE_CHAOS("bench.after");
  }
}
BENCHMARK(BM_PointsOff);

void BM_AllHooksOff(benchmark::State& state) {
  configure_or_die(state, "p=0");
  for (auto _ : state) {
    JOSTLE_CHAOS("bench.before");
    if (JOSTLE_CHAOS_SPURIOUS("bench.spurious")) benchmark::DoNotOptimize(g_word.load());
    JOSTLE_CHAOS_BLOCKING_BEGIN("bench.block");
    benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
    JOSTLE_CHAOS_BLOCKING_END("bench.block");
    if (JOSTLE_CHAOS_TIMEOUT("bench.timeout")) benchmark::DoNotOptimize(g_word.load());
    JOSTLE_CHAOS("bench.after");
  }
}
BENCHMARK(BM_AllHooksOff);

// Chaos on, but the draw never fires: the cost of the slow path's decision alone.
void BM_PointsOnNotFiring(benchmark::State& state) {
  configure_or_die(state, "p=0.000000001,actions=yield");
  for (auto _ : state) {
    JOSTLE_CHAOS("bench.before");
    benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
    JOSTLE_CHAOS("bench.after");
  }
  jostle::chaos::configure("p=0", 1);
}
BENCHMARK(BM_PointsOnNotFiring);

// Typical stress setting: yield with p = 0.01 at each of two points.
void BM_PointsYieldP01(benchmark::State& state) {
  configure_or_die(state, "p=0.01,actions=yield");
  for (auto _ : state) {
    JOSTLE_CHAOS("bench.before");
    benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
    JOSTLE_CHAOS("bench.after");
  }
  jostle::chaos::configure("p=0", 1);
}
BENCHMARK(BM_PointsYieldP01);

// One PCT step on a single thread: lock, bookkeeping, priority scan; no hand-over.
void BM_PctStep(benchmark::State& state) {
  configure_or_die(state, "mode=pct,d=3,k=1000000");
  for (auto _ : state) {
    JOSTLE_CHAOS("bench.step");
    benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
  }
  jostle::chaos::configure("p=0", 1);
}
BENCHMARK(BM_PctStep);

// A real primitive operation with and without its (off) points: futex wake on a word nobody waits on.
void BM_FutexWakeRaw(benchmark::State& state) {
  configure_or_die(state, "p=0");
  std::atomic<std::uint32_t> w{0};
  for (auto _ : state) benchmark::DoNotOptimize(jostle::sys::futex_wake(w, 1));
}
BENCHMARK(BM_FutexWakeRaw);

void BM_FutexWakeWithPointsOff(benchmark::State& state) {
  configure_or_die(state, "p=0");
  std::atomic<std::uint32_t> w{0};
  for (auto _ : state) {
    JOSTLE_CHAOS("futex.wake.before");
    benchmark::DoNotOptimize(jostle::sys::futex_wake(w, 1));
    JOSTLE_CHAOS("futex.wake.after");
  }
}
BENCHMARK(BM_FutexWakeWithPointsOff);

}  // namespace

BENCHMARK_MAIN();
