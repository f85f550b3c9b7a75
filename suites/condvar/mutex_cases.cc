// Mutex cases: Zig's Mutex tests (smoke, many contended with the wide non-atomic counter), glibc's churn
// (tst-mutex7) and owner semantics (tst-mutex2/3, errorcheck and recursive kinds). Catalog M1-M4.
#include <sched.h>

#include "jostle/jostle.h"
#include "mutex_backends.h"
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
    .body<MutexBackends>([]<MutexBackend M>(Context& ctx) {
      constexpr int kThreads = 32, kCycles = 200;
      M m;
      WideCounter counter;
      ctx.actors(kThreads, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i)));
        for (int c = 0; c < kCycles; ++c) {
          phase("lock");
          m.lock();
          counter.increment();
          if (rng.chance(0.05)) sleep_ns(11 * kMicro);  // a holder that sleeps makes the others park
          m.unlock();
        }
        phase("done");
      });
      JOSTLE_CHECK(counter.consistent());
      JOSTLE_CHECK_EQ(counter.value(), static_cast<std::uint64_t>(kThreads * kCycles));
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

}  // namespace jostle
