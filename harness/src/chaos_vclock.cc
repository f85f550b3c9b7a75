// PCT's virtual clock (vclock=1): timed waits whose timeout the schedule decides, not the kernel's timer.
//
// Without it a PCT run replays the order of the points from its seed, but a timed wait still times out when the
// wall clock says; a failure that needs a timeout to land between two points (a timer racing a wake) then replays
// only when the timing happens to agree. With it, a timed wait that goes through chaos::timed_wait
// (jostle/chaos.h) and belongs to a thread of the schedule:
//   - sleeps in the kernel in short slices, for a wake or a changed value as before, but never times out on its
//     own: its timeout is decided by the virtual clock, which advances `tick` per scheduling step (the step
//     that brings it past a deadline fires that wait) and, when every thread of the schedule is blocked and asleep
//     in the kernel, jumps to the earliest deadline and fires that one;
//   - once fired, returns "timed out" no earlier than its wall-clock deadline, so a caller that checks the wall
//     clock after a timeout (and a case that measures the elapsed time) sees no early timeout;
//   - is woken from its slice by a signal (an empty handler), so the step that fired it can wait for it to come
//     back before the next choice, as settle=1 does for a wake.
// What stays on the wall clock: timed waits that do not go through chaos::timed_wait (std/pthread timed waits,
// epoll, a plugin's own), threads outside the schedule (a backend's helper threads), and the backstop below.
// docs/amplification.md, "PCT's virtual clock", says what this makes replayable and what not.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "chaos_pct.h"
#include "jostle/chaos.h"
#include "jostle/probe.h"

namespace jostle::chaos::detail {

namespace {

constexpr Nanos kSlice = 200 * kMicro;  // a waiter's kernel sleep between two looks at the schedule
// A wait the schedule has not fired this long past its wall-clock deadline fires anyway (counted `late`): the
// schedule cannot reach it, e.g. the token's holder busy-waits for it without a point.
constexpr Nanos kBackstop = 50 * kMilli;

int wake_signal() { return SIGRTMIN + 6; }
void on_wake_signal(int) {}

void send_wake(pid_t tid) {
  if (tid != 0) ::syscall(SYS_tgkill, ::getpid(), tid, wake_signal());
}

// Marks `slot`'s wait as timed out and sets the clock to its deadline at least. Lock held.
void fire(int slot, int self) {
  Sched& s = g_sched;
  Slot& t = g_slots[slot];
  s.vnow = std::max(s.vnow, t.vdeadline);
  t.fired.store(true, std::memory_order_release);
  if (slot != self) send_wake(t.tid);
}

bool pending(const Slot& t) { return t.registered && t.blocked && t.fired.load(std::memory_order_relaxed); }

// The earliest unfired deadline among the timed waits (lowest slot on a tie), or kNoHolder. Lock held.
int earliest() {
  int best = kNoHolder;
  for (int i = 0; i < g_sched.top; ++i) {
    const Slot& t = g_slots[i];
    if (!t.registered || !t.blocked || !t.timed || t.fired.load(std::memory_order_relaxed)) continue;
    if (best == kNoHolder || t.vdeadline < g_slots[best].vdeadline) best = i;
  }
  return best;
}

// Nothing of the schedule can run, as far as the scheduler knows: nobody waiting for the token, no fired wait on
// its way back, every other thread inside a blocking region, and the token free or with a holder that must then
// read as asleep in the kernel (an actor whose body ended keeps the token until its next point: the same holder a
// waiter would steal from). kLoose: the same, but some of the blocked threads are in the harness's own waits
// (a probe's poll), which come back by themselves on the wall clock. Lock held.
enum Idle { kBusy, kLoose, kStrict };
Idle idle_locked() {
  const Sched& s = g_sched;
  Idle r = kStrict;
  for (int i = 0; i < s.top; ++i) {
    const Slot& t = g_slots[i];
    if (!t.registered) continue;
    if (pending(t)) return kBusy;
    if (i == s.holder) {
      if (t.grant.load(std::memory_order_relaxed) != 0) return kBusy;  // handed the token, about to run
      continue;
    }
    if (!t.blocked) return kBusy;
    if (t.harness) r = kLoose;
  }
  // A thread the harness started for the case that is not in the schedule (the main thread before its first point
  // of the iteration, an actor not arrived yet) runs on the wall clock too.
  if (r == kStrict) {
    const int threads = std::min(case_threads(), kMaxActors);
    for (int a = -1; a < threads && r == kStrict; ++a) {
      const pid_t tid = phase_slot(a).tid.load(std::memory_order_acquire);
      const Slot& t = g_slots[a + 1];
      if (tid != 0 && (a + 1 >= s.top || !t.registered || t.tid != tid)) r = kLoose;
    }
  }
  return r;
}

// Called by a waiter between two slices: if the whole schedule is idle and every other thread of it is asleep in
// the kernel (a thread just woken is runnable until it reaches its BLOCKING_END), the clock jumps to the earliest
// deadline and that wait fires. While a harness wait polls, the poll may act on the wall clock (a case's main
// thread cancels, signals, gives up): then the earliest wait fires only once its wall-clock deadline has passed.
void idle_fire(int self) {
  Sched& s = g_sched;
  pid_t tids[kSlots];
  int n = 0;
  int holder;
  {
    LockGuard g(s.lock);
    if (idle_locked() == kBusy || earliest() == kNoHolder) return;
    holder = s.holder;
    for (int i = 0; i < s.top; ++i)
      if (i != self && g_slots[i].registered && g_slots[i].tid != 0) tids[n++] = g_slots[i].tid;
  }
  for (int j = 0; j < n; ++j) {
    const char st = probe::task_state(tids[j]);
    if (st != 'S' && st != 'D' && st != '?') return;  // someone is on the way back: look again next slice
  }
  LockGuard g(s.lock);
  const Idle idle = idle_locked();
  if (idle == kBusy || s.holder != holder) return;
  const int e = earliest();
  if (e == kNoHolder) return;
  if (idle == kLoose) {
    if (g_slots[e].real_deadline > now_ns()) return;
    ++s.v_wall;
  } else {
    ++s.v_idle;
    if (holder != kNoHolder) ++s.v_idle_holder;
  }
  fire(e, self);
}

void floor_to(Nanos real_deadline) {
  const timespec until = to_timespec(real_deadline);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

}  // namespace

std::string vclock_start() {
  struct sigaction sa {};
  sa.sa_handler = on_wake_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // other calls restart; a timed futex wait or a sleep returns EINTR regardless
  if (::sigaction(wake_signal(), &sa, nullptr) != 0)
    return std::string("chaos vclock=1: cannot install its wake-up signal handler: ") + std::strerror(errno);
  return {};
}

void vclock_step(int self) {
  Sched& s = g_sched;
  s.vnow += g_config.tick;
  Nanos wait_until = 0;
  bool any = false;
  for (int i = 0; i < s.top; ++i) {
    Slot& t = g_slots[i];
    if (!t.registered || !t.blocked || !t.timed || t.fired.load(std::memory_order_relaxed)) continue;
    if (t.vdeadline > s.vnow) continue;
    ++s.v_due;
    fire(i, self);
    any = true;
    wait_until = std::max(wait_until, t.real_deadline);
  }
  if (!any) return;
  // The fired threads come back (BLOCKING_END clears `blocked`) before this step chooses, so the choice does not
  // depend on how soon the OS runs them. Yielding, not sleeping: a holder asleep in the kernel would be stolen from.
  wait_until = std::max(wait_until, now_ns()) + 5 * g_config.token_wait;
  Slot& me = g_slots[self];
  for (;;) {
    bool back = true;
    for (int i = 0; i < s.top && back; ++i) back = !pending(g_slots[i]);
    if (back) return;
    if (now_ns() > wait_until) {
      ++s.v_unsettled;
      return;
    }
    me.settling = true;
    s.lock.unlock();
    sched_yield();
    s.lock.lock();
    me.settling = false;
  }
}

}  // namespace jostle::chaos::detail

namespace jostle::chaos {

using namespace detail;

int timed_wait_slow(const char* name, Nanos rel, int (*once)(void*, const timespec*), void* ctx) {
  if (g_config.mode != Mode::pct || !g_config.vclock) {
    blocking_begin_slow(name);
    const timespec ts = to_timespec(rel);
    const int r = once(ctx, &ts);
    blocking_end_slow(name);
    return r;
  }
  Sched& s = g_sched;
  int slot;
  {
    LockGuard g(s.lock);
    slot = enter_current();
    if (slot >= 0) {
      Slot& me = g_slots[slot];
      me.timed = true;
      me.fired.store(false, std::memory_order_relaxed);
      me.vdeadline = s.vnow + std::max<Nanos>(rel, 0);
      me.real_deadline = now_ns() + std::max<Nanos>(rel, 0);
      // As pct_blocking_begin: runnable no longer; the token goes to the next thread.
      me.blocked = true;
      me.wants = false;
      if (s.holder == slot) {
        settle(slot);
        if (s.holder == slot) dispatch();
      }
    }
  }
  if (slot < 0) {  // outside the schedule (a backend's own thread): the wall clock decides
    const timespec ts = to_timespec(rel);
    return once(ctx, &ts);
  }
  Slot& me = g_slots[slot];
  int r;
  for (;;) {
    if (me.fired.load(std::memory_order_acquire)) {
      floor_to(me.real_deadline);
      r = ETIMEDOUT;
      break;
    }
    const timespec slice = to_timespec(kSlice);
    r = once(ctx, &slice);
    if (r != ETIMEDOUT && r != EINTR) break;  // woken, the value changed, or an error: the caller's business
    if (me.fired.load(std::memory_order_acquire)) continue;
    if (now_ns() > me.real_deadline + kBackstop) {
      LockGuard g(s.lock);
      if (!me.fired.load(std::memory_order_relaxed)) {
        ++s.v_late;
        fire(slot, slot);
      }
      continue;
    }
    idle_fire(slot);
  }
  {
    LockGuard g(s.lock);
    me.timed = false;
    me.fired.store(false, std::memory_order_relaxed);
  }
  HeldByChaos held;  // back from the kernel, now waiting for the token
  pct_blocking_end();
  return r;
}

namespace {
int sleep_once(void*, const timespec* ts) {
  const int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, ts, nullptr);
  return rc == 0 ? ETIMEDOUT : rc;
}
}  // namespace

void sleep_for(Nanos ns) {
  if (ns <= 0) return;
  if (!g_enabled.load(std::memory_order_relaxed) || g_config.mode != Mode::pct) {
    sleep_ns(ns);
    return;
  }
  // Under PCT the sleeper gives the token up meanwhile (a BLOCKING region); with vclock=1 the schedule decides
  // when the sleep ends, never before the wall clock's deadline.
  const Nanos until = now_ns() + ns;
  for (Nanos left = ns; left > 0; left = until - now_ns()) (void)timed_wait_slow("sleep", left, sleep_once, nullptr);
}

Nanos now() {
  if (!vclock()) return now_ns();
  LockGuard g(g_sched.lock);
  return g_sched.vnow;
}

namespace {
bool scheduled() {
  LockGuard g(g_sched.lock);
  return enrolled_current() >= 0;
}
}  // namespace

Deadline Deadline::after(Nanos timeout, bool schedule_timed) {
  Deadline d;
  d.virt = schedule_timed && vclock();
  if (d.virt) {
    LockGuard g(g_sched.lock);
    d.v = g_sched.vnow + timeout;
    d.real = now_ns() + timeout;
  } else {
    d.v = d.real = now_ns() + timeout;
  }
  return d;
}

Nanos Deadline::left() const {
  if (virt && scheduled()) return v - now();
  return real - now_ns();
}

void Deadline::floor() const {
  if (!virt) return;
  const Nanos rest = real - now_ns();
  if (rest > 0) sleep_for(rest);
}

bool vclock() { return g_enabled.load(std::memory_order_relaxed) && g_config.mode == Mode::pct && g_config.vclock; }

}  // namespace jostle::chaos
