// Preempt mode: interrupts the case's threads at random instants, wherever they are (inside a plugin, inside
// libc), and makes the interrupted thread yield or sleep a short random time. It reaches code that has no chaos
// points. docs/amplification.md, "Preempt mode", says what it does to blocking calls and how exact replay is.
//
// Mechanism: each thread the harness starts for the case (bind_current_thread) creates a POSIX timer that
// signals that thread only (SIGEV_THREAD_ID); the handler acts and re-arms the timer with a fresh random delay.
// The handler is async-signal-safe: it touches only the thread's own trivially constructible thread_local
// state, lock-free atomics, sched_yield, nanosleep, clock_gettime and timer_settime, and it restores errno.
//
// Steered (steer=P): a second per-thread timer, one-shot on CLOCK_MONOTONIC, armed at the entry of a call into
// outside code (steer_enter, at the plugin ABI boundary) with probability P, to expire inside the call: at a delay
// uniform within the call site's learnt typical duration (SteerSite: an EWMA of the CPU time of the site's calls
// that were not interrupted: a blocking call's running part, not its time asleep). steer_exit disarms it. Its signal carries a tag in si_value, so the handler
// tells a steered interrupt from an untargeted one, and a steered signal that arrives after the call (disarmed
// too late) does nothing.
//
// Stepped (steer=P,aim=step): instead of a timer, the aimed call is single-stepped for a drawn number of
// instructions of outside code and the same action happens there (preempt_step.cc).
//
// Other threads (others_us=N): threads the harness did not start (a plugin's workers, a library's pool, the
// threads a thread backend spawns for the case) have no timer of their own. A sweeper thread of the harness wakes
// at random instants (mean N us), lists /proc/self/task, leaves out the harness's own threads (the actors, the
// main thread, the watchdog, itself) and any thread not running (state other than R: a thread asleep in a wait
// is left alone, so a lost wakeup still looks quiet to the deadlock check), and sends one of the rest a queued
// signal (rt_tgsigqueueinfo) tagged kOthersTag; the same handler then yields or sleeps in that thread.
//
// Long because: the three interrupt sources share one signal handler and its file-local, signal-safe state
// (the per-thread slots, the counters, the sweeper's exclusions); splitting them would export that state.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "chaos_internal.h"
#include "jostle/chaos.h"
#include "jostle/json.h"
#include "jostle/sys.h"
#include "jostle/watchdog.h"

#if defined(__SANITIZE_THREAD__)
#define JOSTLE_PREEMPT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOSTLE_PREEMPT_TSAN 1
#endif
#endif

namespace jostle::chaos::detail {

namespace {

// A real-time signal above glibc's reserved ones, so that it queues and no library is likely to own it.
int preempt_signal() { return SIGRTMIN + 5; }

// Longest delay between two interrupts of a thread that keeps being found asleep in the kernel.
constexpr Nanos kMaxBackoff = 1 * kSecond;

std::atomic<bool> g_on{false};
std::atomic<std::uint64_t> g_epoch{0};  // bumped by each start, so threads registered before re-register
std::atomic<std::uint64_t> g_threads{0}, g_interrupts{0}, g_eintr{0}, g_restarted{0}, g_yields{0}, g_sleeps{0},
    g_skipped{0};
// Steering: calls tracked, calls armed, steered interrupts delivered inside the call, steered signals that came
// after the call (ignored), and interrupts of any kind that landed inside a tracked call.
std::atomic<std::uint64_t> g_steer_calls{0}, g_steer_armed{0}, g_steer_fired{0}, g_steer_late{0}, g_in_call{0},
    g_steer_over_cap{0};
std::atomic<Nanos> g_arm_cost{0};  // EWMA of what arming costs (timer_settime), so the expiry lands after it
constexpr int kSteerTag = 0x57ee;   // si_value of the steering timer's signal
constexpr int kOthersTag = 0x07e5;  // si_value of the sweeper's signal to a thread the harness did not start
std::atomic<std::uint64_t> g_others_sweeps{0}, g_others_sent{0}, g_others_hits{0}, g_others_asleep{0};
// Threads of the harness's own plumbing (the watchdog), left out by the sweeper; 0: a free entry.
constexpr int kPlumbing = 8;
std::atomic<pid_t> g_plumbing[kPlumbing];

// Everything the handler needs, in the thread's own trivially constructible storage (no TLS init guard, safe to
// touch from a signal handler).
struct PreemptThread {
  std::uint64_t epoch;
  std::uint64_t rng;
  std::atomic<int>* in_chaos;
  timer_t timer;
  unsigned backoff;  // consecutive interrupts that found the thread asleep in a system call
  bool armed;
  bool random_timer;  // the untargeted timer exists (interval_us > 0)
  // Steering (steer > 0).
  bool steer_timer_ok;
  bool in_call;       // inside a tracked call into outside code
  bool steer_armed;   // the steering timer is armed for the current call
  bool steer_fired;   // ... and its interrupt came
  timer_t steer_timer;
  std::uint64_t steer_rng;
};
thread_local PreemptThread t_pre;

std::uint64_t next_u64(std::uint64_t& s) {  // splitmix64, as Rng
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [1 us, 2 x interval], doubled per consecutive asleep interrupt (a blocked thread is left alone,
// so that the watchdog's deadlock check still sees a lost wakeup as a quiet process).
Nanos next_delay(PreemptThread& t) {
  const std::uint64_t span = static_cast<std::uint64_t>(2 * g_config.interval);
  Nanos d = kMicro + static_cast<Nanos>(next_u64(t.rng) % (span > kMicro ? span - kMicro : 1));
  // After an interrupt that found the thread blocked, give it at least one interval to resume: an interrupt
  // that arrives before it ran an instruction sees the same EINTR return and would count it twice.
  if (t.backoff > 0 && d < g_config.interval) d = g_config.interval;
  for (unsigned i = 0; i < t.backoff && d < kMaxBackoff; ++i) d *= 2;
  return d < kMaxBackoff ? d : kMaxBackoff;
}

void arm(PreemptThread& t) {
  itimerspec its{};
  its.it_value = to_timespec(next_delay(t));
  ::timer_settime(t.timer, 0, &its, nullptr);
}

// Log-uniform-ish between 1 us and sleep_max without libm: a random power of two, then a uniform draw in it.
Nanos sleep_draw(PreemptThread& t) {
  int octaves = 0;
  while ((kMicro << (octaves + 1)) <= g_config.sleep_max && octaves < 30) ++octaves;
  const int k = static_cast<int>(next_u64(t.rng) % static_cast<std::uint64_t>(octaves + 1));
  const Nanos lo = kMicro << k;
  Nanos ns = lo + static_cast<Nanos>(next_u64(t.rng) % static_cast<std::uint64_t>(lo));
  return ns > g_config.sleep_max ? g_config.sleep_max : ns;
}

enum class Where { running, eintr, restarted };

// Whether the signal interrupted a blocking system call, read from the interrupted context (x86-64: the kernel
// either made the call return -EINTR, leaving the instruction pointer after the `syscall`, or set it up to
// restart, leaving the pointer on the `syscall` with the call number back in rax). Elsewhere: unknown, counted
// as running.
Where where_interrupted(void* uctx) {
#if defined(__x86_64__)
  const auto* uc = static_cast<const ucontext_t*>(uctx);
  const auto rip = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const auto rax = static_cast<long long>(uc->uc_mcontext.gregs[REG_RAX]);
  const auto* ip = reinterpret_cast<const unsigned char*>(rip);
  const std::uintptr_t in_page = rip & 4095;
  if (rax == -EINTR && in_page >= 2 && ip[-2] == 0x0f && ip[-1] == 0x05) return Where::eintr;
  // restart_syscall is 219: a timed sleep set up to resume. Other small numbers: the call itself, re-executed.
  if (in_page <= 4094 && ip[0] == 0x0f && ip[1] == 0x05 && rax >= 0 && rax < 512) return Where::restarted;
#else
  (void)uctx;
#endif
  return Where::running;
}

// A thread the harness did not start, interrupted by the sweeper: no timer and no actor slot of its own, only a
// random stream seeded lazily from (seed, tid) and the same yield/sleep choice under the same cap.
thread_local std::uint64_t t_others_rng;  // 0: not seeded yet (trivially constructible: signal-safe)

bool is_harness_thread(pid_t tid, pid_t self);

void on_others_signal(void* uctx) {
  if (!g_on.load(std::memory_order_relaxed)) return;
  // The sweeper checked the thread when it listed the tasks; the thread may have been bound to a case since (a
  // harness thread between its start and bind_current_thread). Checked again here, where it is exact.
  if (is_harness_thread(sys::gettid(), 0)) return;
  if (where_interrupted(uctx) != Where::running) {
    g_others_asleep.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::uint64_t& rng = t_others_rng;
  if (rng == 0) rng = mix(g_config.seed, static_cast<std::uint64_t>(sys::gettid()), 0x07e5) | 1;
  g_others_hits.fetch_add(1, std::memory_order_relaxed);
  const bool can_sleep = (g_config.actions & kSleep) != 0;
  const bool can_yield = (g_config.actions & kYield) != 0;
  const bool sleep = can_sleep && (!can_yield || (next_u64(rng) & 1) != 0);
  if (sleep) {
    PreemptThread draw{};
    draw.rng = next_u64(rng);
    const Nanos ns = sleep_draw(draw);
    if (!delay_allowed(ns)) return;
    const timespec ts = to_timespec(ns);
    ::nanosleep(&ts, nullptr);
  } else if (delay_allowed(0)) {
    const Nanos t0 = now_ns();
    ::sched_yield();
    g_injected.fetch_add(now_ns() - t0, std::memory_order_relaxed);
  }
}

// The interrupted thread, running: yield or sleep (drawn from its stream), under the cap.
void act(PreemptThread& t) {
  const bool can_sleep = (g_config.actions & kSleep) != 0;
  const bool can_yield = (g_config.actions & kYield) != 0;
  const bool sleep = can_sleep && (!can_yield || (next_u64(t.rng) & 1) != 0);
  g_hits.fetch_add(1, std::memory_order_relaxed);
  if (sleep) {
    const Nanos ns = sleep_draw(t);
    if (delay_allowed(ns)) {
      g_sleeps.fetch_add(1, std::memory_order_relaxed);
      // Held, for the parked probe: asleep here is not parked in the primitive.
      t.in_chaos->fetch_add(1, std::memory_order_acq_rel);
      const timespec ts = to_timespec(ns);
      const Nanos t0 = now_ns();
      ::nanosleep(&ts, nullptr);
      t.in_chaos->fetch_sub(1, std::memory_order_acq_rel);
      const Nanos spent = now_ns() - t0;
      if (spent > ns) g_injected.fetch_add(spent - ns, std::memory_order_relaxed);  // oversleep counts too
      add_held(spent);
    } else {
      g_skipped.fetch_add(1, std::memory_order_relaxed);
    }
  } else if (delay_allowed(0)) {
    // A yield on a busy machine can cost a whole time slice: its measured cost counts against the same cap as
    // the sleeps, so preemption cannot stretch a correct run into its watchdog deadline.
    g_yields.fetch_add(1, std::memory_order_relaxed);
    const Nanos t0 = now_ns();
    ::sched_yield();
    const Nanos spent = now_ns() - t0;
    g_injected.fetch_add(spent, std::memory_order_relaxed);
    add_held(spent);
  } else {
    g_skipped.fetch_add(1, std::memory_order_relaxed);
  }
}

void on_signal(int /*sig*/, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  if (info != nullptr && info->si_code == SI_QUEUE && info->si_value.sival_int == kOthersTag) {
    on_others_signal(uctx);
    errno = saved_errno;
    return;
  }
  PreemptThread& t = t_pre;
  const bool steered = info != nullptr && info->si_code == SI_TIMER && info->si_value.sival_int == kSteerTag;
  // A steered interrupt releases its hold first (steer_enter_slow), even when preemption stopped meanwhile.
  const bool aimed = steered && __atomic_exchange_n(&t.steer_armed, false, __ATOMIC_SEQ_CST);
  if (aimed) t.in_chaos->fetch_sub(1, std::memory_order_acq_rel);
  if (!t.armed || !g_on.load(std::memory_order_relaxed) || t.epoch != g_epoch.load(std::memory_order_relaxed)) {
    errno = saved_errno;
    return;
  }
  if (steered) {
    if (!aimed) {  // the call it was aimed at is over
      g_steer_late.fetch_add(1, std::memory_order_relaxed);
      errno = saved_errno;
      return;
    }
    t.steer_fired = true;
    g_steer_fired.fetch_add(1, std::memory_order_relaxed);
  }
  g_interrupts.fetch_add(1, std::memory_order_relaxed);
  if (t.in_call) g_in_call.fetch_add(1, std::memory_order_relaxed);
  const Where w = where_interrupted(uctx);
  if (w != Where::running) {
    // Asleep in the kernel: the interrupt already is a spurious wakeup (EINTR) or an invisible restart; more
    // delay adds nothing, and backing off keeps a truly blocked thread quiet.
    if (w == Where::eintr) g_eintr.fetch_add(1, std::memory_order_relaxed);
    if (w == Where::restarted) g_restarted.fetch_add(1, std::memory_order_relaxed);
    if (!steered && t.backoff < 20) ++t.backoff;  // the untargeted timer's back-off only
  } else {
    if (!steered) t.backoff = 0;
    act(t);
  }
  if (t.armed && !steered) arm(t);  // a steered interrupt is one-shot; the untargeted timer runs on its own
  errno = saved_errno;
}

// The calling thread's CPU time. A call's typical duration is learnt on this clock, not the wall clock: a call
// that blocks (a wait, a contended lock) runs only briefly, and its wall duration is mostly time asleep in the
// kernel. An interrupt aimed there lands on a sleeping thread, whose wait the kernel then restarts and which
// returns at once if the word changed meanwhile: a spurious return that a strict-profile case reports (it made
// futex/wake_n_exact@example fail under a wall-clock estimate: docs/detection.md, "Steered preempt").
Nanos thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

timer_t* make_timer(clockid_t clock, int tag, timer_t& out) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = preempt_signal();
  sev.sigev_value.sival_int = tag;
  sev._sigev_un._tid = sys::gettid();
  return ::timer_create(clock, &sev, &out) == 0 ? &out : nullptr;
}

// The sweeper (others_us=N). Runs from preempt_start to preempt_stop; never inside a signal handler, so it may
// read /proc freely. It is harness plumbing: it uses raw nanosleep and an atomic flag, nothing under test.
struct Sweeper {
  pthread_t thread{};
  pid_t owner = 0;  // the process that started it (a forked child must not join its parent's thread)
  bool running = false;
  std::atomic<bool> stop{false};
};
Sweeper g_sweeper;

bool is_harness_thread(pid_t tid, pid_t self) {
  if (tid == self) return true;
  for (int i = 0; i <= kMaxActors; ++i)
    if (phase_slot(i - 1).tid.load(std::memory_order_relaxed) == tid) return true;
  return preempt_is_plumbing(tid);
}

// The scheduler state of a thread of this process: 'R' running or runnable, 'S' asleep, ... ('?' unknown).
char task_state(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return '?';
  buf[n] = 0;
  const char* close_paren = std::strrchr(buf, ')');  // the name may hold spaces and parentheses
  return close_paren != nullptr && close_paren[1] == ' ' ? close_paren[2] : '?';
}

void* sweep_loop(void*) {
  const pid_t self = sys::gettid(), pid = ::getpid();
  preempt_plumbing_thread(true);  // the deadlock check leaves it out: it sleeps in nanosleep, not in a wait
  std::uint64_t rng = mix(g_config.seed, 0x5eeb, 0x07e5);
  const std::uint64_t span = static_cast<std::uint64_t>(2 * g_config.others);
  pid_t cand[256];
  while (!g_sweeper.stop.load(std::memory_order_acquire)) {
    const timespec ts = to_timespec(kMicro + static_cast<Nanos>(next_u64(rng) % (span > kMicro ? span - kMicro : 1)));
    ::nanosleep(&ts, nullptr);
    if (g_sweeper.stop.load(std::memory_order_acquire)) break;
    g_others_sweeps.fetch_add(1, std::memory_order_relaxed);
    DIR* d = ::opendir("/proc/self/task");
    if (d == nullptr) continue;
    int n = 0;
    while (dirent* e = ::readdir(d)) {
      const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
      if (tid <= 0 || is_harness_thread(tid, self)) continue;
      if (n < 256) cand[n++] = tid;
    }
    ::closedir(d);
    // From a random start, the first candidate found running.
    for (int i = 0, at = n > 0 ? static_cast<int>(next_u64(rng) % static_cast<std::uint64_t>(n)) : 0; i < n; ++i) {
      const pid_t tid = cand[(at + i) % n];
      if (task_state(tid) != 'R') continue;
      siginfo_t si{};
      si.si_signo = preempt_signal();
      si.si_code = SI_QUEUE;
      si.si_pid = pid;
      si.si_uid = ::getuid();
      si.si_value.sival_int = kOthersTag;
      if (::syscall(SYS_rt_tgsigqueueinfo, pid, tid, preempt_signal(), &si) == 0)
        g_others_sent.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  preempt_plumbing_thread(false);
  return nullptr;
}

void sweeper_start() {
  if (g_config.others <= 0 || g_sweeper.running) return;
  g_sweeper.stop.store(false, std::memory_order_release);
  g_sweeper.owner = ::getpid();
  g_sweeper.running = ::pthread_create(&g_sweeper.thread, nullptr, sweep_loop, nullptr) == 0;
}

void sweeper_stop() {
  if (!g_sweeper.running) return;
  g_sweeper.running = false;
  if (g_sweeper.owner != ::getpid()) return;  // after fork: the thread is the parent's, not ours to join
  g_sweeper.stop.store(true, std::memory_order_release);
  ::pthread_join(g_sweeper.thread, nullptr);
}

}  // namespace

bool preempt_step_act() {
  PreemptThread& t = t_pre;
  if (!t.armed || !t.in_call || !g_on.load(std::memory_order_relaxed) ||
      t.epoch != g_epoch.load(std::memory_order_relaxed))
    return false;
  t.steer_fired = true;
  g_steer_fired.fetch_add(1, std::memory_order_relaxed);
  g_interrupts.fetch_add(1, std::memory_order_relaxed);
  g_in_call.fetch_add(1, std::memory_order_relaxed);
  act(t);
  return true;
}

#if defined(JOSTLE_PREEMPT_TSAN)
constexpr const char* kOffReason =
    "off under ThreadSanitizer: TSan delivers asynchronous signals only at its own safe points, so the interrupts "
    "would not land at random instants";
#else
constexpr const char* kOffReason = nullptr;
#endif

std::string preempt_start() {
  for (auto* c : {&g_threads, &g_interrupts, &g_eintr, &g_restarted, &g_yields, &g_sleeps, &g_skipped,
                  &g_steer_calls, &g_steer_armed, &g_steer_fired, &g_steer_late, &g_in_call, &g_steer_over_cap, &g_others_sweeps,
                  &g_others_sent, &g_others_hits, &g_others_asleep})
    c->store(0, std::memory_order_relaxed);
  if (kOffReason != nullptr) return {};  // the run goes on unpreempted; the schedule event says why
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | (g_config.restart ? SA_RESTART : 0);
  sigemptyset(&sa.sa_mask);
  if (::sigaction(preempt_signal(), &sa, nullptr) != 0) return "chaos mode=preempt: cannot install its signal handler";
  if (g_config.aim_step) {
    if (std::string why = step_start(); !why.empty()) return why;
  }
  g_epoch.fetch_add(1, std::memory_order_relaxed);
  g_on.store(true, std::memory_order_release);
  g_steer.store(g_config.steer > 0, std::memory_order_release);
  sweeper_start();
  return {};
}

void preempt_stop() {
  // Timers of other threads stop at their next expiry (the handler no longer re-arms); each thread deletes its
  // own when it is released. The sweeper is stopped and joined (a signal it already sent finds g_on false).
  g_steer.store(false, std::memory_order_release);
  g_on.store(false, std::memory_order_release);
  sweeper_stop();
}

void preempt_describe(Json& j) {
  j.kv("interval_us", static_cast<double>(g_config.interval) / 1e3).kv("restart", g_config.restart);
  j.kv("clock", g_config.cpu_clock ? "cpu" : "wall");
  if (kOffReason != nullptr) j.kv("off", kOffReason);
  j.kv("threads", g_threads.load()).kv("interrupts", g_interrupts.load());
  j.kv("yields", g_yields.load()).kv("sleeps", g_sleeps.load()).kv("over_cap", g_skipped.load());
  // Interrupts that found the thread blocked in a system call: made it return EINTR, or restarted it.
  j.kv("eintr", g_eintr.load()).kv("restarted", g_restarted.load());
  if (g_config.steer > 0) {
    // Steering: calls into outside code seen by target threads, calls armed, steered interrupts that came inside
    // their call, steered signals that came after it (ignored), and interrupts of either kind inside a call.
    j.kv("steer", g_config.steer).kv("steer_calls", g_steer_calls.load()).kv("steer_armed", g_steer_armed.load());
    j.kv("steer_fired", g_steer_fired.load()).kv("steer_late", g_steer_late.load()).kv("in_call", g_in_call.load());
    j.kv("steer_over_cap", g_steer_over_cap.load());
    if (g_config.aim_step) step_describe(j);
  }
  if (g_config.others > 0) {
    // Threads the harness did not start: sweeps, signals sent (to a running one), those that landed in running
    // code (yield or sleep), and those that found the thread already in a system call (nothing done).
    j.kv("others_us", static_cast<double>(g_config.others) / 1e3).kv("others_sweeps", g_others_sweeps.load());
    j.kv("others_sent", g_others_sent.load()).kv("others_hits", g_others_hits.load());
    j.kv("others_asleep", g_others_asleep.load());
  }
}

}  // namespace jostle::chaos::detail

namespace jostle::chaos {

using namespace detail;

void preempt_thread_begin(int actor) {
  if (!g_on.load(std::memory_order_acquire)) return;
  PreemptThread& t = t_pre;
  const std::uint64_t epoch = g_epoch.load(std::memory_order_relaxed);
  if (t.armed && t.epoch == epoch) return;
  preempt_thread_end();
  const bool random_timer = g_config.interval > 0;
  if (random_timer &&
      make_timer(g_config.cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, 0, t.timer) == nullptr)
    return;
  // The steering timer is always on the monotonic clock: it must expire within a call microseconds long, which
  // a CPU-time timer (checked at the scheduler tick) cannot.
  t.steer_timer_ok = g_config.steer > 0 && make_timer(CLOCK_MONOTONIC, kSteerTag, t.steer_timer) != nullptr;
  if (!random_timer && !t.steer_timer_ok) return;
  t.random_timer = random_timer;
  t.in_call = t.steer_armed = t.steer_fired = false;
  t.steer_rng = mix(g_config.seed, current_iteration() + 1, static_cast<std::uint64_t>(actor + 2) ^ 0x57ee7);
  t.epoch = epoch;
  // The thread's stream: (seed, iteration, actor), as random mode's, so a rerun draws the same delays.
  t.rng = mix(g_config.seed, current_iteration() + 1, static_cast<std::uint64_t>(actor + 2) ^ 0x9e7);
  t.in_chaos = &phase_slot(actor).in_chaos;
  t.backoff = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t.armed = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  g_threads.fetch_add(1, std::memory_order_relaxed);
  if (random_timer) arm(t);
}

void preempt_thread_end() {
  PreemptThread& t = t_pre;
  if (!t.armed) return;
  t.armed = false;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (t.random_timer) ::timer_delete(t.timer);  // a signal already queued finds armed false and returns
  if (t.steer_timer_ok) ::timer_delete(t.steer_timer);
  t.random_timer = t.steer_timer_ok = false;
}

bool preempt_is_plumbing(pid_t tid) {
  for (auto& p : g_plumbing)
    if (p.load(std::memory_order_relaxed) == tid) return true;
  return false;
}

void preempt_plumbing_thread(bool begin) {
  const pid_t self = sys::gettid();
  for (auto& p : g_plumbing) {
    pid_t expected = begin ? 0 : self;
    if (p.compare_exchange_strong(expected, begin ? self : 0, std::memory_order_acq_rel)) return;
  }
}

std::atomic<bool> g_steer{false};

std::int64_t steer_enter_slow(SteerSite& site) {
  PreemptThread& t = t_pre;
  // Only the outermost call of a target thread, and only while this run's preemption is on.
  if (!t.armed || !t.steer_timer_ok || t.in_call || t.epoch != g_epoch.load(std::memory_order_relaxed)) return 0;
  const auto threshold = static_cast<std::uint64_t>(g_config.steer * 18446744073709551615.0);
  const std::uint64_t coin = next_u64(t.steer_rng), pick = next_u64(t.steer_rng);  // two draws per call, always
  const bool drawn = g_config.steer >= 1.0 || coin < threshold;
  if (g_config.aim_step) {
    // aim=step learns nothing on the calls it leaves alone (it counts instructions by stepping them), and aims
    // from the first call on. Stepping's cost counts against the cap (preempt_step.cc).
    if (!drawn) return 0;
    if (!delay_allowed(0)) {
      g_steer_over_cap.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    g_steer_calls.fetch_add(1, std::memory_order_relaxed);
    t.steer_fired = false;
    t.in_call = true;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    // The trap flag goes on in chaos::step_go, right before the call (the boundary wrapper).
    if (step_begin(site, pick)) {
      g_steer_armed.fetch_add(1, std::memory_order_relaxed);
      return kStepToken;
    }
    t.in_call = false;
    return 0;
  }
  const Nanos est = site.est_ns.load(std::memory_order_relaxed);
  const bool aim = est > 0 && drawn;
  // Learning: every call until the site has an estimate, then one call in 16 (drawn), never an aimed call (its
  // interrupt stretches it). The CPU clock is read by system calls, so sampling is what keeps steering cheap on
  // the calls it leaves alone: those return untracked after two draws.
  const bool learn = !aim && (est == 0 || (pick >> 60) == 0);
  if (!aim && !learn) return 0;
  // Steering's own cost (arming and disarming the timer, reading the CPU clock) counts against the cap with the
  // sleeps and yields: on a storm of short calls (400,000 atomics calls an iteration) it was most of the run, and
  // steer=0.3 took a correct plugin's rmw_counter_storm past its 30 s watchdog. Over the cap, calls go untracked.
  if (!delay_allowed(0)) {
    g_steer_over_cap.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  const Nanos entered = now_ns();
  g_steer_calls.fetch_add(1, std::memory_order_relaxed);
  t.steer_fired = false;
  t.in_call = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (aim) {
    // Expire at a point uniform within the call's typical duration, counted from when timer_settime has returned
    // (its own cost is learnt too), on the absolute clock so that the draw is not shifted by the arming itself.
    const Nanos t0 = entered;  // one clock read for the expiry and the cost
    const Nanos cost = g_arm_cost.load(std::memory_order_relaxed);
    itimerspec its{};
    its.it_value = to_timespec(t0 + cost + static_cast<Nanos>(pick % static_cast<std::uint64_t>(est + 1)));
    // Held by chaos until the interrupt came or the call ended: the parked probe must not confirm the thread
    // parked in the plugin while an interrupt is on its way. A signal that reaches a thread asleep in a wait
    // makes the kernel restart the wait, and a restarted wait returns at once if the word changed since: a
    // confirmed-parked waiter that returns without a wake (it made futex/wake_n_exact@example fail).
    t.in_chaos->fetch_add(1, std::memory_order_acq_rel);
    __atomic_store_n(&t.steer_armed, true, __ATOMIC_SEQ_CST);
    ::timer_settime(t.steer_timer, TIMER_ABSTIME, &its, nullptr);
    const Nanos spent = now_ns() - t0;
    g_arm_cost.store(cost == 0 ? spent : cost + (spent - cost) / 8, std::memory_order_relaxed);
    g_steer_armed.fetch_add(1, std::memory_order_relaxed);
    g_injected.fetch_add(spent, std::memory_order_relaxed);
    return 1;  // tracked, not measured
  }
  const Nanos started = thread_cpu_ns();
  g_injected.fetch_add(now_ns() - entered, std::memory_order_relaxed);
  return started > 1 ? started : 2;
}

void steer_exit_slow(SteerSite& site, std::int64_t started) {
  if (g_config.aim_step) {
    step_end();
    t_pre.in_call = false;
    t_pre.steer_fired = false;
    return;
  }
  const Nanos exited = now_ns();
  const Nanos took = started > 1 ? thread_cpu_ns() - started : 0;
  PreemptThread& t = t_pre;
  // One atomic exchange (a single instruction against this thread's own handler): either the handler took the
  // armed state and released the hold, or this does; a signal that still comes finds false and does nothing.
  if (__atomic_exchange_n(&t.steer_armed, false, __ATOMIC_SEQ_CST)) {
    t.in_chaos->fetch_sub(1, std::memory_order_acq_rel);
    itimerspec off{};
    ::timer_settime(t.steer_timer, 0, &off, nullptr);
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t.in_call = false;
  // Learn from the calls the interrupt did not stretch. Lost updates between threads only slow the learning.
  if (!t.steer_fired && took > 0) {
    const Nanos est = site.est_ns.load(std::memory_order_relaxed);
    site.est_ns.store(est == 0 ? took : est + (took - est) / 8, std::memory_order_relaxed);
  }
  t.steer_fired = false;
  g_injected.fetch_add(now_ns() - exited, std::memory_order_relaxed);
}

}  // namespace jostle::chaos
