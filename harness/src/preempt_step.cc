// Steered preempt by single-stepping (mode=preempt,steer=P,aim=step; docs/amplification.md, "Stepped aim").
//
// A timer armed at a call's entry cannot expire within the call's first few dozen nanoseconds, so a race window
// that closes a few instructions after the entry (a check before a lock, a test before a snapshot) is out of its
// reach. Here an aimed call is instead single-stepped: the boundary wrapper sets the x86 trap flag (TF) right
// before the call (chaos::step_go), the CPU raises a debug trap (SIGTRAP, TRAP_TRACE) after every instruction,
// and the handler counts the instructions that run outside the harness's own code (the plugin, libc, the vDSO).
// At the drawn count the handler clears TF in the interrupted context and does preempt mode's action there
// (yield or sleep), with the thread stopped between two instructions of the outside code. When the call returns
// into the harness first, the handler clears TF and the instruction count teaches the site its length.
//
// Only the first 64 instructions of outside code of a call are aimed at: that is what a timer cannot reach, and
// each step costs a trap. The count is drawn log-uniform in [1, twice the site's learnt length, at most 64], from
// the thread's steering stream: every octave is as likely, so the first four instructions are aimed at as often
// as the last thirty-two. A site's first aimed call is stepped through its prefix to learn the length. Replay:
// the draw and the instruction count are deterministic for a given binary and path through the call; which path
// the call takes is the machine's doing, as for the timer.
//
// Cost: each step is a trap (about 15 us on this project's 2-core VMs), so an aimed call costs its drawn count
// of traps plus the few harness instructions between setting TF and the call. The wall time from step_begin to
// the stop counts against the cap, as the timer's arming does.
//
// What it does to blocking calls: nothing. No signal is sent; a thread asleep in the kernel takes no trap until
// it runs again, so a wait is neither cut short nor restarted. The kernel clears TF for signal handlers and
// restores it after them. Stepping ends before a system call that may block SIGTRAP or start a thread or a
// process (before_unsteppable_syscall); a thread that inherits TF anyway takes one trap and has it cleared.
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "chaos_internal.h"
#include "jostle/json.h"

namespace jostle::chaos::detail {

namespace {

#if defined(__x86_64__)
constexpr long long kTrapFlag = 0x100;
#endif
// Only a call's first kPrefix instructions of outside code are aimed at: that is where a timer cannot reach, and
// each step is a trap (about 15 us here). Deeper windows are aim=timer's.
constexpr std::uint32_t kPrefix = 64;
constexpr std::uint32_t kMaxInside = 4096;  // harness instructions stepped before outside code: give up there

struct StepThread {
  bool active;             // stepping the current call
  bool outside;            // an instruction of outside code has run
  bool learning;           // the site's first aimed call: stepped through its prefix to learn its length
  std::uint32_t left;      // outside instructions to step before acting
  std::uint32_t seen;      // outside instructions stepped so far
  std::uint32_t inside;    // harness instructions stepped before the first outside one
  Nanos started;           // wall clock at TF on
  SteerSite* site;
};
thread_local StepThread t_step;  // trivially constructible: no TLS guard, safe in the handler

std::uintptr_t g_lo = 0, g_hi = 0;  // the harness's own executable code (the object holding this file)
std::atomic<std::uint64_t> g_traps{0}, g_acted{0}, g_short{0}, g_gave_up{0}, g_stray{0}, g_syscall_stop{0}, g_masked{0},
    g_inside{0};

bool in_harness(std::uintptr_t ip) { return ip >= g_lo && ip < g_hi; }

// Whether the thread stands on a system call that stepping must not go through: one that may block SIGTRAP
// (rt_sigprocmask: glibc blocks every signal around clone, swapcontext sets the whole mask; a single-step trap
// while SIGTRAP is blocked makes the kernel kill the process with it) or one that starts a thread or a process
// (clone, clone3, fork, vfork, execve, execveat: the child would inherit the trap flag with its signals blocked).
bool before_unsteppable_syscall(const ucontext_t* uc) {
#if defined(__x86_64__)
  const auto* ip = reinterpret_cast<const unsigned char*>(uc->uc_mcontext.gregs[REG_RIP]);
  if (ip[0] != 0x0f || ip[1] != 0x05) return false;  // a 2-byte opcode: both bytes are mapped if the first is
  switch (uc->uc_mcontext.gregs[REG_RAX]) {
    case 14:   // rt_sigprocmask
    case 56:   // clone
    case 57:   // fork
    case 58:   // vfork
    case 59:   // execve
    case 322:  // execveat
    case 435:  // clone3
      return true;
    default:
      return false;
  }
#else
  (void)uc;
  return false;
#endif
}

void clear_tf() {
#if defined(__x86_64__)
  __asm__ volatile("pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq" ::: "memory", "cc");
#endif
}

// The stop: TF off in the context the thread resumes, and the cost so far charged to the cap.
void stop(StepThread& s, ucontext_t* uc) {
#if defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
#else
  (void)uc;
#endif
  s.active = false;
  g_injected.fetch_add(now_ns() - s.started, std::memory_order_relaxed);
}

void learn(SteerSite& site, std::uint32_t length) {
  const std::int32_t est = site.est_steps.load(std::memory_order_relaxed);
  const auto len = static_cast<std::int32_t>(length < 1u << 20 ? length : 1u << 20);
  site.est_steps.store(est == 0 ? len : est + (len - est) / 4, std::memory_order_relaxed);
}

void on_trap(int sig, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  auto* uc = static_cast<ucontext_t*>(uctx);
  StepThread& s = t_step;
  if (info == nullptr || info->si_code != TRAP_TRACE) {
    // Not a single step (a breakpoint, a raise): what SIGTRAP does without jostle.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    errno = saved_errno;
    return;
  }
  if (!s.active) {
    // TF inherited by a thread the call created, or left over: this thread is not stepping.
    g_stray.fetch_add(1, std::memory_order_relaxed);
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
#endif
    errno = saved_errno;
    return;
  }
  g_traps.fetch_add(1, std::memory_order_relaxed);
  if (before_unsteppable_syscall(uc)) {
    // Stepping ends here, without an action; what was stepped is the call's steppable length.
    stop(s, uc);
    if (s.outside) learn(*s.site, s.seen);
    g_syscall_stop.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return;
  }
#if defined(__x86_64__)
  const auto ip = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#else
  const std::uintptr_t ip = 0;
#endif
  if (in_harness(ip)) {
    g_inside.fetch_add(1, std::memory_order_relaxed);
    if (s.outside) {  // back from the call before the drawn instruction: its length, learnt
      stop(s, uc);
      g_short.fetch_add(1, std::memory_order_relaxed);
      learn(*s.site, s.seen);
    } else if (++s.inside > kMaxInside) {  // a call that never leaves the harness: nothing to aim at
      stop(s, uc);
      g_gave_up.fetch_add(1, std::memory_order_relaxed);
    }
    errno = saved_errno;
    return;
  }
  s.outside = true;
  ++s.seen;
  if (--s.left > 0) {
    errno = saved_errno;
    return;
  }
  // The drawn instruction: the thread stands just before it, inside the outside code.
  stop(s, uc);
  if (s.learning) learn(*s.site, s.seen);  // a call longer than its prefix
  g_acted.fetch_add(1, std::memory_order_relaxed);
  preempt_step_act();
  errno = saved_errno;
}

int find_harness_text(dl_phdr_info* info, size_t, void* data) {
  const auto here = reinterpret_cast<std::uintptr_t>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
    if (here >= lo && here < hi) {
      g_lo = lo;
      g_hi = hi;
      return 1;
    }
  }
  return 0;
}

}  // namespace

std::string step_start() {
  for (auto* c : {&g_traps, &g_acted, &g_short, &g_gave_up, &g_stray, &g_syscall_stop, &g_masked, &g_inside}) c->store(0, std::memory_order_relaxed);
#if !defined(__x86_64__)
  return "chaos aim=step needs x86-64 (it single-steps with the trap flag)";
#else
  if (g_hi == 0) {
    ::dl_iterate_phdr(find_harness_text, reinterpret_cast<void*>(&step_begin));
    if (g_hi == 0) return "chaos aim=step: cannot find the harness's own code among the loaded objects";
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGRTMIN + 5);  // the preempt signal waits until the step is handled
  if (::sigaction(SIGTRAP, &sa, nullptr) != 0) return "chaos aim=step: cannot install its SIGTRAP handler";
  return {};
#endif
}

bool step_begin(SteerSite& site, std::uint64_t pick) {
  StepThread& s = t_step;
  // A thread that has SIGTRAP blocked cannot be stepped: its first trap would kill the process.
  sigset_t mask;
  if (::pthread_sigmask(SIG_BLOCK, nullptr, &mask) != 0 || sigismember(&mask, SIGTRAP) == 1) {
    g_masked.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::int32_t est = site.est_steps.load(std::memory_order_relaxed);
  std::uint32_t k = kPrefix;  // a site's first aimed call: stepped through its prefix, to learn its length
  if (est > 0) {
    // Log-uniform in [1, twice the learnt length, at most kPrefix]: a random octave, then uniform within it. The
    // octave above the length keeps the estimate learning (a call that returns first teaches it).
    const std::uint32_t range = std::min<std::uint32_t>(static_cast<std::uint32_t>(est) * 2, kPrefix);
    int octaves = 0;
    while ((2u << octaves) <= range && octaves < 30) ++octaves;
    const std::uint32_t lo = 1u << (pick % static_cast<std::uint64_t>(octaves + 1));
    k = lo + static_cast<std::uint32_t>((pick >> 8) % lo);
    if (k > range) k = range;
  }
  s.site = &site;
  s.left = k;
  s.seen = s.inside = 0;
  s.outside = false;
  s.learning = est <= 0;
  s.started = now_ns();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  s.active = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return true;  // the caller sets the trap flag (chaos::step_go) right before the call
}

void step_end() {
  StepThread& s = t_step;
  if (!s.active) return;  // the usual case: the handler stopped at the drawn instruction or at the return
  clear_tf();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  s.active = false;
  g_injected.fetch_add(now_ns() - s.started, std::memory_order_relaxed);
}

void step_describe(Json& j) {
  // Traps taken, aimed calls stopped at their drawn instruction, calls that returned first (their length learnt),
  // calls that never left the harness, and traps of threads not stepping (TF inherited by a new thread).
  j.kv("aim", "step").kv("step_traps", g_traps.load()).kv("step_acted", g_acted.load());
  j.kv("step_short", g_short.load()).kv("step_gave_up", g_gave_up.load()).kv("step_stray", g_stray.load());
  // Steps ended before a system call that may block SIGTRAP or start a thread, and aims refused because the
  // thread had SIGTRAP blocked.
  j.kv("step_syscall_stop", g_syscall_stop.load()).kv("step_masked", g_masked.load());
  j.kv("step_harness_traps", g_inside.load());  // traps spent in the harness's own code (the way in and out)
}

}  // namespace jostle::chaos::detail
