// The cost of the plugin path: the same algorithm called through the plugin ABI (one indirect call per
// operation) beside it compiled in. Mutex: Drepper's three-state futex mutex, uncontended lock+unlock, as
// FutexMutex<LinuxFutex> (compiled in) and as the example plugin's mutex (example_plugin.c, the same
// algorithm). Futex: wake with no waiter and wait on a changed value (one syscall each), LinuxFutex beside the
// example plugin's futex. The plugin is build/<preset>/plugins/libjostle-plugin-example.so, found next to this
// binary (or $JOSTLE_BENCH_PLUGIN). Recorded in docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "backend_map.h"
#include "jostle/plugin_host.h"

namespace {

using jostle::FutexWord;

std::string plugin_path() {
  if (const char* p = std::getenv("JOSTLE_BENCH_PLUGIN")) return p;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  std::string dir(exe, static_cast<std::size_t>(n));
  dir.resize(dir.rfind('/'));
  return dir + "/../plugins/libjostle-plugin-example.so";
}

template <class M>
void BM_MutexLockUnlock(benchmark::State& state) {
  M m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}

// The ABI alone: the plugin's lock and unlock called straight through its table (two indirect calls), without
// the harness's wrapper, to split the plugin path's cost into the calls themselves and what jostle adds.
void BM_MutexLockUnlockAbiDirect(benchmark::State& state) {
  const jostle_mutex_ops& ops = jostle::plugin::g_slots[0].mutex;
  void* m = ::operator new(ops.size, std::align_val_t(ops.align));
  ops.init(m);
  for (auto _ : state) {
    ops.lock(m);
    ops.unlock(m);
  }
  ops.destroy(m);
  ::operator delete(m, std::align_val_t(ops.align));
}

template <class F>
void BM_FutexWakeNobody(benchmark::State& state) {
  FutexWord w{0};
  for (auto _ : state) benchmark::DoNotOptimize(F::wake(w, 1));
}

template <class F>
void BM_FutexWaitValueChanged(benchmark::State& state) {
  FutexWord w{1};
  for (auto _ : state) benchmark::DoNotOptimize(F::timed_wait(w, 0, jostle::kSecond));
}

}  // namespace

BENCHMARK_TEMPLATE(BM_MutexLockUnlock, jostle::FutexMutex<jostle::LinuxFutex>)->Name("mutex_lock_unlock/compiled_in");
BENCHMARK_TEMPLATE(BM_MutexLockUnlock, jostle::PluginMutex<0>)->Name("mutex_lock_unlock/plugin");
BENCHMARK(BM_MutexLockUnlockAbiDirect)->Name("mutex_lock_unlock/abi_direct");
BENCHMARK_TEMPLATE(BM_FutexWakeNobody, jostle::LinuxFutex)->Name("futex_wake_nobody/compiled_in");
BENCHMARK_TEMPLATE(BM_FutexWakeNobody, jostle::PluginFutex<0>)->Name("futex_wake_nobody/plugin");
BENCHMARK_TEMPLATE(BM_FutexWaitValueChanged, jostle::LinuxFutex)->Name("futex_wait_value_changed/compiled_in");
BENCHMARK_TEMPLATE(BM_FutexWaitValueChanged, jostle::PluginFutex<0>)->Name("futex_wait_value_changed/plugin");

int main(int argc, char** argv) {
  const std::string path = plugin_path();
  if (const std::string err = jostle::plugin::load(path); !err.empty()) {
    std::fprintf(stderr, "jostle-bench-plugin: %s (build the example plugin, or set JOSTLE_BENCH_PLUGIN)\n", err.c_str());
    return 3;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
