// Mutex cases: Zig's Mutex tests (smoke, many contended with the wide non-atomic counter), glibc's churn
// (tst-mutex7) and owner semantics (tst-mutex2/3, errorcheck and recursive kinds). Catalog M1-M4. Timed lock
// (try_lock_for) on the backends that offer it: lower bound, past deadlines, ownership, no stranding.
#include <sched.h>

#include <atomic>

#include "jostle/jostle.h"
#include "jostle/sys.h"
#include "backend_map.h"
#include "other_thread.h"

namespace jostle {

JOSTLE_CASE(condvar, mutex_smoke)
    .primitive("mutex")
    .describe("try_lock takes a free mutex, fails from another thread while held, succeeds there after unlock")
    .clauses({"mutex.try-lock", "mutex.lock.exclusive"})
    .threads(2)
    .iterations(50)
    .timeout(20 * kSecond)
    .body<MutexBackends>([]<MutexBackend M>(Context& ctx) {
      M m;
      JOSTLE_REQUIRE(m.try_lock()) << "try_lock on a fresh mutex failed";
      const bool other_took_held = on_other_thread(ctx, [&] {
        const bool got = m.try_lock();
        if (got) m.unlock();
        return got;
      });
      JOSTLE_CHECK(!other_took_held) << "another thread's try_lock succeeded while the mutex was held";
      m.unlock();
      const bool other_took_free = on_other_thread(ctx, [&] {
        const bool got = m.try_lock();
        if (got) m.unlock();
        return got;
      });
      JOSTLE_CHECK(other_took_free) << "try_lock from another thread failed after unlock";
      m.lock();
      m.unlock();
    });

JOSTLE_CASE(condvar, mutex_contended_exclusion)
    .primitive("mutex")
    .describe("4 threads share one mutex, 1000 increments of a wide non-atomic counter each, yielding every 100")
    .clauses({"mutex.lock.exclusive", "mutex.lock.acquire"})
    .threads(4)
    .iterations(20)
    .timeout(15 * kSecond)
    .body<MutexBackends>([]<MutexBackend M>(Context& ctx) {
      constexpr int kThreads = 4, kIncrements = 1000;
      M m;
      WideCounter counter;
      ctx.actors(kThreads, [&](int) {
        for (int i = 0; i < kIncrements; ++i) {
          phase("lock");
          m.lock();
          counter.increment();
          m.unlock();
          if (i % 100 == 0) sched_yield();
        }
      });
      JOSTLE_CHECK(counter.consistent()) << "a torn increment: two threads were inside together";
      JOSTLE_CHECK_EQ(counter.value(), static_cast<std::uint64_t>(kThreads * kIncrements)) << "lost increments";
    });

JOSTLE_CASE(condvar, mutex_churn)
    .primitive("mutex")
    .describe("32 threads x 200 lock/sleep/unlock cycles (glibc tst-mutex7): no waiter is ever stranded")
    .clauses({"mutex.lock.no-stranding", "mutex.lock.exclusive"})
    .threads(32)
    .iterations(3)
    .timeout(20 * kSecond)
    .outcome("complete", Grade::acceptable, "every thread did all its cycles")
    .outcome("out-of-time", Grade::interesting,
             "the iteration stopped at its 4 s budget with cycles left: a FIFO lock whose waiters spin hands off "
             "slowly when 32 threads share few CPUs (oneTBB queuing_mutex); the cycles done were still checked")
    .body<MutexBackends>([]<MutexBackend M>(Context& ctx) {
      constexpr int kThreads = 32, kCycles = 200;
      // A time budget per iteration: a live but slow lock must not look like a stranded waiter to the 20 s
      // watchdog. A stranded waiter never leaves lock(), so it still trips the watchdog.
      const Nanos stop_at = now_ns() + 4 * kSecond;
      M m;
      WideCounter counter;
      std::atomic<std::uint64_t> cycles{0};
      ctx.actors(kThreads, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i)));
        for (int c = 0; c < kCycles && now_ns() < stop_at; ++c) {
          phase("lock");
          m.lock();
          counter.increment();
          if (rng.chance(0.05)) sleep_ns(11 * kMicro);  // a holder that sleeps makes the others park
          m.unlock();
          cycles.fetch_add(1, std::memory_order_relaxed);
        }
        phase("done");
      });
      ctx.record(cycles.load() == static_cast<std::uint64_t>(kThreads * kCycles) ? "complete" : "out-of-time");
      JOSTLE_CHECK(counter.consistent());
      JOSTLE_CHECK_EQ(counter.value(), cycles.load());
    });

// The deliberate misuses of mutex_owner_semantics (unlock by a non-owner, unlock of a free mutex), which an
// owner-checked mutex must reject. A named frame that is never inlined, so ci/tsan.supp can suppress TSan's
// "unlock of an unlocked mutex (or by a wrong thread)" for exactly these calls and nothing else.
template <OwnerCheckedMutex M>
[[gnu::noinline]] LockResult deliberate_misuse_unlock(M& m) {
  return m.checked_unlock();
}

JOSTLE_CASE(condvar, mutex_owner_semantics)
    .primitive("mutex")
    .describe("non-owner unlock is rejected and changes nothing; errorcheck relock reports deadlock; recursive "
              "locks count and release at zero")
    .clauses({"mutex.owner.unlock", "mutex.errorcheck.relock", "mutex.recursive.count",
              "mutex.recursive.release", "mutex.recursive.try-lock"})
    .threads(2)
    .iterations(50)
    .timeout(20 * kSecond)
    .body<MutexBackends>([]<OwnerCheckedMutex M>(Context& ctx) {
      M m;
      auto other_try = [&] {
        return on_other_thread(ctx, [&] {
          const bool got = m.try_lock();
          if (got) m.unlock();
          return got;
        });
      };
      JOSTLE_REQUIRE(m.checked_lock() == LockResult::ok);
      const LockResult foreign = on_other_thread(ctx, [&] { return deliberate_misuse_unlock(m); });
      JOSTLE_CHECK(foreign == LockResult::not_owner) << "unlock by a non-owner returned " << to_string(foreign);
      JOSTLE_CHECK(!other_try()) << "after a rejected foreign unlock the mutex must still be held";
      if constexpr (M::kRecursive) {
        JOSTLE_CHECK(m.try_lock()) << "the owner's try_lock on its recursive mutex failed";
        JOSTLE_CHECK(m.checked_lock() == LockResult::ok);
        for (int depth = 3; depth > 1; --depth) {
          JOSTLE_CHECK(m.checked_unlock() == LockResult::ok);
          JOSTLE_CHECK(!other_try()) << "released at depth " << depth - 1 << " instead of 0";
        }
        JOSTLE_CHECK(m.checked_unlock() == LockResult::ok);
      } else {
        const LockResult relock = m.checked_lock();
        JOSTLE_CHECK(relock == LockResult::deadlock) << "relock by the owner returned " << to_string(relock);
        JOSTLE_CHECK(m.checked_unlock() == LockResult::ok);
      }
      JOSTLE_CHECK(other_try()) << "the mutex stayed held after the owner released it";
      const LockResult spare = deliberate_misuse_unlock(m);
      JOSTLE_CHECK(spare == LockResult::not_owner) << "unlocking a free mutex returned " << to_string(spare);
    });

// ---- Timed lock (try_lock_for): a VM threading layer's timed monitor enter, std::timed_mutex,
// pthread_mutex_clocklock. The timed attempts run on another thread: the main thread holds the mutex (a
// recursive kind would let its holder in at once).

JOSTLE_CASE(condvar, mutex_timed_not_early)
    .primitive("mutex")
    .describe("try_lock_for on a mutex another thread holds fails, and only after the requested (fractional-ms) "
              "time has passed on CLOCK_MONOTONIC")
    .clauses({"mutex.timed.lower-bound", "mutex.timed.owns"})
    .threads(1)
    .iterations(5)
    .timeout(20 * kSecond)
    .body<MutexBackends>([]<TimedMutexBackend M>(Context& ctx) {
      M m;
      m.lock();
      on_other_thread(ctx, [&] {
        for (Nanos t : {1500 * kMicro, 2300 * kMicro, 7700 * kMicro}) {
          for (int rep = 0; rep < 3; ++rep) {
            phase("timed_lock");
            const Nanos t0 = now_ns();
            const bool got = m.try_lock_for(t);
            const Nanos elapsed = now_ns() - t0;
            if (got) m.unlock();
            JOSTLE_CHECK(!got) << "try_lock_for(" << t << " ns) took a mutex the main thread holds";
            ctx.metric("late_by_ns", static_cast<double>(elapsed - t), "ns");
            JOSTLE_CHECK(elapsed >= t) << "gave up after " << elapsed << " ns, asked for " << t;
            JOSTLE_CHECK(elapsed < t + 2 * kSecond) << "gave up " << elapsed - t << " ns late";
          }
        }
        return 0;
      });
      m.unlock();
    });

JOSTLE_CASE(condvar, mutex_timed_past_deadline)
    .primitive("mutex")
    .describe("try_lock_for(0), (-10 ms) and (-10 s) return promptly: false while another thread holds the "
              "mutex, true once it is free")
    .clauses({"mutex.timed.past-deadline", "mutex.timed.owns"})
    .threads(1)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<MutexBackends>([]<TimedMutexBackend M>(Context& ctx) {
      M m;
      constexpr Nanos kPast[] = {0, -10 * kMilli, -10 * kSecond};
      m.lock();
      // The attempt's thread is joined (an untimed wait): a backend that blocks here hangs every thread, which
      // the watchdog reports at once.
      on_other_thread(ctx, [&] {
        for (Nanos t : kPast) {
          phase("timed_lock");
          const Nanos t0 = now_ns();
          const bool got = m.try_lock_for(t);
          const Nanos elapsed = now_ns() - t0;
          if (got) m.unlock();
          JOSTLE_CHECK(!got) << "try_lock_for(" << t << " ns) took a mutex the main thread holds";
          JOSTLE_CHECK(elapsed < kSecond) << "try_lock_for(" << t << " ns) on a held mutex took " << elapsed << " ns";
        }
        return 0;
      });
      m.unlock();
      on_other_thread(ctx, [&] {
        for (Nanos t : kPast) {
          const Nanos t0 = now_ns();
          const bool got = m.try_lock_for(t);
          const Nanos elapsed = now_ns() - t0;
          JOSTLE_CHECK(got) << "try_lock_for(" << t << " ns) failed on a free mutex";
          if (got) m.unlock();
          JOSTLE_CHECK(elapsed < kSecond) << "try_lock_for(" << t << " ns) on a free mutex took " << elapsed << " ns";
        }
        return 0;
      });
    });

JOSTLE_CASE(condvar, mutex_timed_handoff_at_deadline)
    .primitive("mutex")
    .describe("the holder unlocks right at a timed locker's deadline and at once locks again: a timed locker "
              "that reports success really owns the mutex (never inside together with the holder)")
    .clauses({"mutex.timed.owns", "mutex.lock.exclusive", "mutex.timed.lower-bound"})
    .threads(1)
    .iterations(60)
    .timeout(30 * kSecond)
    .outcome("got", Grade::acceptable, "the timed locker took the mutex as it was released")
    .outcome("timed-out", Grade::acceptable, "the deadline came first")
    .body<MutexBackends>([]<TimedMutexBackend M>(Context& ctx) {
      constexpr Nanos kTimeout = 5 * kMilli, kDwell = 300 * kMicro;
      M m;
      WideCounter counter;
      std::atomic<int> inside{0}, overlaps{0};
      std::atomic<Nanos> deadline{0};
      std::atomic<int> result{-1};
      // A critical section that notices company: `inside` counts the threads in it.
      auto critical = [&] {
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        counter.increment();
        const Nanos until = now_ns() + kDwell;
        while (now_ns() < until) sys::cpu_relax();
        inside.fetch_sub(1);
      };
      m.lock();
      ActorGroup g = ctx.spawn(1, [&](int) {
        phase("timed_lock");
        const Nanos t0 = now_ns();
        deadline.store(t0 + kTimeout);
        const bool got = m.try_lock_for(kTimeout);
        const Nanos elapsed = now_ns() - t0;
        if (got) {
          critical();
          m.unlock();
        } else {
          JOSTLE_CHECK(elapsed >= kTimeout) << "gave up after " << elapsed << " ns, asked for " << kTimeout;
        }
        result.store(got ? 1 : 0);
      });
      JOSTLE_REQUIRE(probe::await([&] { return deadline.load() != 0; })) << "the timed locker never started";
      // Release in the last 300 us before the deadline or just after it, then take the mutex straight back.
      const Nanos aim = deadline.load() - static_cast<Nanos>(ctx.rng().below(300 * kMicro)) + 50 * kMicro;
      while (now_ns() < aim) sys::cpu_relax();
      m.unlock();
      m.lock();
      critical();
      m.unlock();
      g.join();
      ctx.record(result.load() == 1 ? "got" : "timed-out");
      // REQUIRE: a run stops at the first overlap.
      JOSTLE_REQUIRE_EQ(overlaps.load(), 0) << "the timed locker reported success while the holder was inside";
      JOSTLE_CHECK(counter.consistent()) << "a torn increment: two threads were inside together";
      JOSTLE_CHECK_EQ(counter.value(), static_cast<std::uint64_t>(1 + result.load())) << "lost increments";
    });

JOSTLE_CASE(condvar, mutex_timed_exclusion)
    .primitive("mutex")
    .describe("4 threads mix lock() and short try_lock_for() on one mutex; only successful lockers increment "
              "the wide counter: no torn or lost increment, count == successes")
    .clauses({"mutex.timed.owns", "mutex.lock.exclusive", "mutex.lock.acquire"})
    .threads(4)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<MutexBackends>([]<TimedMutexBackend M>(Context& ctx) {
      constexpr int kThreads = 4, kAttempts = 400;
      M m;
      WideCounter counter;
      std::atomic<std::uint64_t> successes{0};
      ctx.actors(kThreads, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i)));
        for (int a = 0; a < kAttempts; ++a) {
          phase("lock");
          bool got = true;
          if (i == 0) {
            m.lock();
          } else {
            got = m.try_lock_for(static_cast<Nanos>(rng.below(300)) * kMicro);
          }
          if (!got) continue;
          counter.increment();
          if (rng.chance(0.1)) chaos::sleep_for(20 * kMicro);  // a holder that sleeps makes the timed lockers wait
          successes.fetch_add(1);
          m.unlock();
        }
        phase("done");
      });
      JOSTLE_CHECK(counter.consistent()) << "a torn increment: two threads were inside together";
      JOSTLE_CHECK_EQ(counter.value(), successes.load()) << "increments do not match successful locks";
    });

JOSTLE_CASE(condvar, mutex_timed_no_stranding)
    .primitive("mutex")
    .describe("B sleeps in lock() on a held mutex; A's try_lock_for(20 ms) times out; the holder unlocks: B must "
              "get the mutex (a timed-out locker must not clear the contended state)")
    .clauses({"mutex.timed.no-stranding", "mutex.lock.no-stranding", "mutex.timed.lower-bound"})
    .threads(2)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<MutexBackends>([]<TimedMutexBackend M>(Context& ctx) {
      constexpr Nanos kTimeout = 20 * kMilli;
      M m;
      std::atomic<bool> a_go{false}, a_done{false}, b_got{false};
      m.lock();
      // Every thread ends in an untimed wait (B in lock(), main in join) if B is stranded: the watchdog's
      // deadlock check reports that within ~0.2 s.
      ActorGroup g = ctx.spawn(2, [&](int i) {
        if (i == 0) {
          phase("lock");
          m.lock();
          b_got.store(true);
          m.unlock();
          phase("done");
        } else {
          (void)probe::await([&] { return a_go.load(); }, 10 * kSecond);
          phase("timed_lock");
          const Nanos t0 = now_ns();
          const bool got = m.try_lock_for(kTimeout);
          const Nanos elapsed = now_ns() - t0;
          if (got) m.unlock();
          JOSTLE_CHECK(!got) << "try_lock_for took a mutex the main thread holds";
          JOSTLE_CHECK(elapsed >= kTimeout) << "gave up after " << elapsed << " ns, asked for " << kTimeout;
          a_done.store(true);
          phase("done");
        }
      });
      JOSTLE_REQUIRE(ctx.await_parked(0, "lock")) << "B never blocked in lock()";
      a_go.store(true);
      JOSTLE_REQUIRE(probe::await([&] { return a_done.load(); }, 10 * kSecond)) << "A's timed lock never returned";
      m.unlock();
      g.join();
      JOSTLE_CHECK(b_got.load()) << "B never got the mutex";
    });

}  // namespace jostle
