// PCT mode: handing the token from thread to thread, settle=1's wait for woken threads, and the fallbacks that
// keep the scheduler from deadlocking the code under test (a holder asleep in the kernel loses the token, one
// burning CPU without reaching a point is overtaken, and a wall-clock last resort). docs/amplification.md.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "chaos_pct.h"
#include "jostle/probe.h"

namespace jostle::chaos::detail {

Sched g_sched;
Slot g_slots[kSlots];

namespace {

// CPU time the thread has run, from /proc/self/task/TID/schedstat (-1 when it cannot be read). A holder that
// burns CPU without coming back to a point is spinning on something the scheduler cannot see; one that is
// merely preempted on a busy machine burns none and keeps the token.
Nanos cpu_ns(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", static_cast<int>(tid));
  std::FILE* f = std::fopen(path, "re");
  if (!f) return -1;
  long long ns = -1;
  if (std::fscanf(f, "%lld", &ns) != 1) ns = -1;
  std::fclose(f);
  return ns;
}

}  // namespace

void give(int slot) {
  Sched& s = g_sched;
  s.holder = slot;
  Slot& t = g_slots[slot];
  t.wants = false;
  t.asleep_since = 0;
  t.grant.store(1, std::memory_order_release);
  sys::futex_wake(t.grant, 1);
}

// Highest-priority runnable waiter, or kNoHolder. Lock held.
int best_waiter(int exclude) {
  int best = kNoHolder;
  for (int i = 0; i < g_sched.top; ++i) {
    const Slot& t = g_slots[i];
    if (i == exclude || !t.registered || !t.wants || t.blocked) continue;
    if (best == kNoHolder || t.prio > g_slots[best].prio) best = i;
  }
  return best;
}

// The token is free: hand it to the best waiter, if any. Lock held.
void dispatch() {
  const int b = best_waiter(kNoHolder);
  if (b == kNoHolder) g_sched.holder = kNoHolder;
  else give(b);
}


// Waits until the scheduler gives `slot` the token. Lock NOT held on entry or exit. Never waits forever: a
// holder asleep in the kernel (blocked in a call nobody annotated) loses the token after two looks `poll`
// apart, and after token_wait the waiter takes the token regardless (the holder then waits at its next point).
void wait_for_token(int slot) {
  Sched& s = g_sched;
  Slot& me = g_slots[slot];
  const Nanos t0 = now_ns();
  int watched = kNoHolder;  // the holder whose CPU time we measure, and its CPU time when first seen
  Nanos watched_cpu0 = 0;
  for (;;) {
    if (me.grant.load(std::memory_order_acquire) == 0) sys::futex_wait(me.grant, 0, g_config.poll);
    int h;
    pid_t htid;
    {
      LockGuard g(s.lock);
      if (s.holder == slot) {
        me.grant.store(0, std::memory_order_relaxed);
        return;
      }
      // Still waiting, so still a candidate: a token handed to us and taken back before we woke up (forced, below)
      // cleared `wants` in give(), and without this the token could go nowhere while we spin here for ever.
      me.wants = true;
      if (s.holder == kNoHolder) {
        settle(slot);
        if (s.holder == kNoHolder) dispatch();
        continue;
      }
      h = s.holder;
      htid = g_slots[h].tid;
    }
    const char st = probe::task_state(htid);
    const Nanos cpu = cpu_ns(htid);
    // '?': the thread is gone. A holder that was handed the token but has not woken up to take it yet is
    // asleep too, but not blocked: only token_wait takes the token from it.
    const bool asleep = (st == 'S' || st == 'D' || st == '?') && g_slots[h].grant.load(std::memory_order_acquire) == 0;
    LockGuard g(s.lock);
    if (s.holder == slot) {
      me.grant.store(0, std::memory_order_relaxed);
      return;
    }
    if (s.holder != h) continue;
    const Nanos now = now_ns();
    Slot& ht = g_slots[h];
    if (!asleep) {
      ht.asleep_since = 0;
    } else if (ht.asleep_since == 0) {
      ht.asleep_since = now;
    } else if (now - ht.asleep_since >= g_config.poll) {
      ++s.steals;
      ht.asleep_since = 0;
      dispatch();
      if (s.holder == slot) {
        me.grant.store(0, std::memory_order_relaxed);
        return;
      }
      continue;
    }
    if (watched != h) {
      watched = h;
      watched_cpu0 = cpu;
    }
    const bool spinning = cpu >= 0 && watched_cpu0 >= 0 ? cpu - watched_cpu0 > g_config.token_wait
                                                        : now - t0 > g_config.token_wait;
    if (ht.settling) {
      watched = kNoHolder;  // its CPU time is the scheduler's, not the code's
    } else if (spinning || now - t0 > kWallFallback * g_config.token_wait) {
      ++s.forced;
      if (ht.grant.load(std::memory_order_relaxed) != 0) {
        // Handed the token but not awake yet: it goes back to waiting for the token like everyone else.
        ht.grant.store(0, std::memory_order_relaxed);
        ht.wants = true;
      }
      s.holder = slot;
      me.wants = false;
      me.grant.store(0, std::memory_order_relaxed);
      return;
    }
  }
}

// Lock held on entry; released on return.
void acquire_token(int slot, SpinLock& lock) {
  Sched& s = g_sched;
  if (s.holder == slot) {
    g_slots[slot].wants = false;
    g_slots[slot].grant.store(0, std::memory_order_relaxed);
    lock.unlock();
    return;
  }
  g_slots[slot].wants = true;
  if (s.holder == kNoHolder) {
    settle(slot);  // others woken with us: let them ask too, and priority decide
    if (s.holder == kNoHolder) dispatch();
  }
  if (s.holder == slot) {
    g_slots[slot].grant.store(0, std::memory_order_relaxed);
    lock.unlock();
    return;
  }
  lock.unlock();
  wait_for_token(slot);
}

// Actors leave the start gate together but reach their first point in OS order. So that the first choice is
// made by priority and not by arrival, the first step of an iteration waits (briefly) until every actor the

// A thread woken by a futex wake is runnable ('R' in /proc) from the moment the waker's syscall returns until it
// reaches its BLOCKING_END and asks for the token. A choice made meanwhile depends on how soon the OS runs it:
// that is what made replay of the lost-wakeup storms statistical. So a choice first waits until every other
// thread inside a blocking region reads as asleep ('S'/'D') or has left the region, for at most 5 x
// token_wait of wall time (then `unsettled` counts it: e.g. a plugin that spins inside a lock call).
namespace {

// /proc/self/task/TID/stat kept open per slot by each settling thread: settle() reads it at every step, and
// pread on an open fd spares the open and close.
struct StatFds {
  pid_t tid[kSlots] = {};
  int fd[kSlots] = {};
  char state(int slot, pid_t t) {
    if (tid[slot] != t) {
      if (tid[slot] != 0 && fd[slot] >= 0) ::close(fd[slot]);
      char path[64];
      std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(t));
      fd[slot] = ::open(path, O_RDONLY | O_CLOEXEC);
      tid[slot] = t;
    }
    if (fd[slot] < 0) return '?';
    char buf[160];
    const ssize_t n = ::pread(fd[slot], buf, sizeof buf - 1, 0);
    if (n <= 0) return '?';
    buf[n] = '\0';
    const char* paren = std::strrchr(buf, ')');  // the state follows the last ')' of the command name
    return paren && paren[1] == ' ' ? paren[2] : '?';
  }
  ~StatFds() {
    for (int i = 0; i < kSlots; ++i)
      if (tid[i] != 0 && fd[i] >= 0) ::close(fd[i]);
  }
};
thread_local StatFds t_stat_fds;

}  // namespace

void settle(int self) {
  if (!g_config.settle) return;
  Sched& s = g_sched;
  const Nanos until = now_ns() + 5 * g_config.token_wait;
  for (;;) {
    pid_t tids[kSlots];
    int slots[kSlots];
    int n = 0;
    for (int i = 0; i < s.top; ++i) {
      const Slot& t = g_slots[i];
      if (i != self && t.registered && t.blocked && t.tid != 0) slots[n] = i, tids[n++] = t.tid;
    }
    if (n == 0) return;
    g_slots[self].settling = true;
    s.lock.unlock();
    bool running = false;
    for (int j = 0; j < n && !running; ++j) {
      const char st = t_stat_fds.state(slots[j], tids[j]);
      running = st != 'S' && st != 'D' && st != '?';
    }
    if (running) sched_yield();
    s.lock.lock();
    g_slots[self].settling = false;
    if (!running) return;
    if (now_ns() > until) {
      ++s.unsettled;
      return;
    }
  }
}

}  // namespace jostle::chaos::detail
