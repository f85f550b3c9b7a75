// Purpose-built cases with known results, run as a separate process by harness_test.cc: they check the
// harness end to end (exit codes, events, watchdog, outcome grading, the parked probe).
#include <climits>

#include "jostle/jostle.h"
#include "jostle/sys.h"

namespace {

struct Plain {
  static constexpr std::string_view kName = "plain";
  static constexpr std::string_view kDescription = "a backend with nothing in it";
};

struct MutantPlain {
  static constexpr std::string_view kName = "mutant.plain";
  static constexpr std::string_view kCatches = "selftest/check_fails";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr bool kBroken = true;
};

using Backends = jostle::TypeList<Plain, MutantPlain>;

}  // namespace

namespace jostle {

JOSTLE_CASE(selftest, passes).iterations(50).body<Backends>([]<class B>(Context& ctx) {
  JOSTLE_CHECK(ctx.iteration() < 50);
  ctx.metric("iteration", static_cast<double>(ctx.iteration()), "n");
});

JOSTLE_CASE(selftest, check_fails).iterations(5).body<Backends>([]<class B>(Context& ctx) {
  const int two = 2;
  JOSTLE_CHECK(ctx.iteration() % 2 == 0) << "odd iteration " << ctx.iteration();
  JOSTLE_CHECK_EQ(two, 2);
});

JOSTLE_CASE(selftest, require_fails).iterations(5).body<Backends>([]<class B>(Context& ctx) {
  JOSTLE_REQUIRE(ctx.iteration() < 2) << "stop at iteration 2";
});

JOSTLE_CASE(selftest, outcomes)
    .iterations(20)
    .outcome("ok", Grade::acceptable, "the usual")
    .outcome("rare", Grade::interesting, "allowed, worth seeing")
    .outcome("bad", Grade::forbidden, "never")
    .param("mode", {"clean", "forbidden", "undeclared"})
    .body<Backends>([]<class B>(Context& ctx) {
      const std::string& mode = ctx.param("mode");
      ctx.record(ctx.iteration() % 5 == 0 ? "rare" : "ok");
      if (ctx.iteration() == 7 && mode == "forbidden") ctx.record("bad");
      if (ctx.iteration() == 7 && mode == "undeclared") ctx.record("who-knows");
    });

JOSTLE_CASE(selftest, hangs).iterations(1).timeout(30 * kSecond).body<Backends>([]<class B>(Context& ctx) {
  ctx.actors(2, [](int) {
    static std::atomic<std::uint32_t> never{0};
    phase("blocked-forever");
    for (;;) sys::futex_wait(never, 0);
  });
});

// Every thread asleep, but each with a timeout: no deadlock, however long the quiet lasts.
JOSTLE_CASE(selftest, timed_sleepers).iterations(1).timeout(30 * kSecond).body<Backends>([]<class B>(Context& ctx) {
  ctx.actors(2, [](int) {
    std::atomic<std::uint32_t> nobody_wakes{0};
    phase("timed-wait");
    const Nanos until = now_ns() + 700 * kMilli;
    for (Nanos left = until - now_ns(); left > 0; left = until - now_ns()) sys::futex_wait(nobody_wakes, 0, left);
  });
});

JOSTLE_CASE(selftest, unsupported).body<Backends>([]<class B>(Context& ctx) {
  if constexpr (requires { B::kBroken; }) {
    ctx.unsupported("mutant.plain cannot do this");
  }
});

// A backend-constrained body: only instantiated for backends that have kBroken.
JOSTLE_CASE(selftest, constrained).body<Backends>([]<class B>(Context&) requires(B::kBroken) {});

// Actor 0 parks on a raw futex; the main thread confirms it is parked before waking it. Actor 1 spins with
// the same phase name and must not be taken for parked.
JOSTLE_CASE(selftest, parked_probe).iterations(3).body<Backends>([]<class B>(Context& ctx) {
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> stop_spinning{false};
  ActorGroup g = ctx.spawn(2, [&](int i) {
    phase("wait");
    if (i == 0) {
      while (word.load() == 0) sys::futex_wait(word, 0);
    } else {
      while (!stop_spinning.load()) sys::cpu_relax();
    }
  });
  JOSTLE_CHECK(ctx.await_parked(0, "wait")) << "a thread blocked in futex_wait was not seen parked";
  JOSTLE_CHECK(!ctx.await_parked(1, "wait", 100 * kMilli)) << "a spinning thread was taken for parked";
  stop_spinning.store(true);
  word.store(1);
  sys::futex_wake(word);
  g.join();
});

JOSTLE_CASE(selftest, actor_check).iterations(1).body<Backends>([]<class B>(Context& ctx) {
  ctx.actors(3, [](int i) { JOSTLE_CHECK(i != 2) << "actor " << i; });
});

JOSTLE_CASE(selftest, long_body).iterations(1000000).body<Backends>([]<class B>(Context&) {
  sleep_ns(2 * kMilli);
});

}  // namespace jostle
