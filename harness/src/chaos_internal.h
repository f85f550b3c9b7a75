// Shared between the chaos modules: the parsed spec, the run-wide counters, and each mode's entry points.
//
//   chaos.cc          the hooks' slow paths, configure(), the schedule event
//   chaos_spec.cc     the --chaos SPEC grammar
//   chaos_random.cc   random mode (seeded per-thread actions at points)
//   chaos_pct.cc      PCT: iterations, priorities, change points, the scheduling step
//   chaos_token.cc    PCT: the token hand-over, settle=1, and the fallbacks (steal, forced, wall clock)
//   chaos_vclock.cc   PCT: the virtual clock (vclock=1) and chaos::timed_wait, sleep_for, now, Deadline
//   preempt.cc        preempt mode (signals at random instants, wherever the thread is)
//   preempt_step.cc   preempt mode's aim=step: single-stepping into a steered call (the x86 trap flag)
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/context.h"

namespace jostle {
class Json;
}

namespace jostle::chaos::detail {

enum Action : unsigned { kYield = 1, kSpin = 2, kSleep = 4, kStall = 8, kSpurious = 16, kTimeout = 32 };
constexpr unsigned kDelayActions = kYield | kSpin | kSleep | kStall;
constexpr const char* kActionNames = "yield, spin, sleep, stall, spurious, timeout";

enum class Mode { random, pct, preempt };

struct Config {
  Mode mode = Mode::random;
  double p = 0.0;
  unsigned actions = kYield;
  Nanos sleep_max = 100 * kMicro;
  Nanos stall = 2 * kMilli;
  double cap = 0.25;    // injected sleep+stall time, as a fraction of wall time per thread of the case
  bool swarm = false;   // each site is on or off for the whole run, by a coin flip on (seed, site)
  int d = 3;            // PCT bug depth: d-1 priority change points per iteration
  std::uint64_t k = 0;  // PCT steps per iteration to draw change points from; 0 = learn it
  // A holder burning this much CPU without reaching a point loses the token. 2 ms: far above any primitive's path
  // between two points, and short enough that a case spinning in its own code (a point-free busy-wait for the
  // other threads, e.g. lost_wakeup_storm's waker) costs 2 ms per round, not 10.
  Nanos token_wait = 2 * kMilli;
  Nanos poll = 200 * kMicro;       // how often a waiting thread checks whether the holder is asleep
  std::uint64_t spin_bound = 200;  // a thread chosen this many steps in a row while others wait is demoted
  Nanos start_wait = 50 * kMilli;  // how long the first step waits for the declared actors to arrive
  int actors = 0;                  // threads to expect at the first step when no run declares them (tests)
  // settle=1: a PCT choice first waits for the threads a wake just made runnable to come back (chaos_token.cc,
  // settle()): exact replay, at the cost of serializing every wake (the storms run 2x slower).
  bool settle = false;
  // vclock=1 (PCT only): a timed wait's timeout is decided by the schedule (chaos_vclock.cc), on a virtual clock
  // that advances `tick` per scheduling step and jumps to the earliest deadline when every thread of the schedule
  // is blocked. The wait still returns no earlier than its wall-clock deadline.
  bool vclock = false;
  Nanos tick = kMicro;
  // preempt mode: mean wall time between two interrupts of one thread, and whether interrupted system calls
  // restart (SA_RESTART) or return EINTR.
  Nanos interval = 200 * kMicro;
  bool restart = true;
  bool cpu_clock = false;  // clock=cpu: the interval counts the thread's CPU time (tick resolution), not wall time
  // preempt mode, steer=P: probability that a call into outside code arms a one-shot interrupt inside the call
  // (0: off). interval=0 turns the untargeted interrupts off, leaving only the steered ones.
  double steer = 0.0;
  // preempt mode, aim=step (with steer=P): an aimed call is single-stepped (the x86 trap flag) for a drawn number
  // of instructions of outside code, and the action happens there, instead of at a timer's expiry
  // (preempt_step.cc). Reaches windows a few instructions from a call's entry, which no timer can.
  bool aim_step = false;
  // preempt mode, others_us=N: mean wall time between two interrupts sent to threads the harness did not start
  // (a plugin's or a library's own threads), picked at random among the running ones (0: off).
  Nanos others = 0;
  std::uint64_t seed = 1;
  std::string spec;
};

extern Config g_config;
extern std::atomic<std::uint64_t> g_generation;  // bumped by configure, so per-thread state resets
extern std::atomic<std::uint64_t> g_hits;
extern std::atomic<Nanos> g_injected;
extern Nanos g_start;

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
  Rng r(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (c * 0xd1b54a32d192ed03ULL));
  r.next();
  return r.next();
}

// From the run hook (run_hook.h); 0, 1 and 0 outside a run.
std::uint64_t current_iteration();
int case_threads();
std::uint64_t failures_so_far();

// Marks the calling thread as held by chaos (PhaseSlot::in_chaos) for the parked probe while it lives, and adds
// the time to held_ns() for slack checks.
class HeldByChaos {
 public:
  HeldByChaos();
  ~HeldByChaos();
  HeldByChaos(const HeldByChaos&) = delete;
  HeldByChaos& operator=(const HeldByChaos&) = delete;

 private:
  std::atomic<int>& in_chaos_;
  Nanos t0_;
};
// The same for a hold that cannot use the object (the preemption signal handler): adds to held_ns().
void add_held(Nanos ns);

// Sleeps and stalls are granted while the run's total stays under cap x wall time x threads (plus a small
// allowance so that the first ones are possible), so chaos cannot turn a correct run into a timeout.
// Async-signal-safe (atomics and the vDSO clock only).
bool delay_allowed(Nanos ns);

// chaos_spec.cc: parses SPEC into `out` (seed and spec text included); empty on success, else one line.
std::string parse_spec(std::string_view spec, std::uint64_t seed, Config& out);

// chaos_random.cc
void random_point(const char* name);
bool random_decide(unsigned action);

// chaos_pct.cc
void pct_point();
// enlist=false: a thread not yet in this iteration's schedule stays out of it (the harness's own waits).
void pct_blocking_begin(bool enlist = true);
void pct_blocking_end(bool enlist = true);
void pct_reset();                              // configure: a new run
// release_actor_slot: actor `actor` finished its body in the current iteration, so the iteration's first step
// does not wait for it as one not started yet (an actor that never reached a point, e.g. on an uncontended fast
// path, used to cost every later first step its start_wait).
void pct_actor_finished(int actor);
void pct_describe(Json& j, bool failing);      // the pct fields of the schedule event

// chaos_vclock.cc (PCT with vclock=1). Lock held: the scheduling step advances the virtual clock by one tick and
// fires the timed waits now due; then, lock released meanwhile, waits until every fired thread is back.
void vclock_step(int self);
std::string vclock_start();  // configure: installs the wake-up signal's handler (empty, or why it cannot)

// preempt.cc
std::string preempt_start();  // configure, preempt mode: installs the handler (empty, or why it cannot run)
void preempt_stop();          // configure, any mode: stops every timer
void preempt_describe(Json& j);
// preempt.cc, for preempt_step.cc: the calling thread yields or sleeps here, as an aimed interrupt would (under the
// cap, counted as a steered interrupt inside its call). Async-signal-safe. False when preemption is off for it.
bool preempt_step_act();
// preempt_step.cc (aim=step)
std::string step_start();               // preempt_start: the trap handler and the harness's own code range
// steer_enter: the thread will be single-stepped from chaos::step_go; false when it cannot be
bool step_begin(SteerSite& site, std::uint64_t pick);
void step_end();                        // steer_exit: stops stepping if the call did not already
void step_describe(Json& j);

}  // namespace jostle::chaos::detail
