// Single-thread smoke properties of every futex backend (catalog F1, F3).
#include <sys/mman.h>

#include <climits>

#include "backend_map.h"
#include "futex_util.h"
#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle {

// F1. The mismatches differ in the low bit, only in bit 16, and only in the top bit, so a backend comparing
// fewer than 32 bits blocks on one of them; the last one waits on a fresh, untouched zero page.
JOSTLE_CASE(futex, value_check)
    .describe("wait() on a word that does not hold the expected value returns at once, never as a timeout")
    .clause("futex.wait.value-check")
    .iterations(500)
    .timeout(20 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      const std::uint32_t v = static_cast<std::uint32_t>(ctx.rng().next());
      auto check = [&](FutexWord& w, std::uint32_t expected, const char* what) {
        const Nanos t0 = now_ns();
        if constexpr (TimedFutexBackend<F>) {
          const FutexStatus s = F::timed_wait(w, expected, 2 * kSecond);
          JOSTLE_REQUIRE(s == FutexStatus::value_changed)
              << what << ": timed_wait returned " << to_string(s) << " for word " << w.load() << ", expected "
              << expected;
        } else {
          F::wait(w, expected);  // must not block: the watchdog reports a hang if it does
        }
        ctx.metric("value_check_ns", static_cast<double>(now_ns() - t0), "ns");
      };
      FutexWord w{v};
      check(w, v + 1, "low bit differs");
      check(w, v ^ 0x10000u, "bit 16 differs");
      check(w, v ^ 0x80000000u, "top bit differs");
      if (ctx.iteration() % 50 == 0) {
        void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        JOSTLE_REQUIRE(page != MAP_FAILED) << "mmap failed";
        check(*static_cast<FutexWord*>(page), 0x10000u, "untouched zero page");
        ::munmap(page, 4096);
      }
    });

// F3.
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
