// Single-thread smoke properties of every futex backend (catalog F1, F3).
#include "futex_backends.h"
#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle {

JOSTLE_CASE(futex, value_check)
    .describe("wait() on a word that does not hold the expected value returns at once")
    .clause("futex.wait.value-check")
    .iterations(1000)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      FutexWord w{static_cast<std::uint32_t>(ctx.rng().next())};
      const Nanos t0 = now_ns();
      F::wait(w, w.load() + 1);  // must not block: the watchdog reports a hang if it does
      ctx.metric("value_check_ns", static_cast<double>(now_ns() - t0), "ns");
    });

JOSTLE_CASE(futex, wake_no_waiters)
    .describe("wake(n) with nobody waiting wakes nobody, for n in {0, 1, INT_MAX}")
    .clause("futex.wake.no-waiters")
    .iterations(1000)
    .body<FutexBackends>([]<FutexBackend F>(Context&) {
      FutexWord w{0};
      for (int n : {0, 1, INT_MAX}) {
        const int woken = F::wake(w, n);
        if constexpr (F::kCountsWakes) {
          JOSTLE_CHECK_EQ(woken, 0) << "wake(" << n << ") with no waiters";
        }
      }
    });

}  // namespace jostle
