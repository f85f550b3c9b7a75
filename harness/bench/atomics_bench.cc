// Atomics figures: RMW throughput per ops backend and element type (uncontended, and contended by 2 threads
// on one cell), wait/notify round trip per waiter-list backend, and litmus (SB) samples per second.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "atomics_backends.h"
#include "jostle/contracts/atomics.h"
#include "jostle/contracts/waiter_list.h"
#include "waiter_list_backends.h"

namespace jostle {
namespace {

SharedBuffer& bench_buffer() {
  static SharedBuffer buf = SharedBuffer::create(4096);
  return buf;
}

// add on cell 0 of a T view; with 2 threads both hammer the same cell.
template <class O, class T>
void BM_Add(benchmark::State& state) {
  TypedView<T> view(bench_buffer());
  T* p = view.element(0);
  for (auto _ : state) benchmark::DoNotOptimize(O::fetch_add(p, T{1}));
  state.SetItemsProcessed(state.iterations());
}

template <class O, class T>
void BM_CompareExchange(benchmark::State& state) {
  TypedView<T> view(bench_buffer());
  T* p = view.element(8 / sizeof(T) * 8);
  for (auto _ : state) {
    T seen = O::load(p);
    while (O::compare_exchange(p, seen, static_cast<T>(seen + 1)) != seen) seen = O::load(p);
  }
  state.SetItemsProcessed(state.iterations());
}

#define JOSTLE_RMW_BENCH(O, T)                                             \
  BENCHMARK(BM_Add<O, T>)->Name("add/" #O "/" #T)->Threads(1)->Threads(2); \
  BENCHMARK(BM_CompareExchange<O, T>)->Name("cas_loop/" #O "/" #T)->Threads(1)->Threads(2)

#define JOSTLE_RMW_BENCH_TYPES(O)        \
  JOSTLE_RMW_BENCH(O, std::int8_t);      \
  JOSTLE_RMW_BENCH(O, std::uint16_t);    \
  JOSTLE_RMW_BENCH(O, std::int32_t);     \
  JOSTLE_RMW_BENCH(O, std::int64_t)

JOSTLE_RMW_BENCH_TYPES(StdOps);
JOSTLE_RMW_BENCH_TYPES(BuiltinOps);
JOSTLE_RMW_BENCH_TYPES(WordCasOps);
JOSTLE_RMW_BENCH_TYPES(LockedOps);
JOSTLE_RMW_BENCH_TYPES(GilOps);

// One round trip: the main thread waits for the partner to enqueue (waiter_count), notifies it, and the
// partner answers by notifying the main thread's cell: two wait/notify hand-offs per iteration.
template <class W>
void BM_WaitNotifyRoundTrip(benchmark::State& state) {
  W list;
  SharedBuffer buf = SharedBuffer::create(64);
  Int32View v(buf);
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    while (!stop.load()) {
      if (list.wait(v, 0, 0, 50 * kMilli, true) != WaitStatus::ok) continue;
      while (list.notify(v, 1, NotifyCount::from_number(1)) == 0 && !stop.load()) std::this_thread::yield();
    }
  });
  for (auto _ : state) {
    while (list.notify(v, 0, NotifyCount::from_number(1)) == 0) std::this_thread::yield();
    list.wait(v, 1, 0, kForever, true);
  }
  stop.store(true);
  list.notify(v, 0, NotifyCount::all());
  list.notify(v, 1, NotifyCount::all());
  partner.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WaitNotifyRoundTrip<CondvarWaiters>)->Name("wait_notify_round_trip/condvar")->UseRealTime();
BENCHMARK(BM_WaitNotifyRoundTrip<FutexWaiters>)->Name("wait_notify_round_trip/futex")->UseRealTime();

// SB litmus samples per second: two threads sweep 4096 samples per stride-pair with relaxed accesses and
// a spin barrier between sweeps (the shape of suites/atomics litmus.cc, without the histogram).
template <class O, std::memory_order Load, std::memory_order Store>
void BM_LitmusSB(benchmark::State& state) {
  constexpr int kN = 4096;
  SharedBuffer buf = SharedBuffer::create(kN * 8);
  Int32View cells(buf);
  std::atomic<int> go{0}, done{0};
  std::atomic<bool> stop{false};
  std::int32_t r1[kN];
  std::thread partner([&] {
    for (int round = 1;; ++round) {
      while (go.load(std::memory_order_acquire) < round) {
        if (stop.load()) return;
      }
      for (int i = 0; i < kN; ++i) {
        O::store(cells.element(static_cast<std::size_t>(2 * i + 1)), 1, Store);
        r1[i] = O::load(cells.element(static_cast<std::size_t>(2 * i)), Load);
      }
      done.store(round, std::memory_order_release);
    }
  });
  std::int64_t weak = 0;
  int round = 0;
  for (auto _ : state) {
    go.store(++round, std::memory_order_release);
    std::int32_t r0 = 0;
    for (int i = 0; i < kN; ++i) {
      O::store(cells.element(static_cast<std::size_t>(2 * i)), 1, Store);
      r0 = O::load(cells.element(static_cast<std::size_t>(2 * i + 1)), Load);
      benchmark::DoNotOptimize(r0);
    }
    while (done.load(std::memory_order_acquire) < round) {
    }
    for (int i = 0; i < kN; ++i) weak += r1[i] == 0 ? 1 : 0;
    std::memset(buf.data(), 0, kN * 8);
  }
  stop.store(true);
  partner.join();
  state.SetItemsProcessed(state.iterations() * kN);
  state.counters["r1_zero_per_sample"] = static_cast<double>(weak) / static_cast<double>(state.iterations() * kN);
}
BENCHMARK(BM_LitmusSB<StdOps, std::memory_order_relaxed, std::memory_order_relaxed>)->Name("litmus_sb/relaxed")->UseRealTime();
BENCHMARK(BM_LitmusSB<StdOps, std::memory_order_seq_cst, std::memory_order_seq_cst>)->Name("litmus_sb/seq_cst")->UseRealTime();

}  // namespace
}  // namespace jostle

BENCHMARK_MAIN();
