// Futex ping-pong round trip per backend beside a raw-syscall baseline, and async notifier latency per
// backend. A round trip is: A stores odd + wakes, B sees it, stores even + wakes, A sees it.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <thread>

#include "async_backends.h"
#include "futex_atomic_wait/atomic_wait_futex.h"
#include "futex_linux/linux_futex.h"
#include "futex_parking/parking_futex.h"

namespace {

using jostle::FutexWord;

// The baseline: the same protocol on futex(2) called inline, nothing in between.
void raw_wait(FutexWord& w, std::uint32_t v) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT_PRIVATE, v, nullptr, nullptr, 0);
}
void raw_wake(FutexWord& w) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

struct RawSyscall {
  static void wait(FutexWord& w, std::uint32_t v) { raw_wait(w, v); }
  static int wake(FutexWord& w, int) {
    raw_wake(w);
    return 0;
  }
};

template <class F>
void BM_PingPong(benchmark::State& state) {
  FutexWord w{0};
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    std::uint32_t seen = 0;
    for (;;) {
      std::uint32_t v;
      while ((v = w.load(std::memory_order_acquire)) == seen) F::wait(w, seen);
      if (stop.load(std::memory_order_acquire)) return;
      seen = v + 1;
      w.store(seen, std::memory_order_release);
      F::wake(w, 1);
    }
  });
  std::uint32_t v = 0;
  for (auto _ : state) {
    w.store(++v, std::memory_order_release);
    F::wake(w, 1);
    ++v;
    std::uint32_t now;
    while ((now = w.load(std::memory_order_acquire)) != v) F::wait(w, now);
  }
  stop.store(true, std::memory_order_release);
  w.store(++v, std::memory_order_release);
  F::wake(w, INT_MAX);
  partner.join();
}

BENCHMARK_TEMPLATE(BM_PingPong, RawSyscall)->Name("futex_pingpong/raw_syscall")->UseRealTime();
BENCHMARK_TEMPLATE(BM_PingPong, jostle::LinuxFutex)->Name("futex_pingpong/linux")->UseRealTime();
BENCHMARK_TEMPLATE(BM_PingPong, jostle::LinuxSharedFutex)->Name("futex_pingpong/linux_shared")->UseRealTime();
BENCHMARK_TEMPLATE(BM_PingPong, jostle::ParkingFutex)->Name("futex_pingpong/parking")->UseRealTime();
BENCHMARK_TEMPLATE(BM_PingPong, jostle::AtomicWaitFutex)->Name("futex_pingpong/atomic_wait")->UseRealTime();

// Async round trip: the benchmark thread notifies `ping`; the partner's loop wakes, its callback notifies
// `pong`; the benchmark thread's loop wakes on it. Reported time is one round trip (two notifier latencies).
template <class A>
void BM_AsyncRoundTrip(benchmark::State& state) {
  A ping, pong;
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    jostle::EpollLoop<A> loop;
    loop.wait(ping, [&] {
      if (stop.load(std::memory_order_acquire)) return jostle::AsyncAction::disarm;
      pong.notify();
      return jostle::AsyncAction::rearm;
    });
    loop.run(jostle::RunMode::until_done);
  });
  jostle::EpollLoop<A> loop;
  loop.wait(pong, [] { return jostle::AsyncAction::rearm; });
  for (auto _ : state) {
    ping.notify();
    loop.run(jostle::RunMode::once);
  }
  stop.store(true, std::memory_order_release);
  ping.notify();
  partner.join();
}

BENCHMARK_TEMPLATE(BM_AsyncRoundTrip, jostle::EventfdAsync)->Name("async_roundtrip/eventfd")->UseRealTime();
BENCHMARK_TEMPLATE(BM_AsyncRoundTrip, jostle::PipeAsync)->Name("async_roundtrip/pipe")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
