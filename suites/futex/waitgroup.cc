// Wait group (catalog E5). Zig's WaitGroup ships no tests, so these are our own: the state machine, a wait
// that must block (confirmed parked), one finish releasing every waiter, reuse across reset(), and two
// stress cases for the race the catalog names, a wait() meeting the last finish().
//
// A lost wake leaves every thread in an untimed futex wait (the waiters in the group, the workers and the main
// thread on the round gate below), which the watchdog's deadlock check reports in about 0.2 s.
#include <climits>
#include <cstdint>
#include <memory>

#include "futex_util.h"
#include "jostle/contracts/waitgroup.h"
#include "jostle/jostle.h"
#include "backend_map.h"

namespace jostle {

namespace {

using futex_cases::kSlack;

// Round gate for the stress cases, harness-side: raw atomics and raw futex only. The main thread opens round
// r with open(r); actors wait for it, do their part and arrive(); the main thread waits for every arrival.
// Every wait spins briefly and then sleeps in an untimed futex wait, so a stuck round is seen by the deadlock
// check instead of spinning until the deadline.
class RoundGate {
 public:
  explicit RoundGate(int parties) : parties_(static_cast<std::uint32_t>(parties)) {}

  void open(std::uint32_t round) {
    round_.store(round, std::memory_order_release);
    sys::futex_wake(round_);
  }
  // Spins (so that the actors of a round leave together, the point of the stress cases), then sleeps.
  void await_open(std::uint32_t round) {
    for (int i = 0; i < 20000; ++i) {
      if (round_.load(std::memory_order_acquire) >= round) return;
      sys::cpu_relax();
    }
    std::uint32_t seen;
    while ((seen = round_.load(std::memory_order_acquire)) < round) sys::futex_wait(round_, seen);
  }
  void arrive() {
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    sys::futex_wake(arrived_, 1);
  }
  void await_all(std::uint32_t round) {
    const std::uint32_t target = parties_ * round;
    for (int i = 0; i < 2000; ++i) {
      if (arrived_.load(std::memory_order_acquire) >= target) return;
      sys::cpu_relax();
    }
    std::uint32_t seen;
    while ((seen = arrived_.load(std::memory_order_acquire)) < target) sys::futex_wait(arrived_, seen);
  }

 private:
  std::uint32_t parties_;
  std::atomic<std::uint32_t> round_{0};
  std::atomic<std::uint32_t> arrived_{0};
};

void spin_for(std::uint64_t pauses) {
  for (std::uint64_t i = 0; i < pauses; ++i) sys::cpu_relax();
}

enum class Settled { parked, returned, neither };

// Waits until actor `actor` is confirmed parked in phase "wait", or has returned (`returned` set): a waiter that
// returns early is reported at once, not after the probe's full timeout.
Settled parked_or_returned(Context& ctx, int actor, const std::atomic<int>& returned) {
  const Nanos deadline = now_ns() + 5 * kSecond;
  while (now_ns() < deadline) {
    if (returned.load(std::memory_order_acquire) != 0) return Settled::returned;
    if (ctx.await_parked(actor, "wait", 20 * kMilli)) {
      return returned.load(std::memory_order_acquire) != 0 ? Settled::returned : Settled::parked;
    }
  }
  return Settled::neither;
}

// One blocking waiter: records how many finishes it saw done when wait() returned, and a plain payload the
// workers wrote before finishing.
struct WaiterRecord {
  std::atomic<int> returned{0};
  int finishes_seen = -1;  // written by the waiter, read after join
  int payload_seen = -1;
};

}  // namespace

// New group done; start() makes it pending; the last of several finishes makes it done again; wait() and
// wait_for() follow; reset() returns it to the start.
JOSTLE_CASE(futex, wg_smoke)
    .primitive("waitgroup")
    .describe("nothing started: done, wait returns at once; start/start(2)/finishes: done only after the last "
              "finish; wait_for(1ms) with work outstanding times out after >= 1 ms; reset")
    .clauses({"wg.initial-done", "wg.start", "wg.is-done", "wg.wait", "wg.wait-for", "wg.reset"})
    .iterations(50)
    .timeout(10 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      G g;
      JOSTLE_CHECK(g.is_done()) << "a new group is not done";
      phase("wait");
      g.wait();  // nothing started: must return at once (a hang here is reported by the deadlock check)
      phase("body");
      if constexpr (TimedWaitGroupBackend<G>) {
        JOSTLE_CHECK(g.wait_for(0)) << "wait_for(0) on a new group";
      }
      g.start();
      JOSTLE_CHECK(!g.is_done()) << "is_done() with 1 unit outstanding";
      if constexpr (TimedWaitGroupBackend<G>) {
        JOSTLE_CHECK(!g.wait_for(0)) << "wait_for(0) with 1 unit outstanding";
        const probe::BlameClock clock;
        const bool done = g.wait_for(kMilli);
        const Nanos took = clock.elapsed();
        JOSTLE_CHECK(!done) << "wait_for(1ms) returned done with 1 unit outstanding";
        JOSTLE_CHECK(took >= kMilli && clock.blamed() <= kMilli + kSlack)
            << "wait_for(1ms) took " << took << " ns (" << clock.blamed() << " ns not excused)";
      }
      g.start(2);
      g.finish();
      JOSTLE_CHECK(!g.is_done()) << "is_done() with 2 of 3 units outstanding";
      g.finish();
      JOSTLE_CHECK(!g.is_done()) << "is_done() with 1 of 3 units outstanding";
      g.finish();
      JOSTLE_CHECK(g.is_done()) << "not done after the last finish";
      phase("wait");
      g.wait();
      phase("body");
      if constexpr (TimedWaitGroupBackend<G>) {
        JOSTLE_CHECK(g.wait_for(kMilli)) << "wait_for(1ms) on a done group";
      }
      g.reset();
      JOSTLE_CHECK(g.is_done()) << "not done after reset()";
      g.start(1);
      JOSTLE_CHECK(!g.is_done()) << "is_done() with 1 unit outstanding after reset()";
      g.finish();
      JOSTLE_CHECK(g.is_done()) << "not done after the last finish after reset()";
      (void)ctx;
    });

// wait() blocks while one unit is outstanding (confirmed parked), and returns after the last finish, seeing
// the plain data the workers wrote before finishing.
JOSTLE_CASE(futex, wg_wait_blocks)
    .primitive("waitgroup")
    .describe("start(2), one finish, then wait(): it parks (probe) and returns only after the second finish, "
              "seeing both finishes and the payload written before them")
    .clauses({"wg.wait", "wg.wait.no-early", "wg.happens-before"})
    .threads(1)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      G g;
      std::atomic<int> finishes{0};
      int payload = 0;  // plain: ordered only by finish() -> wait()
      WaiterRecord rec;
      g.start(2);
      payload = 1;
      finishes.fetch_add(1, std::memory_order_relaxed);
      g.finish();
      ActorGroup a = ctx.spawn(1, [&](int) {
        phase("wait");
        g.wait();
        phase("returned");
        rec.finishes_seen = finishes.load(std::memory_order_relaxed);
        rec.payload_seen = payload;
        rec.returned.store(1, std::memory_order_release);
      });
      const Settled st = parked_or_returned(ctx, 0, rec.returned);
      JOSTLE_REQUIRE(st != Settled::returned) << "wait() returned with 1 of 2 units outstanding";
      JOSTLE_REQUIRE(st == Settled::parked) << "the waiter never parked";
      payload = 2;
      finishes.fetch_add(1, std::memory_order_relaxed);
      g.finish();
      a.join();
      JOSTLE_CHECK_EQ(rec.finishes_seen, 2) << "wait() returned before the last finish";
      JOSTLE_CHECK_EQ(rec.payload_seen, 2) << "the payload written before finish() was not visible after wait()";
    });

// Several confirmed-parked waiters, one last finish: every one of them returns.
JOSTLE_CASE(futex, wg_all_waiters_released)
    .primitive("waitgroup")
    .describe("4 waiters confirmed parked on one unit of work; its finish releases all 4")
    .clause("wg.finish.wakes-all")
    .threads(4)
    .iterations(20)
    .timeout(10 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      constexpr int kWaiters = 4;
      G g;
      std::atomic<int> finished{0};
      std::atomic<int> early{0};
      std::atomic<int> returned{0};
      g.start();
      ActorGroup a = ctx.spawn(kWaiters, [&](int) {
        phase("wait");
        g.wait();
        phase("returned");
        if (finished.load(std::memory_order_relaxed) == 0) early.fetch_add(1);
        returned.fetch_add(1, std::memory_order_release);
      });
      for (int i = 0; i < kWaiters; ++i) {
        JOSTLE_REQUIRE(ctx.await_parked(i, "wait")) << "waiter " << i << " never parked";
      }
      JOSTLE_REQUIRE_EQ(returned.load(), 0) << "a waiter returned before the finish";
      finished.store(1, std::memory_order_relaxed);
      g.finish();
      // A waiter left asleep by the finish leaves this join (and so every thread) asleep: the deadlock check.
      a.join();
      JOSTLE_CHECK_EQ(returned.load(), kWaiters);
      JOSTLE_CHECK_EQ(early.load(), 0) << "waiters returned before the finish";
    });

// Reuse over many rounds. Each round: a start/finish cycle no one waits in (no reset needed), then a round
// with a blocking waiter, then reset(). A group whose reset() leaves state behind shows it in the next rounds.
JOSTLE_CASE(futex, wg_reuse_after_reset)
    .primitive("waitgroup")
    .describe("50 rounds of: start(k)/k finishes with no waiter; start(k), a waiter parks, k finishes release "
              "it; reset(). The waiter never returns early and is_done() follows the counter every round")
    .clauses({"wg.reset", "wg.reuse", "wg.wait.no-early", "wg.is-done"})
    .threads(1)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      constexpr int kRounds = 50;
      G g;
      for (int r = 0; r < kRounds; ++r) {
        const std::uint32_t k = 1 + static_cast<std::uint32_t>(r % 3);
        // A round no one waits in.
        g.start(k);
        JOSTLE_CHECK(!g.is_done()) << "round " << r << ": is_done() right after start(" << k << ")";
        for (std::uint32_t i = 0; i < k; ++i) g.finish();
        JOSTLE_CHECK(g.is_done()) << "round " << r << ": not done after " << k << " finishes";
        // A round with a blocking waiter.
        g.start(k);
        std::atomic<int> finishes{0};
        WaiterRecord rec;
        ActorGroup a = ctx.spawn(1, [&](int) {
          phase("wait");
          g.wait();
          phase("returned");
          rec.finishes_seen = finishes.load(std::memory_order_relaxed);
          rec.returned.store(1, std::memory_order_release);
        });
        const Settled st = parked_or_returned(ctx, 0, rec.returned);
        JOSTLE_REQUIRE(st != Settled::returned)
            << "round " << r << ": wait() returned with " << k << " units outstanding";
        JOSTLE_REQUIRE(st == Settled::parked) << "round " << r << ": the waiter never parked";
        for (std::uint32_t i = 0; i < k; ++i) {
          finishes.fetch_add(1, std::memory_order_relaxed);
          g.finish();
        }
        a.join();
        JOSTLE_CHECK_EQ(rec.finishes_seen, static_cast<int>(k)) << "round " << r;
        g.reset();
        JOSTLE_CHECK(g.is_done()) << "round " << r << ": not done after reset()";
      }
    });

// The race the catalog names: N workers finish concurrently while M waiters arrive at random moments, some
// before the first finish, some among them, some after the last. Every waiter returns (a lost wake is a hang),
// none before the workers' done-counter reached N, and each sees every worker's plain payload.
JOSTLE_CASE(futex, wg_finish_races_wait)
    .kind(Kind::stress)
    .primitive("waitgroup")
    .describe("3 workers finish concurrently while 2 waiters wait, 200 rounds: every waiter returns, none "
              "before the done-counter (bumped before each finish) reached 3, each sees every payload")
    .clauses({"wg.wait.no-lost-wake", "wg.wait.no-early", "wg.finish.wakes-all", "wg.happens-before"})
    .threads(5)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      constexpr int kWorkers = 3, kWaiters = 2;
      constexpr std::uint32_t kRounds = 200;
      G g;
      RoundGate gate(kWorkers + kWaiters);
      std::atomic<int> done{0};
      std::atomic<int> early{0}, stale{0};
      std::uint32_t payload[kWorkers] = {};  // plain: ordered only by finish() -> wait()
      ActorGroup a = ctx.spawn(kWorkers + kWaiters, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        for (std::uint32_t r = 1; r <= kRounds; ++r) {
          phase("gate");
          gate.await_open(r);
          spin_for(rng.below(3000));
          if (i < kWorkers) {
            phase("finish");
            payload[i] = r;
            done.fetch_add(1, std::memory_order_relaxed);
            g.finish();
          } else {
            phase("wait");
            g.wait();
            phase("returned");
            if (done.load(std::memory_order_relaxed) < kWorkers) {
              early.fetch_add(1);  // payload[] may still be written: do not read it
            } else {
              for (int w = 0; w < kWorkers; ++w) {
                if (payload[w] != r) stale.fetch_add(1);
              }
            }
          }
          gate.arrive();
        }
      });
      for (std::uint32_t r = 1; r <= kRounds; ++r) {
        done.store(0, std::memory_order_relaxed);
        g.start(kWorkers);
        phase("open");
        gate.open(r);
        phase("await-round");
        gate.await_all(r);
        JOSTLE_CHECK(g.is_done()) << "round " << r << ": not done after every finish";
        g.reset();
      }
      a.join();
      JOSTLE_REQUIRE_EQ(early.load(), 0) << "waits returned before every worker finished";
      JOSTLE_CHECK_EQ(stale.load(), 0) << "payload reads after wait() saw an older round";
    });

// A waiter that arrives exactly as the last finish happens: the finisher and the waiter leave the round gate
// together (both spinning on it) with a jitter of a few microseconds either way, so the waiter's announcement
// lands before, inside and after the last decrement in turn.
JOSTLE_CASE(futex, wg_waiter_meets_last_finish)
    .kind(Kind::stress)
    .primitive("waitgroup")
    .describe("one last finish and one wait() released together with microsecond jitter, 400 rounds: the "
              "waiter always returns, never before the finish")
    .clauses({"wg.wait.no-lost-wake", "wg.wait.no-early"})
    .threads(2)
    .iterations(10)
    .timeout(20 * kSecond)
    .body<WaitGroupBackends>([]<WaitGroupBackend G>(Context& ctx) {
      constexpr std::uint32_t kRounds = 400;
      G g;
      RoundGate gate(2);
      std::atomic<int> done{0};
      std::atomic<int> early{0};
      ActorGroup a = ctx.spawn(2, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        for (std::uint32_t r = 1; r <= kRounds; ++r) {
          phase("gate");
          gate.await_open(r);
          spin_for(rng.below(i == 0 ? 200 : 2000));
          if (i == 0) {
            phase("finish");
            done.store(1, std::memory_order_relaxed);
            g.finish();
          } else {
            phase("wait");
            g.wait();
            phase("returned");
            if (done.load(std::memory_order_relaxed) == 0) early.fetch_add(1);
          }
          gate.arrive();
        }
      });
      for (std::uint32_t r = 1; r <= kRounds; ++r) {
        done.store(0, std::memory_order_relaxed);
        // Two units, one finished here: the actor's finish is the last one, on a group with history.
        g.start(2);
        g.finish();
        phase("open");
        gate.open(r);
        phase("await-round");
        gate.await_all(r);
        g.reset();
      }
      a.join();
      JOSTLE_REQUIRE_EQ(early.load(), 0) << "waits returned before the last finish";
    });

}  // namespace jostle
