// Chaos points: named places at primitive boundaries where, when the runner asks for it (--chaos SPEC), the
// schedule is perturbed. With chaos off every hook below is one relaxed load of a global flag and a
// predicted-not-taken branch (docs/amplification.md has the measured cost).
//
// Two modes, chosen by the spec (grammar and defaults in docs/amplification.md):
//
//   random (default)  at each point, with probability p, one seeded action: yield, a bounded spin, a
//                     log-uniform short sleep, or a long stall when the caller is this iteration's victim
//                     thread. Total injected delay is capped at a fraction of wall time.
//   preempt           no points at all: each thread the harness starts for the case is interrupted by a signal
//                     at random instants, wherever it is (in a plugin, in libc), and yields or sleeps briefly.
//                     It reaches code without chaos points (preempt.cc).
//   pct               a token-passing scheduler (PCT, Burckhardt et al. 2010): threads that reached a chaos
//                     point run one at a time, highest priority first; priorities are random per iteration and
//                     d-1 random change points demote the running thread. Blocking calls release the token
//                     (explicitly through the BLOCKING hooks, or by detection of a holder asleep in the
//                     kernel), and a holder that does not come back within a bound loses the token, so the
//                     scheduler cannot deadlock the code under test.
//
// What backends call:
//   JOSTLE_CHAOS("futex.wait.before")              a scheduling point inside a race window
//   if (JOSTLE_CHAOS_SPURIOUS("condvar.wait"))     only where the contract allows a spurious return: true
//     return;                                      when the backend should return spuriously now
//   if (JOSTLE_CHAOS_TIMEOUT("futex.timed_wait"))  only in timed waits: true when the backend should behave
//     { sleep to the deadline; return timed_out; } as if nothing woke it before the deadline
//   JOSTLE_CHAOS_BLOCKING_BEGIN("futex.wait");     around a call that may block in the kernel: lets the PCT
//   syscall(SYS_futex, ...);                       scheduler run another thread meanwhile (and is a no-op in
//   JOSTLE_CHAOS_BLOCKING_END("futex.wait");       random mode)
#pragma once

#include <sys/types.h>

#include <atomic>
#include <ctime>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "jostle/clock.h"

namespace jostle {
class Json;
}

namespace jostle::chaos {

// Any mode on. Read on every hook; written only by configure().
extern std::atomic<bool> g_enabled;

// Total time the calling thread has been held inside chaos hooks (sleeps, stalls, PCT token waits).
std::int64_t held_ns();

// For a forked child that runs code under test (process agents): the scheduler state, its lock and the threads
// it schedules stay in the parent, so chaos is switched off in the child (every hook becomes a no-op there).
void detach_after_fork();

void point_slow(const char* name);
bool spurious_slow(const char* name);
bool timeout_slow(const char* name);
void blocking_begin_slow(const char* name);
void blocking_end_slow(const char* name);
void harness_wait_begin_slow();
void harness_wait_end_slow();

inline void point(const char* name) {
  if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) point_slow(name);
}
inline bool spurious(const char* name) {
  return __builtin_expect(g_enabled.load(std::memory_order_relaxed), false) && spurious_slow(name);
}
inline bool timeout_at_deadline(const char* name) {
  return __builtin_expect(g_enabled.load(std::memory_order_relaxed), false) && timeout_slow(name);
}
inline void blocking_begin(const char* name) {
  if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) blocking_begin_slow(name);
}
inline void blocking_end(const char* name) {
  if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) blocking_end_slow(name);
}

// A timed blocking call: `once(const timespec* rel)` makes one kernel wait of at most `rel` and returns 0 or an
// errno value (ETIMEDOUT when the time ran out). With chaos off it is called once, with `rel`. Under PCT it runs
// inside a BLOCKING region; with vclock=1 (a thread of the schedule) it is called in short slices until a wake, a
// changed value or an error, or until the schedule decides the timeout, and then ETIMEDOUT is returned no earlier
// than `rel` after the call (chaos_vclock.cc). EINTR is returned as `once` returned it when vclock is off.
int timed_wait_slow(const char* name, Nanos rel, int (*once)(void*, const timespec*), void* ctx);
template <class F>
inline int timed_wait(const char* name, Nanos rel, F&& once) {
  if (__builtin_expect(!g_enabled.load(std::memory_order_relaxed), true)) {
    const timespec ts = to_timespec(rel);
    return once(&ts);
  }
  using Fn = std::remove_reference_t<F>;
  return timed_wait_slow(
      name, rel, [](void* c, const timespec* ts) -> int { return (*static_cast<Fn*>(c))(ts); },
      const_cast<void*>(static_cast<const void*>(&once)));
}

// A case's or a backend's sleep: sleep_ns with chaos off or in the other modes; under PCT a BLOCKING region (the
// token goes to another thread meanwhile), and with vclock=1 a timed wait the schedule ends, never early.
void sleep_for(Nanos ns);

// PCT with vclock=1: timeouts decided by the schedule (chaos_vclock.cc).
bool vclock();
// The clock those timeouts are decided on: the virtual clock under PCT with vclock=1 (it starts at the monotonic
// clock's reading when the run began and advances per scheduling step and by jumps), else now_ns(). A case that
// aims an action at another thread's deadline reads both on this clock.
Nanos now();

// A deadline for a backend whose timed waits go through chaos::timed_wait. Under PCT with vclock=1 a thread of
// the schedule measures what is left on the virtual clock (so the timeout is the schedule's decision, with no
// wall-clock noise in it), and floor() keeps the backend's timeout from returning before the wall-clock deadline.
// Otherwise both are the monotonic clock and floor() does nothing.
struct Deadline {
  Nanos v = 0;     // on chaos::now()
  Nanos real = 0;  // on now_ns()
  bool virt = false;  // vclock=1 and the caller's waits go through chaos::timed_wait
  // schedule_timed: the waits this deadline bounds go through chaos::timed_wait (else it stays on the wall clock:
  // a wait the virtual clock does not see would not move it, and the deadline would never pass).
  static Deadline after(Nanos timeout, bool schedule_timed);
  Nanos left() const;  // what is left, on the clock the calling thread's timeouts are decided on
  void floor() const;  // before a timeout returns: under vclock, sleeps (sleep_for) to `real` if it is ahead
};

// Harness-internal: around the harness's own waits (joining actors, a probe's poll sleep). Under PCT a thread that
// takes part in this iteration's schedule gives the token up meanwhile, as in a BLOCKING region, instead of
// holding it asleep until another thread steals it (a steal makes the schedule depend on timing). A thread that
// never reached a point stays out of the schedule. A no-op in the other modes.
class HarnessWait {
 public:
  HarnessWait() {
    if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) harness_wait_begin_slow();
  }
  ~HarnessWait() {
    if (__builtin_expect(g_enabled.load(std::memory_order_relaxed), false)) harness_wait_end_slow();
  }
  HarnessWait(const HarnessWait&) = delete;
  HarnessWait& operator=(const HarnessWait&) = delete;
};

// Parses and installs a spec such as "p=0.01,actions=yield+spin+sleep,stall_us=2000" or "mode=pct,d=3".
// Returns an empty string on success, otherwise a one-line description of what was wrong. An empty spec or
// p=0 in random mode turns chaos off.
std::string configure(std::string_view spec, std::uint64_t seed);

// Points that fired an action (random mode) or scheduling steps taken (pct mode) since configure.
std::uint64_t hits();

// PCT fallbacks taken since configure: tokens taken from a holder asleep in the kernel (steals), from a
// holder burning CPU without reaching a point (forced), spinners demoted, and first steps that stopped waiting
// for late actors. A run with all four zero followed the seeded schedule exactly.
struct PctStats {
  std::uint64_t steals = 0, forced = 0, demotions = 0, late_starts = 0;
};
PctStats pct_stats();
// The current iteration's PCT step trace in the schedule event's format ("0*3 1 -1*2").
std::string pct_trace();

// Any mode configured (preempt mode leaves g_enabled off: it has no points).
bool active();

// PCT mode configured. A case's spin-wait that yields the CPU now and then skips the yield under PCT: its chaos
// point is the scheduling step, and the threads it would yield to cannot go on without the token anyway. A
// yield there hands the CPU to whatever else shares it; a busy loop on the same CPU with the kernel's autogroup off
// then takes a whole scheduler slice per yield (futex/lost_wakeup_storm ran 150x slower and passed its watchdog).
bool pct();

// Harness-internal: fills the fields of the `schedule` event (seed, mode, counts; in pct mode the priorities,
// change points and the step trace of the failing or last iteration; in preempt mode the interrupt counts).
// `why` is the end status ("pass", "fail", "unsupported") or "hang". Returns false, writing nothing, when chaos
// is off.
bool describe_schedule(Json& j, const char* why);

// Steered preempt (preempt mode with steer=P; docs/amplification.md, "Steered preempt"): at the entry of a call
// into outside code (the plugin ABI boundary), with probability P a one-shot timer is armed to interrupt the
// calling thread inside that call, at a delay drawn within the call site's learnt typical duration; the exit
// disarms it. One SteerSite per call site holds that estimate (constant-initialized, lock-free). With steer off
// each hook is one relaxed load and a predicted-not-taken branch.
struct SteerSite {
  std::atomic<std::int64_t> est_ns{0};  // running estimate (EWMA, 1/8) of the call's duration; 0: none yet
  std::atomic<std::int32_t> est_steps{0};  // aim=step: the same in instructions of outside code; 0: none yet
};
extern std::atomic<bool> g_steer;
std::int64_t steer_enter_slow(SteerSite& site);
void steer_exit_slow(SteerSite& site, std::int64_t started);
// Returns a token for steer_exit: 0 when the call is not tracked (steer off, a thread preempt mode does not
// target, or a call nested in another tracked one).
inline std::int64_t steer_enter(SteerSite& site) {
  return __builtin_expect(g_steer.load(std::memory_order_relaxed), false) ? steer_enter_slow(site) : 0;
}
// aim=step: steer_enter returned kStepToken, so the call about to be made is single-stepped. The trap flag goes
// on here, immediately before the call, so that few of the harness's own instructions are stepped on the way in
// (each step is a trap; docs/amplification.md, "Stepped aim").
constexpr std::int64_t kStepToken = -1;
inline void step_go(std::int64_t token) {
#if defined(__x86_64__)
  if (__builtin_expect(token == kStepToken, false)) __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq" ::: "memory", "cc");
#else
  (void)token;
#endif
}
inline void steer_exit(SteerSite& site, std::int64_t token) {
  if (__builtin_expect(token != 0, false)) steer_exit_slow(site, token);
}

// Harness-internal: the calling thread (actor index, -1 for the case's main thread) becomes, or stops being, a
// target of preempt mode. bind_current_thread and release_actor_slot call these, so every thread the harness
// starts for a case is covered; threads a backend or plugin starts on its own are not.
void preempt_thread_begin(int actor);
void preempt_thread_end();
// Harness-internal: the calling thread is harness plumbing (the watchdog), which preempt mode's others_us sweeper
// must leave alone (begin), or no longer is (end). Threads bound as actors are left alone already.
void preempt_plumbing_thread(bool begin);
bool preempt_is_plumbing(pid_t tid);  // the deadlock check leaves these threads out too

}  // namespace jostle::chaos

#define JOSTLE_CHAOS(name) ::jostle::chaos::point(name)
#define JOSTLE_CHAOS_SPURIOUS(name) ::jostle::chaos::spurious(name)
#define JOSTLE_CHAOS_TIMEOUT(name) ::jostle::chaos::timeout_at_deadline(name)
#define JOSTLE_CHAOS_BLOCKING_BEGIN(name) ::jostle::chaos::blocking_begin(name)
#define JOSTLE_CHAOS_BLOCKING_END(name) ::jostle::chaos::blocking_end(name)
