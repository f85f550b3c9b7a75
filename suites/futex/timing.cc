// Timed waits: lower bound, slack, deadline loops and the timeout/wake race (catalog F2, F7; the futex form
// of timeout-swallows-signal).
#include <climits>

#include "backend_map.h"
#include "futex_util.h"
#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle {

using futex_cases::kSlack;

// F2. timeout 0 is a non-blocking check; otherwise timed_out comes no earlier than the timeout and within
// the slack after it.
JOSTLE_CASE(futex, timed_wait_timeout)
    .describe("timed_wait with no waker returns timed_out, never before its timeout, within the slack after it")
    .clauses({"futex.timed-wait.lower-bound", "futex.timed-wait.slack", "futex.timed-wait.zero"})
    .iterations(40)
    .body<FutexBackends>([]<TimedFutexBackend F>(Context& ctx) {
      static constexpr Nanos kTimeouts[] = {0, 50 * kMicro, 1 * kMilli, 5 * kMilli};
      const Nanos t = kTimeouts[ctx.iteration() % 4];
      FutexWord w{7};
      const probe::BlameClock clock;
      const FutexStatus s = F::timed_wait(w, 7, t);
      const Nanos took = clock.elapsed();
      JOSTLE_CHECK(s == FutexStatus::timed_out) << "timed_wait(" << t << " ns) returned " << to_string(s);
      JOSTLE_CHECK(took >= t) << "timed out after " << took << " ns, before its timeout of " << t << " ns";
      // The slack bound blames the primitive only: CPU starvation and chaos-held time are excused.
      JOSTLE_CHECK(clock.blamed() <= t + kSlack)
          << "timed out after " << took << " ns (" << clock.blamed() << " ns not excused by run-queue waits or "
          << "chaos) for a timeout of " << t << " ns";
      ctx.metric("overshoot_us", static_cast<double>(took - t) / 1e3, "us");
    });

// F7. A caller's deadline loop around timed_wait, disturbed by wakes that do not change the value (spurious
// returns from the caller's point of view): every timed_out is reported at or after the deadline it was given,
// and the loop as a whole neither ends early nor over-waits.
JOSTLE_CASE(futex, deadline_loop)
    .describe("a deadline loop re-armed after spurious returns ends at its deadline, not before, within slack")
    .clauses({"futex.timed-wait.lower-bound", "futex.wait.spurious"})
    .threads(1)
    .iterations(10)
    .body<FutexBackends>([]<TimedFutexBackend F>(Context& ctx) {
      constexpr Nanos kDeadline = 20 * kMilli;
      FutexWord w{0};
      std::atomic<bool> done{false};
      ActorGroup g = ctx.spawn(1, [&](int) {
        phase("disturb");
        while (!done.load(std::memory_order_acquire)) {
          F::wake(w, 1);
          sleep_ns(500 * kMicro);
        }
      });
      const probe::BlameClock clock;
      const Nanos t0 = now_ns();
      const Nanos deadline = t0 + kDeadline;
      int rounds = 0;
      for (Nanos now = t0; now < deadline; now = now_ns()) {
        const Nanos left = deadline - now;
        const FutexStatus s = F::timed_wait(w, 0, left);
        ++rounds;
        if (s == FutexStatus::timed_out) {
          const Nanos at = now_ns();
          JOSTLE_CHECK(at >= now + left) << "timed_out " << (now + left - at) << " ns before the deadline it was given";
        }
      }
      const Nanos took = now_ns() - t0;
      done.store(true, std::memory_order_release);
      g.join();
      JOSTLE_CHECK(clock.blamed() <= kDeadline + kSlack)
          << "deadline loop took " << took << " ns (" << clock.blamed() << " ns not excused)";
      ctx.metric("rounds", rounds);
    });

// The futex form of timeout-swallows-signal: every waiter a wake() dequeued (counted in its return value)
// reports woken, even when its own timer fired at the same moment. Waiters use short timeouts while the main
// thread wakes one at a time, so timers and wakes collide constantly.
JOSTLE_CASE(futex, timed_wake_accounting)
    .describe("a timed waiter counted by wake() reports woken, never timed_out (no swallowed wake)")
    .clause("futex.timed-wait.no-swallow")
    .threads(3)
    .iterations(10)
    .timeout(30 * kSecond)
    .body<FutexBackends>([]<TimedFutexBackend F>(Context& ctx) requires(F::kCountsWakes) {
      constexpr int kWaiters = 3;
      constexpr int kWakes = 1500;
      FutexWord w{0};
      std::atomic<bool> done{false};
      WakeTally tally;
      ActorGroup g = ctx.spawn(kWaiters, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i) + 1));
        phase("timed-wait");
        while (!done.load(std::memory_order_acquire)) {
          const FutexStatus s = F::timed_wait(w, 0, static_cast<Nanos>(20 + rng.below(200)) * kMicro);
          tally.count(s == FutexStatus::woken       ? WaitOutcome::notified
                      : s == FutexStatus::timed_out ? WaitOutcome::timed_out
                                                    : WaitOutcome::spurious);
        }
      });
      std::uint64_t woke = 0;
      Rng& rng = ctx.rng();
      for (int k = 0; k < kWakes; ++k) {
        const int n = F::wake(w, 1);
        if (n > 0) woke += static_cast<std::uint64_t>(n);
        // Pauses of the order of the waiters' timeouts, so that some waiters time out and some of those
        // timeouts land on a wake.
        const Nanos until = now_ns() + static_cast<Nanos>(rng.below(150)) * kMicro;
        while (now_ns() < until) sys::cpu_relax();
      }
      done.store(true, std::memory_order_release);
      g.join();
      const std::uint64_t notified = tally.notified.load();
      JOSTLE_CHECK(notified >= woke) << "wake() dequeued " << woke << " waiters but only " << notified
                                     << " reported woken (" << tally.timed_out.load() << " timed out): "
                                     << woke - notified << " wakes swallowed by timeouts";
      ctx.metric("wakes_delivered", static_cast<double>(woke));
      ctx.metric("timeouts", static_cast<double>(tally.timed_out.load()));
    });

}  // namespace jostle
