// Who a wake reaches: exactly n confirmed-parked waiters, never a waiter on another word (even one sharing a
// hash bucket), and across processes on MAP_SHARED memory (catalog F4, F13).
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend_map.h"
#include "futex_util.h"
#include "jostle/contracts/futex.h"
#include "jostle/jostle.h"

namespace jostle {

using futex_cases::await_blocked;

// F4 / at-most-n / exact. The value changes before the wake (std::atomic::wait needs that), but every waiter
// is confirmed blocked first, so only the wake can release them.
JOSTLE_CASE(futex, wake_n_exact)
    .describe("wake(n) on 4 confirmed-parked waiters releases exactly min(n, 4) of them, wake(0) none; n cycles "
              "through 0, 1, 3 and INT_MAX with the iteration")
    .clauses({"futex.wake.exact", "futex.wake.at-most-n"})
    .threads(4)
    .iterations(20)
    .timeout(30 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      constexpr int kWaiters = 4;
      static constexpr int kNs[] = {0, 1, 3, INT_MAX};
      const int n = kNs[ctx.iteration() % 4];
      const int expect = n < kWaiters ? n : kWaiters;
      FutexWord w{0};
      std::atomic<int> returned{0};
      ActorGroup g = ctx.spawn(kWaiters, [&](int) {
        phase("wait");
        F::wait(w, 0);
        phase("returned");
        returned.fetch_add(1, std::memory_order_acq_rel);
      });
      JOSTLE_REQUIRE(await_blocked<F>(ctx, w, 0, kWaiters, "wait")) << "waiters never parked";
      w.store(1, std::memory_order_release);
      const int woke = F::wake(w, n);
      JOSTLE_CHECK(probe::await([&] { return returned.load() >= expect; }))
          << "wake(" << n << ") released " << returned.load() << " of " << expect;
      sleep_ns(20 * kMilli);  // give extra releases the time to show
      const int got = returned.load();
      JOSTLE_CHECK(got <= expect) << "wake(" << n << ") released " << got << " waiters, at most " << expect;
      if constexpr (F::kCountsWakes) {
        JOSTLE_CHECK_EQ(woke, expect) << "wake(" << n << ") return value";
      }
      while (returned.load() < kWaiters) {
        F::wake(w, INT_MAX);
        sleep_ns(100 * kMicro);
      }
    });

// F13 (libstdc++ PR 100334): 4 words with one waiter each; waking one releases that one only. On
// `parking_1bucket` all four share one bucket.
JOSTLE_CASE(futex, address_isolation)
    .describe("waking one of 4 words releases its waiter only, also when the words share a hash bucket")
    .clause("futex.wake.address")
    .threads(4)
    .iterations(20)
    .timeout(30 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) {
      constexpr int kWords = 4;
      FutexWord words[kWords] = {};
      std::atomic<int> returned[kWords] = {};
      std::atomic<int> stray[kWords] = {};
      ActorGroup g = ctx.spawn(kWords, [&](int i) {
        phase("wait");
        F::wait(words[i], 0);
        // Back from wait with the word unchanged: released by a wake on another word, or spuriously.
        if (words[i].load(std::memory_order_acquire) == 0) stray[i].store(1, std::memory_order_release);
        while (words[i].load(std::memory_order_acquire) == 0) F::wait(words[i], 0);
        returned[i].store(1, std::memory_order_release);
      });
      for (int i = 0; i < kWords; ++i)
        JOSTLE_REQUIRE(await_blocked<F>(ctx, words[i], i, 1, "wait")) << "waiter " << i << " never parked";
      const int target = static_cast<int>(ctx.rng().below(kWords));
      words[target].store(1, std::memory_order_release);
      F::wake(words[target], 1);
      const bool released = probe::await([&] { return returned[target].load() == 1; }, 2 * kSecond);
      sleep_ns(10 * kMilli);  // give a wrong release the time to show
      constexpr bool kStrict = [] {
        if constexpr (requires { F::kProfile; }) return F::kProfile == std::string_view("strict");
        return false;
      }();
      for (int i = 0; i < kWords; ++i) {
        if (i == target) continue;
        if constexpr (kStrict) {
          JOSTLE_CHECK(stray[i].load() == 0) << "wake on word " << target << " released the waiter on word " << i;
        }
        if constexpr (WaiterCountingFutex<F>) {
          JOSTLE_CHECK_EQ(F::waiters(words[i]), 1) << "word " << i << " after a wake on word " << target;
        }
      }
      JOSTLE_REQUIRE(released) << "the waiter on word " << target << " was not released by its wake";
      for (int i = 0; i < kWords; ++i) words[i].store(1, std::memory_order_release);
      while (true) {
        int r = 0;
        for (int i = 0; i < kWords; ++i) {
          F::wake(words[i], INT_MAX);
          r += returned[i].load();
        }
        if (r == kWords) break;
        sleep_ns(100 * kMicro);
      }
    });

namespace {

// The state letter of /proc/PID/stat for a child process, '?' when unreadable.
char process_state(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (!f) return '?';
  char buf[512];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : '?';
}

// What /proc/PID/syscall says the child is blocked in: 1 a futex call on `word`, 0 something else (e.g. a chaos
// point's sleep or hold before its wait, which reads 'S' too), -1 unreadable (then the process state alone decides).
int blocked_in_futex(pid_t pid, const void* word) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/syscall", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char buf[256];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  char* end = nullptr;
  const long nr = std::strtol(buf, &end, 10);
  if (end == buf || nr != SYS_futex) return 0;  // "running", or another call
  const char* arg0 = end;
  const unsigned long long addr = std::strtoull(arg0, &end, 16);
  return end != arg0 && addr == reinterpret_cast<std::uintptr_t>(word) ? 1 : 0;
}

}  // namespace

// F4 across processes: a forked child parks on a MAP_SHARED word and the parent's wake(1) reaches it.
JOSTLE_CASE(futex, cross_process)
    .describe("on MAP_SHARED memory, a wake in one process releases a waiter parked in another (fork)")
    .clause("futex.wake.exact")
    .iterations(10)
    .timeout(30 * kSecond)
    .body<FutexBackends>([]<FutexBackend F>(Context& ctx) requires(F::kProcessShared) {
      struct Shared {
        FutexWord word;
        std::atomic<std::uint32_t> about_to_wait;
      };
      void* mem = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      JOSTLE_REQUIRE(mem != MAP_FAILED) << "mmap(MAP_SHARED) failed";
      auto* sh = new (mem) Shared{};
      const pid_t child = ::fork();
      JOSTLE_REQUIRE(child >= 0) << "fork failed";
      if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a parent the watchdog ended
        sh->about_to_wait.store(1, std::memory_order_release);
        while (sh->word.load(std::memory_order_acquire) == 0) F::wait(sh->word, 0);
        ::_exit(0);
      }
      // Parked: it announced the wait and the kernel shows it asleep in a futex call on two reads 200 us apart.
      // The state alone is not enough: a chaos point's sleep just before the wait reads 'S' too (a hostile-schedule
      // run took that for parked, and wake(1) then found nobody: a false failure).
      const auto asleep_in_futex = [&] { return process_state(child) == 'S' && blocked_in_futex(child, &sh->word) != 0; };
      const bool parked = probe::await([&] {
        if (sh->about_to_wait.load(std::memory_order_acquire) == 0 || !asleep_in_futex()) return false;
        sleep_ns(200 * kMicro);
        return asleep_in_futex();
      });
      JOSTLE_CHECK(parked) << "child " << child << " never parked";
      sh->word.store(1, std::memory_order_release);
      const int woke = F::wake(sh->word, 1);
      if constexpr (F::kCountsWakes) {
        JOSTLE_CHECK_EQ(woke, 1) << "wake(1) from the parent";
      }
      int status = 0;
      const bool exited = probe::await([&] { return ::waitpid(child, &status, WNOHANG) == child; }, 2 * kSecond);
      if (!exited) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
      }
      ::munmap(mem, 4096);
      JOSTLE_REQUIRE(exited) << "the child was not released by the parent's wake";
      (void)ctx;
    });

}  // namespace jostle
