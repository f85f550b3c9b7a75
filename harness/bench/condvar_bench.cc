// Condition variable and mutex figures (docs/benchmarks.md, "Condition variables and mutexes"):
//   - condvar ping-pong: two threads hand a turn back and forth through mutex + condvar; one round trip
//     per benchmark iteration, per backend beside std::condition_variable;
//   - mutex lock/unlock uncontended, per backend;
//   - contended mutex throughput: 2 and 4 threads increment a shared counter under one mutex.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "condvar_futex_epoch/futex_epoch_condvar.h"
#include "condvar_pthread/pthread_condvar.h"
#include "condvar_queue/queue_condvar.h"
#include "condvar_std/std_condvar.h"
#include "mutex_futex/futex_mutex.h"
#include "mutex_pthread/pthread_mutex.h"
#include "mutex_spin/spin_mutex.h"
#include "mutex_std/std_mutex.h"

namespace jostle {
namespace {

template <class C>
void BM_CondvarPingPong(benchmark::State& state) {
  typename C::Mutex m;
  C cv;
  int turn = 0;  // 0: main's turn, 1: partner's, -1: stop
  std::thread partner([&] {
    m.lock();
    for (;;) {
      while (turn == 0) cv.wait(m);
      if (turn < 0) break;
      turn = 0;
      cv.notify_one();
    }
    m.unlock();
  });
  for (auto _ : state) {
    m.lock();
    turn = 1;
    cv.notify_one();
    while (turn == 1) cv.wait(m);
    m.unlock();
  }
  m.lock();
  turn = -1;
  cv.notify_one();
  m.unlock();
  partner.join();
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void BM_MutexUncontended(benchmark::State& state) {
  M m;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
}

template <class M>
struct Shared {
  static M mutex;
  static long counter;
};
template <class M>
M Shared<M>::mutex;
template <class M>
long Shared<M>::counter = 0;

template <class M>
void BM_MutexContended(benchmark::State& state) {
  for (auto _ : state) {
    Shared<M>::mutex.lock();
    benchmark::DoNotOptimize(++Shared<M>::counter);
    Shared<M>::mutex.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_TEMPLATE(BM_CondvarPingPong, StdCondvar)->Name("condvar_pingpong/std")->UseRealTime();
BENCHMARK_TEMPLATE(BM_CondvarPingPong, PthreadCondvar)->Name("condvar_pingpong/pthread")->UseRealTime();
BENCHMARK_TEMPLATE(BM_CondvarPingPong, FutexEpochCondvar<LinuxFutex>)->Name("condvar_pingpong/futex_epoch")->UseRealTime();
BENCHMARK_TEMPLATE(BM_CondvarPingPong, QueueCondvar<LinuxFutex>)->Name("condvar_pingpong/queue")->UseRealTime();

#define JOSTLE_MUTEX_BENCH(Type, label)                                                                   \
  BENCHMARK_TEMPLATE(BM_MutexUncontended, Type)->Name("mutex_uncontended/" label);                       \
  BENCHMARK_TEMPLATE(BM_MutexContended, Type)->Name("mutex_contended/" label)->Threads(2)->Threads(4)->UseRealTime()

JOSTLE_MUTEX_BENCH(StdMutex, "std");
JOSTLE_MUTEX_BENCH(PthreadMutex, "pthread");
JOSTLE_MUTEX_BENCH(FutexMutex<LinuxFutex>, "futex");
JOSTLE_MUTEX_BENCH(SpinMutex, "spin");
JOSTLE_MUTEX_BENCH(RecursiveMutex, "recursive");

}  // namespace
}  // namespace jostle

BENCHMARK_MAIN();
