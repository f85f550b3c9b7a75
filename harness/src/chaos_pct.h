// PCT mode's shared state: the per-actor slots, the scheduler, its spinlock and the token hand-over
// (chaos_token.cc), used by the scheduling step in chaos_pct.cc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "chaos_internal.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"

namespace jostle::chaos::detail {

constexpr int kSlots = kMaxActors + 1;  // slot = actor index + 1; slot 0 is the case's main thread
constexpr int kNoHolder = -1;
constexpr std::size_t kTraceCap = 1 << 16;
constexpr Nanos kWallFallback = 500;  // x token_wait (1 s) of wall time: the last resort, whatever the CPU says

struct Slot {
  std::atomic<std::uint32_t> grant{0};
  pid_t tid = 0;
  bool registered = false;
  bool wants = false;    // waiting for the token
  bool blocked = false;  // inside a BLOCKING region: not runnable as far as the scheduler knows
  bool settling = false; // in settle(): burns CPU looking at the others, not spinning in the code under test
  std::int64_t prio = 0;
  std::int64_t initial_prio = 0;
  Nanos asleep_since = 0;  // when a waiter first saw this holder asleep in the kernel (0: not seen)
  // vclock=1 (chaos_vclock.cc): inside a timed wait whose timeout the schedule decides.
  bool timed = false;
  bool harness = false;  // the blocking region is one of the harness's own waits (a poll that comes back by itself)
  std::atomic<bool> fired{false};  // the schedule decided: this wait timed out
  Nanos vdeadline = 0;             // on the virtual clock
  Nanos real_deadline = 0;         // on CLOCK_MONOTONIC: the wait returns no earlier
};

struct Snapshot {
  std::uint64_t iteration = 0;
  std::uint64_t steps = 0;
  std::uint64_t k = 0;
  int n = 0;
  std::vector<std::uint64_t> change_points;
  std::vector<std::pair<int, std::int64_t>> priorities;  // (actor, initial priority)
  std::vector<std::int16_t> trace;                       // actor chosen at each step
};

// The scheduler's own lock never sleeps in the kernel: a thread waiting for it must not look "blocked" to the
// probes above (they read the kernel's task state), so it spins and yields instead of parking.
class SpinLock {
 public:
  void lock() {
    for (unsigned i = 0;; ++i) {
      if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
      if (i < 64) sys::cpu_relax();
      else sched_yield();
    }
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

using LockGuard = std::lock_guard<SpinLock>;

struct Sched {
  SpinLock lock;
  std::uint64_t iteration = ~0ULL;
  int holder = kNoHolder;
  int top = 0;  // highest slot registered this iteration + 1
  int last = kNoHolder;
  std::uint64_t run_len = 0;
  std::size_t changes_done = 0;
  std::int64_t low_prio = 0;  // demoted priorities count down from here, below every initial one
  std::uint64_t k_learned = 0;
  std::uint64_t checks_at_start = 0;
  Snapshot cur;
  bool have_fail = false;
  Snapshot fail;
  // Totals over the run.
  std::uint64_t steals = 0, forced = 0, demotions = 0, late_starts = 0, unsettled = 0, steps_max = 0, iterations = 0;
  // vclock=1: the virtual clock, and the timeouts it fired at a step (due), when every thread was blocked (idle;
  // idle_holder: of those, with the token's holder asleep outside a blocking region), at the wall-clock deadline
  // while a harness wait polled (wall), and by the wall-clock backstop (late); fired threads not back in time.
  Nanos vnow = 0;
  std::uint64_t v_due = 0, v_idle = 0, v_idle_holder = 0, v_wall = 0, v_late = 0, v_unsettled = 0;
  int n_max = 0;
};

extern Sched g_sched;
extern Slot g_slots[kSlots];

// The token hand-over (chaos_token.cc). Lock held, except where said.
void give(int slot);
int best_waiter(int exclude);  // highest-priority runnable waiter, or kNoHolder
void dispatch();               // the token is free: hand it to the best waiter, if any
void wait_for_token(int slot); // lock NOT held on entry or exit
void acquire_token(int slot, SpinLock& lock);  // lock held on entry; released on return
// Lock held on entry and on return (released meanwhile): waits until every other thread inside a blocking region
// is asleep in the kernel or back asking for the token, so that the next choice does not depend on how fast the
// OS runs a thread that was just woken (chaos_token.cc).
void settle(int self);
// chaos_pct.cc, lock held: the calling thread's slot in the current iteration, registering it (enter_current) or
// only if it takes part already (enrolled_current); -1 when it cannot take part.
int enter_current();
int enrolled_current();

}  // namespace jostle::chaos::detail
