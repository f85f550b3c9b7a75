// Lost-wakeup detectors scaled for stress: Zig's signaling ring and broadcasting barrier, and libc++'s
// lost_wakeup storm (catalog F5, F6, F12). A lost wake hangs the case; the watchdog reports it, so each case
// keeps a short timeout.
#include <sched.h>

#include <climits>
#include <memory>
#include <vector>

#include "backend_map.h"
#include "futex_util.h"
#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle {

// F5. A token goes round a ring of paddles; each paddle waits for its value to move, checks it moved by
// exactly one, and hits the next.
JOSTLE_CASE(futex, signaling_ring)
    .kind(Kind::stress)
    .describe("a ring of paddles passes one token by store+wake; every hit is seen, exactly once")
    .clauses({"futex.wait.no-lost-wake", "futex.wait.wake"})
    .threads(8)
    .iterations(20)
    .timeout(10 * kSecond)
    .param("paddles", {"2", "8"})
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      const int paddles = static_cast<int>(ctx.param_int("paddles"));
      constexpr std::uint32_t kHits = 300;
      auto value = std::make_unique<FutexWord[]>(static_cast<std::size_t>(paddles));
      for (int i = 0; i < paddles; ++i) value[static_cast<std::size_t>(i)].store(0);
      std::atomic<int> bad{0};
      ActorGroup g = ctx.spawn(paddles, [&](int i) {
        FutexWord& mine = value[static_cast<std::size_t>(i)];
        FutexWord& next = value[static_cast<std::size_t>((i + 1) % paddles)];
        std::uint32_t current = 0;
        for (std::uint32_t k = 0; k < kHits; ++k) {
          phase("wait");
          std::uint32_t v;
          while ((v = mine.load(std::memory_order_acquire)) == current) F::wait(mine, current);
          if (v != current + 1) bad.fetch_add(1);
          current = v;
          phase("hit");
          next.fetch_add(1, std::memory_order_release);
          F::wake(next, 1);
        }
      });
      value[0].fetch_add(1, std::memory_order_release);  // serve
      F::wake(value[0], 1);
      g.join();
      JOSTLE_CHECK_EQ(bad.load(), 0) << "paddles saw their value jump";
      // Paddle 0 got the serve plus one hit per round from the last paddle, minus... it consumed kHits.
      JOSTLE_CHECK_EQ(value[0].load(), kHits + 1) << "final value of paddle 0";
    });

struct OneShotBarrier {
  FutexWord released{0};
  std::atomic<int> left{0};
};

// F6. Threads pass a sequence of one-shot barriers; the last arriver stores 1 and wakes the others.
JOSTLE_CASE(futex, broadcasting)
    .kind(Kind::stress)
    .describe("threads pass sequential futex barriers released by one store + wake(n-1)")
    .clauses({"futex.wait.no-lost-wake", "futex.wake.at-most-n"})
    .threads(6)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      constexpr int kThreads = 6;
      constexpr int kBarriers = 100;
      auto barriers = std::make_unique<OneShotBarrier[]>(kBarriers);
      for (int b = 0; b < kBarriers; ++b) barriers[static_cast<std::size_t>(b)].left.store(kThreads);
      std::atomic<int> over{0};
      ctx.actors(kThreads, [&](int) {
        for (int b = 0; b < kBarriers; ++b) {
          OneShotBarrier& bar = barriers[static_cast<std::size_t>(b)];
          phase("barrier");
          if (bar.left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            bar.released.store(1, std::memory_order_release);
            const int woke = F::wake(bar.released, kThreads - 1);
            if (woke > kThreads - 1) over.fetch_add(1);
          } else {
            while (bar.released.load(std::memory_order_acquire) == 0) F::wait(bar.released, 0);
          }
        }
      });
      JOSTLE_CHECK_EQ(over.load(), 0) << "wake(n-1) reported more than n-1 woken";
    });

// F12 (libc++ lost_wakeup.pass.cpp): waiters load the word, announce themselves and wait; the notifier waits
// for all announcements, bumps the word and wakes everyone. A lost wake leaves the notifier spinning.
JOSTLE_CASE(futex, lost_wakeup_storm)
    .kind(Kind::stress)
    .describe("libc++'s lost-wakeup storm: announce, wait on the old value; bump + wake all, many rounds "
              "(1, 8 or 2 waiters by iteration)")
    .clause("futex.wait.no-lost-wake")
    .threads(8)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      // One waiter makes the waker's "nobody waiting" fast path likely; eight make the bucket busy.
      static constexpr int kWaiters[] = {1, 8, 2};
      const int waiters = kWaiters[ctx.iteration() % 3];
      constexpr int kRounds = 400;
      FutexWord state{0};
      // Waiters announce themselves on `ready`. The waker spins for them, then sleeps on `ready` (a raw harness
      // futex, not the backend) so that a lost wakeup leaves every thread asleep in an untimed wait, which the
      // watchdog reports within --deadlock-after instead of at the deadline.
      std::atomic<std::uint32_t> ready{0};
      std::atomic<std::uint32_t> waker_sleeps{0};
      const auto n = static_cast<std::uint32_t>(waiters);
      ActorGroup g = ctx.spawn(waiters, [&](int) {
        for (int r = 0; r < kRounds; ++r) {
          const std::uint32_t old = state.load(std::memory_order_acquire);
          if (ready.fetch_add(1, std::memory_order_seq_cst) + 1 == n &&
              waker_sleeps.load(std::memory_order_seq_cst) != 0)
            sys::futex_wake(ready, 1);
          phase("wait");
          while (state.load(std::memory_order_acquire) == old) F::wait(state, old);
        }
      });
      phase("notify");
      for (int r = 0; r < kRounds; ++r) {
        for (int spins = 0;; ++spins) {
          const std::uint32_t seen = ready.load(std::memory_order_seq_cst);
          if (seen == n) break;
          if (spins % 64 == 63) {
            // 2 cores: let the waiters run. The chaos point makes this wait a scheduling step for PCT (which
            // would otherwise take the token from a thread spinning without points); under PCT the step is the
            // yield (chaos::pct() says why a sched_yield there costs a scheduler slice).
            JOSTLE_CHAOS("case.lost_wakeup_storm.waker-spin");
            if (!chaos::pct()) sched_yield();
          }
          if (spins >= 4096) {
            // Announce, re-check, sleep: a waiter that completes `ready` after the re-check sees the flag (both
            // sides seq_cst), and one that completes it before makes the futex value check fail.
            waker_sleeps.store(1, std::memory_order_seq_cst);
            const std::uint32_t again = ready.load(std::memory_order_seq_cst);
            if (again != n) {
              JOSTLE_CHAOS_BLOCKING_BEGIN("case.lost_wakeup_storm.waker-sleep");
              sys::futex_wait(ready, again);
              JOSTLE_CHAOS_BLOCKING_END("case.lost_wakeup_storm.waker-sleep");
            }
            waker_sleeps.store(0, std::memory_order_relaxed);
            continue;
          }
          sys::cpu_relax();
        }
        ready.store(0, std::memory_order_relaxed);
        state.fetch_add(1, std::memory_order_acq_rel);
        F::wake(state, INT_MAX);
      }
      g.join();
      (void)ctx;
    });

}  // namespace jostle
